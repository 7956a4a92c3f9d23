/*
 * The sampler: the one place that touches the BPF skeleton. It loads the
 * programs, opens one cpu-clock perf event per online CPU in frequency mode,
 * attaches the sampling program to each, and drains the double-buffered
 * count and stack maps (see bpf/ember.bpf.c for the buffer protocol).
 *
 * dwarf mode adds a second ring buffer of user stack snapshots. It is sized
 * for a quarter second of samples at the worst record size (64 MiB at most),
 * and the BPF program wakes the reader only once a quarter of it is in use:
 * otherwise the run's loop consumes it on every turn (prof_sampler__poll,
 * about every 100 ms).
 * The two ring buffers are separate managers so that, before a process event
 * is handed out, the snapshots queued before it can be delivered first.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ember.skel.h"
#include "ember/log.h"
#include "ember/profile.h"
#include "ember/profiler.h"
#include "cpus.h"

#define DEFAULT_STACK_ENTRIES 16384
#define DEFAULT_COUNT_ENTRIES 16384
/* dwarf mode: the snapshot ring holds this many ms of samples at the largest record size. */
#define USTACK_RING_MS	  250
#define USTACK_RING_MIN	  (256u << 10)
#define USTACK_RING_MAX	  (64u << 20)
#define USTACK_KIPS_GUESS 32 /* kernel frames per record, for sizing only */

struct drain_entry {
	struct ember_sample_key key;
	uint64_t count;
};

struct prof_sampler {
	struct ember_bpf *skel;
	struct prof_sampler_opts opts;
	struct bpf_link **links; /* one per CPU with a perf event */
	int nr_links;
	struct ring_buffer *rb;
	prof_event_fn ev_fn;
	void *ev_ctx;
	struct ring_buffer *urb; /* dwarf mode: snapshots */
	prof_ustack_fn ustack_fn;
	void *ustack_ctx;
	void (*prepare_fn)(void *ctx); /* before snapshots are handed over */
	void *prepare_ctx;
	uint64_t prepared_ns;	/* CLOCK_MONOTONIC when prepare_fn last started */
	uint64_t ustack_cpu_ns; /* thread CPU time spent consuming snapshots */
	int ncpus_possible;
	/* drain scratch */
	struct drain_entry *ents;
	size_t ents_cap;
	uint64_t **stack_cache; /* per stack id of the idle buffer: ips, or NULL */
	uint32_t *stack_depth;
	uint32_t stack_slots;
	uint64_t *stack_pool; /* EMBER_MAX_STACK_DEPTH u64 per cached stack */
	size_t pool_used, pool_cap;
};

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	if (level == LIBBPF_DEBUG && log__level() < LOG_LVL_DEBUG)
		return 0;
	if (level == LIBBPF_INFO && log__level() < LOG_LVL_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log__msg(level == LIBBPF_WARN ? LOG_LVL_WARN : LOG_LVL_DEBUG, "libbpf: %s", buf);
	return 0;
}

static uint32_t roundup_pow2(uint32_t v)
{
	uint32_t r = 1;

	while (r < v)
		r <<= 1;
	return r;
}

static void explain_bpf_error(int err)
{
	if (err == -EPERM || err == -EACCES)
		pr_err("cannot load BPF programs: permission denied. Run ember as root, or give it "
		       "CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE (setcap or systemd "
		       "AmbientCapabilities)");
	else if (err == -ENOENT || err == -ESRCH)
		pr_err("cannot load BPF programs: the kernel lacks BTF or a needed hook "
		       "(CONFIG_DEBUG_INFO_BTF=y, kernel 5.8 or newer)");
	else
		pr_err("cannot load BPF programs: %s", strerror(-err));
}

int prof_unwind__parse(const char *s, bool *dwarf)
{
	if (!strcmp(s, "dwarf"))
		*dwarf = true;
	else if (!strcmp(s, "fp"))
		*dwarf = false;
	else
		return -EINVAL;
	return 0;
}

/* Bytes of snapshot ring for USTACK_RING_MS of samples on every CPU: a power of two. */
static uint32_t ustack_ring_bytes(const struct prof_sampler_opts *opts, int ncpus)
{
	uint64_t rec = sizeof(struct ember_ustack_hdr) + opts->stack_size + USTACK_KIPS_GUESS * 8;
	uint64_t want = (uint64_t)opts->freq_hz * ncpus * rec * USTACK_RING_MS / 1000;

	if (opts->ring_bytes)
		want = opts->ring_bytes;
	if (want < USTACK_RING_MIN)
		want = USTACK_RING_MIN;
	if (want > USTACK_RING_MAX)
		want = USTACK_RING_MAX;
	return roundup_pow2((uint32_t)want);
}

struct prof_sampler *prof_sampler__new(const struct prof_sampler_opts *opts)
{
	struct prof_sampler *s;
	uint32_t stack_entries, count_entries;
	int err;

	libbpf_set_print(libbpf_log);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->opts = *opts;
	if (s->opts.dwarf && !s->opts.stack_size)
		s->opts.stack_size = EMBER_USTACK_DEFAULT;
	if (s->opts.dwarf && (s->opts.stack_size < EMBER_USTACK_MIN ||
			      s->opts.stack_size > EMBER_USTACK_MAX || s->opts.stack_size % 8)) {
		err = -EINVAL;
		pr_err("stack size %u is not a multiple of 8 from %u to %u bytes",
		       s->opts.stack_size, EMBER_USTACK_MIN, EMBER_USTACK_MAX);
		goto out_free;
	}
	s->ncpus_possible = libbpf_num_possible_cpus();
	if (s->ncpus_possible <= 0) {
		err = s->ncpus_possible ? s->ncpus_possible : -EINVAL;
		pr_err("cannot count possible CPUs: %s", strerror(-err));
		goto out_free;
	}

	s->skel = ember_bpf__open();
	if (!s->skel) {
		err = -errno;
		explain_bpf_error(err);
		goto out_free;
	}
	s->skel->rodata->filter_pids = !opts->all;
	s->skel->rodata->include_idle = opts->include_idle;
	s->skel->rodata->kernel_stacks = opts->kernel_stacks;
	/* dwarf mode: user stacks travel in the snapshots, not in the stack maps. */
	s->skel->rodata->user_stacks = opts->user_stacks && !s->opts.dwarf;
	s->skel->rodata->record_tid = opts->per_thread;
	s->skel->rodata->follow_forks = opts->follow_forks;
	s->skel->rodata->events_all = opts->all;
	s->skel->rodata->dwarf_mode = s->opts.dwarf && opts->user_stacks;
	if (s->skel->rodata->dwarf_mode) {
		uint32_t ring = ustack_ring_bytes(&s->opts, s->ncpus_possible);

		s->skel->rodata->ustack_size = s->opts.stack_size;
		s->skel->rodata->ustack_wakeup_bytes = ring / 4;
		bpf_map__set_max_entries(s->skel->maps.ustacks, ring);
		bpf_map__set_max_entries(s->skel->maps.ustack_scratch, s->ncpus_possible);
		pr_debug("dwarf mode: %u bytes of stack per sample, %u KiB snapshot ring",
			 s->opts.stack_size, ring >> 10);
	} else {
		bpf_map__set_max_entries(s->skel->maps.ustacks, getpagesize());
	}

	stack_entries = opts->stack_entries ? opts->stack_entries : DEFAULT_STACK_ENTRIES;
	count_entries = opts->count_entries ? opts->count_entries : DEFAULT_COUNT_ENTRIES;
	bpf_map__set_max_entries(s->skel->maps.stacks0, stack_entries);
	bpf_map__set_max_entries(s->skel->maps.stacks1, stack_entries);
	bpf_map__set_max_entries(s->skel->maps.counts0, count_entries);
	bpf_map__set_max_entries(s->skel->maps.counts1, count_entries);

	err = ember_bpf__load(s->skel);
	if (err) {
		explain_bpf_error(err);
		goto out_destroy;
	}

	/* Stack ids index buckets: a power of two at least max_entries. */
	s->stack_slots = roundup_pow2(stack_entries);
	s->stack_cache = calloc(s->stack_slots, sizeof(*s->stack_cache));
	s->stack_depth = calloc(s->stack_slots, sizeof(*s->stack_depth));
	if (!s->stack_cache || !s->stack_depth) {
		err = -ENOMEM;
		goto out_destroy;
	}
	return s;

out_destroy:
	ember_bpf__destroy(s->skel);
out_free:
	free(s->stack_cache);
	free(s->stack_depth);
	free(s);
	errno = -err;
	return NULL;
}

int prof_sampler__add_target(struct prof_sampler *s, uint32_t pid)
{
	uint8_t one = 1;

	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.targets), &pid, &one, BPF_ANY))
		return -errno;
	return 0;
}

void prof_sampler__set_ustack_fn(struct prof_sampler *s, prof_ustack_fn fn, void *ctx)
{
	s->ustack_fn = fn;
	s->ustack_ctx = ctx;
}

void prof_sampler__set_ustack_prepare(struct prof_sampler *s, void (*fn)(void *ctx), void *ctx)
{
	s->prepare_fn = fn;
	s->prepare_ctx = ctx;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* One snapshot record (layout in ember/bpf_abi.h) -> the ustack callback. */
static int handle_ustack(void *ctx, void *data, size_t size)
{
	struct prof_sampler *s = ctx;
	const struct ember_ustack_hdr *h = data;
	struct prof_ustack u = {};

	if (size < sizeof(*h) || !s->ustack_fn)
		return 0;
	if (h->stack_len > size - sizeof(*h) ||
	    (size - sizeof(*h) - h->stack_len) / 8 < (size_t)h->nr_kips)
		return 0;
	u.pid = h->pid;
	u.tid = h->tid;
	memcpy(u.comm, h->comm, sizeof(u.comm));
	u.comm[sizeof(u.comm) - 1] = '\0';
	u.ip = h->ip;
	u.sp = h->sp;
	u.bp = h->bp;
	u.stack = (const uint8_t *)(h + 1);
	u.stack_len = h->stack_len;
	u.stack_size = h->stack_size;
	/* Records are 8-byte aligned and stack_len is a multiple of 8. */
	u.kips = (const uint64_t *)(u.stack + h->stack_len);
	u.nk = h->nr_kips;
	u.flags = h->flags;
	/*
	 * Whatever the process did before the tick (exec, mmap) was written
	 * before the snapshot: one read started after the tick sees it. The ring
	 * is consumed while it fills, so the check is per record.
	 */
	if (s->prepare_fn && h->time_ns >= s->prepared_ns) {
		s->prepared_ns = mono_ns();
		s->prepare_fn(s->prepare_ctx);
	}
	/* A failing callback must not stall the ring: the error is its to count. */
	s->ustack_fn(&u, s->ustack_ctx);
	return 0;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Hands every queued snapshot to the ustack callback. */
static void consume_ustacks(struct prof_sampler *s)
{
	uint64_t t0;

	if (!s->urb)
		return;
	t0 = thread_cpu_ns();
	if (ring_buffer__consume(s->urb) > 0)
		s->ustack_cpu_ns += thread_cpu_ns() - t0;
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct prof_sampler *s = ctx;

	if (size < sizeof(struct ember_proc_event))
		return 0;
	/* Snapshots taken before an exec or exit belong to the old program. */
	consume_ustacks(s);
	if (s->ev_fn)
		s->ev_fn(data, s->ev_ctx);
	return 0;
}

static int open_cpu_clock(uint32_t freq, int cpu)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(attr),
		.freq = 1,
		.sample_freq = freq,
	};
	int fd;

	fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void explain_perf_error(int err, int cpu)
{
	if (err == -EACCES || err == -EPERM)
		pr_err("cannot open perf events: permission denied. Run ember as root or give it "
		       "CAP_PERFMON (kernel.perf_event_paranoid also applies)");
	else if (err == -ENOENT || err == -EOPNOTSUPP || err == -ENOSYS)
		pr_err("cannot open perf events: this kernel has no perf events "
		       "(CONFIG_PERF_EVENTS) or no cpu-clock event");
	else if (err == -EINVAL)
		pr_err("cannot open perf events on CPU %d: invalid frequency (is it above "
		       "kernel.perf_event_max_sample_rate?)",
		       cpu);
	else
		pr_err("cannot open perf event on CPU %d: %s", cpu, strerror(-err));
}

int prof_sampler__start(struct prof_sampler *s)
{
	struct cpu_set_list cpus = {};
	int err, i;

	err = ember_bpf__attach(s->skel);
	if (err) {
		pr_err("cannot attach process tracepoints: %s", strerror(-err));
		return err;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), handle_event, s, NULL);
	if (!s->rb) {
		err = -errno;
		pr_err("cannot create the events ring buffer: %s", strerror(-err));
		return err;
	}
	if (s->skel->rodata->dwarf_mode) {
		s->urb = ring_buffer__new(bpf_map__fd(s->skel->maps.ustacks), handle_ustack, s,
					  NULL);
		if (!s->urb) {
			err = -errno;
			pr_err("cannot create the stack snapshot ring buffer: %s", strerror(-err));
			return err;
		}
	}

	err = cpus__online(&cpus);
	if (err) {
		pr_err("cannot read the online CPUs: %s", strerror(-err));
		return err;
	}
	s->links = calloc(cpus.n, sizeof(*s->links));
	if (!s->links) {
		err = -ENOMEM;
		goto out_cpus;
	}
	for (i = 0; i < cpus.n; i++) {
		int fd = open_cpu_clock(s->opts.freq_hz, cpus.v[i]);
		struct bpf_link *link;

		if (fd == -ENODEV) /* went offline meanwhile */
			continue;
		if (fd < 0) {
			err = fd;
			explain_perf_error(err, cpus.v[i]);
			goto out_cpus;
		}
		link = bpf_program__attach_perf_event(s->skel->progs.ember_sample, fd);
		if (!link) {
			err = -errno;
			close(fd);
			pr_err("cannot attach the sampler to CPU %d: %s", cpus.v[i],
			       strerror(-err));
			goto out_cpus;
		}
		/* The link owns the perf event fd from here on. */
		s->links[s->nr_links++] = link;
	}
	if (!s->nr_links) {
		err = -ENODEV;
		pr_err("no online CPU could be sampled");
	}
out_cpus:
	cpus__free(&cpus);
	if (err)
		prof_sampler__stop(s);
	return err;
}

void prof_sampler__stop(struct prof_sampler *s)
{
	int i;

	for (i = 0; i < s->nr_links; i++)
		bpf_link__destroy(s->links[i]);
	free(s->links);
	s->links = NULL;
	s->nr_links = 0;
}

int prof_sampler__poll(struct prof_sampler *s, int timeout_ms, prof_event_fn fn, void *ctx)
{
	int n;

	if (!s->rb) {
		if (timeout_ms > 0)
			usleep(timeout_ms * 1000);
		return 0;
	}
	s->ev_fn = fn;
	s->ev_ctx = ctx;
	if (s->urb) {
		struct pollfd pfd[2] = {
			{.fd = ring_buffer__epoll_fd(s->rb), .events = POLLIN},
			{.fd = ring_buffer__epoll_fd(s->urb), .events = POLLIN},
		};

		n = poll(pfd, 2, timeout_ms);
		n = n < 0 ? -errno : 0;
		consume_ustacks(s);
		if (!n)
			n = ring_buffer__consume(s->rb);
	} else {
		n = ring_buffer__poll(s->rb, timeout_ms);
	}
	s->ev_fn = NULL;
	if (n == -EINTR)
		return 0;
	return n < 0 ? n : 0;
}

/*
 * Waits until no sampling program can still be writing to the buffer that
 * was active before the flip: updating a map-in-map from the syscall side
 * waits for an RCU grace period, and the programs run inside one.
 */
static void wait_for_programs(struct prof_sampler *s)
{
	uint32_t zero = 0;
	int inner = bpf_map__fd(s->skel->maps.sync_inner);

	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.sync_outer), &zero, &inner, BPF_ANY))
		usleep(20000);
}

static int grow_entries(struct prof_sampler *s, size_t need)
{
	struct drain_entry *n;
	size_t cap = s->ents_cap ? s->ents_cap : 1024;

	if (need <= s->ents_cap)
		return 0;
	while (cap < need)
		cap *= 2;
	n = realloc(s->ents, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->ents = n;
	s->ents_cap = cap;
	return 0;
}

/* Reads every (key, count) of the idle count map into s->ents and empties it. */
static int read_counts(struct prof_sampler *s, int fd, size_t *n_out)
{
	struct ember_sample_key key, next;
	size_t n = 0;
	void *prev = NULL;
	int err;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		err = grow_entries(s, n + 1);
		if (err)
			return err;
		s->ents[n].key = next;
		if (bpf_map_lookup_elem(fd, &next, &s->ents[n].count) == 0)
			n++;
		key = next;
		prev = &key;
	}
	if (errno != ENOENT)
		return -errno;
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &s->ents[i].key);
	*n_out = n;
	return 0;
}

/* Returns the ips of stack @id (leaf first), reading each id once per drain. */
static const uint64_t *get_stack(struct prof_sampler *s, int fd, int32_t id, uint32_t *depth)
{
	uint64_t *ips;
	uint32_t d;

	*depth = 0;
	if (id < 0 || (uint32_t)id >= s->stack_slots)
		return NULL;
	if (s->stack_cache[id]) {
		*depth = s->stack_depth[id];
		return s->stack_cache[id];
	}
	/* The drain sized the pool for two stacks per entry. */
	if (s->pool_used + EMBER_MAX_STACK_DEPTH > s->pool_cap)
		return NULL;
	ips = s->stack_pool + s->pool_used;
	if (bpf_map_lookup_elem(fd, &id, ips))
		return NULL;
	for (d = 0; d < EMBER_MAX_STACK_DEPTH && ips[d]; d++)
		;
	s->pool_used += EMBER_MAX_STACK_DEPTH;
	s->stack_cache[id] = ips;
	s->stack_depth[id] = d;
	*depth = d;
	return ips;
}

static void clear_stacks(struct prof_sampler *s, int fd)
{
	uint32_t key;

	for (uint32_t i = 0; i < s->stack_slots; i++) {
		if (s->stack_cache[i]) {
			bpf_map_delete_elem(fd, &i);
			s->stack_cache[i] = NULL;
		}
	}
	/* Stacks whose sample never made it into the count map. */
	while (!bpf_map_get_next_key(fd, NULL, &key))
		if (bpf_map_delete_elem(fd, &key))
			break;
	s->pool_used = 0;
}

int64_t prof_sampler__drain(struct prof_sampler *s, prof_sample_fn fn, void *ctx)
{
	struct bpf_map *counts, *stacks;
	int counts_fd, stacks_fd, err = 0;
	uint32_t old = s->skel->bss->active_buf & 1;
	size_t n = 0, i;
	int64_t total = 0;

	consume_ustacks(s);
	s->skel->bss->active_buf = old ^ 1;
	__sync_synchronize();
	wait_for_programs(s);

	counts = old ? s->skel->maps.counts1 : s->skel->maps.counts0;
	stacks = old ? s->skel->maps.stacks1 : s->skel->maps.stacks0;
	counts_fd = bpf_map__fd(counts);
	stacks_fd = bpf_map__fd(stacks);

	err = read_counts(s, counts_fd, &n);
	if (err)
		goto out_clear;
	/* Two stacks per entry at most. */
	if (s->pool_cap < 2 * n * EMBER_MAX_STACK_DEPTH) {
		uint64_t *pool = realloc(s->stack_pool, 2 * n * EMBER_MAX_STACK_DEPTH * 8);

		if (!pool) {
			err = -ENOMEM;
			goto out_clear;
		}
		s->stack_pool = pool;
		s->pool_cap = 2 * n * EMBER_MAX_STACK_DEPTH;
	}
	for (i = 0; i < n; i++) {
		const struct drain_entry *e = &s->ents[i];
		struct prof_raw_sample r = {
			.pid = e->key.pid,
			.tid = e->key.tid,
			.count = e->count,
		};

		memcpy(r.comm, e->key.comm, sizeof(r.comm));
		r.comm[sizeof(r.comm) - 1] = '\0';
		r.kips = get_stack(s, stacks_fd, e->key.kstack_id, &r.nk);
		r.uips = get_stack(s, stacks_fd, e->key.ustack_id, &r.nu);
		total += e->count;
		err = fn(&r, ctx);
		if (err)
			break;
	}
out_clear:
	clear_stacks(s, stacks_fd);
	return err ? err : total;
}

static uint64_t stat_sum(struct prof_sampler *s, uint32_t idx)
{
	uint64_t sum = 0, *vals;
	int i;

	vals = calloc(s->ncpus_possible, sizeof(*vals));
	if (!vals)
		return 0;
	if (!bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.stats), &idx, vals))
		for (i = 0; i < s->ncpus_possible; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

void prof_sampler__lost(struct prof_sampler *s, struct profile_lost *out)
{
	uint64_t rb_full = stat_sum(s, EMBER_STAT_USTACK_RB_FULL);

	memset(out, 0, sizeof(*out));
	out->count_map_full = stat_sum(s, EMBER_STAT_COUNT_MAP_FULL);
	out->samples = out->count_map_full + rb_full + stat_sum(s, EMBER_STAT_USTACK_SCRATCH);
	out->kstack_errors = stat_sum(s, EMBER_STAT_KSTACK_ERR);
	out->ustack_errors = stat_sum(s, EMBER_STAT_USTACK_ERR);
	out->stack_collisions =
		stat_sum(s, EMBER_STAT_KSTACK_COLLISION) + stat_sum(s, EMBER_STAT_USTACK_COLLISION);
	out->stack_map_full =
		stat_sum(s, EMBER_STAT_KSTACK_FULL) + stat_sum(s, EMBER_STAT_USTACK_FULL);
	/* Records dropped from either ring buffer: snapshots (samples) and events. */
	out->ringbuf_full = rb_full + stat_sum(s, EMBER_STAT_EVENTS_LOST);
}

uint64_t prof_sampler__samples(struct prof_sampler *s)
{
	return stat_sum(s, EMBER_STAT_SAMPLES) + stat_sum(s, EMBER_STAT_USTACK_SENT);
}

void prof_sampler__ustack_stats(struct prof_sampler *s, uint64_t *snapshots, uint64_t *bytes,
				uint64_t *cpu_ns)
{
	*snapshots = stat_sum(s, EMBER_STAT_USTACK_SENT);
	*bytes = stat_sum(s, EMBER_STAT_USTACK_BYTES);
	*cpu_ns = s->ustack_cpu_ns;
}

int prof_sampler__prog_stats(struct prof_sampler *s, uint64_t *runs, uint64_t *run_ns)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_program__fd(s->skel->progs.ember_sample), &info, &len))
		return -errno;
	*runs = info.run_cnt;
	*run_ns = info.run_time_ns;
	return 0;
}

void prof_sampler__free(struct prof_sampler *s)
{
	if (!s)
		return;
	prof_sampler__stop(s);
	ring_buffer__free(s->rb);
	ring_buffer__free(s->urb);
	ember_bpf__destroy(s->skel);
	free(s->ents);
	free(s->stack_cache);
	free(s->stack_depth);
	free(s->stack_pool);
	free(s);
}

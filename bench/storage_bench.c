/*
 * Storage benchmark: writes a synthetic day of daemon windows into a fresh
 * database and reports bytes per sample on disk beside the same windows as
 * folded text and gzip'ed folded text, the write cost per window, and the
 * time of the queries the UI and `ember export` run over 24 hours.
 *
 * The day: 8640 windows of 10 s, 2 busy CPUs at 19 Hz (about 380 samples a
 * window), a few hundred processes of some forty programs with Zipf-like CPU
 * shares, thousands of distinct stacks (call paths through each program's
 * functions, shared libraries and the kernel) with Zipf-like popularity, some
 * processes showing up under several thread names, and short-lived processes
 * (cron jobs, shells) starting all day long.
 *
 * Usage: storage_bench [--windows N] [--db PATH] [--seed N] [--no-folded]
 *   --no-folded  skip the folded/gzip comparison (long runs: --windows 60480 is a week)
 * Prints a markdown table on standard output.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <zlib.h>

#include "ember/formats.h"
#include "ember/profile.h"
#include "ember/storage.h"

#define SEC	       1000000000ULL
#define WINDOW_NS      (10 * SEC)
#define HZ	       19
#define CPUS	       2
#define NPROGRAMS      40
#define NPROCS	       300
#define FUNCS_PER_PROG 160
#define MAX_DEPTH      48

struct bstack {
	uint32_t n;
	uint32_t frames[MAX_DEPTH]; /* indexes into frames[] */
};

struct bframe {
	char name[64];
	const char *module;
	const char *file;
	uint32_t line;
	uint64_t addr;
	uint32_t kind;
};

struct bprog {
	char name[16];
	char exe[64];
	char cgroup[96];
	uint32_t first_func; /* index of its first function in frames[] */
	uint32_t *stacks;    /* indexes into stacks[] */
	uint32_t nstacks;
	double *cdf; /* Zipf CDF over its stacks */
};

struct bproc {
	uint32_t prog;
	uint32_t pid;
	uint64_t start_time;
	uint32_t nthreads;   /* thread names (comm variants) */
	uint32_t shift;	     /* this instance's hot stacks differ a little */
	uint64_t born, dies; /* window range for short-lived processes */
};

static struct bframe *frames;
static uint32_t nframes, frames_cap;
static struct bstack *stacks;
static uint32_t nstacks, stacks_cap;
static struct bprog progs[NPROGRAMS];
static struct bproc *procs;
static uint32_t nprocs, procs_cap;
static double *proc_cdf;

static uint64_t rng_state = 42;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rnd01(void)
{
	return (double)(rnd() >> 11) / (double)(1ULL << 53);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "storage_bench: out of memory\n");
		exit(1);
	}
	return p;
}

static double *zipf_cdf(uint32_t n, double s)
{
	double *c = xrealloc(NULL, n * sizeof(*c)), sum = 0;
	uint32_t i;

	for (i = 0; i < n; i++) {
		sum += 1.0 / pow(i + 1, s);
		c[i] = sum;
	}
	for (i = 0; i < n; i++)
		c[i] /= sum;
	return c;
}

static uint32_t zipf_pick(const double *cdf, uint32_t n)
{
	double u = rnd01();
	uint32_t lo = 0, hi = n - 1;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint32_t add_frame(const char *name, const char *module, const char *file, uint32_t line,
			  uint64_t addr, uint32_t kind)
{
	struct bframe *f;

	if (nframes == frames_cap) {
		frames_cap = frames_cap ? frames_cap * 2 : 1024;
		frames = xrealloc(frames, frames_cap * sizeof(*frames));
	}
	f = &frames[nframes];
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->module = module;
	f->file = file;
	f->line = line;
	f->addr = addr;
	f->kind = kind;
	return nframes++;
}

static const char *const prog_names[NPROGRAMS] = {
	"java",		"postgres",  "python3",	  "node",	"nginx",   "mysqld",
	"redis-server", "envoy",     "kubelet",	  "containerd", "dockerd", "prometheus",
	"grafana",	"etcd",	     "haproxy",	  "php-fpm",	"ruby",	   "elasticsearch",
	"kafka",	"zookeeper", "memcached", "sshd",	"systemd", "journald",
	"rsyslogd",	"cron",	     "bash",	  "sh",		"gzip",	   "tar",
	"rsync",	"git",	     "make",	  "cc1",	"ld",	   "perl",
	"awk",		"sed",	     "vim",	  "htop",
};

static const char *const libc_funcs[] = {"__memmove_avx_unaligned_erms",
					 "malloc",
					 "free",
					 "_int_malloc",
					 "__strlen_avx2",
					 "pthread_mutex_lock",
					 "__libc_recv",
					 "__libc_send",
					 "epoll_wait",
					 "read"};
static const char *const kernel_paths[][6] = {
	{"entry_SYSCALL_64", "do_syscall_64", "__x64_sys_read", "ksys_read", "vfs_read",
	 "copy_user_enhanced_fast_string"},
	{"entry_SYSCALL_64", "do_syscall_64", "__x64_sys_sendto", "__sys_sendto", "tcp_sendmsg",
	 "tcp_write_xmit"},
	{"entry_SYSCALL_64", "do_syscall_64", "__x64_sys_epoll_wait", "do_epoll_wait", "ep_poll",
	 "schedule"},
	{"asm_exc_page_fault", "exc_page_fault", "do_user_addr_fault", "handle_mm_fault",
	 "__handle_mm_fault", "clear_page_erms"},
	{"asm_sysvec_apic_timer_interrupt", "sysvec_apic_timer_interrupt",
	 "__sysvec_apic_timer_interrupt", "hrtimer_interrupt", "__hrtimer_run_queues",
	 "tick_sched_timer"},
};

static uint32_t libc_first, kernel_first[5];

/* Functions of every program, libc and kernel paths; then stacks through them. */
static void gen_frames(void)
{
	static char files[NPROGRAMS][8][48];
	char name[64];
	uint32_t p, i, j;

	libc_first = nframes;
	for (i = 0; i < sizeof(libc_funcs) / sizeof(libc_funcs[0]); i++)
		add_frame(libc_funcs[i], "libc.so.6", "", 0, 0x28000 + i * 0x140, 0);
	for (i = 0; i < 5; i++) {
		kernel_first[i] = nframes;
		for (j = 0; j < 6; j++)
			add_frame(kernel_paths[i][j], "[kernel.kallsyms]", "", 0, 0, 1);
	}
	for (p = 0; p < NPROGRAMS; p++) {
		struct bprog *pg = &progs[p];

		snprintf(pg->name, sizeof(pg->name), "%s", prog_names[p]);
		snprintf(pg->exe, sizeof(pg->exe), "/usr/%s/%s", p % 3 ? "bin" : "sbin",
			 prog_names[p]);
		if (p % 4 == 0)
			snprintf(pg->cgroup, sizeof(pg->cgroup),
				 "/kubepods/burstable/pod%08x-7c1e-4b7a/%016" PRIx64,
				 p * 2654435761u, rnd());
		else
			snprintf(pg->cgroup, sizeof(pg->cgroup), "/system.slice/%s.service",
				 prog_names[p]);
		for (i = 0; i < 8; i++)
			snprintf(files[p][i], sizeof(files[p][i]), "src/%s/module%u.c",
				 prog_names[p], i);
		pg->first_func = nframes;
		add_frame("_start", pg->name, "", 0, 0x1040, 0);
		add_frame("__libc_start_main", "libc.so.6", "", 0, 0x271c0, 0);
		add_frame("main", pg->name, files[p][0], 12, 0x1100, 0);
		for (i = 3; i < FUNCS_PER_PROG; i++) {
			snprintf(name, sizeof(name), "%s_%s_%u", prog_names[p],
				 i % 5 ? (i % 3 ? "process" : "handle") : "parse", i);
			add_frame(name, pg->name, files[p][i % 8], 10 + i * 7, 0x1200 + i * 0x90,
				  i % 17 == 0 ? 3 : 0);
		}
	}
}

/* A call path: main, then a walk through the program's functions, maybe libc and kernel. */
static void gen_stack(uint32_t p)
{
	struct bprog *pg = &progs[p];
	struct bstack *s;
	uint32_t depth, i, f, k;

	if (nstacks == stacks_cap) {
		stacks_cap = stacks_cap ? stacks_cap * 2 : 1024;
		stacks = xrealloc(stacks, stacks_cap * sizeof(*stacks));
	}
	s = &stacks[nstacks];
	s->n = 0;
	s->frames[s->n++] = pg->first_func;
	s->frames[s->n++] = pg->first_func + 1;
	s->frames[s->n++] = pg->first_func + 2;
	depth = 4 + (uint32_t)(rnd() % 24);
	/* Shallow frames come from a few dispatchers, deeper ones spread out. */
	f = 3;
	for (i = 0; i < depth && s->n < MAX_DEPTH - 8; i++) {
		k = i < 3 ? (uint32_t)(rnd() % 6) : (uint32_t)(rnd() % (FUNCS_PER_PROG - 3));
		f = 3 + (f + k) % (FUNCS_PER_PROG - 3);
		s->frames[s->n++] = pg->first_func + f;
	}
	if (rnd() % 3 == 0)
		s->frames[s->n++] = libc_first + (uint32_t)(rnd() % 10);
	if (rnd() % 4 == 0) {
		k = (uint32_t)(rnd() % 5);
		for (i = 0; i < 6; i++)
			s->frames[s->n++] = kernel_first[k] + i;
	}
	pg->stacks = xrealloc(pg->stacks, (pg->nstacks + 1) * sizeof(*pg->stacks));
	pg->stacks[pg->nstacks++] = nstacks++;
}

static void gen_world(void)
{
	double *prog_cdf = zipf_cdf(NPROGRAMS, 1.0);
	uint32_t p, i, n;

	gen_frames();
	/* Busier programs have more distinct stacks: 20 to ~600. */
	for (p = 0; p < NPROGRAMS; p++) {
		n = 20 + (uint32_t)(600.0 / (p + 1));
		for (i = 0; i < n; i++)
			gen_stack(p);
		progs[p].cdf = zipf_cdf(progs[p].nstacks, 1.1);
	}
	procs_cap = NPROCS + 4096;
	procs = xrealloc(NULL, procs_cap * sizeof(*procs));
	for (i = 0; i < NPROCS; i++) {
		struct bproc *pr = &procs[nprocs++];

		pr->prog = zipf_pick(prog_cdf, NPROGRAMS);
		pr->pid = 1000 + i * 37;
		pr->start_time = (uint64_t)(i + 1) * 1234567890ULL;
		pr->nthreads = i % 5 == 0 ? 3 : 1;
		pr->shift = (uint32_t)(rnd() % 7);
		pr->born = 0;
		pr->dies = UINT64_MAX;
	}
	proc_cdf = zipf_cdf(NPROCS, 1.2);
	free(prog_cdf);
}

struct wsample {
	uint32_t proc, thread, stack;
};

static uint32_t short_lived(uint64_t w)
{
	struct bproc *pr;

	if (nprocs == procs_cap) {
		procs_cap *= 2;
		procs = xrealloc(procs, procs_cap * sizeof(*procs));
	}
	pr = &procs[nprocs];
	pr->prog = 25 + (uint32_t)(rnd() % 15); /* cron, shells, tools */
	pr->pid = 400000 + nprocs;
	pr->start_time = w * WINDOW_NS + 5;
	pr->nthreads = 1;
	pr->shift = 0;
	pr->born = w;
	pr->dies = w + 1 + rnd() % 3;
	return nprocs++;
}

static uint32_t intern(struct profile *p, const char *s)
{
	int64_t id = profile__intern(p, s);

	if (id < 0)
		exit(1);
	return (uint32_t)id;
}

static const char *const thread_names[] = {"", "worker", "gc"};

/* Builds window @w: about CPUS * HZ * 10 samples. */
static struct profile *gen_window(uint64_t w, uint64_t start_ns, uint32_t *live_short,
				  uint32_t *nlive)
{
	struct profile *p = profile__new();
	uint32_t n = CPUS * HZ * 10 - 5 + (uint32_t)(rnd() % 11), i, j, fids[MAX_DEPTH];
	struct profile_meta *m;
	char comm[32];

	if (!p)
		exit(1);
	/* A short-lived process starts about every minute. */
	if (w % 6 == 0 && *nlive < 64)
		live_short[(*nlive)++] = short_lived(w);
	for (i = 0; i < n; i++) {
		uint32_t pi, si;
		struct bproc *pr;
		struct bprog *pg;
		struct profile_task t = {0};
		int64_t task, stack;

		if (*nlive && rnd() % 50 == 0)
			pi = live_short[rnd() % *nlive];
		else
			pi = zipf_pick(proc_cdf, NPROCS);
		pr = &procs[pi];
		pg = &progs[pr->prog];
		si = (zipf_pick(pg->cdf, pg->nstacks) + pr->shift) % pg->nstacks;
		si = pg->stacks[si];
		j = pr->nthreads > 1 ? (uint32_t)(rnd() % pr->nthreads) : 0;
		snprintf(comm, sizeof(comm), "%s%s%s", j ? thread_names[j] : pg->name, j ? "-" : "",
			 j ? pg->name : "");
		comm[15] = '\0';
		t.pid = pr->pid;
		t.tid = pr->pid;
		t.start_time = pr->start_time;
		t.comm = intern(p, comm);
		t.exe = intern(p, pg->exe);
		t.cgroup = intern(p, pg->cgroup);
		task = profile__add_task(p, &t);
		for (j = 0; j < stacks[si].n; j++) {
			const struct bframe *bf = &frames[stacks[si].frames[j]];
			struct profile_frame f = {
				.line = bf->line, .addr = bf->addr, .kind = bf->kind};
			int64_t fid;

			f.name = intern(p, bf->name);
			f.module = intern(p, bf->module);
			f.file = intern(p, bf->file);
			fid = profile__add_frame(p, &f);
			if (fid < 0)
				exit(1);
			fids[j] = (uint32_t)fid;
		}
		stack = profile__add_stack(p, fids, stacks[si].n);
		if (task < 0 || stack < 0 ||
		    profile__add_sample(p, (uint32_t)stack, (uint32_t)task, 1))
			exit(1);
	}
	/* Short-lived processes end. */
	for (i = 0; i < *nlive;) {
		if (procs[live_short[i]].dies <= w)
			live_short[i] = live_short[--(*nlive)];
		else
			i++;
	}
	m = profile__meta(p);
	m->start_ns = start_ns;
	m->end_ns = start_ns + WINDOW_NS;
	m->freq_hz = HZ;
	m->period_ns = SEC / HZ;
	m->lost.kstack_errors = rnd() % 50 == 0;
	return p;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* gzip (deflate level 6) of @len bytes: the compressed size. */
static size_t gzip_size(z_stream *zs, const void *data, size_t len, int flush)
{
	unsigned char out[65536];
	size_t total = 0;

	zs->next_in = (unsigned char *)data;
	zs->avail_in = (uInt)len;
	do {
		zs->next_out = out;
		zs->avail_out = sizeof(out);
		deflate(zs, flush);
		total += sizeof(out) - zs->avail_out;
	} while (zs->avail_out == 0);
	return total;
}

static void gz_init(z_stream *zs)
{
	memset(zs, 0, sizeof(*zs));
	if (deflateInit2(zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		exit(1);
}

static void dbstat(const char *path)
{
	sqlite3_stmt *s;
	sqlite3 *db;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return;
	if (sqlite3_prepare_v2(db,
			       "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC",
			       -1, &s, NULL) == SQLITE_OK) {
		printf("\n| table or index (dbstat) | bytes |\n|---|---:|\n");
		while (sqlite3_step(s) == SQLITE_ROW)
			printf("| %s | %lld |\n", (const char *)sqlite3_column_text(s, 0),
			       (long long)sqlite3_column_int64(s, 1));
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
}

/* Bytes of the sample blobs alone (the data column), without SQLite's pages around them. */
static long long blob_bytes(const char *path)
{
	long long n = -1;
	sqlite3_stmt *s;
	sqlite3 *db;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT sum(length(data)) FROM windows", -1, &s, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			n = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return n;
}

static void cleanup(const char *dir, const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-shm", ".lock"};
	char p[600];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
}

static double time_query(struct store *st, const struct store_filter *f, int reps, uint64_t *total)
{
	double t[16], t0;
	struct profile *p;
	int i;

	for (i = 0; i < reps; i++) {
		p = profile__new();
		t0 = now_s();
		if (!p || store__query(st, f, p)) {
			fprintf(stderr, "storage_bench: query: %s\n", store__errmsg(st));
			exit(1);
		}
		t[i] = now_s() - t0;
		*total = profile__total(p);
		profile__free(p);
	}
	return median(t, reps);
}

int main(int argc, char **argv)
{
	struct store_open_opts wo = {.writer = true}, ro = {0};
	uint64_t nwin = 8640, samples = 0, total, w, folded = 0, gz_each = 0, gz_day = 0;
	uint32_t live_short[64], nlive = 0;
	char dir[] = "/tmp/ember-storage-bench-XXXXXX", path[512] = "", err[512];
	double t_write = 0, t0, t[16], t_max = 0, t_pack;
	off_t unpacked;
	long long packed_blobs;
	bool no_folded = false;
	char span[32];
	struct store_filter f = {0};
	struct store_retain_stats rs;
	struct store_point *pts;
	struct store_process *pv;
	const uint64_t base = 1763596800ULL * SEC; /* a midnight, UTC */
	z_stream day, one;
	struct stat sb;
	struct store *st;
	size_t n, flen;
	char *fbuf;
	FILE *mf;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--windows") && i + 1 < argc)
			nwin = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--db") && i + 1 < argc)
			snprintf(path, sizeof(path), "%s", argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			rng_state = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--no-folded"))
			no_folded = true;
		else {
			fprintf(stderr, "usage: storage_bench [--windows N] [--db PATH] [--seed N] "
					"[--no-folded]\n");
			return 2;
		}
	}
	if (!path[0]) {
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			return 1;
		}
		snprintf(path, sizeof(path), "%s/bench.db", dir);
	}
	if (nwin % 8640)
		snprintf(span, sizeof(span), "%.1f h", (double)nwin / 360.0);
	else
		snprintf(span, sizeof(span), "%" PRIu64 " day%s", nwin / 8640,
			 nwin == 8640 ? "" : "s");
	gen_world();
	st = store__open(path, &wo, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "storage_bench: %s\n", err);
		return 1;
	}
	gz_init(&day);
	for (w = 0; w < nwin; w++) {
		struct profile *p = gen_window(w, base + w * WINDOW_NS, live_short, &nlive);
		double dt;

		samples += profile__total(p);
		t0 = now_s();
		if (store__write_window(st, p)) {
			fprintf(stderr, "storage_bench: write: %s\n", store__errmsg(st));
			return 1;
		}
		dt = now_s() - t0;
		t_write += dt;
		if (dt > t_max)
			t_max = dt;
		if (no_folded) {
			profile__free(p);
			continue;
		}
		mf = open_memstream(&fbuf, &flen);
		if (!mf || fmt_folded__write(p, NULL, mf) || fclose(mf))
			return 1;
		folded += flen;
		gz_init(&one);
		gz_each += gzip_size(&one, fbuf, flen, Z_FINISH);
		deflateEnd(&one);
		gz_day += gzip_size(&day, fbuf, flen, Z_NO_FLUSH);
		free(fbuf);
		profile__free(p);
	}
	gz_day += gzip_size(&day, NULL, 0, Z_FINISH);
	deflateEnd(&day);
	store__close(st); /* checkpoints the WAL into the file */
	if (stat(path, &sb))
		return 1;
	unpacked = sb.st_size;
	/* What the daemon's retention does in the background: pack every finished hour. */
	st = store__open(path, &wo, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "storage_bench: %s\n", err);
		return 1;
	}
	t0 = now_s();
	if (store__retain(st, base + nwin * WINDOW_NS + 120 * SEC, 0, 0, &rs)) {
		fprintf(stderr, "storage_bench: pack: %s\n", store__errmsg(st));
		return 1;
	}
	t_pack = now_s() - t0;
	store__close(st);
	if (stat(path, &sb))
		return 1;
	packed_blobs = blob_bytes(path);

	printf("Synthetic run: %" PRIu64 " windows of 10 s (%s), %" PRIu64
	       " samples (%.0f a window), %u processes (+%u short-lived), %u distinct stacks, %u "
	       "frames.\n\n",
	       nwin, span, samples, (double)samples / (double)nwin, NPROCS, nprocs - NPROCS,
	       nstacks, nframes);
	printf("| storage of the %s | bytes | bytes/sample |\n|---|---:|---:|\n", span);
	printf("| ember database, hours packed (as the daemon keeps it) | %lld | %.3f |\n",
	       (long long)sb.st_size, (double)sb.st_size / (double)samples);
	printf("| ember database, one row per window (before packing) | %lld | %.3f |\n",
	       (long long)unpacked, (double)unpacked / (double)samples);
	printf("| sample blobs alone, hours packed (the data column) | %lld | %.3f |\n",
	       packed_blobs, (double)packed_blobs / (double)samples);
	if (!no_folded) {
		printf("| folded text, one file per window | %" PRIu64 " | %.2f |\n", folded,
		       (double)folded / (double)samples);
		printf("| gzip'ed folded text, one file per window | %" PRIu64 " | %.3f |\n",
		       gz_each, (double)gz_each / (double)samples);
		printf("| gzip'ed folded text, all of it as one stream | %" PRIu64 " | %.3f |\n",
		       gz_day, (double)gz_day / (double)samples);
		printf("\n(folded text keeps neither pid, exe, cgroup nor time; the database "
		       "does.)\n");
	}
	dbstat(path);
	printf("\n");

	st = store__open(path, &ro, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "storage_bench: %s\n", err);
		return 1;
	}
	printf("| operation | time |\n|---|---:|\n");
	printf("| write one window (mean; max) | %.2f ms; %.1f ms |\n",
	       t_write * 1e3 / (double)nwin, t_max * 1e3);
	printf("| pack one hour (mean) | %.0f ms |\n", t_pack * 1e3 / ((double)nwin / 360.0));
	t0 = time_query(st, &f, 7, &total);
	printf("| merge %s into one profile (%" PRIu64 " samples) | %.0f ms |\n", span, total,
	       t0 * 1e3);
	f.from_ns = base + (nwin > 360 ? nwin - 360 : 0) * WINDOW_NS;
	t0 = time_query(st, &f, 7, &total);
	printf("| merge the last hour | %.1f ms |\n", t0 * 1e3);
	f.from_ns = 0;
	f.pid = procs[0].pid;
	t0 = time_query(st, &f, 7, &total);
	printf("| merge %s of one pid (%" PRIu64 " samples) | %.0f ms |\n", span, total, t0 * 1e3);
	f.pid = 0;
	f.cgroup = "/kubepods";
	t0 = time_query(st, &f, 7, &total);
	printf("| merge %s of cgroup prefix /kubepods (%" PRIu64 " samples) | %.0f ms |\n", span,
	       total, t0 * 1e3);
	f.cgroup = NULL;
	for (i = 0; i < 7; i++) {
		t0 = now_s();
		if (store__timeline(st, &f, 60 * SEC, &pts, &n))
			return 1;
		t[i] = now_s() - t0;
		free(pts);
	}
	printf("| timeline of %s by minute (%zu points) | %.1f ms |\n", span, n,
	       median(t, 7) * 1e3);
	f.comm = "java";
	for (i = 0; i < 7; i++) {
		t0 = now_s();
		if (store__timeline(st, &f, 60 * SEC, &pts, &n))
			return 1;
		t[i] = now_s() - t0;
		free(pts);
	}
	printf("| timeline of %s by minute, comm filter | %.0f ms |\n", span, median(t, 7) * 1e3);
	f.comm = NULL;
	for (i = 0; i < 7; i++) {
		t0 = now_s();
		if (store__processes(st, &f, &pv, &n))
			return 1;
		t[i] = now_s() - t0;
		store__processes_free(pv, n);
	}
	printf("| processes of %s (%zu) | %.0f ms |\n", span, n, median(t, 7) * 1e3);
	store__close(st);

	/* A daemon restart: open (quick_check), then the first window loads the id mirror. */
	t0 = now_s();
	st = store__open(path, &wo, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "storage_bench: %s\n", err);
		return 1;
	}
	printf("| open the writer (checks the file) | %.0f ms |\n", (now_s() - t0) * 1e3);
	{
		struct profile *p = gen_window(nwin, base + nwin * WINDOW_NS, live_short, &nlive);

		t0 = now_s();
		if (store__write_window(st, p))
			return 1;
		printf("| first window after opening (loads the id mirror) | %.0f ms |\n",
		       (now_s() - t0) * 1e3);
		profile__free(p);
	}
	t0 = now_s();
	if (store__retain(st, base + nwin * WINDOW_NS, (nwin * WINDOW_NS) * 3 / 4, 0, &rs))
		return 1;
	printf("\n| retention | time |\n|---|---:|\n");
	printf("| delete the oldest quarter and reclaim (%" PRIu64 " windows, %" PRIu64
	       " stacks) | %.0f ms |\n",
	       rs.windows_deleted, rs.stacks_deleted, (now_s() - t0) * 1e3);
	store__close(st);
	if (!strncmp(path, dir, strlen(dir)))
		cleanup(dir, path);
	return 0;
}

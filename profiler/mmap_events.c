/*
 * Process events from perf's side band (see mmap_events.h).
 *
 * Each CPU has a dummy software event with mmap2, comm (+comm_exec) and task
 * records and sample_id_all, so every record ends with (pid, tid, time). The
 * ring buffers are mapped here and read by hand: the records of all CPUs are
 * copied out, sorted by time (a fork on one CPU must reach the symbolizer
 * before its child's first mmap on another), and dispatched:
 *   MMAP2 (executable)        symbolizer__mmap
 *   COMM with the exec flag   symbolizer__exec
 *   FORK of a process         symbolizer__fork (threads are ignored)
 *   EXIT of a process leader  symbolizer__exit
 * A LOST record is counted; the symbolizer then reads /proc on a miss.
 * Once pids are followed (prof_mmap_events__follow), records of other
 * processes are skipped before they cost the symbolizer anything.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ember/log.h"
#include "ember/symbolizer.h"
#include "cpus.h"
#include "mmap_events.h"

#define ME_DEFAULT_PAGES 64
#define ME_MAX_RECORD	 (64 * 1024) /* a record's size field is 16 bits */

struct me_ring {
	int fd;
	void *base; /* header page + data pages */
	size_t size;
};

/* One record copied out of a ring. */
struct me_rec {
	uint64_t time;
	uint32_t seq; /* arrival order, the tie-break */
	uint32_t off; /* into the batch buffer */
};

struct prof_mmap_events {
	struct me_ring *rings;
	int n_rings;
	int epfd;
	size_t data_size, page_size;
	char *buf; /* batch of copied records */
	size_t buf_len, buf_cap;
	struct me_rec *recs;
	size_t n_recs, cap_recs;
	struct prof_mmap_events_stats stats;
	/* followed pids: open addressing, 0 = free slot; cap 0 = every process */
	uint32_t *follow;
	size_t follow_cap, follow_len;
};

/* The part of a record after its fixed fields: the sample_id trailer. */
struct me_sample_id {
	uint32_t pid, tid;
	uint64_t time;
};

static int me__open_cpu(int cpu, int *fd)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_DUMMY,
		.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME,
		.sample_id_all = 1,
		.mmap = 1,
		.mmap2 = 1,
		.comm = 1,
		.comm_exec = 1,
		.task = 1,
		.watermark = 1,
	};

	attr.wakeup_watermark = 4096;
	*fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

struct prof_mmap_events *prof_mmap_events__new(const struct prof_mmap_events_opts *opts)
{
	uint32_t pages = opts && opts->pages ? opts->pages : ME_DEFAULT_PAGES;
	struct prof_mmap_events *me;
	struct cpu_set_list cpus = {0};
	int err, i;

	if (pages & (pages - 1)) {
		errno = EINVAL;
		return NULL;
	}
	me = calloc(1, sizeof(*me));
	if (!me)
		return NULL;
	me->epfd = -1;
	me->page_size = (size_t)sysconf(_SC_PAGESIZE);
	me->data_size = pages * me->page_size;
	err = cpus__online(&cpus);
	if (err) {
		pr_err("cannot read the online CPUs: %s", strerror(-err));
		goto out_free;
	}
	me->rings = calloc((size_t)cpus.n, sizeof(*me->rings));
	me->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!me->rings || me->epfd < 0) {
		err = me->rings ? -errno : -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < cpus.n; i++) {
		struct me_ring *r = &me->rings[me->n_rings];
		struct epoll_event ev = {.events = EPOLLIN};

		err = me__open_cpu(cpus.v[i], &r->fd);
		if (err) {
			pr_err("cannot open process events (perf mmap records) on CPU %d: %s%s",
			       cpus.v[i], strerror(-err),
			       err == -EACCES || err == -EPERM
				       ? " (run as root or with CAP_PERFMON)"
				       : "");
			goto out_free;
		}
		r->size = me->page_size + me->data_size;
		r->base = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
		if (r->base == MAP_FAILED) {
			err = -errno;
			close(r->fd);
			pr_err("cannot map the process event buffer of CPU %d: %s", cpus.v[i],
			       strerror(-err));
			goto out_free;
		}
		ev.data.u32 = (uint32_t)me->n_rings;
		me->n_rings++;
		if (epoll_ctl(me->epfd, EPOLL_CTL_ADD, r->fd, &ev)) {
			err = -errno;
			goto out_free;
		}
	}
	cpus__free(&cpus);
	return me;

out_free:
	cpus__free(&cpus);
	prof_mmap_events__free(me);
	errno = -err;
	return NULL;
}

void prof_mmap_events__free(struct prof_mmap_events *me)
{
	int i;

	if (!me)
		return;
	for (i = 0; i < me->n_rings; i++) {
		munmap(me->rings[i].base, me->rings[i].size);
		close(me->rings[i].fd);
	}
	if (me->epfd >= 0)
		close(me->epfd);
	free(me->rings);
	free(me->buf);
	free(me->recs);
	free(me->follow);
	free(me);
}

static size_t follow__slot(const uint32_t *set, size_t cap, uint32_t pid)
{
	size_t i = (size_t)(pid * 0x9e3779b1u) & (cap - 1);

	while (set[i] && set[i] != pid)
		i = (i + 1) & (cap - 1);
	return i;
}

static bool me__followed(const struct prof_mmap_events *me, uint32_t pid)
{
	return !me->follow_cap || me->follow[follow__slot(me->follow, me->follow_cap, pid)] == pid;
}

int prof_mmap_events__follow(struct prof_mmap_events *me, uint32_t pid)
{
	size_t i;

	if (!pid)
		return 0;
	if ((me->follow_len + 1) * 2 > me->follow_cap) {
		size_t cap = me->follow_cap ? me->follow_cap * 2 : 64;
		uint32_t *set = calloc(cap, sizeof(*set));

		if (!set)
			return -ENOMEM;
		for (i = 0; i < me->follow_cap; i++)
			if (me->follow[i])
				set[follow__slot(set, cap, me->follow[i])] = me->follow[i];
		free(me->follow);
		me->follow = set;
		me->follow_cap = cap;
	}
	i = follow__slot(me->follow, me->follow_cap, pid);
	if (!me->follow[i]) {
		me->follow[i] = pid;
		me->follow_len++;
	}
	return 0;
}

int prof_mmap_events__fd(const struct prof_mmap_events *me)
{
	return me->epfd;
}

void prof_mmap_events__stats(const struct prof_mmap_events *me, struct prof_mmap_events_stats *out)
{
	*out = me->stats;
}

/* Appends @len bytes of a record (taken from the ring, maybe wrapped). */
static int me__push(struct prof_mmap_events *me, const char *data, uint64_t pos, size_t len)
{
	size_t off = (size_t)(pos & (me->data_size - 1)), first;
	struct me_rec *rec;

	if (me->buf_len + len > me->buf_cap) {
		size_t cap = me->buf_cap ? me->buf_cap * 2 : 65536;
		char *b;

		while (cap < me->buf_len + len)
			cap *= 2;
		b = realloc(me->buf, cap);
		if (!b)
			return -ENOMEM;
		me->buf = b;
		me->buf_cap = cap;
	}
	if (me->n_recs == me->cap_recs) {
		size_t cap = me->cap_recs ? me->cap_recs * 2 : 1024;
		struct me_rec *v = reallocarray(me->recs, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		me->recs = v;
		me->cap_recs = cap;
	}
	first = len < me->data_size - off ? len : me->data_size - off;
	memcpy(me->buf + me->buf_len, data + off, first);
	memcpy(me->buf + me->buf_len + first, data, len - first);
	rec = &me->recs[me->n_recs];
	rec->off = (uint32_t)me->buf_len;
	rec->seq = (uint32_t)me->n_recs;
	/* sample_id_all with TID|TIME: the record ends with pid, tid, time. */
	rec->time = 0;
	if (len >= sizeof(struct perf_event_header) + sizeof(struct me_sample_id))
		memcpy(&rec->time, me->buf + me->buf_len + len - sizeof(uint64_t),
		       sizeof(uint64_t));
	me->buf_len += len;
	me->n_recs++;
	return 0;
}

/* Copies the records waiting in ring @r out and frees their space. */
static int me__drain_ring(struct prof_mmap_events *me, struct me_ring *r)
{
	struct perf_event_mmap_page *meta = r->base;
	const char *data = (const char *)r->base + me->page_size;
	uint64_t head, tail;
	int err = 0;

	head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	tail = meta->data_tail;
	while (tail < head) {
		struct perf_event_header h;
		size_t off = (size_t)(tail & (me->data_size - 1)), first;

		first = sizeof(h) < me->data_size - off ? sizeof(h) : me->data_size - off;
		memcpy(&h, data + off, first);
		memcpy((char *)&h + first, data, sizeof(h) - first);
		if (h.size < sizeof(h) || h.size > head - tail)
			break; /* corrupt: drop the rest */
		err = me__push(me, data, tail, h.size);
		if (err)
			break;
		tail += h.size;
	}
	__atomic_store_n(&meta->data_tail, err ? tail : head, __ATOMIC_RELEASE);
	return err;
}

static int me_rec__cmp(const void *a, const void *b)
{
	const struct me_rec *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hands one record to the symbolizer; 0 or -ENOMEM. */
static int me__dispatch(struct prof_mmap_events *me, const char *rec, struct symbolizer *s)
{
	const struct perf_event_header *h = (const void *)rec;
	const char *body = rec + sizeof(*h);
	size_t blen = h->size - sizeof(*h);
	uint32_t v[4];

	switch (h->type) {
	case PERF_RECORD_MMAP2: {
		/* pid, tid, addr, len, pgoff, maj, min, ino, ino_gen, prot, flags, filename */
		const size_t fixed = 8 + 3 * 8 + 4 + 4 + 8 + 8 + 4 + 4;
		struct sym_map m = {0};
		uint64_t q[3], ino;
		uint32_t dev[2], prot;
		size_t name_max;

		if (blen < fixed + sizeof(struct me_sample_id) ||
		    (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID))
			return 0;
		memcpy(v, body, 8);
		memcpy(q, body + 8, sizeof(q));
		memcpy(dev, body + 32, sizeof(dev));
		memcpy(&ino, body + 40, sizeof(ino));
		memcpy(&prot, body + 56, sizeof(prot));
		name_max = blen - fixed - sizeof(struct me_sample_id);
		if (!(prot & PROT_EXEC) || !memchr(body + fixed, '\0', name_max))
			return 0;
		m.start = q[0];
		m.end = q[0] + q[1];
		m.pgoff = q[2];
		m.dev_major = dev[0];
		m.dev_minor = dev[1];
		m.inode = ino;
		m.prot = SYM_MAP_READ | SYM_MAP_EXEC;
		m.path = (char *)(body + fixed);
		if (!v[0] || v[0] == UINT32_MAX)
			return 0; /* the kernel's own */
		if (!me__followed(me, v[0])) {
			me->stats.skipped++;
			return 0;
		}
		me->stats.mmaps++;
		return symbolizer__mmap(s, v[0], &m);
	}
	case PERF_RECORD_COMM:
		if (blen < 8 || !(h->misc & PERF_RECORD_MISC_COMM_EXEC))
			return 0;
		memcpy(v, body, 8);
		if (!me__followed(me, v[0])) {
			me->stats.skipped++;
			return 0;
		}
		me->stats.execs++;
		return symbolizer__exec(s, v[0]);
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		if (blen < 16)
			return 0;
		memcpy(v, body, 16); /* pid, ppid, tid, ptid */
		if (h->type == PERF_RECORD_FORK) {
			int err;

			if (v[0] == v[1])
				return 0; /* a new thread */
			if (!me__followed(me, v[1])) {
				me->stats.skipped++;
				return 0;
			}
			/* A followed process's children are followed. */
			err = me->follow_cap ? prof_mmap_events__follow(me, v[0]) : 0;
			if (err)
				return err;
			me->stats.forks++;
			return symbolizer__fork(s, v[1], v[0]);
		}
		if (!me__followed(me, v[0])) {
			me->stats.skipped++;
			return 0;
		}
		if (v[0] == v[2]) {
			me->stats.exits++;
			symbolizer__exit(s, v[0]);
		}
		return 0;
	case PERF_RECORD_LOST:
		if (blen >= 16) {
			uint64_t lost;

			memcpy(&lost, body + 8, sizeof(lost));
			me->stats.lost += lost;
		}
		return 0;
	default:
		return 0;
	}
}

int prof_mmap_events__read(struct prof_mmap_events *me, struct symbolizer *s)
{
	size_t i;
	int err = 0, n;

	me->buf_len = 0;
	me->n_recs = 0;
	for (n = 0; n < me->n_rings && !err; n++)
		err = me__drain_ring(me, &me->rings[n]);
	if (me->n_recs > 1)
		qsort(me->recs, me->n_recs, sizeof(*me->recs), me_rec__cmp);
	for (i = 0; i < me->n_recs; i++) {
		int e = me__dispatch(me, me->buf + me->recs[i].off, s);

		if (e && !err)
			err = e;
	}
	me->stats.records += me->n_recs;
	return err ? err : (int)me->n_recs;
}

/*
 * The collector turns drained raw samples into the profile model: one task
 * per (pid, tid, comm), one stack per unique frame sequence. Every unique
 * address is symbolized once per profile and cached, so a hot stack seen in
 * every drain costs hash lookups, not symbol lookups.
 *
 * dwarf mode: each user stack snapshot is unwound (ember/unwind.h) as it
 * arrives, and the resulting (pid, tid, comm, user addresses, kernel ips)
 * keys are counted in a table, the userspace twin of the kernel's count map.
 * A flush symbolizes each distinct key once and empties the table. User
 * addresses are stored ready to symbolize: return addresses minus one, exact
 * addresses (leaf, signal trampoline, the frame a signal interrupted) as they
 * are. A stack that ended before its outermost frame starts at a
 * "[truncated]" frame, where the missing callers would be.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ember/profile.h"
#include "ember/profiler.h"
#include "ember/symbolizer.h"
#include "ember/unwind.h"
#include "procinfo.h"

#define KERNEL_PID UINT32_MAX
#define MAX_INLINE 32 /* frames one address may expand to */
/* User frames one snapshot may unwind to; more and the stack is truncated. */
#define MAX_UFRAMES    512
#define TRUNCATED_NAME "[truncated]"

/* A distinct unwound stack waiting for the next flush; arrays in ustack_pool. */
struct ustack_ent {
	uint64_t hash;
	uint64_t count;
	uint32_t pid, tid;
	char comm[EMBER_COMM_LEN];
	uint32_t off; /* nu user addresses then nk kernel ips at pool[off] */
	uint16_t nu, nk;
	uint8_t used;
	uint8_t truncated;
};

struct addr_ent {
	uint64_t addr;
	uint32_t pid; /* KERNEL_PID for kernel addresses */
	uint32_t n;   /* frame ids at ids[off..off+n) */
	uint32_t off;
	uint32_t used;
};

struct prof_collector {
	struct symbolizer *sym;
	struct prof_collector_opts opts;
	struct profile *p;
	struct addr_ent *tab;
	size_t cap, count; /* cap is a power of two */
	uint32_t *ids;
	size_t ids_len, ids_cap;
	uint32_t *stack; /* scratch for one stack */
	size_t stack_cap;
	struct prof_procinfo *procs; /* with opts.proc_facts */
	/* dwarf mode */
	struct unwinder *unw; /* created with the first snapshot */
	struct ustack_ent *utab;
	size_t ucap, ucount; /* ucap is a power of two */
	uint64_t *upool;
	size_t upool_len, upool_cap;
	uint64_t upcs[MAX_UFRAMES];
	uint8_t uflags[MAX_UFRAMES];
	int64_t trunc_frame; /* frame id of "[truncated]" in p; -1 until needed */
	uint64_t truncated;  /* samples whose stack was truncated, cumulative */
};

static uint64_t hash_key(uint32_t pid, uint64_t addr)
{
	uint64_t h = addr ^ ((uint64_t)pid << 32 | pid);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

struct prof_collector *prof_collector__new(struct symbolizer *sym,
					   const struct prof_collector_opts *opts)
{
	struct prof_collector *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->sym = sym;
	c->trunc_frame = -1;
	if (opts)
		c->opts = *opts;
	if (c->opts.proc_facts) {
		c->procs = prof_procinfo__new(NULL);
		if (!c->procs) {
			free(c);
			return NULL;
		}
	}
	return c;
}

void prof_collector__free(struct prof_collector *c)
{
	if (!c)
		return;
	free(c->tab);
	free(c->ids);
	free(c->stack);
	prof_procinfo__free(c->procs);
	unwinder__free(c->unw);
	free(c->utab);
	free(c->upool);
	free(c);
}

static void cache_reset(struct prof_collector *c)
{
	if (c->tab)
		memset(c->tab, 0, c->cap * sizeof(*c->tab));
	c->count = 0;
	c->ids_len = 0;
	c->trunc_frame = -1;
}

void prof_collector__set_profile(struct prof_collector *c, struct profile *p)
{
	/*
	 * Always reset, even for the same pointer: a freed window's successor
	 * may be allocated at the very same address.
	 */
	cache_reset(c);
	c->p = p;
}

static struct addr_ent *slot_for(struct prof_collector *c, uint32_t pid, uint64_t addr)
{
	size_t mask = c->cap - 1, i = hash_key(pid, addr) & mask;

	while (c->tab[i].used && (c->tab[i].pid != pid || c->tab[i].addr != addr))
		i = (i + 1) & mask;
	return &c->tab[i];
}

static int grow_table(struct prof_collector *c)
{
	struct addr_ent *old = c->tab;
	size_t old_cap = c->cap, i;

	c->cap = old_cap ? old_cap * 2 : 4096;
	c->tab = calloc(c->cap, sizeof(*c->tab));
	if (!c->tab) {
		c->tab = old;
		c->cap = old_cap;
		return -ENOMEM;
	}
	for (i = 0; i < old_cap; i++)
		if (old[i].used)
			*slot_for(c, old[i].pid, old[i].addr) = old[i];
	free(old);
	return 0;
}

static int push_ids(struct prof_collector *c, const uint32_t *ids, uint32_t n)
{
	if (c->ids_len + n > c->ids_cap) {
		size_t cap = c->ids_cap ? c->ids_cap * 2 : 8192;
		uint32_t *v;

		while (cap < c->ids_len + n)
			cap *= 2;
		v = realloc(c->ids, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->ids = v;
		c->ids_cap = cap;
	}
	memcpy(c->ids + c->ids_len, ids, n * sizeof(*ids));
	c->ids_len += n;
	return 0;
}

/* Frames of one address, outermost first, from the cache or the symbolizer. */
static int resolve(struct prof_collector *c, uint32_t pid, uint64_t addr, const uint32_t **ids)
{
	uint32_t tmp[MAX_INLINE];
	struct addr_ent *e;
	int n, err;

	if ((c->count + 1) * 2 > c->cap) {
		err = grow_table(c);
		if (err)
			return err;
	}
	e = slot_for(c, pid, addr);
	if (!e->used) {
		if (pid == KERNEL_PID)
			n = symbolizer__kernel(c->sym, c->p, addr, tmp, MAX_INLINE);
		else
			n = symbolizer__user(c->sym, c->p, pid, addr, tmp, MAX_INLINE);
		if (n < 0)
			return n;
		err = push_ids(c, tmp, n);
		if (err)
			return err;
		e->used = 1;
		e->pid = pid;
		e->addr = addr;
		e->n = n;
		e->off = c->ids_len - n;
		c->count++;
	}
	*ids = c->ids + e->off;
	return e->n;
}

static int stack_reserve(struct prof_collector *c, size_t n)
{
	if (n > c->stack_cap) {
		size_t cap = c->stack_cap ? c->stack_cap : 256;
		uint32_t *v;

		while (cap < n)
			cap *= 2;
		v = realloc(c->stack, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->stack = v;
		c->stack_cap = cap;
	}
	return 0;
}

/*
 * Appends the frames of @ips (leaf first) to the scratch stack, root first.
 * With @adjust, return addresses (all but the leaf) point after their call
 * instruction; one byte back lands inside it, so the caller's own line and
 * function are named even when the call was the function's last instruction.
 * Without, the addresses are already the ones to symbolize.
 */
static int append_addrs(struct prof_collector *c, uint32_t pid, const uint64_t *ips, uint32_t n,
			bool adjust, size_t *len)
{
	for (uint32_t i = n; i-- > 0;) {
		uint64_t addr = i && adjust ? ips[i] - 1 : ips[i];
		const uint32_t *ids;
		int k, err;

		k = resolve(c, pid, addr, &ids);
		if (k < 0)
			return k;
		err = stack_reserve(c, *len + k);
		if (err)
			return err;
		memcpy(c->stack + *len, ids, k * sizeof(*ids));
		*len += k;
	}
	return 0;
}

static int append_ips(struct prof_collector *c, uint32_t pid, const uint64_t *ips, uint32_t n,
		      size_t *len)
{
	return append_addrs(c, pid, ips, n, true, len);
}

/* The task id of (@pid, @tid, @comm) in the current profile, or -errno. */
static int64_t task_id(struct prof_collector *c, uint32_t pid, uint32_t tid, const char *comm_s)
{
	struct profile_task t = {};
	int64_t comm;

	comm = profile__intern(c->p, comm_s);
	if (comm < 0)
		return comm;
	t.pid = pid;
	t.tid = c->opts.per_thread ? tid : pid;
	t.comm = comm;
	if (c->procs) {
		const struct prof_proc *pf = prof_procinfo__get(c->procs, pid);
		int64_t exe = profile__intern(c->p, pf->exe);
		int64_t cg = exe < 0 ? exe : profile__intern(c->p, pf->cgroup);

		if (cg < 0)
			return cg;
		t.exe = exe;
		t.cgroup = cg;
		t.start_time = pf->start_time;
	}
	return profile__add_task(c->p, &t);
}

int prof_collector__add(struct prof_collector *c, const struct prof_raw_sample *s)
{
	int64_t task, stack;
	size_t len = 0;
	int err;

	if (!c->p)
		return -EINVAL;
	task = task_id(c, s->pid, s->tid, s->comm);
	if (task < 0)
		return task;

	err = append_ips(c, s->pid, s->uips, s->nu, &len);
	if (!err)
		err = append_ips(c, KERNEL_PID, s->kips, s->nk, &len);
	if (err)
		return err;
	stack = profile__add_stack(c->p, c->stack, len);
	if (stack < 0)
		return stack;
	return profile__add_sample(c->p, stack, task, s->count);
}

void prof_collector__invalidate(struct prof_collector *c, uint32_t pid)
{
	struct addr_ent *old = c->tab;
	size_t i;

	if (c->unw)
		unwinder__forget(c->unw, pid);
	if (!old)
		return;
	/* Rehash the survivors; their ids stay where they are in the pool. */
	c->tab = calloc(c->cap, sizeof(*c->tab));
	if (!c->tab) {
		/* Cannot rebuild: drop everything, which is always correct. */
		c->tab = old;
		cache_reset(c);
		return;
	}
	c->count = 0;
	for (i = 0; i < c->cap; i++) {
		if (old[i].used && old[i].pid != pid) {
			*slot_for(c, old[i].pid, old[i].addr) = old[i];
			c->count++;
		}
	}
	free(old);
}

void prof_collector__forget(struct prof_collector *c, uint32_t pid)
{
	prof_collector__invalidate(c, pid);
	if (c->procs)
		prof_procinfo__forget(c->procs, pid);
}

/* ---- dwarf mode: unwinding and counting snapshots ---------------------- */

static uint64_t hash_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

static uint64_t ustack_hash(uint32_t pid, uint32_t tid, const char *comm, const uint64_t *u,
			    uint32_t nu, const uint64_t *k, uint32_t nk, bool truncated)
{
	uint64_t h = hash_key(pid, tid), w;

	for (int i = 0; i < EMBER_COMM_LEN; i += 8) {
		memcpy(&w, comm + i, 8);
		h = hash_mix(h, w);
	}
	for (uint32_t i = 0; i < nu; i++)
		h = hash_mix(h, u[i]);
	h = hash_mix(h, (uint64_t)nu << 32 | nk << 1 | truncated);
	for (uint32_t i = 0; i < nk; i++)
		h = hash_mix(h, k[i]);
	return hash_key(0, h);
}

static int utab_grow(struct prof_collector *c)
{
	struct ustack_ent *old = c->utab, *n;
	size_t old_cap = c->ucap, cap = old_cap ? old_cap * 2 : 1024, i, j;

	n = calloc(cap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (i = 0; i < old_cap; i++) {
		if (!old[i].used)
			continue;
		for (j = old[i].hash & (cap - 1); n[j].used; j = (j + 1) & (cap - 1))
			;
		n[j] = old[i];
	}
	free(old);
	c->utab = n;
	c->ucap = cap;
	return 0;
}

static int upool_push(struct prof_collector *c, const uint64_t *v, uint32_t n)
{
	if (c->upool_len + n > c->upool_cap) {
		size_t cap = c->upool_cap ? c->upool_cap * 2 : 16384;
		uint64_t *p;

		while (cap < c->upool_len + n)
			cap *= 2;
		p = realloc(c->upool, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->upool = p;
		c->upool_cap = cap;
	}
	memcpy(c->upool + c->upool_len, v, n * sizeof(*v));
	c->upool_len += n;
	return 0;
}

/* Counts one unwound stack; the table's own copy of the arrays is made once. */
static int ustack_count(struct prof_collector *c, const struct prof_ustack *u,
			const uint64_t *addrs, uint32_t nu, bool truncated)
{
	uint32_t tid = c->opts.per_thread ? u->tid : u->pid;
	uint64_t h = ustack_hash(u->pid, tid, u->comm, addrs, nu, u->kips, u->nk, truncated);
	struct ustack_ent *e;
	size_t i;
	int err;

	if ((c->ucount + 1) * 2 > c->ucap) {
		err = utab_grow(c);
		if (err)
			return err;
	}
	for (i = h & (c->ucap - 1);; i = (i + 1) & (c->ucap - 1)) {
		e = &c->utab[i];
		if (!e->used)
			break;
		if (e->hash == h && e->pid == u->pid && e->tid == tid && e->nu == nu &&
		    e->nk == u->nk && e->truncated == truncated &&
		    !memcmp(e->comm, u->comm, EMBER_COMM_LEN) &&
		    !memcmp(c->upool + e->off, addrs, nu * sizeof(*addrs)) &&
		    !memcmp(c->upool + e->off + nu, u->kips, u->nk * sizeof(*u->kips))) {
			e->count++;
			return 0;
		}
	}
	if (c->upool_len + nu + u->nk > UINT32_MAX)
		return -ENOMEM;
	e->off = c->upool_len;
	err = upool_push(c, addrs, nu);
	if (!err)
		err = upool_push(c, u->kips, u->nk);
	if (err) {
		c->upool_len = e->off;
		return err;
	}
	e->hash = h;
	e->count = 1;
	e->pid = u->pid;
	e->tid = tid;
	memcpy(e->comm, u->comm, EMBER_COMM_LEN);
	e->nu = nu;
	e->nk = u->nk;
	e->truncated = truncated;
	e->used = 1;
	c->ucount++;
	return 0;
}

int prof_collector__add_ustack(struct prof_collector *c, const struct prof_ustack *u)
{
	struct unwinder_sample in = {
		.pid = u->pid,
		.ip = u->ip,
		.sp = u->sp,
		.bp = u->bp,
		.stack = u->stack,
		.stack_len = u->stack_len,
		.stack_full = u->stack_len >= u->stack_size,
	};
	struct unwinder_stack out = {
		.pcs = c->upcs,
		.flags = c->uflags,
		.max = MAX_UFRAMES,
	};
	bool truncated;
	int err;

	if (!c->unw) {
		c->unw = unwinder__new(c->sym, NULL);
		if (!c->unw)
			return -errno;
	}
	err = unwinder__unwind(c->unw, &in, &out);
	if (err)
		return err;
	/* Addresses to symbolize: a return address names its call at address - 1. */
	for (uint32_t i = 0; i < out.n; i++)
		if (!(out.flags[i] & UNWINDER_FRAME_EXACT))
			c->upcs[i]--;
	truncated = out.end == UNWINDER_END_TRUNCATED;
	if (truncated)
		c->truncated++;
	return ustack_count(c, u, c->upcs, out.n, truncated);
}

int prof_collector__ustack_fn(const struct prof_ustack *u, void *ctx)
{
	return prof_collector__add_ustack(ctx, u);
}

/* The id of the "[truncated]" frame in the current profile, or -errno. */
static int64_t truncated_frame(struct prof_collector *c)
{
	struct profile_frame f = {.kind = PROFILE_FRAME_SPECIAL};
	int64_t name;

	if (c->trunc_frame >= 0)
		return c->trunc_frame;
	name = profile__intern(c->p, TRUNCATED_NAME);
	if (name < 0)
		return name;
	f.name = name;
	c->trunc_frame = profile__add_frame(c->p, &f);
	return c->trunc_frame;
}

/* Symbolizes one counted stack into the current profile. */
static int ustack_emit(struct prof_collector *c, const struct ustack_ent *e)
{
	int64_t task, stack, tf;
	size_t len = 0;
	int err;

	task = task_id(c, e->pid, e->tid, e->comm);
	if (task < 0)
		return task;
	if (e->truncated) {
		tf = truncated_frame(c);
		if (tf < 0)
			return tf;
		err = stack_reserve(c, 1);
		if (err)
			return err;
		c->stack[len++] = tf;
	}
	err = append_addrs(c, e->pid, c->upool + e->off, e->nu, false, &len);
	if (!err)
		err = append_ips(c, KERNEL_PID, c->upool + e->off + e->nu, e->nk, &len);
	if (err)
		return err;
	stack = profile__add_stack(c->p, c->stack, len);
	if (stack < 0)
		return stack;
	return profile__add_sample(c->p, stack, task, e->count);
}

int prof_collector__flush(struct prof_collector *c)
{
	int err = 0;

	if (!c->ucount)
		return 0;
	if (!c->p)
		return -EINVAL;
	for (size_t i = 0; i < c->ucap && !err; i++)
		if (c->utab[i].used)
			err = ustack_emit(c, &c->utab[i]);
	/* Emptied even on error: a half-flushed table cannot be told apart. */
	memset(c->utab, 0, c->ucap * sizeof(*c->utab));
	c->ucount = 0;
	c->upool_len = 0;
	return err;
}

void prof_collector__lost(const struct prof_collector *c, struct profile_lost *l)
{
	l->truncated += c->truncated;
}

void prof_collector__unwind_stats(const struct prof_collector *c, struct unwinder_stats *out)
{
	if (c->unw)
		unwinder__stats(c->unw, out);
	else
		memset(out, 0, sizeof(*out));
}

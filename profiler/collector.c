/*
 * The collector turns drained raw samples into the profile model: one task
 * per (pid, tid, comm), one stack per unique frame sequence. Every unique
 * address is symbolized once per profile and cached, so a hot stack seen in
 * every drain costs hash lookups, not symbol lookups.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ember/profile.h"
#include "ember/profiler.h"
#include "ember/symbolizer.h"
#include "procinfo.h"

#define KERNEL_PID UINT32_MAX
#define MAX_INLINE 32 /* frames one address may expand to */

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
	free(c);
}

static void cache_reset(struct prof_collector *c)
{
	if (c->tab)
		memset(c->tab, 0, c->cap * sizeof(*c->tab));
	c->count = 0;
	c->ids_len = 0;
}

void prof_collector__set_profile(struct prof_collector *c, struct profile *p)
{
	if (c->p != p)
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
 * Return addresses (all but the leaf) point after their call instruction;
 * one byte back lands inside it, so the caller's own line and function are
 * named even when the call was the function's last instruction.
 */
static int append_ips(struct prof_collector *c, uint32_t pid, const uint64_t *ips, uint32_t n,
		      size_t *len)
{
	for (uint32_t i = n; i-- > 0;) {
		uint64_t addr = i ? ips[i] - 1 : ips[i];
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

int prof_collector__add(struct prof_collector *c, const struct prof_raw_sample *s)
{
	struct profile_task t = {};
	int64_t comm, task, stack;
	size_t len = 0;
	int err;

	if (!c->p)
		return -EINVAL;
	comm = profile__intern(c->p, s->comm);
	if (comm < 0)
		return comm;
	t.pid = s->pid;
	t.tid = c->opts.per_thread ? s->tid : s->pid;
	t.comm = comm;
	if (c->procs) {
		const struct prof_proc *pf = prof_procinfo__get(c->procs, s->pid);
		int64_t exe = profile__intern(c->p, pf->exe);
		int64_t cg = exe < 0 ? exe : profile__intern(c->p, pf->cgroup);

		if (cg < 0)
			return cg;
		t.exe = exe;
		t.cgroup = cg;
		t.start_time = pf->start_time;
	}
	task = profile__add_task(c->p, &t);
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

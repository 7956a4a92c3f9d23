/*
 * The profile model (include/ember/profile.h): interned strings, deduplicated
 * frames, stacks and tasks, and samples aggregated by (stack, task).
 *
 * Every table is a dense array indexed by id plus an open-addressing hash
 * index (hash.h) for deduplication. String bytes live in a chunked arena so
 * string pointers never move; stack frame ids live in one pool array.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ember/profile.h"
#include "ember/idhash.h"

/* Ids must stay below IDHASH_EMPTY. */
#define PROF_MAX_IDS	((size_t)UINT32_MAX - 1)
#define PROF_CHUNK_SIZE (64 * 1024)

struct prof_str {
	const char *s; /* NUL-terminated, in the arena */
	size_t len;
};

struct prof_chunk {
	struct prof_chunk *next;
	size_t used;
	size_t cap;
	char data[];
};

struct prof_stack {
	size_t off; /* index of the first frame id in the pool */
	uint32_t n;
};

struct profile {
	uint64_t serial;
	struct prof_str *strs;
	size_t nr_strs, cap_strs;
	struct idhash str_index;
	struct prof_chunk *chunks; /* newest first */

	struct profile_frame *frames;
	size_t nr_frames, cap_frames;
	struct idhash frame_index;

	struct prof_stack *stacks;
	size_t nr_stacks, cap_stacks;
	uint32_t *pool;
	size_t pool_len, pool_cap;
	struct idhash stack_index;

	struct profile_task *tasks;
	size_t nr_tasks, cap_tasks;
	struct idhash task_index;

	struct profile_sample *samples;
	size_t nr_samples, cap_samples;
	struct idhash sample_index;

	uint32_t *build_ids; /* module string id -> build id string id; 0 = none */
	size_t cap_build_ids;

	uint64_t total;
	struct profile_meta meta;
};

static const uint32_t empty_stack[1];
static _Atomic uint64_t next_serial;

/* Makes room for @need elements of @size bytes in *@arr (capacity *@cap). */
static int array__reserve(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 16;
	void *narr;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / size)
		return -ENOMEM;
	narr = realloc(*arr, ncap * size);
	if (!narr)
		return -ENOMEM;
	*arr = narr;
	*cap = ncap;
	return 0;
}

struct profile *profile__new(void)
{
	struct profile *p;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->serial = atomic_fetch_add(&next_serial, 1) + 1;
	idhash__init(&p->str_index);
	idhash__init(&p->frame_index);
	idhash__init(&p->stack_index);
	idhash__init(&p->task_index);
	idhash__init(&p->sample_index);
	if (profile__intern_n(p, "", 0) != 0) {
		profile__free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void profile__free(struct profile *p)
{
	struct prof_chunk *c, *next;

	if (!p)
		return;
	idhash__exit(&p->sample_index);
	free(p->samples);
	idhash__exit(&p->task_index);
	free(p->tasks);
	idhash__exit(&p->stack_index);
	free(p->pool);
	free(p->stacks);
	idhash__exit(&p->frame_index);
	free(p->frames);
	idhash__exit(&p->str_index);
	for (c = p->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(p->strs);
	free(p->build_ids);
	free(p);
}

/* Copies @len bytes of @s plus a NUL into the arena; NULL when out of memory. */
static const char *profile__arena_copy(struct profile *p, const char *s, size_t len)
{
	struct prof_chunk *c = p->chunks;
	size_t cap;
	char *dst;

	if (len >= SIZE_MAX - sizeof(*c) - PROF_CHUNK_SIZE)
		return NULL;
	if (!c || c->cap - c->used < len + 1) {
		cap = len + 1 > PROF_CHUNK_SIZE ? len + 1 : PROF_CHUNK_SIZE;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		/* Keep a partly used chunk current when the new one is a big one-off. */
		if (p->chunks && cap > PROF_CHUNK_SIZE) {
			c->next = p->chunks->next;
			p->chunks->next = c;
		} else {
			c->next = p->chunks;
			p->chunks = c;
		}
	}
	dst = c->data + c->used;
	if (len)
		memcpy(dst, s, len);
	dst[len] = '\0';
	c->used += len + 1;
	return dst;
}

struct str_key {
	const char *s;
	size_t len;
};

static bool str__eq(const void *ctx, uint32_t id, const void *key)
{
	const struct profile *p = ctx;
	const struct str_key *k = key;

	return p->strs[id].len == k->len && (!k->len || !memcmp(p->strs[id].s, k->s, k->len));
}

int64_t profile__intern_n(struct profile *p, const char *s, size_t len)
{
	struct str_key key = {.s = s, .len = len};
	uint32_t hash, id;
	const char *copy;
	int err;

	if (!s && len)
		return -EINVAL;
	hash = (uint32_t)idhash__bytes(s, len);
	id = idhash__find(&p->str_index, hash, str__eq, p, &key);
	if (id != IDHASH_EMPTY)
		return id;

	if (p->nr_strs >= PROF_MAX_IDS)
		return -E2BIG;
	err = idhash__reserve(&p->str_index);
	if (err)
		return err;
	err = array__reserve((void **)&p->strs, &p->cap_strs, p->nr_strs + 1, sizeof(*p->strs));
	if (err)
		return err;
	copy = profile__arena_copy(p, s, len);
	if (!copy)
		return -ENOMEM;
	id = p->nr_strs++;
	p->strs[id].s = copy;
	p->strs[id].len = len;
	idhash__insert(&p->str_index, hash, id);
	return id;
}

int64_t profile__intern(struct profile *p, const char *s)
{
	if (!s)
		return -EINVAL;
	return profile__intern_n(p, s, strlen(s));
}

uint64_t profile__serial(const struct profile *p)
{
	return p->serial;
}

const char *profile__str(const struct profile *p, uint32_t id)
{
	if (id >= p->nr_strs)
		return "";
	return p->strs[id].s;
}

uint32_t profile__str_count(const struct profile *p)
{
	return p->nr_strs;
}

static uint32_t frame__hash(const struct profile_frame *f)
{
	uint64_t h = 0;

	h = idhash__add(h, f->name);
	h = idhash__add(h, ((uint64_t)f->module << 32) | f->file);
	h = idhash__add(h, ((uint64_t)f->line << 32) | f->kind);
	h = idhash__add(h, f->addr);
	return (uint32_t)idhash__fmix(h);
}

static bool frame__eq(const void *ctx, uint32_t id, const void *key)
{
	const struct profile_frame *a = &((const struct profile *)ctx)->frames[id];
	const struct profile_frame *b = key;

	return a->name == b->name && a->module == b->module && a->file == b->file &&
	       a->line == b->line && a->addr == b->addr && a->kind == b->kind &&
	       a->start_line == b->start_line;
}

int64_t profile__add_frame(struct profile *p, const struct profile_frame *f)
{
	struct profile_frame key;
	uint32_t hash, id;
	int err;

	if (!f)
		return -EINVAL;
	key = *f;
	if (key.name >= p->nr_strs || key.module >= p->nr_strs || key.file >= p->nr_strs)
		return -EINVAL;
	hash = frame__hash(&key);
	id = idhash__find(&p->frame_index, hash, frame__eq, p, &key);
	if (id != IDHASH_EMPTY)
		return id;

	if (p->nr_frames >= PROF_MAX_IDS)
		return -E2BIG;
	err = idhash__reserve(&p->frame_index);
	if (err)
		return err;
	err = array__reserve((void **)&p->frames, &p->cap_frames, p->nr_frames + 1,
			     sizeof(*p->frames));
	if (err)
		return err;
	id = p->nr_frames++;
	p->frames[id] = key;
	idhash__insert(&p->frame_index, hash, id);
	return id;
}

const struct profile_frame *profile__frame(const struct profile *p, uint32_t id)
{
	if (id >= p->nr_frames)
		return NULL;
	return &p->frames[id];
}

uint32_t profile__frame_count(const struct profile *p)
{
	return p->nr_frames;
}

struct stack_key {
	const uint32_t *frames;
	uint32_t n;
};

static bool stack__eq(const void *ctx, uint32_t id, const void *key)
{
	const struct profile *p = ctx;
	const struct stack_key *k = key;
	const struct prof_stack *s = &p->stacks[id];

	if (s->n != k->n)
		return false;
	return !k->n || !memcmp(p->pool + s->off, k->frames, (size_t)k->n * sizeof(uint32_t));
}

/* Appends @n frame ids to the pool; @frames may point into the pool itself. */
static int profile__pool_append(struct profile *p, const uint32_t *frames, uint32_t n)
{
	uintptr_t at = (uintptr_t)frames, base = (uintptr_t)p->pool;
	bool inside = p->pool && at >= base && at < base + p->pool_len * sizeof(uint32_t);
	size_t off = inside ? (size_t)(frames - p->pool) : 0;
	int err;

	if (!n)
		return 0;
	if (p->pool_len > SIZE_MAX - n)
		return -ENOMEM;
	err = array__reserve((void **)&p->pool, &p->pool_cap, p->pool_len + n, sizeof(*p->pool));
	if (err)
		return err;
	if (inside)
		frames = p->pool + off;
	memcpy(p->pool + p->pool_len, frames, (size_t)n * sizeof(uint32_t));
	p->pool_len += n;
	return 0;
}

int64_t profile__add_stack(struct profile *p, const uint32_t *frames, uint32_t n)
{
	struct stack_key key = {.frames = frames, .n = n};
	uint32_t hash, id, i;
	size_t off;
	int err;

	if (n && !frames)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (frames[i] >= p->nr_frames)
			return -EINVAL;
	}
	hash = (uint32_t)idhash__bytes(frames, (size_t)n * sizeof(uint32_t));
	id = idhash__find(&p->stack_index, hash, stack__eq, p, &key);
	if (id != IDHASH_EMPTY)
		return id;

	if (p->nr_stacks >= PROF_MAX_IDS)
		return -E2BIG;
	err = idhash__reserve(&p->stack_index);
	if (err)
		return err;
	err = array__reserve((void **)&p->stacks, &p->cap_stacks, p->nr_stacks + 1,
			     sizeof(*p->stacks));
	if (err)
		return err;
	off = p->pool_len;
	err = profile__pool_append(p, frames, n);
	if (err)
		return err;
	id = p->nr_stacks++;
	p->stacks[id].off = off;
	p->stacks[id].n = n;
	idhash__insert(&p->stack_index, hash, id);
	return id;
}

const uint32_t *profile__stack(const struct profile *p, uint32_t id, uint32_t *n)
{
	if (id >= p->nr_stacks) {
		if (n)
			*n = 0;
		return NULL;
	}
	if (n)
		*n = p->stacks[id].n;
	if (!p->stacks[id].n)
		return empty_stack;
	return p->pool + p->stacks[id].off;
}

uint32_t profile__stack_count(const struct profile *p)
{
	return p->nr_stacks;
}

static uint32_t task__hash(const struct profile_task *t)
{
	uint64_t h = 0;

	h = idhash__add(h, ((uint64_t)t->pid << 32) | t->tid);
	h = idhash__add(h, ((uint64_t)t->comm << 32) | t->exe);
	h = idhash__add(h, t->cgroup);
	h = idhash__add(h, t->start_time);
	return (uint32_t)idhash__fmix(h);
}

static bool task__eq(const void *ctx, uint32_t id, const void *key)
{
	const struct profile_task *a = &((const struct profile *)ctx)->tasks[id];
	const struct profile_task *b = key;

	return a->pid == b->pid && a->tid == b->tid && a->comm == b->comm && a->exe == b->exe &&
	       a->cgroup == b->cgroup && a->start_time == b->start_time;
}

int64_t profile__add_task(struct profile *p, const struct profile_task *t)
{
	struct profile_task key;
	uint32_t hash, id;
	int err;

	if (!t)
		return -EINVAL;
	key = *t;
	key._pad = 0;
	if (key.comm >= p->nr_strs || key.exe >= p->nr_strs || key.cgroup >= p->nr_strs)
		return -EINVAL;
	hash = task__hash(&key);
	id = idhash__find(&p->task_index, hash, task__eq, p, &key);
	if (id != IDHASH_EMPTY)
		return id;

	if (p->nr_tasks >= PROF_MAX_IDS)
		return -E2BIG;
	err = idhash__reserve(&p->task_index);
	if (err)
		return err;
	err = array__reserve((void **)&p->tasks, &p->cap_tasks, p->nr_tasks + 1, sizeof(*p->tasks));
	if (err)
		return err;
	id = p->nr_tasks++;
	p->tasks[id] = key;
	idhash__insert(&p->task_index, hash, id);
	return id;
}

const struct profile_task *profile__task(const struct profile *p, uint32_t id)
{
	if (id >= p->nr_tasks)
		return NULL;
	return &p->tasks[id];
}

uint32_t profile__task_count(const struct profile *p)
{
	return p->nr_tasks;
}

static bool sample__eq(const void *ctx, uint32_t id, const void *key)
{
	const struct profile_sample *a = &((const struct profile *)ctx)->samples[id];
	const struct profile_sample *b = key;

	return a->stack == b->stack && a->task == b->task;
}

/*
 * A count of 0 adds nothing (no entry is created), so every aggregated sample
 * has a count of at least 1.
 */
int profile__add_sample(struct profile *p, uint32_t stack, uint32_t task, uint64_t count)
{
	struct profile_sample key = {.stack = stack, .task = task, .count = count};
	uint32_t hash, id;
	int err;

	if (stack >= p->nr_stacks || task >= p->nr_tasks)
		return -EINVAL;
	if (!count)
		return 0;
	if (p->total > UINT64_MAX - count)
		return -EOVERFLOW;
	hash = (uint32_t)idhash__fmix(((uint64_t)stack << 32) | task);
	id = idhash__find(&p->sample_index, hash, sample__eq, p, &key);
	if (id != IDHASH_EMPTY) {
		/* Cannot overflow: the total already holds this sample's count. */
		p->samples[id].count += count;
		p->total += count;
		return 0;
	}

	if (p->nr_samples >= PROF_MAX_IDS)
		return -E2BIG;
	err = idhash__reserve(&p->sample_index);
	if (err)
		return err;
	err = array__reserve((void **)&p->samples, &p->cap_samples, p->nr_samples + 1,
			     sizeof(*p->samples));
	if (err)
		return err;
	id = p->nr_samples++;
	p->samples[id] = key;
	p->total += count;
	idhash__insert(&p->sample_index, hash, id);
	return 0;
}

const struct profile_sample *profile__samples(const struct profile *p, size_t *n)
{
	if (n)
		*n = p->nr_samples;
	return p->samples;
}

uint64_t profile__total(const struct profile *p)
{
	return p->total;
}

struct profile_meta *profile__meta(struct profile *p)
{
	return &p->meta;
}

const struct profile_meta *profile__meta_c(const struct profile *p)
{
	return &p->meta;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void meta__merge(struct profile_meta *dst, const struct profile_meta *src)
{
	struct profile_lost *dl = &dst->lost;
	const struct profile_lost *sl = &src->lost;

	if (src->start_ns && (!dst->start_ns || src->start_ns < dst->start_ns))
		dst->start_ns = src->start_ns;
	if (src->end_ns > dst->end_ns)
		dst->end_ns = src->end_ns;
	if (!dst->freq_hz)
		dst->freq_hz = src->freq_hz;
	if (!dst->period_ns)
		dst->period_ns = src->period_ns;
	dl->samples = sat_add(dl->samples, sl->samples);
	dl->kstack_errors = sat_add(dl->kstack_errors, sl->kstack_errors);
	dl->ustack_errors = sat_add(dl->ustack_errors, sl->ustack_errors);
	dl->stack_collisions = sat_add(dl->stack_collisions, sl->stack_collisions);
	dl->stack_map_full = sat_add(dl->stack_map_full, sl->stack_map_full);
	dl->count_map_full = sat_add(dl->count_map_full, sl->count_map_full);
	dl->ringbuf_full = sat_add(dl->ringbuf_full, sl->ringbuf_full);
	dl->truncated = sat_add(dl->truncated, sl->truncated);
}

/* Fills @map (src string id -> dst string id) for every string of @src. */
static int merge__strings(struct profile *dst, const struct profile *src, uint32_t *map)
{
	size_t i, n = src->nr_strs;
	int64_t id;

	for (i = 0; i < n; i++) {
		id = profile__intern_n(dst, src->strs[i].s, src->strs[i].len);
		if (id < 0)
			return (int)id;
		map[i] = (uint32_t)id;
	}
	return 0;
}

static int merge__frames(struct profile *dst, const struct profile *src, const uint32_t *smap,
			 uint32_t *map)
{
	size_t i, n = src->nr_frames;
	struct profile_frame f;
	int64_t id;

	for (i = 0; i < n; i++) {
		f = src->frames[i];
		f.name = smap[f.name];
		f.module = smap[f.module];
		f.file = smap[f.file];
		id = profile__add_frame(dst, &f);
		if (id < 0)
			return (int)id;
		map[i] = (uint32_t)id;
	}
	return 0;
}

static int merge__tasks(struct profile *dst, const struct profile *src, const uint32_t *smap,
			uint32_t *map)
{
	size_t i, n = src->nr_tasks;
	struct profile_task t;
	int64_t id;

	for (i = 0; i < n; i++) {
		t = src->tasks[i];
		t.comm = smap[t.comm];
		t.exe = smap[t.exe];
		t.cgroup = smap[t.cgroup];
		id = profile__add_task(dst, &t);
		if (id < 0)
			return (int)id;
		map[i] = (uint32_t)id;
	}
	return 0;
}

static int merge__stacks(struct profile *dst, const struct profile *src, const uint32_t *fmap,
			 uint32_t *map)
{
	size_t i, n = src->nr_stacks, buf_cap = 0;
	uint32_t *buf = NULL;
	uint32_t j, depth;
	int64_t id;
	int err = 0;

	for (i = 0; i < n; i++) {
		depth = src->stacks[i].n;
		err = array__reserve((void **)&buf, &buf_cap, depth, sizeof(*buf));
		if (err)
			goto out_free;
		for (j = 0; j < depth; j++)
			buf[j] = fmap[src->pool[src->stacks[i].off + j]];
		id = profile__add_stack(dst, buf, depth);
		if (id < 0) {
			err = (int)id;
			goto out_free;
		}
		map[i] = (uint32_t)id;
	}
out_free:
	free(buf);
	return err;
}

/*
 * On error @dst may already hold part of @src; callers that need all or
 * nothing merge into a scratch profile first.
 */
int profile__set_build_id(struct profile *p, uint32_t module, uint32_t build_id)
{
	size_t cap = p->cap_build_ids;
	int err;

	if (!module || module >= p->nr_strs || !build_id || build_id >= p->nr_strs)
		return -EINVAL;
	if (module < p->cap_build_ids && p->build_ids[module])
		return 0;
	err = array__reserve((void **)&p->build_ids, &cap, (size_t)module + 1,
			     sizeof(*p->build_ids));
	if (err)
		return err;
	memset(p->build_ids + p->cap_build_ids, 0,
	       (cap - p->cap_build_ids) * sizeof(*p->build_ids));
	p->cap_build_ids = cap;
	p->build_ids[module] = build_id;
	return 0;
}

uint32_t profile__build_id(const struct profile *p, uint32_t module)
{
	return module < p->cap_build_ids ? p->build_ids[module] : 0;
}

static int merge__build_ids(struct profile *dst, const struct profile *src, const uint32_t *smap)
{
	size_t i, n = src->cap_build_ids;
	int err;

	for (i = 0; i < n; i++) {
		if (!src->build_ids[i])
			continue;
		err = profile__set_build_id(dst, smap[i], smap[src->build_ids[i]]);
		if (err)
			return err;
	}
	return 0;
}

int profile__merge(struct profile *dst, const struct profile *src)
{
	uint32_t *smap, *fmap, *tmap, *stmap;
	size_t i, nr_samples;
	int err;

	smap = calloc(src->nr_strs ? src->nr_strs : 1, sizeof(*smap));
	if (!smap)
		return -ENOMEM;
	fmap = calloc(src->nr_frames ? src->nr_frames : 1, sizeof(*fmap));
	if (!fmap) {
		err = -ENOMEM;
		goto out_free_smap;
	}
	tmap = calloc(src->nr_tasks ? src->nr_tasks : 1, sizeof(*tmap));
	if (!tmap) {
		err = -ENOMEM;
		goto out_free_fmap;
	}
	stmap = calloc(src->nr_stacks ? src->nr_stacks : 1, sizeof(*stmap));
	if (!stmap) {
		err = -ENOMEM;
		goto out_free_tmap;
	}

	err = merge__strings(dst, src, smap);
	if (err)
		goto out_free_stmap;
	err = merge__frames(dst, src, smap, fmap);
	if (err)
		goto out_free_stmap;
	err = merge__tasks(dst, src, smap, tmap);
	if (err)
		goto out_free_stmap;
	err = merge__stacks(dst, src, fmap, stmap);
	if (err)
		goto out_free_stmap;
	err = merge__build_ids(dst, src, smap);
	if (err)
		goto out_free_stmap;

	/* Fixed bound: merging a profile into itself must not chase its own appends. */
	nr_samples = src->nr_samples;
	for (i = 0; i < nr_samples; i++) {
		err = profile__add_sample(dst, stmap[src->samples[i].stack],
					  tmap[src->samples[i].task], src->samples[i].count);
		if (err)
			goto out_free_stmap;
	}
	meta__merge(&dst->meta, &src->meta);

out_free_stmap:
	free(stmap);
out_free_tmap:
	free(tmap);
out_free_fmap:
	free(fmap);
out_free_smap:
	free(smap);
	return err;
}

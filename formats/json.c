/*
 * The flamegraph payload: ember's own JSON tree format, written by `-f json`
 * and served by the web API (docs/api.md), and the tree behind it
 * (include/ember/web.h).
 *
 * The tree is built once per profile: frames are merged into functions by
 * (name, module, kind), each sample walks root -> process name -> frames,
 * and the top table counts every function once per sample (recursion is not
 * counted twice). Only then is the tree cut to the node budget: nodes are
 * kept heaviest first, a parent always before its children, and what a kept
 * node loses goes into one "[other]" child, so widths stay exact.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/formats.h"
#include "ember/mem.h"
#include "ember/profile.h"
#include "json_int.h"

#define NONE UINT32_MAX

/* A node while building. */
struct bnode {
	uint32_t parent;
	uint32_t func; /* frame id in the tree's function table */
	uint32_t first_child;
	uint32_t next_sibling;
	uint32_t depth;
	uint32_t nr_children;
	uint64_t total, self, base_total, base_self;
};

struct func_stats {
	uint64_t self, total, base_self, base_total;
	uint32_t stamp;
};

struct fmt_tree {
	/* Strings and functions: a scratch profile's string and frame tables. */
	struct profile *tab;
	struct func_stats *funcs;
	size_t nr_funcs, cap_funcs;
	uint32_t stamp;

	struct bnode *b;
	size_t nr_b, cap_b;
	uint32_t *slots; /* (parent, func) -> node, open addressing */
	size_t cap_slots;

	struct fmt_tree_node *out; /* every level, in order */
	size_t nr_out;
	size_t *level_start; /* depth + 1 entries */
	uint32_t depth;

	struct fmt_tree_func *top;
	size_t nr_top;
	bool diff;
	bool truncated;
};

/* Per input profile: its ids mapped into the tree, filled lazily. */
struct src_map {
	const struct profile *p;
	uint32_t *strs;
	uint32_t *frames;    /* frame id -> function */
	uint32_t *comms;     /* task id -> process-name node under the root */
	uint32_t *leaf;	     /* stack id -> last leaf node ... */
	uint32_t *leaf_comm; /* ... and the process node it was reached from */
};

static uint64_t mix64(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 33;
	v *= 0xc4ceb9fe1a85ec53ULL;
	v ^= v >> 33;
	return v;
}

/* ---- strings and functions --------------------------------------------- */

static int64_t map_str(struct fmt_tree *t, struct src_map *m, uint32_t id)
{
	int64_t r;

	if (id >= profile__str_count(m->p))
		id = 0;
	if (m->strs[id] != NONE)
		return m->strs[id];
	r = profile__intern(t->tab, profile__str(m->p, id));
	if (r >= 0)
		m->strs[id] = (uint32_t)r;
	return r;
}

/* The function id of (@name, @module, @kind), with its stats slot. */
static int64_t add_func(struct fmt_tree *t, uint32_t name, uint32_t module, uint32_t kind)
{
	struct profile_frame f = {.name = name, .module = module, .kind = kind};
	int64_t id = profile__add_frame(t->tab, &f);
	int err;

	if (id < 0)
		return id;
	if ((size_t)id >= t->nr_funcs) {
		err = mem__grow((void **)&t->funcs, &t->cap_funcs, (size_t)id + 1,
				sizeof(*t->funcs));
		if (err)
			return err;
		memset(&t->funcs[t->nr_funcs], 0,
		       ((size_t)id + 1 - t->nr_funcs) * sizeof(*t->funcs));
		t->nr_funcs = (size_t)id + 1;
	}
	return id;
}

static int64_t map_frame(struct fmt_tree *t, struct src_map *m, uint32_t id)
{
	const struct profile_frame *f;
	int64_t name, module, func;
	uint32_t kind;

	if (m->frames[id] != NONE)
		return m->frames[id];
	f = profile__frame(m->p, id);
	name = map_str(t, m, f->name);
	if (name < 0)
		return name;
	module = map_str(t, m, f->module);
	if (module < 0)
		return module;
	kind = f->kind <= PROFILE_FRAME_SPECIAL ? f->kind : FMT_TREE_SPECIAL;
	if (!*profile__str(t->tab, (uint32_t)name)) {
		name = profile__intern(t->tab, "[unknown]");
		if (name < 0)
			return name;
	}
	func = add_func(t, (uint32_t)name, (uint32_t)module, kind);
	if (func >= 0)
		m->frames[id] = (uint32_t)func;
	return func;
}

/* ---- building ------------------------------------------------------------ */

static uint32_t slot_of(uint32_t parent, uint32_t func, size_t mask)
{
	return (uint32_t)(mix64(((uint64_t)parent << 32) | func) & mask);
}

static int rehash(struct fmt_tree *t)
{
	size_t cap = t->cap_slots ? t->cap_slots * 2 : 1024, i, s;
	uint32_t *slots;

	if (cap > SIZE_MAX / sizeof(*slots))
		return -ENOMEM;
	slots = malloc(cap * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	memset(slots, 0xff, cap * sizeof(*slots));
	for (i = 1; i < t->nr_b; i++) {
		s = slot_of(t->b[i].parent, t->b[i].func, cap - 1);
		while (slots[s] != NONE)
			s = (s + 1) & (cap - 1);
		slots[s] = (uint32_t)i;
	}
	free(t->slots);
	t->slots = slots;
	t->cap_slots = cap;
	return 0;
}

static int64_t new_node(struct fmt_tree *t, uint32_t parent, uint32_t func)
{
	struct bnode *n;
	int err;

	if (t->nr_b >= NONE - 1)
		return -E2BIG;
	err = mem__grow((void **)&t->b, &t->cap_b, t->nr_b + 1, sizeof(*t->b));
	if (err)
		return err;
	n = &t->b[t->nr_b];
	memset(n, 0, sizeof(*n));
	n->parent = parent;
	n->func = func;
	n->first_child = NONE;
	n->next_sibling = NONE;
	if (t->nr_b) {
		n->depth = t->b[parent].depth + 1;
		n->next_sibling = t->b[parent].first_child;
		t->b[parent].first_child = (uint32_t)t->nr_b;
		t->b[parent].nr_children++;
	}
	return (int64_t)t->nr_b++;
}

/* The child of @parent for @func, created if missing. */
static int64_t child(struct fmt_tree *t, uint32_t parent, uint32_t func)
{
	size_t s;
	int64_t id;
	int err;

	if (2 * (t->nr_b + 1) > t->cap_slots) {
		err = rehash(t);
		if (err)
			return err;
	}
	s = slot_of(parent, func, t->cap_slots - 1);
	while (t->slots[s] != NONE) {
		const struct bnode *n = &t->b[t->slots[s]];

		if (n->parent == parent && n->func == func)
			return t->slots[s];
		s = (s + 1) & (t->cap_slots - 1);
	}
	id = new_node(t, parent, func);
	if (id >= 0)
		t->slots[s] = (uint32_t)id;
	return id;
}

static int64_t comm_node(struct fmt_tree *t, struct src_map *m, uint32_t task)
{
	const struct profile_task *tk;
	int64_t name, func, node;

	if (m->comms[task] != NONE)
		return m->comms[task];
	tk = profile__task(m->p, task);
	name = map_str(t, m, tk->comm);
	if (name < 0)
		return name;
	if (!*profile__str(t->tab, (uint32_t)name)) {
		name = profile__intern(t->tab, "[unknown]");
		if (name < 0)
			return name;
	}
	func = add_func(t, (uint32_t)name, 0, FMT_TREE_COMM);
	if (func < 0)
		return func;
	node = child(t, 0, (uint32_t)func);
	if (node >= 0)
		m->comms[task] = (uint32_t)node;
	return node;
}

/* The leaf node of (@task's process, @stack), walking the tree once per pair. */
static int64_t leaf_node(struct fmt_tree *t, struct src_map *m, uint32_t stack, uint32_t task)
{
	const uint32_t *frames;
	int64_t node, comm, func;
	uint32_t n, i;

	comm = comm_node(t, m, task);
	if (comm < 0)
		return comm;
	if (m->leaf[stack] != NONE && m->leaf_comm[stack] == comm)
		return m->leaf[stack];
	frames = profile__stack(m->p, stack, &n);
	node = comm;
	for (i = 0; i < n && frames; i++) {
		func = map_frame(t, m, frames[i]);
		if (func < 0)
			return func;
		node = child(t, (uint32_t)node, (uint32_t)func);
		if (node < 0)
			return node;
	}
	m->leaf[stack] = (uint32_t)node;
	m->leaf_comm[stack] = (uint32_t)comm;
	return node;
}

static void next_stamp(struct fmt_tree *t)
{
	size_t i;

	if (++t->stamp)
		return;
	for (i = 0; i < t->nr_funcs; i++)
		t->funcs[i].stamp = 0;
	t->stamp = 1;
}

/* Adds @count samples ending at @leaf to the nodes and the functions on its path. */
static void account(struct fmt_tree *t, uint32_t leaf, uint64_t count, bool base)
{
	struct func_stats *fs;
	struct bnode *n;
	uint32_t id = leaf;

	next_stamp(t);
	if (t->b[leaf].depth >= 2) {
		fs = &t->funcs[t->b[leaf].func];
		fs->self += count;
		if (base)
			fs->base_self += count;
	}
	t->b[leaf].self += count;
	if (base)
		t->b[leaf].base_self += count;
	for (;;) {
		n = &t->b[id];
		n->total += count;
		if (base)
			n->base_total += count;
		if (n->depth >= 2) {
			fs = &t->funcs[n->func];
			if (fs->stamp != t->stamp) {
				fs->stamp = t->stamp;
				fs->total += count;
				if (base)
					fs->base_total += count;
			}
		}
		if (!id)
			break;
		id = n->parent;
	}
}

static void src_map__free(struct src_map *m)
{
	free(m->strs);
	free(m->frames);
	free(m->comms);
	free(m->leaf);
	free(m->leaf_comm);
}

static uint32_t *alloc_none(size_t n)
{
	uint32_t *v = malloc((n + 1) * sizeof(*v));

	if (v)
		memset(v, 0xff, (n + 1) * sizeof(*v));
	return v;
}

static int add_profile(struct fmt_tree *t, const struct profile *p, bool base)
{
	const struct profile_sample *s;
	struct src_map m = {.p = p};
	size_t n, i;
	int64_t leaf;
	int err = -ENOMEM;

	m.strs = alloc_none(profile__str_count(p));
	m.frames = alloc_none(profile__frame_count(p));
	m.comms = alloc_none(profile__task_count(p));
	m.leaf = alloc_none(profile__stack_count(p));
	m.leaf_comm = alloc_none(profile__stack_count(p));
	if (!m.strs || !m.frames || !m.comms || !m.leaf || !m.leaf_comm)
		goto out;
	s = profile__samples(p, &n);
	for (i = 0; i < n; i++) {
		if (!s[i].count || s[i].stack >= profile__stack_count(p) ||
		    s[i].task >= profile__task_count(p))
			continue;
		leaf = leaf_node(t, &m, s[i].stack, s[i].task);
		if (leaf < 0) {
			err = (int)leaf;
			goto out;
		}
		account(t, (uint32_t)leaf, s[i].count, base);
	}
	err = 0;
out:
	src_map__free(&m);
	return err;
}

/* ---- truncation and layout ---------------------------------------------- */

static int heavier_first(const void *a, const void *b, void *arg)
{
	const struct bnode *nodes = arg;
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	const struct bnode *na = &nodes[ia], *nb = &nodes[ib];

	if (na->total != nb->total)
		return na->total > nb->total ? -1 : 1;
	if (na->depth != nb->depth)
		return na->depth < nb->depth ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

/*
 * Marks the nodes to keep: heaviest first (a parent sorts before its
 * children), as many as fit in @budget counting one "[other]" node for every
 * kept node that loses a child. Adding a node changes that cost by 0, 1 or 2,
 * never less, so the first node that does not fit ends the list.
 */
static int choose(struct fmt_tree *t, uint32_t budget, bool *keep)
{
	uint32_t *order, *left;
	size_t i, cost = 0, delta;
	const struct bnode *n;

	if (!budget || t->nr_b <= budget) {
		for (i = 0; i < t->nr_b; i++)
			keep[i] = true;
		return 0;
	}
	if (budget < 2)
		budget = 2;
	order = malloc(t->nr_b * sizeof(*order));
	left = malloc(t->nr_b * sizeof(*left));
	if (!order || !left) {
		free(order);
		free(left);
		return -ENOMEM;
	}
	for (i = 0; i < t->nr_b; i++) {
		order[i] = (uint32_t)i;
		left[i] = t->b[i].nr_children;
		keep[i] = false;
	}
	qsort_r(order, t->nr_b, sizeof(*order), heavier_first, t->b);
	for (i = 0; i < t->nr_b; i++) {
		n = &t->b[order[i]];
		delta = 1 + (n->nr_children > 0);
		if (order[i] && left[n->parent] == 1)
			delta--;
		if (cost + delta > budget) {
			t->truncated = true;
			break;
		}
		cost += delta;
		keep[order[i]] = true;
		if (order[i])
			left[n->parent]--;
	}
	free(order);
	free(left);
	return 0;
}

static int by_label(const void *a, const void *b, void *arg)
{
	const struct fmt_tree *t = arg;
	const struct bnode *na = &t->b[*(const uint32_t *)a], *nb = &t->b[*(const uint32_t *)b];
	const struct profile_frame *fa = profile__frame(t->tab, na->func);
	const struct profile_frame *fb = profile__frame(t->tab, nb->func);
	int r = strcmp(profile__str(t->tab, fa->name), profile__str(t->tab, fb->name));

	if (r)
		return r;
	r = strcmp(profile__str(t->tab, fa->module), profile__str(t->tab, fb->module));
	if (r)
		return r;
	return fa->kind < fb->kind ? -1 : fa->kind > fb->kind;
}

static int push_out(struct fmt_tree *t, size_t *cap, const struct fmt_tree_node *n)
{
	int err = mem__grow((void **)&t->out, cap, t->nr_out + 1, sizeof(*t->out));

	if (err)
		return err;
	t->out[t->nr_out++] = *n;
	return 0;
}

static void fill_out(const struct fmt_tree *t, uint32_t b, uint64_t x, uint32_t parent,
		     struct fmt_tree_node *o)
{
	const struct profile_frame *f = profile__frame(t->tab, t->b[b].func);

	o->x = x;
	o->total = t->b[b].total;
	o->self = t->b[b].self;
	o->base_total = t->b[b].base_total;
	o->base_self = t->b[b].base_self;
	o->name = f->name;
	o->module = f->module;
	o->kind = f->kind;
	o->parent = parent;
}

/*
 * Lays out the kept nodes level by level: children sorted by label (as
 * flamegraph.pl does, so two ranges line up), "[other]" last. @src[i] is the
 * building node behind out node i, NONE for an "[other]".
 */
static int layout_children(struct fmt_tree *t, const bool *keep, uint32_t **src, size_t *cap_src,
			   size_t *cap_out, uint32_t *kids, size_t lo, size_t hi, int64_t *other)
{
	struct fmt_tree_node o;
	uint64_t x, sum, base_sum;
	size_t i, k, nk;
	uint32_t c, b;
	int err;

	for (i = lo; i < hi; i++) {
		b = (*src)[i];
		if (b == NONE)
			continue;
		nk = 0;
		for (c = t->b[b].first_child; c != NONE; c = t->b[c].next_sibling)
			if (keep[c])
				kids[nk++] = c;
		qsort_r(kids, nk, sizeof(*kids), by_label, t);
		x = t->out[i].x;
		sum = base_sum = 0;
		for (k = 0; k <= nk; k++) {
			if (k < nk) {
				fill_out(t, kids[k], x, (uint32_t)(i - lo), &o);
				sum += o.total;
				base_sum += o.base_total;
			} else {
				if (nk == t->b[b].nr_children)
					break;
				/* Interned on first use: an uncut tree has no "[other]" string. */
				if (*other < 0)
					*other = profile__intern(t->tab, FMT_TREE_OTHER_NAME);
				if (*other < 0)
					return (int)*other;
				memset(&o, 0, sizeof(o));
				o.x = x;
				o.total = t->b[b].total - t->b[b].self - sum;
				o.self = o.total;
				o.base_total = t->b[b].base_total - t->b[b].base_self - base_sum;
				o.base_self = o.base_total;
				o.name = (uint32_t)*other;
				o.kind = FMT_TREE_SPECIAL;
				o.parent = (uint32_t)(i - lo);
			}
			err = push_out(t, cap_out, &o);
			if (!err)
				err = mem__grow((void **)src, cap_src, t->nr_out, sizeof(**src));
			if (err)
				return err;
			(*src)[t->nr_out - 1] = k < nk ? kids[k] : NONE;
			x += o.total;
		}
	}
	return 0;
}

static int layout(struct fmt_tree *t, const bool *keep)
{
	size_t cap_out = 0, cap_src = 0, cap_lv = 0, lo = 0, hi;
	uint32_t *src = NULL, *kids;
	int64_t other = -1;
	struct fmt_tree_node o;
	int err;

	kids = malloc(t->nr_b * sizeof(*kids));
	if (!kids)
		return -ENOMEM;
	fill_out(t, 0, 0, 0, &o);
	err = push_out(t, &cap_out, &o);
	if (!err)
		err = mem__grow((void **)&src, &cap_src, 1, sizeof(*src));
	if (err)
		goto out;
	src[0] = 0;
	t->depth = 0;
	while (lo < t->nr_out) {
		hi = t->nr_out;
		err = mem__grow((void **)&t->level_start, &cap_lv, t->depth + 2,
				sizeof(*t->level_start));
		if (err)
			goto out;
		t->level_start[t->depth] = lo;
		t->level_start[t->depth + 1] = hi;
		t->depth++;
		err = layout_children(t, keep, &src, &cap_src, &cap_out, kids, lo, hi, &other);
		if (err)
			goto out;
		lo = hi;
	}
out:
	free(src);
	free(kids);
	return err;
}

/* ---- top functions ------------------------------------------------------ */

static int by_self(const void *a, const void *b)
{
	const struct fmt_tree_func *fa = a, *fb = b;

	if (fa->self != fb->self)
		return fa->self > fb->self ? -1 : 1;
	if (fa->total != fb->total)
		return fa->total > fb->total ? -1 : 1;
	return fa->name < fb->name ? -1 : fa->name > fb->name;
}

static int by_total(const void *a, const void *b)
{
	const struct fmt_tree_func *fa = a, *fb = b;

	if (fa->total != fb->total)
		return fa->total > fb->total ? -1 : 1;
	return by_self(a, b);
}

static int build_top(struct fmt_tree *t, uint32_t max_top)
{
	struct fmt_tree_func *v;
	const struct profile_frame *f;
	size_t i, n = 0, k;

	v = calloc(t->nr_funcs + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < t->nr_funcs; i++) {
		f = profile__frame(t->tab, (uint32_t)i);
		if (f->kind == FMT_TREE_COMM || !t->funcs[i].total)
			continue;
		v[n].name = f->name;
		v[n].module = f->module;
		v[n].kind = f->kind;
		v[n].self = t->funcs[i].self;
		v[n].total = t->funcs[i].total;
		v[n].base_self = t->funcs[i].base_self;
		v[n].base_total = t->funcs[i].base_total;
		n++;
	}
	if (max_top && n > 2 * (size_t)max_top) {
		/* Keep the first max_top by total, then move the first max_top by self after them.
		 */
		qsort(v, n, sizeof(*v), by_total);
		qsort(v + max_top, n - max_top, sizeof(*v), by_self);
		k = 2 * (size_t)max_top;
		n = k;
	}
	qsort(v, n, sizeof(*v), by_self);
	t->top = v;
	t->nr_top = n;
	return 0;
}

/* ---- public ---------------------------------------------------------------- */

void fmt_tree__free(struct fmt_tree *t)
{
	if (!t)
		return;
	profile__free(t->tab);
	free(t->funcs);
	free(t->b);
	free(t->slots);
	free(t->out);
	free(t->level_start);
	free(t->top);
	free(t);
}

static int tree__init(struct fmt_tree *t)
{
	int64_t root, name;

	t->tab = profile__new();
	if (!t->tab)
		return -ENOMEM;
	name = profile__intern(t->tab, FMT_TREE_ROOT_NAME);
	if (name < 0)
		return (int)name;
	root = add_func(t, (uint32_t)name, 0, FMT_TREE_ROOT);
	if (root < 0)
		return (int)root;
	root = new_node(t, 0, (uint32_t)root);
	return root < 0 ? (int)root : 0;
}

struct fmt_tree *fmt_tree__build(const struct profile *p, const struct profile *base,
				 const struct fmt_tree_opts *opts)
{
	static const struct fmt_tree_opts defaults;
	struct fmt_tree *t;
	bool *keep = NULL;
	int err;

	if (!p) {
		errno = EINVAL;
		return NULL;
	}
	if (!opts)
		opts = &defaults;
	t = calloc(1, sizeof(*t));
	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	t->diff = base != NULL;
	err = tree__init(t);
	if (!err)
		err = add_profile(t, p, false);
	if (!err && base)
		err = add_profile(t, base, true);
	if (!err)
		err = build_top(t, opts->max_top);
	if (!err) {
		keep = malloc(t->nr_b * sizeof(*keep));
		err = keep ? choose(t, opts->max_nodes, keep) : -ENOMEM;
	}
	if (!err)
		err = layout(t, keep);
	free(keep);
	/* The building tree is no longer needed (its size is): the layout holds the result. */
	if (!err) {
		free(t->slots);
		t->slots = NULL;
		t->cap_slots = 0;
		free(t->b);
		t->b = NULL;
		t->cap_b = 0;
	}
	if (err) {
		fmt_tree__free(t);
		errno = -err;
		return NULL;
	}
	return t;
}

uint32_t fmt_tree__depth(const struct fmt_tree *t)
{
	return t->depth;
}

const struct fmt_tree_node *fmt_tree__level(const struct fmt_tree *t, uint32_t level, size_t *n)
{
	if (level >= t->depth) {
		*n = 0;
		return NULL;
	}
	*n = t->level_start[level + 1] - t->level_start[level];
	return &t->out[t->level_start[level]];
}

size_t fmt_tree__nodes_before(const struct fmt_tree *t)
{
	return t->nr_b;
}

size_t fmt_tree__nodes(const struct fmt_tree *t)
{
	return t->nr_out;
}

const struct fmt_tree_func *fmt_tree__top(const struct fmt_tree *t, size_t *n)
{
	*n = t->nr_top;
	return t->top;
}

size_t fmt_tree__funcs(const struct fmt_tree *t)
{
	/* Every function but the root and the process names. */
	size_t i, n = 0;

	for (i = 0; i < t->nr_funcs; i++) {
		uint32_t kind = profile__frame(t->tab, (uint32_t)i)->kind;

		n += kind != FMT_TREE_ROOT && kind != FMT_TREE_COMM && t->funcs[i].total;
	}
	return n;
}

const char *fmt_tree__str(const struct fmt_tree *t, uint32_t id)
{
	return profile__str(t->tab, id);
}

bool fmt_tree__is_diff(const struct fmt_tree *t)
{
	return t->diff;
}

/* ---- JSON ------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at @s (1-4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		cp = ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
		return cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff) ? 3 : 0;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		cp = ((s[0] & 0x07u) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) |
		     (s[3] & 0x3fu);
		return cp >= 0x10000 && cp <= 0x10ffff ? 4 : 0;
	}
	return 0;
}

int fmt_json__write_string(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t n;

	putc('"', out);
	while (*s) {
		n = utf8_len(s);
		if (!n) {
			fputs("\\ufffd", out);
			s++;
			continue;
		}
		if (n == 3 && s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9)) {
			fprintf(out, "\\u%04x", 0x2000 | (s[2] == 0xa8 ? 0x28 : 0x29));
		} else if (n > 1) {
			fwrite(s, 1, n, out);
		} else if (*s == '"' || *s == '\\') {
			putc('\\', out);
			putc(*s, out);
		} else if (*s == '\n') {
			fputs("\\n", out);
		} else if (*s == '\t') {
			fputs("\\t", out);
		} else if (*s < 0x20 || *s == 0x7f || *s == '<' || *s == '>' || *s == '&') {
			fprintf(out, "\\u%04x", *s);
		} else {
			putc(*s, out);
		}
		s += n;
	}
	putc('"', out);
	return ferror(out) ? -EIO : 0;
}

static const char *const kind_names[FMT_TREE_NR_KINDS] = {
	[FMT_TREE_USER] = "user",     [FMT_TREE_KERNEL] = "kernel",   [FMT_TREE_JIT] = "jit",
	[FMT_TREE_INLINE] = "inline", [FMT_TREE_SPECIAL] = "special", [FMT_TREE_ROOT] = "root",
	[FMT_TREE_COMM] = "comm",
};

static void write_levels(const struct fmt_tree *t, FILE *out)
{
	const struct fmt_tree_node *n;
	size_t i, cnt;
	uint32_t d;

	fputs("\"levels\":[", out);
	for (d = 0; d < t->depth; d++) {
		n = fmt_tree__level(t, d, &cnt);
		fputs(d ? ",\n[" : "\n[", out);
		for (i = 0; i < cnt; i++) {
			fprintf(out,
				"%s%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu32 ",%" PRIu32
				",%" PRIu32,
				i ? "," : "", n[i].x, n[i].total, n[i].self, n[i].name, n[i].module,
				n[i].kind);
			if (t->diff)
				fprintf(out, ",%" PRIu64 ",%" PRIu64, n[i].base_total,
					n[i].base_self);
		}
		putc(']', out);
	}
	fputs("]", out);
}

static void write_top(const struct fmt_tree *t, FILE *out)
{
	size_t i;

	fputs("\"top\":[", out);
	for (i = 0; i < t->nr_top; i++) {
		const struct fmt_tree_func *f = &t->top[i];

		fprintf(out, "%s%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%" PRIu64 ",%" PRIu64,
			i ? "," : "", f->name, f->module, f->kind, f->self, f->total);
		if (t->diff)
			fprintf(out, ",%" PRIu64 ",%" PRIu64, f->base_self, f->base_total);
	}
	fputs("]", out);
}

int fmt_tree__write_json(const struct fmt_tree *t, const char *extra, FILE *out)
{
	const char *diff_fields = t->diff ? ",\"base_total\",\"base_self\"" : "";
	uint64_t total = t->nr_out ? t->out[0].total : 0;
	uint64_t base = t->nr_out ? t->out[0].base_total : 0;
	uint32_t i, nr = profile__str_count(t->tab);

	fputs("{\"format\":\"ember-flamegraph\",\"version\":1,", out);
	if (extra && *extra)
		fprintf(out, "%s,", extra);
	fprintf(out, "\"diff\":%s,\"unit\":\"samples\",\"total\":%" PRIu64,
		t->diff ? "true" : "false", total - base);
	if (t->diff)
		fprintf(out, ",\"base_total\":%" PRIu64, base);
	fprintf(out, ",\"nodes\":%zu,\"nodes_before\":%zu,\"truncated\":%s,\"functions\":%zu,",
		t->nr_out, t->nr_b, t->truncated ? "true" : "false", fmt_tree__funcs(t));
	fputs("\"kinds\":[", out);
	for (i = 0; i < FMT_TREE_NR_KINDS; i++)
		fprintf(out, "%s\"%s\"", i ? "," : "", kind_names[i]);
	fprintf(out, "],\"fields\":[\"x\",\"total\",\"self\",\"name\",\"module\",\"kind\"%s],",
		diff_fields);
	fprintf(out, "\"top_fields\":[\"name\",\"module\",\"kind\",\"self\",\"total\"%s],\n",
		t->diff ? ",\"base_self\",\"base_total\"" : "");
	fputs("\"strings\":[", out);
	for (i = 0; i < nr; i++) {
		if (i)
			putc(',', out);
		fmt_json__write_string(out, profile__str(t->tab, i));
	}
	fputs("],\n", out);
	write_levels(t, out);
	fputs(",\n", out);
	write_top(t, out);
	fputs("}\n", out);
	return ferror(out) ? -EIO : 0;
}

/* The profile's own metadata as payload members: range, frequency, losses. */
static int meta_json(const struct profile *p, char **buf)
{
	const struct profile_meta *m = profile__meta_c(p);
	int n;

	n = asprintf(buf,
		     "\"meta\":{\"start_ms\":%" PRIu64 ",\"end_ms\":%" PRIu64
		     ",\"freq_hz\":%" PRIu32 ",\"period_ns\":%" PRIu64
		     ",\"lost\":{\"samples\":%" PRIu64 ",\"kstack_errors\":%" PRIu64
		     ",\"ustack_errors\":%" PRIu64 ",\"stack_collisions\":%" PRIu64
		     ",\"stack_map_full\":%" PRIu64 ",\"count_map_full\":%" PRIu64
		     ",\"ringbuf_full\":%" PRIu64 ",\"truncated\":%" PRIu64 "}}",
		     m->start_ns / 1000000, m->end_ns / 1000000, m->freq_hz, m->period_ns,
		     m->lost.samples, m->lost.kstack_errors, m->lost.ustack_errors,
		     m->lost.stack_collisions, m->lost.stack_map_full, m->lost.count_map_full,
		     m->lost.ringbuf_full, m->lost.truncated);
	if (n < 0) {
		*buf = NULL;
		return -ENOMEM;
	}
	return 0;
}

int fmt_json__write_budget(const struct profile *p, uint32_t max_nodes, FILE *out)
{
	struct fmt_tree_opts o = {.max_nodes = max_nodes};
	struct fmt_tree *t;
	char *extra;
	int err;

	if (!p || !out)
		return -EINVAL;
	err = meta_json(p, &extra);
	if (err)
		return err;
	t = fmt_tree__build(p, NULL, &o);
	if (!t) {
		err = -errno;
		goto out_free_extra;
	}
	err = fmt_tree__write_json(t, extra, out);
	if (!err && fflush(out))
		err = errno ? -errno : -EIO;
	fmt_tree__free(t);
out_free_extra:
	free(extra);
	return err;
}

int fmt_json__write(const struct profile *p, FILE *out)
{
	return fmt_json__write_budget(p, 0, out);
}

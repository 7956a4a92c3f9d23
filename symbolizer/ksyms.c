/*
 * Kernel symbols from kallsyms text ("ffffffff81000000 T _stext", module
 * symbols followed by "\t[module]").
 *
 * Only text symbols (t, T, w, W) are kept, as perf does; they are sorted by
 * address and aliases at one address collapse into the best name. Names and
 * module names live in one arena owned by the table; a symbol is its address
 * and two arena offsets (16 bytes), so a kernel's 120,000 text symbols take
 * about 5 MiB with their names. Symbols at address zero
 * (kptr_restrict hides every address) are dropped, so such a table is empty
 * and every lookup misses.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/symbolizer.h"

#define KSYM_NO_MODULE UINT32_MAX

/* One parsed symbol; names are arena offsets until the arena stops moving. */
struct ksym_raw {
	uint64_t addr;
	uint32_t name;
	uint32_t module; /* KSYM_NO_MODULE for the core kernel */
	uint32_t seq;	 /* line order, the last tie-break */
	char type;
};

struct sym_ksyms {
	uint64_t *addrs; /* sorted; packed apart: the binary search touches fewer cache lines */
	struct ksym_names {
		uint32_t name;
		uint32_t module; /* KSYM_NO_MODULE for the core kernel */
	} * names;		 /* per symbol, arena offsets */
	size_t n;
	char *arena;
	size_t arena_len;
};

struct ksym_parser {
	struct ksym_raw *raw;
	size_t n, cap;
	char *arena;
	size_t arena_len, arena_cap;
	uint32_t last_module; /* offset of the previous module name, to share it */
};

/* Copies @len bytes of @s plus a NUL into the arena; 0 or -errno. */
static int parser__store(struct ksym_parser *ps, const char *s, size_t len, uint32_t *off)
{
	size_t need = ps->arena_len + len + 1;

	if (need > UINT32_MAX)
		return -E2BIG;
	if (need > ps->arena_cap) {
		size_t cap = ps->arena_cap ? ps->arena_cap : 4096;
		char *a;

		while (cap < need)
			cap *= 2;
		a = realloc(ps->arena, cap);
		if (!a)
			return -ENOMEM;
		ps->arena = a;
		ps->arena_cap = cap;
	}
	memcpy(ps->arena + ps->arena_len, s, len);
	ps->arena[ps->arena_len + len] = '\0';
	*off = (uint32_t)ps->arena_len;
	ps->arena_len = need;
	return 0;
}

static bool ksym_type_is_text(char t)
{
	return t == 't' || t == 'T' || t == 'w' || t == 'W';
}

/*
 * Parses one line; 0 (kept or skipped) or -EINVAL when it is not kallsyms
 * text at all.
 */
static int parser__line(struct ksym_parser *ps, char *line)
{
	char *p = line, *end, *name, *mod = NULL;
	size_t name_len, mod_len = 0;
	struct ksym_raw *r;
	uint64_t addr;
	char type;
	int err;

	line[strcspn(line, "\n")] = '\0';
	if (!*line)
		return 0;
	errno = 0;
	addr = strtoull(p, &end, 16);
	if (end == p || errno || *end != ' ')
		return -EINVAL;
	p = end + 1;
	type = *p;
	if (!type || p[1] != ' ' || !p[2])
		return -EINVAL;
	name = p + 2;
	name_len = strcspn(name, " \t");
	if (!name_len)
		return -EINVAL;
	p = name + name_len;
	p += strspn(p, " \t");
	if (*p) {
		mod_len = strlen(p);
		if (*p != '[' || mod_len < 3 || p[mod_len - 1] != ']')
			return -EINVAL;
		mod = p + 1;
		mod_len -= 2;
	}
	if (!ksym_type_is_text(type) || !addr)
		return 0;

	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 1024;
		struct ksym_raw *v = reallocarray(ps->raw, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		ps->raw = v;
		ps->cap = cap;
	}
	r = &ps->raw[ps->n];
	r->addr = addr;
	r->type = type;
	r->seq = (uint32_t)ps->n;
	r->module = KSYM_NO_MODULE;
	if (mod) {
		/* Module symbols come in runs: share the previous copy when equal. */
		if (ps->last_module != KSYM_NO_MODULE &&
		    !strncmp(ps->arena + ps->last_module, mod, mod_len) &&
		    ps->arena[ps->last_module + mod_len] == '\0') {
			r->module = ps->last_module;
		} else {
			err = parser__store(ps, mod, mod_len, &r->module);
			if (err)
				return err;
			ps->last_module = r->module;
		}
	}
	err = parser__store(ps, name, name_len, &r->name);
	if (err)
		return err;
	ps->n++;
	return 0;
}

static int ksym_raw__cmp(const void *a, const void *b)
{
	const struct ksym_raw *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static size_t leading_underscores(const char *s)
{
	return strspn(s, "_");
}

/* True when @a is a better name than @b for their shared address. */
static bool ksym_raw__better(const struct ksym_raw *a, const struct ksym_raw *b, const char *arena)
{
	bool a_weak = a->type == 'w' || a->type == 'W', b_weak = b->type == 'w' || b->type == 'W';
	bool a_glob = a->type == 'T' || a->type == 'W', b_glob = b->type == 'T' || b->type == 'W';
	size_t ua, ub;

	if (a_weak != b_weak)
		return !a_weak;
	if (a_glob != b_glob)
		return a_glob;
	ua = leading_underscores(arena + a->name);
	ub = leading_underscores(arena + b->name);
	if (ua != ub)
		return ua < ub;
	return a->seq < b->seq;
}

/* Sorts, collapses aliases and builds the public array; 0 or -errno. */
static int ksyms__build(struct sym_ksyms *ks, struct ksym_parser *ps)
{
	size_t i, n = 0;

	if (ps->n > 1)
		qsort(ps->raw, ps->n, sizeof(*ps->raw), ksym_raw__cmp);
	for (i = 0; i < ps->n; i++) {
		if (n && ps->raw[n - 1].addr == ps->raw[i].addr) {
			if (ksym_raw__better(&ps->raw[i], &ps->raw[n - 1], ps->arena))
				ps->raw[n - 1] = ps->raw[i];
			continue;
		}
		ps->raw[n++] = ps->raw[i];
	}
	ks->names = calloc(n ? n : 1, sizeof(*ks->names));
	ks->addrs = calloc(n ? n : 1, sizeof(*ks->addrs));
	if (!ks->names || !ks->addrs)
		return -ENOMEM;
	/* The arena grew by doubling: what it holds is all it keeps. */
	ks->arena = realloc(ps->arena, ps->arena_len ? ps->arena_len : 1);
	if (!ks->arena)
		return -ENOMEM;
	ks->arena_len = ps->arena_len;
	ps->arena = NULL;
	for (i = 0; i < n; i++) {
		ks->addrs[i] = ps->raw[i].addr;
		ks->names[i].name = ps->raw[i].name;
		ks->names[i].module = ps->raw[i].module;
	}
	ks->n = n;
	return 0;
}

struct sym_ksyms *sym_ksyms__parse(FILE *f)
{
	struct ksym_parser ps = {.last_module = KSYM_NO_MODULE};
	struct sym_ksyms *ks;
	char *line = NULL;
	size_t line_cap = 0;
	int err = 0;

	ks = calloc(1, sizeof(*ks));
	if (!ks)
		return NULL;
	errno = 0;
	while (getline(&line, &line_cap, f) >= 0) {
		err = parser__line(&ps, line);
		if (err)
			goto out_free;
		errno = 0;
	}
	if (errno || ferror(f)) {
		err = errno ? -errno : -EIO;
		goto out_free;
	}
	err = ksyms__build(ks, &ps);
out_free:
	free(line);
	free(ps.raw);
	free(ps.arena);
	if (err) {
		sym_ksyms__free(ks);
		errno = -err;
		return NULL;
	}
	return ks;
}

struct sym_ksyms *sym_ksyms__load(const char *path)
{
	struct sym_ksyms *ks;
	FILE *f;
	int err;

	f = fopen(path, "re");
	if (!f)
		return NULL;
	ks = sym_ksyms__parse(f);
	err = errno;
	fclose(f);
	errno = err;
	return ks;
}

void sym_ksyms__free(struct sym_ksyms *ks)
{
	if (!ks)
		return;
	free(ks->names);
	free(ks->addrs);
	free(ks->arena);
	free(ks);
}

size_t sym_ksyms__count(const struct sym_ksyms *ks)
{
	return ks ? ks->n : 0;
}

size_t sym_ksyms__memory(const struct sym_ksyms *ks)
{
	if (!ks)
		return 0;
	return sizeof(*ks) + ks->n * (sizeof(*ks->addrs) + sizeof(*ks->names)) + ks->arena_len;
}

size_t sym_ksyms__find_index(const struct sym_ksyms *ks, uint64_t addr)
{
	size_t lo = 0, hi;

	if (!ks || !ks->n || addr < ks->addrs[0])
		return SIZE_MAX;
	/* Last symbol with addrs[i] <= addr: invariant addrs[lo] <= addr. */
	hi = ks->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->addrs[mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

void sym_ksyms__get(const struct sym_ksyms *ks, size_t idx, struct sym_ksym *out)
{
	const struct ksym_names *nm = &ks->names[idx];

	out->addr = ks->addrs[idx];
	out->name = ks->arena + nm->name;
	out->module = nm->module == KSYM_NO_MODULE ? NULL : ks->arena + nm->module;
}

int sym_ksyms__find(const struct sym_ksyms *ks, uint64_t addr, struct sym_ksym *out)
{
	size_t idx = sym_ksyms__find_index(ks, addr);

	if (idx == SIZE_MAX)
		return -ENOENT;
	sym_ksyms__get(ks, idx, out);
	return 0;
}

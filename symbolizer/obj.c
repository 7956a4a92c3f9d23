/*
 * One object per ELF file: its symbol table, its DWARF (in the file or in a
 * separate debug file) and a cache of resolved addresses, shared by every
 * process that maps the file.
 *
 * Where the symbols come from, best first: the file's .symtab; the debug
 * file's .symtab; .dynsym plus MiniDebugInfo's .symtab; .dynsym. Where the
 * names come from for an address: DWARF when it covers the address (the
 * function, its inline chain, file:line), else the symbol table (demangled
 * once per symbol).
 *
 * A debug file of a prelinked binary has the unprelinked addresses: lookups
 * there are shifted by the difference of the two .text addresses.
 *
 * Memory: sym_obj__memory counts what an object holds, libdw's part
 * included, for the symbolizer's budget. Caches start small (a file seen
 * for a few addresses costs little) and demangled names are kept only for
 * the symbols looked up.
 */
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ember/log.h"
#include "sym_int.h"

#define CACHE_MAX_ENTRIES (1u << 16) /* resolved addresses kept per object */
#define CACHE_MAX_FRAMES  8	     /* longer chains are not cached */

struct cache_ent {
	uint64_t vaddr;
	uint32_t off; /* into frames */
	uint16_t n;
	uint16_t used;
};

/* Demangled names of the symbols looked up (open addressing by index). */
struct dm_ent {
	uint32_t idx; /* symbol index + 1; 0 = free */
	const char *name;
};

struct sym_obj {
	struct sym_elf_info info;
	struct sym_elf *syms;
	int64_t sym_delta; /* added to a vaddr before a symbol lookup */
	struct sym_dwarf *dw;
	int64_t dw_delta; /* added to a vaddr before a DWARF lookup */
	struct dm_ent *dm;
	size_t dm_n, dm_cap;
	struct sym_arena names;
	struct cache_ent *cache;
	size_t cache_cap, cache_n;
	struct sym_frame *frames;
	size_t n_frames, cap_frames;
	void *image; /* sym_obj__from_memory's copy, or the MiniDebugInfo buffer */
	bool dwarf_too_big;
};

static const char demangle_none[] = "";

const struct sym_elf_info *sym_obj__info(const struct sym_obj *o)
{
	return &o->info;
}

bool sym_obj__has_dwarf(const struct sym_obj *o)
{
	return o->dw != NULL;
}

int sym_obj__offset_to_vaddr(const struct sym_obj *o, uint64_t off, uint64_t *vaddr)
{
	return sym_elf__offset_to_vaddr(o->syms, off, vaddr);
}

size_t sym_obj__memory(const struct sym_obj *o)
{
	return sizeof(*o) + sym_elf__memory(o->syms) + sym_dwarf__memory(o->dw) + o->names.bytes +
	       o->cache_cap * sizeof(*o->cache) + o->cap_frames * sizeof(*o->frames) +
	       o->dm_cap * sizeof(*o->dm);
}

bool sym_obj__dwarf_too_big(const struct sym_obj *o)
{
	return o->dwarf_too_big;
}

void sym_obj__free(struct sym_obj *o)
{
	if (!o)
		return;
	sym_elf__free(o->syms);
	sym_dwarf__free(o->dw);
	free(o->dm);
	sym_arena__free(&o->names);
	free(o->cache);
	free(o->frames);
	free(o->image);
	free(o);
}

static int64_t text_delta(const struct sym_elf_info *bin, const struct sym_elf_info *dbg)
{
	if (!bin->text_addr || !dbg->text_addr)
		return 0;
	return (int64_t)(dbg->text_addr - bin->text_addr);
}

/*
 * Loads the symbol table and DWARF of the binary (@fd, @elf, owned) with
 * the debug file when one is found. 0 or -errno.
 */
static int obj__load(struct sym_obj *o, int fd, Elf *elf, const struct sym_obj_opts *opts)
{
	struct sym_elf_info dinfo;
	Elf *dbg = NULL, *mini = NULL;
	int dfd = -1, err;

	err = sym_elf__info(elf, &o->info);
	if (err)
		goto out_close;
	/* A debug file is worth a look when the binary lacks DWARF or a .symtab. */
	if ((!o->info.has_dwarf || !o->info.has_symtab) &&
	    !(opts->no_dwarf && o->info.has_symtab) &&
	    sym_debug__find(&opts->debug, &o->info, opts->bin_path, &dfd, &dbg))
		dbg = NULL;
	if (dbg && sym_elf__info(dbg, &dinfo)) {
		elf_end(dbg);
		close(dfd);
		dbg = NULL;
	}

	if (o->info.has_symtab) {
		o->syms = sym_elf__from_elf(elf, NULL);
	} else if (dbg && dinfo.has_symtab) {
		o->syms = sym_elf__from_elf(dbg, NULL);
		if (o->syms && sym_elf__set_loads(o->syms, elf)) {
			sym_elf__free(o->syms);
			o->syms = NULL;
		}
		o->sym_delta = text_delta(&o->info, &dinfo);
	} else if (o->info.has_debugdata &&
		   !sym_debug__minidebuginfo(elf, (char **)&o->image, &mini)) {
		o->syms = sym_elf__from_elf(elf, mini);
		elf_end(mini);
	}
	if (!o->syms && !o->info.has_symtab)
		o->syms = sym_elf__from_elf(elf, NULL);
	if (!o->syms) {
		err = errno == ENOMEM ? -ENOMEM : -EINVAL;
		goto out_close;
	}
	free(o->image); /* the MiniDebugInfo image is not needed past the read */
	o->image = NULL;

	errno = 0;
	if (opts->no_dwarf) {
		/* Symbol tables only. */
	} else if (o->info.has_dwarf) {
		o->dw = sym_dwarf__new(fd, elf, opts->max_dwarf_bytes);
		fd = -1;
		elf = NULL;
	} else if (dbg && dinfo.has_dwarf) {
		o->dw = sym_dwarf__new(dfd, dbg, opts->max_dwarf_bytes);
		o->dw_delta = text_delta(&o->info, &dinfo);
		dfd = -1;
		dbg = NULL;
	}
	/* Too big or unreadable DWARF: the symbol table names the file. */
	o->dwarf_too_big = !o->dw && errno == E2BIG;
	err = 0;

out_close:
	if (dbg)
		elf_end(dbg);
	if (dfd >= 0)
		close(dfd);
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	return err;
}

struct sym_obj *sym_obj__new(int fd, Elf *elf, const struct sym_obj_opts *opts)
{
	struct sym_obj *o = calloc(1, sizeof(*o));
	int err;

	if (!o) {
		elf_end(elf);
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	err = obj__load(o, fd, elf, opts);
	if (err) {
		sym_obj__free(o);
		errno = -err;
		return NULL;
	}
	return o;
}

struct sym_obj *sym_obj__from_memory(const void *buf, size_t len)
{
	struct sym_obj *o;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = EINVAL;
		return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->image = malloc(len ? len : 1);
	if (!o->image)
		goto out_free;
	memcpy(o->image, buf, len);
	elf = elf_memory(o->image, len);
	if (!elf) {
		errno = EINVAL;
		goto out_free;
	}
	if (sym_elf__info(elf, &o->info) == 0)
		o->syms = sym_elf__from_elf(elf, NULL);
	elf_end(elf);
	if (!o->syms)
		goto out_free;
	free(o->image);
	o->image = NULL;
	return o;

out_free:
	sym_obj__free(o);
	return NULL;
}

static uint64_t hash_vaddr(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static struct cache_ent *cache__slot(struct sym_obj *o, uint64_t vaddr)
{
	size_t mask = o->cache_cap - 1, i = hash_vaddr(vaddr) & mask;

	while (o->cache[i].used && o->cache[i].vaddr != vaddr)
		i = (i + 1) & mask;
	return &o->cache[i];
}

/* Remembers the frames of @vaddr; failures only mean no caching. */
static void cache__put(struct sym_obj *o, uint64_t vaddr, const struct sym_frame *f, int n)
{
	struct cache_ent *e;

	if (n > CACHE_MAX_FRAMES)
		return;
	if (!o->cache || (o->cache_n + 1) * 2 > o->cache_cap) {
		size_t cap = o->cache_cap ? o->cache_cap * 2 : 64;
		struct cache_ent *old = o->cache;
		size_t i, old_cap = o->cache_cap;

		if (cap > 2 * CACHE_MAX_ENTRIES) {
			/* Full: start over rather than grow without bound. */
			memset(o->cache, 0, o->cache_cap * sizeof(*o->cache));
			o->cache_n = 0;
			o->n_frames = 0;
		} else {
			o->cache = calloc(cap, sizeof(*o->cache));
			if (!o->cache) {
				o->cache = old;
				return;
			}
			o->cache_cap = cap;
			for (i = 0; i < old_cap; i++)
				if (old[i].used)
					*cache__slot(o, old[i].vaddr) = old[i];
			free(old);
		}
	}
	if (o->n_frames + (size_t)n > o->cap_frames) {
		size_t cap = o->cap_frames ? o->cap_frames * 2 : 64;
		struct sym_frame *v;

		while (cap < o->n_frames + (size_t)n)
			cap *= 2;
		v = reallocarray(o->frames, cap, sizeof(*v));
		if (!v)
			return;
		o->frames = v;
		o->cap_frames = cap;
	}
	e = cache__slot(o, vaddr);
	e->used = 1;
	e->vaddr = vaddr;
	e->off = (uint32_t)o->n_frames;
	e->n = (uint16_t)n;
	if (n)
		memcpy(o->frames + o->n_frames, f, (size_t)n * sizeof(*f));
	o->n_frames += (size_t)n;
	o->cache_n++;
}

/* The slot of symbol @idx in the demangled-name table (which has room). */
static struct dm_ent *dm__slot(const struct sym_obj *o, size_t idx)
{
	size_t mask = o->dm_cap - 1, i = (idx * 0x9e3779b97f4a7c15ull) >> 20 & mask;

	while (o->dm[i].idx && o->dm[i].idx != idx + 1)
		i = (i + 1) & mask;
	return &o->dm[i];
}

/* Remembers @name for symbol @idx; a failure only means computing it again. */
static void dm__put(struct sym_obj *o, size_t idx, const char *name)
{
	struct dm_ent *e;

	if ((o->dm_n + 1) * 2 > o->dm_cap) {
		struct dm_ent *old = o->dm;
		size_t i, old_cap = o->dm_cap, cap = old_cap ? old_cap * 2 : 64;

		o->dm = calloc(cap, sizeof(*o->dm));
		if (!o->dm) {
			o->dm = old;
			return;
		}
		o->dm_cap = cap;
		for (i = 0; i < old_cap; i++)
			if (old[i].idx)
				*dm__slot(o, old[i].idx - 1) = old[i];
		free(old);
	}
	e = dm__slot(o, idx);
	e->idx = (uint32_t)idx + 1;
	e->name = name;
	o->dm_n++;
}

/* The demangled name of symbol @idx, computed once; the raw name on ENOMEM. */
static const char *obj__sym_name(struct sym_obj *o, size_t idx)
{
	const char *raw = sym_elf__name(o->syms, idx, NULL), *name;
	struct dm_ent *e;
	char *dm;

	if (o->dm_cap) {
		e = dm__slot(o, idx);
		if (e->idx)
			return e->name == demangle_none ? raw : e->name;
	}
	dm = sym_demangle(raw);
	if (!dm) {
		/* "memcpy@@GLIBC_2.14": the version is not part of the name. */
		const char *at = strchr(raw, '@');

		if (!at || at == raw) {
			dm__put(o, idx, demangle_none);
			return raw;
		}
		name = sym_arena__strndup(&o->names, raw, (size_t)(at - raw));
		if (!name)
			return raw;
		dm__put(o, idx, name);
		return name;
	}
	/* "f(int) [clone .isra.0]": a compiler clone is named by its source function. */
	if (strstr(dm, " [clone "))
		*strstr(dm, " [clone ") = '\0';
	name = sym_arena__strndup(&o->names, dm, strlen(dm));
	free(dm);
	if (!name)
		return raw;
	dm__put(o, idx, name);
	return name;
}

int sym_obj__lookup(struct sym_obj *o, uint64_t vaddr, struct sym_frame *out, int max)
{
	struct cache_ent *e;
	size_t idx;
	int n = 0;

	if (max <= 0)
		return 0;
	if (o->cache) {
		e = cache__slot(o, vaddr);
		if (e->used && e->n <= max) {
			if (e->n)
				memcpy(out, o->frames + e->off, e->n * sizeof(*out));
			return e->n;
		}
	}
	memset(out, 0, sizeof(*out));
	if (o->dw) {
		n = sym_dwarf__lookup(o->dw, vaddr + (uint64_t)o->dw_delta, out, max);
		if (n < 0)
			return n;
	}
	/*
	 * DWARF without a linkage name for the innermost function, but a mangled
	 * symbol starting at its entry: C++ with internal linkage, where the
	 * symbol has what DWARF lacks ("(anonymous namespace)::f(int)").
	 * Compiler clones (f.part.0, f.isra.0) keep their source name.
	 */
	if (n > 0 && !out[n - 1].linkage) {
		uint64_t start;
		const char *raw;

		idx = sym_elf__find_index(o->syms, vaddr + (uint64_t)o->sym_delta);
		if (idx != SIZE_MAX) {
			raw = sym_elf__name(o->syms, idx, &start);
			if (raw[0] == '_' && (raw[1] == 'Z' || raw[1] == 'R') &&
			    start - (uint64_t)o->sym_delta + (uint64_t)o->dw_delta ==
				    out[n - 1].low &&
			    obj__sym_name(o, idx) != raw)
				out[n - 1].name = obj__sym_name(o, idx);
		}
	}
	if (n == 0 || !strcmp(out[0].name, "[unknown]")) {
		idx = sym_elf__find_index(o->syms, vaddr + (uint64_t)o->sym_delta);
		if (idx != SIZE_MAX) {
			/* File and line may come from a DWARF line table without a function DIE. */
			out[0].name = obj__sym_name(o, idx);
			if (!n)
				out[0].inlined = false;
			n = n ? n : 1;
		} else if (n && !strcmp(out[0].name, "[unknown]")) {
			n = 0;
		}
	}
	cache__put(o, vaddr, out, n);
	return n;
}

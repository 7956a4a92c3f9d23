/*
 * DWARF through libdw, indexed for many lookups: function names, inline
 * chains and file:line.
 *
 * libdw answers one address at a time by walking DIE trees
 * (dwarf_getscopes); a profiler asks for thousands. So the first lookup
 * reads every compile unit's address ranges into one sorted table, and the
 * first lookup that lands in a CU walks that CU once into
 *   - scopes: concrete functions and the inlined calls nested in them, in
 *     depth-first order, each knowing its subtree size and ranges;
 *   - rows: the line table, sorted by address.
 * A lookup is then two binary searches and a short descent through the
 * inline tree. Names (linkage name demangled, else DW_AT_name, through
 * abstract origins and specifications) are resolved once per scope.
 *
 * Memory (sym_dwarf__memory, for the symbolizer's budget): libdw reads every
 * debug section into memory when it opens a file, compressed ones inflated,
 * and keeps them until it is closed; that is counted from the section
 * headers before it opens (sym_dwarf__new refuses a file over its limit).
 * What it allocates later (its CU table, abbreviations, line tables) is
 * measured as the heap's growth while the index is built and CUs are walked,
 * less the index's own; an estimate where the allocator gives no figures.
 *
 * Input is untrusted: depths and DIE counts are bounded, so a cyclic or
 * absurd tree ends the walk instead of the process.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sym_int.h"

#define DW_MAX_DEPTH 128
#define DW_MAX_DIES  (1u << 24) /* per CU */

struct dw_range {
	uint64_t lo, hi;
};

struct dw_scope {
	Dwarf_Off off;	  /* the DIE, to resolve the name lazily */
	const char *name; /* NULL until resolved */
	const char *call_file;
	uint32_t call_line;
	uint32_t subtree; /* scopes in this subtree, itself included */
	uint32_t range, n_ranges;
	uint32_t decl_line; /* the function's first line; resolved with the name */
	bool name_done;
	bool linkage; /* the name is a (demangled) linkage name */
};

struct dw_top {
	uint64_t lo, hi;
	uint32_t scope;
};

struct dw_row {
	uint64_t addr;
	const char *file;
	uint32_t line;
	uint32_t end; /* end of a sequence: no code from here */
};

struct dw_cu {
	Dwarf_Die die;
	bool loaded, failed;
	struct dw_scope *scopes;
	size_t n_scopes, cap_scopes;
	struct dw_range *ranges;
	size_t n_ranges, cap_ranges;
	struct dw_top *tops;
	size_t n_tops;
	struct dw_row *rows;
	size_t n_rows;
	Dwarf_Files *files;
	size_t n_files;
};

struct dw_curange {
	uint64_t lo, hi;
	uint32_t cu;
};

struct sym_dwarf {
	int fd;
	Elf *elf;
	Dwarf *dw;
	bool indexed;
	struct dw_cu *cus;
	size_t n_cus;
	struct dw_curange *curanges;
	size_t n_curanges;
	struct sym_arena names;
	size_t bytes;	     /* the index's arrays */
	size_t reader_bytes; /* libdw's and libelf's: sections read, then measured growth */
};

/* Grows *@v (of *@cap elements of @size) to hold @n + 1; 0 or -ENOMEM. */
static int grow(void **v, size_t *cap, size_t n, size_t size, size_t *bytes)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	p = reallocarray(*v, ncap, size);
	if (!p)
		return -ENOMEM;
	*bytes += (ncap - *cap) * size;
	*v = p;
	*cap = ncap;
	return 0;
}

/*
 * libdw reads strings from .debug_str and .debug_line_str with strlen: a
 * section not ending in NUL (a corrupt or hostile file) would be read past
 * its end. Such files are refused. True when the string sections are sound.
 */
static bool dwarf__strings_ok(Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strncmp(name, ".debug_", 7) || !strstr(name, "str") ||
		    strstr(name, "offsets"))
			continue;
		if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
			return false;
		d = elf_getdata(scn, NULL);
		if (d && d->d_size && ((const char *)d->d_buf)[d->d_size - 1] != '\0')
			return false;
	}
	return true;
}

/*
 * The inflated size of compressed section @sh of @elf (open on @fd), from
 * its header in the file: gelf_getchdr would read the whole section into
 * memory to tell. Four times the compressed size when the header cannot be
 * read natively (another byte order, GNU .zdebug compression).
 */
static uint64_t dwarf__inflated(int fd, Elf *elf, const GElf_Shdr *sh)
{
	const char *ident = elf_getident(elf, NULL);
	Elf64_Chdr c64;
	Elf32_Chdr c32;

	if (!ident || ident[EI_DATA] != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB
										   : ELFDATA2MSB))
		return 4 * sh->sh_size;
	if (gelf_getclass(elf) == ELFCLASS64 &&
	    pread(fd, &c64, sizeof(c64), (off_t)sh->sh_offset) == (ssize_t)sizeof(c64))
		return c64.ch_size;
	if (gelf_getclass(elf) == ELFCLASS32 &&
	    pread(fd, &c32, sizeof(c32), (off_t)sh->sh_offset) == (ssize_t)sizeof(c32))
		return c32.ch_size;
	return 4 * sh->sh_size;
}

/*
 * The bytes libelf and libdw hold once @elf (open on @fd) is open: every
 * section that is not loaded into the process image (debug sections, symbol
 * and string tables), compressed ones at their inflated size.
 */
static size_t dwarf__file_bytes(int fd, Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t n = 0, shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    (sh.sh_flags & SHF_ALLOC))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (sh.sh_flags & SHF_COMPRESSED)
			n += dwarf__inflated(fd, elf, &sh);
		else if (name && !strncmp(name, ".zdebug_", 8))
			n += 4 * sh.sh_size;
		else
			n += sh.sh_size;
	}
	return n;
}

/* Heap bytes in use, all arenas; 0 when the allocator does not say (sanitizers). */
static size_t heap_in_use(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
}

static size_t dwarf__own_bytes(const struct sym_dwarf *d)
{
	return d->bytes + d->names.bytes;
}

/*
 * Counts what libdw allocated since @heap_before (heap_in_use) beyond the
 * index's own growth since @own_before; @estimate when the allocator gives
 * no figures. Other threads allocating meanwhile only blur the figure.
 */
static void dwarf__count_reader(struct sym_dwarf *d, size_t heap_before, size_t own_before,
				size_t estimate)
{
	size_t after = heap_in_use(), own = dwarf__own_bytes(d) - own_before;

	if (!heap_before || !after)
		d->reader_bytes += estimate;
	else if (after > heap_before + own)
		d->reader_bytes += after - heap_before - own;
}

struct sym_dwarf *sym_dwarf__new(int fd, Elf *elf, size_t max_bytes)
{
	struct sym_dwarf *d = calloc(1, sizeof(*d));

	if (!d) {
		elf_end(elf);
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	d->fd = fd;
	d->elf = elf;
	d->reader_bytes = dwarf__file_bytes(fd, elf);
	if (max_bytes && d->reader_bytes > max_bytes) {
		sym_dwarf__free(d);
		errno = E2BIG;
		return NULL;
	}
	if (!dwarf__strings_ok(elf)) {
		sym_dwarf__free(d);
		errno = EINVAL;
		return NULL;
	}
	d->dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	if (!d->dw) {
		sym_dwarf__free(d);
		errno = EINVAL;
		return NULL;
	}
	/*
	 * libdw has read the debug sections into memory: the file descriptor is
	 * not needed any more, and a cache of many objects must not hold many.
	 */
	if (!elf_cntl(elf, ELF_C_FDDONE)) {
		close(d->fd);
		d->fd = -1;
	}
	return d;
}

static void dw_cu__clear(struct dw_cu *cu)
{
	free(cu->scopes);
	free(cu->ranges);
	free(cu->tops);
	free(cu->rows);
}

void sym_dwarf__free(struct sym_dwarf *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n_cus; i++)
		dw_cu__clear(&d->cus[i]);
	free(d->cus);
	free(d->curanges);
	sym_arena__free(&d->names);
	if (d->dw)
		dwarf_end(d->dw);
	if (d->elf)
		elf_end(d->elf);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

size_t sym_dwarf__memory(const struct sym_dwarf *d)
{
	return d ? sizeof(*d) + dwarf__own_bytes(d) + d->reader_bytes : 0;
}

static int curange__cmp(const void *a, const void *b)
{
	const struct dw_curange *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->cu < y->cu ? -1 : x->cu > y->cu;
}

/* Reads the address ranges of every compile unit; 0 or -errno. */
static int dwarf__index(struct sym_dwarf *d)
{
	size_t cap_cus = 0, cap_r = 0;
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	uint8_t unit_type;
	Dwarf_Half version;
	int err;

	d->indexed = true;
	while (dwarf_get_units(d->dw, cu, &cu, &version, &unit_type, &cudie, NULL) == 0) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;
		uint32_t idx;
		int n = 0;

		if (unit_type != DW_UT_compile && unit_type != DW_UT_partial)
			continue;
		if (dwarf_tag(&cudie) != DW_TAG_compile_unit)
			continue;
		err = grow((void **)&d->cus, &cap_cus, d->n_cus, sizeof(*d->cus), &d->bytes);
		if (err)
			return err;
		idx = (uint32_t)d->n_cus++;
		memset(&d->cus[idx], 0, sizeof(d->cus[idx]));
		d->cus[idx].die = cudie;
		while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0 && n++ < 65536) {
			if (!lo || hi <= lo)
				continue;
			err = grow((void **)&d->curanges, &cap_r, d->n_curanges,
				   sizeof(*d->curanges), &d->bytes);
			if (err)
				return err;
			d->curanges[d->n_curanges++] = (struct dw_curange){lo, hi, idx};
		}
	}
	if (d->n_curanges > 1)
		qsort(d->curanges, d->n_curanges, sizeof(*d->curanges), curange__cmp);
	return 0;
}

struct dw_walk {
	struct sym_dwarf *d;
	struct dw_cu *cu;
	Dwarf_Files *files; /* of the unit being walked (a CU or an imported partial unit) */
	size_t n_files;
	Dwarf_Off *pending; /* subprograms met inside others: their own tops */
	size_t n_pending, cap_pending;
	size_t dies;
};

/* Adds @die's code ranges to the CU's range array; count of ranges or -errno. */
static int walk__ranges(struct dw_walk *w, Dwarf_Die *die)
{
	struct dw_cu *cu = w->cu;
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	int n = 0, err;

	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0 && n < 4096) {
		if (!lo || hi <= lo)
			continue;
		err = grow((void **)&cu->ranges, &cu->cap_ranges, cu->n_ranges, sizeof(*cu->ranges),
			   &w->d->bytes);
		if (err)
			return err;
		cu->ranges[cu->n_ranges++] = (struct dw_range){lo, hi};
		n++;
	}
	return n;
}

static bool has_code(Dwarf_Die *die)
{
	return dwarf_hasattr(die, DW_AT_low_pc) || dwarf_hasattr(die, DW_AT_ranges);
}

static int walk__scope(struct dw_walk *w, Dwarf_Die *die, int depth);

/* Walks the children of @die inside a function: inlined calls, blocks. */
static int walk__children(struct dw_walk *w, Dwarf_Die *die, int depth)
{
	Dwarf_Die child;
	int err, r;

	if (depth > DW_MAX_DEPTH)
		return 0;
	r = dwarf_child(die, &child);
	while (r == 0) {
		if (++w->dies > DW_MAX_DIES)
			return 0;
		switch (dwarf_tag(&child)) {
		case DW_TAG_inlined_subroutine:
			err = walk__scope(w, &child, depth + 1);
			break;
		case DW_TAG_subprogram:
			/* A nested function: a function of its own, walked later. */
			err = 0;
			if (has_code(&child)) {
				err = grow((void **)&w->pending, &w->cap_pending, w->n_pending,
					   sizeof(*w->pending), &w->d->bytes);
				if (!err)
					w->pending[w->n_pending++] = dwarf_dieoffset(&child);
			}
			break;
		case DW_TAG_lexical_block:
		case DW_TAG_try_block:
		case DW_TAG_catch_block:
			err = walk__children(w, &child, depth + 1);
			break;
		default:
			err = 0;
			break;
		}
		if (err)
			return err;
		r = dwarf_siblingof(&child, &child);
	}
	return 0;
}

/* Adds the scope of @die (a function or an inlined call) and its subtree. */
static int walk__scope(struct dw_walk *w, Dwarf_Die *die, int depth)
{
	struct dw_cu *cu = w->cu;
	struct dw_scope *s;
	Dwarf_Attribute attr;
	Dwarf_Word v;
	size_t idx, range = cu->n_ranges;
	int n, err;

	n = walk__ranges(w, die);
	if (n < 0)
		return n;
	if (!n)
		return 0; /* no code: neither it nor its children can hold a pc */
	err = grow((void **)&cu->scopes, &cu->cap_scopes, cu->n_scopes, sizeof(*cu->scopes),
		   &w->d->bytes);
	if (err)
		return err;
	idx = cu->n_scopes++;
	s = &cu->scopes[idx];
	memset(s, 0, sizeof(*s));
	s->off = dwarf_dieoffset(die);
	s->range = (uint32_t)range;
	s->n_ranges = (uint32_t)n;
	if (dwarf_tag(die) == DW_TAG_inlined_subroutine) {
		if (dwarf_attr(die, DW_AT_call_line, &attr) && !dwarf_formudata(&attr, &v))
			s->call_line = (uint32_t)v;
		if (w->files && dwarf_attr(die, DW_AT_call_file, &attr) &&
		    !dwarf_formudata(&attr, &v) && v < w->n_files)
			s->call_file = dwarf_filesrc(w->files, v, NULL, NULL);
	}
	err = walk__children(w, die, depth);
	if (err)
		return err;
	cu->scopes[idx].subtree = (uint32_t)(cu->n_scopes - idx);
	return 0;
}

static int walk__tops(struct dw_walk *w, Dwarf_Die *die, int depth);

/*
 * A partial unit imported into the CU (dwz-compressed debug info, as in
 * distributions' debug packages): its functions are the CU's, and its file
 * numbers refer to its own line table.
 */
static int walk__imported(struct dw_walk *w, Dwarf_Die *die, int depth)
{
	Dwarf_Files *files = w->files;
	size_t n_files = w->n_files;
	Dwarf_Attribute attr;
	Dwarf_Die unit;
	int err;

	if (!dwarf_attr(die, DW_AT_import, &attr) || !dwarf_formref_die(&attr, &unit))
		return 0;
	if (dwarf_getsrcfiles(&unit, &w->files, &w->n_files))
		w->files = NULL;
	err = walk__tops(w, &unit, depth);
	w->files = files;
	w->n_files = n_files;
	return err;
}

/* Finds the functions with code among the CU's children (namespaces, classes). */
static int walk__tops(struct dw_walk *w, Dwarf_Die *die, int depth)
{
	Dwarf_Die child;
	int err = 0, r;

	if (depth > DW_MAX_DEPTH)
		return 0;
	r = dwarf_child(die, &child);
	while (r == 0 && !err) {
		if (++w->dies > DW_MAX_DIES)
			return 0;
		switch (dwarf_tag(&child)) {
		case DW_TAG_subprogram:
			if (has_code(&child))
				err = walk__scope(w, &child, 0);
			break;
		case DW_TAG_namespace:
		case DW_TAG_module:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
			err = walk__tops(w, &child, depth + 1);
			break;
		case DW_TAG_imported_unit:
			err = walk__imported(w, &child, depth + 1);
			break;
		default:
			break;
		}
		r = dwarf_siblingof(&child, &child);
	}
	return err;
}

static int top__cmp(const void *a, const void *b)
{
	const struct dw_top *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->scope < y->scope ? -1 : x->scope > y->scope;
}

static int row__cmp(const void *a, const void *b)
{
	const struct dw_row *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Same address: keep line-table order (sequence end before the next start). */
	return x->end > y->end ? -1 : x->end < y->end;
}

/* Reads the CU's line table into sorted rows; 0 or -errno (no table is fine). */
static int cu__rows(struct sym_dwarf *d, struct dw_cu *cu)
{
	Dwarf_Lines *lines;
	size_t i, n;

	if (dwarf_getsrclines(&cu->die, &lines, &n) || !n)
		return 0;
	cu->rows = calloc(n, sizeof(*cu->rows));
	if (!cu->rows)
		return -ENOMEM;
	d->bytes += n * sizeof(*cu->rows);
	for (i = 0; i < n; i++) {
		Dwarf_Line *l = dwarf_onesrcline(lines, i);
		struct dw_row *r = &cu->rows[cu->n_rows];
		Dwarf_Addr addr;
		bool end = false;
		int line = 0;

		if (!l || dwarf_lineaddr(l, &addr))
			continue;
		dwarf_lineendsequence(l, &end);
		dwarf_lineno(l, &line);
		r->addr = addr;
		r->end = end;
		r->line = line > 0 ? (uint32_t)line : 0;
		r->file = dwarf_linesrc(l, NULL, NULL);
		cu->n_rows++;
	}
	/* libdw sorts by address already; make sure, for odd producers. */
	for (i = 1; i < cu->n_rows; i++) {
		if (row__cmp(&cu->rows[i - 1], &cu->rows[i]) > 0) {
			qsort(cu->rows, cu->n_rows, sizeof(*cu->rows), row__cmp);
			break;
		}
	}
	return 0;
}

/* Walks one CU into its scopes, tops and rows; 0 or -ENOMEM. */
static int cu__load(struct sym_dwarf *d, struct dw_cu *cu)
{
	struct dw_walk w = {.d = d, .cu = cu};
	size_t i, k, n = 0;
	int err;

	cu->loaded = true;
	if (dwarf_getsrcfiles(&cu->die, &cu->files, &cu->n_files))
		cu->files = NULL;
	w.files = cu->files;
	w.n_files = cu->n_files;
	err = walk__tops(&w, &cu->die, 0);
	for (i = 0; !err && i < w.n_pending; i++) {
		Dwarf_Die die;

		if (dwarf_offdie(d->dw, w.pending[i], &die))
			err = walk__scope(&w, &die, 0);
	}
	free(w.pending);
	if (!err)
		err = cu__rows(d, cu);
	if (err)
		goto out_fail;
	/* Tops: the ranges of the outermost scopes (subtree roots). */
	for (i = 0; i < cu->n_scopes; i += cu->scopes[i].subtree)
		n += cu->scopes[i].n_ranges;
	cu->tops = calloc(n ? n : 1, sizeof(*cu->tops));
	if (!cu->tops) {
		err = -ENOMEM;
		goto out_fail;
	}
	d->bytes += n * sizeof(*cu->tops);
	for (i = 0; i < cu->n_scopes; i += cu->scopes[i].subtree) {
		const struct dw_scope *s = &cu->scopes[i];

		for (k = 0; k < s->n_ranges; k++) {
			const struct dw_range *r = &cu->ranges[s->range + k];

			cu->tops[cu->n_tops++] = (struct dw_top){r->lo, r->hi, (uint32_t)i};
		}
	}
	qsort(cu->tops, cu->n_tops, sizeof(*cu->tops), top__cmp);
	return 0;

out_fail:
	cu->failed = true;
	return err;
}

static bool scope__contains(const struct dw_cu *cu, const struct dw_scope *s, uint64_t pc)
{
	uint32_t i;

	for (i = 0; i < s->n_ranges; i++) {
		const struct dw_range *r = &cu->ranges[s->range + i];

		if (pc >= r->lo && pc < r->hi)
			return true;
	}
	return false;
}

/*
 * The name of scope @s: demangled linkage name, else DW_AT_name; NULL if
 * none. Also resolves s->decl_line (through DW_AT_abstract_origin for an
 * inlined instance).
 */
static const char *scope__name(struct sym_dwarf *d, struct dw_scope *s)
{
	Dwarf_Attribute attr;
	Dwarf_Die die;
	const char *raw = NULL;
	char *dm;
	int line;

	if (s->name_done)
		return s->name;
	s->name_done = true;
	if (!dwarf_offdie(d->dw, s->off, &die))
		return NULL;
	if (!dwarf_decl_line(&die, &line) && line > 0)
		s->decl_line = (uint32_t)line;
	if (dwarf_attr_integrate(&die, DW_AT_linkage_name, &attr) ||
	    dwarf_attr_integrate(&die, DW_AT_MIPS_linkage_name, &attr))
		raw = dwarf_formstring(&attr);
	if (raw) {
		s->linkage = true;
		dm = sym_demangle(raw);
		if (dm) {
			s->name = sym_arena__strndup(&d->names, dm, strlen(dm));
			free(dm);
			if (s->name)
				return s->name;
		}
		s->name = raw;
		return raw;
	}
	if (dwarf_attr_integrate(&die, DW_AT_name, &attr))
		s->name = dwarf_formstring(&attr);
	return s->name;
}

/* The line row covering @pc, or NULL. */
static const struct dw_row *cu__row(const struct dw_cu *cu, uint64_t pc)
{
	size_t lo = 0, hi = cu->n_rows;

	if (!cu->n_rows || pc < cu->rows[0].addr)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (cu->rows[mid].addr <= pc)
			lo = mid;
		else
			hi = mid;
	}
	return cu->rows[lo].end ? NULL : &cu->rows[lo];
}

/* The CU whose ranges hold @pc, or NULL. */
static struct dw_cu *dwarf__cu(struct sym_dwarf *d, uint64_t pc)
{
	size_t lo = 0, hi = d->n_curanges, i;

	if (!d->n_curanges || pc < d->curanges[0].lo)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->curanges[mid].lo <= pc)
			lo = mid;
		else
			hi = mid;
	}
	/* Ranges rarely overlap; look a little further back when they do. */
	for (i = lo + 1; i-- > 0 && lo - i < 8;) {
		if (pc < d->curanges[i].hi)
			return &d->cus[d->curanges[i].cu];
	}
	return NULL;
}

/* The outermost scope holding @pc, or SIZE_MAX. */
static size_t cu__top(const struct dw_cu *cu, uint64_t pc)
{
	size_t lo = 0, hi = cu->n_tops, i;

	if (!cu->n_tops || pc < cu->tops[0].lo)
		return SIZE_MAX;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (cu->tops[mid].lo <= pc)
			lo = mid;
		else
			hi = mid;
	}
	for (i = lo + 1; i-- > 0 && lo - i < 8;) {
		if (pc < cu->tops[i].hi)
			return cu->tops[i].scope;
	}
	return SIZE_MAX;
}

int sym_dwarf__lookup(struct sym_dwarf *d, uint64_t pc, struct sym_frame *out, int max)
{
	uint32_t chain[DW_MAX_DEPTH + 1];
	const struct dw_row *row;
	struct dw_cu *cu;
	size_t top, s, i, end;
	int n = 0, k, err;

	if (max <= 0)
		return 0;
	if (!d->indexed) {
		size_t heap = heap_in_use(), own = dwarf__own_bytes(d);

		err = dwarf__index(d);
		dwarf__count_reader(d, heap, own, d->n_cus * 256);
		if (err)
			return err;
	}
	cu = dwarf__cu(d, pc);
	if (!cu)
		return 0;
	if (!cu->loaded) {
		size_t heap = heap_in_use(), own = dwarf__own_bytes(d);

		err = cu__load(d, cu);
		/* libdw's line table: some 40 bytes a row, and a sorted copy. */
		dwarf__count_reader(d, heap, own, cu->n_rows * 96 + cu->n_scopes * 64);
		if (err)
			return err;
	}
	if (cu->failed)
		return 0;
	row = cu__row(cu, pc);
	top = cu__top(cu, pc);
	if (top == SIZE_MAX) {
		/* Code without a function DIE (assembly): the line alone. */
		if (row) {
			out[0].file = row->file;
			out[0].line = row->line;
		}
		return 0;
	}
	/* Descend through the inlined calls holding @pc. */
	s = top;
	chain[n++] = (uint32_t)s;
	for (i = s + 1, end = s + cu->scopes[s].subtree; i < end && n <= DW_MAX_DEPTH;) {
		if (scope__contains(cu, &cu->scopes[i], pc)) {
			chain[n++] = (uint32_t)i;
			end = i + cu->scopes[i].subtree;
			i++;
		} else {
			i += cu->scopes[i].subtree;
		}
	}
	/* Keep the innermost frames when the caller has less room. */
	k = n > max ? n - max : 0;
	for (i = 0; (int)(k + i) < n; i++) {
		struct dw_scope *sc = &cu->scopes[chain[k + i]];
		const char *name = scope__name(d, sc);

		out[i].name = name ? name : "[unknown]";
		out[i].inlined = k + i > 0;
		out[i].linkage = sc->linkage;
		out[i].start_line = sc->decl_line;
		out[i].low = cu->ranges[sc->range].lo;
		if ((int)(k + i) + 1 < n) {
			const struct dw_scope *callee = &cu->scopes[chain[k + i + 1]];

			out[i].file = callee->call_file;
			out[i].line = callee->call_line;
		} else {
			out[i].file = row ? row->file : NULL;
			out[i].line = row ? row->line : 0;
		}
	}
	return (int)i;
}

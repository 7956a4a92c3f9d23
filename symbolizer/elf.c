/*
 * Function symbols of one ELF file, through libelf.
 *
 * Reads .symtab, else .dynsym (stripped binaries), keeps STT_FUNC and
 * STT_GNU_IFUNC symbols that are defined, sorts them by address and collapses
 * aliases into the best name (non-weak, then global, then fewer leading
 * underscores, as perf chooses). A function without a size ends where the next
 * one starts, bounded by its section. The PT_LOAD headers are kept to turn
 * file offsets (what a mapping gives) into the file's own addresses.
 *
 * Also reads the facts the symbolizer keys and finds debug files by: the
 * GNU build-id note, .gnu_debuglink, whether DWARF or MiniDebugInfo is there.
 *
 * Input is untrusted: a truncated or corrupt file gives NULL + EINVAL, never
 * a crash. The file is read (not mapped), so it shrinking under us cannot
 * raise SIGBUS.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ember/symbolizer.h"
#include "sym_int.h"

struct elf_sym {
	uint64_t start, end; /* [start, end) */
	uint32_t name;	     /* offset into the arena */
};

/* A symbol as read, before sorting and alias collapsing. */
struct elf_raw {
	uint64_t start;
	uint64_t size;	  /* 0: no size recorded */
	uint64_t sec_end; /* end of its section; 0 if unknown */
	uint32_t name;
	uint32_t seq; /* symbol table index, the last tie-break */
	uint8_t bind; /* STB_* */
};

struct elf_load {
	uint64_t offset, filesz, vaddr, align;
};

struct sym_elf {
	struct elf_sym *syms;
	size_t n;
	struct elf_load *loads;
	size_t n_loads;
	char *arena;
	size_t arena_len;
};

struct elf_reader {
	Elf *elf;
	struct elf_raw *raw;
	size_t n, cap;
	char *arena;
	size_t arena_len, arena_cap;
};

static int reader__store(struct elf_reader *r, const char *s, uint32_t *off)
{
	size_t len = strlen(s), need = r->arena_len + len + 1;

	if (need > UINT32_MAX)
		return -E2BIG;
	if (need > r->arena_cap) {
		size_t cap = r->arena_cap ? r->arena_cap : 4096;
		char *a;

		while (cap < need)
			cap *= 2;
		a = realloc(r->arena, cap);
		if (!a)
			return -ENOMEM;
		r->arena = a;
		r->arena_cap = cap;
	}
	memcpy(r->arena + r->arena_len, s, len + 1);
	*off = (uint32_t)r->arena_len;
	r->arena_len = need;
	return 0;
}

/* End of the section holding @sym (bounds symbols without a size); 0 if unknown. */
static uint64_t reader__section_end(struct elf_reader *r, const GElf_Sym *sym)
{
	GElf_Shdr shdr;
	Elf_Scn *scn;

	if (sym->st_shndx == SHN_UNDEF || sym->st_shndx >= SHN_LORESERVE)
		return 0;
	scn = elf_getscn(r->elf, sym->st_shndx);
	if (!scn || !gelf_getshdr(scn, &shdr) || !(shdr.sh_flags & SHF_ALLOC))
		return 0;
	if (shdr.sh_addr > UINT64_MAX - shdr.sh_size)
		return 0;
	return shdr.sh_addr + shdr.sh_size;
}

static int reader__add(struct elf_reader *r, const GElf_Sym *sym, const char *name, size_t idx)
{
	struct elf_raw *s;
	int err;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		struct elf_raw *v = reallocarray(r->raw, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->raw = v;
		r->cap = cap;
	}
	s = &r->raw[r->n];
	s->start = sym->st_value;
	s->size = sym->st_value <= UINT64_MAX - sym->st_size ? sym->st_size : 0;
	s->sec_end = s->size ? 0 : reader__section_end(r, sym);
	s->bind = (uint8_t)GELF_ST_BIND(sym->st_info);
	s->seq = (uint32_t)idx;
	err = reader__store(r, name, &s->name);
	if (err)
		return err;
	r->n++;
	return 0;
}

/* Collects the defined functions of symbol table @scn; 0 or -errno. */
static int reader__symtab(struct elf_reader *r, Elf_Scn *scn, const GElf_Shdr *shdr)
{
	size_t i, count, entsize;
	Elf_Data *data;
	int err;

	entsize = gelf_fsize(r->elf, ELF_T_SYM, 1, EV_CURRENT);
	data = elf_getdata(scn, NULL);
	if (!entsize || !data || !data->d_buf)
		return -EINVAL;
	count = data->d_size / entsize;
	if (count > INT32_MAX)
		return -EINVAL;
	for (i = 1; i < count; i++) {
		const char *name;
		GElf_Sym sym;
		int type;

		if (!gelf_getsym(data, (int)i, &sym))
			return -EINVAL;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
		    !sym.st_value)
			continue;
		name = elf_strptr(r->elf, shdr->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		err = reader__add(r, &sym, name, i);
		if (err)
			return err;
	}
	return 0;
}

static int elf_raw__cmp(const void *a, const void *b)
{
	const struct elf_raw *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* True when @a is a better name than @b for their shared address. */
static bool elf_raw__better(const struct elf_raw *a, const struct elf_raw *b, const char *arena)
{
	size_t ua, ub;

	if ((a->bind == STB_WEAK) != (b->bind == STB_WEAK))
		return a->bind != STB_WEAK;
	if ((a->bind == STB_GLOBAL) != (b->bind == STB_GLOBAL))
		return a->bind == STB_GLOBAL;
	ua = strspn(arena + a->name, "_");
	ub = strspn(arena + b->name, "_");
	if (ua != ub)
		return ua < ub;
	return a->seq < b->seq;
}

/*
 * Sorts, collapses aliases (keeping the largest size) and builds the final
 * table in @e. A symbol without a size ends where the next one starts, and
 * no later than its section's end. 0 or -errno.
 */
static int reader__finish(struct elf_reader *r, struct sym_elf *e)
{
	size_t i, n = 0;

	if (r->n > 1)
		qsort(r->raw, r->n, sizeof(*r->raw), elf_raw__cmp);
	for (i = 0; i < r->n; i++) {
		struct elf_raw *cur = &r->raw[i];

		if (n && r->raw[n - 1].start == cur->start) {
			struct elf_raw *kept = &r->raw[n - 1];
			uint64_t size = kept->size > cur->size ? kept->size : cur->size;
			uint64_t sec_end =
				kept->sec_end > cur->sec_end ? kept->sec_end : cur->sec_end;

			if (elf_raw__better(cur, kept, r->arena))
				*kept = *cur;
			kept->size = size;
			kept->sec_end = sec_end;
			continue;
		}
		r->raw[n++] = *cur;
	}
	e->syms = calloc(n ? n : 1, sizeof(*e->syms));
	if (!e->syms)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct elf_raw *s = &r->raw[i];
		struct elf_sym *d = &e->syms[i];

		d->start = s->start;
		d->name = s->name;
		if (s->size) {
			d->end = s->start + s->size;
			continue;
		}
		d->end = i + 1 < n ? r->raw[i + 1].start : UINT64_MAX;
		if (s->sec_end > s->start && s->sec_end < d->end)
			d->end = s->sec_end;
		if (d->end == UINT64_MAX)
			d->end = s->start + 1;
	}
	e->n = n;
	return 0;
}

/* Keeps the PT_LOAD headers; 0 or -errno. */
static int elf__read_loads(struct sym_elf *e, Elf *elf)
{
	size_t i, phnum;

	if (elf_getphdrnum(elf, &phnum))
		return -EINVAL;
	if (!phnum)
		return 0;
	e->loads = calloc(phnum, sizeof(*e->loads));
	if (!e->loads)
		return -ENOMEM;
	for (i = 0; i < phnum; i++) {
		struct elf_load *l;
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			return -EINVAL;
		if (ph.p_type != PT_LOAD)
			continue;
		l = &e->loads[e->n_loads++];
		l->offset = ph.p_offset;
		l->filesz = ph.p_filesz;
		l->vaddr = ph.p_vaddr;
		l->align = ph.p_align > 1 && !(ph.p_align & (ph.p_align - 1)) ? ph.p_align : 4096;
	}
	return 0;
}

/* The first section of type @type, or NULL. */
static Elf_Scn *elf__find_type(Elf *elf, uint32_t type)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;

	while ((scn = elf_nextscn(elf, scn))) {
		if (gelf_getshdr(scn, &shdr) && shdr.sh_type == type)
			return scn;
	}
	return NULL;
}

/* Adds the functions of @elf's symbol table of @type; 0 (also when absent) or -errno. */
static int reader__table(struct elf_reader *r, Elf *elf, uint32_t type)
{
	Elf_Scn *scn = elf__find_type(elf, type);
	GElf_Shdr shdr;

	if (!scn)
		return 0;
	if (!gelf_getshdr(scn, &shdr))
		return -EINVAL;
	r->elf = elf;
	return reader__symtab(r, scn, &shdr);
}

/*
 * Loads .symtab, else .dynsym (also when .symtab has no functions, as in
 * some debug splits), plus @extra's .symtab; 0 or -errno.
 */
static int elf__read_syms(struct sym_elf *e, Elf *elf, Elf *extra)
{
	struct elf_reader r = {.elf = elf};
	int err;

	err = reader__table(&r, elf, SHT_SYMTAB);
	if (!err && !r.n)
		err = reader__table(&r, elf, SHT_DYNSYM);
	if (!err && extra)
		err = reader__table(&r, extra, SHT_SYMTAB);
	if (!err) {
		err = reader__finish(&r, e);
		if (!err) {
			e->arena = r.arena;
			e->arena_len = r.arena_len;
			r.arena = NULL;
		}
	}
	free(r.raw);
	free(r.arena);
	return err;
}

int sym_elf__begin(const char *path, int *fdp, Elf **elfp)
{
	struct stat st;
	Elf *elf;
	int fd, err;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	/* O_NONBLOCK: a FIFO put where a library was must not hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out_close;
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf) {
		err = -EINVAL;
		goto out_close;
	}
	if (elf_kind(elf) != ELF_K_ELF) {
		err = -EINVAL;
		goto out_elf_end;
	}
	*fdp = fd;
	*elfp = elf;
	return 0;

out_elf_end:
	elf_end(elf);
out_close:
	close(fd);
	return err;
}

struct sym_elf *sym_elf__from_elf(Elf *elf, Elf *extra)
{
	struct sym_elf *e;
	GElf_Ehdr ehdr;
	int err;

	if (!gelf_getehdr(elf, &ehdr) || (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN)) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	err = elf__read_loads(e, elf);
	if (!err)
		err = elf__read_syms(e, elf, extra);
	if (err) {
		sym_elf__free(e);
		errno = -err;
		return NULL;
	}
	return e;
}

int sym_elf__set_loads(struct sym_elf *e, Elf *elf)
{
	struct elf_load *old = e->loads;
	size_t n = e->n_loads;
	int err;

	e->loads = NULL;
	e->n_loads = 0;
	err = elf__read_loads(e, elf);
	if (err || !e->n_loads) {
		free(e->loads);
		e->loads = old;
		e->n_loads = n;
		return err ? err : -ENOENT;
	}
	free(old);
	return 0;
}

struct sym_elf *sym_elf__open(const char *path)
{
	struct sym_elf *e;
	Elf *elf;
	int fd, err;

	err = sym_elf__begin(path, &fd, &elf);
	if (err) {
		errno = -err;
		return NULL;
	}
	e = sym_elf__from_elf(elf, NULL);
	err = errno;
	elf_end(elf);
	close(fd);
	errno = err;
	return e;
}

Elf_Data *sym_elf__section(Elf *elf, const char *name)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS)
			continue;
		n = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (n && !strcmp(n, name))
			return elf_getdata(scn, NULL);
	}
	return NULL;
}

/* Copies the GNU build-id out of the note data @d, if it holds one. */
static bool elf__note_build_id(Elf *elf, Elf_Data *d, struct sym_elf_info *out)
{
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
		    memcmp((char *)d->d_buf + name_off, "GNU", 4) || !nh.n_descsz ||
		    nh.n_descsz > SYM_BUILD_ID_MAX)
			continue;
		memcpy(out->build_id, (char *)d->d_buf + desc_off, nh.n_descsz);
		out->build_id_len = nh.n_descsz;
		return true;
	}
	return false;
}

/* The build-id from note sections, else from PT_NOTE segments. */
static void elf__build_id(Elf *elf, struct sym_elf_info *out)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	size_t i, phnum;

	while ((scn = elf_nextscn(elf, scn))) {
		if (gelf_getshdr(scn, &shdr) && shdr.sh_type == SHT_NOTE &&
		    elf__note_build_id(elf, elf_getdata(scn, NULL), out))
			return;
	}
	if (elf_getphdrnum(elf, &phnum))
		return;
	for (i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		if (elf__note_build_id(elf,
				       elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
							    ELF_T_NHDR),
				       out))
			return;
	}
}

size_t sym_elf__build_id_hex(const struct sym_elf_info *info, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < info->build_id_len && i < SYM_BUILD_ID_MAX; i++) {
		hex[2 * i] = digits[info->build_id[i] >> 4];
		hex[2 * i + 1] = digits[info->build_id[i] & 15];
	}
	hex[2 * i] = '\0';
	return 2 * i;
}

int sym_elf__info(Elf *elf, struct sym_elf_info *out)
{
	bool info = false, line = false;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Ehdr ehdr;
	GElf_Shdr shdr;
	Elf_Data *d;

	memset(out, 0, sizeof(*out));
	if (!gelf_getehdr(elf, &ehdr))
		return -EINVAL;
	out->e_type = ehdr.e_type;
	elf__build_id(elf, out);
	if (elf_getshdrstrndx(elf, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		n = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (!n)
			continue;
		if (shdr.sh_type == SHT_SYMTAB && shdr.sh_size > shdr.sh_entsize)
			out->has_symtab = true;
		else if (!strcmp(n, ".text"))
			out->text_addr = shdr.sh_addr;
		else if (!strcmp(n, ".debug_info") && shdr.sh_type != SHT_NOBITS)
			info = true;
		else if (!strcmp(n, ".debug_line") && shdr.sh_type != SHT_NOBITS)
			line = true;
		else if (!strcmp(n, ".gnu_debugdata") && shdr.sh_type != SHT_NOBITS)
			out->has_debugdata = true;
	}
	out->has_dwarf = info && line;
	d = sym_elf__section(elf, ".gnu_debuglink");
	if (d && d->d_buf && d->d_size >= 8) {
		const char *name = d->d_buf;
		size_t len = strnlen(name, d->d_size);
		size_t crc_off = (len + 4) & ~(size_t)3;

		if (len && len < sizeof(out->debuglink) && crc_off + 4 <= d->d_size &&
		    !strchr(name, '/')) {
			memcpy(out->debuglink, name, len);
			out->debuglink[len] = '\0';
			memcpy(&out->debuglink_crc, (const char *)d->d_buf + crc_off, 4);
		}
	}
	return 0;
}

size_t sym_elf__memory(const struct sym_elf *e)
{
	if (!e)
		return 0;
	return sizeof(*e) + e->n * sizeof(*e->syms) + e->n_loads * sizeof(*e->loads) + e->arena_len;
}

size_t sym_elf__find_index(const struct sym_elf *e, uint64_t vaddr)
{
	size_t lo = 0, hi;

	if (!e || !e->n || vaddr < e->syms[0].start)
		return SIZE_MAX;
	hi = e->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (e->syms[mid].start <= vaddr)
			lo = mid;
		else
			hi = mid;
	}
	return vaddr < e->syms[lo].end ? lo : SIZE_MAX;
}

const char *sym_elf__name(const struct sym_elf *e, size_t idx, uint64_t *start)
{
	if (start)
		*start = e->syms[idx].start;
	return e->arena + e->syms[idx].name;
}

void sym_elf__free(struct sym_elf *e)
{
	if (!e)
		return;
	free(e->syms);
	free(e->loads);
	free(e->arena);
	free(e);
}

size_t sym_elf__symbol_count(const struct sym_elf *e)
{
	return e ? e->n : 0;
}

int sym_elf__offset_to_vaddr(const struct sym_elf *e, uint64_t off, uint64_t *vaddr)
{
	size_t i;

	if (!e)
		return -ENOENT;
	for (i = 0; i < e->n_loads; i++) {
		const struct elf_load *l = &e->loads[i];

		if (off >= l->offset && off - l->offset < l->filesz) {
			*vaddr = off - l->offset + l->vaddr;
			return 0;
		}
	}
	/*
	 * A mapping starts on a page boundary, so its first bytes may precede
	 * the segment's p_offset: accept the page-aligned start of the segment.
	 */
	for (i = 0; i < e->n_loads; i++) {
		const struct elf_load *l = &e->loads[i];
		uint64_t base = l->offset & ~(l->align - 1);

		if (off >= base && off < l->offset && l->vaddr >= l->offset - off) {
			*vaddr = l->vaddr - (l->offset - off);
			return 0;
		}
	}
	return -ENOENT;
}

const char *sym_elf__find(const struct sym_elf *e, uint64_t vaddr, uint64_t *start)
{
	size_t i = sym_elf__find_index(e, vaddr);

	return i == SIZE_MAX ? NULL : sym_elf__name(e, i, start);
}

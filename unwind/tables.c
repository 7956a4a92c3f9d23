/*
 * What unwinding needs of one ELF file: its bytes, its PT_LOAD segments (to
 * turn ELF addresses into file offsets), the binary search table of
 * .eh_frame_hdr, and .debug_frame converted into .eh_frame's form so that
 * libunwind's one table search serves both.
 *
 * Input is untrusted (a process chooses its own binaries): every offset is
 * checked against the image, and a malformed table is dropped, never read
 * out of bounds.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#include "uw_int.h"

#define DW_EH_PE_omit	 0xff
#define DW_EH_PE_absptr	 0x00
#define DW_EH_PE_uleb128 0x01
#define DW_EH_PE_udata2	 0x02
#define DW_EH_PE_udata4	 0x03
#define DW_EH_PE_udata8	 0x04
#define DW_EH_PE_sleb128 0x09
#define DW_EH_PE_sdata2	 0x0a
#define DW_EH_PE_sdata4	 0x0b
#define DW_EH_PE_sdata8	 0x0c
#define DW_EH_PE_datarel 0x30
#define PT_GNU_EH_FRAME_ 0x6474e550

#define DEBUG_FRAME_CIE_ID 0xffffffffu

#if defined(__x86_64__)
#define UW_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define UW_MACHINE EM_AARCH64
#else
#define UW_MACHINE EM_NONE
#endif

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* Bytes of the LEB128 number at @p (at most @n bytes), or 0 when it does not end. */
static size_t leb_len(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && i < 10; i++)
		if (!(p[i] & 0x80))
			return i + 1;
	return 0;
}

static uint64_t uleb(const uint8_t *p, size_t len)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++)
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
	return v;
}

/*
 * Reads a value encoded as @enc (format only; .eh_frame_hdr's count and
 * pointer fields) at @p, @n bytes left. Returns its size, or 0 when the
 * encoding is not supported or the bytes run out.
 */
static size_t read_encoded(const uint8_t *p, size_t n, uint8_t enc, uint64_t *val)
{
	size_t len;

	switch (enc & 0x0f) {
	case DW_EH_PE_absptr:
	case DW_EH_PE_udata8:
	case DW_EH_PE_sdata8:
		len = 8;
		break;
	case DW_EH_PE_udata4:
	case DW_EH_PE_sdata4:
		len = 4;
		break;
	case DW_EH_PE_udata2:
	case DW_EH_PE_sdata2:
		len = 2;
		break;
	case DW_EH_PE_uleb128:
		len = leb_len(p, n);
		if (len)
			*val = uleb(p, len);
		return len;
	default:
		return 0;
	}
	if (len > n)
		return 0;
	if (len == 8)
		*val = rd64(p);
	else if (len == 4)
		*val = (enc & 0x08) ? (uint64_t)(int64_t)(int32_t)rd32(p) : rd32(p);
	else
		*val = (enc & 0x08) ? (uint64_t)(int64_t)(int16_t)(p[0] | p[1] << 8)
				    : (uint64_t)(p[0] | p[1] << 8);
	return len;
}

/*
 * Notes that the pages holding [@off, @off + @len) of the image are resident:
 * counted by UW_PAGE_SPAN, as a read fault maps that much of the page cache
 * around the page read (the kernel's fault-around).
 */
static void pages__mark(struct uw_pages *pg, uint64_t off, size_t len)
{
	for (uint64_t p = off >> UW_PAGE_SHIFT; p <= (off + len - 1) >> UW_PAGE_SHIFT; p++) {
		if (pg->bits[p >> 3] & (1u << (p & 7)))
			continue;
		pg->bits[p >> 3] |= (uint8_t)(1u << (p & 7));
		pg->n++;
		(*pg->total)++;
	}
}

int uw_tables__read(const struct uw_tables *t, uint64_t vaddr, void *dst, size_t len)
{
	for (size_t i = 0; i < t->n_loads; i++) {
		const struct uw_load *l = &t->loads[i];
		uint64_t off;

		if (vaddr < l->vaddr || vaddr - l->vaddr >= l->filesz)
			continue;
		off = l->off + (vaddr - l->vaddr);
		/* An aligned word read may run past the segment's file bytes: still the file. */
		if (off > t->image_size || t->image_size - off < len)
			return -EFAULT;
		if (t->pages && len)
			pages__mark(t->pages, off, len);
		memcpy(dst, t->image + off, len);
		return 0;
	}
	return -EFAULT;
}

bool uw_tables__has_cfi(const struct uw_tables *t)
{
	return t->has_eh || t->dbg.image;
}

/* Fills @t->loads from the program headers; 0, -EINVAL, -ENOMEM. */
static int read_loads(struct uw_tables *t, Elf *elf, GElf_Phdr *eh_phdr, bool *has_eh_phdr)
{
	size_t n, i, k = 0;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return -EINVAL;
	t->loads = calloc(n ? n : 1, sizeof(*t->loads));
	if (!t->loads)
		return -ENOMEM;
	t->lo = UINT64_MAX;
	t->hi = 0;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, i, &ph))
			continue;
		if (ph.p_type == PT_GNU_EH_FRAME_) {
			*eh_phdr = ph;
			*has_eh_phdr = true;
		}
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_offset > t->image_size || ph.p_filesz > t->image_size - ph.p_offset)
			continue;
		if (ph.p_vaddr + ph.p_memsz < ph.p_vaddr)
			continue;
		t->loads[k].vaddr = ph.p_vaddr;
		t->loads[k].memsz = ph.p_memsz;
		t->loads[k].off = ph.p_offset;
		t->loads[k].filesz = ph.p_filesz;
		if (ph.p_vaddr < t->lo)
			t->lo = ph.p_vaddr;
		if (ph.p_vaddr + ph.p_memsz > t->hi)
			t->hi = ph.p_vaddr + ph.p_memsz;
		k++;
	}
	t->n_loads = k;
	if (!k)
		t->lo = t->hi = 0;
	return k ? 0 : -EINVAL;
}

/*
 * Checks the .eh_frame_hdr at ELF address @vaddr, file offset @off, @size
 * bytes, and records its table when libunwind can search it: int32 pairs
 * relative to the header (datarel|sdata4).
 */
static void read_eh_hdr(struct uw_tables *t, uint64_t vaddr, uint64_t off, uint64_t size)
{
	const uint8_t *p;
	uint64_t ptr, count;
	size_t a, b;

	if (off > t->image_size || size > t->image_size - off || size < 4)
		return;
	p = t->image + off;
	if (p[0] != 1 || p[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
		return;
	a = read_encoded(p + 4, size - 4, p[1], &ptr);
	if (!a || p[2] == DW_EH_PE_omit)
		return;
	b = read_encoded(p + 4 + a, size - 4 - a, p[2], &count);
	if (!b)
		return;
	if (count == 0 || count > (size - 4 - a - b) / 8)
		return;
	t->eh_hdr_vaddr = vaddr;
	t->eh_table_vaddr = vaddr + 4 + a + b;
	t->eh_fde_count = count;
	t->has_eh = true;
}

/* Finds a section by name; its header into @out. */
static bool find_section(Elf *elf, size_t shstrndx, const char *name, GElf_Shdr *out)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, out))
			continue;
		n = elf_strptr(elf, shstrndx, out->sh_name);
		if (n && !strcmp(n, name) && out->sh_type != SHT_NOBITS)
			return true;
	}
	return false;
}

int uw_tables__init(struct uw_tables *t, const uint8_t *image, size_t size)
{
	GElf_Phdr eh_phdr = {};
	GElf_Ehdr eh;
	GElf_Shdr sh;
	bool has_eh_phdr = false;
	size_t shstrndx;
	Elf *elf;
	int err;

	memset(t, 0, sizeof(*t));
	t->image = image;
	t->image_size = size;
	elf_version(EV_CURRENT);
	/* libelf only reads a native-endian image: the cast does not lead to writes. */
	elf = elf_memory((char *)image, size);
	if (!elf)
		return -EINVAL;
	err = -EINVAL;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		goto out_end;
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != UW_MACHINE)
		goto out_end;
	err = read_loads(t, elf, &eh_phdr, &has_eh_phdr);
	if (err)
		goto out_end;
	if (has_eh_phdr)
		read_eh_hdr(t, eh_phdr.p_vaddr, eh_phdr.p_offset, eh_phdr.p_filesz);
	if (elf_getshdrstrndx(elf, &shstrndx) == 0) {
		if (!t->has_eh && find_section(elf, shstrndx, ".eh_frame_hdr", &sh))
			read_eh_hdr(t, sh.sh_addr, sh.sh_offset, sh.sh_size);
		if (find_section(elf, shstrndx, ".debug_frame", &sh) && sh.sh_offset <= size &&
		    sh.sh_size <= size - sh.sh_offset) {
			err = uw_dbg_frame__convert(image + sh.sh_offset, sh.sh_size, t->lo,
						    &t->dbg);
			if (err == -ENOMEM)
				goto out_end;
		}
	}
	err = 0;
out_end:
	elf_end(elf);
	if (err)
		uw_tables__fini(t);
	return err;
}

void uw_tables__fini(struct uw_tables *t)
{
	free(t->loads);
	uw_dbg_frame__free(&t->dbg);
	memset(t, 0, sizeof(*t));
}

/* ---- .debug_frame -> .eh_frame ----------------------------------------- */

struct cie_map {
	uint32_t old_off; /* offset of the CIE in .debug_frame */
	uint32_t new_off; /* offset of its conversion in the image */
};

struct dbg_out {
	uint8_t *buf;
	size_t len, cap;
	struct cie_map *cies;
	size_t n_cies, cap_cies;
	int32_t (*table)[2];
	size_t n_table, cap_table;
};

static int out_reserve(struct dbg_out *o, size_t more)
{
	size_t cap = o->cap ? o->cap : 4096;
	uint8_t *b;

	if (o->len + more <= o->cap)
		return 0;
	while (cap < o->len + more)
		cap *= 2;
	b = realloc(o->buf, cap);
	if (!b)
		return -ENOMEM;
	o->buf = b;
	o->cap = cap;
	return 0;
}

static void out_put(struct dbg_out *o, const void *p, size_t n)
{
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/*
 * Converts the CIE whose body (after length and id) is @p..@end, found at
 * @old_off. Only CIEs without augmentation and with 8-byte addresses are
 * taken. 0, 1 (skipped), -ENOMEM.
 */
static int convert_cie(struct dbg_out *o, const uint8_t *p, const uint8_t *end, uint32_t old_off)
{
	const uint8_t *code_align, *data_align, *ra, *instr;
	size_t lca, lda, lra, n;
	uint8_t version, out_version;
	uint32_t len;

	if (p >= end)
		return 1;
	version = *p++;
	if (version != 1 && version != 3 && version != 4)
		return 1;
	if (p >= end || *p++ != '\0') /* augmentation: none expected in .debug_frame */
		return 1;
	if (version == 4) {
		if (end - p < 2 || p[0] != 8 || p[1] != 0)
			return 1;
		p += 2;
	}
	code_align = p;
	lca = leb_len(p, end - p);
	if (!lca)
		return 1;
	p += lca;
	data_align = p;
	lda = leb_len(p, end - p);
	if (!lda)
		return 1;
	p += lda;
	ra = p;
	lra = version == 1 ? (p < end ? 1 : 0) : leb_len(p, end - p);
	if (!lra)
		return 1;
	p += lra;
	instr = p;
	n = end - instr;
	out_version = version == 1 ? 1 : 3;

	if (o->n_cies == o->cap_cies) {
		size_t cap = o->cap_cies ? o->cap_cies * 2 : 16;
		struct cie_map *v = realloc(o->cies, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		o->cies = v;
		o->cap_cies = cap;
	}
	len = 4 + 1 + 1 + lca + lda + lra + n;
	if (out_reserve(o, 4 + len))
		return -ENOMEM;
	o->cies[o->n_cies].old_off = old_off;
	o->cies[o->n_cies++].new_off = o->len;
	out_put(o, &len, 4);
	out_put(o, &(uint32_t){0}, 4);
	out_put(o, &out_version, 1);
	out_put(o, "", 1);
	out_put(o, code_align, lca);
	out_put(o, data_align, lda);
	out_put(o, ra, lra);
	out_put(o, instr, n);
	return 0;
}

static const struct cie_map *find_cie(const struct dbg_out *o, uint32_t old_off)
{
	size_t lo = 0, hi = o->n_cies;

	/* CIEs were added in section order, so by offset. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->cies[mid].old_off < old_off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < o->n_cies && o->cies[lo].old_off == old_off ? &o->cies[lo] : NULL;
}

/* Converts the FDE whose body (after length and CIE pointer) is @p..@end. 0, 1, -ENOMEM. */
static int convert_fde(struct dbg_out *o, const uint8_t *p, const uint8_t *end,
		       const struct cie_map *cie, uint64_t base)
{
	uint64_t pc, range;
	uint32_t len, cie_ptr, fde_off;
	size_t n;

	if (end - p < 16)
		return 1;
	pc = rd64(p);
	range = rd64(p + 8);
	/* Leftovers of discarded sections have pc 0; the table holds int32 offsets. */
	if (!range || pc < base || pc - base > INT32_MAX || o->len > INT32_MAX - 64)
		return 1;
	n = end - p;
	len = 4 + n;
	if (out_reserve(o, 4 + len))
		return -ENOMEM;
	if (o->n_table == o->cap_table) {
		size_t cap = o->cap_table ? o->cap_table * 2 : 256;
		int32_t(*v)[2] = realloc(o->table, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		o->table = v;
		o->cap_table = cap;
	}
	fde_off = o->len;
	/* .eh_frame's CIE pointer: from the pointer field back to the CIE. */
	cie_ptr = fde_off + 4 - cie->new_off;
	out_put(o, &len, 4);
	out_put(o, &cie_ptr, 4);
	out_put(o, p, n);
	o->table[o->n_table][0] = (int32_t)(pc - base);
	o->table[o->n_table++][1] = (int32_t)fde_off;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const int32_t *x = a, *y = b;

	return (x[0] > y[0]) - (x[0] < y[0]);
}

/*
 * Walks the entries of .debug_frame: @want_cie selects CIEs (first pass) or
 * FDEs (second pass, which needs every CIE converted).
 */
static int walk(struct dbg_out *o, const uint8_t *sec, size_t size, uint64_t base, bool want_cie)
{
	size_t off = 0;
	int err;

	while (size - off >= 8) {
		uint32_t len = rd32(sec + off), id;
		const uint8_t *body, *end;

		if (len >= 0xfffffff0u) /* 64-bit DWARF or reserved: stop here */
			break;
		if (len < 4 || len > size - off - 4) {
			if (len == 0) { /* padding */
				off += 4;
				continue;
			}
			break;
		}
		id = rd32(sec + off + 4);
		body = sec + off + 8;
		end = sec + off + 4 + len;
		if (id == DEBUG_FRAME_CIE_ID && want_cie) {
			err = convert_cie(o, body, end, (uint32_t)off);
		} else if (id != DEBUG_FRAME_CIE_ID && !want_cie) {
			const struct cie_map *cie = find_cie(o, id);

			err = cie ? convert_fde(o, body, end, cie, base) : 1;
		} else {
			err = 0;
		}
		if (err < 0)
			return err;
		off += 4 + (size_t)len;
	}
	return 0;
}

int uw_dbg_frame__convert(const uint8_t *sec, size_t size, uint64_t base, struct uw_dbg_frame *out)
{
	struct dbg_out o = {};
	size_t table_off, i, k;
	int err;

	memset(out, 0, sizeof(*out));
	err = walk(&o, sec, size, base, true);
	if (!err)
		err = walk(&o, sec, size, base, false);
	if (err)
		goto out_free;
	err = -ENOENT;
	if (!o.n_table)
		goto out_free;
	qsort(o.table, o.n_table, sizeof(*o.table), cmp_entry);
	/* One entry per start address: a search must land on a single FDE. */
	for (i = 1, k = 1; i < o.n_table; i++)
		if (o.table[i][0] != o.table[k - 1][0])
			memcpy(o.table[k++], o.table[i], sizeof(*o.table));
	o.n_table = k;
	err = -ENOMEM;
	table_off = (o.len + 3) & ~(size_t)3;
	if (out_reserve(&o, table_off - o.len + o.n_table * 8 + 8))
		goto out_free;
	memset(o.buf + o.len, 0, table_off - o.len);
	o.len = table_off;
	for (i = 0; i < o.n_table; i++) {
		wr32(o.buf + o.len, (uint32_t)o.table[i][0]);
		wr32(o.buf + o.len + 4, (uint32_t)o.table[i][1]);
		o.len += 8;
	}
	memset(o.buf + o.len, 0, 8);
	out->image = o.buf;
	out->size = o.len;
	out->table_off = table_off;
	out->fde_count = o.n_table;
	out->base = base;
	o.buf = NULL;
	err = 0;
out_free:
	free(o.buf);
	free(o.cies);
	free(o.table);
	return err;
}

void uw_dbg_frame__free(struct uw_dbg_frame *d)
{
	free(d->image);
	memset(d, 0, sizeof(*d));
}

/*
 * The unwinder's private interfaces: one object per ELF file holding what
 * unwinding needs of it (tables.c), shared by every process that maps it.
 *
 *   tables.c    a file's bytes, its PT_LOAD segments, its .eh_frame_hdr
 *               search table, and .debug_frame converted to .eh_frame form
 *               with a search table of its own
 *   unwinder.c  processes, mappings, libunwind's accessors, the walk
 */
#ifndef EMBER_UW_INT_H
#define EMBER_UW_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uw_load {
	uint64_t vaddr, memsz; /* the segment in the ELF's addresses */
	uint64_t off, filesz;  /* its bytes in the file */
};

/*
 * .debug_frame rewritten as .eh_frame (CIE id 0, CIE pointers relative,
 * 8-byte absolute pc fields) followed by a sorted table of int32 pairs
 * (pc - base, FDE offset in the image), the layout of .eh_frame_hdr's table,
 * so libunwind's table search reads it through the accessors.
 */
struct uw_dbg_frame {
	uint8_t *image;	  /* converted entries, then the table, then 8 zero bytes */
	size_t size;	  /* bytes of image, padding excluded */
	size_t table_off; /* offset of the table in image */
	size_t fde_count; /* table entries */
	uint64_t base;	  /* table pcs are relative to this ELF address */
};

/*
 * Pages of a mapped image read through uw_tables__read since they were last
 * given back: one bit per UW_PAGE_SPAN bytes (a read fault maps the pages
 * around the one read, 64 KiB by default), and a count shared by all images.
 */
#define UW_PAGE_SHIFT 16
#define UW_PAGE_SPAN  (1ull << UW_PAGE_SHIFT)

struct uw_pages {
	uint8_t *bits;
	size_t n;      /* bits set */
	size_t *total; /* sum of n over the images sharing the count */
};

struct uw_tables {
	const uint8_t *image; /* the whole file (or a copy of it) */
	size_t image_size;
	struct uw_pages *pages; /* NULL: not counted (an image in memory) */
	struct uw_load *loads;
	size_t n_loads;
	uint64_t lo, hi; /* ELF address range of the PT_LOAD segments */
	/* .eh_frame_hdr's binary search table, when usable */
	bool has_eh;
	uint64_t eh_hdr_vaddr;	 /* ELF address of .eh_frame_hdr */
	uint64_t eh_table_vaddr; /* ELF address of its table */
	uint64_t eh_fde_count;
	/* .debug_frame, converted; image == NULL when absent */
	struct uw_dbg_frame dbg;
};

/*
 * Reads the PT_LOAD segments and unwind tables of the ELF image @image
 * (@size bytes, kept borrowed by @t: it must outlive @t). 0, -EINVAL (not an
 * ELF file of this machine's class), -ENOMEM.
 */
int uw_tables__init(struct uw_tables *t, const uint8_t *image, size_t size);
void uw_tables__fini(struct uw_tables *t);
/*
 * Copies @len bytes at ELF address @vaddr from the file's bytes, marking the
 * pages read in t->pages. 0 or -EFAULT.
 */
int uw_tables__read(const struct uw_tables *t, uint64_t vaddr, void *dst, size_t len);
/* True when @t holds CFI of some form. */
bool uw_tables__has_cfi(const struct uw_tables *t);

/*
 * Converts a .debug_frame section (@sec, @size bytes) whose pcs are ELF
 * addresses at or above @base. Entries it cannot convert (64-bit DWARF, an
 * augmentation, another address size) are left out. 0, -ENOENT (nothing
 * usable), -ENOMEM.
 */
int uw_dbg_frame__convert(const uint8_t *sec, size_t size, uint64_t base, struct uw_dbg_frame *out);
void uw_dbg_frame__free(struct uw_dbg_frame *d);

#endif /* EMBER_UW_INT_H */

/*
 * The symbolizer's private interfaces: one object per ELF file (symbols,
 * debug info, DWARF index), the pieces it is made of, and small helpers
 * shared by the files of symbolizer/.
 *
 *   elf.c       symbol tables (.symtab, .dynsym, MiniDebugInfo) and ELF facts
 *               (build-id, .gnu_debuglink, PT_LOAD, .text address)
 *   debuginfo.c finding separate debug files: build-id dirs, debuglink,
 *               debuginfod (dlopen'ed), MiniDebugInfo decompression (xz)
 *   dwarf.c     an index over libdw: per CU, scopes (functions and inlined
 *               calls) and line rows, built on first use
 *   obj.c       one object per file: the above together, an address cache
 *   demangle.c  C++ and Rust names through libiberty
 *   perfmap.c   /tmp/perf-PID.map (JIT code)
 */
#ifndef EMBER_SYM_INT_H
#define EMBER_SYM_INT_H

#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember/symbolizer.h"

#define SYM_BUILD_ID_MAX 64

/* ---- string arena: NUL-terminated strings that live as long as it ------ */

struct sym_arena {
	struct sym_arena_chunk *head;
	size_t used, cap; /* of head */
	size_t bytes;	  /* allocated in all chunks */
};

/* Copies @len bytes of @s plus a NUL; a borrowed pointer or NULL (ENOMEM). */
const char *sym_arena__strndup(struct sym_arena *a, const char *s, size_t len);
void sym_arena__free(struct sym_arena *a);

/* ---- ELF facts --------------------------------------------------------- */

struct sym_elf_info {
	uint8_t build_id[SYM_BUILD_ID_MAX];
	size_t build_id_len; /* 0: none */
	char debuglink[256]; /* "" : none */
	uint32_t debuglink_crc;
	bool has_symtab;    /* a .symtab with at least one entry */
	bool has_dwarf;	    /* .debug_info and .debug_line */
	bool has_debugdata; /* .gnu_debugdata (MiniDebugInfo) */
	uint64_t text_addr; /* sh_addr of .text; 0 if none */
	uint16_t e_type;
};

/* Reads what the symbolizer needs to know of @elf; 0 or -EINVAL. */
int sym_elf__info(Elf *elf, struct sym_elf_info *out);
/*
 * Writes @info's build id in lowercase hex and a NUL into @hex (room for
 * 2 * SYM_BUILD_ID_MAX + 1); returns the number of digits, 0 when none.
 */
size_t sym_elf__build_id_hex(const struct sym_elf_info *info, char *hex);
/*
 * Builds a symbol table from @elf's .symtab (else .dynsym) and, when @extra
 * is not NULL, adds @extra's .symtab (MiniDebugInfo's functions missing from
 * .dynsym). NULL + errno.
 */
struct sym_elf *sym_elf__from_elf(Elf *elf, Elf *extra);
/* Replaces the PT_LOAD table of @e by @elf's (symbols from a debug file). */
int sym_elf__set_loads(struct sym_elf *e, Elf *elf);
/* Index of the symbol containing @vaddr, or SIZE_MAX. */
size_t sym_elf__find_index(const struct sym_elf *e, uint64_t vaddr);
/* Name (and start when @start is not NULL) of symbol @idx; borrowed from @e. */
const char *sym_elf__name(const struct sym_elf *e, size_t idx, uint64_t *start);
/* Bytes held by @e. */
size_t sym_elf__memory(const struct sym_elf *e);
/* Opens @path as an ELF for reading: fd and Elf into the pointers; 0 or -errno. */
int sym_elf__begin(const char *path, int *fd, Elf **elf);
/* Raw contents of the section named @name, or NULL. */
Elf_Data *sym_elf__section(Elf *elf, const char *name);

/* ---- debug files ------------------------------------------------------- */

struct sym_debug_opts {
	const char *const *debug_dirs; /* NULL-terminated; NULL: {"/usr/lib/debug"} */
	bool debuginfod;
};

/*
 * Finds the separate debug file of a binary with @info, opened at @bin_path
 * (whose directory is searched for the debuglink): build-id dirs first, then
 * the debuglink places, then debuginfod if enabled. A candidate is used only
 * when its build-id matches (or, without one, its CRC matches the link).
 * 0 with the file in *fd and *elf, or -ENOENT.
 */
int sym_debug__find(const struct sym_debug_opts *o, const struct sym_elf_info *info,
		    const char *bin_path, int *fd, Elf **elf);
/* Decompresses .gnu_debugdata of @elf into memory: *buf (owned) and an Elf over it. */
int sym_debug__minidebuginfo(Elf *elf, char **buf, Elf **out);
/* CRC-32 as .gnu_debuglink uses it, over a whole file descriptor. */
int sym_debug__crc32_fd(int fd, uint32_t *out);

/* ---- DWARF index ------------------------------------------------------- */

struct sym_dwarf;

/* One frame of a lookup, outermost (the real function) first. */
struct sym_frame {
	const char *name;    /* borrowed from the object; demangled */
	const char *file;    /* borrowed; NULL when unknown */
	uint32_t line;	     /* 0 when unknown */
	uint32_t start_line; /* DWARF: the function's first line (decl_line); 0 = unknown */
	bool inlined;
	bool linkage; /* DWARF: the name came from a linkage name */
	uint64_t low; /* DWARF: the function's first address (its entry) */
};

/*
 * Takes ownership of @fd and @elf (also on failure). NULL + errno; E2BIG
 * when the sections libdw would hold take more than @max_bytes (0: no
 * limit).
 */
struct sym_dwarf *sym_dwarf__new(int fd, Elf *elf, size_t max_bytes);
void sym_dwarf__free(struct sym_dwarf *d);
/*
 * The function containing @vaddr and its inline chain, outermost first, with
 * file:line per frame; at most @max frames. Returns how many (0: DWARF has
 * no function there), or -ENOMEM. Strings are borrowed from @d.
 */
int sym_dwarf__lookup(struct sym_dwarf *d, uint64_t vaddr, struct sym_frame *out, int max);
/* Bytes held: the index, and what libdw and libelf hold for it. */
size_t sym_dwarf__memory(const struct sym_dwarf *d);

/* ---- demangling -------------------------------------------------------- */

/* Demangled C++/Rust name in malloc'ed memory, or NULL when not mangled. */
char *sym_demangle(const char *name);

/* ---- JIT perf maps ----------------------------------------------------- */

struct sym_perfmap;

struct sym_perfmap *sym_perfmap__new(void);
void sym_perfmap__free(struct sym_perfmap *pm);
/*
 * Reads the lines of @path appended since the last call (the file only
 * grows). 0, -ENOENT when the file does not exist, -errno.
 */
int sym_perfmap__update(struct sym_perfmap *pm, const char *path);
/* Parses perf map text ("START SIZE NAME" lines, hex) from @f; 0 or -errno. */
int sym_perfmap__parse(struct sym_perfmap *pm, FILE *f);
/* The name covering @addr, or NULL. Borrowed until the next update. */
const char *sym_perfmap__find(struct sym_perfmap *pm, uint64_t addr);
size_t sym_perfmap__count(const struct sym_perfmap *pm);

/* ---- objects ----------------------------------------------------------- */

struct sym_obj;

struct sym_obj_opts {
	struct sym_debug_opts debug;
	const char *bin_path; /* the path the file was opened through (debuglink dir) */
	bool no_dwarf;
	uint64_t max_dwarf_bytes; /* DWARF that would hold more is not read; 0: no limit */
};

/* Reads @elf (taking ownership of @fd and @elf). NULL + errno. */
struct sym_obj *sym_obj__new(int fd, Elf *elf, const struct sym_obj_opts *o);
/* An object over an ELF image in memory (the vDSO); @buf is copied. */
struct sym_obj *sym_obj__from_memory(const void *buf, size_t len);
void sym_obj__free(struct sym_obj *o);
const struct sym_elf_info *sym_obj__info(const struct sym_obj *o);
/* File offset -> the object's virtual address; 0 or -ENOENT. */
int sym_obj__offset_to_vaddr(const struct sym_obj *o, uint64_t off, uint64_t *vaddr);
/*
 * Frames for @vaddr, outermost first (DWARF when it covers the address,
 * else the symbol table); 0 when nothing names it; -ENOMEM.
 */
int sym_obj__lookup(struct sym_obj *o, uint64_t vaddr, struct sym_frame *out, int max);
/* Bytes held by @o: tables, caches, DWARF with what libdw holds (estimate). */
size_t sym_obj__memory(const struct sym_obj *o);
bool sym_obj__has_dwarf(const struct sym_obj *o);
/* The file has DWARF that was not read: over opts.max_dwarf_bytes. */
bool sym_obj__dwarf_too_big(const struct sym_obj *o);

#endif /* EMBER_SYM_INT_H */

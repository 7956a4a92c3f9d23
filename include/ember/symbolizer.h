/*
 * The symbolizer: addresses -> frames of the profile model.
 *
 * Kernel addresses resolve through a kallsyms table; user addresses through
 * the process's mappings (/proc/PID/maps, snapshotted while the process is
 * alive) and the ELF symbol tables (.symtab, else .dynsym) of the mapped
 * files, shared by every process that maps the same file.
 *
 * Paths are never hard-coded deep inside: the /proc root and the kallsyms
 * path come from struct sym_options so tests can feed fixtures.
 */
#ifndef EMBER_SYMBOLIZER_H
#define EMBER_SYMBOLIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct profile;

/* ---- kallsyms ---------------------------------------------------------- */

struct sym_ksym {
	uint64_t addr;
	const char *name;   /* borrowed, lives as long as the table */
	const char *module; /* NULL for the core kernel, else the module name */
};

struct sym_ksyms;

/* Parses kallsyms text ("ADDR TYPE NAME [MODULE]" lines); NULL + errno. */
struct sym_ksyms *sym_ksyms__parse(FILE *f);
struct sym_ksyms *sym_ksyms__load(const char *path);
void sym_ksyms__free(struct sym_ksyms *ks);
size_t sym_ksyms__count(const struct sym_ksyms *ks);
/*
 * The function symbol containing @addr (the last symbol at or below it), or
 * NULL when @addr is below the first symbol or the table has only zero
 * addresses (kptr_restrict).
 */
const struct sym_ksym *sym_ksyms__find(const struct sym_ksyms *ks, uint64_t addr);

/* ---- /proc/PID/maps ---------------------------------------------------- */

enum {
	SYM_MAP_READ = 1,
	SYM_MAP_WRITE = 2,
	SYM_MAP_EXEC = 4,
};

struct sym_map {
	uint64_t start, end; /* [start, end) */
	uint64_t pgoff;	     /* file offset of start */
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	uint32_t prot; /* SYM_MAP_* */
	char *path;    /* owned; "" for anonymous, "[vdso]", "[heap]", ... */
	bool deleted;  /* path ended in " (deleted)" (stripped from path) */
};

struct sym_maps {
	struct sym_map *v; /* sorted by start */
	size_t n;
};

/* Parses maps text; 0 or -errno (-EINVAL on a malformed line). */
int sym_maps__parse(FILE *f, struct sym_maps *out);
/* The mapping containing @addr, or NULL. */
const struct sym_map *sym_maps__find(const struct sym_maps *m, uint64_t addr);
/* Frees what @m owns and empties it; accepts an empty or zeroed struct. */
void sym_maps__clear(struct sym_maps *m);

/* ---- ELF symbol tables ------------------------------------------------- */

struct sym_elf;

/* Opens @path and loads its function symbols; NULL + errno (EINVAL: not ELF). */
struct sym_elf *sym_elf__open(const char *path);
void sym_elf__free(struct sym_elf *e);
size_t sym_elf__symbol_count(const struct sym_elf *e);
/*
 * Translates a file offset of a mapped executable segment into the ELF's own
 * virtual address, through its PT_LOAD headers. 0 or -ENOENT.
 */
int sym_elf__offset_to_vaddr(const struct sym_elf *e, uint64_t off, uint64_t *vaddr);
/*
 * The function symbol containing @vaddr; NULL if none. *start receives the
 * symbol's address when @start is not NULL. The name is borrowed from @e.
 */
const char *sym_elf__find(const struct sym_elf *e, uint64_t vaddr, uint64_t *start);

/* ---- the symbolizer ---------------------------------------------------- */

struct sym_options {
	const char *proc_root;	   /* default "/proc" */
	const char *kallsyms_path; /* default "<proc_root>/kallsyms"; "" = no kernel symbols */
};

struct sym_stats {
	uint64_t processes;	/* processes with a mapping snapshot */
	uint64_t files;		/* ELF files open */
	uint64_t user_resolved; /* user addresses named by a symbol */
	uint64_t user_unknown;	/* user addresses with no symbol */
	uint64_t kernel_resolved;
	uint64_t kernel_unknown;
};

struct symbolizer;

/* NULL + errno. A missing kallsyms is not an error (kernel frames unnamed). */
struct symbolizer *symbolizer__new(const struct sym_options *opts);
void symbolizer__free(struct symbolizer *s);

/*
 * Takes (or refreshes) the mapping snapshot of @pid from <proc_root>/PID/maps
 * while the process is alive. A process whose start time changed (pid
 * reuse) gets a fresh snapshot. 0, or -ESRCH when it has gone.
 */
int symbolizer__snapshot(struct symbolizer *s, uint32_t pid);
/* Drops the snapshot of @pid once its samples are symbolized. */
void symbolizer__forget(struct symbolizer *s, uint32_t pid);

/*
 * Resolves one address into frames added to @p, outermost first (an inline
 * chain gives several); writes at most @max frame ids into @ids and returns
 * how many, or -errno. Never fails for an unknown address: it becomes
 * "[module]" (or "[unknown]" when no mapping covers it).
 */
int symbolizer__kernel(struct symbolizer *s, struct profile *p, uint64_t addr, uint32_t *ids,
		       uint32_t max);
int symbolizer__user(struct symbolizer *s, struct profile *p, uint32_t pid, uint64_t addr,
		     uint32_t *ids, uint32_t max);

void symbolizer__stats(const struct symbolizer *s, struct sym_stats *out);

#endif /* EMBER_SYMBOLIZER_H */

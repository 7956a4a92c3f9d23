/*
 * The symbolizer: addresses -> frames of the profile model.
 *
 * Kernel addresses resolve through a kallsyms table; user addresses through
 * the process's mappings (/proc/PID/maps, snapshotted while the process is
 * alive, or fed by mmap/exec/fork/exit events) and the mapped files: ELF
 * symbol tables (.symtab, .dynsym, MiniDebugInfo), separate debug files
 * (build-id, .gnu_debuglink, debuginfod) and DWARF (inline chains,
 * file:line), shared by every process that maps the same file. The vDSO
 * comes from ember's own, JIT code from /tmp/perf-PID.map.
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
/* Bytes held by @ks (0 for NULL). */
size_t sym_ksyms__memory(const struct sym_ksyms *ks);
/*
 * The function symbol containing @addr (the last symbol at or below it) into
 * *@out, whose strings are borrowed from @ks. 0, or -ENOENT when @addr is
 * below the first symbol or the table has only zero addresses
 * (kptr_restrict).
 */
int sym_ksyms__find(const struct sym_ksyms *ks, uint64_t addr, struct sym_ksym *out);
/* The same in two steps: the symbol's index (SIZE_MAX: none), then symbol @idx. */
size_t sym_ksyms__find_index(const struct sym_ksyms *ks, uint64_t addr);
void sym_ksyms__get(const struct sym_ksyms *ks, size_t idx, struct sym_ksym *out);

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
	/* Where separate debug files live (build-id and debuglink); NULL-terminated. */
	const char *const *debug_dirs; /* NULL = {"/usr/lib/debug", NULL} */
	const char *perf_map_dir;      /* JIT maps perf-PID.map; NULL = "/tmp" */
	uint32_t max_files;	       /* files kept open (LRU); 0 = 256 */
	bool debuginfod;	       /* ask debuginfod (DEBUGINFOD_URLS) for missing debug info */
	bool no_dwarf;		       /* symbol tables only: no inline chains, no file:line */
	/*
	 * Memory budget of the files' objects: symbol tables, DWARF (what libdw
	 * holds, inflated sections included, and the index over it), address
	 * caches (sym_stats.memory). Past it, the least recently used objects
	 * are closed, even while processes map their files: the next address
	 * in such a file opens it again, so no name is lost. DWARF that would
	 * take more than an eighth of it is not read (the symbol tables name
	 * that file's functions). The object in use may exceed it during one
	 * lookup; symbolizer__window_done holds it strictly.
	 * 0 = SYM_DEFAULT_MAX_BYTES.
	 */
	uint64_t max_bytes;
};

#define SYM_DEFAULT_MAX_BYTES (256ull << 20)

struct sym_stats {
	uint64_t processes;	 /* processes with mappings known */
	uint64_t generations;	 /* programs kept, including exited or exec'ed ones */
	uint64_t files;		 /* ELF files open (cache entries with symbols) */
	uint64_t objects;	 /* distinct files (by build-id) open */
	uint64_t file_hits;	 /* lookups that found their file open */
	uint64_t file_misses;	 /* lookups that had to open (or failed to open) a file */
	uint64_t file_evictions; /* files closed by the LRU */
	uint64_t dwarf_files;	 /* open objects with DWARF */
	uint64_t user_resolved;	 /* user addresses named by a symbol */
	uint64_t user_unknown;	 /* user addresses with no symbol */
	uint64_t inline_frames;	 /* inlined frames produced */
	uint64_t jit_resolved;	 /* addresses named by a perf map */
	uint64_t kernel_resolved;
	uint64_t kernel_unknown;
	uint64_t proc_reads;	   /* /proc/PID/maps snapshots taken */
	uint64_t memory;	   /* bytes held by open objects (sym_options.max_bytes) */
	uint64_t max_bytes;	   /* the budget in effect */
	uint64_t budget_evictions; /* objects closed to stay within the budget */
	uint64_t dwarf_too_big;	   /* files whose DWARF was not read: over 1/8 of the budget */
	uint64_t kernel_memory;	   /* bytes of the kallsyms table (outside the budget) */
};

struct symbolizer;

/* NULL + errno. A missing kallsyms is not an error (kernel frames unnamed). */
struct symbolizer *symbolizer__new(const struct sym_options *opts);
void symbolizer__free(struct symbolizer *s);

/*
 * Takes the mapping snapshot of @pid from <proc_root>/PID/maps while the
 * process is alive, or refreshes it. A process whose start time changed (pid
 * reuse) gets a new generation. When the symbolizer is fed process events
 * (below), a process it follows from birth is not read again. 0, or -ESRCH
 * when it has gone.
 */
int symbolizer__snapshot(struct symbolizer *s, uint32_t pid);
/* Drops everything known of @pid at once. */
void symbolizer__forget(struct symbolizer *s, uint32_t pid);

/*
 * Process events (PERF_RECORD_MMAP2, COMM with the exec flag, FORK, EXIT;
 * see profiler/mmap_events.h), in the order they happened. With them, a
 * process that lived between two drains is still symbolized: its mappings
 * are known without reading /proc.
 *
 *   symbolizer__mmap  @pid mapped @m (executable mappings; m->path "" or
 *                     "//anon" for anonymous memory); copied.
 *   symbolizer__exec  @pid runs a new program: a new generation starts with
 *                     no mappings; the previous one is kept until the next
 *                     symbolizer__window_done, for samples taken before.
 *   symbolizer__fork  @pid is a new process, a copy of @ppid's mappings.
 *   symbolizer__exit  @pid ended; kept until the next symbolizer__window_done.
 *
 * 0 or -ENOMEM.
 */
int symbolizer__mmap(struct symbolizer *s, uint32_t pid, const struct sym_map *m);
int symbolizer__exec(struct symbolizer *s, uint32_t pid);
int symbolizer__fork(struct symbolizer *s, uint32_t ppid, uint32_t pid);
void symbolizer__exit(struct symbolizer *s, uint32_t pid);
/*
 * Call after the samples of a drain are symbolized: programs that ended
 * (exit, exec) before the drain are dropped. Samples carry only a pid, so
 * until then an address that the current program of a pid does not map is
 * looked up in the previous ones.
 */
void symbolizer__window_done(struct symbolizer *s);

/*
 * Resolves one address into frames added to @p, outermost first: the
 * function, then the functions inlined into it down to the innermost
 * (PROFILE_FRAME_INLINE), each with file:line where DWARF has it. Writes at
 * most @max frame ids into @ids (the innermost ones when the chain is
 * longer) and returns how many, or -errno. Never fails for an unknown
 * address: it becomes "[module]" (or "[unknown]" when no mapping covers it).
 * JIT code named by /tmp/perf-PID.map gives PROFILE_FRAME_JIT frames.
 */
int symbolizer__kernel(struct symbolizer *s, struct profile *p, uint64_t addr, uint32_t *ids,
		       uint32_t max);
int symbolizer__user(struct symbolizer *s, struct profile *p, uint32_t pid, uint64_t addr,
		     uint32_t *ids, uint32_t max);

void symbolizer__stats(const struct symbolizer *s, struct sym_stats *out);
/* The budget in effect (sym_options.max_bytes, or its default). */
uint64_t symbolizer__max_bytes(const struct symbolizer *s);

/* ---- mappings, for the DWARF unwinder ---------------------------------- */

/*
 * One mapping of a process, as the unwinder needs it to find a file's CFI.
 *
 * How to use it: for each pc of a stack, call symbolizer__open_mapped(s, pid,
 * pc, &fd, &m). On 0 you own @fd (close it; the symbolizer keeps no copy) and
 * get the file's ELF (read .eh_frame_hdr/.eh_frame/.debug_frame from it) and
 * m.load_bias: the pc in the ELF's own addresses is pc - m.load_bias (for
 * libunwind's unw_dyn_info: segbase and table addresses are vaddr + bias).
 * -ENOENT: no file maps @addr (anonymous memory, [vdso], ...); use
 * symbolizer__mapping to tell which. Cache per (pid, start) in the unwinder;
 * the mapping snapshot is the symbolizer's, so it also works for processes that
 * have exited since (then the file is opened by its plain path, which may
 * have changed, or not at all: -ENOENT).
 */
struct sym_mapping {
	uint64_t start, end; /* [start, end) in the process */
	uint64_t pgoff;	     /* file offset of start */
	/*
	 * A path that opens the mapped file from ember's mount namespace:
	 * <proc_root>/PID/map_files/START-END or <proc_root>/PID/root/PATH while
	 * the process lives, else the path from the maps. Borrowed until the
	 * next call on the symbolizer.
	 */
	const char *path;
	const char *name;   /* the mapping's name as the process sees it (maps) */
	uint64_t load_bias; /* runtime address - ELF virtual address; valid if has_bias */
	bool is_file;	    /* backed by a file (path names it) */
	bool is_special;    /* [vdso], [stack], [heap], [vsyscall], ... */
	bool has_bias;	    /* the file was read as ELF and its PT_LOAD covers pgoff */
};

/*
 * The mapping of @pid containing @addr (snapshot taken on first sight, as for
 * symbolizer__user). Fills @out; 0 or -ENOENT (no mapping covers @addr),
 * -ENOMEM.
 */
int symbolizer__mapping(struct symbolizer *s, uint32_t pid, uint64_t addr, struct sym_mapping *out);
/*
 * Like symbolizer__mapping, and opens the mapped file: *@fd receives a new
 * O_RDONLY|O_CLOEXEC descriptor the caller owns. 0, -ENOENT (no file-backed
 * mapping at @addr), or -errno from open.
 */
int symbolizer__open_mapped(struct symbolizer *s, uint32_t pid, uint64_t addr, int *fd,
			    struct sym_mapping *out);

#endif /* EMBER_SYMBOLIZER_H */

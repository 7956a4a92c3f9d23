/*
 * The unwinder: user stack snapshots -> frame addresses.
 *
 * In dwarf mode the BPF program hands userspace a sample's user registers
 * (ip, sp, bp) and a copy of the top of its user stack. The unwinder walks
 * that copy with the call frame information (CFI) of the mapped files:
 * .eh_frame_hdr/.eh_frame, else .debug_frame, read from the files themselves
 * (never from the process's memory, so samples of a process that has exited
 * still unwind). Code with no CFI (JIT code, hand-written assembly) is walked
 * through its frame pointer when that points into the snapshot.
 *
 * This is the one interface callers use: an in-kernel unwinder can replace
 * the implementation (libunwind's remote API today) without touching them.
 *
 * Mappings come from the symbolizer (symbolizer__open_mapped), which keeps
 * them after a process exits. The unwinder caches, per file, the unwind tables
 * (bounded: an LRU of unreferenced files) and, per process, which file maps
 * which range and the CFI rows of the functions seen (bounded: an LRU of
 * processes, and a cap on rows), all within a memory budget
 * (unwinder_opts.max_bytes). Not thread-safe: one thread drives an unwinder.
 */
#ifndef EMBER_UNWIND_H
#define EMBER_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct symbolizer;

/* A sample to unwind. Everything is borrowed for the call. */
struct unwinder_sample {
	uint32_t pid;
	uint64_t ip, sp, bp;  /* user registers when the sample was taken */
	const uint8_t *stack; /* stack_len bytes copied from sp upwards */
	uint32_t stack_len;
	/*
	 * The copy stopped at the size limit, not at the end of the stack: a
	 * read past it means the stack goes on beyond the snapshot (truncated).
	 */
	bool stack_full;
};

enum unwinder_end {
	UNWINDER_END_OUTERMOST = 0, /* reached the outermost frame (_start, a thread's start) */
	UNWINDER_END_TRUNCATED = 1, /* the snapshot or the frame limit ended it early */
	UNWINDER_END_ERROR = 2,	    /* no unwind info or unreadable memory mid-stack */
};

enum unwinder_frame_flags {
	/*
	 * The address is where the frame was executing (the leaf, a signal
	 * trampoline, the frame a signal interrupted), not a return address:
	 * symbolize it as is. Other addresses return after a call; symbolize
	 * them at address - 1 to name the call.
	 */
	UNWINDER_FRAME_EXACT = 1,
	UNWINDER_FRAME_FP = 2, /* found by walking the frame pointer (no CFI) */
};

/* The result of one unwind: caller-provided arrays of @max entries. */
struct unwinder_stack {
	uint64_t *pcs;	/* frame addresses, leaf first */
	uint8_t *flags; /* enum unwinder_frame_flags per frame */
	uint32_t max;	/* capacity of pcs and flags */
	uint32_t n;	/* frames written */
	uint32_t end;	/* enum unwinder_end */
};

struct unwinder_opts {
	uint32_t max_procs; /* processes with cached state; 0 = default (256) */
	uint32_t max_files; /* unreferenced files kept open; 0 = default (64) */
	/*
	 * Memory budget: processes' mappings and CFI rows, files' tables, the
	 * pages of mapped files read (unwinder_stats.memory). Past it, the
	 * least recently used give their state up; the process being unwound
	 * is spared. 0 = a quarter of the symbolizer's budget
	 * (symbolizer__max_bytes), so one setting bounds both; at least 512 KiB.
	 */
	uint64_t max_bytes;
};

struct unwinder_stats {
	uint64_t samples;
	uint64_t frames;
	uint64_t outermost; /* samples that reached the outermost frame */
	uint64_t truncated;
	uint64_t errors;
	uint64_t fp_steps;	/* frames found through the frame pointer */
	uint64_t files;		/* files with unwind tables open now */
	uint64_t procs;		/* processes with cached state now */
	uint64_t no_info;	/* lookups of code with no CFI */
	uint64_t memory;	/* bytes held now (read pages of mapped files included) */
	uint64_t max_bytes;	/* the budget in effect */
	uint64_t rows_dropped;	/* processes' CFI rows dropped to stay in the budget */
	uint64_t files_closed;	/* idle files closed to stay in the budget */
	uint64_t procs_dropped; /* processes' state dropped to stay in the budget */
};

struct unwinder;

/*
 * The unwinder borrows @sym (it must outlive the unwinder) to find which file
 * maps an address. NULL + errno.
 */
struct unwinder *unwinder__new(struct symbolizer *sym, const struct unwinder_opts *opts);
void unwinder__free(struct unwinder *u);

/*
 * Unwinds @in into @out (pcs, flags, max set by the caller; n and end set
 * here). Never fails for a bad stack: it ends early with end set. 0, or
 * -ENOMEM when the caches could not grow.
 */
int unwinder__unwind(struct unwinder *u, const struct unwinder_sample *in,
		     struct unwinder_stack *out);

/* Drops what is cached about @pid (it exec'ed, exited or its pid was reused). */
void unwinder__forget(struct unwinder *u, uint32_t pid);

void unwinder__stats(const struct unwinder *u, struct unwinder_stats *out);

#endif /* EMBER_UNWIND_H */

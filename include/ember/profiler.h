/*
 * The profiler: owns the BPF skeleton (the only module that touches it),
 * drains raw samples out of the kernel, turns them into the profile model
 * through the symbolizer, and holds the command line.
 *
 *   prof_sampler   loads/attaches the BPF programs, opens one cpu-clock perf
 *                  event per online CPU, flips and drains the count maps,
 *                  delivers process events and (dwarf mode) user stack
 *                  snapshots.
 *   prof_collector raw samples -> profile, symbolizing each unique address
 *                  once per profile; unwinds snapshots and counts identical
 *                  stacks before symbolizing them.
 */
#ifndef EMBER_PROFILER_H
#define EMBER_PROFILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember/bpf_abi.h"

struct profile;
struct profile_lost;
struct symbolizer;

/* ---- sampler ----------------------------------------------------------- */

struct prof_sampler_opts {
	uint32_t freq_hz;
	bool all;	   /* every task, not just targets */
	bool follow_forks; /* children of targets become targets */
	bool kernel_stacks;
	bool user_stacks;
	bool per_thread; /* keep thread ids apart */
	bool include_idle;
	uint32_t stack_entries; /* stack map entries per buffer; 0 = default */
	uint32_t count_entries; /* count map entries per buffer; 0 = default */
	/*
	 * dwarf mode: user stacks are not walked in the kernel; each sample of a
	 * user task sends its registers and stack_size bytes of stack (0 =
	 * EMBER_USTACK_DEFAULT) to userspace, delivered by prof_sampler__poll.
	 */
	bool dwarf;
	uint32_t stack_size;
	uint32_t ring_bytes; /* snapshot ring buffer size; 0 = from freq, CPUs, stack_size */
};

/* Parses "fp" or "dwarf" into *dwarf; 0 or -EINVAL. */
int prof_unwind__parse(const char *s, bool *dwarf);

/* dwarf mode: one sample of a user task, as the BPF program copied it. */
struct prof_ustack {
	uint32_t pid, tid;
	char comm[EMBER_COMM_LEN];
	uint64_t ip, sp, bp; /* user registers */
	/* Borrowed for the callback: stack_len bytes of stack from sp upwards. */
	const uint8_t *stack;
	uint32_t stack_len;
	uint32_t stack_size;  /* the configured size: stack_len == stack_size is a full copy */
	const uint64_t *kips; /* kernel stack, leaf first; borrowed for the callback */
	uint32_t nk;
	uint32_t flags; /* enum ember_ustack_flags */
};

/* One drained sample: a (task, stacks) key and how many ticks it got. */
struct prof_raw_sample {
	uint32_t pid, tid;
	char comm[EMBER_COMM_LEN];
	uint64_t count;
	const uint64_t *kips; /* kernel stack, leaf first; borrowed for the callback */
	uint32_t nk;
	const uint64_t *uips; /* user stack, leaf first */
	uint32_t nu;
};

typedef int (*prof_sample_fn)(const struct prof_raw_sample *s, void *ctx);
typedef void (*prof_event_fn)(const struct ember_proc_event *ev, void *ctx);
typedef int (*prof_ustack_fn)(const struct prof_ustack *u, void *ctx);

struct prof_sampler;

/* Opens and loads the BPF programs; NULL + errno, with the reason logged. */
struct prof_sampler *prof_sampler__new(const struct prof_sampler_opts *opts);
void prof_sampler__free(struct prof_sampler *s);
/* Adds a process (tgid) to the target set. 0 or -errno. */
int prof_sampler__add_target(struct prof_sampler *s, uint32_t pid);
/* Attaches the tracepoints and starts one perf event per online CPU. */
int prof_sampler__start(struct prof_sampler *s);
/* Stops sampling (detaches the perf events); draining still works. */
void prof_sampler__stop(struct prof_sampler *s);
/*
 * dwarf mode: where prof_sampler__poll and prof_sampler__drain deliver
 * snapshots (e.g. prof_collector__ustack_fn with the collector). Snapshots
 * taken before a process event are delivered before that event.
 */
void prof_sampler__set_ustack_fn(struct prof_sampler *s, prof_ustack_fn fn, void *ctx);
/*
 * dwarf mode: called (with @ctx) each time before queued snapshots are
 * handed over, to read what was written before them elsewhere: the mmap
 * events naming the code a snapshot's stack runs through (a process's new
 * libraries would otherwise be unknown to its first snapshots).
 */
void prof_sampler__set_ustack_prepare(struct prof_sampler *s, void (*fn)(void *ctx), void *ctx);
/*
 * Waits up to @timeout_ms for process events and hands each to @fn; in dwarf
 * mode also hands every queued snapshot to the ustack callback.
 */
int prof_sampler__poll(struct prof_sampler *s, int timeout_ms, prof_event_fn fn, void *ctx);
/*
 * Flips the buffers, waits for in-flight programs, and hands every sample
 * counted since the last drain to @fn, then clears that buffer. Returns the
 * number of samples (sum of counts) or -errno.
 */
int64_t prof_sampler__drain(struct prof_sampler *s, prof_sample_fn fn, void *ctx);
/* Cumulative loss counters since start. */
void prof_sampler__lost(struct prof_sampler *s, struct profile_lost *out);
/* Cumulative samples counted by the kernel since start (snapshots included). */
uint64_t prof_sampler__samples(struct prof_sampler *s);
/*
 * dwarf mode, cumulative since start: snapshots sent, user stack bytes copied,
 * and CPU time this thread spent handing snapshots to the ustack callback
 * (unwinding and counting them, with the collector's).
 */
void prof_sampler__ustack_stats(struct prof_sampler *s, uint64_t *snapshots, uint64_t *bytes,
				uint64_t *cpu_ns);
/*
 * Runs of the sampling program and the time they took, as the kernel counts
 * them (only while sysctl kernel.bpf_stats_enabled is 1). 0 or -errno.
 */
int prof_sampler__prog_stats(struct prof_sampler *s, uint64_t *runs, uint64_t *run_ns);

/* ---- collector --------------------------------------------------------- */

struct prof_collector_opts {
	bool per_thread;
	bool proc_facts; /* fill each task's exe, cgroup and start time from /proc */
};

struct prof_collector;

/* The collector borrows @sym; it must outlive the collector. */
struct prof_collector *prof_collector__new(struct symbolizer *sym,
					   const struct prof_collector_opts *opts);
void prof_collector__free(struct prof_collector *c);
/*
 * Targets @p for the following adds. The address cache holds frame ids of
 * one profile, so every call empties it: call it once per new profile.
 */
void prof_collector__set_profile(struct prof_collector *c, struct profile *p);
/* Symbolizes @s and adds it to the current profile. 0 or -errno. */
int prof_collector__add(struct prof_collector *c, const struct prof_raw_sample *s);
/* Forgets cached addresses of @pid (it exec'ed or its pid was reused). */
void prof_collector__invalidate(struct prof_collector *c, uint32_t pid);
/* Forgets everything about @pid, addresses and process facts (it exec'ed or exited). */
void prof_collector__forget(struct prof_collector *c, uint32_t pid);
/*
 * dwarf mode: unwinds @u and counts its stack; identical stacks are counted
 * together and symbolized once, at the next flush. 0 or -errno.
 */
int prof_collector__add_ustack(struct prof_collector *c, const struct prof_ustack *u);
/* The same, as a prof_ustack_fn (@ctx is the collector). */
int prof_collector__ustack_fn(const struct prof_ustack *u, void *ctx);
/*
 * Symbolizes the stacks counted by add_ustack since the last flush into the
 * current profile. Call it after each prof_sampler__drain (so a profile is
 * complete when it is finished), and before invalidate/forget of a pid whose
 * mappings the symbolizer is about to refresh or drop (an exec): the counted
 * stacks still hold the old program's addresses. 0 or -errno.
 */
int prof_collector__flush(struct prof_collector *c);
/* Adds the collector's own cumulative counters (truncated stacks) into @l. */
void prof_collector__lost(const struct prof_collector *c, struct profile_lost *l);
/* Unwinder counters (dwarf mode); zeros before the first snapshot. */
struct unwinder_stats;
void prof_collector__unwind_stats(const struct prof_collector *c, struct unwinder_stats *out);

/* ---- commands ---------------------------------------------------------- */

int prof_cmd_profile(int argc, char **argv);
int prof_cmd_daemon(int argc, char **argv);
int prof_cmd_export(int argc, char **argv);
int prof_cmd_convert(int argc, char **argv);
int prof_cmd_import(int argc, char **argv);
int prof_cmd_serve(int argc, char **argv);

#endif /* EMBER_PROFILER_H */

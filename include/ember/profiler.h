/*
 * The profiler: owns the BPF skeleton (the only module that touches it),
 * drains raw samples out of the kernel, turns them into the profile model
 * through the symbolizer, and holds the command line.
 *
 *   prof_sampler   loads/attaches the BPF programs, opens one cpu-clock perf
 *                  event per online CPU, flips and drains the count maps,
 *                  delivers process events.
 *   prof_collector raw samples -> profile, symbolizing each unique address
 *                  once per profile.
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
/* Waits up to @timeout_ms for process events and hands each to @fn. */
int prof_sampler__poll(struct prof_sampler *s, int timeout_ms, prof_event_fn fn, void *ctx);
/*
 * Flips the buffers, waits for in-flight programs, and hands every sample
 * counted since the last drain to @fn, then clears that buffer. Returns the
 * number of samples (sum of counts) or -errno.
 */
int64_t prof_sampler__drain(struct prof_sampler *s, prof_sample_fn fn, void *ctx);
/* Cumulative loss counters since start. */
void prof_sampler__lost(struct prof_sampler *s, struct profile_lost *out);
/* Cumulative samples counted by the kernel since start. */
uint64_t prof_sampler__samples(struct prof_sampler *s);

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
 * Targets @p for the following adds: the address cache holds frame ids of
 * one profile, so it is emptied when the profile changes.
 */
void prof_collector__set_profile(struct prof_collector *c, struct profile *p);
/* Symbolizes @s and adds it to the current profile. 0 or -errno. */
int prof_collector__add(struct prof_collector *c, const struct prof_raw_sample *s);
/* Forgets cached addresses of @pid (it exec'ed or its pid was reused). */
void prof_collector__invalidate(struct prof_collector *c, uint32_t pid);
/* Forgets everything about @pid, addresses and process facts (it exec'ed or exited). */
void prof_collector__forget(struct prof_collector *c, uint32_t pid);

/* ---- commands ---------------------------------------------------------- */

int prof_cmd_profile(int argc, char **argv);
int prof_cmd_daemon(int argc, char **argv);
int prof_cmd_export(int argc, char **argv);

#endif /* EMBER_PROFILER_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * ember's sampler. A perf_event program runs on every cpu-clock tick of every
 * CPU; it keeps the ticks of target processes (or of every non-idle task with
 * filter_pids off), takes the kernel and user stack ids and counts identical
 * (task, stacks) keys in a hash map, so frame-pointer mode costs one map
 * update per sample.
 *
 * Buffers come in pairs (counts0/stacks0, counts1/stacks1): the program writes
 * to the pair active_buf names; userspace flips active_buf, waits for running
 * programs to finish (an update of sync_outer waits for an RCU grace period),
 * then drains and clears the idle pair without racing the writers.
 *
 * Tracepoints follow forks of targets (follow_forks), and report exec, fork
 * and exit of tracked processes through the events ring buffer so userspace
 * can snapshot their mappings while they are alive.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "ember/bpf_abi.h"

#define EEXIST	   17
#define ENOMEM	   12
#define EFAULT	   14
#define PF_KTHREAD 0x00200000

char LICENSE[] SEC("license") = "GPL";

const volatile bool filter_pids = true;
const volatile bool include_idle = false;
const volatile bool kernel_stacks = true;
const volatile bool user_stacks = true;
const volatile bool record_tid = true;
const volatile bool follow_forks = false;
const volatile bool events_all = false;

/* Written by userspace between drains; read on every sample. */
__u32 active_buf = 0;

struct stack_map {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, EMBER_MAX_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, 8192);
};

struct count_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct ember_sample_key);
	__type(value, __u64);
	__uint(max_entries, 16384);
};

struct stack_map stacks0 SEC(".maps");
struct stack_map stacks1 SEC(".maps");
struct count_map counts0 SEC(".maps");
struct count_map counts1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, 4096);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, EMBER_STAT__MAX);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Only for its update's grace-period wait; never read by the programs. */
struct sync_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} sync_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct sync_inner);
} sync_outer SEC(".maps") = {
	.values = {&sync_inner},
};

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1;
}

static __always_inline void stack_err(long err, __u32 collision, __u32 full, __u32 other)
{
	if (err == -EEXIST)
		stat_inc(collision);
	else if (err == -ENOMEM)
		stat_inc(full);
	else
		stat_inc(other);
}

static __always_inline void record(struct bpf_perf_event_data *ctx, void *stacks, void *counts,
				   struct ember_sample_key *key)
{
	__u64 one = 1, *cnt;
	long id, err;

	key->kstack_id = -1;
	key->ustack_id = -1;
	if (kernel_stacks) {
		id = bpf_get_stackid(ctx, stacks, 0);
		if (id >= 0)
			key->kstack_id = id;
		else if (id != -EFAULT) /* -EFAULT: the tick hit user mode */
			stack_err(id, EMBER_STAT_KSTACK_COLLISION, EMBER_STAT_KSTACK_FULL,
				  EMBER_STAT_KSTACK_ERR);
	}
	if (user_stacks) {
		id = bpf_get_stackid(ctx, stacks, BPF_F_USER_STACK);
		if (id >= 0) {
			key->ustack_id = id;
		} else {
			struct task_struct *task = (void *)bpf_get_current_task();

			/* Kernel threads have no user stack: not a loss. */
			if (!(BPF_CORE_READ(task, flags) & PF_KTHREAD))
				stack_err(id, EMBER_STAT_USTACK_COLLISION, EMBER_STAT_USTACK_FULL,
					  EMBER_STAT_USTACK_ERR);
		}
	}

	cnt = bpf_map_lookup_elem(counts, key);
	if (cnt) {
		__sync_fetch_and_add(cnt, 1);
		stat_inc(EMBER_STAT_SAMPLES);
		return;
	}
	err = bpf_map_update_elem(counts, key, &one, BPF_NOEXIST);
	if (err == -EEXIST) {
		/* Another CPU inserted the same key first. */
		cnt = bpf_map_lookup_elem(counts, key);
		if (cnt)
			__sync_fetch_and_add(cnt, 1);
		err = cnt ? 0 : -ENOMEM;
	}
	if (err)
		stat_inc(EMBER_STAT_COUNT_MAP_FULL);
	else
		stat_inc(EMBER_STAT_SAMPLES);
}

SEC("perf_event")
int ember_sample(struct bpf_perf_event_data *ctx)
{
	struct ember_sample_key key = {};
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;

	if (tid == 0 && !include_idle) {
		stat_inc(EMBER_STAT_IDLE);
		return 0;
	}
	if (filter_pids && !bpf_map_lookup_elem(&targets, &tgid))
		return 0;

	key.pid = tgid;
	key.tid = record_tid ? tid : tgid;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	if (*(volatile __u32 *)&active_buf & 1)
		record(ctx, &stacks1, &counts1, &key);
	else
		record(ctx, &stacks0, &counts0, &key);
	return 0;
}

static __always_inline bool tracked(__u32 tgid)
{
	return events_all || bpf_map_lookup_elem(&targets, &tgid);
}

static __always_inline void emit(__u32 type, struct task_struct *task, __u32 ppid)
{
	struct ember_proc_event *ev;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		stat_inc(EMBER_STAT_EVENTS_LOST);
		return;
	}
	ev->type = type;
	ev->pid = BPF_CORE_READ(task, tgid);
	ev->ppid = ppid;
	ev->_pad = 0;
	ev->start_time = BPF_CORE_READ(task, group_leader, start_boottime);
	BPF_CORE_READ_STR_INTO(&ev->comm, task, comm);
	bpf_ringbuf_submit(ev, 0);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ember_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u8 one = 1;

	if (ptgid == ctgid) /* a new thread: sampled through its tgid already */
		return 0;
	if (!bpf_map_lookup_elem(&targets, &ptgid)) {
		if (events_all)
			emit(EMBER_EV_FORK, child, ptgid);
		return 0;
	}
	if (follow_forks)
		bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY);
	emit(EMBER_EV_FORK, child, ptgid);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ember_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (tracked(p->tgid))
		emit(EMBER_EV_EXEC, p, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ember_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;

	/* Only the last thread of a process ends it. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	if (!tracked(tgid))
		return 0;
	emit(EMBER_EV_EXIT, p, 0);
	if (follow_forks)
		bpf_map_delete_elem(&targets, &tgid);
	return 0;
}

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
 *
 * dwarf mode (dwarf_mode): a user task's tick is not counted here; instead
 * its user registers, up to ustack_size bytes of its user stack and its
 * kernel ips go into the ustacks ring buffer as one record (layout in
 * ember/bpf_abi.h), which userspace unwinds with the files' CFI. Kernel
 * threads have no user stack and are still counted in the maps.
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
/* dwarf mode: see the header comment. */
const volatile bool dwarf_mode = false;
const volatile __u32 ustack_size = EMBER_USTACK_DEFAULT; /* multiple of 8, <= EMBER_USTACK_MAX */
/* Wake the reader once this many bytes wait; below that it polls on its own. */
const volatile __u64 ustack_wakeup_bytes = 256 * 1024;

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

/* Records of dwarf mode; sized from the frequency and CPU count before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} ustacks SEC(".maps");

/*
 * A record is built here, then copied into ustacks at its real length:
 * reserving the largest size for every sample would waste most of the ring.
 * One slot per CPU (max_entries set to the possible CPUs before load); a
 * per-CPU array cannot hold values this large. A perf_event program does not
 * nest on a CPU, so the slot is never shared.
 */
struct ustack_scratch {
	struct ember_ustack_hdr hdr;
	/* The copy loop may be seen writing two pages past the limit; kernel ips follow. */
	__u8 data[EMBER_USTACK_MAX + 2 * EMBER_USTACK_CHUNK + EMBER_MAX_STACK_DEPTH * 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct ustack_scratch);
	__uint(max_entries, 1);
} ustack_scratch SEC(".maps");

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

static __always_inline void stat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += n;
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

/* True when the tick interrupted user mode, so ctx->regs are the user registers. */
static __always_inline bool tick_in_user(struct bpf_perf_event_data *ctx)
{
	/* Context fields must be read whole: volatile keeps clang from narrowing the load. */
#if defined(__TARGET_ARCH_x86)
	return (*(volatile __u64 *)&ctx->regs.cs & 3) == 3;
#elif defined(__TARGET_ARCH_arm64)
	return (*(volatile __u64 *)&ctx->regs.pstate & 0xf) == 0; /* PSR_MODE_EL0t */
#else
	return false;
#endif
}

/*
 * Copies the user stack from @sp upwards into @dst, one page at a time so the
 * copy ends exactly where the stack mapping does (a read that crosses the end
 * of a mapping fails whole). Returns the bytes copied, a multiple of 8.
 */
static __always_inline __u32 copy_stack(__u8 *dst, __u64 sp)
{
	__u64 len = 0, chunk;

	for (int i = 0; i < EMBER_USTACK_MAX / EMBER_USTACK_CHUNK + 1; i++) {
		barrier_var(len);
		if (len >= ustack_size || len >= EMBER_USTACK_MAX)
			break;
		/* Up to the next page boundary, then a page at a time. */
		chunk = EMBER_USTACK_CHUNK - ((sp + len) & (EMBER_USTACK_CHUNK - 1));
		if (chunk > ustack_size - len)
			chunk = ustack_size - len;
		/* A no-op (chunk <= one page) that gives the verifier its bound. */
		barrier_var(chunk);
		chunk &= 2 * EMBER_USTACK_CHUNK - 1;
		if (bpf_probe_read_user(dst + len, chunk, (void *)(sp + len)))
			break;
		len += chunk;
	}
	if (len > EMBER_USTACK_MAX)
		len = EMBER_USTACK_MAX;
	return len & ~7u;
}

/*
 * dwarf mode: sends the user registers, stack and kernel ips of the current
 * task as one ustacks record. Returns 0 when the sample is handled (sent or
 * counted as lost), -1 when it must go through the count maps instead (a
 * kernel thread: no user stack).
 */
static __always_inline int snapshot(struct bpf_perf_event_data *ctx, struct ember_sample_key *key)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ustack_scratch *sc;
	struct pt_regs *regs;
	__u32 cpu, len;
	__u64 flags, size;
	long n;

	if (task->flags & PF_KTHREAD)
		return -1;
	cpu = bpf_get_smp_processor_id();
	sc = bpf_map_lookup_elem(&ustack_scratch, &cpu);
	if (!sc) {
		stat_inc(EMBER_STAT_USTACK_SCRATCH);
		return 0;
	}
	sc->hdr.pid = key->pid;
	sc->hdr.tid = key->tid;
	bpf_get_current_comm(sc->hdr.comm, sizeof(sc->hdr.comm));
	sc->hdr.flags = 0;
	if (tick_in_user(ctx)) {
		sc->hdr.ip = PT_REGS_IP(&ctx->regs);
		sc->hdr.sp = PT_REGS_SP(&ctx->regs);
		sc->hdr.bp = PT_REGS_FP(&ctx->regs);
	} else {
		/* In a system call or an interrupt: the registers saved on entry. */
		regs = (struct pt_regs *)bpf_task_pt_regs(task);
		sc->hdr.ip = PT_REGS_IP_CORE(regs);
		sc->hdr.sp = PT_REGS_SP_CORE(regs);
		sc->hdr.bp = PT_REGS_FP_CORE(regs);
		sc->hdr.flags |= EMBER_USF_KERNEL_TICK;
	}
	sc->hdr.stack_size = ustack_size;
	len = copy_stack(sc->data, sc->hdr.sp);
	if (!len)
		sc->hdr.flags |= EMBER_USF_USER_FAULT;
	sc->hdr.stack_len = len;
	sc->hdr._pad = 0;
	sc->hdr.time_ns = bpf_ktime_get_ns();

	sc->hdr.nr_kips = 0;
	if (kernel_stacks) {
		n = bpf_get_stack(ctx, sc->data + len, EMBER_MAX_STACK_DEPTH * 8, 0);
		if (n > 0)
			sc->hdr.nr_kips = n / 8;
		else if (n != -EFAULT && n != 0) /* -EFAULT: the tick hit user mode */
			stat_inc(EMBER_STAT_KSTACK_ERR);
	}

	size = sizeof(sc->hdr) + (__u64)len + (__u64)sc->hdr.nr_kips * 8;
	/* One register for the check and the call, so the verifier sees the bound. */
	barrier_var(size);
	if (size > sizeof(*sc))
		return 0;
	flags = bpf_ringbuf_query(&ustacks, BPF_RB_AVAIL_DATA) >= ustack_wakeup_bytes
			? BPF_RB_FORCE_WAKEUP
			: BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&ustacks, sc, size, flags)) {
		stat_inc(EMBER_STAT_USTACK_RB_FULL);
		return 0;
	}
	stat_inc(EMBER_STAT_USTACK_SENT);
	stat_add(EMBER_STAT_USTACK_BYTES, len);
	return 0;
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
	if (dwarf_mode && snapshot(ctx, &key) == 0)
		return 0;
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

/*
 * Layouts shared by the BPF programs (bpf/ember.bpf.c) and userspace
 * (profiler/sampler.c). Fixed-width types, explicit padding, sizes checked at
 * compile time on both sides: a mismatch is a build error, not a corrupt
 * sample.
 */
#ifndef EMBER_BPF_ABI_H
#define EMBER_BPF_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define EMBER_COMM_LEN 16
/* Matches the kernel's default kernel.perf_event_max_stack. */
#define EMBER_MAX_STACK_DEPTH 127

/* Key of the in-kernel count map: one entry per distinct (task, stacks). */
struct ember_sample_key {
	__u32 pid;	 /* tgid */
	__u32 tid;	 /* thread id, or the tgid when threads are not recorded */
	__s32 kstack_id; /* <0: no kernel stack */
	__s32 ustack_id; /* <0: no user stack */
	char comm[EMBER_COMM_LEN];
};
_Static_assert(sizeof(struct ember_sample_key) == 32, "ember_sample_key layout");

/* Per-CPU counters; every sample that is not recorded whole lands in one. */
enum ember_stat {
	EMBER_STAT_SAMPLES = 0,	     /* samples counted in the count map */
	EMBER_STAT_IDLE,	     /* idle-task samples skipped */
	EMBER_STAT_KSTACK_COLLISION, /* kernel stack id: hash collision (-EEXIST) */
	EMBER_STAT_USTACK_COLLISION,
	EMBER_STAT_KSTACK_FULL, /* kernel stack id: no free entry (-ENOMEM) */
	EMBER_STAT_USTACK_FULL,
	EMBER_STAT_KSTACK_ERR,	   /* any other kernel stack error */
	EMBER_STAT_USTACK_ERR,	   /* user stack unreadable for a user task */
	EMBER_STAT_COUNT_MAP_FULL, /* sample lost: the count map was full */
	EMBER_STAT_EVENTS_LOST,	   /* process event lost: ring buffer full */
	/* dwarf mode */
	EMBER_STAT_USTACK_SENT,	   /* stack snapshots written to the ustacks ring buffer */
	EMBER_STAT_USTACK_RB_FULL, /* snapshot (so the sample) lost: ring buffer full */
	EMBER_STAT_USTACK_SCRATCH, /* snapshot lost: no scratch buffer for this CPU */
	EMBER_STAT_USTACK_BYTES,   /* bytes of user stack copied, summed */
	EMBER_STAT__MAX,
};

enum ember_event_type {
	EMBER_EV_EXEC = 1,
	EMBER_EV_FORK = 2,
	EMBER_EV_EXIT = 3,
};

/* Process lifecycle event, sent through the events ring buffer. */
struct ember_proc_event {
	__u32 type; /* enum ember_event_type */
	__u32 pid;  /* tgid of the process concerned */
	__u32 ppid; /* parent tgid (fork) */
	__u32 _pad;
	__u64 start_time; /* start_boottime of the process, ns */
	char comm[EMBER_COMM_LEN];
};
_Static_assert(sizeof(struct ember_proc_event) == 40, "ember_proc_event layout");

/*
 * dwarf mode: one ring-buffer record per sample of a user task. The record
 * is a struct ember_ustack_hdr, then @stack_len bytes of the user stack from
 * @sp upwards, then @nr_kips kernel return addresses (u64, leaf first). The
 * kernel ips travel in the record itself (bpf_get_stack) rather than as an id
 * into the double-buffered stack maps, so a record stays meaningful however
 * long it waits in the ring buffer. @stack_len is a multiple of 8.
 */
#define EMBER_USTACK_MIN     8192
#define EMBER_USTACK_MAX     65536
#define EMBER_USTACK_DEFAULT 16384
/* Stack bytes are read page by page, so a copy stops where the mapping ends. */
#define EMBER_USTACK_CHUNK 4096

enum ember_ustack_flags {
	EMBER_USF_KERNEL_TICK = 1, /* the tick hit kernel mode: regs from the task's pt_regs */
	EMBER_USF_USER_FAULT = 2,  /* the first stack page could not be read */
};

struct ember_ustack_hdr {
	__u32 pid; /* tgid */
	__u32 tid; /* thread id, or the tgid when threads are not recorded */
	char comm[EMBER_COMM_LEN];
	__u64 ip, sp, bp; /* user registers when the tick fired */
	__u32 stack_len;  /* bytes of stack copied (<= the configured size) */
	__u32 stack_size; /* the configured size: a full copy has stack_len == stack_size */
	__u16 nr_kips;	  /* kernel ips after the stack bytes */
	__u16 flags;	  /* enum ember_ustack_flags */
	__u32 _pad;
	__u64 time_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) when the tick fired */
};
_Static_assert(sizeof(struct ember_ustack_hdr) == 72, "ember_ustack_hdr layout");

#endif /* EMBER_BPF_ABI_H */

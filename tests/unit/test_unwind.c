/*
 * Unit tests for the unwinder (unwind/): live unwinds of this process's own
 * stacks, captured in a thread with a known stack the way the BPF program
 * captures a sample (ip, sp, bp and the bytes above sp), then named through
 * the symbolizer. Covers .eh_frame, .debug_frame (unwind_dbgframe.c is built
 * without unwind tables), code without CFI (a JIT stub in anonymous memory,
 * walked through its frame pointer), signal frames, snapshots that end early
 * and the frame limit. Then the table readers on hand-made and broken input.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <link.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ember/profile.h"
#include "ember/symbolizer.h"
#include "ember/unwind.h"
#include "uw_int.h"

#define THREAD_STACK (1u << 20)
#define SNAP_MAX     (64u << 10)
#define MAX_FRAMES   256

void dbg_frame_outer(void (*leaf)(void *), void *arg);
void dbg_frame_inner(void (*leaf)(void *), void *arg);

/* ---- capturing a sample of our own stack ------------------------------- */

static struct {
	uint64_t ip, sp, bp;
	uint8_t stack[SNAP_MAX];
	uint32_t len;
} snap;
static uint8_t *stack_top;
static uint32_t snap_limit = SNAP_MAX;

/* Reads our own stack frames, redzones included: not for ASan's eyes. */
__attribute__((noinline, no_sanitize_address)) static void copy_stack(uint64_t sp)
{
	uint64_t n = (uint64_t)((uintptr_t)stack_top - sp);
	volatile const uint8_t *src = (const uint8_t *)(uintptr_t)sp;

	if (n > snap_limit)
		n = snap_limit;
	for (uint64_t i = 0; i < n; i++)
		snap.stack[i] = src[i];
	snap.len = n & ~7ull;
}

/* The "tick": the registers here, and the stack above. */
__attribute__((noinline)) static void capture(void *arg)
{
	uint64_t ip, sp, bp;

	(void)arg;
	__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
			 : "=r"(ip), "=r"(sp), "=r"(bp));
	snap.ip = ip;
	snap.sp = sp;
	snap.bp = bp;
	copy_stack(sp);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void chain_c(void (*leaf)(void *))
{
	leaf(NULL);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void chain_b(void (*leaf)(void *))
{
	chain_c(leaf);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void chain_a(void (*leaf)(void *))
{
	chain_b(leaf);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void recurse(int n)
{
	volatile uint64_t pad[4] = {(uint64_t)n};

	if (n <= 0)
		capture(NULL);
	else
		recurse(n - 1);
	__asm__ volatile("" ::"r"(pad) : "memory");
}

/* push rbp; mov rbp,rsp; mov rax,rdi; mov rdi,rsi; call *rax; pop rbp; ret */
static const uint8_t jit_code[] = {0x55, 0x48, 0x89, 0xe5, 0x48, 0x89, 0xf8,
				   0x48, 0x89, 0xf7, 0xff, 0xd0, 0x5d, 0xc3};
static void (*jit_fn)(void (*)(void *), void *);

__attribute__((noinline)) static void jit_caller(void)
{
	jit_fn(capture, NULL);
	__asm__ volatile("" ::: "memory");
}

static void on_usr1(int sig)
{
	(void)sig;
	capture(NULL);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void signal_sender(void)
{
	pthread_kill(pthread_self(), SIGUSR1);
	__asm__ volatile("" ::: "memory");
}

enum scenario { SC_CHAIN, SC_RECURSE, SC_JIT, SC_DBG, SC_SIGNAL };

__attribute__((noinline)) static void *thread_main(void *arg)
{
	switch ((enum scenario)(uintptr_t)arg) {
	case SC_CHAIN:
		chain_a(capture);
		break;
	case SC_RECURSE:
		recurse(2000);
		break;
	case SC_JIT:
		jit_caller();
		break;
	case SC_DBG:
		dbg_frame_outer(capture, NULL);
		break;
	case SC_SIGNAL:
		signal_sender();
		break;
	}
	__asm__ volatile("" ::: "memory");
	return NULL;
}

/* Runs @sc in a thread whose whole stack we own, so its top is known. */
static void run_scenario(enum scenario sc)
{
	pthread_attr_t attr;
	pthread_t t;
	void *mem;

	mem = mmap(NULL, THREAD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	stack_top = (uint8_t *)mem + THREAD_STACK;
	memset(&snap, 0, sizeof(snap));
	assert_int_equal(pthread_attr_init(&attr), 0);
	assert_int_equal(pthread_attr_setstack(&attr, mem, THREAD_STACK), 0);
	assert_int_equal(pthread_create(&t, &attr, thread_main, (void *)(uintptr_t)sc), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	pthread_attr_destroy(&attr);
	/* Left mapped: the snapshot is a copy, and the mapping must not be reused meanwhile. */
	assert_true(snap.len > 0);
}

/* ---- unwinding and naming ---------------------------------------------- */

struct env {
	struct symbolizer *sym;
	struct unwinder *u;
	struct profile *p;
	uint64_t pcs[MAX_FRAMES];
	uint8_t flags[MAX_FRAMES];
	struct unwinder_stack out;
	const char *names[MAX_FRAMES];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct sym_options so = {.kallsyms_path = ""};

	assert_non_null(e);
	e->sym = symbolizer__new(&so);
	assert_non_null(e->sym);
	e->u = unwinder__new(e->sym, NULL);
	assert_non_null(e->u);
	e->p = profile__new();
	assert_non_null(e->p);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	unwinder__free(e->u);
	symbolizer__free(e->sym);
	profile__free(e->p);
	free(e);
	return 0;
}

static void print_stack(const struct env *e)
{
	for (uint32_t i = 0; i < e->out.n; i++)
		fprintf(stderr, "  #%u %#llx %s%s%s\n", i, (unsigned long long)e->pcs[i],
			e->names[i], e->flags[i] & UNWINDER_FRAME_EXACT ? " exact" : "",
			e->flags[i] & UNWINDER_FRAME_FP ? " fp" : "");
	fprintf(stderr, "  end %u\n", e->out.end);
}

/* Unwinds the captured snapshot, at most @max frames, and names the frames. */
static void unwind_snap(struct env *e, uint32_t len, bool full, uint32_t max)
{
	struct unwinder_sample in = {
		.pid = getpid(),
		.ip = snap.ip,
		.sp = snap.sp,
		.bp = snap.bp,
		.stack = snap.stack,
		.stack_len = len,
		.stack_full = full,
	};

	e->out = (struct unwinder_stack){.pcs = e->pcs, .flags = e->flags, .max = max};
	assert_int_equal(unwinder__unwind(e->u, &in, &e->out), 0);
	assert_true(e->out.n >= 1);
	assert_true(e->out.n <= max);
	for (uint32_t i = 0; i < e->out.n; i++) {
		uint64_t addr = e->flags[i] & UNWINDER_FRAME_EXACT ? e->pcs[i] : e->pcs[i] - 1;
		uint32_t ids[16];
		int n = symbolizer__user(e->sym, e->p, getpid(), addr, ids, 16);

		assert_true(n >= 1);
		/* The last id is the innermost: the function the address is in. */
		e->names[i] = profile__str(e->p, profile__frame(e->p, ids[n - 1])->name);
	}
	if (getenv("EMBER_TEST_VERBOSE"))
		print_stack(e);
}

static int find_name(const struct env *e, const char *name, uint32_t from)
{
	for (uint32_t i = from; i < e->out.n; i++)
		if (!strcmp(e->names[i], name))
			return (int)i;
	return -1;
}

/* @chain (leaf first) appears in order, each right after the previous. */
static void assert_chain(const struct env *e, const char *const *chain, size_t n)
{
	int at = find_name(e, chain[0], 0);

	if (at < 0)
		print_stack(e);
	assert_true(at >= 0);
	for (size_t i = 1; i < n; i++) {
		if ((uint32_t)at + i >= e->out.n || strcmp(e->names[at + i], chain[i])) {
			print_stack(e);
			fail_msg("expected %s at frame %zu", chain[i], at + i);
		}
	}
}

static void test_chain_reaches_thread_start(void **state)
{
	static const char *const chain[] = {"capture", "chain_c", "chain_b", "chain_a",
					    "thread_main"};
	struct env *e = *state;
	struct unwinder_stats st;

	run_scenario(SC_CHAIN);
	unwind_snap(e, snap.len, false, MAX_FRAMES);
	assert_chain(e, chain, 5);
	assert_int_equal(e->out.end, UNWINDER_END_OUTERMOST);
	/* Beyond thread_main: the C library's thread start, where CFI ends the stack. */
	assert_true(e->out.n > (uint32_t)find_name(e, "thread_main", 0) + 1);
	/* The leaf is exact; every caller is a return address. */
	assert_true(e->flags[0] & UNWINDER_FRAME_EXACT);
	for (uint32_t i = 1; i < e->out.n; i++)
		assert_false(e->flags[i] & (UNWINDER_FRAME_EXACT | UNWINDER_FRAME_FP));
	assert_int_equal(e->pcs[0], snap.ip);

	unwinder__stats(e->u, &st);
	assert_int_equal(st.samples, 1);
	assert_int_equal(st.outermost, 1);
	assert_int_equal(st.frames, e->out.n);
	assert_int_equal(st.procs, 1);
	assert_true(st.files >= 2); /* this test and the C library */

	/* Again, from libunwind's cache: the same frames. */
	{
		uint64_t first[MAX_FRAMES];
		uint32_t n = e->out.n;

		memcpy(first, e->pcs, n * sizeof(*first));
		unwind_snap(e, snap.len, false, MAX_FRAMES);
		assert_int_equal(e->out.n, n);
		assert_memory_equal(first, e->pcs, n * sizeof(*first));
	}
	/* And after forgetting the process: rebuilt from scratch, same frames. */
	unwinder__forget(e->u, getpid());
	unwinder__stats(e->u, &st);
	assert_int_equal(st.procs, 0);
	unwind_snap(e, snap.len, false, MAX_FRAMES);
	assert_chain(e, chain, 5);
	assert_int_equal(e->out.end, UNWINDER_END_OUTERMOST);
}

static void test_short_snapshot_is_truncated(void **state)
{
	struct env *e = *state;
	uint32_t full_n;
	int b;

	run_scenario(SC_CHAIN);
	unwind_snap(e, snap.len, false, MAX_FRAMES);
	full_n = e->out.n;
	b = find_name(e, "chain_b", 0);
	assert_true(b > 0);

	/* Cut the copy short: it ended at the size limit, not at the stack's end. */
	unwind_snap(e, 64, true, MAX_FRAMES);
	assert_int_equal(e->out.end, UNWINDER_END_TRUNCATED);
	assert_true(e->out.n < full_n);
	assert_string_equal(e->names[0], "capture");

	/* The same bytes, but the copy ended at the stack's end: an error, not truncation. */
	unwind_snap(e, 64, false, MAX_FRAMES);
	assert_int_equal(e->out.end, UNWINDER_END_ERROR);
}

static void test_deep_recursion(void **state)
{
	struct env *e = *state;
	uint32_t i;

	run_scenario(SC_RECURSE);
	assert_int_equal(snap.len, SNAP_MAX);
	/* 2000 frames do not fit 16 KiB of stack. */
	unwind_snap(e, 16384, true, MAX_FRAMES);
	assert_int_equal(e->out.end, UNWINDER_END_TRUNCATED);
	assert_string_equal(e->names[0], "capture");
	assert_true(e->out.n > 20);
	for (i = 1; i < e->out.n; i++)
		assert_string_equal(e->names[i], "recurse");

	/* The frame limit ends it too, with exactly that many frames. */
	unwind_snap(e, snap.len, true, 16);
	assert_int_equal(e->out.end, UNWINDER_END_TRUNCATED);
	assert_int_equal(e->out.n, 16);
}

static void test_jit_frame_pointer_fallback(void **state)
{
	static const char *const after[] = {"jit_caller", "thread_main"};
	struct env *e = *state;
	struct unwinder_stats st;
	void *code;
	int at;

	code = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(code != MAP_FAILED);
	memcpy(code, jit_code, sizeof(jit_code));
	assert_int_equal(mprotect(code, 4096, PROT_READ | PROT_EXEC), 0);
	jit_fn = (void (*)(void (*)(void *), void *))code;

	run_scenario(SC_JIT);
	unwind_snap(e, snap.len, false, MAX_FRAMES);
	assert_string_equal(e->names[0], "capture");
	/* The stub's frame, in anonymous memory, then its caller through rbp. */
	assert_true(e->out.n > 2);
	assert_true(e->pcs[1] >= (uintptr_t)code && e->pcs[1] < (uintptr_t)code + sizeof(jit_code));
	assert_chain(e, after, 2);
	at = find_name(e, "jit_caller", 0);
	assert_int_equal(at, 2);
	assert_true(e->flags[2] & UNWINDER_FRAME_FP);
	assert_int_equal(e->out.end, UNWINDER_END_OUTERMOST);
	unwinder__stats(e->u, &st);
	assert_int_equal(st.fp_steps, 1);
	assert_true(st.no_info >= 1);
	munmap(code, 4096);
}

/* The ELF address of @fn in the main program. */
static int main_bias(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	*(uint64_t *)data = info->dlpi_addr;
	return 1; /* the first object is the main program */
}

static void test_debug_frame(void **state)
{
	static const char *const chain[] = {"capture", "dbg_frame_inner", "dbg_frame_outer",
					    "thread_main"};
	struct env *e = *state;
	struct uw_tables t;
	uint64_t bias = 0, inner;
	uint8_t *image;
	FILE *f;
	long size;

	/* The premise: .debug_frame has dbg_frame_inner, the .eh_frame_hdr table has not. */
	f = fopen("/proc/self/exe", "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	rewind(f);
	image = malloc(size);
	assert_non_null(image);
	assert_int_equal(fread(image, 1, size, f), (size_t)size);
	fclose(f);
	assert_int_equal(uw_tables__init(&t, image, size), 0);
	assert_true(t.has_eh);
	assert_non_null(t.dbg.image);
	assert_true(t.dbg.fde_count >= 2);
	dl_iterate_phdr(main_bias, &bias);
	inner = (uintptr_t)dbg_frame_inner - bias;
	for (uint64_t i = 0; i < t.eh_fde_count; i++) {
		int32_t rel;

		assert_int_equal(uw_tables__read(&t, t.eh_table_vaddr + 8 * i, &rel, 4), 0);
		assert_true(t.eh_hdr_vaddr + rel != inner);
	}
	uw_tables__fini(&t);
	free(image);

	run_scenario(SC_DBG);
	unwind_snap(e, snap.len, false, MAX_FRAMES);
	assert_chain(e, chain, 4);
	assert_int_equal(e->out.end, UNWINDER_END_OUTERMOST);
}

static void test_signal_frame(void **state)
{
	struct env *e = *state;
	struct sigaction sa = {.sa_handler = on_usr1}, old;
	int h, s;

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	run_scenario(SC_SIGNAL);
	sigaction(SIGUSR1, &old, NULL);

	unwind_snap(e, snap.len, false, MAX_FRAMES);
	h = find_name(e, "on_usr1", 0);
	s = find_name(e, "signal_sender", 0);
	if (h < 0 || s < 0)
		print_stack(e);
	assert_int_equal(h, 1);
	assert_true(s > h + 1);
	assert_true(find_name(e, "thread_main", s) == s + 1);
	assert_int_equal(e->out.end, UNWINDER_END_OUTERMOST);
	/* The handler returns into the trampoline's first instruction: exact. */
	assert_false(e->flags[h] & UNWINDER_FRAME_EXACT);
	assert_true(e->flags[h + 1] & UNWINDER_FRAME_EXACT);
	/* The frame the signal interrupted was executing, not calling: exact. */
	assert_true(e->flags[h + 2] & UNWINDER_FRAME_EXACT);
	/* Then plain return addresses again. */
	assert_false(e->flags[s] & UNWINDER_FRAME_EXACT);
}

static void test_no_stack_bytes(void **state)
{
	struct env *e = *state;

	run_scenario(SC_CHAIN);
	/* The first page could not be read: the leaf alone. */
	unwind_snap(e, 0, false, MAX_FRAMES);
	assert_int_equal(e->out.n, 1);
	assert_string_equal(e->names[0], "capture");
	assert_int_not_equal(e->out.end, UNWINDER_END_OUTERMOST);
}

/*
 * Forks @nkids sleeping children, which map what we map where we map it, and
 * has a new unwinder with @opts unwind our chain's snapshot as theirs,
 * @rounds times each: every unwind reaches the outermost frame with the
 * frames of our own. Returns the most memory the unwinder held after an
 * unwind; its stats at the end are in *@st. @max_procs: at most so many
 * processes cached after each unwind (0: not checked).
 */
static uint64_t unwind_children(struct env *e, const struct unwinder_opts *opts, int nkids,
				int rounds, uint64_t max_procs, struct unwinder_stats *st)
{
	uint64_t first[MAX_FRAMES], most = 0;
	pid_t kids[16];
	uint32_t n;
	int i, round;

	assert_true(nkids <= 16);
	unwinder__free(e->u);
	e->u = unwinder__new(e->sym, opts);
	assert_non_null(e->u);
	run_scenario(SC_CHAIN);
	unwind_snap(e, snap.len, false, MAX_FRAMES);
	n = e->out.n;
	memcpy(first, e->pcs, n * sizeof(*first));
	for (i = 0; i < nkids; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (!kids[i]) {
			pause();
			_exit(0);
		}
	}
	for (round = 0; round < rounds; round++) {
		for (i = 0; i < nkids; i++) {
			struct unwinder_sample in = {
				.pid = kids[i],
				.ip = snap.ip,
				.sp = snap.sp,
				.bp = snap.bp,
				.stack = snap.stack,
				.stack_len = snap.len,
			};

			e->out = (struct unwinder_stack){
				.pcs = e->pcs, .flags = e->flags, .max = MAX_FRAMES};
			assert_int_equal(unwinder__unwind(e->u, &in, &e->out), 0);
			assert_int_equal(e->out.end, UNWINDER_END_OUTERMOST);
			assert_int_equal(e->out.n, n);
			assert_memory_equal(first, e->pcs, n * sizeof(*first));
			unwinder__stats(e->u, st);
			if (max_procs)
				assert_true(st->procs <= max_procs);
			if (st->memory > most)
				most = st->memory;
			assert_true(st->memory <= st->max_bytes);
		}
	}
	for (i = 0; i < nkids; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	unwinder__stats(e->u, st);
	return most;
}

/*
 * With room for two processes, a third evicts the oldest, which then unwinds
 * from scratch, to the same frames.
 */
static void test_process_lru(void **state)
{
	struct unwinder_opts opts = {.max_procs = 2};
	struct unwinder_stats st;

	unwind_children(*state, &opts, 3, 2, 2, &st);
	assert_int_equal(st.samples, 7);
	assert_int_equal(st.outermost, 7);
}

/*
 * Sixteen processes under the smallest budget: after every unwind the
 * unwinder holds no more than its budget, processes give up their rows and
 * state to fit (counted), and every unwind still gives the same frames.
 */
static void test_memory_budget(void **state)
{
	struct unwinder_opts opts = {.max_bytes = 1};
	struct unwinder_stats st;
	uint64_t most = unwind_children(*state, &opts, 16, 3, 0, &st);

	assert_true(st.max_bytes > 1); /* raised to the floor */
	print_message("budget %" PRIu64 " KiB: at most %" PRIu64 " KiB held; %" PRIu64
		      " rows dropped, %" PRIu64 " processes dropped, %" PRIu64 " files closed\n",
		      st.max_bytes >> 10, most >> 10, st.rows_dropped, st.procs_dropped,
		      st.files_closed);
	assert_true(st.rows_dropped + st.procs_dropped > 0);
	assert_int_equal(st.outermost, st.samples);
}

/* ---- the table readers ------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* A CIE (version 1 or 4, 8-byte or @addr_size addresses) at @p; returns its size. */
static size_t make_cie(uint8_t *p, uint8_t version, uint8_t addr_size)
{
	size_t n = 8;

	p[n++] = version;
	p[n++] = 0; /* augmentation "" */
	if (version == 4) {
		p[n++] = addr_size;
		p[n++] = 0;
	}
	p[n++] = 1;    /* code alignment */
	p[n++] = 0x78; /* data alignment -8 */
	p[n++] = 16;   /* return address column */
	p[n++] = 0x0c; /* DW_CFA_def_cfa r7 (rsp) 8 */
	p[n++] = 7;
	p[n++] = 8;
	p[n++] = 0x90; /* DW_CFA_offset r16 cfa-8 */
	p[n++] = 1;
	while (n % 4)
		p[n++] = 0; /* DW_CFA_nop */
	put32(p, n - 4);
	put32(p + 4, 0xffffffffu);
	return n;
}

static size_t make_fde(uint8_t *p, uint32_t cie_off, uint64_t pc, uint64_t range)
{
	size_t n = 8;

	put64(p + n, pc);
	n += 8;
	put64(p + n, range);
	n += 8;
	p[n++] = 0x41; /* DW_CFA_advance_loc 1 */
	p[n++] = 0x0e; /* DW_CFA_def_cfa_offset 16 */
	p[n++] = 16;
	p[n++] = 0;
	put32(p, n - 4);
	put32(p + 4, cie_off);
	return n;
}

static void test_debug_frame_conversion(void **state)
{
	uint8_t sec[512] = {0};
	struct uw_dbg_frame d;
	size_t off = 0, cie4, cie1 = 0;
	const uint8_t *fde, *cie;
	uint32_t fde_off, i;
	uint64_t pc;

	(void)state;
	off += make_cie(sec + off, 1, 8);
	cie4 = off;
	off += make_cie(sec + off, 4, 4); /* 4-byte addresses: left out, with its FDE */
	off += make_fde(sec + off, cie1, 0x2000, 0x40);
	off += make_fde(sec + off, cie4, 0x3000, 0x40);
	off += make_fde(sec + off, cie1, 0, 0x40);	  /* a discarded function */
	off += make_fde(sec + off, 0x1234, 0x4000, 0x40); /* no CIE there */
	off += make_fde(sec + off, cie1, 0x1000, 0x10);
	put32(sec + off, 0); /* padding */
	off += 4;

	assert_int_equal(uw_dbg_frame__convert(sec, off, 0x1000, &d), 0);
	assert_int_equal(d.fde_count, 2);
	assert_int_equal(d.base, 0x1000);
	/* Sorted by pc, relative to base. */
	assert_int_equal((int32_t)get32(d.image + d.table_off), 0);
	assert_int_equal((int32_t)get32(d.image + d.table_off + 8), 0x1000);
	for (i = 0; i < 2; i++) {
		fde_off = get32(d.image + d.table_off + 8 * i + 4);
		assert_true(fde_off < d.table_off);
		fde = d.image + fde_off;
		/* .eh_frame form: the CIE pointer counts back from its own field. */
		cie = fde + 4 - get32(fde + 4);
		assert_true(cie >= d.image);
		assert_int_equal(get32(cie + 4), 0); /* CIE id 0 */
		assert_int_equal(cie[8], 1);	     /* version */
		assert_int_equal(cie[9], 0);	     /* no augmentation */
		memcpy(&pc, fde + 8, 8);
		assert_int_equal(pc, i ? 0x2000 : 0x1000);
		/* The instructions are the original ones. */
		assert_int_equal(fde[24], 0x41);
	}
	uw_dbg_frame__free(&d);

	/* A version 4 CIE with 8-byte addresses is taken, its two extra fields dropped. */
	memset(sec, 0, sizeof(sec));
	off = make_cie(sec, 4, 8);
	off += make_fde(sec + off, 0, 0x5000, 0x10);
	assert_int_equal(uw_dbg_frame__convert(sec, off, 0x1000, &d), 0);
	assert_int_equal(d.fde_count, 1);
	fde = d.image + get32(d.image + d.table_off + 4);
	cie = fde + 4 - get32(fde + 4);
	assert_int_equal(cie[8], 3); /* version 3: uleb128 return address column */
	assert_int_equal(cie[10], 1);
	uw_dbg_frame__free(&d);

	/* Nothing usable, and every truncation of a good section: no crash. */
	assert_int_equal(uw_dbg_frame__convert(sec, 0, 0, &d), -ENOENT);
	for (size_t cut = 0; cut < off; cut++) {
		int err = uw_dbg_frame__convert(sec, cut, 0x1000, &d);

		assert_true(err == 0 || err == -ENOENT);
		uw_dbg_frame__free(&d);
	}
}

static void test_tables_malformed(void **state)
{
	struct uw_tables t;
	uint8_t *image, *copy;
	FILE *f;
	long size;

	(void)state;
	/* Not ELF. */
	assert_int_equal(uw_tables__init(&t, (const uint8_t *)"hello world, not an ELF", 23),
			 -EINVAL);
	f = fopen("/proc/self/exe", "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	image = malloc(size);
	assert_non_null(image);
	assert_int_equal(fread(image, 1, size, f), (size_t)size);
	fclose(f);
	/* Truncated copies (each in its own allocation, so ASan sees overreads). */
	for (long cut = 16; cut < size; cut = cut * 3 / 2) {
		copy = malloc(cut);
		assert_non_null(copy);
		memcpy(copy, image, cut);
		if (uw_tables__init(&t, copy, cut) == 0) {
			uint64_t v;

			if (t.has_eh)
				uw_tables__read(&t, t.eh_table_vaddr, &v, sizeof(v));
			uw_tables__fini(&t);
		}
		free(copy);
	}
	/* Reads outside every segment fail. */
	assert_int_equal(uw_tables__init(&t, image, size), 0);
	{
		uint64_t v;

		assert_int_equal(uw_tables__read(&t, t.hi + 4096, &v, sizeof(v)), -EFAULT);
		assert_int_equal(uw_tables__read(&t, t.eh_hdr_vaddr, &v, sizeof(v)), 0);
	}
	uw_tables__fini(&t);
	free(image);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain_reaches_thread_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_snapshot_is_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep_recursion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jit_frame_pointer_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debug_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signal_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_stack_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_process_lru, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_budget, setup, teardown),
		cmocka_unit_test(test_debug_frame_conversion),
		cmocka_unit_test(test_tables_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Known three-way split workload for the benchmarks (bench/run: overhead and
 * fidelity). Every thread runs main/thread start -> run_rounds -> do_round ->
 * {stage_a -> leaf_a, stage_b -> leaf_b, stage_c -> leaf_c}; each round gives
 * the leaves 5, 3 and 2 units of the same loop, so their CPU shares are 50%,
 * 30% and 20% by work, not by time. Built with and without frame pointers.
 *
 * Usage: split3 [-g] [ROUNDS] [THREADS]
 *   ROUNDS per thread (0 = until killed; default 100), THREADS (default 1).
 *   Prints "ready PID" once its threads exist.
 *   -g  gated, for profilers that attach to a pid: the threads wait until a
 *       line arrives on standard input, then work; at the end it prints
 *       "work_ns N cpu_ns M" (wall time of the work, CPU time of the process)
 *       and waits, every thread still alive, for the end of standard input
 *       before exiting: the benchmark reads the profiler's counters and stops
 *       it while the target lives (bpftrace symbolizes by thread at exit).
 *   Without -g, EMBER_WORKLOAD_REPORT set prints "work_ns N" on stderr.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define UNIT 200000UL /* loop iterations per unit of work */

static volatile uint64_t sink;
static pthread_barrier_t start_line, done_line, exit_line;
static unsigned long rounds = 100;

/*
 * The leaves call this after their loop so that they are not leaf functions
 * (gcc 12 ignores -mno-omit-leaf-frame-pointer): with frame pointers, the
 * leaf's caller is then found by every frame-pointer unwinder.
 */
__attribute__((noinline)) void store(uint64_t x);
__attribute__((noinline)) void store(uint64_t x)
{
	sink = x;
}

#define LEAF(name)                                          \
	__attribute__((noinline)) void name(uint64_t n);    \
	__attribute__((noinline)) void name(uint64_t n)     \
	{                                                   \
		uint64_t x = sink;                          \
		for (uint64_t i = 0; i < n; i++)            \
			x = x * 6364136223846793005ULL + i; \
		store(x);                                   \
	}

LEAF(leaf_a)
LEAF(leaf_b)
LEAF(leaf_c)

#define STAGE(name, leaf, units)                   \
	__attribute__((noinline)) void name(void); \
	__attribute__((noinline)) void name(void)  \
	{                                          \
		leaf((units)*UNIT);                \
		__asm__ volatile("" ::: "memory"); \
	}

STAGE(stage_a, leaf_a, 5)
STAGE(stage_b, leaf_b, 3)
STAGE(stage_c, leaf_c, 2)

__attribute__((noinline)) void do_round(void);
__attribute__((noinline)) void do_round(void)
{
	stage_a();
	stage_b();
	stage_c();
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void *run_rounds(void *arg);
__attribute__((noinline)) void *run_rounds(void *arg)
{
	for (unsigned long r = 0; rounds == 0 || r < rounds; r++)
		do_round();
	__asm__ volatile("" ::: "memory");
	return arg;
}

/* A gated thread: waits for the start, works, and lives until the exit. */
static void *gated_thread(void *arg)
{
	pthread_barrier_wait(&start_line);
	run_rounds(arg);
	pthread_barrier_wait(&done_line);
	pthread_barrier_wait(&exit_line);
	return NULL;
}

static long long ns_between(const struct timespec *a, const struct timespec *b)
{
	return (long long)(b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	int threads = 1, gated = 0, argi = 1;
	char line[64];
	pthread_t *tids;
	struct rusage ru;

	if (argi < argc && !strcmp(argv[argi], "-g")) {
		gated = 1;
		argi++;
	}
	if (argi < argc)
		rounds = strtoul(argv[argi++], NULL, 10);
	if (argi < argc)
		threads = atoi(argv[argi++]);
	if (threads < 1)
		threads = 1;
	tids = calloc(threads, sizeof(*tids));
	if (!tids || pthread_barrier_init(&start_line, NULL, threads) ||
	    pthread_barrier_init(&done_line, NULL, threads) ||
	    pthread_barrier_init(&exit_line, NULL, threads))
		return 1;
	for (int i = 1; i < threads; i++)
		if (pthread_create(&tids[i], NULL, gated ? gated_thread : run_rounds, NULL))
			return 1;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (gated) {
		if (!fgets(line, sizeof(line), stdin))
			return 1;
		pthread_barrier_wait(&start_line);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_rounds(NULL);
	if (gated)
		pthread_barrier_wait(&done_line);
	else
		for (int i = 1; i < threads; i++)
			pthread_join(tids[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (gated) {
		getrusage(RUSAGE_SELF, &ru);
		printf("work_ns %lld cpu_ns %lld\n", ns_between(&t0, &t1),
		       (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
			       (long long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL);
		fflush(stdout);
		while (fgets(line, sizeof(line), stdin))
			;
		pthread_barrier_wait(&exit_line);
		for (int i = 1; i < threads; i++)
			pthread_join(tids[i], NULL);
	} else if (getenv("EMBER_WORKLOAD_REPORT")) {
		fprintf(stderr, "work_ns %lld\n", ns_between(&t0, &t1));
	}
	free(tids);
	return 0;
}

/*
 * Known-ratio workload: main -> run_rounds -> do_round -> compute_step ->
 * {leaf_heavy, leaf_light}. Every round gives leaf_heavy three times the
 * iterations of leaf_light, so their CPU shares are 75% and 25% by work, not
 * by time. Built with and without frame pointers.
 *
 * Usage: ratio [ROUNDS] [THREADS]   (ROUNDS 0 = until killed; default 200)
 * Prints "ready PID" once it starts working, and with EMBER_WORKLOAD_REPORT
 * set, "work_ns N" on stderr at the end: the wall time of the work alone, so
 * benchmarks can leave a profiler's start-up and shutdown out.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define UNIT 1000000UL /* iterations of leaf_light per round */

static volatile uint64_t sink;

/*
 * The leaves call this once after their loop so they are not leaf functions:
 * gcc 12 ignores -mno-omit-leaf-frame-pointer, and a leaf without a frame
 * hides its caller from frame-pointer unwinding. LEAF_NO_FRAME keeps them
 * true leaves (for the DWARF unwinding comparison).
 */
__attribute__((noinline)) void store(uint64_t x);
__attribute__((noinline)) void store(uint64_t x)
{
	sink = x;
}

#ifdef LEAF_NO_FRAME
#define STORE(x) (sink = (x))
#else
#define STORE(x) store(x)
#endif

__attribute__((noinline)) void leaf_heavy(uint64_t n);
__attribute__((noinline)) void leaf_light(uint64_t n);
__attribute__((noinline)) void compute_step(void);
__attribute__((noinline)) void do_round(void);
__attribute__((noinline)) void *run_rounds(void *arg);

__attribute__((noinline)) void leaf_heavy(uint64_t n)
{
	uint64_t x = sink;

	for (uint64_t i = 0; i < n; i++)
		x = x * 6364136223846793005ULL + i;
	STORE(x);
}

__attribute__((noinline)) void leaf_light(uint64_t n)
{
	uint64_t x = sink;

	for (uint64_t i = 0; i < n; i++)
		x = x * 6364136223846793005ULL + i;
	STORE(x);
}

__attribute__((noinline)) void compute_step(void)
{
	leaf_heavy(3 * UNIT);
	leaf_light(UNIT);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void do_round(void)
{
	compute_step();
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void *run_rounds(void *arg)
{
	unsigned long rounds = (unsigned long)(uintptr_t)arg;

	for (unsigned long r = 0; rounds == 0 || r < rounds; r++)
		do_round();
	__asm__ volatile("" ::: "memory");
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long rounds = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
	int threads = argc > 2 ? atoi(argv[2]) : 1;
	struct timespec t0, t1;
	pthread_t *tids;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (threads < 1)
		threads = 1;
	tids = calloc(threads, sizeof(*tids));
	if (!tids)
		return 1;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (int i = 1; i < threads; i++)
		if (pthread_create(&tids[i], NULL, run_rounds, (void *)(uintptr_t)rounds))
			return 1;
	run_rounds((void *)(uintptr_t)rounds);
	for (int i = 1; i < threads; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (getenv("EMBER_WORKLOAD_REPORT"))
		fprintf(stderr, "work_ns %lld\n",
			(long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL +
				(t1.tv_nsec - t0.tv_nsec));
	return 0;
}

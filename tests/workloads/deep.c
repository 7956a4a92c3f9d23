/*
 * Deep recursion: main -> run -> descend (DEPTH levels) -> spin, over and
 * over, so most samples are taken with a stack far deeper than a snapshot
 * holds. Built without frame pointers: only DWARF unwinding walks it, and it
 * must end in [truncated].
 *
 * Usage: deep [DEPTH] [SECONDS]   (default 4000 levels, 3 s; SECONDS 0 = until killed)
 * Prints "ready PID" once it starts working.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

__attribute__((noinline)) void spin(void);
__attribute__((noinline)) void descend(int n);
__attribute__((noinline)) void run(int depth, double seconds);

__attribute__((noinline)) void spin(void)
{
	uint64_t x = sink;

	for (int i = 0; i < 2000000; i++)
		x = x * 6364136223846793005ULL + i;
	sink = x;
}

__attribute__((noinline)) void descend(int n)
{
	volatile uint64_t frame[4] = {(uint64_t)n}; /* ~64 bytes a level */

	if (n > 0)
		descend(n - 1);
	else
		for (int i = 0; i < 20; i++)
			spin();
	__asm__ volatile("" ::"r"(frame) : "memory");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void run(int depth, double seconds)
{
	double end = now() + seconds;

	while (seconds == 0 || now() < end)
		descend(depth);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	int depth = argc > 1 ? atoi(argv[1]) : 4000;
	double seconds = argc > 2 ? atof(argv[2]) : 3;

	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	run(depth, seconds);
	return 0;
}

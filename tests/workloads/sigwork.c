/*
 * Signal handlers on the stack: a SIGPROF timer fires every millisecond of
 * CPU time and its handler burns about half of it, so samples land in the
 * handler (main -> main_loop -> inner_spin -> [signal trampoline] -> on_tick
 * -> handler_work) as well as in the code it interrupted. Built without frame
 * pointers.
 *
 * Usage: sigwork [SECONDS]   (default 3; 0 = until killed)
 * Prints "ready PID" once it starts working.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

__attribute__((noinline)) void handler_work(void);
__attribute__((noinline)) void inner_spin(void);
__attribute__((noinline)) void main_loop(double seconds);

__attribute__((noinline)) void handler_work(void)
{
	uint64_t x = sink;

	for (int i = 0; i < 400000; i++)
		x = x * 6364136223846793005ULL + i;
	sink = x;
}

static void on_tick(int sig)
{
	(void)sig;
	handler_work();
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void inner_spin(void)
{
	uint64_t x = sink;

	for (int i = 0; i < 1000000; i++)
		x = x * 6364136223846793005ULL + i;
	sink = x;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void main_loop(double seconds)
{
	double end = now() + seconds;

	while (seconds == 0 || now() < end)
		inner_spin();
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3;
	struct itimerval it = {.it_interval = {0, 1000}, .it_value = {0, 1000}};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPROF, &sa, NULL) || setitimer(ITIMER_PROF, &it, NULL))
		return 1;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	main_loop(seconds);
	return 0;
}

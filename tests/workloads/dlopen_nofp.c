/*
 * Calls into a library it loads with dlopen (libember_nofp.so, next to this
 * program, built without frame pointers): main -> call_lib -> lib_outer ->
 * lib_inner, over and over.
 *
 * Usage: dlopen_nofp [SECONDS]   (default 3; 0 = until killed)
 * Prints "ready PID" once the library is loaded and work starts.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t (*lib_outer)(uint64_t);
static volatile uint64_t sink;

__attribute__((noinline)) void call_lib(void);

__attribute__((noinline)) void call_lib(void)
{
	sink += lib_outer(1000000);
	__asm__ volatile("" ::: "memory");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3, end;
	char path[PATH_MAX], *slash;
	ssize_t n;
	void *h;

	n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n <= 0)
		return 1;
	path[n] = '\0';
	slash = strrchr(path, '/');
	strcpy(slash ? slash + 1 : path, "libember_nofp.so");
	h = dlopen(path, RTLD_NOW);
	if (!h) {
		fprintf(stderr, "dlopen_nofp: %s\n", dlerror());
		return 1;
	}
	lib_outer = (uint64_t(*)(uint64_t))dlsym(h, "lib_outer");
	if (!lib_outer)
		return 1;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	end = now() + seconds;
	while (seconds == 0 || now() < end)
		call_lib();
	return 0;
}

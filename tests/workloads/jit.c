/*
 * JIT-like code: a stub written at run time into anonymous executable memory
 * (push rbp; mov rbp,rsp; call *rax; pop rbp; ret), with no CFI, named in
 * /tmp/perf-PID.map as JIT code is. main -> jit_loop -> [stub] -> jit_leaf.
 * Built without frame pointers: unwinding crosses the stub only through the
 * frame pointer the stub sets up.
 *
 * Usage: jit [SECONDS]   (default 3; 0 = until killed)
 * Prints "ready PID" once it starts working.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

__attribute__((noinline)) void jit_leaf(void);
__attribute__((noinline)) void jit_loop(double seconds);

__attribute__((noinline)) void jit_leaf(void)
{
	uint64_t x = sink;

	for (int i = 0; i < 1000000; i++)
		x = x * 6364136223846793005ULL + i;
	sink = x;
}

/* push rbp; mov rbp,rsp; mov rax,rdi; call *rax; pop rbp; ret */
static const uint8_t stub[] = {0x55, 0x48, 0x89, 0xe5, 0x48, 0x89, 0xf8, 0xff, 0xd0, 0x5d, 0xc3};
static void (*jitted)(void (*)(void));

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void jit_loop(double seconds)
{
	double end = now() + seconds;

	while (seconds == 0 || now() < end)
		jitted(jit_leaf);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3;
	char path[64];
	void *code;
	FILE *f;

	code = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		return 1;
	memcpy(code, stub, sizeof(stub));
	if (mprotect(code, 4096, PROT_READ | PROT_EXEC))
		return 1;
	jitted = (void (*)(void (*)(void)))code;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%lx %zx jit_stub\n", (unsigned long)(uintptr_t)code, sizeof(stub));
		fclose(f);
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	jit_loop(seconds);
	unlink(path);
	return 0;
}

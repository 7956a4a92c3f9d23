/*
 * A shared library built without frame pointers, loaded with dlopen by
 * dlopen_nofp: lib_outer -> lib_inner, both with frames of their own.
 */
#include <stdint.h>

uint64_t lib_outer(uint64_t n);
uint64_t lib_inner(uint64_t n);

static volatile uint64_t lib_sink;

__attribute__((noinline)) uint64_t lib_inner(uint64_t n)
{
	volatile uint64_t pad[8] = {n};
	uint64_t x = lib_sink;

	for (uint64_t i = 0; i < n; i++)
		x = x * 6364136223846793005ULL + i + pad[i & 7];
	lib_sink = x;
	return x;
}

__attribute__((noinline)) uint64_t lib_outer(uint64_t n)
{
	volatile uint64_t pad[6] = {n};
	uint64_t r = lib_inner(n);

	__asm__ volatile("" ::"r"(pad) : "memory");
	return r + pad[0];
}

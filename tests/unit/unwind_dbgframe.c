/*
 * Part of test_unwind: two frames built without unwind tables, so their only
 * CFI is in .debug_frame (the unwinder's fallback when .eh_frame has none).
 */
#include <stdint.h>

void dbg_frame_outer(void (*leaf)(void *), void *arg);
void dbg_frame_inner(void (*leaf)(void *), void *arg);

__attribute__((noinline)) void dbg_frame_inner(void (*leaf)(void *), void *arg)
{
	volatile uint64_t pad[4] = {1, 2, 3, 4};

	leaf(arg);
	__asm__ volatile("" ::"r"(pad) : "memory");
}

__attribute__((noinline)) void dbg_frame_outer(void (*leaf)(void *), void *arg)
{
	volatile uint64_t pad[6] = {1, 2, 3, 4, 5, 6};

	dbg_frame_inner(leaf, arg);
	__asm__ volatile("" ::"r"(pad) : "memory");
}

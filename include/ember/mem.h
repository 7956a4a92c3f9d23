/*
 * Growth of heap arrays, shared by the modules: the capacity doubles (from
 * 64) until it holds what is needed, with the byte count checked for
 * overflow.
 */
#ifndef EMBER_MEM_H
#define EMBER_MEM_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Grows *@arr, *@cap elements of @size bytes, to hold @need; 0 or -ENOMEM (*@arr kept). */
static inline int mem__grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / size)
			return -ENOMEM;
		ncap *= 2;
	}
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

#endif /* EMBER_MEM_H */

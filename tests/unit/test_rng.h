/*
 * The tests' random numbers (splitmix64): deterministic, so a failing run
 * fails again with the same data. Each test program sets @rng once before its
 * tests run.
 */
#ifndef EMBER_TEST_RNG_H
#define EMBER_TEST_RNG_H

#include <stdint.h>

static uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

#endif /* EMBER_TEST_RNG_H */

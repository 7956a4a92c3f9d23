/*
 * Shared by the fuzz targets: runs every writer over the profile an importer
 * built from the fuzzer's input, so odd names and shapes reach the writers
 * too. Output goes to /dev/null.
 */
#ifndef EMBER_FUZZ_COMMON_H
#define EMBER_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ember/formats.h"
#include "ember/profile.h"

static FILE *fuzz_sink;

static void fuzz_write_all(const struct profile *p)
{
	static const struct fmt_options plain, fancy = {
						       .per_thread = true,
						       .lines = true,
						       .inverted = true,
						       .merged = true,
					       };

	if (!fuzz_sink)
		fuzz_sink = fopen("/dev/null", "w");
	if (!fuzz_sink)
		abort();
	if (fmt_folded__write(p, &plain, fuzz_sink) || fmt_svg__write(p, &fancy, fuzz_sink) ||
	    fmt_speedscope__write(p, &plain, fuzz_sink) ||
	    fmt_speedscope__write(p, &fancy, fuzz_sink) || fmt_pprof__write(p, &plain, fuzz_sink))
		abort(); /* writing a profile that was read must not fail */
}

/* A read-only stream over the input; fmemopen refuses a zero size. */
static FILE *fuzz_open(const uint8_t *data, size_t size)
{
	static char empty[1];

	return size ? fmemopen((void *)data, size, "r") : fmemopen(empty, 1, "r");
}

#endif

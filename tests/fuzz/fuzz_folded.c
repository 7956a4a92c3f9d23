/*
 * libFuzzer target for the folded-stack reader (formats/folded.c): any input
 * is read without crashing, leaking or overflowing, and what was read can be
 * written in every format. A line that does not parse must be reported with
 * its number.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile *p = profile__new();
	unsigned long bad_line = 0;
	FILE *in = fuzz_open(data, size);
	int err;

	if (!p || !in)
		abort();
	err = fmt_folded__read(p, in, &bad_line);
	if (err == -EINVAL && !bad_line)
		abort();
	if (!err)
		fuzz_write_all(p);
	fclose(in);
	profile__free(p);
	return 0;
}

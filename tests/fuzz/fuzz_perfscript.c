/*
 * libFuzzer target for the perf-script reader (formats/perfscript.c): any
 * input is read without crashing, leaking or overflowing, with the first
 * event and with a named one, and what was read can be written in every
 * format. A line that does not parse must be reported with its number.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *data, size_t size, const char *event)
{
	struct fmt_perfscript_info info;
	struct profile *p = profile__new();
	FILE *in = fuzz_open(data, size);
	int err;

	if (!p || !in)
		abort();
	err = fmt_perfscript__read(p, in, event, &info);
	if (err == -EINVAL && !info.bad_line)
		abort();
	if (!err && profile__total(p) != info.samples)
		abort(); /* every sample read counts once */
	if (!err)
		fuzz_write_all(p);
	fclose(in);
	profile__free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, NULL);
	one(data, size, "cycles");
	return 0;
}

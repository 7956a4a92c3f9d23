/*
 * libFuzzer target for the /proc text parsers: /proc/PID/maps and
 * /proc/kallsyms. The first byte picks the parser; the rest is the text.
 * Whatever parses must answer lookups without crashing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ember/symbolizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *open_text(const uint8_t *data, size_t size)
{
	static char empty[1];

	return size ? fmemopen((void *)data, size, "r") : fmemopen(empty, 1, "r");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t probes[] = {
		0, 1, 0x400000, 0x7fffffffffffULL, 0xffffffff81000000ULL, UINT64_MAX};
	uint8_t which;
	FILE *f;

	if (size < 1)
		return 0;
	which = data[0];
	f = open_text(data + 1, size - 1);
	if (!f)
		return 0;
	if (which & 1) {
		struct sym_maps m = {0};

		if (sym_maps__parse(f, &m) == 0) {
			for (size_t i = 0; i < m.n; i++) {
				if (m.v[i].start > m.v[i].end ||
				    (i && m.v[i - 1].start > m.v[i].start))
					abort(); /* the parser promises sorted, sane ranges */
				sym_maps__find(&m, m.v[i].start);
			}
			for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
				sym_maps__find(&m, probes[i]);
		}
		sym_maps__clear(&m);
	} else {
		struct sym_ksyms *ks = sym_ksyms__parse(f);

		for (size_t i = 0; ks && i < sizeof(probes) / sizeof(probes[0]); i++) {
			struct sym_ksym k;

			if (!sym_ksyms__find(ks, probes[i], &k) && k.addr > probes[i])
				abort(); /* a symbol above the address cannot contain it */
		}
		sym_ksyms__free(ks);
	}
	fclose(f);
	return 0;
}

/*
 * libFuzzer target for the symbolizer's ELF and DWARF path: the input is an
 * ELF file, opened as the symbolizer opens a mapped file (symbol tables,
 * build-id and debuglink notes, MiniDebugInfo, DWARF index), then looked up
 * at addresses across its PT_LOAD segments and a few taken from the input.
 * Nothing the file says may crash, hang or leak.
 */
#include <gelf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sym_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Looks up @n addresses spread over [lo, hi). */
static void lookup_range(struct sym_obj *o, uint64_t lo, uint64_t hi, int n)
{
	struct sym_frame fr[16];
	uint64_t step = hi > lo ? (hi - lo) / (uint64_t)n + 1 : 1;
	uint64_t a;

	for (a = lo; a < hi && n-- > 0; a += step)
		sym_obj__lookup(o, a, fr, 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const no_dirs[] = {"/nonexistent-ember-fuzz", NULL};
	struct sym_obj_opts oo = {.debug = {.debug_dirs = no_dirs}, .bin_path = "/nonexistent/x"};
	struct sym_frame fr[16];
	struct sym_obj *o;
	uint64_t v, off;
	size_t i;
	Elf *elf;
	int fd;

	if (elf_version(EV_CURRENT) == EV_NONE)
		abort();
	fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf) {
		close(fd);
		return 0;
	}
	o = sym_obj__new(fd, elf, &oo); /* owns fd and elf from here */
	if (!o)
		return 0;
	/* File offsets through the PT_LOAD table, then the vaddrs they give. */
	for (off = 0; off < size + 0x2000; off += 0x200) {
		if (!sym_obj__offset_to_vaddr(o, off, &v))
			lookup_range(o, v, v + 0x200, 4);
	}
	/* Addresses the input itself suggests (symbol values, DWARF low_pc...). */
	for (i = 0; i + 8 <= size && i < 4096; i += 8) {
		memcpy(&v, data + i, 8);
		sym_obj__lookup(o, v, fr, 16);
		sym_obj__lookup(o, v & 0xffffff, fr, 1);
	}
	/* Warm: the same again through the address cache. */
	lookup_range(o, 0, 0x10000, 64);
	lookup_range(o, 0, 0x10000, 64);
	sym_obj__free(o);
	return 0;
}

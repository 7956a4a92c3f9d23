/*
 * Unit tests for the /proc/PID/maps parser (symbolizer/maps.c): every kind
 * of line the kernel writes (file, anonymous, special, deleted, paths with
 * spaces), lookups, sorting, malformed lines, and this process's own maps.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ember/symbolizer.h"

static int parse_str(const char *text, struct sym_maps *m)
{
	FILE *f = *text ? fmemopen((void *)text, strlen(text), "r") : fopen("/dev/null", "r");
	int err;

	assert_non_null(f);
	err = sym_maps__parse(f, m);
	fclose(f);
	return err;
}

static int parse_file(const char *path, struct sym_maps *m)
{
	FILE *f = fopen(path, "r");
	int err;

	assert_non_null(f);
	err = sym_maps__parse(f, m);
	fclose(f);
	return err;
}

static void test_fixture(void **state)
{
	struct sym_maps m;
	const struct sym_map *v;

	assert_int_equal(parse_file(FIXTURE_DIR "/maps.txt", &m), 0);
	assert_int_equal(m.n, 15);
	v = m.v;

	assert_int_equal(v[1].start, 0x55d0c4a02000ull);
	assert_int_equal(v[1].end, 0x55d0c4a08000ull);
	assert_int_equal(v[1].prot, SYM_MAP_READ | SYM_MAP_EXEC);
	assert_int_equal(v[1].pgoff, 0x2000);
	assert_int_equal(v[1].dev_major, 0xfe);
	assert_int_equal(v[1].dev_minor, 0);
	assert_int_equal(v[1].inode, 247498);
	assert_string_equal(v[1].path, "/usr/bin/head");
	assert_false(v[1].deleted);

	assert_string_equal(v[3].path, "[heap]");
	assert_int_equal(v[3].prot, SYM_MAP_READ | SYM_MAP_WRITE);
	assert_string_equal(v[5].path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_int_equal(v[5].pgoff, 0x28000);

	/* Shared memory segment: "s" perms, deleted suffix stripped. */
	assert_string_equal(v[6].path, "/SYSV00000000");
	assert_true(v[6].deleted);
	assert_int_equal(v[6].prot, SYM_MAP_READ | SYM_MAP_WRITE);
	assert_int_equal(v[6].dev_minor, 5);

	assert_string_equal(v[7].path, "/opt/my app/lib with spaces.so");
	assert_false(v[7].deleted);
	assert_int_equal(v[7].inode, 99887766);
	assert_int_equal(v[7].dev_major, 8);
	assert_int_equal(v[7].dev_minor, 0x11);

	assert_string_equal(v[8].path, "/tmp/old build");
	assert_true(v[8].deleted);

	/* Anonymous, with and without the trailing space. */
	assert_string_equal(v[9].path, "");
	assert_int_equal(v[9].inode, 0);
	assert_string_equal(v[10].path, "");
	assert_false(v[10].deleted);

	assert_string_equal(v[11].path, "[stack]");
	assert_string_equal(v[12].path, "[vvar]");
	assert_int_equal(v[12].prot, SYM_MAP_READ);
	assert_string_equal(v[13].path, "[vdso]");
	assert_string_equal(v[14].path, "[vsyscall]");
	assert_int_equal(v[14].prot, SYM_MAP_EXEC);
	assert_int_equal(v[14].end, 0xffffffffff601000ull);
	sym_maps__clear(&m);
	assert_null(m.v);
	assert_int_equal(m.n, 0);
}

static void test_find(void **state)
{
	struct sym_maps m;
	const struct sym_map *r;

	assert_int_equal(parse_file(FIXTURE_DIR "/maps.txt", &m), 0);
	assert_null(sym_maps__find(&m, 0));
	assert_null(sym_maps__find(&m, 0x55d0c49fffffull));
	r = sym_maps__find(&m, 0x55d0c4a00000ull);
	assert_ptr_equal(r, &m.v[0]);
	assert_ptr_equal(sym_maps__find(&m, 0x55d0c4a01fffull), &m.v[0]);
	/* Adjacent mappings: end is exclusive. */
	assert_ptr_equal(sym_maps__find(&m, 0x55d0c4a02000ull), &m.v[1]);
	assert_ptr_equal(sym_maps__find(&m, 0x55d0c4a0afffull), &m.v[2]);
	/* Gap after a mapping. */
	assert_null(sym_maps__find(&m, 0x55d0c4a0b000ull));
	assert_null(sym_maps__find(&m, 0x7f1a2b19d000ull));
	assert_ptr_equal(sym_maps__find(&m, 0x7f1a2b1b3fffull), &m.v[7]);
	assert_ptr_equal(sym_maps__find(&m, 0xffffffffff600800ull), &m.v[14]);
	assert_null(sym_maps__find(&m, 0xffffffffff601000ull));
	assert_null(sym_maps__find(&m, UINT64_MAX));
	sym_maps__clear(&m);

	/* Empty tables. */
	assert_null(sym_maps__find(&m, 1));
	assert_null(sym_maps__find(NULL, 1));
}

static void test_unsorted(void **state)
{
	struct sym_maps m;

	assert_int_equal(parse_file(FIXTURE_DIR "/maps_unsorted.txt", &m), 0);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.v[0].path, "/a");
	assert_string_equal(m.v[1].path, "[vdso]");
	assert_string_equal(sym_maps__find(&m, 0x7f0000002010ull)->path, "[vdso]");
	sym_maps__clear(&m);
}

static void test_empty(void **state)
{
	struct sym_maps m = {(void *)1, 42};

	assert_int_equal(parse_str("", &m), 0);
	assert_int_equal(m.n, 0);
	sym_maps__clear(&m);
	assert_int_equal(parse_str("\n", &m), 0);
	assert_int_equal(m.n, 0);
	sym_maps__clear(&m);
	sym_maps__clear(&m);
	sym_maps__clear(NULL);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"7f00 r-xp 00000000 fe:00 1 /a\n",
		"7f00-7f01 r-xq 00000000 fe:00 1 /a\n",
		"7f00-7f01 rwx 00000000 fe:00 1 /a\n",
		"7f00-7f01 r-xp 00000000 fe00 1 /a\n",
		"7f00-7f01 r-xp 00000000 fe:00 /a\n",
		"7f00-7f01 r-xp 00000000 fe:00\n",
		"7f00-7f01 r-xp zz fe:00 1 /a\n",
		"7f01-7f00 r-xp 00000000 fe:00 1 /a\n",
		"7f00-7f01 r-xp 00000000 fe:00 -1 /a\n",
		"g7f00-7f01 r-xp 00000000 fe:00 1 /a\n",
		"7f00-7f01 r-xp 00000000 fe:00 1x /a\n",
		"7f00-10000000000000000 r-xp 00000000 fe:00 1 /a\n",
		"   \n",
		"garbage\n",
	};
	struct sym_maps m;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m.v = (void *)1;
		m.n = 7;
		print_message("line %zu: %s", i, bad[i]);
		assert_int_equal(parse_str(bad[i], &m), -EINVAL);
		assert_null(m.v);
		assert_int_equal(m.n, 0);
	}
	assert_int_equal(parse_file(FIXTURE_DIR "/maps_malformed.txt", &m), -EINVAL);
	assert_int_equal(m.n, 0);

	/* The last line may lack its newline. */
	assert_int_equal(parse_str("7f00-7f01 r-xp 00000000 fe:00 1 /a b", &m), 0);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.v[0].path, "/a b");
	sym_maps__clear(&m);
	/* Only " (deleted)" at the very end is the marker. */
	assert_int_equal(parse_str("7f00-7f01 r-xp 00000000 fe:00 1 /x (deleted)/y\n"
				   "7f02-7f03 r-xp 00000000 fe:00 1  (deleted)\n",
				   &m),
			 0);
	assert_string_equal(m.v[0].path, "/x (deleted)/y");
	assert_false(m.v[0].deleted);
	assert_string_equal(m.v[1].path, "(deleted)");
	sym_maps__clear(&m);
}

static __attribute__((noinline)) int own_function(int x)
{
	return x + 1;
}

static void test_live(void **state)
{
	const struct sym_map *r;
	struct sym_maps m;
	const char *base;

	assert_int_equal(parse_file("/proc/self/maps", &m), 0);
	assert_true(m.n > 3);
	r = sym_maps__find(&m, (uint64_t)(uintptr_t)own_function);
	assert_non_null(r);
	assert_true(r->prot & SYM_MAP_EXEC);
	assert_true(r->inode != 0);
	base = strrchr(r->path, '/');
	assert_non_null(base);
	assert_string_equal(base, "/test_maps");
	r = sym_maps__find(&m, (uint64_t)(uintptr_t)&m);
	assert_non_null(r);
	assert_true(r->prot & SYM_MAP_WRITE);
	assert_int_equal(own_function(1), 2);
	sym_maps__clear(&m);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_unsorted),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_live),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}

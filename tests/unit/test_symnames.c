/*
 * Unit tests for the symbolizer's name sources (symbolizer/demangle.c,
 * symbolizer/perfmap.c): C++, Rust legacy and Rust v0 demangling, and JIT
 * perf maps (parsing, overlapping and replaced entries, incremental reads of
 * a growing file, malformed lines).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sym_int.h"

static void check_demangle(const char *mangled, const char *want)
{
	char *got = sym_demangle(mangled);

	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_demangle_cpp(void **state)
{
	check_demangle("_ZN2ns3FooIiE3barEi", "ns::Foo<int>::bar(int)");
	check_demangle("_ZNSt6vectorIiSaIiEE9push_backERKi",
		       "std::vector<int, std::allocator<int> >::push_back(int const&)");
	check_demangle("_ZN12_GLOBAL__N_16hiddenEi", "(anonymous namespace)::hidden(int)");
	check_demangle("_Z3fooi.isra.0", "foo(int) [clone .isra.0]");
}

static void test_demangle_rust(void **state)
{
	/* Legacy: the ::h<hash> suffix is dropped. */
	check_demangle("_ZN4core3fmt5write17h5f0bd1d4e6b39e4aE", "core::fmt::write");
	check_demangle("_ZN3std2rt10lang_start17h0123456789abcdefE", "std::rt::lang_start");
	/* v0 */
	check_demangle("_RNvCs1234_7mycrate4main", "mycrate::main");
	check_demangle("_RNvNtCs9ltgdHTiPiY_4core3ptr13drop_in_place", "core::ptr::drop_in_place");
	check_demangle("_RNvMNtCs1234_7mycrate3fooNtB2_3Bar3new", "<mycrate::foo::Bar>::new");
}

static void test_demangle_plain(void **state)
{
	check_demangle("main", NULL);
	check_demangle("memcpy", NULL);
	check_demangle("_start", NULL);
	check_demangle("_Zgarbage!!", NULL);
	check_demangle("_R", NULL);
	check_demangle("", NULL);
}

static struct sym_perfmap *parse(const char *text)
{
	struct sym_perfmap *pm = sym_perfmap__new();
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	assert_non_null(pm);
	assert_non_null(f);
	assert_int_equal(sym_perfmap__parse(pm, f), 0);
	fclose(f);
	return pm;
}

static void test_perfmap(void **state)
{
	struct sym_perfmap *pm = parse("1000 100 LazyCompile:*hot /tmp/x.js:1:1\n"
				       "0x2000 0x10 Builtin: ArrayPush\n"
				       "3000 20 py::work:/tmp/a.py\n"
				       "garbage line\n"
				       "4000 0 zero size\n"
				       "5000 10\n"
				       "ffffffffffffffff 10 wraps\n"
				       "6000 10 trailing spaces   \r\n");

	assert_int_equal(sym_perfmap__count(pm), 4);
	assert_string_equal(sym_perfmap__find(pm, 0x1000), "LazyCompile:*hot /tmp/x.js:1:1");
	assert_string_equal(sym_perfmap__find(pm, 0x10ff), "LazyCompile:*hot /tmp/x.js:1:1");
	assert_null(sym_perfmap__find(pm, 0x1100));
	assert_null(sym_perfmap__find(pm, 0xfff));
	assert_string_equal(sym_perfmap__find(pm, 0x200f), "Builtin: ArrayPush");
	assert_string_equal(sym_perfmap__find(pm, 0x3010), "py::work:/tmp/a.py");
	assert_null(sym_perfmap__find(pm, 0x4000));
	assert_string_equal(sym_perfmap__find(pm, 0x6000), "trailing spaces");
	sym_perfmap__free(pm);
	sym_perfmap__free(NULL);
}

/* Code recompiled at an address: the later entry wins where they overlap. */
static void test_perfmap_overlap(void **state)
{
	struct sym_perfmap *pm = parse("1000 100 old\n"
				       "1040 20 new\n"
				       "2000 100 gone\n"
				       "2000 100 replaced\n"
				       "3000 10 later\n"
				       "2ff0 100 newest\n");

	assert_string_equal(sym_perfmap__find(pm, 0x1000), "old");
	assert_string_equal(sym_perfmap__find(pm, 0x103f), "old");
	assert_string_equal(sym_perfmap__find(pm, 0x1040), "new");
	assert_string_equal(sym_perfmap__find(pm, 0x105f), "new");
	assert_null(sym_perfmap__find(pm, 0x1060));
	assert_string_equal(sym_perfmap__find(pm, 0x2050), "replaced");
	assert_string_equal(sym_perfmap__find(pm, 0x3005), "newest");
	assert_string_equal(sym_perfmap__find(pm, 0x30ef), "newest");
	sym_perfmap__free(pm);
}

/* A growing file is read from where the last read stopped; a cut line waits. */
static void test_perfmap_update(void **state)
{
	char path[] = "/tmp/ember-test-perfmap-XXXXXX";
	struct sym_perfmap *pm = sym_perfmap__new();
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	assert_non_null(pm);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("1000 10 first\n2000 10 seco", f);
	fflush(f);
	assert_int_equal(sym_perfmap__update(pm, path), 0);
	assert_string_equal(sym_perfmap__find(pm, 0x1000), "first");
	assert_null(sym_perfmap__find(pm, 0x2000));
	fputs("nd\n3000 10 third\n", f);
	fflush(f);
	assert_int_equal(sym_perfmap__update(pm, path), 0);
	assert_string_equal(sym_perfmap__find(pm, 0x2000), "second");
	assert_string_equal(sym_perfmap__find(pm, 0x3000), "third");
	assert_int_equal(sym_perfmap__count(pm), 3);
	fclose(f);
	unlink(path);
	assert_int_equal(sym_perfmap__update(pm, path), -ENOENT);
	sym_perfmap__free(pm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demangle_cpp),	cmocka_unit_test(test_demangle_rust),
		cmocka_unit_test(test_demangle_plain),	cmocka_unit_test(test_perfmap),
		cmocka_unit_test(test_perfmap_overlap), cmocka_unit_test(test_perfmap_update),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

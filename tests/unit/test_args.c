/*
 * Unit tests for the profiler's command-line value parsers and the CPU list
 * parser.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "args.h"
#include "cpus.h"

static void test_pids(void **state)
{
	uint32_t *pids = NULL;
	int n = 0;

	assert_int_equal(args__parse_pids("1234", &pids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], 1234);
	free(pids);
	assert_int_equal(args__parse_pids("1,22,333", &pids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pids[0], 1);
	assert_int_equal(pids[1], 22);
	assert_int_equal(pids[2], 333);
	free(pids);

	static const char *const bad[] = {"",	 ",",  "1,", ",1", "1,,2",	  "abc",
					  "12a", "-1", "0",  "+5", "99999999999", "1 2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(args__parse_pids(bad[i], &pids, &n), -EINVAL);
}

static void test_durations(void **state)
{
	uint64_t ns = 0;

	assert_int_equal(args__parse_duration("10", &ns), 0);
	assert_true(ns == 10000000000ULL);
	assert_int_equal(args__parse_duration("2.5", &ns), 0);
	assert_true(ns == 2500000000ULL);
	assert_int_equal(args__parse_duration("500ms", &ns), 0);
	assert_true(ns == 500000000ULL);
	assert_int_equal(args__parse_duration("2m", &ns), 0);
	assert_true(ns == 120000000000ULL);
	assert_int_equal(args__parse_duration("1h", &ns), 0);
	assert_true(ns == 3600000000000ULL);
	assert_int_equal(args__parse_duration("3s", &ns), 0);
	assert_true(ns == 3000000000ULL);

	static const char *const bad[] = {"",	    "-5",   "soon", "5x",  "0",
					  "0.0001", "1e30", "nan",  "inf", " 5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(args__parse_duration(bad[i], &ns), -EINVAL);
}

static void test_u32(void **state)
{
	uint32_t v = 0;

	assert_int_equal(args__parse_u32("99", 1, 100000, &v), 0);
	assert_int_equal(v, 99);
	assert_int_equal(args__parse_u32("100000", 1, 100000, &v), 0);
	assert_int_equal(args__parse_u32("100001", 1, 100000, &v), -EINVAL);
	assert_int_equal(args__parse_u32("0", 1, 100000, &v), -EINVAL);
	assert_int_equal(args__parse_u32("-1", 1, 100000, &v), -EINVAL);
	assert_int_equal(args__parse_u32("12abc", 1, 100000, &v), -EINVAL);
	assert_int_equal(args__parse_u32("18446744073709551617", 1, 100000, &v), -EINVAL);
}

static void test_cpus(void **state)
{
	struct cpu_set_list c;

	assert_int_equal(cpus__parse("0-3,8,10-11\n", &c), 0);
	assert_int_equal(c.n, 7);
	assert_int_equal(c.v[0], 0);
	assert_int_equal(c.v[3], 3);
	assert_int_equal(c.v[4], 8);
	assert_int_equal(c.v[6], 11);
	cpus__free(&c);

	/* No fixed cap: a 4096-CPU machine. */
	assert_int_equal(cpus__parse("0-4095", &c), 0);
	assert_int_equal(c.n, 4096);
	assert_int_equal(c.v[4095], 4095);
	cpus__free(&c);

	assert_int_equal(cpus__parse("0", &c), 0);
	assert_int_equal(c.n, 1);
	cpus__free(&c);

	static const char *const bad[] = {"", "\n", "a", "3-1", "1-", "1,,2", "1;2", "-1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cpus__parse(bad[i], &c), -EINVAL);

	assert_int_equal(cpus__online(&c), 0);
	assert_true(c.n >= 1);
	cpus__free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pids),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_u32),
		cmocka_unit_test(test_cpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

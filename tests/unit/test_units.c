/*
 * Unit tests for the time, duration and size parsers (common/units.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ember/units.h"

#define S   1000000000ULL
#define NOW (1763694600ULL * S) /* 2025-11-21T03:10:00Z */

static void test_rfc3339(void **state)
{
	uint64_t t;

	assert_int_equal(units__parse_time("2025-11-21T03:10:00Z", NOW, &t), 0);
	assert_true(t == NOW);
	assert_int_equal(units__parse_time("2025-11-21 03:10:00z", NOW, &t), 0);
	assert_true(t == NOW);
	assert_int_equal(units__parse_time("2025-11-21T05:10:00+02:00", NOW, &t), 0);
	assert_true(t == NOW);
	assert_int_equal(units__parse_time("2025-11-20T22:40:00-04:30", NOW, &t), 0);
	assert_true(t == NOW);
	assert_int_equal(units__parse_time("2025-11-21T03:10:00.25Z", NOW, &t), 0);
	assert_true(t == NOW + S / 4);
	assert_int_equal(units__parse_time("1970-01-01T00:00:00Z", NOW, &t), 0);
	assert_true(t == 0);
	assert_int_equal(units__parse_time("2024-02-29T00:00:00Z", NOW, &t), 0);
	assert_true(t == 1709164800ULL * S);

	static const char *const bad[] = {
		"2025-11-21",
		"2025-11-21T03:10:00",
		"2025-13-01T00:00:00Z",
		"2025-02-30T00:00:00Z",
		"2023-02-29T00:00:00Z",
		"2025-11-21T24:00:00Z",
		"2025-11-21T03:10:00Zx",
		"2025-11-21T03:10:00+2:00",
		"2025-11-21T03:10:00.Z",
		"1969-12-31T23:59:59Z",
		"2025-1-21T03:10:00Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(units__parse_time(bad[i], NOW, &t), -EINVAL);
}

static void test_unix_now_relative(void **state)
{
	uint64_t t;

	assert_int_equal(units__parse_time("1763694600", NOW, &t), 0);
	assert_true(t == NOW);
	assert_int_equal(units__parse_time("1763694600.5", NOW, &t), 0);
	assert_true(t == NOW + S / 2);
	assert_int_equal(units__parse_time("now", NOW, &t), 0);
	assert_true(t == NOW);
	assert_int_equal(units__parse_time("-15m", NOW, &t), 0);
	assert_true(t == NOW - 900 * S);
	assert_int_equal(units__parse_time("-2h", NOW, &t), 0);
	assert_true(t == NOW - 7200 * S);
	assert_int_equal(units__parse_time("-7d", NOW, &t), 0);
	assert_true(t == NOW - 7 * 86400 * S);
	assert_int_equal(units__parse_time("-30s", NOW, &t), 0);
	assert_true(t == NOW - 30 * S);

	static const char *const bad[] = {"",	   "yesterday", "-",	 "-2x", "+2h",
					  "12abc", "-100000d",	"1e300", "NOW"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(units__parse_time(bad[i], NOW, &t), -EINVAL);
}

static void test_duration(void **state)
{
	uint64_t d;

	assert_int_equal(units__parse_duration("10", &d), 0);
	assert_true(d == 10 * S);
	assert_int_equal(units__parse_duration("7d", &d), 0);
	assert_true(d == 7 * 86400 * S);
	assert_int_equal(units__parse_duration("2w", &d), 0);
	assert_true(d == 14 * 86400 * S);
	assert_int_equal(units__parse_duration("15min", &d), 0);
	assert_true(d == 900 * S);
	assert_int_equal(units__parse_duration(".5s", &d), 0);
	assert_true(d == S / 2);
	assert_int_equal(units__parse_duration("5x", &d), -EINVAL);
	assert_int_equal(units__parse_duration("0", &d), -EINVAL);
	assert_int_equal(units__parse_duration(".", &d), -EINVAL);
}

static void test_size(void **state)
{
	uint64_t b;

	assert_int_equal(units__parse_size("1048576", &b), 0);
	assert_true(b == 1048576);
	assert_int_equal(units__parse_size("500K", &b), 0);
	assert_true(b == 500 * 1024);
	assert_int_equal(units__parse_size("200M", &b), 0);
	assert_true(b == 200ULL << 20);
	assert_int_equal(units__parse_size("2GiB", &b), 0);
	assert_true(b == 2ULL << 30);
	assert_int_equal(units__parse_size("1.5G", &b), 0);
	assert_true(b == 3ULL << 29);
	assert_int_equal(units__parse_size("1T", &b), 0);
	assert_true(b == 1ULL << 40);
	assert_int_equal(units__parse_size("0", &b), -EINVAL);
	assert_int_equal(units__parse_size("12Q", &b), -EINVAL);
	assert_int_equal(units__parse_size("-5M", &b), -EINVAL);
	assert_int_equal(units__parse_size("99999999999T", &b), -EINVAL);
}

static void test_format(void **state)
{
	char buf[64];
	uint64_t t;

	assert_string_equal(units__format_time(NOW + 123 * 1000000ULL, buf, sizeof(buf)),
			    "2025-11-21T03:10:00.123Z");
	assert_int_equal(units__parse_time(buf, 0, &t), 0);
	assert_true(t == NOW + 123 * 1000000ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339),	 cmocka_unit_test(test_unix_now_relative),
		cmocka_unit_test(test_duration), cmocka_unit_test(test_size),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

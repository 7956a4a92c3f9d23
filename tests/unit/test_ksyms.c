/*
 * Unit tests for the kallsyms table (symbolizer/ksyms.c): parsing of the
 * fixture text, alias choice, module symbols, kptr_restrict tables, lookups
 * at and between symbols, malformed input.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ember/symbolizer.h"

static struct sym_ksyms *parse_str(const char *text)
{
	struct sym_ksyms *ks;
	/* fmemopen refuses a zero size */
	FILE *f = *text ? fmemopen((void *)text, strlen(text), "r") : fopen("/dev/null", "r");

	assert_non_null(f);
	ks = sym_ksyms__parse(f);
	fclose(f);
	return ks;
}

static void assert_sym(const struct sym_ksyms *ks, uint64_t addr, const char *name,
		       const char *module)
{
	struct sym_ksym k;

	assert_int_equal(sym_ksyms__find(ks, addr, &k), 0);
	assert_true(k.addr <= addr);
	assert_string_equal(k.name, name);
	if (module)
		assert_string_equal(k.module, module);
	else
		assert_null(k.module);
}

/* No symbol contains @addr. */
static void assert_miss(const struct sym_ksyms *ks, uint64_t addr)
{
	struct sym_ksym k;

	assert_int_equal(sym_ksyms__find(ks, addr, &k), -ENOENT);
	assert_int_equal(sym_ksyms__find_index(ks, addr), SIZE_MAX);
}

static void test_fixture(void **state)
{
	struct sym_ksyms *ks = sym_ksyms__load(FIXTURE_DIR "/kallsyms.txt");

	assert_non_null(ks);
	/* 19 lines: 3 aliases at _stext and 2 at schedule collapse, 4 data, 1 absolute. */
	assert_int_equal(sym_ksyms__count(ks), 11);

	assert_miss(ks, 0);
	assert_miss(ks, 0xffffffff80ffffffull);
	/* Equal binding and underscores: the first line wins. */
	assert_sym(ks, 0xffffffff81000000ull, "_stext", NULL);
	assert_sym(ks, 0xffffffff81000fffull, "_stext", NULL);
	assert_sym(ks, 0xffffffff81001000ull, "do_one_initcall", NULL);
	assert_sym(ks, 0xffffffff81001001ull, "do_one_initcall", NULL);
	assert_sym(ks, 0xffffffff81002000ull, "run_init_process", NULL);
	assert_sym(ks, 0xffffffff81002450ull, "arch_cpu_idle", NULL);
	/* Data symbols are skipped: their addresses belong to the text before. */
	assert_sym(ks, 0xffffffff81003100ull, "__weak_hook", NULL);
	/* A global symbol beats a weak alias. */
	assert_sym(ks, 0xffffffff81004000ull, "schedule", NULL);
	assert_sym(ks, 0xffffffff81004fffull, "schedule", NULL);
	assert_sym(ks, 0xffffffff81005000ull, "native_safe_halt", NULL);
	/* Module symbols, listed out of order in the file. */
	assert_sym(ks, 0xffffffffc0a00010ull, "ext4_iget", "ext4");
	assert_sym(ks, 0xffffffffc0a01000ull, "ext4_fill_super", "ext4");
	assert_sym(ks, 0xffffffffc0a02000ull, "ext4_fill_super", "ext4");
	assert_sym(ks, 0xffffffffc0b00001ull, "xfs_bmap", "xfs");
	assert_sym(ks, 0xffffffffc0c00040ull, "bpf_prog_6deef7357e7b4530_sd_fw_ingress", "bpf");
	assert_sym(ks, UINT64_MAX, "bpf_prog_6deef7357e7b4530_sd_fw_ingress", "bpf");
	sym_ksyms__free(ks);
}

static void test_module_strings_shared(void **state)
{
	struct sym_ksyms *ks = parse_str("ffffffffc0000000 t a\t[m1]\n"
					 "ffffffffc0000100 t b\t[m1]\n"
					 "ffffffffc0000200 t c\t[m2]\n"
					 "ffffffffc0000300 t d\t[m1]\n");

	assert_non_null(ks);
	assert_int_equal(sym_ksyms__count(ks), 4);
	{
		struct sym_ksym a, b;

		assert_int_equal(sym_ksyms__find(ks, 0xffffffffc0000000ull, &a), 0);
		assert_int_equal(sym_ksyms__find(ks, 0xffffffffc0000100ull, &b), 0);
		assert_ptr_equal(a.module, b.module);
	}
	assert_sym(ks, 0xffffffffc0000200ull, "c", "m2");
	assert_sym(ks, 0xffffffffc0000300ull, "d", "m1");
	sym_ksyms__free(ks);
}

static void test_restricted(void **state)
{
	struct sym_ksyms *ks = sym_ksyms__load(FIXTURE_DIR "/kallsyms_restricted.txt");

	assert_non_null(ks);
	assert_int_equal(sym_ksyms__count(ks), 0);
	assert_miss(ks, 0);
	assert_miss(ks, 0xffffffff81000000ull);
	sym_ksyms__free(ks);
}

static void test_empty(void **state)
{
	struct sym_ksyms *ks = parse_str("");

	assert_non_null(ks);
	assert_int_equal(sym_ksyms__count(ks), 0);
	assert_miss(ks, 1);
	sym_ksyms__free(ks);

	ks = parse_str("\n\n");
	assert_non_null(ks);
	assert_int_equal(sym_ksyms__count(ks), 0);
	sym_ksyms__free(ks);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"this is not kallsyms\n",
		"ffffffff81000000\n",
		"ffffffff81000000 T\n",
		"ffffffff81000000 TT name\n",
		"zzzz T name\n",
		"ffffffff81000000 T name\t[unterminated\n",
		"ffffffff81000000 T name\tjunk\n",
		"ffffffff81000000  T name\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(parse_str(bad[i]));
		assert_int_equal(errno, EINVAL);
	}
	errno = 0;
	assert_null(sym_ksyms__load(FIXTURE_DIR "/kallsyms_malformed.txt"));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(sym_ksyms__load(FIXTURE_DIR "/no-such-kallsyms"));
	assert_int_equal(errno, ENOENT);
}

static void test_long_name_no_newline(void **state)
{
	size_t n = 10000, len = 64 + n;
	struct sym_ksyms *ks;
	char *text = malloc(len);

	assert_non_null(text);
	snprintf(text, len, "ffffffff81000000 T ");
	memset(text + strlen(text), 'x', n);
	text[19 + n] = '\0';
	ks = parse_str(text);
	assert_non_null(ks);
	assert_int_equal(sym_ksyms__count(ks), 1);
	{
		struct sym_ksym k;

		assert_int_equal(sym_ksyms__find(ks, 0xffffffff81000001ull, &k), 0);
		assert_int_equal(strlen(k.name), n);
	}
	sym_ksyms__free(ks);
	free(text);
}

/*
 * A kernel-sized table: every symbol of 20,000 (core kernel and modules,
 * unsorted input, some weak aliases) found with its own name and module, in
 * scattered order, and the table smaller than the text it came from.
 */
static void test_many(void **state)
{
	const size_t n = 20000;
	size_t i, len = 0, cap = n * 96;
	char *text = malloc(cap);
	struct sym_ksyms *ks;
	FILE *f;

	assert_non_null(text);
	/* Modules first and the core kernel backwards: the table sorts them. */
	for (i = n; i-- > 0;) {
		uint64_t addr =
			(i < n / 4 ? 0xffffffffc0000000ull : 0xffffffff81000000ull) + i * 64;

		len += snprintf(text + len, cap - len, "%016" PRIx64 " %c sym_%zu_%x%s\n", addr,
				i % 3 ? 't' : 'T', i, (unsigned)(i * 2654435761u),
				i < n / 4 ? (i & 1 ? "\t[mod_a]" : "\t[mod_b]") : "");
		if (i % 100 == 7) /* a weak alias, which loses to the symbol */
			len += snprintf(text + len, cap - len, "%016" PRIx64 " W alias_%zu\n", addr,
					i);
	}
	f = fmemopen(text, len, "r");
	assert_non_null(f);
	ks = sym_ksyms__parse(f);
	fclose(f);
	assert_non_null(ks);
	assert_int_equal(sym_ksyms__count(ks), n);
	assert_true(sym_ksyms__memory(ks) < len);
	for (i = 0; i < n; i++) {
		size_t k = (i * 7919) % n; /* every symbol, in scattered order */
		uint64_t addr =
			(k < n / 4 ? 0xffffffffc0000000ull : 0xffffffff81000000ull) + k * 64;
		char want[64];

		snprintf(want, sizeof(want), "sym_%zu_%x", k, (unsigned)(k * 2654435761u));
		assert_sym(ks, addr + 63, want, k < n / 4 ? (k & 1 ? "mod_a" : "mod_b") : NULL);
	}
	sym_ksyms__free(ks);
	free(text);
}

static void test_free_null(void **state)
{
	sym_ksyms__free(NULL);
	assert_int_equal(sym_ksyms__count(NULL), 0);
	assert_int_equal(sym_ksyms__memory(NULL), 0);
	assert_miss(NULL, 1);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_module_strings_shared),
		cmocka_unit_test(test_restricted),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_long_name_no_newline),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_free_null),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}

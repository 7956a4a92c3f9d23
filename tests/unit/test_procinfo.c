/*
 * Unit tests for the daemon's process facts (profiler/procinfo.c): cgroup
 * and stat parsing, and the cache over a fixture /proc tree.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "procinfo.h"

static void test_parse_cgroup(void **state)
{
	char buf[256];

	assert_int_equal(
		procinfo__parse_cgroup("0::/system.slice/nginx.service\n", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/system.slice/nginx.service");
	/* hybrid hierarchy: v1 lines first */
	assert_int_equal(
		procinfo__parse_cgroup("12:cpu,cpuacct:/x\n1:name=systemd:/y\n0::/k8s/pod1", buf,
				       sizeof(buf)),
		0);
	assert_string_equal(buf, "/k8s/pod1");
	assert_int_equal(procinfo__parse_cgroup("12:cpu:/x\n", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(procinfo__parse_cgroup("", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(procinfo__parse_cgroup("0::/a/very/long/path", buf, 5), -ENAMETOOLONG);
}

static void test_parse_start_time(void **state)
{
	uint64_t ns = 0;
	/* field 22 (starttime) = 4242 ticks; comm holds ") (" and spaces */
	const char *line = "77 (we) ird (x) R 1 77 77 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 1 0 "
			   "4242 1000 100 18446744073709551615";

	assert_int_equal(procinfo__parse_start_time(line, 100, &ns), 0);
	assert_true(ns == 4242ULL * 10000000ULL);
	assert_int_equal(procinfo__parse_start_time("77 (x) R 1 2", 100, &ns), -EINVAL);
	assert_int_equal(procinfo__parse_start_time("garbage", 100, &ns), -EINVAL);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_cache(void **state)
{
	char root[] = "/tmp/ember-procinfo-XXXXXX", path[512];
	const struct prof_proc *p;
	struct prof_procinfo *pi;

	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/321", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/321/cgroup", root);
	write_file(path, "0::/system.slice/app.service\n");
	snprintf(path, sizeof(path), "%s/321/stat", root);
	write_file(path, "321 (app) S 1 321 321 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0\n");
	snprintf(path, sizeof(path), "%s/321/exe", root);
	assert_int_equal(symlink("/usr/bin/app", path), 0);

	pi = prof_procinfo__new(root);
	assert_non_null(pi);
	p = prof_procinfo__get(pi, 321);
	assert_string_equal(p->exe, "/usr/bin/app");
	assert_string_equal(p->cgroup, "/system.slice/app.service");
	assert_true(p->start_time == 500ULL * (1000000000ULL / sysconf(_SC_CLK_TCK)));
	assert_int_equal(prof_procinfo__count(pi), 1);

	/* cached: a changed file is not re-read until forgotten */
	snprintf(path, sizeof(path), "%s/321/cgroup", root);
	write_file(path, "0::/other\n");
	assert_string_equal(prof_procinfo__get(pi, 321)->cgroup, "/system.slice/app.service");
	prof_procinfo__forget(pi, 321);
	assert_int_equal(prof_procinfo__count(pi), 0);
	assert_string_equal(prof_procinfo__get(pi, 321)->cgroup, "/other");

	/* unknown process: empty facts, never a failure */
	p = prof_procinfo__get(pi, 999);
	assert_string_equal(p->exe, "");
	assert_string_equal(p->cgroup, "");
	assert_true(p->start_time == 0);

	/* many processes: growth and tombstones */
	for (uint32_t pid = 1000; pid < 5000; pid++)
		prof_procinfo__get(pi, pid);
	for (uint32_t pid = 1000; pid < 5000; pid += 2)
		prof_procinfo__forget(pi, pid);
	assert_int_equal(prof_procinfo__count(pi), 2 + 2000);
	assert_string_equal(prof_procinfo__get(pi, 321)->cgroup, "/other");
	prof_procinfo__free(pi);

	snprintf(path, sizeof(path), "rm -rf %s", root);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_cgroup),
		cmocka_unit_test(test_parse_start_time),
		cmocka_unit_test(test_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

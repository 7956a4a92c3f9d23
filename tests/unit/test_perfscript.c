/*
 * Unit tests for the perf-script reader (formats/perfscript.c) on
 * hand-written `perf script` outputs (tests/fixtures/perfscript/): with and
 * without callchains, system-wide recordings with CPU columns and pid/tid,
 * command names with spaces, kernel frames, [unknown], inline frames with
 * source lines, several events, odd symbol names, the --header comments, and
 * input that is not perf script at all. Stacks are compared as folded text
 * written by hand.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ember/formats.h"
#include "ember/profile.h"

#define FIX FIXTURE_DIR "/perfscript/"

static int read_file(const char *path, const char *event, struct profile **out,
		     struct fmt_perfscript_info *info)
{
	FILE *f = fopen(path, "r");
	int err;

	assert_non_null(f);
	*out = profile__new();
	assert_non_null(*out);
	err = fmt_perfscript__read(*out, f, event, info);
	fclose(f);
	return err;
}

static int read_text(const char *text, const char *event, struct profile **out,
		     struct fmt_perfscript_info *info)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int err;

	assert_non_null(f);
	*out = profile__new();
	assert_non_null(*out);
	err = fmt_perfscript__read(*out, f, event, info);
	fclose(f);
	return err;
}

static char *folded(const struct profile *p, const struct fmt_options *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fmt_folded__write(p, o, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void assert_folded(const struct profile *p, const struct fmt_options *o, const char *want)
{
	char *got = folded(p, o);

	if (strcmp(got, want))
		fail_msg("folded output differs:\n--- got\n%s--- want\n%s", got, want);
	free(got);
}

/* The frame named @name; fails when there is none or several. */
static const struct profile_frame *frame_named(const struct profile *p, const char *name)
{
	const struct profile_frame *found = NULL;
	uint32_t i;

	for (i = 0; i < profile__frame_count(p); i++) {
		const struct profile_frame *f = profile__frame(p, i);

		if (!strcmp(profile__str(p, f->name), name)) {
			assert_null(found);
			found = f;
		}
	}
	if (!found)
		fail_msg("no frame '%s'", name);
	return found;
}

static bool has_task(const struct profile *p, uint32_t pid, uint32_t tid, const char *comm)
{
	uint32_t i;

	for (i = 0; i < profile__task_count(p); i++) {
		const struct profile_task *t = profile__task(p, i);

		if (t->pid == pid && t->tid == tid && !strcmp(profile__str(p, t->comm), comm))
			return true;
	}
	return false;
}

static void test_callchains(void **state)
{
	struct fmt_perfscript_info info;
	const struct profile_frame *f;
	struct profile *p;

	assert_int_equal(read_file(FIX "callchain.txt", NULL, &p, &info), 0);
	assert_folded(p, NULL,
		      "ratio_fp 1\n"
		      "ratio_fp;[unknown];[libm.so.6] 1\n"
		      "ratio_fp;__libc_start_call_main;main;compute_step;leaf_heavy 2\n"
		      "ratio_fp;__libc_start_call_main;main;compute_step;leaf_light;"
		      "asm_sysvec_apic_timer_interrupt_[k];native_write_msr_[k] 1\n");
	assert_string_equal(info.event, "cpu-clock:ppp");
	assert_string_equal(info.others, "");
	assert_int_equal(info.samples, 5);
	assert_int_equal(info.skipped, 0);
	assert_int_equal(info.bad_line, 0);
	assert_true(info.first_ns == 1601867670000ULL);
	assert_true(info.last_ns == 1601875000000ULL);
	assert_int_equal(info.captured_ns, 0);
	/* cpu-clock periods are nanoseconds: their mean is the profile's period */
	assert_int_equal(profile__meta(p)->period_ns, 2004008);
	assert_int_equal(profile__meta(p)->freq_hz, 499);
	assert_true(has_task(p, 30623, 30623, "ratio_fp"));
	assert_true(has_task(p, 30624, 30624, "ratio_fp"));

	f = frame_named(p, "leaf_heavy");
	assert_int_equal(f->kind, PROFILE_FRAME_USER);
	assert_string_equal(profile__str(p, f->module), "ratio_fp");
	f = frame_named(p, "__libc_start_call_main");
	assert_string_equal(profile__str(p, f->module), "libc.so.6");
	f = frame_named(p, "native_write_msr");
	assert_int_equal(f->kind, PROFILE_FRAME_KERNEL);
	assert_string_equal(profile__str(p, f->module), "[kernel.kallsyms]");
	/* unknown symbol in a known file: [file]; in nothing known: [unknown], no module */
	f = frame_named(p, "[libm.so.6]");
	assert_string_equal(profile__str(p, f->module), "libm.so.6");
	f = frame_named(p, "[unknown]");
	assert_int_equal(f->module, 0);
	profile__free(p);
	(void)state;
}

static void test_system_wide(void **state)
{
	struct fmt_options pt = {.per_thread = true};
	struct fmt_perfscript_info info;
	struct profile *p;

	assert_int_equal(read_file(FIX "system_wide.txt", NULL, &p, &info), 0);
	assert_folded(p, NULL,
		      ":-1;[kernel.kallsyms]_[k] 1\n"
		      "Web Content;main;js::RunScript 2\n"
		      "app 42_1;spin 1\n"
		      "kworker/0:1-ev;worker_thread_[k];process_one_work_[k] 1\n"
		      "swapper;do_idle_[k];pv_native_safe_halt_[k] 1\n");
	assert_folded(p, &pt,
		      ":-1-0;[kernel.kallsyms]_[k] 1\n"
		      "Web Content-4250;main;js::RunScript 1\n"
		      "Web Content-4251;main;js::RunScript 1\n"
		      "app 42_1-9;spin 1\n"
		      "kworker/0:1-ev-77;worker_thread_[k];process_one_work_[k] 1\n"
		      "swapper-0;do_idle_[k];pv_native_safe_halt_[k] 1\n");
	assert_true(has_task(p, 4242, 4250, "Web Content"));
	assert_true(has_task(p, 4242, 4251, "Web Content"));
	assert_true(has_task(p, 9, 9, "app 42 1"));
	assert_true(has_task(p, 0, 0, ":-1"));
	assert_string_equal(info.event, "cpu-clock");
	assert_int_equal(profile__meta(p)->period_ns, 10101010);
	assert_int_equal(profile__meta(p)->freq_hz, 99);
	assert_int_equal(frame_named(p, "[kernel.kallsyms]")->kind, PROFILE_FRAME_KERNEL);
	profile__free(p);
	(void)state;
}

static void test_no_callchain(void **state)
{
	struct fmt_perfscript_info info;
	struct profile *p;

	assert_int_equal(read_file(FIX "no_callchain.txt", NULL, &p, &info), 0);
	/* "dead" looks like an address: it is still a command name, not a frame */
	assert_folded(p, NULL,
		      "dead;native_write_msr_[k] 1\n"
		      "kworker/u4:2-e;process_one_work_[k] 1\n"
		      "ratio_fp;leaf_heavy 2\n"
		      "ratio_fp;leaf_light 1\n");
	assert_int_equal(info.samples, 5);
	assert_true(has_task(p, 99, 99, "kworker/u4:2-e"));
	profile__free(p);
	(void)state;
}

static void test_events(void **state)
{
	struct fmt_perfscript_info info;
	struct profile *p;

	/* the first event by default */
	assert_int_equal(read_file(FIX "multi_event.txt", NULL, &p, &info), 0);
	assert_folded(p, NULL, "app;cold 1\napp;main;hot 2\n");
	assert_string_equal(info.event, "cycles:u");
	assert_string_equal(info.others, "sched:sched_switch");
	assert_int_equal(info.samples, 3);
	assert_int_equal(info.skipped, 2);
	/* cycles are not time: no period */
	assert_int_equal(profile__meta(p)->period_ns, 0);
	profile__free(p);

	/* a chosen event; a tracepoint's payload is not a frame */
	assert_int_equal(read_file(FIX "multi_event.txt", "sched:sched_switch", &p, &info), 0);
	assert_folded(p, NULL,
		      "app;main;wait_io;schedule_[k];__schedule_[k] 1\n"
		      "app;yield_now;__schedule_[k] 1\n");
	assert_string_equal(info.event, "sched:sched_switch");
	assert_string_equal(info.others, "cycles:u");
	assert_int_equal(info.samples, 2);
	assert_int_equal(info.skipped, 3);
	assert_true(info.first_ns == 200000200000ULL);
	assert_true(info.last_ns == 200000400000ULL);
	profile__free(p);

	/* an event name without its modifiers */
	assert_int_equal(read_file(FIX "multi_event.txt", "cycles", &p, &info), 0);
	assert_string_equal(info.event, "cycles:u");
	assert_int_equal(info.samples, 3);
	profile__free(p);

	/* "sched" is not "sched:sched_switch" with modifiers; an absent event is -ENOENT */
	assert_int_equal(read_file(FIX "multi_event.txt", "sched", &p, &info), -ENOENT);
	assert_string_equal(info.others, "cycles:u, sched:sched_switch");
	profile__free(p);
	assert_int_equal(read_file(FIX "multi_event.txt", "instructions", &p, &info), -ENOENT);
	assert_int_equal(info.samples, 0);
	profile__free(p);
	(void)state;
}

static void test_inline_and_srcline(void **state)
{
	struct fmt_options lines = {.lines = true};
	struct fmt_perfscript_info info;
	const uint32_t *stack;
	const struct profile_frame *f;
	struct profile *p;
	uint32_t n, i;

	assert_int_equal(read_file(FIX "inline.txt", NULL, &p, &info), 0);
	assert_folded(p, NULL,
		      "inl;__libc_start_call_main;work;spin_[i] 1\n"
		      "inl;__libc_start_call_main;work;spin_[i];mix_[i] 1\n");
	assert_folded(p, &lines,
		      "inl;__libc_start_call_main;work:inl.c:5;spin:inl.c:4_[i];mix:inl.c:3_[i] "
		      "1\n"
		      "inl;__libc_start_call_main;work;spin_[i] 1\n");
	/* inline frames follow the frame they are inlined into, and share its module */
	for (i = 0; i < profile__stack_count(p); i++) {
		stack = profile__stack(p, i, &n);
		if (n != 4)
			continue;
		assert_string_equal(profile__str(p, profile__frame(p, stack[1])->name), "work");
		assert_int_equal(profile__frame(p, stack[1])->kind, PROFILE_FRAME_USER);
		f = profile__frame(p, stack[2]);
		assert_int_equal(f->kind, PROFILE_FRAME_INLINE);
		assert_string_equal(profile__str(p, f->module), "inl");
		assert_int_equal(f->line, 4);
		f = profile__frame(p, stack[3]);
		assert_string_equal(profile__str(p, f->name), "mix");
		assert_string_equal(profile__str(p, f->file), "inl.c");
		assert_int_equal(f->line, 3);
	}
	/* "??:0" is no source line */
	assert_int_equal(frame_named(p, "__libc_start_call_main")->file, 0);
	profile__free(p);
	(void)state;
}

static void test_odd_symbols(void **state)
{
	struct fmt_perfscript_info info;
	struct profile *p;

	assert_int_equal(read_file(FIX "odd_symbols.txt", NULL, &p, &info), 0);
	assert_folded(p, NULL,
		      "cpp-app;main;semi:colon;<alloc::vec::Vec<T> as core::ops::Drop>::drop;"
		      "(anonymous namespace)::Worker::operator()() const;"
		      "std::vector<int, std::allocator<int> >::push_back(int const&) 1\n"
		      "node;node::Start(int, char**);__vdso_clock_gettime;[perf-8.map]_[j];"
		      "LazyCompile:*fib /srv/fib.js:3_[j] 1\n");
	/* the model keeps the real name; only folded output turns ';' into ':' */
	frame_named(p, "semi;colon");
	assert_string_equal(profile__str(p, frame_named(p, "main")->module), "cpp-app");
	assert_string_equal(profile__str(p, frame_named(p, "__vdso_clock_gettime")->module),
			    "[vdso]");
	assert_int_equal(frame_named(p, "__vdso_clock_gettime")->kind, PROFILE_FRAME_USER);
	assert_int_equal(frame_named(p, "[perf-8.map]")->kind, PROFILE_FRAME_JIT);
	profile__free(p);
	(void)state;
}

static void test_header_comments(void **state)
{
	struct fmt_perfscript_info info;
	struct profile *p;
	char *tz = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(read_file(FIX "header.txt", NULL, &p, &info), 0);
	assert_folded(p, NULL, "app;hit 2\n");
	assert_true(info.captured_ns == 1795257151ULL * 1000000000ULL);
	assert_string_equal(info.event, "probe:hit");
	assert_true(info.first_ns == 300500000000ULL);
	assert_true(info.last_ns == 301750000000ULL);
	assert_int_equal(profile__meta(p)->period_ns, 0);
	profile__free(p);
	if (tz) {
		setenv("TZ", tz, 1);
		free(tz);
	} else {
		unsetenv("TZ");
	}
	tzset();
	(void)state;
}

static void test_bad_input(void **state)
{
	static const struct {
		const char *text;
		unsigned long line;
	} cases[] = {
		/* a line that is neither header nor frame */
		{"app 1 1.0: cpu-clock:\n\t1000 main (/bin/app)\n\nhello world\n", 4},
		/* no timestamp */
		{"app 1 cpu-clock:\n", 1},
		/* a timestamp but no pid before it */
		{"app 1.5: cpu-clock:\n", 1},
		/* a NUL byte inside a line */
		{"app 1 1.0: cpu-clock:\n\t1000 ma\0in (/bin/app)\n", 2},
		/* a folded line is not perf script */
		{"app;main;work 12\n", 1},
	};
	struct fmt_perfscript_info info;
	struct profile *p;
	size_t i;
	FILE *f;

	assert_int_equal(read_file(FIX "bad.txt", NULL, &p, &info), -EINVAL);
	assert_int_equal(info.bad_line, 4);
	profile__free(p);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].text);

		if (i == 3)
			len = sizeof("app 1 1.0: cpu-clock:\n\t1000 ma\0in (/bin/app)\n") - 1;
		f = fmemopen((void *)cases[i].text, len, "r");
		assert_non_null(f);
		p = profile__new();
		assert_non_null(p);
		assert_int_equal(fmt_perfscript__read(p, f, NULL, &info), -EINVAL);
		assert_int_equal(info.bad_line, cases[i].line);
		fclose(f);
		profile__free(p);
	}
	assert_int_equal(fmt_perfscript__read(NULL, stdin, NULL, &info), -EINVAL);
	(void)state;
}

static void test_edge_cases(void **state)
{
	struct fmt_perfscript_info info;
	struct profile *p;

	/* empty input, comments only: no samples, no error */
	assert_int_equal(read_text("", NULL, &p, &info), 0);
	assert_int_equal(info.samples, 0);
	assert_int_equal(profile__total(p), 0);
	profile__free(p);
	assert_int_equal(read_text("# just a comment\n\n", NULL, &p, NULL), 0);
	profile__free(p);

	/* CRLF line ends, a last sample without its blank line, a frame with no symbol */
	assert_int_equal(read_text("app 3/4 [002] 5.000000001: 10 task-clock:\r\n"
				   "\t     1000 main+0x1 (/bin/app)\r\n"
				   "\t     2000\r\n",
				   NULL, &p, &info),
			 0);
	assert_folded(p, NULL, "app;[unknown];main 1\n");
	assert_true(info.first_ns == 5000000001ULL);
	assert_int_equal(profile__meta(p)->period_ns, 10);
	assert_int_equal(profile__meta(p)->freq_hz, 100000000);
	assert_true(has_task(p, 3, 4, "app"));
	profile__free(p);

	/* a kernel address without a DSO is still a kernel frame */
	assert_int_equal(
		read_text("app 3 5.0: cpu-clock:\n\tffffffff81000000 irq\n\n", NULL, &p, &info), 0);
	assert_folded(p, NULL, "app;irq_[k] 1\n");
	profile__free(p);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_callchains),	   cmocka_unit_test(test_system_wide),
		cmocka_unit_test(test_no_callchain),	   cmocka_unit_test(test_events),
		cmocka_unit_test(test_inline_and_srcline), cmocka_unit_test(test_odd_symbols),
		cmocka_unit_test(test_header_comments),	   cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_edge_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

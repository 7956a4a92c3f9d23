/*
 * Unit tests for the symbolizer's memory budget (sym_options.max_bytes):
 * many files mapped by many fake processes, symbolized in turns, so the
 * objects of the least recently used files are closed while their processes
 * still map them.
 *
 *   - the memory the symbolizer reports stays within the budget after each
 *     drain, and within the budget plus one object between lookups;
 *   - names, inline chains and file:line are the same with a small budget
 *     (files closed and read again, their DWARF indexed again) as with an
 *     unbounded one;
 *   - under a tiny budget, compressed DWARF too large to inflate is not
 *     read while the symbol tables still name every function;
 *   - the counters say so.
 *
 * Each file is mapped into its own fake process (<root>/PID/maps) as the
 * loader would map it.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "ember/profile.h"
#include "ember/symbolizer.h"

#define FX(name)    FIXTURE_BIN_DIR "/fixtures/" name
#define MAX_TARGETS 48
#define BASE_PIE    0x7f0000000000ull

struct target {
	char path[512];
	uint32_t pid;
	uint64_t lo, hi; /* its executable range in the fake process */
};

struct env {
	char root[64];
	struct target t[MAX_TARGETS];
	size_t n;
};

static const char *const fixture_debug_dirs[] = {FX("debug"), NULL};

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Maps @path into a new fake process of @env, at a base of its own when PIE. */
static void add_target(struct env *env, const char *path)
{
	struct target *t = &env->t[env->n];
	char maps[8192] = "", p[128];
	uint64_t base = 0;
	struct stat st;
	size_t i, phnum, len;
	GElf_Ehdr eh;
	Elf *elf;
	int fd;

	if (env->n == MAX_TARGETS || stat(path, &st))
		return;
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || !gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &phnum)) {
		if (elf)
			elf_end(elf);
		close(fd);
		return;
	}
	if (eh.e_type == ET_DYN)
		base = BASE_PIE + ((uint64_t)env->n << 32);
	for (i = 0; i < phnum; i++) {
		uint64_t start, end;
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		start = base + (ph.p_vaddr & ~0xfffull);
		end = (base + ph.p_vaddr + ph.p_memsz + 0xfff) & ~0xfffull;
		if (ph.p_flags & PF_X) {
			t->lo = base + ph.p_vaddr;
			t->hi = base + ph.p_vaddr + ph.p_memsz;
		}
		len = strlen(maps);
		snprintf(maps + len, sizeof(maps) - len,
			 "%" PRIx64 "-%" PRIx64 " %c%c%cp %08" PRIx64 " %02x:%02x %lu    %s\n",
			 start, end, ph.p_flags & PF_R ? 'r' : '-', ph.p_flags & PF_W ? 'w' : '-',
			 ph.p_flags & PF_X ? 'x' : '-', (uint64_t)(ph.p_offset & ~0xfffull),
			 major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino, path);
	}
	elf_end(elf);
	close(fd);
	if (t->hi <= t->lo)
		return;
	t->pid = 1000 + (uint32_t)env->n;
	snprintf(t->path, sizeof(t->path), "%s", path);
	snprintf(p, sizeof(p), "%s/%u", env->root, t->pid);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/%u/maps", env->root, t->pid);
	write_text(p, maps);
	/* The start time (field 22) the symbolizer checks against pid reuse. */
	snprintf(p, sizeof(p), "%s/%u/stat", env->root, t->pid);
	write_text(p, "1 (fx) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0\n");
	env->n++;
}

static const char *const fixtures[] = {
	FX("fixture_sym_pie"),	     FX("fixture_sym_nopie"),
	FX("fixture_sym_buildid"),   FX("fixture_sym_debuglink"),
	FX("fixture_sym_mini"),	     FX("fixture_sym_cpp"),
	FX("libfixture_sym_lib.so"), FX("fixture_elf_pie"),
	FX("fixture_sym_dlopen"),    NULL,
};

/* The shared objects this test runs with (libc, libdw, libelf, cmocka, ...). */
static int add_loaded(struct dl_phdr_info *info, size_t size, void *arg)
{
	if (info->dlpi_name && info->dlpi_name[0] == '/' && !strstr(info->dlpi_name, "vdso"))
		add_target(arg, info->dlpi_name);
	return 0;
}

static int setup(void **state)
{
	struct env *env = calloc(1, sizeof(*env));

	assert_non_null(env);
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	snprintf(env->root, sizeof(env->root), "/tmp/ember-test-symmem-XXXXXX");
	assert_non_null(mkdtemp(env->root));
	*state = env;
	return 0;
}

static int teardown(void **state)
{
	struct env *env = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env->root);
	assert_int_equal(system(cmd), 0);
	free(env);
	return 0;
}

static void add_fixtures(struct env *env)
{
	for (int i = 0; fixtures[i]; i++)
		add_target(env, fixtures[i]);
	assert_true(env->n >= 6);
}

/*
 * The frames of one address as text: "name|file|line|kind" for each frame,
 * outermost first; @names_only leaves file and line out.
 */
static void describe(const struct profile *p, const uint32_t *ids, int n, bool names_only,
		     char *out, size_t size)
{
	size_t len = 0;
	int i;

	out[0] = '\0';
	for (i = 0; i < n && len < size; i++) {
		const struct profile_frame *f = profile__frame(p, ids[i]);

		if (names_only)
			len += snprintf(out + len, size - len, "%s|%u;", profile__str(p, f->name),
					f->kind);
		else
			len += snprintf(out + len, size - len, "%s|%s|%u|%u;",
					profile__str(p, f->name),
					f->file ? profile__str(p, f->file) : "-", f->line, f->kind);
	}
}

struct run {
	char **text; /* one description per lookup */
	size_t n;
	uint64_t peak;	     /* highest sym_stats.memory after a lookup */
	uint64_t after_done; /* highest sym_stats.memory after symbolizer__window_done */
	uint64_t inline_frames;
	struct sym_stats st; /* at the end */
};

static void run_free(struct run *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->text[i]);
	free(r->text);
}

/*
 * Symbolizes @rounds addresses per target, the targets in turns (so each
 * lookup is in another file than the last), with budget @max_bytes (0:
 * the default); a drain (symbolizer__window_done) every @drain lookups.
 */
static void run_lookups(const struct env *env, uint64_t max_bytes, bool no_dwarf, int rounds,
			int drain, bool names_only, struct run *r)
{
	struct sym_options o = {.proc_root = env->root,
				.kallsyms_path = "",
				.debug_dirs = fixture_debug_dirs,
				.max_bytes = max_bytes,
				.no_dwarf = no_dwarf};
	struct symbolizer *s = symbolizer__new(&o);
	struct profile *p = profile__new();
	struct sym_stats st;
	uint32_t ids[64];
	char buf[4096];
	size_t i;
	int k;

	assert_non_null(s);
	assert_non_null(p);
	memset(r, 0, sizeof(*r));
	r->text = calloc((size_t)rounds * env->n, sizeof(*r->text));
	assert_non_null(r->text);
	for (k = 0; k < rounds; k++) {
		for (i = 0; i < env->n; i++) {
			const struct target *t = &env->t[i];
			uint64_t addr =
				t->lo + ((uint64_t)k * 2654435761u + i * 40503u) % (t->hi - t->lo);
			int n = symbolizer__user(s, p, t->pid, addr, ids, 64);

			assert_true(n > 0);
			describe(p, ids, n, names_only, buf, sizeof(buf));
			r->text[r->n] = strdup(buf);
			assert_non_null(r->text[r->n]);
			r->n++;
			symbolizer__stats(s, &st);
			if (st.memory > r->peak)
				r->peak = st.memory;
			if (r->n % (size_t)drain == 0) {
				symbolizer__window_done(s);
				symbolizer__stats(s, &st);
				if (st.memory > r->after_done)
					r->after_done = st.memory;
			}
		}
	}
	symbolizer__window_done(s);
	symbolizer__stats(s, &r->st);
	if (r->st.memory > r->after_done)
		r->after_done = r->st.memory;
	r->inline_frames = r->st.inline_frames;
	symbolizer__free(s);
	profile__free(p);
}

/* The most one file's object holds alone, over the same lookups (unbounded). */
static uint64_t single_max(const struct env *env, int rounds)
{
	struct env one = *env;
	uint64_t most = 0;
	struct run r;

	for (size_t i = 0; i < env->n; i++) {
		one.t[0] = env->t[i];
		one.n = 1;
		run_lookups(&one, 0, false, rounds, 1 << 30, true, &r);
		if (r.peak > most)
			most = r.peak;
		run_free(&r);
	}
	return most;
}

/*
 * Fixtures and the libraries this test runs with, in 20 rounds under a 96
 * KiB budget: memory within the budget after each drain, within the budget
 * plus the largest object between lookups, files closed to fit, every
 * address named as without a limit.
 */
static void test_budget_holds(void **state)
{
	struct env *env = *state;
	const uint64_t budget = 96 << 10;
	struct run big, small;
	uint64_t one;

	add_fixtures(env);
	dl_iterate_phdr(add_loaded, env);
	assert_true(env->n >= 10);
	run_lookups(env, 0, false, 20, 16, true, &big);
	print_message("%zu files: unbounded %" PRIu64 " KiB, the largest alone %" PRIu64 " KiB\n",
		      env->n, big.after_done >> 10, (one = single_max(env, 20)) >> 10);
	/* The test means something only when the addresses are named and all does not fit. */
	assert_true(big.st.user_resolved > big.n / 2);
	assert_true(big.after_done > 2 * budget);
	assert_int_equal(big.st.budget_evictions, 0);
	assert_int_equal(big.st.max_bytes, SYM_DEFAULT_MAX_BYTES);

	run_lookups(env, budget, false, 20, 16, true, &small);
	print_message("budget %" PRIu64 " KiB: peak %" PRIu64 " KiB, after drains %" PRIu64
		      " KiB, %" PRIu64 " objects closed\n",
		      budget >> 10, small.peak >> 10, small.after_done >> 10,
		      small.st.budget_evictions);
	assert_int_equal(small.st.max_bytes, budget);
	assert_true(small.after_done <= budget);
	assert_true(small.peak <= budget + one);
	assert_true(small.st.budget_evictions > 0);
	assert_true(small.st.file_misses > big.st.file_misses); /* closed files were read again */
	/* Every address is still named (names themselves: test_names_after_reload). */
	assert_int_equal(small.st.user_resolved + small.st.user_unknown, small.n);
	assert_int_equal(small.st.user_resolved, big.st.user_resolved);
	run_free(&big);
	run_free(&small);
}

/*
 * DWARF fixtures under a budget that fits a few of them: every frame (name,
 * inline chain, file:line) is the same as with no limit, though objects were
 * closed and read again and their CUs walked again.
 */
static void test_names_after_reload(void **state)
{
	struct env *env = *state;
	const uint64_t budget = 128 << 10;
	struct run big, small;

	add_fixtures(env);
	run_lookups(env, 0, false, 40, 8, false, &big);
	run_lookups(env, budget, false, 40, 8, false, &small);
	assert_true(big.st.user_resolved > big.n / 2);
	print_message("unbounded %" PRIu64 " KiB; %" PRIu64 " KiB budget: %" PRIu64
		      " objects closed, %" PRIu64 " files opened\n",
		      big.after_done >> 10, budget >> 10, small.st.budget_evictions,
		      small.st.file_misses);
	assert_true(big.after_done > budget);
	assert_true(small.after_done <= budget);
	assert_true(small.st.budget_evictions > 0);
	assert_true(small.st.file_misses > big.st.file_misses);
	assert_int_equal(small.st.dwarf_too_big, 0);
	assert_true(big.inline_frames > 0);
	assert_int_equal(small.inline_frames, big.inline_frames);
	assert_int_equal(small.n, big.n);
	for (size_t i = 0; i < big.n; i++)
		assert_string_equal(small.text[i], big.text[i]);
	run_free(&big);
	run_free(&small);
}

/*
 * The fixture with its debug sections compressed, under a budget that cannot
 * hold them inflated: DWARF is not read (counted) and the symbol table names
 * every address as it does with DWARF turned off.
 */
static void test_compressed_too_big(void **state)
{
	struct env *env = *state;
	char path[128], cmd[512];
	struct run syms, small;

	snprintf(path, sizeof(path), "%s/compressed", env->root);
	snprintf(cmd, sizeof(cmd), "objcopy --compress-debug-sections=zlib '%s' '%s'",
		 FX("fixture_sym_pie"), path);
	if (system(cmd)) {
		print_message("objcopy cannot compress debug sections here: skipped\n");
		skip();
	}
	add_target(env, path);
	assert_int_equal(env->n, 1);
	run_lookups(env, 0, true, 200, 50, true, &syms);
	run_lookups(env, 4 << 10, false, 200, 50, true, &small);
	assert_true(small.st.dwarf_too_big > 0);
	assert_int_equal(small.st.dwarf_files, 0);
	assert_int_equal(small.inline_frames, 0);
	for (size_t i = 0; i < syms.n; i++)
		assert_string_equal(small.text[i], syms.text[i]);
	run_free(&syms);
	run_free(&small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_budget_holds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_after_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compressed_too_big, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

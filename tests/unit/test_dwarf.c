/*
 * Unit tests for the full symbolizer over the fixtures that
 * tests/fixtures/CMakeLists.txt builds: DWARF inline chains and file:line at
 * -O2 (PIE and non-PIE), separate debug files by build-id and by
 * .gnu_debuglink, MiniDebugInfo, C++ names, the vDSO, live processes (a
 * library loaded with dlopen, a binary deleted and replaced while it runs),
 * and an agreement check
 * of every address of a fixture's text (and a sample of libc's) against
 * binutils' addr2line -f -i -C.
 *
 * Each fixture is mapped into a fake /proc root (<root>/PID/maps) at a base
 * address, as the loader would map it.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ember/profile.h"
#include "ember/symbolizer.h"

#define FX(name)      FIXTURE_BIN_DIR "/fixtures/" name
#define FIXTURE_SRC   FIXTURE_DIR "/sym_fixture.c"
#define DEBUG_DIR     FX("debug")
#define PID	      4321
#define BASE_PIE      0x7f0000000000ull
#define MAX_AGREEMENT 4000 /* addresses compared per file */

struct env {
	char root[64];
	struct profile *p;
	struct symbolizer *s;
	uint64_t base; /* where the mapped file's vaddr 0 is */
};

struct frame {
	const char *name, *file, *module;
	uint32_t line, kind, start_line;
};

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Appends the maps lines the loader would create for @path loaded at @bias. */
static void append_elf_maps(char *buf, size_t size, const char *path, uint64_t bias)
{
	size_t i, phnum, len;
	struct stat st;
	GElf_Phdr ph;
	Elf *elf;
	int fd;

	assert_int_equal(stat(path, &st), 0);
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_int_equal(elf_getphdrnum(elf, &phnum), 0);
	for (i = 0; i < phnum; i++) {
		uint64_t start, end;

		assert_non_null(gelf_getphdr(elf, (int)i, &ph));
		if (ph.p_type != PT_LOAD)
			continue;
		start = bias + (ph.p_vaddr & ~0xfffull);
		end = (bias + ph.p_vaddr + ph.p_memsz + 0xfff) & ~0xfffull;
		len = strlen(buf);
		snprintf(buf + len, size - len,
			 "%" PRIx64 "-%" PRIx64 " %c%c%cp %08" PRIx64 " %02x:%02x %lu    %s\n",
			 start, end, ph.p_flags & PF_R ? 'r' : '-', ph.p_flags & PF_W ? 'w' : '-',
			 ph.p_flags & PF_X ? 'x' : '-', (uint64_t)(ph.p_offset & ~0xfffull),
			 major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino, path);
	}
	elf_end(elf);
	close(fd);
}

static bool is_pie(const char *path)
{
	GElf_Ehdr eh;
	Elf *elf;
	bool r;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_non_null(gelf_getehdr(elf, &eh));
	r = eh.e_type == ET_DYN;
	elf_end(elf);
	close(fd);
	return r;
}

/* A fresh symbolizer over a fake root where PID maps @path; @dirs: debug dirs. */
static void env_map(struct env *env, const char *path, const char *const *dirs)
{
	struct sym_options o = {.proc_root = env->root, .kallsyms_path = "", .debug_dirs = dirs};
	char maps[8192] = "", p[256];

	env->base = is_pie(path) ? BASE_PIE : 0;
	append_elf_maps(maps, sizeof(maps), path, env->base);
	snprintf(p, sizeof(p), "%s/%d/maps", env->root, PID);
	write_text(p, maps);
	symbolizer__free(env->s);
	env->s = symbolizer__new(&o);
	assert_non_null(env->s);
}

static int setup(void **state)
{
	struct env *env = calloc(1, sizeof(*env));
	char dir[256];

	assert_non_null(env);
	snprintf(env->root, sizeof(env->root), "/tmp/ember-test-dwarf-XXXXXX");
	assert_non_null(mkdtemp(env->root));
	snprintf(dir, sizeof(dir), "%s/%d", env->root, PID);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/%d/stat", env->root, PID);
	write_text(dir, "4321 (fx) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0\n");
	env->p = profile__new();
	assert_non_null(env->p);
	*state = env;
	return 0;
}

static int teardown(void **state)
{
	struct env *env = *state;
	char cmd[128];

	symbolizer__free(env->s);
	profile__free(env->p);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env->root);
	assert_int_equal(system(cmd), 0);
	free(env);
	return 0;
}

/* Frames of file address @vaddr, outermost first; returns how many. */
static int lookup(struct env *env, uint64_t vaddr, struct frame *out, int max)
{
	uint32_t ids[64];
	int n, i;

	n = symbolizer__user(env->s, env->p, PID, env->base + vaddr, ids, 64);
	if (n <= 0)
		print_message("lookup %#" PRIx64 ": %d\n", vaddr, n);
	assert_true(n > 0 && n <= max);
	for (i = 0; i < n; i++) {
		const struct profile_frame *f = profile__frame(env->p, ids[i]);

		out[i].name = profile__str(env->p, f->name);
		out[i].file = f->file ? profile__str(env->p, f->file) : NULL;
		out[i].module = profile__str(env->p, f->module);
		out[i].line = f->line;
		out[i].kind = f->kind;
		out[i].start_line = f->start_line;
	}
	return n;
}

/* Line of the source line holding "LINE:@tag". */
static uint32_t marker_line(const char *tag)
{
	char want[64], line[512];
	uint32_t n = 0, found = 0;
	FILE *f = fopen(FIXTURE_SRC, "r");

	assert_non_null(f);
	snprintf(want, sizeof(want), "LINE:%s ", tag);
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, want))
			found = n;
	}
	fclose(f);
	assert_int_not_equal(found, 0);
	return found;
}

/* Address and size of symbol @name per nm (from @path, or the unstripped @full). */
static uint64_t nm_sym(const char *path, const char *name, uint64_t *size)
{
	char cmd[1024], line[1024], a[64], sz[64], t[8], n[512];
	uint64_t addr = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm -S --defined-only '%s'", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "%63s %63s %7s %511s", a, sz, t, n) == 4 && !strcmp(n, name)) {
			addr = strtoull(a, NULL, 16);
			if (size)
				*size = strtoull(sz, NULL, 16);
		}
	assert_int_equal(pclose(p), 0);
	assert_int_not_equal(addr, 0);
	return addr;
}

/* ---- addr2line --------------------------------------------------------- */

struct a2l {
	int n;		    /* frames, innermost first as addr2line prints them */
	char name[16][256]; /* "??" when unknown */
	char file[16][512]; /* "??" when unknown */
	uint32_t line[16];
};

/*
 * Runs @tool (addr2line or eu-addr2line) -f -i -C -a over @addrs of @path;
 * results in @out.
 */
static void run_a2l(const char *tool, const char *path, const uint64_t *addrs, size_t n,
		    struct a2l *out)
{
	char tmp[] = "/tmp/ember-a2l-XXXXXX", cmd[1024], buf[2048];
	size_t i, cur = SIZE_MAX;
	FILE *f, *p;
	int fd = mkstemp(tmp);

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	for (i = 0; i < n; i++)
		fprintf(f, "%" PRIx64 "\n", addrs[i]);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "%s -f -i -C -a -e '%s' < %s", tool, path, tmp);
	p = popen(cmd, "r");
	assert_non_null(p);
	memset(out, 0, n * sizeof(*out));
	while (fgets(buf, sizeof(buf), p)) {
		char *colon;
		struct a2l *a;

		buf[strcspn(buf, "\n")] = '\0';
		if (!strncmp(buf, "0x", 2)) {
			cur = cur == SIZE_MAX ? 0 : cur + 1;
			assert_true(cur < n);
			continue;
		}
		assert_true(cur < n);
		a = &out[cur];
		if (a->n >= 16)
			continue;
		snprintf(a->name[a->n], sizeof(a->name[0]), "%.255s", buf);
		if (!fgets(buf, sizeof(buf), p))
			break;
		buf[strcspn(buf, "\n")] = '\0';
		/* "file:line" or "file:line (discriminator N)" */
		if (strstr(buf, " (discriminator"))
			*strstr(buf, " (discriminator") = '\0';
		colon = strrchr(buf, ':');
		/* eu-addr2line: file:line:column */
		if (colon && colon > buf && strchr(buf, ':') != colon) {
			char *prev = colon - 1;

			while (prev > buf && *prev != ':')
				prev--;
			if (*prev == ':' &&
			    strspn(prev + 1, "0123456789") == (size_t)(colon - prev - 1)) {
				*colon = '\0';
				colon = prev;
			}
		}
		a->line[a->n] = colon ? (uint32_t)strtoul(colon + 1, NULL, 10) : 0;
		if (colon)
			*colon = '\0';
		snprintf(a->file[a->n], sizeof(a->file[0]), "%.511s", buf);
		a->n++;
	}
	assert_int_equal(pclose(p), 0);
	assert_int_equal(cur + 1, n);
	unlink(tmp);
}

static void addr2line(const char *path, const uint64_t *addrs, size_t n, struct a2l *out)
{
	run_a2l("addr2line", path, addrs, n, out);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/*
 * Removes what names a compiler clone ("f.isra.0", "f.part.1", "f.cold",
 * "f(int) [clone .constprop.0]"): ember names clones by their source function.
 */
static void strip_clone(char *name)
{
	static const char *const sfx[] = {".isra.", ".part.", ".constprop.", ".cold", ".lto_priv."};
	size_t i;
	char *p;

	if ((p = strstr(name, " [clone ")))
		*p = '\0';
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if ((p = strstr(name, sfx[i])) && p > name)
			*p = '\0';
}

/* Frame @k of ember against frame @j of a tool's answer: file and line. */
static bool same_line(const struct frame *f, const struct a2l *a, int j)
{
	if (!strcmp(a->file[j], "??") || !a->file[j][0] || !a->line[j])
		return true; /* the tool does not know */
	return f->file && f->line == a->line[j] &&
	       !strcmp(base_name(f->file), base_name(a->file[j]));
}

/*
 * Compares ember with addr2line at @addrs of @path (mapped for @env);
 * returns the number of addresses where addr2line names a function and
 * counts disagreements into *@bad (printing the first few).
 */
static size_t agree(struct env *env, const char *path, const uint64_t *addrs, size_t n, size_t *bad)
{
	struct a2l *a = calloc(n, sizeof(*a)), *eu = calloc(n, sizeof(*eu));
	struct frame fr[64];
	size_t i, compared = 0;
	int k, m;

	assert_non_null(a);
	assert_non_null(eu);
	addr2line(path, addrs, n, a);
	run_a2l("eu-addr2line", path, addrs, n, eu);
	*bad = 0;
	for (i = 0; i < n; i++) {
		bool ok = true;

		/*
		 * Only where DWARF says something: without a line, addr2line names
		 * padding after a function by the nearest symbol below it.
		 */
		if (!a[i].n || !strcmp(a[i].name[0], "??") ||
		    !strcmp(a[i].name[a[i].n - 1], "??") || !strcmp(a[i].file[0], "??") ||
		    !a[i].file[0][0])
			continue;
		/*
		 * Padding between functions: binutils names it after the symbol
		 * below, elfutils (like ember) by no function.
		 */
		if (!eu[i].n || !strcmp(eu[i].name[0], "??"))
			continue;
		for (k = 0; k < a[i].n; k++)
			strip_clone(a[i].name[k]);
		compared++;
		m = lookup(env, addrs[i], fr, 64);
		ok = m == a[i].n;
		for (k = 0; ok && k < m; k++) {
			/* addr2line: innermost first; ember: outermost first. */
			int j = m - 1 - k;

			ok = !strcmp(fr[k].name, a[i].name[j]) &&
			     (k == 0 ? fr[k].kind == PROFILE_FRAME_USER
				     : fr[k].kind == PROFILE_FRAME_INLINE);
			/* file:line as either tool has it (they differ on some DWARF 5). */
			if (ok)
				ok = same_line(&fr[k], &a[i], j) ||
				     (eu[i].n == m && same_line(&fr[k], &eu[i], j));
		}
		if (!ok && (*bad)++ < 5) {
			print_message("disagree at %#" PRIx64 " in %s: addr2line", addrs[i], path);
			for (k = a[i].n - 1; k >= 0; k--)
				print_message(" | %s %s:%u", a[i].name[k], a[i].file[k],
					      a[i].line[k]);
			print_message("\n                                     ember   ");
			for (k = 0; k < m; k++)
				print_message(" | %s %s:%u", fr[k].name,
					      fr[k].file ? fr[k].file : "?", fr[k].line);
			print_message("\n");
		}
	}
	free(a);
	free(eu);
	return compared;
}

/* Every address (or an even sample) of @path's .text. */
static size_t text_addrs(const char *path, uint64_t *out, size_t max)
{
	char cmd[1024], line[1024], name[128];
	uint64_t addr = 0, size = 0, step, a;
	size_t n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf -SW '%s'", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		char *b = strchr(line, ']');
		char type[64], ad[64], off[64], sz[64];

		if (!b || sscanf(b + 1, "%127s %63s %63s %63s %63s", name, type, ad, off, sz) != 5)
			continue;
		if (!strcmp(name, ".text")) {
			addr = strtoull(ad, NULL, 16);
			size = strtoull(sz, NULL, 16);
		}
	}
	assert_int_equal(pclose(p), 0);
	assert_true(size > 0);
	step = size / max + 1;
	for (a = addr; a < addr + size && n < max; a += step)
		out[n++] = a;
	return n;
}

/* ---- tests ------------------------------------------------------------- */

/* The inline chain at an address where addr2line shows leaf in mid in outer. */
static void check_inline_chain(struct env *env, const char *path, const char *unstripped)
{
	uint64_t size = 0, start = nm_sym(unstripped, "sym_outer", &size), addrs[4096] = {0}, a;
	uint32_t leaf = marker_line("leaf"), mid = marker_line("mid_calls_leaf");
	uint32_t outer = marker_line("outer_calls_mid");
	uint32_t decl_leaf = marker_line("decl_leaf"), decl_mid = marker_line("decl_mid");
	uint32_t decl_outer = marker_line("decl_outer");
	struct a2l *res;
	struct frame fr[64];
	size_t n = 0, i;
	int m, found = 0;

	for (a = start; a < start + size && n < 4096; a++)
		addrs[n++] = a;
	res = calloc(n, sizeof(*res));
	assert_non_null(res);
	addr2line(unstripped, addrs, n, res);
	for (i = 0; i < n; i++) {
		if (res[i].n != 3 || res[i].line[0] != leaf)
			continue;
		m = lookup(env, addrs[i], fr, 64);
		assert_int_equal(m, 3);
		assert_string_equal(fr[0].name, "sym_outer");
		assert_string_equal(fr[1].name, "sym_inline_mid");
		assert_string_equal(fr[2].name, "sym_inline_leaf");
		assert_int_equal(fr[0].kind, PROFILE_FRAME_USER);
		assert_int_equal(fr[1].kind, PROFILE_FRAME_INLINE);
		assert_int_equal(fr[2].kind, PROFILE_FRAME_INLINE);
		assert_int_equal(fr[0].line, outer);
		assert_int_equal(fr[1].line, mid);
		assert_int_equal(fr[2].line, leaf);
		/* Each function's first line, the inlined ones' from their abstract origin. */
		assert_int_equal(fr[0].start_line, decl_outer);
		assert_int_equal(fr[1].start_line, decl_mid);
		assert_int_equal(fr[2].start_line, decl_leaf);
		assert_non_null(strstr(fr[2].file, "sym_fixture.c"));
		assert_string_equal(fr[0].module, strrchr(path, '/') + 1);
		found++;
	}
	free(res);
	/* The compiler inlined the helpers somewhere in sym_outer. */
	assert_true(found > 0);
}

static void test_pie(void **state)
{
	struct env *env = *state;

	env_map(env, FX("fixture_sym_pie"), NULL);
	check_inline_chain(env, FX("fixture_sym_pie"), FX("fixture_sym_pie"));
}

static void test_nopie(void **state)
{
	struct env *env = *state;

	env_map(env, FX("fixture_sym_nopie"), NULL);
	assert_int_equal(env->base, 0);
	check_inline_chain(env, FX("fixture_sym_nopie"), FX("fixture_sym_nopie"));
}

static void test_build_id_debug_file(void **state)
{
	static const char *const dirs[] = {DEBUG_DIR, NULL};
	static const char *const none[] = {FX("no-such-dir"), NULL};
	struct env *env = *state;
	uint64_t local = nm_sym(FX("fixture_sym_buildid_full"), "sym_local_only", NULL);
	struct frame fr[64];
	struct sym_stats st;

	env_map(env, FX("fixture_sym_buildid"), dirs);
	check_inline_chain(env, FX("fixture_sym_buildid"), FX("fixture_sym_buildid_full"));
	assert_int_equal(lookup(env, local, fr, 64), 1);
	assert_string_equal(fr[0].name, "sym_local_only");
	symbolizer__stats(env->s, &st);
	assert_int_equal(st.dwarf_files, 1);

	/* Without the debug dir the stripped file names nothing there. */
	env_map(env, FX("fixture_sym_buildid"), none);
	assert_int_equal(lookup(env, local, fr, 64), 1);
	assert_string_equal(fr[0].name, "[fixture_sym_buildid]");
}

static void test_debuglink(void **state)
{
	static const char *const none[] = {FX("no-such-dir"), NULL};
	struct env *env = *state;
	uint64_t local = nm_sym(FX("fixture_sym_debuglink_full"), "sym_local_only", NULL);
	struct frame fr[64];
	char dbg[512], moved[600];

	/* The .debug/ subdirectory beside the binary. */
	env_map(env, FX("fixture_sym_debuglink"), none);
	check_inline_chain(env, FX("fixture_sym_debuglink"), FX("fixture_sym_debuglink_full"));
	assert_int_equal(lookup(env, local, fr, 64), 1);
	assert_string_equal(fr[0].name, "sym_local_only");

	/* A debug file whose CRC does not match is refused. */
	snprintf(dbg, sizeof(dbg), "%s", FX(".debug/fixture_sym_debuglink.debug"));
	snprintf(moved, sizeof(moved), "%s.saved", dbg);
	assert_int_equal(rename(dbg, moved), 0);
	write_text(dbg, "not the debug file\n");
	env_map(env, FX("fixture_sym_debuglink"), none);
	assert_int_equal(lookup(env, local, fr, 64), 1);
	assert_string_equal(fr[0].name, "[fixture_sym_debuglink]");
	assert_int_equal(rename(moved, dbg), 0);
}

static void test_minidebuginfo(void **state)
{
	static const char *const none[] = {FX("no-such-dir"), NULL};
	struct env *env = *state;
	uint64_t local = nm_sym(FX("fixture_sym_mini_full"), "sym_local_only", NULL);
	uint64_t outer = nm_sym(FX("fixture_sym_mini_full"), "sym_outer", NULL);
	struct frame fr[64];

	env_map(env, FX("fixture_sym_mini"), none);
	assert_int_equal(lookup(env, local + 1, fr, 64), 1);
	assert_string_equal(fr[0].name, "sym_local_only");
	assert_int_equal(lookup(env, outer + 2, fr, 64), 1);
	assert_string_equal(fr[0].name, "sym_outer");
	/* No DWARF in MiniDebugInfo: no file:line. */
	assert_null(fr[0].file);
}

static void test_cpp(void **state)
{
	struct env *env = *state;
	static const struct {
		const char *mangled, *demangled;
	} want[] = {
		{"_ZN8ember_fx3AccIiE3addEi", "ember_fx::Acc<int>::add(int)"},
		{"_ZN8ember_fx3AccIdE3addEd", "ember_fx::Acc<double>::add(double)"},
		{"_ZN8ember_fx6detail5twiceEl", "ember_fx::detail::twice(long)"},
		{"_ZNK8ember_fx3VecplERKS0_",
		 "ember_fx::Vec::operator+(ember_fx::Vec const&) const"},
		{"_ZN12_GLOBAL__N_16hiddenEi", "(anonymous namespace)::hidden(int)"},
	};
	const char *path = FX("fixture_sym_cpp");
	struct frame fr[64];
	size_t i;

	if (access(path, R_OK)) {
		skip();
		return;
	}
	env_map(env, path, NULL);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint64_t a = nm_sym(path, want[i].mangled, NULL);
		int m = lookup(env, a, fr, 64);

		assert_true(m >= 1);
		assert_string_equal(fr[0].name, want[i].demangled);
		assert_non_null(fr[0].file);
		assert_non_null(strstr(fr[0].file, "sym_fixture_cpp.cpp"));
	}
}

/* Every address of the fixtures' text agrees with addr2line. */
static void test_agreement_fixtures(void **state)
{
	static const char *const files[] = {"fixture_sym_pie", "fixture_sym_nopie",
					    "fixture_sym_cpp", "libfixture_sym_lib.so"};
	struct env *env = *state;
	uint64_t *addrs = calloc(MAX_AGREEMENT, sizeof(*addrs));
	size_t i, n, compared, bad;

	assert_non_null(addrs);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/fixtures/%s", FIXTURE_BIN_DIR, files[i]);
		if (access(path, R_OK))
			continue;
		env_map(env, path, NULL);
		n = text_addrs(path, addrs, MAX_AGREEMENT);
		compared = agree(env, path, addrs, n, &bad);
		print_message("%s: %zu addresses, %zu compared, %zu disagree\n", files[i], n,
			      compared, bad);
		assert_true(compared > n / 2);
		assert_int_equal(bad, 0);
	}
	free(addrs);
}

/* A large library: libc, with its debug file when libc6-dbg is installed. */
static void test_agreement_libc(void **state)
{
	struct env *env = *state;
	const char *libc = "/lib/x86_64-linux-gnu/libc.so.6";
	uint64_t *addrs = calloc(MAX_AGREEMENT, sizeof(*addrs));
	size_t n, compared, bad;
	struct sym_stats st;
	struct frame fr[64];

	assert_non_null(addrs);
	if (access(libc, R_OK)) {
		free(addrs);
		skip();
		return;
	}
	env_map(env, libc, NULL);
	n = text_addrs(libc, addrs, MAX_AGREEMENT);
	lookup(env, addrs[0], fr, 64);
	symbolizer__stats(env->s, &st);
	compared = agree(env, libc, addrs, n, &bad);
	print_message("libc (%s): %zu addresses, %zu compared, %zu disagree\n",
		      st.dwarf_files ? "DWARF" : "symbols only", n, compared, bad);
	/* A handful of hand-written assembly entry points may differ; names must not. */
	assert_true(bad <= compared / 200);
	free(addrs);
}

static void test_vdso(void **state)
{
	struct env *env = *state;
	uint64_t vdso = getauxval(AT_SYSINFO_EHDR), size = 0, start, end;
	struct sym_options o = {.proc_root = "/proc", .kallsyms_path = ""};
	char line[512];
	uint32_t id;
	const struct profile_frame *f;
	FILE *m;
	void *sym = NULL;

	if (!vdso) {
		skip();
		return;
	}
	m = fopen("/proc/self/maps", "r");
	assert_non_null(m);
	while (fgets(line, sizeof(line), m))
		if (sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) == 2 && start == vdso)
			size = end - start;
	fclose(m);
	assert_true(size > 0);
	/* __vdso_clock_gettime's address, from the vDSO's own symbol table. */
	{
		Elf *elf = elf_memory((char *)(uintptr_t)vdso, size);
		Elf_Scn *scn = NULL;
		GElf_Shdr sh;

		assert_non_null(elf);
		while ((scn = elf_nextscn(elf, scn))) {
			Elf_Data *d;
			size_t i;

			gelf_getshdr(scn, &sh);
			if (sh.sh_type != SHT_DYNSYM)
				continue;
			d = elf_getdata(scn, NULL);
			for (i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
				GElf_Sym s;

				gelf_getsym(d, (int)i, &s);
				if (!strcmp(elf_strptr(elf, sh.sh_link, s.st_name),
					    "__vdso_clock_gettime"))
					sym = (void *)(uintptr_t)(vdso + s.st_value);
			}
		}
		elf_end(elf);
	}
	assert_non_null(sym);
	symbolizer__free(env->s);
	env->s = symbolizer__new(&o);
	assert_non_null(env->s);
	assert_int_equal(symbolizer__user(env->s, env->p, (uint32_t)getpid(),
					  (uint64_t)(uintptr_t)sym + 4, &id, 1),
			 1);
	f = profile__frame(env->p, id);
	assert_non_null(strstr(profile__str(env->p, f->name), "clock_gettime"));
	assert_string_equal(profile__str(env->p, f->module), "[vdso]");
}

/* ---- damaged files ----------------------------------------------------- */

static unsigned char *read_all(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	buf = malloc((size_t)st.st_size);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	fclose(f);
	*len = (size_t)st.st_size;
	return buf;
}

/* File offset and size of section @name per readelf; 0 when absent. */
static size_t section_of(const char *path, const char *name, size_t *size)
{
	char cmd[1024], line[1024], n[128], type[64], ad[64], off[64], sz[64];
	size_t r = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf -SW '%s'", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		char *b = strchr(line, ']');

		if (b && sscanf(b + 1, "%127s %63s %63s %63s %63s", n, type, ad, off, sz) == 5 &&
		    !strcmp(n, name)) {
			r = strtoull(off, NULL, 16);
			*size = strtoull(sz, NULL, 16);
		}
	}
	pclose(p);
	return r;
}

/* Maps @len bytes of @buf as a file of PID (keyed by path) and looks all over it. */
static void lookup_damaged(struct env *env, const unsigned char *buf, size_t len, int k)
{
	char path[128], maps[256], mp[128];
	struct frame fr[64];
	uint64_t a;
	FILE *f;

	snprintf(path, sizeof(path), "%s/damaged-%d", env->root, k);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	snprintf(maps, sizeof(maps), "7f0000000000-7f0000100000 r-xp 00000000 00:00 0 %s\n", path);
	snprintf(mp, sizeof(mp), "%s/%d/maps", env->root, PID);
	write_text(mp, maps);
	symbolizer__free(env->s);
	env->s =
		symbolizer__new(&(struct sym_options){.proc_root = env->root, .kallsyms_path = ""});
	assert_non_null(env->s);
	env->base = 0x7f0000000000ull;
	/* Every lookup gives a frame: a name, or [damaged-N]. */
	for (a = 0; a < 0x8000; a += 0x61)
		assert_true(lookup(env, a, fr, 64) >= 1);
	unlink(path);
}

/*
 * Truncated files, flipped bytes and string sections without their final
 * NUL (which libdw would read past): no crash, no error, only frames.
 */
static void test_damaged(void **state)
{
	static const char *const files[] = {"fixture_sym_pie", "fixture_sym_mini",
					    "libfixture_sym_lib.so"};
	struct env *env = *state;
	unsigned int seed = 12345;
	size_t i, len, cut, off, size;
	unsigned char *buf, *copy;
	int k = 0, j;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/fixtures/%s", FIXTURE_BIN_DIR, files[i]);
		buf = read_all(path, &len);
		copy = malloc(len);
		assert_non_null(copy);
		for (cut = 0; cut < len; cut += len / 7 + 1)
			lookup_damaged(env, buf, cut, k++);
		for (j = 0; j < 8; j++) {
			memcpy(copy, buf, len);
			for (off = 0; off < 64; off++)
				copy[rand_r(&seed) % len] = (unsigned char)rand_r(&seed);
			lookup_damaged(env, copy, len, k++);
		}
		off = section_of(path, ".debug_line_str", &size);
		if (off && size) {
			memcpy(copy, buf, len);
			copy[off + size - 1] = 'A';
			lookup_damaged(env, copy, len, k++);
		}
		off = section_of(path, ".gnu_debugdata", &size);
		if (off && size > 64) {
			memcpy(copy, buf, len);
			memset(copy + off + size / 2, 0x5a, size / 4);
			lookup_damaged(env, copy, len, k++);
		}
		free(copy);
		free(buf);
	}
}

/* ---- live processes ---------------------------------------------------- */

struct child {
	pid_t pid;
	FILE *out, *in;
};

/* Starts @argv with pipes to its standard input and output. */
static void child_start(struct child *c, char *const argv[])
{
	int o[2], i[2];

	assert_int_equal(pipe(o), 0);
	assert_int_equal(pipe(i), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (!c->pid) {
		dup2(i[0], 0);
		dup2(o[1], 1);
		close(i[1]);
		close(o[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(i[0]);
	close(o[1]);
	c->out = fdopen(o[0], "r");
	c->in = fdopen(i[1], "w");
	assert_non_null(c->out);
	assert_non_null(c->in);
}

/* Reads lines until one starts with @key; returns the hex address after it. */
static uint64_t child_addr(struct child *c, const char *key)
{
	char line[256];
	size_t len = strlen(key);

	while (fgets(line, sizeof(line), c->out))
		if (!strncmp(line, key, len) && line[len] == ' ')
			return strtoull(line + len + 1, NULL, 16);
	fail_msg("child never printed %s", key);
	return 0;
}

static void child_stop(struct child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	fclose(c->out);
	fclose(c->in);
}

static void check_live(struct env *env, pid_t pid, uint64_t addr, const char *name,
		       const char *module, const char *file)
{
	const struct profile_frame *f;
	uint32_t ids[64];
	int n;

	n = symbolizer__user(env->s, env->p, (uint32_t)pid, addr, ids, 64);
	assert_true(n >= 1);
	f = profile__frame(env->p, ids[0]);
	assert_string_equal(profile__str(env->p, f->name), name);
	assert_string_equal(profile__str(env->p, f->module), module);
	assert_non_null(strstr(profile__str(env->p, f->file), file));
}

static void live_symbolizer(struct env *env)
{
	struct sym_options o = {.kallsyms_path = ""};

	symbolizer__free(env->s);
	env->s = symbolizer__new(&o);
	assert_non_null(env->s);
}

/* A library loaded with dlopen after the first snapshot is found on the miss. */
static void test_live_dlopen(void **state)
{
	struct env *env = *state;
	char *argv[] = {FX("fixture_sym_dlopen"), FX("libfixture_sym_lib.so"), NULL};
	struct child c;
	char line[64];
	uint64_t fn;

	live_symbolizer(env);
	child_start(&c, argv);
	assert_non_null(fgets(line, sizeof(line), c.out));
	assert_int_equal(symbolizer__snapshot(env->s, (uint32_t)c.pid), 0);
	fputs("go\n", c.in);
	fflush(c.in);
	fn = child_addr(&c, "sym_lib_work");
	check_live(env, c.pid, fn + 1, "sym_lib_work", "libfixture_sym_lib.so",
		   "sym_fixture_lib.c");
	child_stop(&c);
}

/*
 * A binary deleted while it runs, and another file put at its path: the
 * process's own file is read (map_files), not whatever the path names now.
 */
static void test_live_deleted(void **state)
{
	struct env *env = *state;
	char path[128], cmd[512];
	char *argv[] = {path, "sleep", NULL};
	struct child c;
	uint64_t outer, local;

	snprintf(path, sizeof(path), "%s/deleted-fixture", env->root);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", FX("fixture_sym_pie"), path);
	assert_int_equal(system(cmd), 0);
	live_symbolizer(env);
	child_start(&c, argv);
	outer = child_addr(&c, "sym_outer");
	local = child_addr(&c, "sym_local_only");
	assert_int_equal(unlink(path), 0);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", FX("fixture_sym_nopie"), path);
	assert_int_equal(system(cmd), 0);
	check_live(env, c.pid, outer + 1, "sym_outer", "deleted-fixture", "sym_fixture.c");
	check_live(env, c.pid, local + 1, "sym_local_only", "deleted-fixture", "sym_fixture.c");
	child_stop(&c);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nopie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_id_debug_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debuglink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_minidebuginfo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agreement_fixtures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agreement_libc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vdso, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_dlopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_deleted, setup, teardown),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}

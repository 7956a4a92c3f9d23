/*
 * Unit tests for the symbolizer (symbolizer/symbolizer.c) over a fake /proc
 * root in a temporary directory: <root>/PID/maps pointing at the PIE fixture
 * at a chosen base, <root>/PID/stat, <root>/kallsyms. Then a live run on this
 * process through the real /proc.
 */
#include <dlfcn.h>
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "ember/profile.h"
#include "ember/symbolizer.h"

#define FIXTURE_ELF FIXTURE_BIN_DIR "/fixtures/fixture_elf"
#define FIXTURE_PIE FIXTURE_BIN_DIR "/fixtures/fixture_elf_pie"

#define PID	 1234
#define PIE_BASE 0x7f0000000000ull

struct env {
	char root[64];
	struct profile *p;
};

static void write_file(const struct env *env, const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", env->root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* A stat line whose comm holds spaces and ')' and whose field 22 is @start. */
static void write_stat(const struct env *env, uint32_t pid, uint64_t start)
{
	char rel[64], text[512];

	snprintf(rel, sizeof(rel), "%" PRIu32 "/stat", pid);
	snprintf(text, sizeof(text),
		 "%" PRIu32 " (my (evil) comm) x) S 1 %" PRIu32 " %" PRIu32
		 " 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 %" PRIu64
		 " 3133440 365 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
		 pid, pid, pid, start);
	write_file(env, rel, text);
}

/* Appends the maps lines the loader would create for @path loaded at @bias. */
static void append_elf_maps(char *buf, size_t size, const char *path, uint64_t bias,
			    const char *suffix)
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
			 "%" PRIx64 "-%" PRIx64 " %c%c%cp %08" PRIx64
			 " %02x:%02x %lu                   %s%s\n",
			 start, end, ph.p_flags & PF_R ? 'r' : '-', ph.p_flags & PF_W ? 'w' : '-',
			 ph.p_flags & PF_X ? 'x' : '-', (uint64_t)(ph.p_offset & ~0xfffull),
			 major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino, path,
			 suffix);
	}
	elf_end(elf);
	close(fd);
}

/* Address of @name in @path per nm. */
static uint64_t nm_addr(const char *path, const char *name)
{
	char cmd[1024], line[1024], a[64], t[8], n[512];
	uint64_t addr = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm --defined-only '%s'", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "%63s %7s %511s", a, t, n) == 3 && !strcmp(n, name))
			addr = strtoull(a, NULL, 16);
	assert_int_equal(pclose(p), 0);
	assert_int_not_equal(addr, 0);
	return addr;
}

/* The GNU build id of @path in hex, as readelf shows it, into @out. */
static void readelf_build_id(const char *path, char *out, size_t size)
{
	char cmd[1024], line[1024], id[130];
	FILE *p;

	out[0] = 0;
	snprintf(cmd, sizeof(cmd), "readelf -n '%s'", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		const char *at = strstr(line, "Build ID: ");

		if (at && sscanf(at + 10, "%129s", id) == 1)
			snprintf(out, size, "%s", id);
	}
	assert_int_equal(pclose(p), 0);
	assert_true(strlen(out) >= 16);
}

/* @text with every @from replaced by @to, in a static buffer. */
static const char *strrepl(const char *text, const char *from, const char *to)
{
	static char out[8192];
	size_t flen = strlen(from), tlen = strlen(to), n = 0;
	const char *p;

	while ((p = strstr(text, from))) {
		assert_true(n + (size_t)(p - text) + tlen < sizeof(out));
		memcpy(out + n, text, (size_t)(p - text));
		n += (size_t)(p - text);
		memcpy(out + n, to, tlen);
		n += tlen;
		text = p + flen;
	}
	assert_true(n + strlen(text) < sizeof(out));
	strcpy(out + n, text);
	return out;
}

static int setup(void **state)
{
	struct env *env = calloc(1, sizeof(*env));
	char maps[4096] = "";
	char dir[256];

	assert_non_null(env);
	snprintf(env->root, sizeof(env->root), "/tmp/ember-test-sym-XXXXXX");
	assert_non_null(mkdtemp(env->root));
	snprintf(dir, sizeof(dir), "%s/%d", env->root, PID);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_stat(env, PID, 5000);
	append_elf_maps(maps, sizeof(maps), FIXTURE_PIE, PIE_BASE, "");
	strcat(maps, "7f1000000000-7f1000001000 rw-p 00000000 00:00 0 \n"
		     "7f1000002000-7f1000004000 r-xp 00000000 00:00 0                  [vdso]\n"
		     "7f1000010000-7f1000020000 r-xp 00001000 fe:00 77777777           "
		     "/nonexistent/libgone.so.1\n");
	write_file(env, "1234/maps", maps);
	write_file(env, "kallsyms",
		   "ffffffff81000000 T _stext\n"
		   "ffffffff81004000 T schedule\n"
		   "ffffffff81005000 T native_safe_halt\n"
		   "ffffffffc0a00000 t ext4_iget\t[ext4]\n");
	env->p = profile__new();
	assert_non_null(env->p);
	*state = env;
	return 0;
}

static int teardown(void **state)
{
	struct env *env = *state;
	char cmd[128];

	profile__free(env->p);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env->root);
	assert_int_equal(system(cmd), 0);
	free(env);
	return 0;
}

static struct symbolizer *new_sym(const struct env *env)
{
	struct sym_options o = {.proc_root = env->root};
	struct symbolizer *s = symbolizer__new(&o);

	assert_non_null(s);
	return s;
}

/* One user frame of @addr: checks name, module (NULL: none), addr and kind. */
static void check_user(struct symbolizer *s, struct profile *p, uint32_t pid, uint64_t addr,
		       const char *name, const char *module, uint64_t vaddr)
{
	const struct profile_frame *f;
	uint32_t id = UINT32_MAX;

	assert_int_equal(symbolizer__user(s, p, pid, addr, &id, 1), 1);
	f = profile__frame(p, id);
	assert_non_null(f);
	assert_string_equal(profile__str(p, f->name), name);
	if (module)
		assert_string_equal(profile__str(p, f->module), module);
	else
		assert_int_equal(f->module, 0);
	assert_int_equal(f->kind, PROFILE_FRAME_USER);
	if (vaddr != UINT64_MAX)
		assert_int_equal(f->addr, vaddr);
}

static void check_kernel(struct symbolizer *s, struct profile *p, uint64_t addr, const char *name,
			 const char *module)
{
	const struct profile_frame *f;
	uint32_t id = UINT32_MAX;

	assert_int_equal(symbolizer__kernel(s, p, addr, &id, 1), 1);
	f = profile__frame(p, id);
	assert_non_null(f);
	assert_string_equal(profile__str(p, f->name), name);
	assert_string_equal(profile__str(p, f->module), module);
	assert_int_equal(f->kind, PROFILE_FRAME_KERNEL);
}

static void test_user(void **state)
{
	struct env *env = *state;
	struct symbolizer *s = new_sym(env);
	uint64_t alpha = nm_addr(FIXTURE_PIE, "ember_fixture_alpha");
	uint64_t gamma = nm_addr(FIXTURE_PIE, "ember_fixture_gamma");
	struct sym_stats st;
	uint32_t ids[2];
	char hex[160];

	check_user(s, env->p, PID, PIE_BASE + alpha, "ember_fixture_alpha", "fixture_elf_pie",
		   alpha);
	check_user(s, env->p, PID, PIE_BASE + alpha + 1, "ember_fixture_alpha", "fixture_elf_pie",
		   alpha + 1);
	check_user(s, env->p, PID, PIE_BASE + gamma + 2, "ember_fixture_gamma", "fixture_elf_pie",
		   gamma + 2);
	/* The module carries the file's build id, for pprof's mappings. */
	readelf_build_id(FIXTURE_PIE, hex, sizeof(hex));
	assert_true(symbolizer__user(s, env->p, PID, PIE_BASE + alpha, ids, 1) == 1);
	assert_string_equal(
		profile__str(env->p,
			     profile__build_id(env->p, profile__frame(env->p, ids[0])->module)),
		hex);
	/* The ELF header: in the file, in no function. */
	check_user(s, env->p, PID, PIE_BASE + 0x10, "[fixture_elf_pie]", "fixture_elf_pie", 0x10);
	/* Unmapped, anonymous, special, unreadable file. */
	check_user(s, env->p, PID, 0x1000, "[unknown]", NULL, 0);
	check_user(s, env->p, PID, 0x7f1000000010ull, "[unknown]", NULL, 0);
	check_user(s, env->p, PID, 0x7f1000002010ull, "[vdso]", "[vdso]", 0x10);
	check_user(s, env->p, PID, 0x7f1000010010ull, "[libgone.so.1]", "libgone.so.1", 0x1010);
	check_user(s, env->p, PID, 0x7f1000010020ull, "[libgone.so.1]", "libgone.so.1", 0x1020);
	/* A pid that never existed. */
	check_user(s, env->p, 99999, PIE_BASE + alpha, "[unknown]", NULL, 0);

	assert_int_equal(symbolizer__user(s, env->p, PID, PIE_BASE + alpha, ids, 0), 0);

	symbolizer__stats(s, &st);
	assert_int_equal(st.processes, 1);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.user_resolved, 4);
	assert_int_equal(st.user_unknown, 7);
	symbolizer__free(s);
}

static void test_shared_file(void **state)
{
	struct env *env = *state;
	struct symbolizer *s = new_sym(env);
	uint64_t beta = nm_addr(FIXTURE_PIE, "ember_fixture_beta");
	char maps[4096] = "", dir[256];
	struct sym_stats st;

	snprintf(dir, sizeof(dir), "%s/77", env->root);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_stat(env, 77, 1);
	append_elf_maps(maps, sizeof(maps), FIXTURE_PIE, 0x5500000000ull, "");
	write_file(env, "77/maps", maps);

	assert_int_equal(symbolizer__snapshot(s, 77), 0);
	assert_int_equal(symbolizer__snapshot(s, PID), 0);
	check_user(s, env->p, 77, 0x5500000000ull + beta, "ember_fixture_beta", "fixture_elf_pie",
		   beta);
	check_user(s, env->p, PID, PIE_BASE + beta, "ember_fixture_beta", "fixture_elf_pie", beta);
	symbolizer__stats(s, &st);
	assert_int_equal(st.processes, 2);
	assert_int_equal(st.files, 1);

	/* Both gone: the file stays cached for a while, then all is released. */
	symbolizer__forget(s, 77);
	symbolizer__forget(s, PID);
	symbolizer__forget(s, 4242);
	symbolizer__stats(s, &st);
	assert_int_equal(st.processes, 0);
	symbolizer__free(s);
}

/* Open files are bounded by max_files, least recently used closed first. */
static void test_file_lru(void **state)
{
	struct env *env = *state;
	struct sym_options o = {.proc_root = env->root, .max_files = 10};
	struct symbolizer *s = symbolizer__new(&o);
	uint64_t alpha = nm_addr(FIXTURE_PIE, "ember_fixture_alpha");
	char maps[512];
	struct sym_stats st;
	uint32_t pid;

	assert_non_null(s);
	for (pid = 100; pid < 200; pid++) {
		char rel[128];

		snprintf(rel, sizeof(rel), "%s/%" PRIu32, env->root, pid);
		assert_int_equal(mkdir(rel, 0700), 0);
		write_stat(env, pid, pid);
		/* One inode per process: a hundred distinct files (one build-id). */
		snprintf(maps, sizeof(maps),
			 "7f0000000000-7f0000100000 r-xp 00000000 fe:00 %" PRIu32 " %s\n", pid,
			 FIXTURE_PIE);
		snprintf(rel, sizeof(rel), "%" PRIu32 "/maps", pid);
		write_file(env, rel, maps);
		check_user(s, env->p, pid, 0x7f0000000000ull + alpha, "ember_fixture_alpha",
			   "fixture_elf_pie", alpha);
	}
	symbolizer__stats(s, &st);
	assert_int_equal(st.processes, 100);
	assert_int_equal(st.files, 10);
	assert_int_equal(st.file_misses, 100);
	assert_int_equal(st.file_evictions, 90);
	/* Same build-id: one object behind all the files. */
	assert_int_equal(st.objects, 1);
	/* The most recent file is still open: a hit. */
	check_user(s, env->p, 199, 0x7f0000000000ull + alpha + 1, "ember_fixture_alpha",
		   "fixture_elf_pie", alpha + 1);
	symbolizer__stats(s, &st);
	assert_int_equal(st.file_hits, 1);
	/* The first one was evicted: a miss, read again. */
	check_user(s, env->p, 100, 0x7f0000000000ull + alpha + 1, "ember_fixture_alpha",
		   "fixture_elf_pie", alpha + 1);
	symbolizer__stats(s, &st);
	assert_int_equal(st.file_misses, 101);
	assert_int_equal(st.file_evictions, 91);
	for (pid = 100; pid < 200; pid++)
		symbolizer__forget(s, pid);
	symbolizer__stats(s, &st);
	assert_int_equal(st.processes, 0);
	symbolizer__free(s);
}

static void test_pid_reuse(void **state)
{
	struct env *env = *state;
	struct symbolizer *s = new_sym(env);
	uint64_t alpha = nm_addr(FIXTURE_PIE, "ember_fixture_alpha");
	uint64_t beta = nm_addr(FIXTURE_ELF, "ember_fixture_beta");
	char maps[4096] = "";

	check_user(s, env->p, PID, PIE_BASE + alpha, "ember_fixture_alpha", "fixture_elf_pie",
		   alpha);
	/* Same pid, a new process: another start time, the non-PIE fixture. */
	write_stat(env, PID, 6000);
	append_elf_maps(maps, sizeof(maps), FIXTURE_ELF, 0, "");
	write_file(env, "1234/maps", maps);
	assert_int_equal(symbolizer__snapshot(s, PID), 0);
	check_user(s, env->p, PID, beta, "ember_fixture_beta", "fixture_elf", beta);
	/* Samples of the old process, drained with the new one's, still resolve... */
	check_user(s, env->p, PID, PIE_BASE + alpha + 1, "ember_fixture_alpha", "fixture_elf_pie",
		   alpha + 1);
	/* ...until the window is done. */
	symbolizer__window_done(s);
	check_user(s, env->p, PID, PIE_BASE + alpha, "[unknown]", NULL, 0);
	check_user(s, env->p, PID, beta + 1, "ember_fixture_beta", "fixture_elf", beta + 1);
	symbolizer__free(s);
}

static void test_exited(void **state)
{
	struct env *env = *state;
	struct symbolizer *s = new_sym(env);
	uint64_t alpha = nm_addr(FIXTURE_PIE, "ember_fixture_alpha");
	char path[256];
	struct sym_stats st;

	assert_int_equal(symbolizer__snapshot(s, PID), 0);
	snprintf(path, sizeof(path), "%s/%d/stat", env->root, PID);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/%d/maps", env->root, PID);
	assert_int_equal(unlink(path), 0);

	/* Gone: the snapshot stays until forgotten. */
	assert_int_equal(symbolizer__snapshot(s, PID), -ESRCH);
	check_user(s, env->p, PID, PIE_BASE + alpha, "ember_fixture_alpha", "fixture_elf_pie",
		   alpha);
	check_user(s, env->p, PID, 0x1000, "[unknown]", NULL, 0);
	symbolizer__stats(s, &st);
	assert_int_equal(st.processes, 1);
	symbolizer__forget(s, PID);
	check_user(s, env->p, PID, PIE_BASE + alpha, "[unknown]", NULL, 0);
	symbolizer__stats(s, &st);
	assert_int_equal(st.processes, 0);
	assert_int_equal(symbolizer__snapshot(s, 5), -ESRCH);
	symbolizer__free(s);
}

/* A zombie keeps its stat file but its maps file is empty: not a new snapshot. */
static void test_zombie(void **state)
{
	struct env *env = *state;
	struct symbolizer *s = new_sym(env);
	uint64_t alpha = nm_addr(FIXTURE_PIE, "ember_fixture_alpha");

	assert_int_equal(symbolizer__snapshot(s, PID), 0);
	write_file(env, "1234/maps", "");
	assert_int_equal(symbolizer__snapshot(s, PID), -ESRCH);
	check_user(s, env->p, PID, PIE_BASE + alpha, "ember_fixture_alpha", "fixture_elf_pie",
		   alpha);
	symbolizer__free(s);
}

static void test_late_mapping(void **state)
{
	struct env *env = *state;
	struct symbolizer *s = new_sym(env);
	uint64_t gamma = nm_addr(FIXTURE_ELF, "ember_fixture_gamma");
	char maps[8192] = "", path[256];
	FILE *f;

	assert_int_equal(symbolizer__snapshot(s, PID), 0);
	/* A library mapped after the snapshot (dlopen): a miss reads maps again. */
	append_elf_maps(maps, sizeof(maps), FIXTURE_ELF, 0, "");
	snprintf(path, sizeof(path), "%s/%d/maps", env->root, PID);
	f = fopen(path, "a");
	assert_non_null(f);
	fputs(maps, f);
	assert_int_equal(fclose(f), 0);
	check_user(s, env->p, PID, gamma, "ember_fixture_gamma", "fixture_elf", gamma);
	symbolizer__free(s);
}

/* Makes <root>/PID/root/@path a link to @target, as a container's file. */
static void link_in_root(const struct env *env, const char *path, const char *target)
{
	char cmd[1024], link[512];

	snprintf(link, sizeof(link), "%s/%d/root%s", env->root, PID, path);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", link);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(symlink(target, link), 0);
}

static void test_deleted_file(void **state)
{
	struct env *env = *state;
	struct symbolizer *s = new_sym(env);
	uint64_t alpha = nm_addr(FIXTURE_PIE, "ember_fixture_alpha");
	char maps[4096] = "";

	/*
	 * A deleted file is read only through map_files, absent here: not through
	 * the process root, where its path now names another file.
	 */
	append_elf_maps(maps, sizeof(maps), FIXTURE_PIE, PIE_BASE, " (deleted)");
	write_file(env, "1234/maps", maps);
	link_in_root(env, FIXTURE_PIE, FIXTURE_PIE);
	check_user(s, env->p, PID, PIE_BASE + alpha, "[fixture_elf_pie]", "fixture_elf_pie", alpha);
	symbolizer__free(s);
}

static void test_container_root(void **state)
{
	struct env *env = *state;
	struct symbolizer *s = new_sym(env);
	uint64_t alpha = nm_addr(FIXTURE_PIE, "ember_fixture_alpha");
	char maps[4096] = "";

	/* A path that exists only inside the process's root. */
	append_elf_maps(maps, sizeof(maps), FIXTURE_PIE, PIE_BASE, "");
	write_file(env, "1234/maps", strrepl(maps, FIXTURE_PIE, "/container/lib/libfix.so"));
	link_in_root(env, "/container/lib/libfix.so", FIXTURE_PIE);
	check_user(s, env->p, PID, PIE_BASE + alpha, "ember_fixture_alpha", "libfix.so", alpha);
	symbolizer__free(s);
}

static void test_map_files(void **state)
{
	struct env *env = *state;
	struct symbolizer *s;
	uint64_t alpha = nm_addr(FIXTURE_PIE, "ember_fixture_alpha");
	char maps[4096] = "", dir[256], link[512], *line, *dash;
	uint64_t start, end;

	/* The deleted file is found through map_files/<start>-<end>. */
	append_elf_maps(maps, sizeof(maps), FIXTURE_PIE, PIE_BASE, " (deleted)");
	write_file(env, "1234/maps", maps);
	snprintf(dir, sizeof(dir), "%s/%d/map_files", env->root, PID);
	assert_int_equal(mkdir(dir, 0700), 0);
	for (line = maps; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		start = strtoull(line, &dash, 16);
		end = strtoull(dash + 1, NULL, 16);
		snprintf(link, sizeof(link), "%s/%" PRIx64 "-%" PRIx64, dir, start, end);
		assert_int_equal(symlink(FIXTURE_PIE, link), 0);
	}
	s = new_sym(env);
	check_user(s, env->p, PID, PIE_BASE + alpha, "ember_fixture_alpha", "fixture_elf_pie",
		   alpha);
	symbolizer__free(s);
}

/* The unwinder's view: mapping bounds, the file to open and the load bias. */
static void test_mapping(void **state)
{
	struct env *env = *state;
	struct symbolizer *s = new_sym(env);
	uint64_t alpha = nm_addr(FIXTURE_PIE, "ember_fixture_alpha");
	struct sym_mapping m;
	char expect[512];
	struct stat a, b;
	int fd;

	link_in_root(env, FIXTURE_PIE, FIXTURE_PIE);
	assert_int_equal(symbolizer__mapping(s, PID, PIE_BASE + alpha, &m), 0);
	assert_true(m.is_file && !m.is_special && m.has_bias);
	assert_true(m.start <= PIE_BASE + alpha && PIE_BASE + alpha < m.end);
	assert_int_equal(m.load_bias, PIE_BASE);
	assert_string_equal(m.name, FIXTURE_PIE);
	snprintf(expect, sizeof(expect), "%s/%d/root%s", env->root, PID, FIXTURE_PIE);
	assert_string_equal(m.path, expect);

	assert_int_equal(symbolizer__open_mapped(s, PID, PIE_BASE + alpha, &fd, &m), 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(FIXTURE_PIE, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(m.load_bias, PIE_BASE);
	close(fd);

	assert_int_equal(symbolizer__mapping(s, PID, 0x7f1000002010ull, &m), 0);
	assert_true(m.is_special && !m.is_file && !m.has_bias);
	assert_string_equal(m.name, "[vdso]");
	assert_int_equal(symbolizer__open_mapped(s, PID, 0x7f1000002010ull, &fd, &m), -ENOENT);
	assert_int_equal(fd, -1);
	assert_int_equal(symbolizer__mapping(s, PID, 0x7f1000000010ull, &m), 0);
	assert_true(!m.is_special && !m.is_file);
	assert_int_equal(symbolizer__mapping(s, PID, 0x1000, &m), -ENOENT);
	/* A file nowhere to be found: a mapping, but nothing to open. */
	assert_int_equal(symbolizer__mapping(s, PID, 0x7f1000010010ull, &m), 0);
	assert_true(m.is_file && !m.has_bias);
	assert_true(symbolizer__open_mapped(s, PID, 0x7f1000010010ull, &fd, &m) < 0);
	symbolizer__free(s);
}

/* Feeds the symbolizer the mappings of @path at @bias as mmap events of @pid. */
static void feed_mmaps(struct symbolizer *s, uint32_t pid, const char *path, uint64_t bias)
{
	char maps[4096] = "";
	struct sym_maps m = {0};
	size_t i;
	FILE *f;

	append_elf_maps(maps, sizeof(maps), path, bias, "");
	f = fmemopen(maps, strlen(maps), "r");
	assert_non_null(f);
	assert_int_equal(sym_maps__parse(f, &m), 0);
	fclose(f);
	for (i = 0; i < m.n; i++)
		if (m.v[i].prot & SYM_MAP_EXEC)
			assert_int_equal(symbolizer__mmap(s, pid, &m.v[i]), 0);
	sym_maps__clear(&m);
}

/*
 * Process events: a process followed from exec needs no /proc at all, its
 * fork shares its mappings, an exec starts a new program while the old one
 * still names samples until the window is done, and an exit is kept until
 * then too.
 */
static void test_events(void **state)
{
	struct env *env = *state;
	struct symbolizer *s = new_sym(env);
	uint64_t alpha = nm_addr(FIXTURE_PIE, "ember_fixture_alpha");
	uint64_t beta = nm_addr(FIXTURE_ELF, "ember_fixture_beta");
	struct sym_stats st;

	/* pid 500 has no /proc entry in the fake root: events only. */
	assert_int_equal(symbolizer__exec(s, 500), 0);
	feed_mmaps(s, 500, FIXTURE_PIE, PIE_BASE);
	check_user(s, env->p, 500, PIE_BASE + alpha, "ember_fixture_alpha", "fixture_elf_pie",
		   alpha);
	/* A complete process is not read from /proc: snapshot is a no-op. */
	assert_int_equal(symbolizer__snapshot(s, 500), 0);

	assert_int_equal(symbolizer__fork(s, 500, 501), 0);
	check_user(s, env->p, 501, PIE_BASE + alpha + 1, "ember_fixture_alpha", "fixture_elf_pie",
		   alpha + 1);
	/* 501 runs another program; samples from before the exec still resolve. */
	assert_int_equal(symbolizer__exec(s, 501), 0);
	feed_mmaps(s, 501, FIXTURE_ELF, 0);
	check_user(s, env->p, 501, beta, "ember_fixture_beta", "fixture_elf", beta);
	check_user(s, env->p, 501, PIE_BASE + alpha + 2, "ember_fixture_alpha", "fixture_elf_pie",
		   alpha + 2);
	symbolizer__exit(s, 500);
	check_user(s, env->p, 500, PIE_BASE + alpha + 3, "ember_fixture_alpha", "fixture_elf_pie",
		   alpha + 3);
	symbolizer__stats(s, &st);
	assert_int_equal(st.processes, 2);
	assert_int_equal(st.generations, 3);
	assert_int_equal(st.proc_reads, 0);

	/* After the drain: 500 is gone, 501 has only its new program. */
	symbolizer__window_done(s);
	symbolizer__stats(s, &st);
	assert_int_equal(st.processes, 1);
	assert_int_equal(st.generations, 1);
	check_user(s, env->p, 501, PIE_BASE + alpha + 4, "[unknown]", NULL, 0);
	check_user(s, env->p, 501, beta + 1, "ember_fixture_beta", "fixture_elf", beta + 1);
	check_user(s, env->p, 500, PIE_BASE + alpha + 5, "[unknown]", NULL, 0);
	/* A fork of an unknown parent reads /proc when needed (1234 is in the fake root). */
	assert_int_equal(symbolizer__fork(s, 999, PID), 0);
	check_user(s, env->p, PID, PIE_BASE + alpha, "ember_fixture_alpha", "fixture_elf_pie",
		   alpha);
	symbolizer__stats(s, &st);
	assert_int_equal(st.proc_reads, 1);
	symbolizer__free(s);
}

/* A new mapping replaces what it overlaps: trims, splits, drops. */
static void test_events_overlap(void **state)
{
	struct env *env = *state;
	struct symbolizer *s = new_sym(env);
	struct sym_map m = {.start = 0x10000, .end = 0x20000, .path = "/a", .inode = 1};
	struct sym_mapping out;

	assert_int_equal(symbolizer__exec(s, 600), 0);
	assert_int_equal(symbolizer__mmap(s, 600, &m), 0);
	/* Split /a in two with /b in its middle. */
	m = (struct sym_map){.start = 0x14000, .end = 0x16000, .path = "/b", .inode = 2};
	assert_int_equal(symbolizer__mmap(s, 600, &m), 0);
	assert_int_equal(symbolizer__mapping(s, 600, 0x13fff, &out), 0);
	assert_string_equal(out.name, "/a");
	assert_int_equal(out.start, 0x10000);
	assert_int_equal(out.end, 0x14000);
	assert_int_equal(symbolizer__mapping(s, 600, 0x15000, &out), 0);
	assert_string_equal(out.name, "/b");
	assert_int_equal(symbolizer__mapping(s, 600, 0x16000, &out), 0);
	assert_string_equal(out.name, "/a");
	assert_int_equal(out.start, 0x16000);
	assert_int_equal(out.pgoff, 0x6000);
	/* One covering all: the three are gone. */
	m = (struct sym_map){.start = 0xf000, .end = 0x21000, .path = "//anon"};
	assert_int_equal(symbolizer__mmap(s, 600, &m), 0);
	assert_int_equal(symbolizer__mapping(s, 600, 0x15000, &out), 0);
	assert_string_equal(out.name, "");
	assert_false(out.is_file);
	assert_int_equal(out.start, 0xf000);
	/* Empty ranges are ignored. */
	m = (struct sym_map){.start = 0x30000, .end = 0x30000, .path = "/c"};
	assert_int_equal(symbolizer__mmap(s, 600, &m), 0);
	assert_int_equal(symbolizer__mapping(s, 600, 0x30000, &out), -ENOENT);
	symbolizer__free(s);
}

/* JIT code in anonymous memory is named by the perf map, as JIT frames. */
static void test_jit(void **state)
{
	struct env *env = *state;
	char dir[256], path[300];
	struct sym_options o = {.proc_root = env->root, .perf_map_dir = dir};
	struct sym_map m = {.start = 0x40000000, .end = 0x40100000, .path = "//anon"};
	const struct profile_frame *f;
	struct symbolizer *s;
	struct sym_stats st;
	uint32_t id;
	FILE *pm;

	snprintf(dir, sizeof(dir), "%s/jitmaps", env->root);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/perf-700.map", dir);
	pm = fopen(path, "w");
	assert_non_null(pm);
	fputs("40001000 200 JS:*hotLoop /tmp/a.js:1\n", pm);
	fflush(pm);
	s = symbolizer__new(&o);
	assert_non_null(s);
	assert_int_equal(symbolizer__exec(s, 700), 0);
	assert_int_equal(symbolizer__mmap(s, 700, &m), 0);
	assert_int_equal(symbolizer__user(s, env->p, 700, 0x40001010, &id, 1), 1);
	f = profile__frame(env->p, id);
	assert_string_equal(profile__str(env->p, f->name), "JS:*hotLoop /tmp/a.js:1");
	assert_int_equal(f->kind, PROFILE_FRAME_JIT);
	assert_string_equal(profile__str(env->p, f->module), "[jit]");
	/* Not in the map: unknown. */
	check_user(s, env->p, 700, 0x40000010, "[unknown]", NULL, 0);
	symbolizer__stats(s, &st);
	assert_int_equal(st.jit_resolved, 1);
	fclose(pm);
	symbolizer__free(s);
}

static void test_bad_stat(void **state)
{
	struct env *env = *state;
	struct symbolizer *s = new_sym(env);

	write_file(env, "1234/stat", "1234 (x) S 1 2 3\n");
	assert_int_equal(symbolizer__snapshot(s, PID), -EINVAL);
	write_file(env, "1234/stat", "1234 no parenthesis\n");
	assert_int_equal(symbolizer__snapshot(s, PID), -EINVAL);
	/* Fields are counted from the last ')': the first one would give letters. */
	write_file(env, "1234/stat",
		   "1234 (a) b c d e f g h i j k l m n o p q r s t u v w) S "
		   "4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 777 23 24\n");
	assert_int_equal(symbolizer__snapshot(s, PID), 0);
	write_file(env, "1234/stat",
		   "1234 (x) S 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 x777 23 24\n");
	assert_int_equal(symbolizer__snapshot(s, PID), -EINVAL);
	write_file(env, "1234/maps", "not maps\n");
	write_stat(env, PID, 1);
	assert_int_equal(symbolizer__snapshot(s, PID), -EINVAL);
	check_user(s, env->p, PID, 0x1000, "[unknown]", NULL, 0);
	symbolizer__free(s);
}

static void test_kernel(void **state)
{
	struct env *env = *state;
	struct symbolizer *s = new_sym(env);
	struct sym_stats st;
	uint32_t id;

	check_kernel(s, env->p, 0xffffffff81004010ull, "schedule", "[kernel.kallsyms]");
	check_kernel(s, env->p, 0xffffffff81000000ull, "_stext", "[kernel.kallsyms]");
	check_kernel(s, env->p, 0xffffffffc0a00100ull, "ext4_iget", "[ext4]");
	check_kernel(s, env->p, 0xffffffff80000000ull, "[kernel.kallsyms]", "[kernel.kallsyms]");
	assert_int_equal(symbolizer__kernel(s, env->p, 0xffffffff81004010ull, &id, 0), 0);
	symbolizer__stats(s, &st);
	assert_int_equal(st.kernel_resolved, 3);
	assert_int_equal(st.kernel_unknown, 1);
	symbolizer__free(s);
}

/*
 * One symbolizer, one profile after another (as the daemon has a profile
 * per window): names remembered for the first profile are never taken for
 * the second, though the second may sit at the first one's address and has
 * other strings under the same ids.
 */
static void test_next_profile(void **state)
{
	struct env *env = *state;
	struct symbolizer *s = new_sym(env);
	uint64_t alpha = nm_addr(FIXTURE_PIE, "ember_fixture_alpha");
	uint64_t gamma = nm_addr(FIXTURE_PIE, "ember_fixture_gamma");
	struct profile *p;
	int round;

	for (round = 0; round < 4; round++) {
		p = profile__new();
		assert_non_null(p);
		/* Alternate the order, so an id from the last profile names another string. */
		if (round % 2) {
			check_kernel(s, p, 0xffffffffc0a00100ull, "ext4_iget", "[ext4]");
			check_user(s, p, PID, PIE_BASE + gamma, "ember_fixture_gamma",
				   "fixture_elf_pie", gamma);
		}
		check_user(s, p, PID, PIE_BASE + alpha, "ember_fixture_alpha", "fixture_elf_pie",
			   alpha);
		check_kernel(s, p, 0xffffffff81004010ull, "schedule", "[kernel.kallsyms]");
		check_user(s, p, PID, PIE_BASE + gamma + 1, "ember_fixture_gamma",
			   "fixture_elf_pie", gamma + 1);
		check_kernel(s, p, 0xffffffffc0a00100ull, "ext4_iget", "[ext4]");
		/* Again in the same profile: the same frame. */
		check_user(s, p, PID, PIE_BASE + alpha + 1, "ember_fixture_alpha",
			   "fixture_elf_pie", alpha + 1);
		profile__free(p);
	}
	symbolizer__free(s);
}

static void test_no_kallsyms(void **state)
{
	struct env *env = *state;
	struct sym_options o = {.proc_root = env->root, .kallsyms_path = ""};
	struct symbolizer *s = symbolizer__new(&o);

	assert_non_null(s);
	check_kernel(s, env->p, 0xffffffff81004010ull, "[kernel.kallsyms]", "[kernel.kallsyms]");
	symbolizer__free(s);

	o.kallsyms_path = FIXTURE_DIR "/no-such-kallsyms";
	s = symbolizer__new(&o);
	assert_non_null(s);
	check_kernel(s, env->p, 0xffffffff81004010ull, "[kernel.kallsyms]", "[kernel.kallsyms]");
	symbolizer__free(s);

	o.kallsyms_path = FIXTURE_DIR "/kallsyms.txt";
	s = symbolizer__new(&o);
	assert_non_null(s);
	check_kernel(s, env->p, 0xffffffffc0b00001ull, "xfs_bmap", "[xfs]");
	symbolizer__free(s);
	symbolizer__free(NULL);
}

static __attribute__((noinline)) int live_target_function(int x)
{
	return x * 7 + 3;
}

static void test_live(void **state)
{
	struct env *env = *state;
	struct sym_options o = {.proc_root = "/proc", .kallsyms_path = ""};
	struct symbolizer *s = symbolizer__new(&o);
	const struct profile_frame *f;
	void *fn = (void *)getpid;
	uint64_t vdso = getauxval(AT_SYSINFO_EHDR);
	const char *name;
	uint32_t id;

	assert_non_null(s);
	assert_int_equal(live_target_function(1), 10);
	assert_int_equal(symbolizer__snapshot(s, (uint32_t)getpid()), 0);
	check_user(s, env->p, (uint32_t)getpid(), (uint64_t)(uintptr_t)live_target_function,
		   "live_target_function", "test_symbolizer", UINT64_MAX);
	check_user(s, env->p, (uint32_t)getpid(), (uint64_t)(uintptr_t)live_target_function + 1,
		   "live_target_function", "test_symbolizer", UINT64_MAX);

	/* libc: .dynsym; the alias chosen must name the same function. */
	assert_int_equal(symbolizer__user(s, env->p, (uint32_t)getpid(), (uintptr_t)fn, &id, 1), 1);
	f = profile__frame(env->p, id);
	name = profile__str(env->p, f->name);
	assert_non_null(strstr(name, "getpid"));
	/*
	 * The symbol table's best alias, or with libc's debug file installed the
	 * name DWARF gives the definition (__GI_getpid, as addr2line says).
	 */
	if (dlsym(RTLD_DEFAULT, name))
		assert_ptr_equal(dlsym(RTLD_DEFAULT, name), fn);
	assert_non_null(strstr(profile__str(env->p, f->module), "libc"));

	if (vdso)
		check_user(s, env->p, (uint32_t)getpid(), vdso + 0x10, "[vdso]", "[vdso]", 0x10);
	symbolizer__free(s);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_lru, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pid_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zombie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_container_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_stat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_profile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_kallsyms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live, setup, teardown),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}

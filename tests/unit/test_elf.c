/*
 * Unit tests for the ELF symbol tables (symbolizer/elf.c). Addresses are
 * checked against what the toolchain put in the fixtures (nm output), the
 * .dynsym path against the C library this test runs on, and damaged files
 * (truncated, garbage, bytes flipped) must give NULL or a usable table.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ember/symbolizer.h"

#define FIXTURE_ELF FIXTURE_BIN_DIR "/fixtures/fixture_elf"
#define FIXTURE_PIE FIXTURE_BIN_DIR "/fixtures/fixture_elf_pie"

struct nm_sym {
	uint64_t addr, size;
	bool has_size;
};

/* Address and size of @name in @path per `nm -S`; fails the test if absent. */
static struct nm_sym nm_lookup(const char *path, const char *name)
{
	struct nm_sym r = {0};
	char cmd[1024], line[1024];
	bool found = false;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm -S --defined-only '%s'", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		char f[4][512];
		int n;

		line[strcspn(line, "\n")] = '\0';
		n = sscanf(line, "%511s %511s %511s %511s", f[0], f[1], f[2], f[3]);
		if (n == 4 && !strcmp(f[3], name)) {
			r.addr = strtoull(f[0], NULL, 16);
			r.size = strtoull(f[1], NULL, 16);
			r.has_size = true;
			found = true;
		} else if (n == 3 && !strcmp(f[2], name)) {
			r.addr = strtoull(f[0], NULL, 16);
			found = true;
		}
	}
	assert_int_equal(pclose(p), 0);
	if (!found)
		fail_msg("nm: %s not in %s", name, path);
	return r;
}

static void assert_find(const struct sym_elf *e, uint64_t vaddr, const char *name, uint64_t start)
{
	uint64_t got = 0;
	const char *n = sym_elf__find(e, vaddr, &got);

	if (!n)
		fail_msg("no symbol at %#" PRIx64 ", expected %s", vaddr, name);
	assert_string_equal(n, name);
	assert_int_equal(got, start);
}

static void check_fixture(const char *path)
{
	static const char *const funcs[] = {
		"ember_fixture_alpha",
		"ember_fixture_beta",
		"ember_fixture_gamma",
		"ember_fixture_after_nosize",
		"main",
	};
	struct sym_elf *e = sym_elf__open(path);
	struct nm_sym s, t;
	const char *n;
	size_t i;

	assert_non_null(e);
	assert_true(sym_elf__symbol_count(e) >= 6);
	for (i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++) {
		s = nm_lookup(path, funcs[i]);
		assert_true(s.has_size && s.size > 1);
		assert_find(e, s.addr, funcs[i], s.addr);
		assert_find(e, s.addr + 1, funcs[i], s.addr);
		assert_find(e, s.addr + s.size - 1, funcs[i], s.addr);
		n = sym_elf__find(e, s.addr + s.size, NULL);
		assert_true(!n || strcmp(n, funcs[i]));
		assert_ptr_equal(sym_elf__find(e, s.addr, NULL),
				 sym_elf__find(e, s.addr + 1, NULL));
	}

	/* A local function and its global alias: the global name is reported. */
	s = nm_lookup(path, "ember_fixture_alias");
	t = nm_lookup(path, "fixture_local_target");
	assert_int_equal(s.addr, t.addr);
	assert_find(e, s.addr + 1, "ember_fixture_alias", s.addr);

	/* A function without a size reaches up to the next symbol. */
	s = nm_lookup(path, "ember_fixture_nosize");
	assert_false(s.has_size);
	assert_find(e, s.addr, "ember_fixture_nosize", s.addr);
	assert_find(e, s.addr + 4, "ember_fixture_nosize", s.addr);

	/* Below every function: the ELF header. */
	assert_null(sym_elf__find(e, 0, NULL));
	assert_null(sym_elf__find(e, 1, NULL));
	sym_elf__free(e);
}

static void test_fixture_exec(void **state)
{
	check_fixture(FIXTURE_ELF);
}

static void test_fixture_pie(void **state)
{
	check_fixture(FIXTURE_PIE);
}

/* Checks offset_to_vaddr against the program headers read here with gelf. */
static void check_offsets(const char *path)
{
	struct sym_elf *e = sym_elf__open(path);
	struct nm_sym s = nm_lookup(path, "ember_fixture_beta");
	uint64_t vaddr, off = 0;
	bool found = false;
	size_t i, phnum;
	GElf_Phdr ph;
	Elf *elf;
	int fd;

	assert_non_null(e);
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_int_equal(elf_getphdrnum(elf, &phnum), 0);
	for (i = 0; i < phnum; i++) {
		assert_non_null(gelf_getphdr(elf, (int)i, &ph));
		if (ph.p_type == PT_LOAD && s.addr >= ph.p_vaddr &&
		    s.addr < ph.p_vaddr + ph.p_filesz) {
			off = s.addr - ph.p_vaddr + ph.p_offset;
			assert_true(ph.p_flags & PF_X);
			found = true;
		}
	}
	elf_end(elf);
	close(fd);
	assert_true(found);

	assert_int_equal(sym_elf__offset_to_vaddr(e, off, &vaddr), 0);
	assert_int_equal(vaddr, s.addr);
	assert_find(e, vaddr, "ember_fixture_beta", s.addr);
	/* The ELF header is in the first PT_LOAD at offset 0. */
	assert_int_equal(sym_elf__offset_to_vaddr(e, 0, &vaddr), 0);
	assert_int_equal(sym_elf__offset_to_vaddr(e, UINT64_MAX, &vaddr), -ENOENT);
	assert_int_equal(sym_elf__offset_to_vaddr(e, 1ull << 40, &vaddr), -ENOENT);
	sym_elf__free(e);
}

static void test_offsets(void **state)
{
	check_offsets(FIXTURE_ELF);
	check_offsets(FIXTURE_PIE);
}

/* The C library is stripped on most distributions: its .dynsym is used. */
static void test_libc_dynsym(void **state)
{
	void *fn = (void *)getpid;
	struct sym_elf *e;
	const char *name;
	uint64_t start;
	Dl_info info;

	assert_int_not_equal(dladdr(fn, &info), 0);
	assert_non_null(info.dli_fname);
	e = sym_elf__open(info.dli_fname);
	assert_non_null(e);
	assert_true(sym_elf__symbol_count(e) > 100);
	name = sym_elf__find(e, (uint64_t)((uintptr_t)fn - (uintptr_t)info.dli_fbase), &start);
	assert_non_null(name);
	assert_non_null(strstr(name, "getpid"));
	/* Whatever alias was chosen names the same function. */
	assert_ptr_equal(dlsym(RTLD_DEFAULT, name), fn);
	assert_int_equal(start, (uintptr_t)fn - (uintptr_t)info.dli_fbase);
	sym_elf__free(e);
}

static void test_not_elf(void **state)
{
	errno = 0;
	assert_null(sym_elf__open(FIXTURE_DIR "/kallsyms.txt"));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(sym_elf__open(FIXTURE_DIR));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(sym_elf__open(FIXTURE_DIR "/no-such-file"));
	assert_int_equal(errno, ENOENT);
	sym_elf__free(NULL);
	assert_int_equal(sym_elf__symbol_count(NULL), 0);
	assert_null(sym_elf__find(NULL, 1, NULL));
}

static unsigned char *read_all(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	buf = malloc((size_t)st.st_size);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	fclose(f);
	*len = (size_t)st.st_size;
	return buf;
}

static void write_all(const char *path, const unsigned char *buf, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Opens @path, which may be damaged: NULL with errno, or a usable table. */
static void open_damaged(const char *path)
{
	struct sym_elf *e;
	uint64_t v, a;

	errno = 0;
	e = sym_elf__open(path);
	if (!e) {
		assert_int_not_equal(errno, 0);
		return;
	}
	for (a = 0; a < 0x10000; a += 0x10) {
		sym_elf__find(e, a, &v);
		sym_elf__find(e, a + 0x400000, NULL);
		sym_elf__offset_to_vaddr(e, a, &v);
	}
	sym_elf__find(e, UINT64_MAX, NULL);
	sym_elf__free(e);
}

static void test_damaged(void **state)
{
	char dir[] = "/tmp/ember-test-elf-XXXXXX", path[64];
	unsigned char *orig, *buf;
	size_t len, cut, i;
	int round;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	orig = read_all(FIXTURE_PIE, &len);
	buf = malloc(len);
	assert_non_null(buf);

	/* Truncated at many lengths, including inside the headers. */
	for (cut = 0; cut < len; cut += cut < 128 ? 1 : cut < 4096 ? 61 : 997) {
		write_all(path, orig, cut);
		open_damaged(path);
	}
	write_all(path, orig, len - 1);
	open_damaged(path);

	/* Garbage, with and without the ELF magic. */
	srand(42);
	for (round = 0; round < 20; round++) {
		size_t n = (size_t)(rand() % 8192) + 1;

		for (i = 0; i < n; i++)
			buf[i] = (unsigned char)rand();
		if (round & 1 && n >= 6) {
			memcpy(buf, ELFMAG, SELFMAG);
			buf[EI_CLASS] = ELFCLASS64;
			buf[EI_DATA] = ELFDATA2LSB;
		}
		write_all(path, buf, n);
		open_damaged(path);
	}

	/* The real file with bytes flipped: headers and tables get nonsense values. */
	for (round = 0; round < 300; round++) {
		size_t window = len < 4096 ? len : 4096;

		memcpy(buf, orig, len);
		for (i = 0; i < 8; i++) {
			/* The ELF and program headers, the section headers at the end, anywhere. */
			size_t at = (size_t)rand() % (round % 3 == 2 ? len : window);

			if (round % 3 == 1)
				at = len - 1 - at;
			buf[at] = (unsigned char)rand();
		}
		write_all(path, buf, len);
		open_damaged(path);
	}

	unlink(path);
	rmdir(dir);
	free(buf);
	free(orig);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_exec),
		cmocka_unit_test(test_fixture_pie),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_libc_dynsym),
		cmocka_unit_test(test_not_elf),
		cmocka_unit_test(test_damaged),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Symbolizer benchmark (issue 3): throughput and memory.
 *
 * Throughput: a batch of addresses spread over libc (DWARF when its debug
 * file is installed), libpython and the kernel, symbolized by ember cold (a
 * new symbolizer: files opened, indexes built) and warm (the same addresses
 * again into the same profile, then into a new one as a daemon window does,
 * and fresh addresses in files already open), beside binutils'
 * addr2line -f -i -e and elfutils' eu-addr2line -f -i -e on the same user
 * addresses, in the same run. Each tool runs @reps times; medians are shown.
 *
 * Memory: RSS of this process before and after symbolizing a sample of
 * addresses in every executable mapping of every process on the host.
 *
 *   sym_bench [-n ADDRESSES] [-r REPS] [-b BUDGET] [-T] [--libc PATH] [--libpython PATH]
 *
 * -b: the symbolizer's memory budget in bytes (sym_options.max_bytes, as
 * `ember daemon --symbol-cache` sets it); default: the library's. -T: ember
 * alone, without addr2line and eu-addr2line (quicker, for comparing two
 * builds of ember in one session).
 *
 * Prints a Markdown table (for bench/RESULTS.md).
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <gelf.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ember/profile.h"
#include "ember/symbolizer.h"

#define FAKE_PID 4242
#define MAX_REPS 15

struct target {
	const char *path;
	uint64_t base;	 /* where it is mapped in the fake process */
	uint64_t *addrs; /* file vaddrs */
	size_t n;
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* @n addresses inside random sized functions of @path's symbol tables. */
static int pick_user(struct target *t, size_t n)
{
	uint64_t *starts = NULL, *sizes = NULL;
	size_t cnt = 0, cap = 0, i;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf *elf;
	int fd;

	fd = open(t->path, O_RDONLY);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while (elf && (scn = elf_nextscn(elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB))
			continue;
		d = elf_getdata(scn, NULL);
		for (i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;

			if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
			    !s.st_size || !s.st_value)
				continue;
			if (cnt == cap) {
				cap = cap ? cap * 2 : 4096;
				starts = realloc(starts, cap * sizeof(*starts));
				sizes = realloc(sizes, cap * sizeof(*sizes));
				if (!starts || !sizes)
					abort();
			}
			starts[cnt] = s.st_value;
			sizes[cnt++] = s.st_size;
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	if (!cnt)
		return -ENOENT;
	t->addrs = calloc(n, sizeof(*t->addrs));
	if (!t->addrs)
		abort();
	for (i = 0; i < n; i++) {
		size_t k = rnd() % cnt;

		t->addrs[i] = starts[k] + rnd() % sizes[k];
	}
	t->n = n;
	free(starts);
	free(sizes);
	return 0;
}

/* @n kernel text addresses between consecutive kallsyms symbols. */
static uint64_t *pick_kernel(size_t n)
{
	uint64_t *syms = NULL, *out;
	size_t cnt = 0, cap = 0, i;
	char line[512], type;
	uint64_t a;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 " %c", &a, &type) != 2 || !a ||
		    (type != 't' && type != 'T'))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 65536;
			syms = realloc(syms, cap * sizeof(*syms));
			if (!syms)
				abort();
		}
		syms[cnt++] = a;
	}
	fclose(f);
	if (cnt < 2) {
		free(syms);
		return NULL;
	}
	out = calloc(n, sizeof(*out));
	if (!out)
		abort();
	for (i = 0; i < n; i++) {
		size_t k = rnd() % (cnt - 1);
		uint64_t span = syms[k + 1] > syms[k] ? syms[k + 1] - syms[k] : 1;

		out[i] = syms[k] + rnd() % (span < 4096 ? span : 4096);
	}
	free(syms);
	return out;
}

/* Writes a fake /proc root where FAKE_PID maps the targets at their bases. */
static void fake_root(const char *root, struct target *t, int nt)
{
	char path[512];
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/%d", root, FAKE_PID);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%d/stat", root, FAKE_PID);
	f = fopen(path, "w");
	fprintf(f, "%d (bench) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 77 0 0\n", FAKE_PID);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%d/maps", root, FAKE_PID);
	f = fopen(path, "w");
	for (i = 0; i < nt; i++) {
		struct stat st;

		stat(t[i].path, &st);
		/* One mapping over the whole file at offset 0 (vaddr == offset for these). */
		fprintf(f, "%" PRIx64 "-%" PRIx64 " r-xp 00000000 %02x:%02x %lu %s\n", t[i].base,
			(uint64_t)(t[i].base + (((uint64_t)st.st_size + 0xfff) & ~0xfffull)),
			major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino, t[i].path);
	}
	fclose(f);
}

/* Symbolizes the user targets and the kernel addresses; returns seconds. */
static double run_ember(struct symbolizer *s, struct profile *p, struct target *t, int nt,
			const uint64_t *kaddrs, size_t nk, uint64_t *frames)
{
	uint32_t ids[64];
	double t0 = now_s();
	size_t i;
	int k, n;

	*frames = 0;
	for (k = 0; k < nt; k++) {
		for (i = 0; i < t[k].n; i++) {
			n = symbolizer__user(s, p, FAKE_PID, t[k].base + t[k].addrs[i], ids, 64);
			if (n < 0)
				abort();
			*frames += (uint64_t)n;
		}
	}
	for (i = 0; i < nk; i++) {
		n = symbolizer__kernel(s, p, kaddrs[i], ids, 64);
		if (n < 0)
			abort();
		*frames += (uint64_t)n;
	}
	return now_s() - t0;
}

/* Runs "@tool -f -i -e FILE" over each target's addresses; total seconds, -1 if absent. */
static double run_tool(const char *tool, struct target *t, int nt, const char *dir)
{
	char in[512], cmd[1024];
	double t0, total = 0;
	size_t i;
	int k;

	for (k = 0; k < nt; k++) {
		FILE *f;

		snprintf(in, sizeof(in), "%s/addrs-%d", dir, k);
		f = fopen(in, "w");
		for (i = 0; i < t[k].n; i++)
			fprintf(f, "%" PRIx64 "\n", t[k].addrs[i]);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "%s -f -i -e '%s' < %s > /dev/null 2>&1", tool,
			 t[k].path, in);
		t0 = now_s();
		/* Exit status 1 only means some address had no name; 127: no such tool. */
		if (WEXITSTATUS(system(cmd)) >= 126)
			return -1;
		total += now_s() - t0;
	}
	return total;
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* Symbolizes up to @per addresses in each executable mapping of every process. */
static void host_memory(int per)
{
	struct sym_options o = {0};
	struct symbolizer *s;
	struct profile *p = profile__new();
	struct sym_stats st;
	struct dirent *de;
	long before, after;
	size_t procs = 0, addrs = 0;
	uint32_t ids[64];
	double t0;
	DIR *d;

	before = rss_kb();
	o.kallsyms_path = "";
	s = symbolizer__new(&o);
	d = opendir("/proc");
	if (!s || !p || !d)
		abort();
	t0 = now_s();
	while ((de = readdir(d))) {
		uint32_t pid = (uint32_t)strtoul(de->d_name, NULL, 10);
		char path[64], line[1024];
		FILE *f;

		if (!pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%u/maps", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		procs++;
		while (fgets(line, sizeof(line), f)) {
			uint64_t lo, hi;
			char perms[8];
			int i;

			if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &lo, &hi, perms) != 3 ||
			    perms[2] != 'x')
				continue;
			for (i = 0; i < per; i++, addrs++)
				symbolizer__user(s, p, pid, lo + rnd() % (hi - lo), ids, 64);
		}
		fclose(f);
	}
	closedir(d);
	after = rss_kb();
	symbolizer__stats(s, &st);
	printf("Memory: %zu processes, %zu addresses (%d per executable mapping) in %.2f s\n\n",
	       procs, addrs, per, now_s() - t0);
	printf("| what | value |\n|---|---|\n");
	printf("| RSS before | %ld KiB |\n", before);
	printf("| RSS after symbolizing every process | %ld KiB "
	       "|\n",
	       after);
	printf("| symbolizer growth | %ld KiB |\n", after - before);
	printf("| files open / objects (by build-id) / with DWARF | %" PRIu64 " / %" PRIu64
	       " / %" PRIu64 " |\n",
	       st.files, st.objects, st.dwarf_files);
	printf("| file cache hits / misses / evictions | %" PRIu64 " / %" PRIu64 " / %" PRIu64
	       " |\n",
	       st.file_hits, st.file_misses, st.file_evictions);
	printf("| bytes held by objects (estimate) | %" PRIu64 " KiB |\n", st.memory / 1024);
	printf("\n");
	symbolizer__free(s);
	profile__free(p);
}

int main(int argc, char **argv)
{
	const char *libc = "/lib/x86_64-linux-gnu/libc.so.6";
	const char *libpy = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0";
	size_t n = 100000, nk, nu;
	uint64_t budget = 0;
	bool tools = true;
	int reps = 5, c, i, k, per = 8;
	double cold[MAX_REPS], warm[MAX_REPS], window[MAX_REPS], fresh[MAX_REPS], a2l[MAX_REPS],
		eu[MAX_REPS];
	char root[] = "/tmp/ember-symbench-XXXXXX";
	struct target t[2], t2[2];
	uint64_t *kaddrs, *kaddrs2, frames = 0;
	static const struct option lo[] = {{"libc", 1, 0, 'c'}, {"libpython", 1, 0, 'p'}, {0}};

	while ((c = getopt_long(argc, argv, "n:r:m:b:T", lo, NULL)) != -1) {
		if (c == 'b')
			budget = strtoull(optarg, NULL, 10);
		else if (c == 'T')
			tools = false;
		else if (c == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (c == 'r')
			reps = atoi(optarg);
		else if (c == 'm')
			per = atoi(optarg);
		else if (c == 'c')
			libc = optarg;
		else if (c == 'p')
			libpy = optarg;
		else
			return 2;
	}
	if (reps < 1 || reps > MAX_REPS || n < 10)
		return 2;
	elf_version(EV_CURRENT);
	nk = n / 5;
	nu = (n - nk) / 2;
	t[0] = (struct target){.path = libc, .base = 0x7f0000000000ull};
	t[1] = (struct target){.path = libpy, .base = 0x7f1000000000ull};
	t2[0] = t[0];
	t2[1] = t[1];
	for (k = 0; k < 2; k++) {
		if (pick_user(&t[k], nu) || pick_user(&t2[k], nu)) {
			fprintf(stderr, "sym_bench: cannot read symbols of %s\n", t[k].path);
			return 1;
		}
	}
	kaddrs = pick_kernel(nk);
	kaddrs2 = pick_kernel(nk);
	if (!kaddrs || !kaddrs2) {
		fprintf(stderr, "sym_bench: cannot read /proc/kallsyms (run as root)\n");
		return 1;
	}
	/* Memory first, while this process holds nothing else. */
	host_memory(per);
	if (!mkdtemp(root))
		return 1;
	fake_root(root, t, 2);

	for (i = 0; i < reps; i++) {
		struct sym_options o = {.proc_root = root, .kallsyms_path = "/proc/kallsyms"};
		struct profile *p = profile__new(), *pw;
		struct symbolizer *s;
		double t0 = now_s();

#ifdef SYM_DEFAULT_MAX_BYTES /* a symbolizer with a memory budget */
		o.max_bytes = budget;
#else
		if (budget)
			return 2;
#endif
		s = symbolizer__new(&o);
		if (!s || !p)
			abort();
		/* Cold includes loading kallsyms: that is what a first run pays. */
		run_ember(s, p, t, 2, kaddrs, nk, &frames);
		cold[i] = now_s() - t0;
		warm[i] = run_ember(s, p, t, 2, kaddrs, nk, &frames);
		/* A daemon window: the same addresses into a profile of its own. */
		pw = profile__new();
		if (!pw)
			abort();
		window[i] = run_ember(s, pw, t, 2, kaddrs, nk, &frames);
		profile__free(pw);
		fresh[i] = run_ember(s, p, t2, 2, kaddrs2, nk, &frames);
		symbolizer__free(s);
		profile__free(p);
		a2l[i] = tools ? run_tool("addr2line", t, 2, root) : -1;
		eu[i] = tools ? run_tool("eu-addr2line", t, 2, root) : -1;
	}
	{
		double mc = median(cold, reps), mw = median(warm, reps), mf = median(fresh, reps);
		double mn = median(window, reps);
		double ma = median(a2l, reps), me = median(eu, reps);
		size_t nuser = 2 * nu;

		printf("Throughput: %zu addresses (%zu libc, %zu libpython, %zu kernel), %" PRIu64
		       " frames per pass (inline chains included); medians of %d runs\n\n",
		       2 * nu + nk, nu, nu, nk, frames, reps);
		printf("| tool | seconds | addresses/s | vs addr2line |\n|---|---|---|---|\n");
		printf("| ember cold (new symbolizer: kallsyms, files, indexes) | %.3f | %.0f | "
		       "|\n",
		       mc, (2 * nu + nk) / mc);
		printf("| ember warm (same addresses again) | %.4f | %.0f | |\n", mw,
		       (2 * nu + nk) / mw);
		printf("| ember warm, into a new profile (as a daemon window) | %.4f | %.0f | |\n",
		       mn, (2 * nu + nk) / mn);
		printf("| ember warm, fresh addresses (files open, address caches cold) | %.4f | "
		       "%.0f | |\n",
		       mf, (2 * nu + nk) / mf);
		if (ma > 0)
			printf("| addr2line -f -i -e (user addresses only, %zu) | %.3f | %.0f | 1x "
			       "|\n",
			       nuser, ma, nuser / ma);
		if (me > 0)
			printf("| eu-addr2line -f -i -e (user addresses only, %zu) | %.3f | %.0f | "
			       "%.1fx |\n",
			       nuser, me, nuser / me, ma / me);
		if (ma > 0)
			printf("\nember vs addr2line per address: cold %.1fx, warm %.0fx, warm "
			       "into "
			       "a new profile %.0fx, warm with fresh addresses %.1fx\n",
			       (2 * nu + nk) / mc / (nuser / ma), (2 * nu + nk) / mw / (nuser / ma),
			       (2 * nu + nk) / mn / (nuser / ma),
			       (2 * nu + nk) / mf / (nuser / ma));
	}
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd))
			return 1;
	}
	return 0;
}

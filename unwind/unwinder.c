/*
 * The unwinder: a sample's registers and stack snapshot -> frame addresses,
 * through libunwind's remote API with accessors of our own:
 *
 *   access_mem      the snapshot for stack addresses; the mapped file's bytes
 *                   (through its PT_LOAD segments) for code and read-only
 *                   data; converted .debug_frame images at synthetic
 *                   addresses no user address can take
 *   access_reg      the sample's ip, sp and bp (other registers are unknown)
 *   find_proc_info  the mapped file's .eh_frame_hdr table, else its
 *                   .debug_frame, searched by dwarf_search_unwind_table
 *
 * Which file maps an address comes from the symbolizer, once per (process,
 * loaded object): the answer is kept as a region of the process. Files are
 * shared by every process that maps them (keyed by device, inode, size and
 * mtime) and unreferenced ones stay in a bounded LRU.
 *
 * Steps do not go through unw_step: libunwind's register-state cache takes a
 * lock and blocks signals, two system calls a frame. The unwinder reads each
 * function's CFI rows once (unw_reg_states_iterate), keeps them per process
 * (a row may hold addresses of that process's CFI expressions), and moves the
 * cursor with unw_apply_reg_state. Nothing of libunwind's address space is
 * used beyond the accessors (its cache serves unw_step only, and is off), so
 * one address space serves every process.
 *
 * Memory is bounded by opts.max_bytes (by default a quarter of the
 * symbolizer's budget): processes' regions and rows, files' tables, and the
 * pages of mapped files read (counted page by page as they are read). Past
 * it, read pages are given back first (they come back from the page cache),
 * then the least recently used processes' rows, idle files, and processes,
 * down to three quarters of it. Processes beyond opts.max_procs give up
 * their state, oldest first.
 *
 * Frames with no CFI (JIT code, assembly) are walked through the frame
 * pointer when it points into the snapshot, never by libunwind's guesses.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gelf.h>
#include <libunwind.h>

#include "ember/log.h"
#include "ember/symbolizer.h"
#include "ember/unwind.h"
#include "uw_int.h"

/* Not in libunwind's public headers, but exported by it (perf uses it too). */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);
#define dwarf_search_unwind_table UNW_OBJ(dwarf_search_unwind_table)

#define DEFAULT_MAX_PROCS 256
/*
 * An address no mapping covers makes the symbolizer re-read the process's
 * mappings (a library loaded since), at most this often per process.
 */
#define REFRESH_NS	  (200 * 1000000ull)
#define DEFAULT_MAX_FILES 64
/*
 * Converted .debug_frame images live at SYNTH_BASE + slot * 4 GiB: kernel
 * half addresses, which no user stack or mapping can hold.
 */
#define SYNTH_BASE	0xffff800000000000ull
#define SYNTH_SHIFT	32
#define SYNTH_MAX_SLOTS 32000
/* A read this close past a full snapshot means the stack went on beyond it. */
#define STACK_SLACK (8u << 20)

struct uw_file {
	struct uw_file *next;		       /* all files */
	struct uw_file *idle_prev, *idle_next; /* LRU while refs == 0 */
	uint64_t dev, ino, size, mtime_ns;     /* identity; all zero for the vDSO */
	uint8_t *image;			       /* the file, mapped copy-on-write */
	size_t image_size;
	bool mmapped; /* else malloc'ed (the vDSO) */
	struct uw_tables t;
	struct uw_pages pages; /* pages of the mapping read */
	size_t bytes;	       /* held, pages read aside (file__bytes when loaded) */
	size_t refs;	       /* regions pointing here */
	uint32_t slot;	       /* synthetic slot + 1 of the converted .debug_frame; 0 = none */
};

/*
 * A range of a process: a loaded ELF object, all its segments (so its
 * .eh_frame is found from its code whichever mappings the symbolizer knows),
 * or a mapping with no readable file (anonymous, special, unreadable).
 */
struct uw_region {
	uint64_t start, end;
	struct uw_file *f; /* NULL: no readable file */
	uint64_t bias;	   /* runtime address - ELF address */
};

/* A row of a function's CFI: the register state for [start, end). */
struct uw_row {
	uint64_t start, end;
	uint32_t off; /* of the state's bytes in the process's blobs */
	uint32_t sig; /* the function is a signal return trampoline */
};

/*
 * Largest register state taken (libunwind's is under 200 bytes on x86-64),
 * rows of one function read at once, and rows kept per process.
 */
#define UW_RS_MAX    512
#define UW_FUNC_ROWS 512
#define UW_PROC_ROWS 4096
/* The budget when neither the options nor the symbolizer give one, and its floor. */
#define UW_MIN_BYTES (512u << 10)

/* The rows of the function being read (unw_reg_states_iterate). */
struct uw_collect {
	struct uw_row rows[UW_FUNC_ROWS];
	uint8_t blobs[UW_FUNC_ROWS * UW_RS_MAX];
	size_t n, size;
	uint64_t lookup; /* kept even when the function has more rows than fit */
};

struct uw_proc {
	struct uw_proc *hnext;
	struct uw_proc *lru_prev, *lru_next; /* most recent at the tail */
	uint32_t pid;
	size_t bytes;		   /* proc__bytes when last accounted */
	struct uw_region *regions; /* sorted by start, disjoint */
	size_t n_regions, cap_regions;
	uint64_t refreshed_ns; /* last mapping refresh asked of the symbolizer */
	struct uw_row *rows;   /* sorted by start, disjoint */
	size_t n_rows, cap_rows;
	uint8_t *blobs; /* register states of the rows */
	size_t blob_len, blob_cap;
};

/* One unwind in progress: the accessors' argument. */
struct uw_ctx {
	struct unwinder *u;
	struct uw_proc *proc;
	const struct unwinder_sample *in;
	uint64_t ip, sp, bp; /* registers of the cursor's first frame */
	const struct uw_region *last;
	bool beyond; /* a read fell just past a full snapshot */
	bool noinfo; /* find_proc_info found no CFI */
	int err;     /* -ENOMEM from a cache */
};

struct unwinder {
	struct symbolizer *sym;
	struct unwinder_opts opts;
	unw_accessors_t acc;
	unw_addr_space_t as; /* shared by every process: only its accessors are used */
	struct uw_proc **buckets;
	size_t nb, n_procs;
	struct uw_proc *lru_head, *lru_tail;
	struct uw_file *files;
	struct uw_file *idle_head, *idle_tail;
	size_t n_idle;
	struct uw_file **slots;
	uint32_t n_slots;
	struct uw_file *vdso;
	bool vdso_tried;
	struct unwinder_stats stats;
	struct uw_collect collect;
	size_t memory; /* processes' and files' bytes, read pages aside */
	size_t pages;  /* pages of mapped files read, all files */
};

/* ---- memory ------------------------------------------------------------ */

/* Bytes of the page bits of an image of @size bytes. */
static size_t pages_len(size_t size)
{
	return size / UW_PAGE_SPAN / 8 + 2;
}

static size_t proc__bytes(const struct uw_proc *p)
{
	return sizeof(*p) + p->cap_regions * sizeof(*p->regions) + p->cap_rows * sizeof(*p->rows) +
	       p->blob_cap;
}

static void proc__account(struct unwinder *u, struct uw_proc *p)
{
	size_t now = proc__bytes(p);

	u->memory = u->memory - p->bytes + now;
	p->bytes = now;
}

static size_t file__bytes(const struct uw_file *f)
{
	size_t n = sizeof(*f) + f->t.n_loads * sizeof(*f->t.loads);

	if (f->t.dbg.image)
		n += f->t.dbg.size + 8;
	if (f->mmapped)
		n += pages_len(f->image_size);
	else
		n += f->image_size;
	return n;
}

/* Gives back the pages of @f's mapping that were read; they come back on use. */
static void file__drop_pages(struct unwinder *u, struct uw_file *f)
{
	if (!f->mmapped || !f->pages.n)
		return;
	madvise(f->image, f->image_size, MADV_DONTNEED);
	memset(f->pages.bits, 0, pages_len(f->image_size));
	u->pages -= f->pages.n;
	f->pages.n = 0;
}

/* Everything the unwinder holds. */
static size_t unwinder__memory(const struct unwinder *u)
{
	return sizeof(*u) + u->memory + u->pages * UW_PAGE_SPAN + u->n_slots * sizeof(*u->slots) +
	       u->nb * sizeof(*u->buckets);
}

/* ---- files ------------------------------------------------------------- */

static void file__destroy(struct unwinder *u, struct uw_file *f)
{
	struct uw_file **pp;

	for (pp = &u->files; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	if (f->slot)
		u->slots[f->slot - 1] = NULL;
	if (uw_tables__has_cfi(&f->t))
		u->stats.files--;
	u->memory -= f->bytes;
	u->pages -= f->pages.n;
	uw_tables__fini(&f->t);
	if (f->mmapped)
		munmap(f->image, f->image_size);
	else
		free(f->image);
	free(f->pages.bits);
	free(f);
}

static void idle_unlink(struct unwinder *u, struct uw_file *f)
{
	if (f->idle_prev)
		f->idle_prev->idle_next = f->idle_next;
	else
		u->idle_head = f->idle_next;
	if (f->idle_next)
		f->idle_next->idle_prev = f->idle_prev;
	else
		u->idle_tail = f->idle_prev;
	f->idle_prev = f->idle_next = NULL;
	u->n_idle--;
}

static void file__get(struct unwinder *u, struct uw_file *f)
{
	if (f->refs++ == 0 && f != u->vdso)
		idle_unlink(u, f);
}

/* Drops a region's reference; unreferenced files idle, the oldest idle ones close. */
static void file__put(struct unwinder *u, struct uw_file *f)
{
	if (!f || --f->refs || f == u->vdso)
		return;
	f->idle_prev = u->idle_tail;
	f->idle_next = NULL;
	if (u->idle_tail)
		u->idle_tail->idle_next = f;
	else
		u->idle_head = f;
	u->idle_tail = f;
	u->n_idle++;
	while (u->n_idle > u->opts.max_files) {
		struct uw_file *old = u->idle_head;

		idle_unlink(u, old);
		file__destroy(u, old);
	}
}

/* Gives @f's converted .debug_frame a synthetic address slot, if there is one free. */
static void file__assign_slot(struct unwinder *u, struct uw_file *f)
{
	uint32_t i;

	if (!f->t.dbg.image)
		return;
	for (i = 0; i < u->n_slots; i++)
		if (!u->slots[i])
			break;
	if (i == u->n_slots) {
		uint32_t n = u->n_slots ? u->n_slots * 2 : 16;
		struct uw_file **v;

		if (n > SYNTH_MAX_SLOTS)
			n = SYNTH_MAX_SLOTS;
		if (i >= n)
			return; /* no slot: this file unwinds through .eh_frame only */
		v = realloc(u->slots, n * sizeof(*v));
		if (!v)
			return;
		memset(v + u->n_slots, 0, (n - u->n_slots) * sizeof(*v));
		u->slots = v;
		u->n_slots = n;
	}
	u->slots[i] = f;
	f->slot = i + 1;
}

/*
 * Reads @f's unwind tables; a file that is not a usable ELF keeps empty
 * tables. The pages reading them took are given back; from here on reads
 * are counted page by page.
 */
static void file__load_tables(struct unwinder *u, struct uw_file *f, const char *what)
{
	int err = uw_tables__init(&f->t, f->image, f->image_size);

	if (err) {
		pr_debug("unwind: no unwind tables in %s: %s", what, strerror(-err));
		memset(&f->t, 0, sizeof(f->t));
	} else {
		file__assign_slot(u, f);
		if (uw_tables__has_cfi(&f->t))
			u->stats.files++;
	}
	if (f->mmapped) {
		f->t.pages = &f->pages;
		f->pages.total = &u->pages;
		f->pages.n = 1; /* whatever init read */
		u->pages++;
		file__drop_pages(u, f);
	}
	f->bytes = file__bytes(f);
	u->memory += f->bytes;
}

/* The file open on @fd, shared or newly read; NULL on ENOMEM. @fd stays the caller's. */
static struct uw_file *file__from_fd(struct unwinder *u, int fd, const char *path)
{
	struct uw_file *f;
	struct stat st;
	uint64_t mtime;
	void *map;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0)
		return NULL;
	mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec;
	for (f = u->files; f; f = f->next) {
		if (f->ino == st.st_ino && f->dev == st.st_dev && f->size == (uint64_t)st.st_size &&
		    f->mtime_ns == mtime) {
			file__get(u, f);
			return f;
		}
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->pages.bits = calloc(pages_len((size_t)st.st_size), 1);
	if (!f->pages.bits) {
		free(f);
		return NULL;
	}
	/* Copy-on-write: nothing can reach the file, and libelf may keep its views. */
	map = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		free(f->pages.bits);
		free(f);
		return NULL;
	}
	f->image = map;
	f->image_size = st.st_size;
	f->mmapped = true;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = st.st_size;
	f->mtime_ns = mtime;
	file__load_tables(u, f, path);
	f->next = u->files;
	u->files = f;
	f->refs = 1;
	return f;
}

/*
 * The vDSO is no file, but every 64-bit process on this kernel maps the same
 * image, ember included: read ours. NULL when it cannot be had.
 */
static struct uw_file *file__vdso(struct unwinder *u)
{
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
	struct uw_file *f;
	size_t size;

	if (u->vdso_tried)
		return u->vdso;
	u->vdso_tried = true;
	eh = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64)
		return NULL;
	size = eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
	ph = (const Elf64_Phdr *)((const uint8_t *)eh + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset + ph[i].p_filesz > size)
			size = ph[i].p_offset + ph[i].p_filesz;
	if (size < sizeof(*eh) || size > (1u << 20))
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->image = malloc(size);
	if (!f->image) {
		free(f);
		return NULL;
	}
	memcpy(f->image, eh, size);
	f->image_size = size;
	file__load_tables(u, f, "[vdso]");
	f->next = u->files;
	u->files = f;
	u->vdso = f;
	return f;
}

/* ---- processes and their regions --------------------------------------- */

static uint64_t hash_pid(uint32_t pid)
{
	uint64_t x = pid;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void proc__clear_regions(struct unwinder *u, struct uw_proc *p)
{
	for (size_t i = 0; i < p->n_regions; i++)
		file__put(u, p->regions[i].f);
	p->n_regions = 0;
}

static void lru_unlink(struct unwinder *u, struct uw_proc *p)
{
	if (p->lru_prev)
		p->lru_prev->lru_next = p->lru_next;
	else
		u->lru_head = p->lru_next;
	if (p->lru_next)
		p->lru_next->lru_prev = p->lru_prev;
	else
		u->lru_tail = p->lru_prev;
	p->lru_prev = p->lru_next = NULL;
}

static void lru_append(struct unwinder *u, struct uw_proc *p)
{
	p->lru_prev = u->lru_tail;
	p->lru_next = NULL;
	if (u->lru_tail)
		u->lru_tail->lru_next = p;
	else
		u->lru_head = p;
	u->lru_tail = p;
}

static void rows__clear(struct unwinder *u, struct uw_proc *p);

static void proc__destroy(struct unwinder *u, struct uw_proc *p)
{
	struct uw_proc **pp = &u->buckets[hash_pid(p->pid) & (u->nb - 1)];

	while (*pp != p)
		pp = &(*pp)->hnext;
	*pp = p->hnext;
	lru_unlink(u, p);
	proc__clear_regions(u, p);
	rows__clear(u, p);
	free(p->regions);
	u->memory -= p->bytes;
	free(p);
	u->n_procs--;
	u->stats.procs = u->n_procs;
}

static int procs_grow(struct unwinder *u)
{
	size_t nb = u->nb ? u->nb * 2 : 64;
	struct uw_proc **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < u->nb; i++) {
		struct uw_proc *p = u->buckets[i], *next;

		for (; p; p = next) {
			next = p->hnext;
			p->hnext = b[hash_pid(p->pid) & (nb - 1)];
			b[hash_pid(p->pid) & (nb - 1)] = p;
		}
	}
	free(u->buckets);
	u->buckets = b;
	u->nb = nb;
	return 0;
}

static struct uw_proc *proc__find(const struct unwinder *u, uint32_t pid)
{
	struct uw_proc *p;

	if (!u->nb)
		return NULL;
	for (p = u->buckets[hash_pid(pid) & (u->nb - 1)]; p; p = p->hnext)
		if (p->pid == pid)
			return p;
	return NULL;
}

/* The state of @pid, made most recent; NULL on ENOMEM. */
static struct uw_proc *proc__get(struct unwinder *u, uint32_t pid)
{
	struct uw_proc *p = proc__find(u, pid);

	if (p) {
		lru_unlink(u, p);
		lru_append(u, p);
		return p;
	}
	if (u->n_procs >= u->nb && procs_grow(u))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	proc__account(u, p);
	p->hnext = u->buckets[hash_pid(pid) & (u->nb - 1)];
	u->buckets[hash_pid(pid) & (u->nb - 1)] = p;
	lru_append(u, p);
	u->n_procs++;
	while (u->n_procs > u->opts.max_procs && u->lru_head != p)
		proc__destroy(u, u->lru_head);
	u->stats.procs = u->n_procs;
	return p;
}

static const struct uw_region *region__find(const struct uw_proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->n_regions;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->regions[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < p->n_regions && p->regions[lo].start <= addr)
		return &p->regions[lo];
	return NULL;
}

/* Inserts @r (taking its file reference), replacing regions it overlaps. */
static struct uw_region *region__insert(struct unwinder *u, struct uw_proc *p,
					const struct uw_region *r)
{
	size_t i = 0, j;

	while (i < p->n_regions && p->regions[i].end <= r->start)
		i++;
	for (j = i; j < p->n_regions && p->regions[j].start < r->end; j++)
		file__put(u, p->regions[j].f);
	if (j == i && p->n_regions == p->cap_regions) {
		size_t cap = p->cap_regions ? p->cap_regions * 2 : 16;
		struct uw_region *v = realloc(p->regions, cap * sizeof(*v));

		if (!v)
			return NULL;
		p->regions = v;
		p->cap_regions = cap;
		proc__account(u, p);
	}
	/* Overlapped [i, j) become the one new region. */
	if (j != i + 1)
		memmove(&p->regions[i + 1], &p->regions[j],
			(p->n_regions - j) * sizeof(*p->regions));
	p->n_regions = p->n_regions + 1 - (j - i);
	p->regions[i] = *r;
	return &p->regions[i];
}

/* runtime - ELF address for a mapping of file offset @pgoff at @start. */
static uint64_t bias_of(const struct uw_tables *t, uint64_t start, uint64_t pgoff)
{
	for (size_t i = 0; i < t->n_loads; i++) {
		const struct uw_load *l = &t->loads[i];

		if (pgoff >= (l->off & ~0xfffull) && pgoff < l->off + l->filesz)
			return start - (l->vaddr - l->off + pgoff);
	}
	return start - pgoff;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * The symbolizer's mapping of @addr, its file opened into *@fd when it has
 * one. An address no mapping covers may be a library loaded after the
 * mappings were read: they are read again, not too often.
 */
static int open_mapped(struct uw_ctx *ctx, uint64_t addr, int *fd, struct sym_mapping *m)
{
	struct symbolizer *sym = ctx->u->sym;
	uint32_t pid = ctx->proc->pid;
	uint64_t now;
	int err;

	err = symbolizer__open_mapped(sym, pid, addr, fd, m);
	if (err == -ENOMEM || (m->start <= addr && addr < m->end))
		return err;
	now = mono_ns();
	if (now - ctx->proc->refreshed_ns < REFRESH_NS)
		return err;
	ctx->proc->refreshed_ns = now;
	if (symbolizer__snapshot(sym, pid))
		return err;
	return symbolizer__open_mapped(sym, pid, addr, fd, m);
}

/*
 * Asks the symbolizer which file maps @addr in @ctx's process, and keeps the
 * answer as a region: the whole loaded object for an ELF file. NULL when no
 * mapping covers @addr (or on ENOMEM, noted in ctx->err).
 */
static const struct uw_region *region__lookup(struct uw_ctx *ctx, uint64_t addr)
{
	struct unwinder *u = ctx->u;
	struct uw_region r = {};
	struct sym_mapping m;
	const struct uw_region *found;
	int fd = -1, err;

	found = region__find(ctx->proc, addr);
	if (found)
		return found;
	err = open_mapped(ctx, addr, &fd, &m);
	if (err == -ENOMEM) {
		ctx->err = err;
		return NULL;
	}
	if (m.end <= m.start || addr < m.start || addr >= m.end)
		return NULL;
	r.start = m.start;
	r.end = m.end;
	if (!err) {
		r.f = file__from_fd(u, fd, m.path);
		close(fd);
	} else if (m.is_special && m.name && !strcmp(m.name, "[vdso]")) {
		r.f = file__vdso(u);
		if (r.f)
			r.f->refs++;
	}
	if (r.f) {
		r.bias = m.has_bias ? m.load_bias : bias_of(&r.f->t, m.start, m.pgoff);
		/* The object's whole range, when it holds the mapping and does not wrap. */
		if (r.f->t.n_loads && r.f->t.lo + r.bias <= m.start &&
		    r.f->t.hi + r.bias >= m.end && r.f->t.hi + r.bias > r.f->t.lo + r.bias) {
			r.start = r.f->t.lo + r.bias;
			r.end = r.f->t.hi + r.bias;
		}
	}
	found = region__insert(u, ctx->proc, &r);
	if (!found) {
		file__put(u, r.f);
		ctx->err = -ENOMEM;
	}
	return found;
}

/* The region of @addr, from the last one used, the process's, or the symbolizer. */
static const struct uw_region *ctx__region(struct uw_ctx *ctx, uint64_t addr)
{
	const struct uw_region *r = ctx->last;

	if (r && addr >= r->start && addr < r->end)
		return r;
	r = region__lookup(ctx, addr);
	/* Inserting may move the array: only a lookup-free pointer is kept. */
	ctx->last = NULL;
	return r;
}

/* ---- libunwind's accessors --------------------------------------------- */

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *valp, int write, void *arg)
{
	struct uw_ctx *ctx = arg;
	const struct unwinder_sample *in = ctx->in;
	const struct uw_region *r;
	uint64_t off;

	if (write)
		return -UNW_EREADONLYREG;
	off = addr - in->sp;
	if (addr >= in->sp && in->stack_len >= 8 && off <= in->stack_len - 8) {
		memcpy(valp, in->stack + off, sizeof(*valp));
		return 0;
	}
	if (addr >= SYNTH_BASE) {
		uint64_t slot = (addr - SYNTH_BASE) >> SYNTH_SHIFT;
		const struct uw_file *f = slot < ctx->u->n_slots ? ctx->u->slots[slot] : NULL;

		off = addr & ((1ull << SYNTH_SHIFT) - 1);
		if (!f || off > f->t.dbg.size)
			return -UNW_EINVAL;
		/* The image has 8 bytes of padding past its size. */
		memcpy(valp, f->t.dbg.image + off, sizeof(*valp));
		return 0;
	}
	if (in->stack_full && addr >= in->sp + in->stack_len &&
	    addr - (in->sp + in->stack_len) < STACK_SLACK) {
		ctx->beyond = true;
		return -UNW_EINVAL;
	}
	r = ctx__region(ctx, addr);
	if (r && r->f && !uw_tables__read(&r->f->t, addr - r->bias, valp, sizeof(*valp))) {
		ctx->last = r;
		return 0;
	}
	return -UNW_EINVAL;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *valp, int write, void *arg)
{
	struct uw_ctx *ctx = arg;

	if (write)
		return -UNW_EREADONLYREG;
	switch (reg) {
	case UNW_REG_IP:
		*valp = ctx->ip;
		return 0;
	case UNW_REG_SP:
		*valp = ctx->sp;
		return 0;
	case UNW_TDEP_BP:
		*valp = ctx->bp;
		return 0;
	default:
		return -UNW_EBADREG; /* not in the sample */
	}
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
			void *arg)
{
	return -UNW_EBADREG;
}

static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			 unw_word_t *off, void *arg)
{
	return -UNW_EINVAL;
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *dil_addr, void *arg)
{
	return -UNW_ENOINFO;
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	/* libunwind frees the DWARF info it parsed itself. */
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			  int need_unwind_info, void *arg)
{
	struct uw_ctx *ctx = arg;
	const struct uw_region *found = ctx__region(ctx, ip);
	struct uw_region r;
	const struct uw_tables *t;
	unw_dyn_info_t di;
	uint64_t vaddr;
	int ret = -UNW_ENOINFO;

	if (!found || !found->f || !uw_tables__has_cfi(&found->f->t))
		goto out_noinfo;
	/* The searches read through access_mem, which may move the regions. */
	r = *found;
	t = &r.f->t;
	vaddr = ip - r.bias;
	if (vaddr < t->lo || vaddr >= t->hi)
		goto out_noinfo;
	file__get(ctx->u, r.f);
	memset(&di, 0, sizeof(di));
	di.start_ip = r.bias + t->lo;
	di.end_ip = r.bias + t->hi;
	if (t->has_eh) {
		di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
		di.u.rti.segbase = r.bias + t->eh_hdr_vaddr;
		di.u.rti.table_data = r.bias + t->eh_table_vaddr;
		di.u.rti.table_len = t->eh_fde_count * 8 / sizeof(unw_word_t);
		ret = dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
	}
	if (ret == -UNW_ENOINFO && t->dbg.image && r.f->slot) {
		uint64_t base = SYNTH_BASE + ((uint64_t)(r.f->slot - 1) << SYNTH_SHIFT);

		/* Table pcs are relative to start_ip; FDE pcs are ELF addresses. */
		di.format = UNW_INFO_FORMAT_IP_OFFSET;
		di.start_ip = r.bias + t->dbg.base;
		di.load_offset = r.bias;
		di.u.rti.segbase = base;
		di.u.rti.table_data = base + t->dbg.table_off;
		di.u.rti.table_len = t->dbg.fde_count * 8 / sizeof(unw_word_t);
		ret = dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
	}
	file__put(ctx->u, r.f);
	if (ret != -UNW_ENOINFO)
		return ret;
out_noinfo:
	ctx->noinfo = true;
	ctx->u->stats.no_info++;
	return -UNW_ENOINFO;
}

/* ---- register-state rows --------------------------------------------- */

/*
 * libunwind's own cache of register states takes a lock and blocks signals
 * (two system calls) on every step. The unwinder keeps its own instead: the
 * rows of each function seen (unw_reg_states_iterate), per process since a
 * row may hold addresses of the process's CFI expressions, and moves a cursor
 * from one frame to the next with unw_apply_reg_state, which takes no lock.
 */
static const struct uw_row *rows__find(const struct uw_proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->n_rows;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->rows[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < p->n_rows && p->rows[lo].start <= addr)
		return &p->rows[lo];
	return NULL;
}

static void rows__clear(struct unwinder *u, struct uw_proc *p)
{
	free(p->rows);
	free(p->blobs);
	p->rows = NULL;
	p->blobs = NULL;
	p->n_rows = p->cap_rows = 0;
	p->blob_len = p->blob_cap = 0;
	proc__account(u, p);
}

/* unw_reg_states_iterate's callback: collects one function's rows. */
static int collect_row(void *token, void *rs, size_t size, unw_word_t start, unw_word_t end)
{
	struct uw_collect *c = token;
	struct uw_row *row;

	if (!size || size > UW_RS_MAX || end <= start)
		return -UNW_EINVAL;
	if (c->n == UW_FUNC_ROWS) {
		/* A function this large keeps what it has, and the row being looked for. */
		if (c->lookup < start || c->lookup >= end)
			return 0;
		c->n--;
	}
	row = &c->rows[c->n];
	row->start = start;
	row->end = end;
	row->sig = 0;
	memcpy(c->blobs + c->n * UW_RS_MAX, rs, size);
	c->size = size;
	c->n++;
	return 0;
}

/* Adds the collected rows of one function to @p's sorted rows. 0 or -ENOMEM. */
static int rows__insert(struct unwinder *u, struct uw_proc *p, const struct uw_collect *c)
{
	size_t i, j, add = c->n * c->size;

	/* Rows replaced by newer ones leave their bytes behind: count bytes, not rows. */
	if (p->n_rows + c->n > UW_PROC_ROWS || p->blob_len + add > UW_PROC_ROWS * c->size)
		rows__clear(u, p);
	if (p->n_rows + c->n > p->cap_rows) {
		size_t cap = p->cap_rows ? p->cap_rows * 2 : 256;
		struct uw_row *v;

		while (cap < p->n_rows + c->n)
			cap *= 2;
		v = realloc(p->rows, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->rows = v;
		p->cap_rows = cap;
	}
	if (p->blob_len + c->n * c->size > p->blob_cap) {
		size_t cap = p->blob_cap ? p->blob_cap * 2 : 64 * c->size;
		uint8_t *v;

		while (cap < p->blob_len + c->n * c->size)
			cap *= 2;
		v = realloc(p->blobs, cap);
		if (!v)
			return -ENOMEM;
		p->blobs = v;
		p->blob_cap = cap;
	}
	for (size_t k = 0; k < c->n; k++) {
		struct uw_row r = c->rows[k];

		/* Rows a newer read of the CFI overlaps are dropped. */
		for (i = 0; i < p->n_rows && p->rows[i].end <= r.start; i++)
			;
		for (j = i; j < p->n_rows && p->rows[j].start < r.end; j++)
			;
		r.off = p->blob_len;
		memcpy(p->blobs + p->blob_len, c->blobs + k * UW_RS_MAX, c->size);
		p->blob_len += c->size;
		memmove(&p->rows[i + 1], &p->rows[j], (p->n_rows - j) * sizeof(*p->rows));
		p->n_rows = p->n_rows + 1 - (j - i);
		p->rows[i] = r;
	}
	proc__account(u, p);
	return 0;
}

/* x86-64 Linux's signal return trampoline: mov $15,%rax; syscall. */
static bool is_sigreturn(struct uw_ctx *ctx, uint64_t pc)
{
	static const uint8_t code[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
	unw_word_t w[3];
	uint64_t base = pc & ~7ull;

	for (int i = 0; i < 3; i++)
		if (access_mem(NULL, base + 8 * i, &w[i], 0, ctx))
			return false;
	return !memcmp((uint8_t *)w + (pc - base), code, sizeof(code));
}

/*
 * The row of the function at @lookup (the frame's pc, less one for a return
 * address), read from the CFI on first use. NULL when there is none:
 * ctx->noinfo says whether the code has no CFI at all.
 */
static const struct uw_row *row__get(struct uw_ctx *ctx, uint64_t lookup, uint64_t pc)
{
	struct uw_proc *p = ctx->proc;
	struct uw_collect *c = &ctx->u->collect;
	struct uw_ctx sctx = *ctx;
	const struct uw_row *row = rows__find(p, lookup);
	unw_cursor_t scratch;
	int ret;

	if (row)
		return row;
	/* A cursor at exactly @lookup, so libunwind finds the function containing it. */
	sctx.ip = lookup;
	sctx.last = NULL;
	c->n = 0;
	c->lookup = lookup;
	ret = unw_init_remote(&scratch, ctx->u->as, &sctx);
	if (!ret)
		ret = unw_reg_states_iterate(&scratch, collect_row, c);
	ctx->noinfo = sctx.noinfo;
	ctx->beyond |= sctx.beyond;
	if (sctx.err)
		ctx->err = sctx.err;
	if (ret < 0 || !c->n)
		return NULL;
	for (size_t k = 0; k < c->n; k++)
		if (c->rows[k].start <= lookup && lookup < c->rows[k].end)
			c->rows[k].sig = is_sigreturn(ctx, pc);
	if (rows__insert(ctx->u, p, c)) {
		ctx->err = -ENOMEM;
		return NULL;
	}
	return rows__find(p, lookup);
}

/* ---- the walk ---------------------------------------------------------- */

static bool push(struct unwinder_stack *out, uint64_t pc, uint8_t flags)
{
	if (out->n == out->max) {
		out->end = UNWINDER_END_TRUNCATED;
		return false;
	}
	out->pcs[out->n] = pc;
	out->flags[out->n++] = flags;
	return true;
}

/*
 * One step through the frame pointer, for a frame without CFI: @bp must point
 * into the snapshot, above @sp, at the saved (bp, return address) pair. Sets
 * the next frame's registers in @ctx and its return address in @ret.
 * 0, or the end to report.
 */
static int fp_step(struct uw_ctx *ctx, uint64_t sp, uint64_t bp, uint64_t *ret)
{
	const struct unwinder_sample *in = ctx->in;
	uint64_t end = in->sp + in->stack_len, next_bp;

	if (bp & 7 || bp < sp || bp < in->sp)
		return UNWINDER_END_ERROR;
	if (end < 16 || bp > end - 16) {
		if (in->stack_full && bp >= end - 16 && bp - end < STACK_SLACK)
			return UNWINDER_END_TRUNCATED;
		return UNWINDER_END_ERROR;
	}
	memcpy(&next_bp, in->stack + (bp - in->sp), 8);
	memcpy(ret, in->stack + (bp - in->sp) + 8, 8);
	if (!*ret)
		return UNWINDER_END_ERROR;
	/* libunwind starts the next frame as a leaf: give it the call's address. */
	ctx->ip = *ret - 1;
	ctx->sp = bp + 16;
	ctx->bp = next_bp;
	return 0;
}

/*
 * Walks from the sample's registers. Each frame's row moves the cursor to its
 * caller; a frame with no CFI is left through its frame pointer, after which
 * the cursor starts over from the registers that step found.
 */
static void walk(struct unwinder *u, struct uw_ctx *ctx, struct unwinder_stack *out)
{
	unw_cursor_t cur;
	uint64_t pc, sp, nsp, bp, override = 0, ret_addr;
	uint8_t flags = UNWINDER_FRAME_EXACT;
	const struct uw_row *row;
	int r;

	if (unw_init_remote(&cur, u->as, ctx) < 0) {
		push(out, ctx->ip, flags);
		out->end = UNWINDER_END_ERROR;
		return;
	}
	for (;;) {
		if (override) {
			pc = override;
			override = 0;
		} else if (unw_get_reg(&cur, UNW_REG_IP, &pc) < 0 || !pc) {
			out->end = out->n ? UNWINDER_END_OUTERMOST : UNWINDER_END_ERROR;
			return;
		}
		if (!push(out, pc, flags))
			return;
		if (unw_get_reg(&cur, UNW_REG_SP, &sp) < 0) {
			out->end = UNWINDER_END_ERROR;
			return;
		}
		ctx->noinfo = false;
		ctx->beyond = false;
		row = row__get(ctx, flags & UNWINDER_FRAME_EXACT ? pc : pc - 1, pc);
		if (ctx->err) {
			out->end = UNWINDER_END_ERROR;
			return;
		}
		if (!row && ctx->noinfo) {
			/* No CFI here: through the frame pointer, if it points into the snapshot.
			 */
			if (unw_get_reg(&cur, UNW_TDEP_BP, &bp) < 0)
				bp = 0;
			r = fp_step(ctx, sp, bp, &ret_addr);
			if (!r && unw_init_remote(&cur, u->as, ctx) < 0)
				r = UNWINDER_END_ERROR;
			if (r) {
				out->end = r;
				return;
			}
			u->stats.fp_steps++;
			override = ret_addr;
			flags = UNWINDER_FRAME_FP;
			continue;
		}
		if (!row) {
			out->end = ctx->beyond ? UNWINDER_END_TRUNCATED : UNWINDER_END_ERROR;
			return;
		}
		r = unw_apply_reg_state(&cur, ctx->proc->blobs + row->off);
		if (r == 0) {
			out->end = UNWINDER_END_OUTERMOST; /* the return address is undefined */
			return;
		}
		if (r < 0) {
			out->end = ctx->beyond ? UNWINDER_END_TRUNCATED : UNWINDER_END_ERROR;
			return;
		}
		if (row->sig) {
			/*
			 * A signal trampoline: the handler returned to its first
			 * instruction, and the next frame was interrupted, not
			 * calling. Both addresses are exact.
			 */
			out->flags[out->n - 1] |= UNWINDER_FRAME_EXACT;
			flags = UNWINDER_FRAME_EXACT;
			continue;
		}
		flags = 0;
		/* The stack grows down: a caller's frame is above its callee's. */
		if (unw_get_reg(&cur, UNW_REG_SP, &nsp) < 0 || nsp <= sp) {
			out->end = UNWINDER_END_ERROR;
			return;
		}
	}
}

/*
 * Brings the unwinder within its budget: read pages of mapped files go back
 * first (they come back from the page cache), then, least recently used
 * first, processes' rows, idle files and processes, down to three quarters
 * of the budget so that the next samples do not start it all over. @keep
 * (the process just unwound) is spared.
 */
static void unwinder__enforce(struct unwinder *u, struct uw_proc *keep)
{
	size_t target = u->opts.max_bytes / 4 * 3;
	struct uw_proc *p, *next;
	struct uw_file *f;

	if (unwinder__memory(u) <= u->opts.max_bytes)
		return;
	for (f = u->files; f; f = f->next)
		file__drop_pages(u, f);
	for (p = u->lru_head; p && unwinder__memory(u) > target; p = p->lru_next) {
		if (p == keep || !p->rows)
			continue;
		rows__clear(u, p);
		u->stats.rows_dropped++;
	}
	for (p = u->lru_head; p && unwinder__memory(u) > target; p = next) {
		next = p->lru_next;
		while (u->idle_head && unwinder__memory(u) > target) {
			f = u->idle_head;
			idle_unlink(u, f);
			file__destroy(u, f);
			u->stats.files_closed++;
		}
		if (p == keep || unwinder__memory(u) <= target)
			continue;
		proc__destroy(u, p);
		u->stats.procs_dropped++;
	}
}

int unwinder__unwind(struct unwinder *u, const struct unwinder_sample *in,
		     struct unwinder_stack *out)
{
	struct uw_ctx ctx = {
		.u = u,
		.in = in,
		.ip = in->ip,
		.sp = in->sp,
		.bp = in->bp,
	};

	out->n = 0;
	out->end = UNWINDER_END_ERROR;
	if (!out->max)
		return 0;

	ctx.proc = proc__get(u, in->pid);
	if (!ctx.proc)
		return -ENOMEM;
	walk(u, &ctx, out);
	unwinder__enforce(u, ctx.proc);
	u->stats.samples++;
	u->stats.frames += out->n;
	if (out->end == UNWINDER_END_OUTERMOST)
		u->stats.outermost++;
	else if (out->end == UNWINDER_END_TRUNCATED)
		u->stats.truncated++;
	else
		u->stats.errors++;
	return ctx.err;
}

void unwinder__forget(struct unwinder *u, uint32_t pid)
{
	struct uw_proc *p = proc__find(u, pid);

	if (p)
		proc__destroy(u, p);
}

void unwinder__stats(const struct unwinder *u, struct unwinder_stats *out)
{
	*out = u->stats;
	out->memory = unwinder__memory(u);
	out->max_bytes = u->opts.max_bytes;
}

struct unwinder *unwinder__new(struct symbolizer *sym, const struct unwinder_opts *opts)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->sym = sym;
	if (opts)
		u->opts = *opts;
	if (!u->opts.max_procs)
		u->opts.max_procs = DEFAULT_MAX_PROCS;
	if (!u->opts.max_files)
		u->opts.max_files = DEFAULT_MAX_FILES;
	if (!u->opts.max_bytes)
		u->opts.max_bytes = sym ? symbolizer__max_bytes(sym) / 4 : 0;
	if (u->opts.max_bytes < UW_MIN_BYTES)
		u->opts.max_bytes = UW_MIN_BYTES;
	u->acc.find_proc_info = find_proc_info;
	u->acc.put_unwind_info = put_unwind_info;
	u->acc.get_dyn_info_list_addr = get_dyn_info_list_addr;
	u->acc.access_mem = access_mem;
	u->acc.access_reg = access_reg;
	u->acc.access_fpreg = access_fpreg;
	u->acc.resume = resume;
	u->acc.get_proc_name = get_proc_name;
	u->as = unw_create_addr_space(&u->acc, 0);
	if (!u->as) {
		free(u);
		errno = ENOMEM;
		return NULL;
	}
	/* Its cache serves unw_step, which is never called: no state kept per address. */
	unw_set_caching_policy(u->as, UNW_CACHE_NONE);
	return u;
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	while (u->lru_head)
		proc__destroy(u, u->lru_head);
	while (u->files)
		file__destroy(u, u->files);
	if (u->as)
		unw_destroy_addr_space(u->as);
	free(u->buckets);
	free(u->slots);
	free(u);
}

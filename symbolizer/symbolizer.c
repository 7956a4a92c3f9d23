/*
 * The symbolizer: kernel and user addresses -> frames of a profile.
 *
 * Kernel addresses go through the kallsyms table loaded at creation.
 *
 * User addresses go through the process's mappings, then the mapped file.
 *
 * Processes. Each pid has a list of generations, newest first: one per
 * program it ran (a new one at exec, or when its start time shows the pid
 * was reused). A generation's mappings come from <proc_root>/PID/maps, read
 * when first needed, or from process events (mmap, fork, exec, exit) when
 * the caller feeds them; a generation followed from birth by events is
 * "complete" and never needs /proc, so a process that lived between two
 * drains is still named. Ended generations (exec'ed away, exited) are kept
 * until symbolizer__window_done, and an address the newest generation does
 * not map is looked up in the older ones: samples carry only a pid.
 *
 * Files. A cache keyed by device+inode (the path when there is none) holds
 * objects (obj.c), themselves shared by build-id, so a container's copy of
 * libc and the host's are read once. Files open through the process's root
 * (containers), then map_files (deleted or replaced files), then the plain
 * path. File entries are an LRU bounded by sym_options.max_files; a file
 * that cannot be read is remembered for a while rather than retried per
 * address.
 *
 * Memory. Mappings refer to files by key only, and files to objects, so an
 * object can be closed while processes still map its file: the next address
 * in it opens the file again (through the process while it lives, else the
 * path). Objects are an LRU bounded in bytes by sym_options.max_bytes: past
 * it, the least recently used objects are closed. The object in use is kept
 * until its lookup is done, so one object may exceed the budget while a
 * lookup lasts; the next object opened, or symbolizer__window_done, enforces
 * it strictly. A lookup that finds its file open costs one list move more
 * than without a budget.
 *
 * Naming of what has no symbol (DESIGN: never a bare "[unknown]" when the
 * module is known):
 *   user, in a file with no symbol there   "[libc.so.6]", module libc.so.6
 *   user, special mapping                  "[vdso]", module "[vdso]"
 *   user, JIT code in a perf map           its name, kind JIT, module "[jit]"
 *   user, anonymous memory or no mapping   "[unknown]", no module
 *   kernel, no kallsyms symbol             "[kernel.kallsyms]", module the same
 *
 * Not thread-safe: one thread drives a symbolizer.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

#include "ember/log.h"
#include "ember/profile.h"
#include "ember/symbolizer.h"
#include "sym_int.h"

#define SYM_DEFAULT_MAX_FILES 256
/* A mapping miss re-reads the maps again only after this long. */
#define SYM_MISS_REFRESH_NS 1000000000ull
/* A file that could not be read is tried again after this long. */
#define SYM_FAILED_RETRY_NS 10000000000ull
/* A JIT map is read again on a miss at most this often. */
#define SYM_PERFMAP_REFRESH_NS 100000000ull
/* Tries to read stat, maps, stat without the process changing under us. */
#define SYM_SNAPSHOT_TRIES 3
/* Kernel addresses remembered (direct-mapped): hot kernel paths repeat. */
#define SYM_KCACHE_SIZE 65536
/*
 * Profile string ids of the function and file names last interned, by the
 * address of the object's (or kallsyms') string (direct-mapped): the many
 * addresses of one function skip hashing its name into the profile again.
 */
#define SYM_NAME_MEMO_SIZE 16384
/*
 * The largest share of the budget one file's DWARF may take when opened: an
 * eighth, so that a working set of files fits beside it (ld.so's debug info
 * alone is 1 MiB, 2 MiB once walked, and every new process runs it).
 */
#define SYM_DWARF_SHARE 8
/* Frames one address may expand to (inline chain). */
#define SYM_MAX_CHAIN 64

#define SYM_KERNEL_MODULE "[kernel.kallsyms]"
#define SYM_UNKNOWN	  "[unknown]"
#define SYM_JIT_MODULE	  "[jit]"

/* ---- a small chained hash table of intrusive nodes --------------------- */

struct hnode {
	struct hnode *next;
	uint64_t hash;
};

struct htab {
	struct hnode **b;
	size_t nb, n; /* nb is zero or a power of two */
};

static uint64_t hash_u64(uint64_t x)
{
	/* splitmix64's finalizer */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	while (len--) {
		h ^= *s++;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Makes room for one more node (load factor at most 1); 0 or -ENOMEM. */
static int htab__reserve(struct htab *t)
{
	struct hnode **b;
	size_t i, nb;

	if (t->n < t->nb)
		return 0;
	nb = t->nb ? t->nb * 2 : 64;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (i = 0; i < t->nb; i++) {
		struct hnode *n = t->b[i], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
	return 0;
}

/* Adds @n; the caller has called htab__reserve. */
static void htab__add(struct htab *t, struct hnode *n)
{
	struct hnode **head = &t->b[n->hash & (t->nb - 1)];

	n->next = *head;
	*head = n;
	t->n++;
}

/* First node of the chain @hash falls in; the caller compares keys. */
static struct hnode *htab__chain(const struct htab *t, uint64_t hash)
{
	return t->nb ? t->b[hash & (t->nb - 1)] : NULL;
}

static void htab__del(struct htab *t, struct hnode *n)
{
	struct hnode **pp = &t->b[n->hash & (t->nb - 1)];

	while (*pp != n)
		pp = &(*pp)->next;
	*pp = n->next;
	t->n--;
}

/* ---- entries ----------------------------------------------------------- */

/* An object shared by every file with its build-id. */
struct sym_shared {
	struct hnode node; /* hash of the build-id; 0-length ids are not shared */
	struct sym_obj *obj;
	size_t refs;			/* files pointing here */
	struct sym_file *files;		/* those files, through sym_file.sh_next */
	struct sym_shared *prev, *next; /* LRU of objects, most recent at the tail */
	size_t bytes;			/* sym_obj__memory when last accounted */
	char *name;			/* the path it was first opened for (logs) */
	bool in_table;
};

/* A file: (dev, inode) or path -> object. The hash node comes first. */
struct sym_file {
	struct hnode node;
	struct sym_file *prev, *next; /* LRU, most recent at the tail */
	struct sym_file *sh_next;     /* the other files of the same object */
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	char *path;		   /* the key when inode == 0, else NULL */
	struct sym_shared *shared; /* NULL: could not be read */
	uint64_t failed_ns;	   /* when it could not be read */
};

/* One program a pid ran. */
struct sym_gen {
	struct sym_gen *older;
	struct sym_maps maps;
	size_t maps_cap;
	uint64_t start_time; /* field 22 of stat; 0 = unknown */
	uint64_t tried_ns;   /* CLOCK_MONOTONIC time of the last /proc read */
	bool full;	     /* the maps describe the whole program */
	bool complete;	     /* followed by events from birth: /proc is never needed */
	bool miss_refreshed; /* a mapping miss already re-read /proc */
	bool ended;	     /* exec'ed away or exited */
	struct sym_perfmap *perfmap;
	uint64_t perfmap_ns; /* last read of the perf map */
	uint32_t nspid;	     /* the pid inside its pid namespace; 0 = not read */
};

struct sym_proc {
	struct hnode node;
	uint32_t pid;
	struct sym_gen *gen; /* newest; never NULL while in the table */
};

struct symbolizer {
	char *proc_root;
	char *perf_map_dir;
	struct sym_options opts;
	const char **debug_dirs; /* owned copy of opts.debug_dirs */
	struct sym_ksyms *ksyms;
	/*
	 * SYM_KCACHE_SIZE entries, allocated with the table: a hit names the
	 * address without reading the symbol table (two cache misses fewer).
	 */
	struct kcache_ent {
		uint64_t addr;
		const char *name;   /* in the table's arena; NULL = empty */
		const char *module; /* ditto; NULL for the core kernel */
	} * kcache;
	struct htab procs;		      /* pid -> struct sym_proc */
	struct htab files;		      /* (dev, inode) or path -> struct sym_file */
	struct htab shared;		      /* build-id -> struct sym_shared */
	struct sym_file *lru_head, *lru_tail; /* least recently used at the head */
	size_t n_files;
	struct sym_shared *obj_head, *obj_tail; /* objects, least recently used at the head */
	uint64_t memory;			/* sum of their bytes */
	bool events;				/* fed process events */
	struct sym_obj *vdso;
	uint64_t vdso_size;
	bool vdso_tried;
	struct sym_stats stats;
	/* The last module interned: consecutive frames repeat it. */
	struct {
		const struct profile *p;
		const char *src;
		uint32_t id;
	} memo;
	/*
	 * SYM_NAME_MEMO_SIZE entries, allocated on first use. An entry holds
	 * while its profile (by serial) lives and no object was freed since
	 * (names_epoch): only then can another string take its address.
	 */
	struct name_memo {
		const char *src;
		uint64_t serial;
		uint32_t epoch;
		uint32_t id;
	} * names;
	uint32_t names_epoch;
	char path[PATH_MAX + 64]; /* sym_mapping.path, until the next call */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Writes "<proc_root>/<pid>/<what>" into @buf; 0 or -ENAMETOOLONG. */
static int symbolizer__proc_path(const struct symbolizer *s, char *buf, size_t size, uint32_t pid,
				 const char *what)
{
	int n = snprintf(buf, size, "%s/%" PRIu32 "/%s", s->proc_root, pid, what);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* ---- files ------------------------------------------------------------- */

static uint64_t file_key_hash(const struct sym_map *m)
{
	if (!m->inode)
		return hash_bytes(m->path, strlen(m->path));
	return hash_u64(m->inode ^ hash_u64(((uint64_t)m->dev_major << 32) | m->dev_minor));
}

static bool file_key_eq(const struct sym_file *f, const struct sym_map *m)
{
	if (!m->inode)
		return f->path && !strcmp(f->path, m->path);
	return !f->path && f->inode == m->inode && f->dev_major == m->dev_major &&
	       f->dev_minor == m->dev_minor;
}

static void symbolizer__obj_unlink(struct symbolizer *s, struct sym_shared *sh)
{
	if (!sh->prev && s->obj_head != sh)
		return; /* not linked */
	if (sh->prev)
		sh->prev->next = sh->next;
	else
		s->obj_head = sh->next;
	if (sh->next)
		sh->next->prev = sh->prev;
	else
		s->obj_tail = sh->prev;
	sh->prev = sh->next = NULL;
}

/* Makes @sh the most recently used object. */
static void symbolizer__obj_touch(struct symbolizer *s, struct sym_shared *sh)
{
	if (s->obj_tail == sh)
		return;
	symbolizer__obj_unlink(s, sh);
	sh->prev = s->obj_tail;
	if (s->obj_tail)
		s->obj_tail->next = sh;
	else
		s->obj_head = sh;
	s->obj_tail = sh;
}

/* Brings s->memory up to date with what @sh holds now. */
static void symbolizer__account(struct symbolizer *s, struct sym_shared *sh)
{
	size_t now = sym_obj__memory(sh->obj);

	s->memory = s->memory - sh->bytes + now;
	sh->bytes = now;
}

static void symbolizer__shared_put(struct symbolizer *s, struct sym_shared *sh, struct sym_file *f)
{
	struct sym_file **pp;

	if (!sh)
		return;
	for (pp = &sh->files; *pp; pp = &(*pp)->sh_next) {
		if (*pp == f) {
			*pp = f->sh_next;
			break;
		}
	}
	if (--sh->refs)
		return;
	symbolizer__obj_unlink(s, sh);
	s->memory -= sh->bytes;
	if (sh->in_table)
		htab__del(&s->shared, &sh->node);
	if (sym_obj__has_dwarf(sh->obj))
		s->stats.dwarf_files--;
	s->stats.objects--;
	s->names_epoch++; /* its strings' addresses may be reused */
	sym_obj__free(sh->obj);
	free(sh->name);
	free(sh);
}

static void symbolizer__lru_unlink(struct symbolizer *s, struct sym_file *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		s->lru_head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		s->lru_tail = f->prev;
	f->prev = f->next = NULL;
}

static void symbolizer__lru_append(struct symbolizer *s, struct sym_file *f)
{
	f->prev = s->lru_tail;
	f->next = NULL;
	if (s->lru_tail)
		s->lru_tail->next = f;
	else
		s->lru_head = f;
	s->lru_tail = f;
}

static void symbolizer__file_destroy(struct symbolizer *s, struct sym_file *f)
{
	symbolizer__lru_unlink(s, f);
	htab__del(&s->files, &f->node);
	if (f->shared)
		s->stats.files--;
	symbolizer__shared_put(s, f->shared, f);
	free(f->path);
	free(f);
	s->n_files--;
}

/*
 * Writes candidate @i of the paths to file mapping @m of @pid into @buf:
 * 0 the process's root (not for deleted files, whose path may name a newer
 * file by now), 1 map_files, 2 the plain path. 0, or -ENOENT when candidate
 * @i does not apply.
 */
static int symbolizer__candidate(const struct symbolizer *s, uint32_t pid, const struct sym_map *m,
				 int i, char *buf, size_t size)
{
	int n;

	switch (i) {
	case 0:
		if (m->deleted)
			return -ENOENT;
		n = snprintf(buf, size, "%s/%" PRIu32 "/root%s", s->proc_root, pid, m->path);
		break;
	case 1:
		n = snprintf(buf, size, "%s/%" PRIu32 "/map_files/%" PRIx64 "-%" PRIx64,
			     s->proc_root, pid, m->start, m->end);
		break;
	case 2:
		if (m->deleted)
			return -ENOENT;
		n = snprintf(buf, size, "%s", m->path);
		break;
	default:
		return -ENOENT;
	}
	return n < 0 || (size_t)n >= size ? -ENOENT : 0;
}

static void symbolizer__enforce(struct symbolizer *s, struct sym_shared *keep);

/*
 * Reads the file behind mapping @m of @pid into a shared object (found by
 * build-id, or new). NULL when it cannot be read (errno ENOMEM: out of
 * memory).
 */
static struct sym_shared *symbolizer__open_shared(struct symbolizer *s, uint32_t pid,
						  const struct sym_map *m)
{
	struct sym_obj_opts oo = {
		.debug = {.debug_dirs = s->debug_dirs, .debuginfod = s->opts.debuginfod},
	};
	struct sym_elf_info info;
	struct sym_shared *sh;
	struct hnode *n;
	uint64_t hash;
	Elf *elf = NULL;
	int fd = -1, i;

	for (i = 0; i < 3; i++) {
		if (symbolizer__candidate(s, pid, m, i, s->path, sizeof(s->path)))
			continue;
		if (!sym_elf__begin(s->path, &fd, &elf))
			break;
	}
	if (i == 3) {
		errno = ENOENT;
		return NULL;
	}
	if (sym_elf__info(elf, &info)) {
		elf_end(elf);
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	hash = hash_bytes(info.build_id, info.build_id_len);
	for (n = htab__chain(&s->shared, hash); info.build_id_len && n; n = n->next) {
		const struct sym_elf_info *oi;

		sh = (struct sym_shared *)n;
		oi = sym_obj__info(sh->obj);
		if (n->hash == hash && oi->build_id_len == info.build_id_len &&
		    !memcmp(oi->build_id, info.build_id, info.build_id_len)) {
			elf_end(elf);
			close(fd);
			sh->refs++;
			return sh;
		}
	}
	sh = calloc(1, sizeof(*sh));
	if (!sh || htab__reserve(&s->shared)) {
		free(sh);
		elf_end(elf);
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	/* The object used last may be over the budget: room first. */
	symbolizer__enforce(s, NULL);
	/* The debuglink is searched beside the file as the process sees it. */
	oo.bin_path = i == 1 ? m->path : s->path;
	oo.no_dwarf = s->opts.no_dwarf;
	oo.max_dwarf_bytes = s->opts.max_bytes / SYM_DWARF_SHARE;
	sh->obj = sym_obj__new(fd, elf, &oo);
	if (!sh->obj) {
		int err = errno;

		free(sh);
		errno = err;
		return NULL;
	}
	sh->refs = 1;
	sh->name = strdup(m->path); /* for logs: NULL is fine */
	s->stats.objects++;
	if (sym_obj__has_dwarf(sh->obj))
		s->stats.dwarf_files++;
	if (sym_obj__dwarf_too_big(sh->obj))
		s->stats.dwarf_too_big++;
	symbolizer__obj_touch(s, sh);
	symbolizer__account(s, sh);
	if (info.build_id_len) {
		sh->node.hash = hash;
		sh->in_table = true;
		htab__add(&s->shared, &sh->node);
	}
	return sh;
}

/*
 * The object of file mapping @m of @pid, from the cache or opened, made the
 * most recently used; NULL when the file cannot be read. *@err receives
 * -ENOMEM when out of memory. Call symbolizer__done after using it.
 */
static struct sym_shared *symbolizer__file_obj(struct symbolizer *s, uint32_t pid,
					       const struct sym_map *m, int *err)
{
	uint64_t hash = file_key_hash(m), t;
	struct sym_file *f = NULL;
	struct hnode *n;

	*err = 0;
	for (n = htab__chain(&s->files, hash); n; n = n->next) {
		if (n->hash == hash && file_key_eq((struct sym_file *)n, m)) {
			f = (struct sym_file *)n;
			break;
		}
	}
	if (f) {
		symbolizer__lru_unlink(s, f);
		symbolizer__lru_append(s, f);
		if (f->shared) {
			s->stats.file_hits++;
			symbolizer__obj_touch(s, f->shared);
			return f->shared;
		}
		t = now_ns();
		if (t - f->failed_ns < SYM_FAILED_RETRY_NS) {
			s->stats.file_hits++;
			return NULL;
		}
	} else {
		if (htab__reserve(&s->files)) {
			*err = -ENOMEM;
			return NULL;
		}
		f = calloc(1, sizeof(*f));
		if (!f || (!m->inode && !(f->path = strdup(m->path)))) {
			free(f);
			*err = -ENOMEM;
			return NULL;
		}
		f->node.hash = hash;
		f->inode = m->inode;
		f->dev_major = m->dev_major;
		f->dev_minor = m->dev_minor;
		htab__add(&s->files, &f->node);
		symbolizer__lru_append(s, f);
		s->n_files++;
	}
	s->stats.file_misses++;
	f->shared = symbolizer__open_shared(s, pid, m);
	if (!f->shared) {
		if (errno == ENOMEM)
			*err = -ENOMEM;
		f->failed_ns = now_ns();
		pr_debug("symbolizer: cannot read symbols of %s (pid %" PRIu32 ")", m->path, pid);
	} else {
		s->stats.files++;
		f->sh_next = f->shared->files;
		f->shared->files = f;
		symbolizer__obj_touch(s, f->shared); /* also when shared by build-id */
	}
	/* Beyond the cap, close the least recently used (never @f, at the tail). */
	while (s->n_files > s->opts.max_files && s->lru_head != f) {
		symbolizer__file_destroy(s, s->lru_head);
		s->stats.file_evictions++;
	}
	return f->shared;
}

/* Closes object @sh: every file entry pointing to it goes, and with the last, @sh. */
static void symbolizer__evict(struct symbolizer *s, struct sym_shared *sh)
{
	pr_debug("symbolizer: closing %s (%zu KiB) to stay within %" PRIu64 " KiB",
		 sh->name ? sh->name : "a file", sh->bytes >> 10, s->opts.max_bytes >> 10);
	s->stats.budget_evictions++;
	s->memory -= sh->bytes;
	sh->bytes = 0;
	while (sh->refs > 1)
		symbolizer__file_destroy(s, sh->files);
	symbolizer__file_destroy(s, sh->files);
}

/*
 * Closes the least recently used objects until the rest fit in the budget;
 * @keep (the object in use, or NULL) stays even when it alone is over.
 */
static void symbolizer__enforce(struct symbolizer *s, struct sym_shared *keep)
{
	struct sym_shared *sh = s->obj_head, *next;

	for (; sh && s->memory > s->opts.max_bytes; sh = next) {
		next = sh->next;
		if (sh != keep)
			symbolizer__evict(s, sh);
	}
}

/* After a lookup in @sh: its growth counted, the budget enforced (sparing @sh). */
static void symbolizer__done(struct symbolizer *s, struct sym_shared *sh)
{
	if (!sh)
		return;
	symbolizer__account(s, sh);
	if (s->memory > s->opts.max_bytes)
		symbolizer__enforce(s, sh);
}

/* ---- processes and generations ----------------------------------------- */

static void gen__free(struct sym_gen *g)
{
	sym_maps__clear(&g->maps);
	sym_perfmap__free(g->perfmap);
	free(g);
}

static struct sym_proc *symbolizer__proc_find(const struct symbolizer *s, uint32_t pid)
{
	uint64_t hash = hash_u64(pid);
	struct hnode *n;

	for (n = htab__chain(&s->procs, hash); n; n = n->next) {
		struct sym_proc *proc = (struct sym_proc *)n;

		if (proc->pid == pid)
			return proc;
	}
	return NULL;
}

/* Starts a new generation of @pid (a new process entry when needed); NULL on ENOMEM. */
static struct sym_gen *symbolizer__new_gen(struct symbolizer *s, uint32_t pid)
{
	struct sym_proc *proc = symbolizer__proc_find(s, pid);
	struct sym_gen *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	if (!proc) {
		if (htab__reserve(&s->procs))
			goto out_free;
		proc = calloc(1, sizeof(*proc));
		if (!proc)
			goto out_free;
		proc->pid = pid;
		proc->node.hash = hash_u64(pid);
		htab__add(&s->procs, &proc->node);
		s->stats.processes++;
	} else {
		proc->gen->ended = true;
	}
	g->older = proc->gen;
	proc->gen = g;
	s->stats.generations++;
	return g;

out_free:
	free(g);
	return NULL;
}

static void symbolizer__proc_destroy(struct symbolizer *s, struct sym_proc *proc)
{
	struct sym_gen *g, *older;

	for (g = proc->gen; g; g = older) {
		older = g->older;
		gen__free(g);
		s->stats.generations--;
	}
	htab__del(&s->procs, &proc->node);
	s->stats.processes--;
	free(proc);
}

/*
 * Reads the start time (field 22) from stat text. The command name (field 2)
 * may hold spaces and ')', so fields are counted from the last ')'.
 * 0 or -EINVAL.
 */
static int stat__parse_start_time(FILE *f, uint64_t *out)
{
	char buf[4096], *p, *end;
	size_t len;
	int field;

	len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p++;
	/* After ')' comes field 3 (state); field 22 is the 20th from there. */
	for (field = 3; field < 22; field++) {
		p += strspn(p, " ");
		p += strcspn(p, " \n");
		if (!*p)
			return -EINVAL;
	}
	p += strspn(p, " ");
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(p, &end, 10);
	if (errno || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -EINVAL;
	return 0;
}

static int symbolizer__read_start_time(const struct symbolizer *s, uint32_t pid, uint64_t *out)
{
	char path[PATH_MAX];
	FILE *f;
	int err;

	err = symbolizer__proc_path(s, path, sizeof(path), pid, "stat");
	if (err)
		return err;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	err = stat__parse_start_time(f, out);
	fclose(f);
	return err;
}

static int symbolizer__read_maps(const struct symbolizer *s, uint32_t pid, struct sym_maps *out)
{
	char path[PATH_MAX];
	FILE *f;
	int err;

	err = symbolizer__proc_path(s, path, sizeof(path), pid, "maps");
	if (err)
		return err;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	err = sym_maps__parse(f, out);
	fclose(f);
	/* A process exiting while we read leaves an empty or cut file. */
	if (err == -ENOENT)
		return -ESRCH;
	/*
	 * A zombie (exited, not yet reaped) still has a maps file, but an empty
	 * one: it has no mappings left to name, so it counts as gone and the
	 * snapshot taken while it lived is kept.
	 */
	if (!err && out->n == 0)
		return -ESRCH;
	return err;
}

/*
 * Reads @pid's mappings from /proc into its newest generation, or into a
 * new one when the start time shows another process (pid reuse) or there is
 * none. The old maps stay when the process has gone. 0 or -errno (-ESRCH:
 * gone).
 */
static int symbolizer__proc_snapshot(struct symbolizer *s, uint32_t pid)
{
	struct sym_proc *proc = symbolizer__proc_find(s, pid);
	struct sym_maps maps = {0};
	uint64_t st = 0, st2 = 0;
	struct sym_gen *g = proc ? proc->gen : NULL;
	int err = -EAGAIN, tries;

	if (g)
		g->tried_ns = now_ns();
	for (tries = 0; tries < SYM_SNAPSHOT_TRIES && err == -EAGAIN; tries++) {
		err = symbolizer__read_start_time(s, pid, &st);
		if (err)
			return err;
		err = symbolizer__read_maps(s, pid, &maps);
		if (err)
			return err;
		err = symbolizer__read_start_time(s, pid, &st2);
		if (err) {
			sym_maps__clear(&maps);
			return err;
		}
		if (st != st2) {
			/* The pid was reused while we read: these maps may be either's. */
			sym_maps__clear(&maps);
			err = -EAGAIN;
		}
	}
	if (err)
		return err;
	s->stats.proc_reads++;
	/* Another process than the one we know (or an exited one): a new generation. */
	if (!g || (g->start_time && g->start_time != st) || g->ended) {
		if (g && g->start_time == st && g->ended && !g->complete) {
			/* Same process, only thought ended: fall through and refresh. */
			g->ended = false;
		} else {
			if (g && g->start_time != st)
				pr_debug("symbolizer: pid %" PRIu32 " was reused", pid);
			g = symbolizer__new_gen(s, pid);
			if (!g) {
				sym_maps__clear(&maps);
				return -ENOMEM;
			}
		}
	}
	sym_maps__clear(&g->maps);
	g->maps = maps;
	g->maps_cap = maps.n;
	g->start_time = st;
	g->full = true;
	g->miss_refreshed = false;
	g->tried_ns = now_ns();
	return 0;
}

int symbolizer__snapshot(struct symbolizer *s, uint32_t pid)
{
	struct sym_proc *proc = symbolizer__proc_find(s, pid);

	/* Events keep a process followed from birth current; /proc adds nothing. */
	if (s->events && proc && !proc->gen->ended && (proc->gen->complete || proc->gen->full))
		return 0;
	return symbolizer__proc_snapshot(s, pid);
}

void symbolizer__forget(struct symbolizer *s, uint32_t pid)
{
	struct sym_proc *proc = symbolizer__proc_find(s, pid);

	if (proc)
		symbolizer__proc_destroy(s, proc);
}

/* ---- process events ---------------------------------------------------- */

/* The newest generation of @pid, a new incomplete one when there is none. */
static struct sym_gen *symbolizer__gen_get(struct symbolizer *s, uint32_t pid)
{
	struct sym_proc *proc = symbolizer__proc_find(s, pid);

	if (proc && !proc->gen->ended)
		return proc->gen;
	return symbolizer__new_gen(s, pid);
}

/*
 * Puts a copy of @m into the sorted @maps, cutting away what it overlaps
 * (a new mapping replaces the old ones in its range). 0 or -ENOMEM.
 */
static int maps__insert(struct sym_maps *maps, size_t *cap, const struct sym_map *m)
{
	struct sym_map nm = *m, tail = {0};
	size_t i, lo, hi, need;
	bool split = false;
	char *path;

	path = strdup(m->path);
	if (!path)
		return -ENOMEM;
	nm.path = path;
	/* [lo, hi): mappings that overlap the new one. */
	for (lo = 0; lo < maps->n && maps->v[lo].end <= m->start; lo++)
		;
	for (hi = lo; hi < maps->n && maps->v[hi].start < m->end; hi++)
		;
	/* One old mapping around the new one is split in two. */
	if (hi - lo == 1 && maps->v[lo].start < m->start && maps->v[lo].end > m->end) {
		tail = maps->v[lo];
		tail.path = strdup(tail.path);
		if (!tail.path) {
			free(path);
			return -ENOMEM;
		}
		tail.pgoff += m->end - tail.start;
		tail.start = m->end;
		split = true;
	}
	need = maps->n + 2;
	if (need > *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct sym_map *v;

		while (ncap < need)
			ncap *= 2;
		v = reallocarray(maps->v, ncap, sizeof(*v));
		if (!v) {
			free(path);
			free(tail.path);
			return -ENOMEM;
		}
		maps->v = v;
		*cap = ncap;
	}
	/* Trim the first and last overlapped; drop those fully covered. */
	if (lo < hi && maps->v[lo].start < m->start) {
		maps->v[lo].end = m->start;
		lo++;
	}
	if (!split && lo < hi && maps->v[hi - 1].end > m->end) {
		struct sym_map *last = &maps->v[hi - 1];

		last->pgoff += m->end - last->start;
		last->start = m->end;
		hi--;
	}
	for (i = lo; i < hi; i++)
		free(maps->v[i].path);
	/* Replace [lo, hi) by the new mapping (and the split tail). */
	memmove(&maps->v[lo + 1 + split], &maps->v[hi], (maps->n - hi) * sizeof(*maps->v));
	maps->v[lo] = nm;
	if (split)
		maps->v[lo + 1] = tail;
	maps->n = maps->n - (hi - lo) + 1 + split;
	return 0;
}

int symbolizer__mmap(struct symbolizer *s, uint32_t pid, const struct sym_map *m)
{
	struct sym_map copy = *m;
	struct sym_gen *g;

	s->events = true;
	if (m->end <= m->start)
		return 0;
	g = symbolizer__gen_get(s, pid);
	if (!g)
		return -ENOMEM;
	/* The kernel's names for anonymous memory; the maps file shows none. */
	if (!strcmp(copy.path, "//anon") || !strncmp(copy.path, "/dev/zero", 9) ||
	    !strncmp(copy.path, "[anon", 5))
		copy.path = "";
	return maps__insert(&g->maps, &g->maps_cap, &copy);
}

int symbolizer__exec(struct symbolizer *s, uint32_t pid)
{
	struct sym_gen *g;

	s->events = true;
	g = symbolizer__new_gen(s, pid);
	if (!g)
		return -ENOMEM;
	g->full = g->complete = true;
	return 0;
}

int symbolizer__fork(struct symbolizer *s, uint32_t ppid, uint32_t pid)
{
	struct sym_proc *parent = symbolizer__proc_find(s, ppid);
	struct sym_gen *g, *pg = parent ? parent->gen : NULL;
	size_t i;
	int err;

	s->events = true;
	g = symbolizer__new_gen(s, pid);
	if (!g)
		return -ENOMEM;
	if (!pg || !pg->full)
		return 0; /* an unknown parent: /proc is read when needed */
	g->maps.v = calloc(pg->maps.n ? pg->maps.n : 1, sizeof(*g->maps.v));
	if (!g->maps.v)
		return -ENOMEM;
	g->maps_cap = pg->maps.n;
	for (i = 0; i < pg->maps.n; i++) {
		g->maps.v[i] = pg->maps.v[i];
		g->maps.v[i].path = strdup(pg->maps.v[i].path);
		if (!g->maps.v[i].path) {
			err = -ENOMEM;
			g->maps.n = i;
			return err;
		}
		g->maps.n = i + 1;
	}
	g->full = true;
	g->complete = pg->complete;
	return 0;
}

void symbolizer__exit(struct symbolizer *s, uint32_t pid)
{
	struct sym_proc *proc = symbolizer__proc_find(s, pid);

	s->events = true;
	if (proc)
		proc->gen->ended = true;
}

void symbolizer__window_done(struct symbolizer *s)
{
	size_t i;

	/* Between drains the budget holds strictly: the last object used too. */
	symbolizer__enforce(s, NULL);

	for (i = 0; i < s->procs.nb; i++) {
		struct hnode *n = s->procs.b[i], *next;

		for (; n; n = next) {
			struct sym_proc *proc = (struct sym_proc *)n;
			struct sym_gen *g, *older;

			next = n->next;
			if (proc->gen->ended) {
				symbolizer__proc_destroy(s, proc);
				continue;
			}
			for (g = proc->gen->older; g; g = older) {
				older = g->older;
				gen__free(g);
				s->stats.generations--;
			}
			proc->gen->older = NULL;
		}
	}
}

/* ---- user addresses ---------------------------------------------------- */

/*
 * The mapping of @addr for @pid: the newest generation (read from /proc on
 * first sight, and again on a miss when events do not follow it: libraries
 * loaded since, at most every SYM_MISS_REFRESH_NS), then older ones.
 * *@genp receives the generation it was found in, or the newest.
 */
static const struct sym_map *symbolizer__user_map(struct symbolizer *s, uint32_t pid, uint64_t addr,
						  struct sym_gen **genp)
{
	struct sym_proc *proc = symbolizer__proc_find(s, pid);
	const struct sym_map *m;
	struct sym_gen *g;

	*genp = NULL;
	if (!proc || (!proc->gen->full && !proc->gen->tried_ns)) {
		/* First sight; a failure (process gone) is retried like a miss. */
		symbolizer__proc_snapshot(s, pid);
		proc = symbolizer__proc_find(s, pid);
		if (!proc)
			return NULL;
		proc->gen->miss_refreshed = true;
	}
	g = proc->gen;
	*genp = g;
	m = sym_maps__find(&g->maps, addr);
	if (m)
		return m;
	if (!g->complete && !g->ended &&
	    (!g->miss_refreshed || now_ns() - g->tried_ns >= SYM_MISS_REFRESH_NS)) {
		symbolizer__proc_snapshot(s, pid);
		proc->gen->miss_refreshed = true;
		*genp = g = proc->gen;
		m = sym_maps__find(&g->maps, addr);
		if (m)
			return m;
	}
	for (g = g->older; g; g = g->older) {
		m = sym_maps__find(&g->maps, addr);
		if (m) {
			*genp = g;
			return m;
		}
	}
	return NULL;
}

/* The pid of @pid inside its own pid namespace (perf maps are named by it). */
static uint32_t symbolizer__nspid(const struct symbolizer *s, uint32_t pid)
{
	char path[PATH_MAX], line[256];
	uint32_t ns = pid;
	FILE *f;

	if (symbolizer__proc_path(s, path, sizeof(path), pid, "status"))
		return pid;
	f = fopen(path, "re");
	if (!f)
		return pid;
	while (fgets(line, sizeof(line), f)) {
		char *p;

		if (strncmp(line, "NSpid:", 6))
			continue;
		/* The last field is the pid in the innermost namespace. */
		p = strrchr(line, '\t');
		if (p)
			ns = (uint32_t)strtoul(p + 1, NULL, 10);
		break;
	}
	fclose(f);
	return ns ? ns : pid;
}

/* The JIT name of @addr from @pid's perf map, reading new lines on a miss. */
static const char *symbolizer__jit(struct symbolizer *s, uint32_t pid, struct sym_gen *g,
				   uint64_t addr)
{
	char path[PATH_MAX + 64];
	const char *name;
	uint64_t t;
	int n;

	if (!g)
		return NULL;
	name = sym_perfmap__find(g->perfmap, addr);
	if (name)
		return name;
	t = now_ns();
	if (g->perfmap_ns && t - g->perfmap_ns < SYM_PERFMAP_REFRESH_NS)
		return NULL;
	g->perfmap_ns = t;
	if (!g->perfmap) {
		g->perfmap = sym_perfmap__new();
		if (!g->perfmap)
			return NULL;
		g->nspid = symbolizer__nspid(s, pid);
	}
	/* Inside the process's root (containers), else on the host. */
	n = snprintf(path, sizeof(path), "%s/%" PRIu32 "/root%s/perf-%" PRIu32 ".map", s->proc_root,
		     pid, s->perf_map_dir, g->nspid);
	if (n < 0 || (size_t)n >= sizeof(path) ||
	    sym_perfmap__update(g->perfmap, path) == -ENOENT) {
		snprintf(path, sizeof(path), "%s/perf-%" PRIu32 ".map", s->perf_map_dir, pid);
		sym_perfmap__update(g->perfmap, path);
	}
	return sym_perfmap__find(g->perfmap, addr);
}

/* Interns the strings and adds the frame; its id into *id, 0 or -errno. */
static int frame__add(struct profile *p, const char *name, size_t name_len, const char *module,
		      const char *file, uint32_t line, uint64_t addr, uint32_t kind, uint32_t *id)
{
	struct profile_frame f = {.addr = addr, .kind = kind, .line = line};
	int64_t r;

	r = profile__intern_n(p, name, name_len);
	if (r < 0)
		return (int)r;
	f.name = (uint32_t)r;
	if (module) {
		r = profile__intern(p, module);
		if (r < 0)
			return (int)r;
		f.module = (uint32_t)r;
	}
	if (file) {
		r = profile__intern(p, file);
		if (r < 0)
			return (int)r;
		f.file = (uint32_t)r;
	}
	r = profile__add_frame(p, &f);
	if (r < 0)
		return (int)r;
	*id = (uint32_t)r;
	return 0;
}

/* Adds the frame named "[@module]"; 0 or -errno. */
static int frame__add_bracketed(struct profile *p, const char *module, uint64_t addr, uint32_t kind,
				uint32_t *id)
{
	size_t len = strlen(module);
	char small[256], *buf = small;
	int err;

	if (len + 2 > sizeof(small)) {
		buf = malloc(len + 2);
		if (!buf)
			return -ENOMEM;
	}
	buf[0] = '[';
	memcpy(buf + 1, module, len);
	buf[len + 1] = ']';
	err = frame__add(p, buf, len + 2, module, NULL, 0, addr, kind, id);
	if (buf != small)
		free(buf);
	return err;
}

/*
 * Interns module name @str through a one-entry memo: the same string pointer
 * for the same profile is checked by content (a profile freed and another
 * allocated at its address cannot fool it, nor a process's mappings freed)
 * instead of hashed again.
 */
static int64_t symbolizer__intern_module(struct symbolizer *s, struct profile *p, const char *str)
{
	int64_t r;

	if (s->memo.p == p && s->memo.src == str && !strcmp(profile__str(p, s->memo.id), str))
		return s->memo.id;
	r = profile__intern(p, str);
	if (r >= 0) {
		s->memo.p = p;
		s->memo.src = str;
		s->memo.id = (uint32_t)r;
	}
	return r;
}

/*
 * Interns @str, a name held by an object or by kallsyms, which lives until
 * the object is freed: a memo hit costs one look at a small table instead of
 * a hash of the string and two or three lookups in the profile's tables.
 */
static int64_t symbolizer__intern_name(struct symbolizer *s, struct profile *p, const char *str)
{
	uint64_t serial = profile__serial(p);
	struct name_memo *e;
	int64_t r;

	if (!s->names) {
		s->names = calloc(SYM_NAME_MEMO_SIZE, sizeof(*s->names));
		if (!s->names)
			return profile__intern(p, str);
	}
	e = &s->names[hash_u64((uintptr_t)str) & (SYM_NAME_MEMO_SIZE - 1)];
	if (e->src == str && e->serial == serial && e->epoch == s->names_epoch)
		return e->id;
	r = profile__intern(p, str);
	if (r >= 0)
		*e = (struct name_memo){
			.src = str, .serial = serial, .epoch = s->names_epoch, .id = (uint32_t)r};
	return r;
}

/*
 * Records the build id of @obj, when it has one, as that of module @mod
 * (a string id) in @p, unless @p has one for it already. 0 or -errno.
 */
static int module__build_id(struct profile *p, uint32_t mod, const struct sym_obj *obj)
{
	char hex[2 * SYM_BUILD_ID_MAX + 1];
	size_t len;
	int64_t r;

	if (!obj || !mod || profile__build_id(p, mod))
		return 0;
	len = sym_elf__build_id_hex(sym_obj__info(obj), hex);
	if (!len)
		return 0;
	r = profile__intern_n(p, hex, len);
	if (r < 0)
		return (int)r;
	return profile__set_build_id(p, mod, (uint32_t)r);
}

/*
 * Adds the frames of a lookup in @obj, outermost first, keeping the
 * innermost @max; module @module gets the object's build id.
 */
static int frames__add(struct symbolizer *s, struct profile *p, const struct sym_obj *obj,
		       const struct sym_frame *fr, int n, const char *module, uint64_t vaddr,
		       uint32_t *ids, uint32_t max)
{
	int i, k = n > (int)max ? n - (int)max : 0;
	int64_t mod, r;
	int err;

	mod = symbolizer__intern_module(s, p, module);
	if (mod < 0)
		return (int)mod;
	err = module__build_id(p, (uint32_t)mod, obj);
	if (err)
		return err;
	for (i = k; i < n; i++) {
		struct profile_frame f = {
			.addr = vaddr,
			.line = fr[i].line,
			.start_line = fr[i].start_line,
			.module = (uint32_t)mod,
			.kind = fr[i].inlined ? PROFILE_FRAME_INLINE : PROFILE_FRAME_USER,
		};

		r = symbolizer__intern_name(s, p, fr[i].name);
		if (r < 0)
			return (int)r;
		f.name = (uint32_t)r;
		if (fr[i].file) {
			r = symbolizer__intern_name(s, p, fr[i].file);
			if (r < 0)
				return (int)r;
			f.file = (uint32_t)r;
		}
		r = profile__add_frame(p, &f);
		if (r < 0)
			return (int)r;
		ids[i - k] = (uint32_t)r;
		if (fr[i].inlined)
			s->stats.inline_frames++;
	}
	return n - k;
}

/* The vDSO is the same image in every 64-bit process: read ember's own once. */
static struct sym_obj *symbolizer__vdso(struct symbolizer *s)
{
	FILE *f;
	char line[512];
	uint64_t base = getauxval(AT_SYSINFO_EHDR), start, end;

	if (s->vdso_tried)
		return s->vdso;
	s->vdso_tried = true;
	if (!base)
		return NULL;
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) == 2 && start == base) {
			s->vdso_size = end - start;
			break;
		}
	}
	fclose(f);
	if (s->vdso_size)
		s->vdso = sym_obj__from_memory((const void *)(uintptr_t)base, s->vdso_size);
	return s->vdso;
}

/* A special mapping ("[vdso]", "[heap]", ...): the vDSO's symbols, else its name. */
static int symbolizer__special(struct symbolizer *s, struct profile *p, const struct sym_map *m,
			       uint64_t addr, uint32_t *ids, uint32_t max)
{
	struct sym_frame fr[1];
	struct sym_obj *vdso;
	uint64_t vaddr = addr - m->start;
	int n, err;

	if (!strcmp(m->path, "[vdso]") && (vdso = symbolizer__vdso(s)) &&
	    m->end - m->start == s->vdso_size &&
	    !sym_obj__offset_to_vaddr(vdso, addr - m->start, &vaddr)) {
		n = sym_obj__lookup(vdso, vaddr, fr, 1);
		if (n < 0)
			return n;
		if (n > 0) {
			s->stats.user_resolved++;
			return frames__add(s, p, vdso, fr, n, m->path, vaddr, ids, max);
		}
	}
	s->stats.user_unknown++;
	err = frame__add(p, m->path, strlen(m->path), m->path, NULL, 0, addr - m->start,
			 PROFILE_FRAME_USER, ids);
	return err ? err : 1;
}

int symbolizer__user(struct symbolizer *s, struct profile *p, uint32_t pid, uint64_t addr,
		     uint32_t *ids, uint32_t max)
{
	struct sym_frame fr[SYM_MAX_CHAIN];
	const struct sym_map *m;
	struct sym_gen *g;
	struct sym_shared *sh;
	const char *base, *name;
	uint64_t off, vaddr;
	int n, err;

	if (!max)
		return 0;
	m = symbolizer__user_map(s, pid, addr, &g);
	if (!m || !m->path[0]) {
		/* Unmapped, or anonymous memory: JIT code when a perf map names it. */
		name = symbolizer__jit(s, pid, g, addr);
		if (name) {
			s->stats.jit_resolved++;
			err = frame__add(p, name, strlen(name), SYM_JIT_MODULE, NULL, 0, addr,
					 PROFILE_FRAME_JIT, ids);
			return err ? err : 1;
		}
		s->stats.user_unknown++;
		err = frame__add(p, SYM_UNKNOWN, strlen(SYM_UNKNOWN), NULL, NULL, 0, 0,
				 PROFILE_FRAME_USER, ids);
		return err ? err : 1;
	}
	if (m->path[0] != '/')
		return symbolizer__special(s, p, m, addr, ids, max);
	off = addr - m->start + m->pgoff;
	base = strrchr(m->path, '/') + 1;
	sh = symbolizer__file_obj(s, pid, m, &err);
	if (err)
		return err;
	vaddr = off;
	n = 0;
	if (sh && !sym_obj__offset_to_vaddr(sh->obj, off, &vaddr))
		n = sym_obj__lookup(sh->obj, vaddr, fr, SYM_MAX_CHAIN);
	if (n <= 0) {
		symbolizer__done(s, sh);
		if (n < 0)
			return n;
		s->stats.user_unknown++;
		err = frame__add_bracketed(p, base, vaddr, PROFILE_FRAME_USER, ids);
		if (!err && sh)
			err = module__build_id(p, profile__frame(p, ids[0])->module, sh->obj);
		return err ? err : 1;
	}
	s->stats.user_resolved++;
	/* The frames borrow the object's strings: added before it may be closed. */
	n = frames__add(s, p, sh->obj, fr, n, base, vaddr, ids, max);
	symbolizer__done(s, sh);
	return n;
}

/* ---- kernel addresses -------------------------------------------------- */

int symbolizer__kernel(struct symbolizer *s, struct profile *p, uint64_t addr, uint32_t *ids,
		       uint32_t max)
{
	struct profile_frame f = {.addr = addr, .kind = PROFILE_FRAME_KERNEL};
	struct sym_ksym ks, *k = NULL;
	char module[256];
	size_t idx;
	int64_t r;
	int err;

	if (!max)
		return 0;
	if (s->kcache) {
		struct kcache_ent *e = &s->kcache[hash_u64(addr) & (SYM_KCACHE_SIZE - 1)];

		if (e->addr == addr && e->name) {
			ks.name = e->name;
			ks.module = e->module;
			k = &ks;
		} else if ((idx = sym_ksyms__find_index(s->ksyms, addr)) != SIZE_MAX) {
			sym_ksyms__get(s->ksyms, idx, &ks);
			k = &ks;
			*e = (struct kcache_ent){
				.addr = addr, .name = ks.name, .module = ks.module};
		}
	} else if ((idx = sym_ksyms__find_index(s->ksyms, addr)) != SIZE_MAX) {
		sym_ksyms__get(s->ksyms, idx, &ks);
		k = &ks;
	}
	if (!k) {
		s->stats.kernel_unknown++;
		err = frame__add(p, SYM_KERNEL_MODULE, strlen(SYM_KERNEL_MODULE), SYM_KERNEL_MODULE,
				 NULL, 0, 0, PROFILE_FRAME_KERNEL, ids);
		return err ? err : 1;
	}
	s->stats.kernel_resolved++;
	if (k->module) {
		snprintf(module, sizeof(module), "[%s]", k->module);
		r = symbolizer__intern_module(s, p, module);
	} else {
		r = symbolizer__intern_name(s, p, SYM_KERNEL_MODULE);
	}
	if (r < 0)
		return (int)r;
	f.module = (uint32_t)r;
	r = symbolizer__intern_name(s, p, k->name);
	if (r < 0)
		return (int)r;
	f.name = (uint32_t)r;
	r = profile__add_frame(p, &f);
	if (r < 0)
		return (int)r;
	ids[0] = (uint32_t)r;
	return 1;
}

/* ---- mappings, for the unwinder ---------------------------------------- */

static int symbolizer__fill_mapping(struct symbolizer *s, uint32_t pid, uint64_t addr,
				    struct sym_mapping *out, const struct sym_map **mp)
{
	const struct sym_map *m;
	struct sym_gen *g;
	struct sym_shared *sh;
	uint64_t vaddr;
	int err;

	memset(out, 0, sizeof(*out));
	m = symbolizer__user_map(s, pid, addr, &g);
	if (!m)
		return -ENOENT;
	*mp = m;
	out->start = m->start;
	out->end = m->end;
	out->pgoff = m->pgoff;
	out->name = m->path;
	out->is_file = m->path[0] == '/';
	out->is_special = m->path[0] == '[';
	if (!out->is_file)
		return 0;
	sh = symbolizer__file_obj(s, pid, m, &err);
	if (err)
		return err;
	if (sh && !sym_obj__offset_to_vaddr(sh->obj, m->pgoff, &vaddr)) {
		out->load_bias = m->start - vaddr;
		out->has_bias = true;
	}
	symbolizer__done(s, sh);
	return 0;
}

int symbolizer__mapping(struct symbolizer *s, uint32_t pid, uint64_t addr, struct sym_mapping *out)
{
	const struct sym_map *m;
	int err, i;

	err = symbolizer__fill_mapping(s, pid, addr, out, &m);
	if (err || !out->is_file)
		return err;
	for (i = 0; i < 3; i++) {
		if (symbolizer__candidate(s, pid, m, i, s->path, sizeof(s->path)))
			continue;
		if (!access(s->path, R_OK))
			break;
	}
	if (i == 3)
		snprintf(s->path, sizeof(s->path), "%s", m->path);
	out->path = s->path;
	return 0;
}

int symbolizer__open_mapped(struct symbolizer *s, uint32_t pid, uint64_t addr, int *fd,
			    struct sym_mapping *out)
{
	const struct sym_map *m;
	int err, i;

	*fd = -1;
	err = symbolizer__fill_mapping(s, pid, addr, out, &m);
	if (err)
		return err;
	if (!out->is_file)
		return -ENOENT;
	err = -ENOENT;
	for (i = 0; i < 3; i++) {
		if (symbolizer__candidate(s, pid, m, i, s->path, sizeof(s->path)))
			continue;
		*fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (*fd >= 0) {
			out->path = s->path;
			return 0;
		}
		err = -errno;
	}
	return err;
}

/* ---- the symbolizer ---------------------------------------------------- */

void symbolizer__stats(const struct symbolizer *s, struct sym_stats *out)
{
	*out = s->stats;
	out->memory = s->memory;
	out->max_bytes = s->opts.max_bytes;
	out->kernel_memory = sym_ksyms__memory(s->ksyms);
	if (s->kcache)
		out->kernel_memory += SYM_KCACHE_SIZE * sizeof(*s->kcache);
}

uint64_t symbolizer__max_bytes(const struct symbolizer *s)
{
	return s->opts.max_bytes;
}

/* Loads kallsyms; only running out of memory is an error. 0 or -ENOMEM. */
static int symbolizer__load_kallsyms(struct symbolizer *s, const char *path)
{
	char buf[PATH_MAX];
	int n;

	if (!path) {
		n = snprintf(buf, sizeof(buf), "%s/kallsyms", s->proc_root);
		if (n < 0 || (size_t)n >= sizeof(buf))
			return 0;
		path = buf;
	}
	if (!*path)
		return 0;
	s->ksyms = sym_ksyms__load(path);
	if (!s->ksyms) {
		if (errno == ENOMEM)
			return -ENOMEM;
		if (errno != ENOENT)
			pr_warn("kernel frames unnamed: cannot read %s: %s", path, strerror(errno));
		return 0;
	}
	if (!sym_ksyms__count(s->ksyms)) {
		pr_warn("kernel frames unnamed: %s has no addresses (kptr_restrict?)", path);
		return 0;
	}
	s->kcache = calloc(SYM_KCACHE_SIZE, sizeof(*s->kcache));
	return s->kcache ? 0 : -ENOMEM;
}

/* Copies the NULL-terminated debug dir list; 0 or -ENOMEM. */
static int symbolizer__copy_dirs(struct symbolizer *s, const char *const *dirs)
{
	size_t i, n = 0;

	if (!dirs)
		return 0;
	while (dirs[n])
		n++;
	s->debug_dirs = calloc(n + 1, sizeof(*s->debug_dirs));
	if (!s->debug_dirs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		s->debug_dirs[i] = strdup(dirs[i]);
		if (!s->debug_dirs[i])
			return -ENOMEM;
	}
	return 0;
}

struct symbolizer *symbolizer__new(const struct sym_options *opts)
{
	struct symbolizer *s;
	int err = -ENOMEM;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (opts)
		s->opts = *opts;
	if (!s->opts.max_files)
		s->opts.max_files = SYM_DEFAULT_MAX_FILES;
	if (!s->opts.max_bytes)
		s->opts.max_bytes = SYM_DEFAULT_MAX_BYTES;
	s->proc_root = strdup(s->opts.proc_root ? s->opts.proc_root : "/proc");
	s->perf_map_dir = strdup(s->opts.perf_map_dir ? s->opts.perf_map_dir : "/tmp");
	if (!s->proc_root || !s->perf_map_dir)
		goto out_free;
	/* Borrowed strings are not kept past the call. */
	s->opts.proc_root = s->proc_root;
	s->opts.perf_map_dir = s->perf_map_dir;
	s->opts.kallsyms_path = NULL;
	err = symbolizer__copy_dirs(s, opts ? opts->debug_dirs : NULL);
	s->opts.debug_dirs = NULL;
	if (!err)
		err = symbolizer__load_kallsyms(s, opts ? opts->kallsyms_path : NULL);
	if (err)
		goto out_free;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		err = -EINVAL;
		goto out_free;
	}
	return s;

out_free:
	symbolizer__free(s);
	errno = -err;
	return NULL;
}

void symbolizer__free(struct symbolizer *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->procs.nb; i++) {
		struct hnode *n = s->procs.b[i], *next;

		for (; n; n = next) {
			next = n->next;
			symbolizer__proc_destroy(s, (struct sym_proc *)n);
		}
	}
	while (s->lru_head)
		symbolizer__file_destroy(s, s->lru_head);
	free(s->procs.b);
	free(s->files.b);
	free(s->shared.b);
	sym_obj__free(s->vdso);
	if (s->debug_dirs) {
		for (i = 0; s->debug_dirs[i]; i++)
			free((char *)s->debug_dirs[i]);
		free(s->debug_dirs);
	}
	sym_ksyms__free(s->ksyms);
	free(s->kcache);
	free(s->names);
	free(s->proc_root);
	free(s->perf_map_dir);
	free(s);
}

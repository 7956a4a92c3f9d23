/*
 * The symbolizer: kernel and user addresses -> frames of a profile.
 *
 * Kernel addresses go through the kallsyms table loaded at creation. User
 * addresses go through a per-process snapshot of <proc_root>/PID/maps (kept
 * after the process exits, until symbolizer__forget) and a per-file cache of
 * ELF symbol tables keyed by device+inode (path when there is no inode), so
 * every process mapping libc shares one table. A file that cannot be opened
 * is remembered as failed rather than retried for every address.
 *
 * Files are referenced by the mappings that resolved them; unreferenced files
 * stay in a small LRU for processes that come back to them, and the oldest
 * are closed beyond SYM_IDLE_FILES: memory is bounded by the live processes'
 * files plus that LRU.
 *
 * Naming of what has no symbol (DESIGN: never a bare "[unknown]" when the
 * module is known):
 *   user, in a file with no symbol there   "[libc.so.6]", module libc.so.6
 *   user, special mapping                  "[vdso]", module "[vdso]"
 *   user, anonymous memory or no mapping   "[unknown]", no module
 *   kernel, no kallsyms symbol             "[kernel.kallsyms]", module the same
 *
 * Not thread-safe: one thread drives a symbolizer.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ember/log.h"
#include "ember/profile.h"
#include "ember/symbolizer.h"

/* Unreferenced files kept open for processes that map them again. */
#define SYM_IDLE_FILES 64
/* A mapping miss re-reads the maps again only after this long. */
#define SYM_MISS_REFRESH_NS 1000000000ull
/* Tries to read stat, maps, stat without the process changing under us. */
#define SYM_SNAPSHOT_TRIES 3

#define SYM_KERNEL_MODULE "[kernel.kallsyms]"
#define SYM_UNKNOWN	  "[unknown]"

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

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	while (*s) {
		h ^= (unsigned char)*s++;
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

/* ---- files, processes, the symbolizer ---------------------------------- */

/* The hash node comes first in each entry so a node pointer is the entry's. */
struct sym_file {
	struct hnode node;
	struct sym_file *idle_prev, *idle_next; /* LRU, while refs == 0 */
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	char *path;	     /* the key when inode == 0, else NULL */
	struct sym_elf *elf; /* NULL: could not be opened or read */
	size_t refs;	     /* mappings that resolved to this file */
};

struct sym_proc {
	struct hnode node;
	uint32_t pid;
	bool has_snapshot;   /* false: the process was gone when first seen */
	bool miss_refreshed; /* a mapping miss already re-read this snapshot */
	uint64_t start_time; /* field 22 of stat, clock ticks since boot */
	uint64_t tried_ns;   /* CLOCK_MONOTONIC time of the last snapshot attempt */
	struct sym_maps maps;
	struct sym_file **files; /* per mapping, NULL until first needed */
};

struct symbolizer {
	char *proc_root;
	struct sym_ksyms *ksyms;
	struct htab procs;			/* pid -> struct sym_proc */
	struct htab files;			/* (dev, inode) or path -> struct sym_file */
	struct sym_file *idle_head, *idle_tail; /* oldest at the head */
	size_t n_idle;
	struct sym_stats stats;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t file_key_hash(const struct sym_map *m)
{
	if (!m->inode)
		return hash_str(m->path);
	return hash_u64(m->inode ^ hash_u64(((uint64_t)m->dev_major << 32) | m->dev_minor));
}

static bool file_key_eq(const struct sym_file *f, const struct sym_map *m)
{
	if (!m->inode)
		return f->path && !strcmp(f->path, m->path);
	return !f->path && f->inode == m->inode && f->dev_major == m->dev_major &&
	       f->dev_minor == m->dev_minor;
}

static void file__destroy(struct sym_file *f)
{
	sym_elf__free(f->elf);
	free(f->path);
	free(f);
}

static void symbolizer__idle_unlink(struct symbolizer *s, struct sym_file *f)
{
	if (f->idle_prev)
		f->idle_prev->idle_next = f->idle_next;
	else
		s->idle_head = f->idle_next;
	if (f->idle_next)
		f->idle_next->idle_prev = f->idle_prev;
	else
		s->idle_tail = f->idle_prev;
	f->idle_prev = f->idle_next = NULL;
	s->n_idle--;
}

/* Drops one mapping's reference; the file idles, the oldest idle one closes. */
static void symbolizer__file_put(struct symbolizer *s, struct sym_file *f)
{
	if (!f || --f->refs)
		return;
	f->idle_prev = s->idle_tail;
	f->idle_next = NULL;
	if (s->idle_tail)
		s->idle_tail->idle_next = f;
	else
		s->idle_head = f;
	s->idle_tail = f;
	s->n_idle++;
	while (s->n_idle > SYM_IDLE_FILES) {
		struct sym_file *old = s->idle_head;

		symbolizer__idle_unlink(s, old);
		htab__del(&s->files, &old->node);
		if (old->elf)
			s->stats.files--;
		file__destroy(old);
	}
}

/* Writes "<proc_root>/<pid>/<what>" into @buf; 0 or -ENAMETOOLONG. */
static int symbolizer__proc_path(const struct symbolizer *s, char *buf, size_t size, uint32_t pid,
				 const char *what)
{
	int n = snprintf(buf, size, "%s/%" PRIu32 "/%s", s->proc_root, pid, what);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/*
 * Opens the ELF file behind mapping @m of @pid: through the process's root
 * (containers), then map_files (deleted or replaced files), then the plain
 * path. A deleted file is only trusted through map_files: its path may name a
 * newer file by now. NULL when none works.
 */
static struct sym_elf *symbolizer__open_elf(const struct symbolizer *s, uint32_t pid,
					    const struct sym_map *m)
{
	char buf[PATH_MAX + 64], what[64];
	struct sym_elf *e;
	int n;

	if (!m->deleted) {
		n = snprintf(buf, sizeof(buf), "%s/%" PRIu32 "/root%s", s->proc_root, pid, m->path);
		if (n > 0 && (size_t)n < sizeof(buf)) {
			e = sym_elf__open(buf);
			if (e)
				return e;
		}
	}
	snprintf(what, sizeof(what), "map_files/%" PRIx64 "-%" PRIx64, m->start, m->end);
	if (!symbolizer__proc_path(s, buf, sizeof(buf), pid, what)) {
		e = sym_elf__open(buf);
		if (e)
			return e;
	}
	if (m->deleted)
		return NULL;
	return sym_elf__open(m->path);
}

/* The file of mapping @i of @proc, opened or found in the cache; NULL on ENOMEM. */
static struct sym_file *symbolizer__file_get(struct symbolizer *s, struct sym_proc *proc, size_t i)
{
	const struct sym_map *m = &proc->maps.v[i];
	uint64_t hash = file_key_hash(m);
	struct sym_file *f;
	struct hnode *n;

	if (proc->files[i])
		return proc->files[i];
	for (n = htab__chain(&s->files, hash); n; n = n->next) {
		f = (struct sym_file *)n;
		if (n->hash == hash && file_key_eq(f, m))
			goto out_ref;
	}
	if (htab__reserve(&s->files))
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	if (!m->inode) {
		f->path = strdup(m->path);
		if (!f->path) {
			free(f);
			return NULL;
		}
	}
	f->node.hash = hash;
	f->inode = m->inode;
	f->dev_major = m->dev_major;
	f->dev_minor = m->dev_minor;
	f->elf = symbolizer__open_elf(s, proc->pid, m);
	if (f->elf)
		s->stats.files++;
	else
		pr_debug("symbolizer: cannot read symbols of %s (pid %" PRIu32 ")", m->path,
			 proc->pid);
	htab__add(&s->files, &f->node);
	f->refs = 1;
	proc->files[i] = f;
	return f;

out_ref:
	/* A cached file nobody referenced is in the idle list: take it out. */
	if (!f->refs++)
		symbolizer__idle_unlink(s, f);
	proc->files[i] = f;
	return f;
}

/* Releases what @proc holds, leaving it without a snapshot. */
static void symbolizer__proc_clear(struct symbolizer *s, struct sym_proc *proc)
{
	size_t i;

	if (proc->files) {
		for (i = 0; i < proc->maps.n; i++)
			symbolizer__file_put(s, proc->files[i]);
	}
	free(proc->files);
	proc->files = NULL;
	sym_maps__clear(&proc->maps);
	if (proc->has_snapshot)
		s->stats.processes--;
	proc->has_snapshot = false;
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

/* Finds or adds the entry of @pid (without a snapshot when new); NULL on ENOMEM. */
static struct sym_proc *symbolizer__proc_get(struct symbolizer *s, uint32_t pid)
{
	struct sym_proc *proc = symbolizer__proc_find(s, pid);

	if (proc)
		return proc;
	if (htab__reserve(&s->procs))
		return NULL;
	proc = calloc(1, sizeof(*proc));
	if (!proc)
		return NULL;
	proc->pid = pid;
	proc->node.hash = hash_u64(pid);
	htab__add(&s->procs, &proc->node);
	return proc;
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
 * Replaces the snapshot of @proc with the process's current mappings. The
 * old one stays when the process has gone. 0 or -errno (-ESRCH: gone).
 */
static int symbolizer__proc_snapshot(struct symbolizer *s, struct sym_proc *proc)
{
	struct sym_maps maps = {0};
	struct sym_file **files;
	uint64_t st = 0, st2 = 0;
	int err = -EAGAIN, tries;

	proc->tried_ns = now_ns();
	for (tries = 0; tries < SYM_SNAPSHOT_TRIES && err == -EAGAIN; tries++) {
		err = symbolizer__read_start_time(s, proc->pid, &st);
		if (err)
			return err;
		err = symbolizer__read_maps(s, proc->pid, &maps);
		if (err)
			return err;
		err = symbolizer__read_start_time(s, proc->pid, &st2);
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
	files = calloc(maps.n ? maps.n : 1, sizeof(*files));
	if (!files) {
		sym_maps__clear(&maps);
		return -ENOMEM;
	}
	if (proc->has_snapshot && proc->start_time != st)
		pr_debug("symbolizer: pid %" PRIu32 " was reused", proc->pid);
	symbolizer__proc_clear(s, proc);
	proc->maps = maps;
	proc->files = files;
	proc->start_time = st;
	proc->miss_refreshed = false;
	proc->has_snapshot = true;
	s->stats.processes++;
	return 0;
}

int symbolizer__snapshot(struct symbolizer *s, uint32_t pid)
{
	struct sym_proc *proc = symbolizer__proc_get(s, pid);

	if (!proc)
		return -ENOMEM;
	return symbolizer__proc_snapshot(s, proc);
}

void symbolizer__forget(struct symbolizer *s, uint32_t pid)
{
	struct sym_proc *proc = symbolizer__proc_find(s, pid);

	if (!proc)
		return;
	symbolizer__proc_clear(s, proc);
	htab__del(&s->procs, &proc->node);
	free(proc);
}

/*
 * The mapping of @addr in @pid's snapshot, taking the snapshot on first use.
 * On a miss the maps are read again (libraries loaded since), once until the
 * next explicit snapshot and then at most every SYM_MISS_REFRESH_NS, so
 * garbage addresses do not re-read maps each time. *@procp receives the
 * process (NULL on ENOMEM).
 */
static const struct sym_map *symbolizer__user_map(struct symbolizer *s, uint32_t pid, uint64_t addr,
						  struct sym_proc **procp)
{
	const struct sym_map *m;
	struct sym_proc *proc;

	*procp = proc = symbolizer__proc_get(s, pid);
	if (!proc)
		return NULL;
	if (!proc->has_snapshot && !proc->tried_ns) {
		/* First sight; a failure (process gone) is retried like a miss. */
		symbolizer__proc_snapshot(s, proc);
		proc->miss_refreshed = true;
		return sym_maps__find(&proc->maps, addr);
	}
	m = sym_maps__find(&proc->maps, addr);
	if (m)
		return m;
	if (proc->miss_refreshed && now_ns() - proc->tried_ns < SYM_MISS_REFRESH_NS)
		return NULL;
	symbolizer__proc_snapshot(s, proc);
	proc->miss_refreshed = true;
	return sym_maps__find(&proc->maps, addr);
}

/* Interns the strings and adds the frame; its id into *id, 0 or -errno. */
static int frame__add(struct profile *p, const char *name, size_t name_len, const char *module,
		      uint64_t addr, uint32_t kind, uint32_t *id)
{
	struct profile_frame f = {.addr = addr, .kind = kind};
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
	err = frame__add(p, buf, len + 2, module, addr, kind, id);
	if (buf != small)
		free(buf);
	return err;
}

int symbolizer__user(struct symbolizer *s, struct profile *p, uint32_t pid, uint64_t addr,
		     uint32_t *ids, uint32_t max)
{
	const struct sym_map *m;
	struct sym_proc *proc;
	struct sym_file *f;
	const char *name, *base;
	uint64_t off, vaddr;
	int err;

	if (!max)
		return 0;
	m = symbolizer__user_map(s, pid, addr, &proc);
	if (!proc)
		return -ENOMEM;
	if (!m || !m->path[0]) {
		/* Unmapped, or anonymous memory (JIT code without a perf map). */
		s->stats.user_unknown++;
		err = frame__add(p, SYM_UNKNOWN, strlen(SYM_UNKNOWN), NULL, 0, PROFILE_FRAME_USER,
				 ids);
		return err ? err : 1;
	}
	off = addr - m->start + m->pgoff;
	if (m->path[0] != '/') {
		/* "[vdso]", "[vsyscall]", "[heap]", "[stack]", ... */
		s->stats.user_unknown++;
		err = frame__add(p, m->path, strlen(m->path), m->path, addr - m->start,
				 PROFILE_FRAME_USER, ids);
		return err ? err : 1;
	}
	base = strrchr(m->path, '/') + 1;
	f = symbolizer__file_get(s, proc, (size_t)(m - proc->maps.v));
	if (!f)
		return -ENOMEM;
	vaddr = off;
	name = NULL;
	if (f->elf && !sym_elf__offset_to_vaddr(f->elf, off, &vaddr))
		name = sym_elf__find(f->elf, vaddr, NULL);
	if (!name) {
		s->stats.user_unknown++;
		err = frame__add_bracketed(p, base, vaddr, PROFILE_FRAME_USER, ids);
		return err ? err : 1;
	}
	s->stats.user_resolved++;
	err = frame__add(p, name, strlen(name), base, vaddr, PROFILE_FRAME_USER, ids);
	return err ? err : 1;
}

int symbolizer__kernel(struct symbolizer *s, struct profile *p, uint64_t addr, uint32_t *ids,
		       uint32_t max)
{
	const struct sym_ksym *k;
	char module[256];
	int err;

	if (!max)
		return 0;
	k = sym_ksyms__find(s->ksyms, addr);
	if (!k) {
		s->stats.kernel_unknown++;
		err = frame__add(p, SYM_KERNEL_MODULE, strlen(SYM_KERNEL_MODULE), SYM_KERNEL_MODULE,
				 0, PROFILE_FRAME_KERNEL, ids);
		return err ? err : 1;
	}
	s->stats.kernel_resolved++;
	if (k->module)
		snprintf(module, sizeof(module), "[%s]", k->module);
	err = frame__add(p, k->name, strlen(k->name), k->module ? module : SYM_KERNEL_MODULE, addr,
			 PROFILE_FRAME_KERNEL, ids);
	return err ? err : 1;
}

void symbolizer__stats(const struct symbolizer *s, struct sym_stats *out)
{
	*out = s->stats;
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
	if (!sym_ksyms__count(s->ksyms))
		pr_warn("kernel frames unnamed: %s has no addresses (kptr_restrict?)", path);
	return 0;
}

struct symbolizer *symbolizer__new(const struct sym_options *opts)
{
	const char *root = opts && opts->proc_root ? opts->proc_root : "/proc";
	struct symbolizer *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->proc_root = strdup(root);
	if (!s->proc_root) {
		err = -ENOMEM;
		goto out_free;
	}
	err = symbolizer__load_kallsyms(s, opts ? opts->kallsyms_path : NULL);
	if (err)
		goto out_free;
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
			struct sym_proc *proc = (struct sym_proc *)n;

			next = n->next;
			sym_maps__clear(&proc->maps);
			free(proc->files);
			free(proc);
		}
	}
	for (i = 0; i < s->files.nb; i++) {
		struct hnode *n = s->files.b[i], *next;

		for (; n; n = next) {
			next = n->next;
			file__destroy((struct sym_file *)n);
		}
	}
	free(s->procs.b);
	free(s->files.b);
	sym_ksyms__free(s->ksyms);
	free(s->proc_root);
	free(s);
}

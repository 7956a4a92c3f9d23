/*
 * JIT symbol maps: /tmp/perf-PID.map, written by Node (--perf-basic-prof),
 * Python 3.12+ (-X perf), JVM agents and others. One "START SIZE NAME" line
 * per function (hex numbers, optional 0x, the name may hold spaces); the file
 * only grows, so it is read incrementally from where the last read stopped.
 * A later entry for the same range wins (code moved or recompiled).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sym_int.h"

struct pm_ent {
	uint64_t start, end;
	const char *name; /* in the arena */
	uint32_t seq;	  /* order of appearance: the later wins */
};

struct sym_perfmap {
	struct pm_ent *v;
	size_t n, cap;
	size_t sorted; /* v[0..sorted) is sorted and overlap-free */
	uint32_t seq;
	long offset; /* bytes of the file already read */
	struct sym_arena names;
};

struct sym_perfmap *sym_perfmap__new(void)
{
	return calloc(1, sizeof(struct sym_perfmap));
}

void sym_perfmap__free(struct sym_perfmap *pm)
{
	if (!pm)
		return;
	free(pm->v);
	sym_arena__free(&pm->names);
	free(pm);
}

size_t sym_perfmap__count(const struct sym_perfmap *pm)
{
	return pm ? pm->n : 0;
}

/* Parses one line; 0, 1 when skipped (malformed), -ENOMEM. */
static int perfmap__line(struct sym_perfmap *pm, char *line)
{
	uint64_t start, size;
	char *p = line, *end;
	struct pm_ent *e;
	size_t len;

	errno = 0;
	start = strtoull(p, &end, 16);
	if (end == p || errno || *end != ' ')
		return 1;
	p = end + 1;
	size = strtoull(p, &end, 16);
	if (end == p || errno || *end != ' ' || !size || start + size < start)
		return 1;
	p = end + 1;
	len = strcspn(p, "\n");
	while (len && (p[len - 1] == '\r' || p[len - 1] == ' '))
		len--;
	if (!len)
		return 1;
	if (pm->n == pm->cap) {
		size_t cap = pm->cap ? pm->cap * 2 : 256;
		struct pm_ent *v = reallocarray(pm->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		pm->v = v;
		pm->cap = cap;
	}
	e = &pm->v[pm->n];
	e->name = sym_arena__strndup(&pm->names, p, len);
	if (!e->name)
		return -ENOMEM;
	e->start = start;
	e->end = start + size;
	e->seq = pm->seq++;
	pm->n++;
	return 0;
}

int sym_perfmap__parse(struct sym_perfmap *pm, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int err = 0;

	while ((len = getline(&line, &cap, f)) > 0) {
		/* A last line still being written: read it again next time. */
		if (line[len - 1] != '\n') {
			fseek(f, -len, SEEK_CUR);
			break;
		}
		err = perfmap__line(pm, line);
		if (err < 0)
			break;
		err = 0;
	}
	free(line);
	return err;
}

int sym_perfmap__update(struct sym_perfmap *pm, const char *path)
{
	FILE *f = fopen(path, "re");
	int err;

	if (!f)
		return -errno;
	if (pm->offset && fseek(f, pm->offset, SEEK_SET)) {
		err = -errno;
		goto out_close;
	}
	err = sym_perfmap__parse(pm, f);
	if (!err) {
		long off = ftell(f);

		if (off >= 0)
			pm->offset = off;
	}
out_close:
	fclose(f);
	return err;
}

static int pm_ent__cmp(const void *a, const void *b)
{
	const struct pm_ent *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Sorts the entries and removes the older of overlapping ones, so a lookup
 * is one binary search. Newer entries cut older ones short.
 */
static void perfmap__sort(struct sym_perfmap *pm)
{
	size_t i, n = 0;

	qsort(pm->v, pm->n, sizeof(*pm->v), pm_ent__cmp);
	for (i = 0; i < pm->n; i++) {
		struct pm_ent *cur = &pm->v[i];

		while (n && pm->v[n - 1].end > cur->start) {
			struct pm_ent *prev = &pm->v[n - 1];

			if (prev->seq > cur->seq)
				break;
			if (prev->start < cur->start) {
				prev->end = cur->start;
				break;
			}
			n--; /* fully replaced */
		}
		if (n && pm->v[n - 1].end > cur->start) {
			/* The previous one is newer: keep what of @cur lies after it. */
			if (cur->end <= pm->v[n - 1].end)
				continue;
			cur->start = pm->v[n - 1].end;
		}
		pm->v[n++] = *cur;
	}
	pm->n = n;
	pm->sorted = n;
}

const char *sym_perfmap__find(struct sym_perfmap *pm, uint64_t addr)
{
	size_t lo = 0, hi;

	if (!pm || !pm->n)
		return NULL;
	if (pm->sorted != pm->n)
		perfmap__sort(pm);
	if (addr < pm->v[0].start)
		return NULL;
	hi = pm->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (pm->v[mid].start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return addr < pm->v[lo].end ? pm->v[lo].name : NULL;
}

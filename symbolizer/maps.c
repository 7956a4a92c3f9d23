/*
 * /proc/PID/maps text -> a sorted array of mappings.
 *
 * A line is "start-end perms offset major:minor inode [path]". The path is
 * whatever follows the inode after the padding: it may hold spaces, be
 * absent (anonymous memory), name a special mapping ("[vdso]", "[stack]")
 * or end in " (deleted)", which is stripped and remembered.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/symbolizer.h"

#define MAPS_DELETED_SUFFIX " (deleted)"

/* Reads an unsigned number in @base that must end at @stop; 0 or -EINVAL. */
static int parse_num(char **pp, int base, char stop, uint64_t *out)
{
	char *p = *pp, *end;

	if (!((p[0] >= '0' && p[0] <= '9') || (p[0] >= 'a' && p[0] <= 'f') ||
	      (p[0] >= 'A' && p[0] <= 'F')))
		return -EINVAL;
	errno = 0;
	*out = strtoull(p, &end, base);
	if (end == p || errno || *end != stop)
		return -EINVAL;
	*pp = stop ? end + 1 : end;
	return 0;
}

static int parse_perms(char **pp, uint32_t *prot)
{
	char *p = *pp;

	if ((p[0] != 'r' && p[0] != '-') || (p[1] != 'w' && p[1] != '-') ||
	    (p[2] != 'x' && p[2] != '-') || (p[3] != 'p' && p[3] != 's') || p[4] != ' ')
		return -EINVAL;
	*prot = (p[0] == 'r' ? SYM_MAP_READ : 0) | (p[1] == 'w' ? SYM_MAP_WRITE : 0) |
		(p[2] == 'x' ? SYM_MAP_EXEC : 0);
	*pp = p + 5;
	return 0;
}

/* Parses one line (newline already removed) into @m; 0 or -errno. */
static int maps__parse_line(char *line, struct sym_map *m)
{
	uint64_t major, minor;
	size_t len, slen = strlen(MAPS_DELETED_SUFFIX);
	char *p = line;

	if (parse_num(&p, 16, '-', &m->start) || parse_num(&p, 16, ' ', &m->end) ||
	    m->end < m->start || parse_perms(&p, &m->prot) || parse_num(&p, 16, ' ', &m->pgoff) ||
	    parse_num(&p, 16, ':', &major) || parse_num(&p, 16, ' ', &minor) ||
	    major > UINT32_MAX || minor > UINT32_MAX)
		return -EINVAL;
	if (parse_num(&p, 10, '\0', &m->inode)) {
		/* The inode is followed by padding and the path, or ends the line. */
		char *q = p;

		if (parse_num(&q, 10, ' ', &m->inode))
			return -EINVAL;
		p = q + strspn(q, " ");
	}
	m->dev_major = (uint32_t)major;
	m->dev_minor = (uint32_t)minor;
	len = strlen(p);
	m->deleted = len > slen && !strcmp(p + len - slen, MAPS_DELETED_SUFFIX);
	if (m->deleted)
		len -= slen;
	m->path = strndup(p, len);
	return m->path ? 0 : -ENOMEM;
}

static int sym_map__cmp(const void *a, const void *b)
{
	const struct sym_map *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

int sym_maps__parse(FILE *f, struct sym_maps *out)
{
	struct sym_maps m = {0};
	size_t cap = 0, line_cap = 0;
	char *line = NULL;
	ssize_t len;
	int err = 0;

	*out = m;
	errno = 0;
	while ((len = getline(&line, &line_cap, f)) >= 0) {
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (!len)
			continue;
		if (m.n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct sym_map *v = reallocarray(m.v, ncap, sizeof(*v));

			if (!v) {
				err = -ENOMEM;
				goto out_clear;
			}
			m.v = v;
			cap = ncap;
		}
		memset(&m.v[m.n], 0, sizeof(m.v[m.n]));
		err = maps__parse_line(line, &m.v[m.n]);
		if (err)
			goto out_clear;
		m.n++;
		errno = 0;
	}
	if (errno || ferror(f)) {
		err = errno ? -errno : -EIO;
		goto out_clear;
	}
	/* The kernel lists mappings in order; sort anyway for hand-written input. */
	if (m.n > 1)
		qsort(m.v, m.n, sizeof(*m.v), sym_map__cmp);
	*out = m;
	free(line);
	return 0;

out_clear:
	free(line);
	sym_maps__clear(&m);
	return err;
}

const struct sym_map *sym_maps__find(const struct sym_maps *m, uint64_t addr)
{
	size_t lo = 0, hi;

	if (!m || !m->n || addr < m->v[0].start)
		return NULL;
	/* Last mapping with start <= addr, then check its end. */
	hi = m->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return addr < m->v[lo].end ? &m->v[lo] : NULL;
}

void sym_maps__clear(struct sym_maps *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

/*
 * Process facts for stored samples: start time (for pid reuse), executable
 * and cgroup (to tell container workloads apart). Read from /proc once per
 * process; a small open-addressing table keyed by pid.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procinfo.h"

struct pi_ent {
	uint32_t pid;  /* 0 = empty slot */
	uint32_t dead; /* tombstone */
	uint64_t start_time;
	char *exe;
	char *cgroup;
};

struct prof_procinfo {
	char *root;
	struct pi_ent *tab;
	uint32_t cap, used, live;
	uint64_t ticks;
	struct prof_proc out;
};

struct prof_procinfo *prof_procinfo__new(const char *proc_root)
{
	struct prof_procinfo *pi = calloc(1, sizeof(*pi));

	if (!pi)
		return NULL;
	pi->root = strdup(proc_root ? proc_root : "/proc");
	pi->cap = 1024;
	pi->tab = calloc(pi->cap, sizeof(*pi->tab));
	if (!pi->root || !pi->tab) {
		prof_procinfo__free(pi);
		errno = ENOMEM;
		return NULL;
	}
	pi->ticks = sysconf(_SC_CLK_TCK) > 0 ? (uint64_t)sysconf(_SC_CLK_TCK) : 100;
	return pi;
}

static void ent_clear(struct pi_ent *e)
{
	free(e->exe);
	free(e->cgroup);
	memset(e, 0, sizeof(*e));
}

void prof_procinfo__free(struct prof_procinfo *pi)
{
	if (!pi)
		return;
	for (uint32_t i = 0; pi->tab && i < pi->cap; i++)
		ent_clear(&pi->tab[i]);
	free(pi->tab);
	free(pi->root);
	free(pi);
}

int procinfo__parse_cgroup(const char *text, char *out, size_t size)
{
	const char *line = text;

	/* cgroup v2: the unified hierarchy's line is "0::/path". */
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (len >= 3 && !strncmp(line, "0::", 3)) {
			len -= 3;
			if (len + 1 > size)
				return -ENAMETOOLONG;
			memcpy(out, line + 3, len);
			out[len] = '\0';
			return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

int procinfo__parse_start_time(const char *stat_line, uint64_t ticks_per_sec, uint64_t *ns)
{
	/* comm may hold spaces and ')': fields restart after the last ')'. */
	const char *p = strrchr(stat_line, ')');
	unsigned long long start;
	int field = 2;

	if (!p || ticks_per_sec == 0)
		return -EINVAL;
	p++;
	while (*p && field < 22) {
		if (*p == ' ')
			field++;
		p++;
	}
	if (field != 22 || sscanf(p, "%llu", &start) != 1)
		return -EINVAL;
	*ns = start * (1000000000ULL / ticks_per_sec);
	return 0;
}

static char *read_small(const char *path, size_t max)
{
	char *buf = malloc(max);
	size_t n = 0;
	FILE *f;

	if (!buf)
		return NULL;
	f = fopen(path, "re");
	if (f) {
		n = fread(buf, 1, max - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static void load(struct prof_procinfo *pi, struct pi_ent *e)
{
	char path[PATH_MAX], link[PATH_MAX], cg[PATH_MAX];
	char *text;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%u/exe", pi->root, e->pid);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	e->exe = strdup(link);

	snprintf(path, sizeof(path), "%s/%u/cgroup", pi->root, e->pid);
	text = read_small(path, 8192);
	if (!text || procinfo__parse_cgroup(text, cg, sizeof(cg)))
		cg[0] = '\0';
	free(text);
	e->cgroup = strdup(cg);

	snprintf(path, sizeof(path), "%s/%u/stat", pi->root, e->pid);
	text = read_small(path, 4096);
	if (!text || procinfo__parse_start_time(text, pi->ticks, &e->start_time))
		e->start_time = 0;
	free(text);
}

static struct pi_ent *find(struct prof_procinfo *pi, uint32_t pid, bool insert)
{
	uint32_t mask = pi->cap - 1, i = (pid * 2654435761u) & mask;
	struct pi_ent *tomb = NULL;

	for (;; i = (i + 1) & mask) {
		struct pi_ent *e = &pi->tab[i];

		if (e->pid == pid && !e->dead)
			return e;
		if (e->dead && !tomb)
			tomb = e;
		if (!e->pid && !e->dead) {
			if (!insert)
				return NULL;
			return tomb ? tomb : e;
		}
	}
}

static int grow(struct prof_procinfo *pi)
{
	struct pi_ent *old = pi->tab;
	uint32_t old_cap = pi->cap;
	uint32_t cap = pi->live * 4 > old_cap ? old_cap * 2 : old_cap; /* rehash drops tombstones */

	pi->tab = calloc(cap, sizeof(*pi->tab));
	if (!pi->tab) {
		pi->tab = old;
		return -ENOMEM;
	}
	pi->cap = cap;
	pi->used = 0;
	for (uint32_t i = 0; i < old_cap; i++) {
		if (old[i].pid && !old[i].dead) {
			*find(pi, old[i].pid, true) = old[i];
			pi->used++;
		}
	}
	free(old);
	return 0;
}

const struct prof_proc *prof_procinfo__get(struct prof_procinfo *pi, uint32_t pid)
{
	struct pi_ent *e = pid ? find(pi, pid, false) : NULL;

	if (!e && pid) {
		if ((pi->used + 1) * 2 > pi->cap && grow(pi))
			goto unknown;
		e = find(pi, pid, true);
		if (!e->dead)
			pi->used++;
		memset(e, 0, sizeof(*e));
		e->pid = pid;
		pi->live++;
		load(pi, e);
	}
	if (!e)
		goto unknown;
	pi->out.start_time = e->start_time;
	pi->out.exe = e->exe ? e->exe : "";
	pi->out.cgroup = e->cgroup ? e->cgroup : "";
	return &pi->out;
unknown:
	memset(&pi->out, 0, sizeof(pi->out));
	pi->out.exe = "";
	pi->out.cgroup = "";
	return &pi->out;
}

void prof_procinfo__forget(struct prof_procinfo *pi, uint32_t pid)
{
	struct pi_ent *e = pid ? find(pi, pid, false) : NULL;

	if (!e)
		return;
	ent_clear(e);
	e->dead = 1;
	pi->live--;
}

uint32_t prof_procinfo__count(const struct prof_procinfo *pi)
{
	return pi->live;
}

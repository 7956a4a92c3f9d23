/*
 * CPU list parsing for the set of online CPUs: no fixed cap on CPU numbers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpus.h"

static int push(struct cpu_set_list *c, int cpu, int *cap)
{
	if (c->n == *cap) {
		int ncap = *cap ? *cap * 2 : 16;
		int *v = realloc(c->v, ncap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		*cap = ncap;
	}
	c->v[c->n++] = cpu;
	return 0;
}

int cpus__parse(const char *text, struct cpu_set_list *out)
{
	const char *p = text;
	int cap = 0, err;

	out->v = NULL;
	out->n = 0;
	while (*p && *p != '\n') {
		char *end;
		long a, b;

		a = strtol(p, &end, 10);
		if (end == p || a < 0)
			goto bad;
		b = a;
		p = end;
		if (*p == '-') {
			b = strtol(p + 1, &end, 10);
			if (end == p + 1 || b < a)
				goto bad;
			p = end;
		}
		for (long cpu = a; cpu <= b; cpu++) {
			err = push(out, (int)cpu, &cap);
			if (err) {
				cpus__free(out);
				return err;
			}
		}
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			goto bad;
	}
	return out->n ? 0 : -EINVAL;
bad:
	cpus__free(out);
	return -EINVAL;
}

int cpus__online(struct cpu_set_list *out)
{
	char buf[4096];
	FILE *f;
	int err = 0;

	f = fopen("/sys/devices/system/cpu/online", "re");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		err = -EIO;
	fclose(f);
	return err ? err : cpus__parse(buf, out);
}

void cpus__free(struct cpu_set_list *c)
{
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

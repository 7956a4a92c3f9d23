/*
 * Command-line value parsers: pid lists, durations, bounded integers. Every
 * parser rejects trailing garbage, signs and overflow.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "ember/bpf_abi.h"
#include "ember/units.h"

int args__parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int args__parse_pids(const char *s, uint32_t **pids, int *n)
{
	uint32_t *v = NULL, *nv;
	int cnt = 0, cap = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	while (*p) {
		char buf[16];
		size_t len = strcspn(p, ",");
		uint32_t pid;

		if (len == 0 || len >= sizeof(buf))
			goto bad;
		memcpy(buf, p, len);
		buf[len] = '\0';
		if (args__parse_u32(buf, 1, 0x3fffffff, &pid))
			goto bad;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[cnt++] = pid;
		p += len;
		if (*p == ',') {
			p++;
			if (!*p)
				goto bad;
		}
	}
	*pids = v;
	*n = cnt;
	return 0;
bad:
	free(v);
	return -EINVAL;
}

int args__parse_duration(const char *s, uint64_t *ns)
{
	return units__parse_duration(s, ns);
}

int args__parse_stack_size(const char *s, uint32_t *out)
{
	uint64_t v;

	if (units__parse_size(s, &v) || v < EMBER_USTACK_MIN || v > EMBER_USTACK_MAX)
		return -EINVAL;
	*out = (uint32_t)v & ~7u;
	return 0;
}

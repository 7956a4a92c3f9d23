/*
 * Parsers for points in time, durations and sizes as users type them, and an
 * RFC 3339 formatter. Every parser rejects trailing garbage and overflow.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ember/units.h"

#define NS_PER_SEC 1000000000ULL

/* A decimal number followed by a unit from @units; returns value * factor. */
struct unit {
	const char *name;
	double factor;
};

static int parse_scaled(const char *s, const struct unit *units, double dflt, double *out)
{
	double v, mult = -1;
	char *end;

	if (!s || !(isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -EINVAL;
	if (!*end)
		mult = dflt;
	for (const struct unit *u = units; mult < 0 && u->name; u++)
		if (!strcmp(end, u->name))
			mult = u->factor;
	if (mult < 0)
		return -EINVAL;
	v *= mult;
	if (!isfinite(v))
		return -EINVAL;
	*out = v;
	return 0;
}

int units__parse_duration(const char *s, uint64_t *out_ns)
{
	static const struct unit units[] = {
		{"ms", 1e6},   {"s", 1e9},     {"m", 60e9},	{"min", 60e9},
		{"h", 3600e9}, {"d", 86400e9}, {"w", 604800e9}, {NULL, 0},
	};
	double v;

	if (parse_scaled(s, units, 1e9, &v))
		return -EINVAL;
	if (v < 1e6 || v > 1e18) /* 1 ms to ~31 years */
		return -EINVAL;
	*out_ns = (uint64_t)v;
	return 0;
}

int units__parse_size(const char *s, uint64_t *out_bytes)
{
	static const struct unit units[] = {
		{"B", 1},
		{"K", 1024.0},
		{"KB", 1024.0},
		{"KiB", 1024.0},
		{"M", 1048576.0},
		{"MB", 1048576.0},
		{"MiB", 1048576.0},
		{"G", 1073741824.0},
		{"GB", 1073741824.0},
		{"GiB", 1073741824.0},
		{"T", 1099511627776.0},
		{"TB", 1099511627776.0},
		{"TiB", 1099511627776.0},
		{NULL, 0},
	};
	double v;

	if (parse_scaled(s, units, 1, &v))
		return -EINVAL;
	if (v < 1 || v > 9.2e18)
		return -EINVAL;
	*out_bytes = (uint64_t)v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"; 'T' may be ' ' or 't'. */
static int parse_rfc3339(const char *s, uint64_t *out_ns)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p = s;
	double frac = 0;
	int64_t secs;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -EINVAL;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -EINVAL;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
	    digits(&p, 2, &sec))
		return -EINVAL;
	if (*p == '.') {
		double scale = 0.1;

		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p)) {
			frac += (*p++ - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*p || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 60)
		return -EINVAL;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -EINVAL;
	secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	secs -= sign * (oh * 3600 + om * 60);
	if (secs < 0)
		return -EINVAL;
	*out_ns = (uint64_t)secs * NS_PER_SEC + (uint64_t)(frac * 1e9 + 0.5);
	return 0;
}

int units__parse_time(const char *s, uint64_t now_ns, uint64_t *out_ns)
{
	uint64_t ago;
	double v;
	char *end;

	if (!s || !*s)
		return -EINVAL;
	if (!strcmp(s, "now")) {
		*out_ns = now_ns;
		return 0;
	}
	if (*s == '-') {
		if (units__parse_duration(s + 1, &ago) || ago > now_ns)
			return -EINVAL;
		*out_ns = now_ns - ago;
		return 0;
	}
	if (strlen(s) >= 10 && s[4] == '-')
		return parse_rfc3339(s, out_ns);
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0 || v > 1.8e10) /* beyond year 2500 */
		return -EINVAL;
	*out_ns = (uint64_t)(v * 1e9 + 0.5);
	return 0;
}

char *units__format_time(uint64_t ns, char *buf, size_t size)
{
	time_t secs = (time_t)(ns / NS_PER_SEC);
	struct tm tm;

	if (!gmtime_r(&secs, &tm)) {
		snprintf(buf, size, "invalid");
		return buf;
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ns % NS_PER_SEC / 1000000));
	return buf;
}

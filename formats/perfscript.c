/*
 * perf-script reader: `perf script` text output -> the profile model, so
 * recordings made with `perf record` can be stored, viewed and converted.
 *
 * A sample is a header line, then (with -g) its callchain leaf first, one
 * frame a line, and a blank line. Without callchains the header carries the
 * one frame itself and no blank line follows. The header's fields depend on
 * the recording and on -F; the reader finds them from the timestamp token
 * ("SECS.FRAC:") outwards: before it an optional [CPU] and PID or PID/TID,
 * and before those the command name, which may hold spaces; after it an
 * optional period and the event name, which ends in ':'. See
 * include/ember/formats.h for the line grammar.
 *
 * Without callchains perf right-aligns the command name, so a sample header
 * may start with spaces as callchain lines do: a line that starts with space
 * is read as a frame only while a sample's callchain is open.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "ember/formats.h"
#include "ember/profile.h"

#define PS_MAX_TOKENS 24
#define PS_MAX_EVENTS 32
#define PS_UNKNOWN    "[unknown]"
#define PS_KERNEL_DSO "[kernel.kallsyms]"
#define PS_EVENT_MODS "ukhIGHpPSDWeb" /* perf's event modifier letters */
#define NSEC_PER_SEC  1000000000ULL

/* A frame as read, before interning: slices of the current line's copy. */
struct ps_frame {
	char *name; /* owned copy */
	char *module;
	char *file;
	uint32_t line;
	uint32_t kind;
};

struct ps_state {
	struct profile *p;
	struct fmt_perfscript_info *info;
	const char *want; /* the event asked for; NULL: the first one seen */
	bool chosen;	  /* info->event holds the event read */
	char *events[PS_MAX_EVENTS];
	size_t nr_events;

	/* the sample being read */
	bool open;  /* a header was read and its sample not yet added */
	bool chain; /* callchain lines may follow */
	bool keep;  /* the sample is of the chosen event */
	struct profile_task task;
	struct ps_frame *frames; /* leaf first */
	size_t nr_frames, cap_frames;

	uint64_t period_sum, period_n;
	uint32_t *ids;
	size_t cap_ids;
};

struct ps_token {
	const char *s;
	size_t len;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool all_digits(const char *s, size_t len)
{
	size_t i;

	if (!len)
		return false;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

static bool all_hex(const char *s, size_t len)
{
	size_t i;

	if (!len)
		return false;
	for (i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* "123", "-1", "123/456", "-1/-1" */
static bool is_pid_token(const struct ps_token *t, uint32_t *pid, uint32_t *tid)
{
	const char *slash = memchr(t->s, '/', t->len);
	const char *a = t->s, *b = slash ? slash + 1 : NULL;
	size_t la = slash ? (size_t)(slash - t->s) : t->len;
	size_t lb = slash ? t->len - la - 1 : 0;
	bool neg_a = la && *a == '-', neg_b = b && lb && *b == '-';

	if (!all_digits(a + neg_a, la - neg_a) || (b && !all_digits(b + neg_b, lb - neg_b)))
		return false;
	*pid = neg_a ? 0 : (uint32_t)strtoul(a, NULL, 10);
	*tid = b ? (neg_b ? 0 : (uint32_t)strtoul(b, NULL, 10)) : *pid;
	return true;
}

static bool is_cpu_token(const struct ps_token *t)
{
	return t->len >= 3 && t->s[0] == '[' && t->s[t->len - 1] == ']' &&
	       all_digits(t->s + 1, t->len - 2);
}

/* "SECS.FRAC:" -> ns */
static bool is_time_token(const struct ps_token *t, uint64_t *ns)
{
	const char *dot = memchr(t->s, '.', t->len);
	size_t secs_len, frac_len, i;
	uint64_t secs = 0, frac = 0;

	if (!dot || t->len < 4 || t->s[t->len - 1] != ':')
		return false;
	secs_len = (size_t)(dot - t->s);
	frac_len = t->len - secs_len - 2;
	if (!all_digits(t->s, secs_len) || !all_digits(dot + 1, frac_len) || secs_len > 10)
		return false;
	for (i = 0; i < secs_len; i++)
		secs = secs * 10 + (uint64_t)(t->s[i] - '0');
	for (i = 0; i < 9; i++)
		frac = frac * 10 + (i < frac_len ? (uint64_t)(dot[1 + i] - '0') : 0);
	*ns = secs * NSEC_PER_SEC + frac;
	return true;
}

static size_t tokenize(const char *line, size_t len, struct ps_token *tok, size_t max)
{
	size_t i = 0, n = 0, start;

	while (n < max) {
		while (i < len && is_blank(line[i]))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && !is_blank(line[i]))
			i++;
		tok[n].s = line + start;
		tok[n].len = i - start;
		n++;
	}
	return n;
}

static void frame__free(struct ps_frame *f)
{
	free(f->name);
	free(f->module);
	free(f->file);
	memset(f, 0, sizeof(*f));
}

static void state__drop_frames(struct ps_state *st)
{
	size_t i;

	for (i = 0; i < st->nr_frames; i++)
		frame__free(&st->frames[i]);
	st->nr_frames = 0;
}

/* Does event @name answer to @want? Exact, or @want plus ":modifiers". */
static bool event_matches(const char *name, const char *want)
{
	size_t wl = strlen(want);

	if (!strcmp(name, want))
		return true;
	if (strncmp(name, want, wl) || name[wl] != ':' || !name[wl + 1])
		return false;
	return strspn(name + wl + 1, PS_EVENT_MODS) == strlen(name + wl + 1);
}

/*
 * Remembers an event name for the messages: each name once, and the event
 * read (info->event) is not among info->others. Names seen before the
 * chosen event appears are others too.
 */
static void note_event(struct ps_state *st, const char *name)
{
	struct fmt_perfscript_info *info = st->info;
	size_t i, used;
	char *copy;

	for (i = 0; i < st->nr_events; i++) {
		if (!strcmp(st->events[i], name))
			return;
	}
	if (st->nr_events == PS_MAX_EVENTS)
		return;
	copy = strdup(name);
	if (!copy)
		return;
	st->events[st->nr_events++] = copy;
	if (!strcmp(info->event, name))
		return;
	used = strlen(info->others);
	snprintf(info->others + used, sizeof(info->others) - used, "%s%s", used ? ", " : "", name);
}

/* Adds the finished sample to the profile. 0 or -errno. */
static int state__flush(struct ps_state *st)
{
	const char *module = NULL;
	struct profile_frame f;
	int64_t id, stack, task;
	size_t i, n = st->nr_frames;
	int err = 0;

	if (!st->open)
		return 0;
	st->open = false;
	st->chain = false;
	if (!st->keep)
		goto out;
	if (n > st->cap_ids) {
		uint32_t *ids = realloc(st->ids, n * sizeof(*ids));

		if (!ids) {
			err = -ENOMEM;
			goto out;
		}
		st->ids = ids;
		st->cap_ids = n;
	}
	/* Leaf first in, root first out; inline frames take their caller's module. */
	for (i = n; i > 0; i--) {
		struct ps_frame *pf = &st->frames[i - 1];

		memset(&f, 0, sizeof(f));
		f.kind = pf->kind;
		f.line = pf->line;
		if (pf->kind != PROFILE_FRAME_INLINE)
			module = pf->module;
		if ((id = profile__intern(st->p, pf->name)) < 0)
			goto fail;
		f.name = (uint32_t)id;
		if (pf->module || (pf->kind == PROFILE_FRAME_INLINE && module)) {
			id = profile__intern(st->p, pf->module ? pf->module : module);
			if (id < 0)
				goto fail;
			f.module = (uint32_t)id;
		}
		if (pf->file) {
			if ((id = profile__intern(st->p, pf->file)) < 0)
				goto fail;
			f.file = (uint32_t)id;
		}
		if ((id = profile__add_frame(st->p, &f)) < 0)
			goto fail;
		st->ids[n - i] = (uint32_t)id;
	}
	stack = profile__add_stack(st->p, st->ids, (uint32_t)n);
	if (stack < 0) {
		id = stack;
		goto fail;
	}
	task = profile__add_task(st->p, &st->task);
	if (task < 0) {
		id = task;
		goto fail;
	}
	err = profile__add_sample(st->p, (uint32_t)stack, (uint32_t)task, 1);
	goto out;
fail:
	err = (int)id;
out:
	state__drop_frames(st);
	return err;
}

/* "/usr/lib/libc.so.6" -> "libc.so.6"; "[vdso]" stays. */
static const char *dso_basename(const char *dso)
{
	const char *slash = strrchr(dso, '/');

	if (dso[0] == '[' || !slash || !slash[1])
		return dso;
	return slash + 1;
}

static bool is_jit_dso(const char *dso)
{
	const char *base = dso_basename(dso);
	size_t len = strlen(base);

	if (!strncmp(dso, "[JIT]", 5))
		return true;
	if (!strncmp(base, "perf-", 5) && len > 9 && !strcmp(base + len - 4, ".map"))
		return true;
	return !strncmp(base, "jitted-", 7) && len > 10 && !strcmp(base + len - 3, ".so");
}

/* Strips a trailing "+0x1f" from the @len bytes of a symbol; returns the new length. */
static size_t strip_offset(const char *sym, size_t len)
{
	size_t i = len;

	while (i && isxdigit((unsigned char)sym[i - 1]))
		i--;
	if (i < len && i >= 3 && sym[i - 1] == 'x' && sym[i - 2] == '0' && sym[i - 3] == '+')
		return i - 3;
	return len;
}

static int state__push_frame(struct ps_state *st, struct ps_frame *f)
{
	struct ps_frame *nf;
	size_t cap;

	if (st->nr_frames == st->cap_frames) {
		cap = st->cap_frames ? st->cap_frames * 2 : 64;
		nf = realloc(st->frames, cap * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		st->frames = nf;
		st->cap_frames = cap;
	}
	st->frames[st->nr_frames++] = *f;
	return 0;
}

/*
 * Parses "ADDR [SYM[+OFF]] [(DSO)|(inlined)]" (leading blanks skipped).
 * Returns 1 and appends the frame, 0 when the text is not a frame, -ENOMEM.
 */
static int parse_frame(struct ps_state *st, const char *s, size_t len)
{
	const char *addr, *sym, *dso = NULL, *open;
	size_t addr_len, sym_len, dso_len = 0;
	struct ps_frame f = {0};
	uint64_t ip;
	bool inlined = false;
	char *name = NULL;

	while (len && is_blank(*s))
		s++, len--;
	while (len && is_blank(s[len - 1]))
		len--;
	addr = s;
	for (addr_len = 0; addr_len < len && !is_blank(s[addr_len]); addr_len++)
		;
	if (!all_hex(addr, addr_len) || addr_len > 16)
		return 0;
	ip = strtoull(addr, NULL, 16);
	sym = addr + addr_len;
	sym_len = len - addr_len;
	while (sym_len && is_blank(*sym))
		sym++, sym_len--;

	if (sym_len >= 9 && !memcmp(sym + sym_len - 9, "(inlined)", 9) &&
	    (sym_len == 9 || is_blank(sym[sym_len - 10]))) {
		inlined = true;
		sym_len -= 9;
	} else if (sym_len && sym[sym_len - 1] == ')') {
		/* The last " (" opens the DSO: symbols may hold parentheses themselves. */
		for (open = sym + sym_len - 1; open > sym; open--) {
			if (*open == '(' && is_blank(open[-1]))
				break;
		}
		if (*open == '(' && (open == sym || is_blank(open[-1]))) {
			dso = open + 1;
			dso_len = (size_t)(sym + sym_len - 1 - dso);
			sym_len = (size_t)(open - sym);
		}
	}
	while (sym_len && is_blank(sym[sym_len - 1]))
		sym_len--;
	sym_len = strip_offset(sym, sym_len);

	if (dso && dso_len && strncmp(dso, PS_UNKNOWN, dso_len)) {
		char *full = strndup(dso, dso_len);

		if (!full)
			return -ENOMEM;
		f.module = strdup(dso_basename(full));
		if (!f.module) {
			free(full);
			return -ENOMEM;
		}
		if (!strcmp(full, PS_KERNEL_DSO) || !strcmp(full, "[guest.kernel.kallsyms]"))
			f.kind = PROFILE_FRAME_KERNEL;
		else if (is_jit_dso(full))
			f.kind = PROFILE_FRAME_JIT;
		free(full);
	}
	if (ip >> 63 && f.kind == PROFILE_FRAME_USER)
		f.kind = PROFILE_FRAME_KERNEL;
	if (inlined)
		f.kind = PROFILE_FRAME_INLINE;

	if (!sym_len || (sym_len == strlen(PS_UNKNOWN) && !memcmp(sym, PS_UNKNOWN, sym_len))) {
		/* DESIGN: never a bare [unknown] when the module is known. */
		if (f.module && f.module[0] == '[')
			name = strdup(f.module);
		else if (f.module && asprintf(&name, "[%s]", f.module) < 0)
			name = NULL;
		else if (!f.module)
			name = strdup(PS_UNKNOWN);
	} else {
		name = strndup(sym, sym_len);
	}
	f.name = name;
	if (!f.name || state__push_frame(st, &f)) {
		frame__free(&f);
		return -ENOMEM;
	}
	return 1;
}

/* "  FILE:LINE" after a frame (perf script -F +srcline). 1 if taken, 0 if not, -ENOMEM. */
static int parse_srcline(struct ps_state *st, const char *s, size_t len)
{
	struct ps_frame *f;
	const char *colon;
	size_t i, flen;

	while (len && is_blank(*s))
		s++, len--;
	while (len && is_blank(s[len - 1]))
		len--;
	colon = len ? memrchr(s, ':', len) : NULL;
	if (!colon || colon == s || !all_digits(colon + 1, len - (size_t)(colon - s) - 1))
		return 0;
	flen = (size_t)(colon - s);
	for (i = 0; i < flen; i++) {
		if (is_blank(s[i]))
			return 0;
	}
	if (!st->nr_frames)
		return 1; /* a source line with no frame to go with: nothing to keep */
	f = &st->frames[st->nr_frames - 1];
	if (!strncmp(s, "??", flen) && flen == 2)
		return 1;
	free(f->file);
	f->file = strndup(s, flen);
	if (!f->file)
		return -ENOMEM;
	f->line = (uint32_t)strtoul(colon + 1, NULL, 10);
	return 1;
}

/* Selects the sample's event; sets st->keep. */
static void choose_event(struct ps_state *st, const char *name)
{
	struct fmt_perfscript_info *info = st->info;

	if (!st->chosen && (!st->want || event_matches(name, st->want))) {
		snprintf(info->event, sizeof(info->event), "%s", name);
		st->chosen = true;
	}
	st->keep = st->chosen && !strcmp(info->event, name);
	if (name[0])
		note_event(st, name);
}

/*
 * Parses a sample header. Returns 1 when the line is one (the sample is
 * opened), 0 when it is not, or -errno.
 */
static int parse_header(struct ps_state *st, const char *line, size_t len)
{
	struct ps_token tok[PS_MAX_TOKENS];
	size_t n = tokenize(line, len, tok, PS_MAX_TOKENS), k, pid_at = 0, next;
	uint32_t pid = 0, tid = 0;
	uint64_t ns = 0, period = 0;
	bool has_period = false;
	char event[128] = "";
	const char *rest;
	int64_t comm;
	int err;

	for (k = 1; k < n; k++) {
		if (!is_time_token(&tok[k], &ns))
			continue;
		pid_at = k - 1;
		if (is_cpu_token(&tok[pid_at]) && pid_at > 0)
			pid_at--;
		if (pid_at >= 1 && is_pid_token(&tok[pid_at], &pid, &tid))
			break;
	}
	if (k >= n)
		return 0;

	err = state__flush(st);
	if (err)
		return err;
	next = k + 1;
	if (next < n && all_digits(tok[next].s, tok[next].len) && tok[next].len < 20) {
		period = strtoull(tok[next].s, NULL, 10);
		has_period = true;
		next++;
	}
	if (next < n && tok[next].len > 1 && tok[next].s[tok[next].len - 1] == ':') {
		snprintf(event, sizeof(event), "%.*s", (int)tok[next].len - 1, tok[next].s);
		next++;
	}
	choose_event(st, event);

	memset(&st->task, 0, sizeof(st->task));
	comm = profile__intern_n(st->p, tok[0].s,
				 (size_t)(tok[pid_at - 1].s + tok[pid_at - 1].len - tok[0].s));
	if (comm < 0)
		return (int)comm;
	st->task.comm = (uint32_t)comm;
	st->task.pid = pid;
	st->task.tid = tid;
	st->open = true;
	st->chain = true;
	if (st->keep) {
		if (!st->info->samples || ns < st->info->first_ns)
			st->info->first_ns = ns;
		if (ns > st->info->last_ns)
			st->info->last_ns = ns;
		st->info->samples++;
		if (has_period) {
			st->period_sum += period;
			st->period_n++;
		}
	} else {
		st->info->skipped++;
	}

	/* Without callchains the sample's one frame follows the event on this line. */
	if (next < n) {
		rest = tok[next].s;
		err = parse_frame(st, rest, (size_t)(line + len - rest));
		if (err < 0)
			return err;
		if (err == 1)
			st->chain = false;
	}
	return 1;
}

/* "# captured on    : Sat Nov 21 10:32:31 2026" (local time, as ctime prints it) */
static void parse_comment(struct ps_state *st, const char *line)
{
	const char *p = strstr(line, "captured on"), *colon;
	struct tm tm;
	time_t t;

	if (!p || !(colon = strchr(p, ':')))
		return;
	memset(&tm, 0, sizeof(tm));
	p = colon + 1;
	while (is_blank(*p))
		p++;
	if (!strptime(p, "%a %b %d %H:%M:%S %Y", &tm))
		return;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t > 0)
		st->info->captured_ns = (uint64_t)t * NSEC_PER_SEC;
}

static int parse_line(struct ps_state *st, char *line, size_t len)
{
	size_t i;
	int r;

	for (i = 0; i < len && is_blank(line[i]); i++)
		;
	if (i == len)
		return state__flush(st); /* a blank line ends a sample */
	if (!i && line[0] == '#') {
		parse_comment(st, line);
		return 0;
	}
	if (i && st->open && st->chain) {
		r = parse_frame(st, line, len);
		if (r)
			return r < 0 ? r : 0;
	}
	if (i && st->open) {
		r = parse_srcline(st, line, len);
		if (r)
			return r < 0 ? r : 0;
	}
	r = parse_header(st, line, len);
	if (r)
		return r < 0 ? r : 0;
	return -EINVAL;
}

static bool is_clock_event(const char *name)
{
	size_t n = strcspn(name, ":");

	return (n == 9 && !strncmp(name, "cpu-clock", 9)) ||
	       (n == 10 && !strncmp(name, "task-clock", 10));
}

static void set_period(struct ps_state *st)
{
	struct profile_meta *m = profile__meta(st->p);
	uint64_t period;

	if (!st->period_n || !is_clock_event(st->info->event) || m->period_ns)
		return;
	period = (st->period_sum + st->period_n / 2) / st->period_n;
	if (!period)
		return;
	m->period_ns = period;
	if (!m->freq_hz)
		m->freq_hz = (uint32_t)((NSEC_PER_SEC + period / 2) / period);
}

int fmt_perfscript__read(struct profile *p, FILE *in, const char *event,
			 struct fmt_perfscript_info *info)
{
	struct fmt_perfscript_info local;
	struct ps_state st = {.p = p, .want = event};
	unsigned long lineno = 0;
	size_t cap = 0, len, i;
	char *line = NULL;
	ssize_t got;
	int err = 0;

	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	st.info = info;
	if (!p || !in)
		return -EINVAL;
	for (;;) {
		errno = 0;
		got = getline(&line, &cap, in);
		if (got < 0) {
			if (ferror(in))
				err = errno ? -errno : -EIO;
			else if (errno == ENOMEM)
				err = -ENOMEM;
			break;
		}
		lineno++;
		len = (size_t)got;
		if (len && line[len - 1] == '\n')
			len--;
		if (len && line[len - 1] == '\r')
			len--;
		line[len] = '\0';
		if (memchr(line, '\0', len)) {
			err = -EINVAL;
		} else {
			err = parse_line(&st, line, len);
		}
		if (err) {
			if (err == -EINVAL)
				info->bad_line = lineno;
			break;
		}
	}
	if (!err)
		err = state__flush(&st);
	if (!err)
		set_period(&st);
	if (!err && event && !st.chosen)
		err = -ENOENT;
	state__drop_frames(&st);
	free(st.frames);
	free(st.ids);
	for (i = 0; i < st.nr_events; i++)
		free(st.events[i]);
	free(line);
	return err;
}

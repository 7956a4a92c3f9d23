/*
 * The JSON API under /api/v1/ (docs/api.md): meta, timeline, processes,
 * flamegraph, diff, top and export. Each endpoint validates every query
 * argument (unknown ones included) and answers 400 with a message on the
 * first bad one; ranges, node budgets and list lengths are bounded so one
 * request cannot take unbounded memory. The database is only read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/formats.h"
#include "ember/profile.h"
#include "ember/storage.h"
#include "ember/units.h"
#include "ember/web.h"
#include "web_int.h"

#define NS_PER_MS  ((uint64_t)1000000)
#define NS_PER_SEC ((uint64_t)1000000000)

/* Arguments every range endpoint takes. */
#define RANGE_ARGS "from", "to", "pid", "comm", "exe", "cgroup"

struct query {
	struct store_filter f;
	struct store_filter base; /* diff: range A */
	uint32_t max_nodes, top, limit;
	uint64_t step_ns;
	bool sort_total;
	int format;
};

/* An output buffer: a memstream, with the first error kept. */
struct out {
	FILE *f;
	char *buf;
	size_t len;
};

static int out__open(struct out *o)
{
	o->buf = NULL;
	o->len = 0;
	o->f = open_memstream(&o->buf, &o->len);
	return o->f ? 0 : -ENOMEM;
}

/* Closes the stream and moves its bytes into @r as a JSON 200 reply. */
static void out__reply(struct out *o, struct web_reply *r)
{
	bool bad = ferror(o->f);

	if (fclose(o->f) || bad) {
		free(o->buf);
		web_reply__error(r, 500, "out of memory while writing the reply");
		return;
	}
	r->status = 200;
	r->body = o->buf;
	r->len = o->len;
	r->type = "application/json";
}

void web_reply__free(struct web_reply *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

void web_reply__error(struct web_reply *r, unsigned int status, const char *fmt, ...)
{
	char msg[1024];
	struct out o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	web_reply__free(r);
	r->status = status;
	r->type = "application/json";
	r->filename[0] = '\0';
	if (out__open(&o))
		return;
	fputs("{\"error\":", o.f);
	fmt_json__write_string(o.f, msg);
	fputs("}\n", o.f);
	if (fclose(o.f)) {
		free(o.buf);
		return;
	}
	r->body = o.buf;
	r->len = o.len;
}

/* ---- arguments -------------------------------------------------------------- */

static const char *arg(const struct web_arg *args, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(args[i].key, key))
			return args[i].value;
	return NULL;
}

/* Every argument must be known to the endpoint and given once. */
static int check_known(const char *endpoint, const struct web_arg *args, size_t n,
		       const char *const *known, struct web_reply *r)
{
	size_t i, j;
	bool ok;

	for (i = 0; i < n; i++) {
		ok = false;
		for (j = 0; known[j] && !ok; j++)
			ok = !strcmp(args[i].key, known[j]);
		if (!ok) {
			web_reply__error(r, 400, "unknown parameter '%.64s' for /api/v1/%s",
					 args[i].key, endpoint);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (!strcmp(args[i].key, args[j].key)) {
				web_reply__error(r, 400, "parameter '%.64s' given twice",
						 args[i].key);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9' || strlen(s) > 10)
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int get_u32(const struct web_arg *args, size_t n, const char *key, uint32_t min,
		   uint32_t max, uint32_t dflt, uint32_t *out, struct web_reply *r)
{
	const char *v = arg(args, n, key);

	*out = dflt;
	if (!v)
		return 0;
	if (parse_u32(v, min, max, out)) {
		web_reply__error(r, 400, "%s must be a whole number from %" PRIu32 " to %" PRIu32,
				 key, min, max);
		return -EINVAL;
	}
	return 0;
}

static int get_text(const struct web_arg *args, size_t n, const char *key, const char **out,
		    struct web_reply *r)
{
	const char *v = arg(args, n, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!*v || strlen(v) > 1024) {
		web_reply__error(r, 400, "%s must be 1 to 1024 characters long", key);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int get_time(const struct web_api_ctx *ctx, const struct web_arg *args, size_t n,
		    const char *key, const char *dflt, uint64_t *out, struct web_reply *r)
{
	const char *v = arg(args, n, key);

	if (!v)
		v = dflt;
	if (units__parse_time(v, ctx->now_ns, out)) {
		web_reply__error(r, 400,
				 "%s: '%.64s' is not a time: use RFC 3339 (2026-11-21T03:10:00Z), "
				 "Unix seconds, 'now' or a relative time (-15m, -2h, -7d)",
				 key, v);
		return -EINVAL;
	}
	return 0;
}

static int check_range(const char *what, uint64_t from, uint64_t to, struct web_reply *r)
{
	if (from >= to) {
		web_reply__error(r, 400, "%s: the range is empty ('from' must be before 'to')",
				 what);
		return -EINVAL;
	}
	if (to - from > WEB_MAX_RANGE_NS) {
		web_reply__error(r, 400, "%s: the range is longer than %llu days; ask for less",
				 what, (unsigned long long)(WEB_MAX_RANGE_NS / NS_PER_SEC / 86400));
		return -EINVAL;
	}
	return 0;
}

/* from, to and the task filters. */
static int get_filter(const struct web_api_ctx *ctx, const struct web_arg *args, size_t n,
		      struct query *q, struct web_reply *r)
{
	if (get_time(ctx, args, n, "from", "-1h", &q->f.from_ns, r) ||
	    get_time(ctx, args, n, "to", "now", &q->f.to_ns, r) ||
	    check_range("from/to", q->f.from_ns, q->f.to_ns, r) ||
	    get_u32(args, n, "pid", 1, 0x3fffffff, 0, &q->f.pid, r) ||
	    get_text(args, n, "comm", &q->f.comm, r) || get_text(args, n, "exe", &q->f.exe, r) ||
	    get_text(args, n, "cgroup", &q->f.cgroup, r))
		return -EINVAL;
	return 0;
}

/* ---- JSON bits ------------------------------------------------------------- */

static void json_str_member(FILE *f, const char *key, const char *v)
{
	fprintf(f, ",\"%s\":", key);
	if (v)
		fmt_json__write_string(f, v);
	else
		fputs("null", f);
}

/* "query":{...}: the range and filters as understood, so clients see the defaults. */
static void write_query(FILE *f, const struct query *q, bool diff)
{
	fprintf(f, "\"query\":{\"from_ms\":%" PRIu64 ",\"to_ms\":%" PRIu64,
		q->f.from_ns / NS_PER_MS, q->f.to_ns / NS_PER_MS);
	if (diff)
		fprintf(f, ",\"base_from_ms\":%" PRIu64 ",\"base_to_ms\":%" PRIu64,
			q->base.from_ns / NS_PER_MS, q->base.to_ns / NS_PER_MS);
	if (q->f.pid)
		fprintf(f, ",\"pid\":%" PRIu32, q->f.pid);
	else
		fputs(",\"pid\":null", f);
	json_str_member(f, "comm", q->f.comm);
	json_str_member(f, "exe", q->f.exe);
	json_str_member(f, "cgroup", q->f.cgroup);
	fputs("}", f);
}

static void write_meta(FILE *f, const char *key, const struct profile *p)
{
	const struct profile_meta *m = profile__meta_c(p);

	fprintf(f,
		"\"%s\":{\"start_ms\":%" PRIu64 ",\"end_ms\":%" PRIu64 ",\"freq_hz\":%" PRIu32
		",\"period_ns\":%" PRIu64 ",\"lost\":{\"samples\":%" PRIu64
		",\"kstack_errors\":%" PRIu64 ",\"ustack_errors\":%" PRIu64
		",\"stack_collisions\":%" PRIu64 ",\"stack_map_full\":%" PRIu64
		",\"count_map_full\":%" PRIu64 ",\"ringbuf_full\":%" PRIu64
		",\"truncated\":%" PRIu64 "}}",
		key, m->start_ns / NS_PER_MS, m->end_ns / NS_PER_MS, m->freq_hz, m->period_ns,
		m->lost.samples, m->lost.kstack_errors, m->lost.ustack_errors,
		m->lost.stack_collisions, m->lost.stack_map_full, m->lost.count_map_full,
		m->lost.ringbuf_full, m->lost.truncated);
}

static void store_error(const struct web_api_ctx *ctx, int err, struct web_reply *r)
{
	if (err == -EINVAL)
		web_reply__error(r, 500, "the database has a damaged record: %s",
				 store__errmsg(ctx->st));
	else if (err == -ENOMEM)
		web_reply__error(r, 503, "out of memory: ask for a shorter range or a filter");
	else if (err == -EBUSY)
		web_reply__error(r, 503, "the database is busy; try again");
	else
		web_reply__error(r, 500, "database error: %s (%s)", strerror(-err),
				 store__errmsg(ctx->st));
}

/* Reads the samples of @f into a new profile; NULL with @r set on failure. */
static struct profile *load(const struct web_api_ctx *ctx, const struct store_filter *f,
			    struct web_reply *r)
{
	struct profile *p = profile__new();
	int err;

	if (!p) {
		web_reply__error(r, 503, "out of memory");
		return NULL;
	}
	err = store__query(ctx->st, f, p);
	if (err) {
		store_error(ctx, err, r);
		profile__free(p);
		return NULL;
	}
	if (profile__stack_count(p) > WEB_MAX_PROFILE_STACKS) {
		web_reply__error(r, 413,
				 "the range holds %" PRIu32 " distinct stacks, more than %d: "
				 "ask for a shorter range or filter by process",
				 profile__stack_count(p), WEB_MAX_PROFILE_STACKS);
		profile__free(p);
		return NULL;
	}
	return p;
}

/* ---- endpoints -------------------------------------------------------------- */

static void api_meta(const struct web_api_ctx *ctx, struct web_reply *r)
{
	struct store_info info;
	char t1[64], t2[64];
	struct out o;
	int err, k;

	err = store__info(ctx->st, &info);
	if (err) {
		store_error(ctx, err, r);
		return;
	}
	if (out__open(&o)) {
		web_reply__error(r, 503, "out of memory");
		return;
	}
	fprintf(o.f, "{\"version\":\"%s\"", EMBER_VERSION);
	json_str_member(o.f, "host", ctx->host);
	fprintf(o.f, ",\"now_ms\":%" PRIu64 ",\"database\":{\"path\":", ctx->now_ns / NS_PER_MS);
	fmt_json__write_string(o.f, ctx->db_path);
	if (info.windows) {
		fprintf(o.f, ",\"first_ms\":%" PRIu64 ",\"last_ms\":%" PRIu64,
			info.first_ns / NS_PER_MS, info.last_ns / NS_PER_MS);
		json_str_member(o.f, "first", units__format_time(info.first_ns, t1, sizeof(t1)));
		json_str_member(o.f, "last", units__format_time(info.last_ns, t2, sizeof(t2)));
	} else {
		fputs(",\"first_ms\":null,\"last_ms\":null,\"first\":null,\"last\":null", o.f);
	}
	fprintf(o.f,
		",\"windows\":%" PRIu64 ",\"samples\":%" PRIu64 ",\"stacks\":%" PRIu64
		",\"bytes\":%" PRIu64 ",\"schema_version\":%d}",
		info.windows, info.samples, info.stacks, info.file_bytes, info.schema_version);
	fprintf(o.f,
		",\"limits\":{\"max_range_s\":%llu,\"default_nodes\":%d,\"min_nodes\":%d,"
		"\"max_nodes\":%d,\"max_top\":%d,\"max_points\":%d}",
		(unsigned long long)(WEB_MAX_RANGE_NS / NS_PER_SEC), WEB_DEFAULT_NODES,
		WEB_MIN_NODES, WEB_MAX_NODES, WEB_MAX_TOP, WEB_MAX_POINTS);
	fputs(",\"formats\":[", o.f);
	for (k = 0; fmt__kind_name((enum fmt_kind)k); k++)
		fprintf(o.f, "%s\"%s\"", k ? "," : "", fmt__kind_name((enum fmt_kind)k));
	fputs("]}\n", o.f);
	out__reply(&o, r);
}

/*
 * A step that gives about 300 points, rounded up to a step people read easily;
 * never under the daemon's default window (10 s), which would draw gaps.
 */
static uint64_t auto_step(uint64_t range_ns)
{
	static const uint64_t steps_s[] = {
		10,   15,   30,	   60,	  120,	 300,	600,	900,	1800,
		3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800,
	};
	uint64_t want = range_ns / 300;
	size_t i;

	for (i = 0; i < sizeof(steps_s) / sizeof(steps_s[0]); i++)
		if (steps_s[i] * NS_PER_SEC >= want)
			return steps_s[i] * NS_PER_SEC;
	return steps_s[i - 1] * NS_PER_SEC;
}

static void api_timeline(const struct web_api_ctx *ctx, const struct web_arg *args, size_t n,
			 struct web_reply *r)
{
	static const char *const known[] = {RANGE_ARGS, "step", NULL};
	struct store_point *pts = NULL;
	struct query q = {0};
	size_t nr = 0, i;
	uint64_t total = 0;
	const char *step;
	struct out o;
	int err;

	if (check_known("timeline", args, n, known, r) || get_filter(ctx, args, n, &q, r))
		return;
	step = arg(args, n, "step");
	if (step) {
		if (units__parse_duration(step, &q.step_ns) || q.step_ns < NS_PER_SEC) {
			web_reply__error(r, 400,
					 "step: '%.64s' is not a duration of 1 s or more (10s, "
					 "1m, 1h)",
					 step);
			return;
		}
	} else {
		q.step_ns = auto_step(q.f.to_ns - q.f.from_ns);
	}
	if ((q.f.to_ns - q.f.from_ns) / q.step_ns >= WEB_MAX_POINTS) {
		web_reply__error(r, 400, "step: that makes more than %d points; use a longer step",
				 WEB_MAX_POINTS);
		return;
	}
	err = store__timeline(ctx->st, &q.f, q.step_ns, &pts, &nr);
	if (err) {
		store_error(ctx, err, r);
		return;
	}
	if (out__open(&o)) {
		free(pts);
		web_reply__error(r, 503, "out of memory");
		return;
	}
	fputc('{', o.f);
	write_query(o.f, &q, false);
	fprintf(o.f, ",\"step_ms\":%" PRIu64 ",\"points\":[", q.step_ns / NS_PER_MS);
	for (i = 0; i < nr; i++) {
		fprintf(o.f, "%s[%" PRIu64 ",%" PRIu64 "]", i ? "," : "", pts[i].t_ns / NS_PER_MS,
			pts[i].samples);
		total += pts[i].samples;
	}
	fprintf(o.f, "],\"total\":%" PRIu64 "}\n", total);
	free(pts);
	out__reply(&o, r);
}

static void api_processes(const struct web_api_ctx *ctx, const struct web_arg *args, size_t n,
			  struct web_reply *r)
{
	static const char *const known[] = {RANGE_ARGS, "limit", NULL};
	struct store_process *v = NULL;
	struct query q = {0};
	size_t nr = 0, i, shown;
	struct out o;
	int err;

	if (check_known("processes", args, n, known, r) || get_filter(ctx, args, n, &q, r) ||
	    get_u32(args, n, "limit", 1, 10000, 500, &q.limit, r))
		return;
	err = store__processes(ctx->st, &q.f, &v, &nr);
	if (err) {
		store_error(ctx, err, r);
		return;
	}
	if (out__open(&o)) {
		store__processes_free(v, nr);
		web_reply__error(r, 503, "out of memory");
		return;
	}
	shown = nr < q.limit ? nr : q.limit;
	fputc('{', o.f);
	write_query(o.f, &q, false);
	fprintf(o.f, ",\"count\":%zu,\"truncated\":%s,\"processes\":[", nr,
		shown < nr ? "true" : "false");
	for (i = 0; i < shown; i++) {
		fprintf(o.f, "%s\n{\"pid\":%" PRIu32 ",\"start_time_ms\":%" PRIu64, i ? "," : "",
			v[i].pid, v[i].start_time / NS_PER_MS);
		json_str_member(o.f, "comm", v[i].comm);
		json_str_member(o.f, "exe", v[i].exe && *v[i].exe ? v[i].exe : NULL);
		json_str_member(o.f, "cgroup", v[i].cgroup && *v[i].cgroup ? v[i].cgroup : NULL);
		fprintf(o.f, ",\"samples\":%" PRIu64 "}", v[i].samples);
	}
	fputs("]}\n", o.f);
	store__processes_free(v, nr);
	out__reply(&o, r);
}

static int get_tree_args(const struct web_arg *args, size_t n, struct query *q, struct web_reply *r)
{
	return get_u32(args, n, "max_nodes", WEB_MIN_NODES, WEB_MAX_NODES, WEB_DEFAULT_NODES,
		       &q->max_nodes, r) ||
	       get_u32(args, n, "top", 1, WEB_MAX_TOP, WEB_DEFAULT_TOP, &q->top, r);
}

/* Writes the tree of @p (against @base for a diff) with the query and metas. */
static void reply_tree(const struct query *q, const struct profile *p, const struct profile *base,
		       struct web_reply *r)
{
	struct fmt_tree_opts o = {.max_nodes = q->max_nodes, .max_top = q->top};
	struct out extra, doc;
	struct fmt_tree *t;

	t = fmt_tree__build(p, base, &o);
	if (!t) {
		web_reply__error(r, 503, "out of memory building the flamegraph: %s",
				 strerror(errno));
		return;
	}
	if (out__open(&extra)) {
		fmt_tree__free(t);
		web_reply__error(r, 503, "out of memory");
		return;
	}
	write_query(extra.f, q, base != NULL);
	fprintf(extra.f, ",\"max_nodes\":%" PRIu32 ",", q->max_nodes);
	write_meta(extra.f, "meta", p);
	if (base) {
		fputc(',', extra.f);
		write_meta(extra.f, "base_meta", base);
	}
	if (fclose(extra.f) || out__open(&doc)) {
		free(extra.buf);
		fmt_tree__free(t);
		web_reply__error(r, 503, "out of memory");
		return;
	}
	fmt_tree__write_json(t, extra.buf, doc.f);
	free(extra.buf);
	fmt_tree__free(t);
	out__reply(&doc, r);
}

static void api_flamegraph(const struct web_api_ctx *ctx, const struct web_arg *args, size_t n,
			   struct web_reply *r)
{
	static const char *const known[] = {RANGE_ARGS, "max_nodes", "top", NULL};
	struct query q = {0};
	struct profile *p;

	if (check_known("flamegraph", args, n, known, r) || get_filter(ctx, args, n, &q, r) ||
	    get_tree_args(args, n, &q, r))
		return;
	p = load(ctx, &q.f, r);
	if (!p)
		return;
	reply_tree(&q, p, NULL, r);
	profile__free(p);
}

static void api_diff(const struct web_api_ctx *ctx, const struct web_arg *args, size_t n,
		     struct web_reply *r)
{
	static const char *const known[] = {RANGE_ARGS,	 "base_from", "base_to",
					    "max_nodes", "top",	      NULL};
	struct profile *a, *b;
	struct query q = {0};

	if (check_known("diff", args, n, known, r) || get_filter(ctx, args, n, &q, r) ||
	    get_tree_args(args, n, &q, r))
		return;
	if (!arg(args, n, "base_from") || !arg(args, n, "base_to")) {
		web_reply__error(r, 400,
				 "diff needs the range to compare against: base_from and "
				 "base_to (range A; from and to are range B)");
		return;
	}
	q.base = q.f;
	if (get_time(ctx, args, n, "base_from", NULL, &q.base.from_ns, r) ||
	    get_time(ctx, args, n, "base_to", NULL, &q.base.to_ns, r) ||
	    check_range("base_from/base_to", q.base.from_ns, q.base.to_ns, r))
		return;
	b = load(ctx, &q.f, r);
	if (!b)
		return;
	a = load(ctx, &q.base, r);
	if (a) {
		reply_tree(&q, b, a, r);
		profile__free(a);
	}
	profile__free(b);
}

static const char *const kind_names[FMT_TREE_NR_KINDS] = {
	"user", "kernel", "jit", "inline", "special", "root", "comm",
};

static int by_total_desc(const void *a, const void *b)
{
	const struct fmt_tree_func *fa = *(const struct fmt_tree_func *const *)a;
	const struct fmt_tree_func *fb = *(const struct fmt_tree_func *const *)b;

	if (fa->total != fb->total)
		return fa->total > fb->total ? -1 : 1;
	if (fa->self != fb->self)
		return fa->self > fb->self ? -1 : 1;
	return fa < fb ? -1 : fa > fb;
}

static void write_top_rows(FILE *f, const struct fmt_tree *t, const struct query *q)
{
	const struct fmt_tree_func *v, **rows;
	size_t n, i, shown;

	v = fmt_tree__top(t, &n);
	rows = calloc(n + 1, sizeof(*rows));
	if (!rows) {
		fputs("null", f);
		return;
	}
	for (i = 0; i < n; i++)
		rows[i] = &v[i];
	if (q->sort_total)
		qsort(rows, n, sizeof(*rows), by_total_desc);
	shown = n < q->limit ? n : q->limit;
	fputc('[', f);
	for (i = 0; i < shown; i++) {
		fputs(i ? ",\n{\"name\":" : "\n{\"name\":", f);
		fmt_json__write_string(f, fmt_tree__str(t, rows[i]->name));
		json_str_member(f, "module", fmt_tree__str(t, rows[i]->module));
		fprintf(f, ",\"kind\":\"%s\",\"self\":%" PRIu64 ",\"total\":%" PRIu64 "}",
			rows[i]->kind < FMT_TREE_NR_KINDS ? kind_names[rows[i]->kind] : "special",
			rows[i]->self, rows[i]->total);
	}
	fputc(']', f);
	free(rows);
}

static void api_top(const struct web_api_ctx *ctx, const struct web_arg *args, size_t n,
		    struct web_reply *r)
{
	static const char *const known[] = {RANGE_ARGS, "sort", "limit", NULL};
	struct fmt_tree_opts opts = {.max_nodes = 2};
	struct query q = {0};
	const char *sort;
	struct fmt_tree *t;
	struct profile *p;
	struct out o;

	if (check_known("top", args, n, known, r) || get_filter(ctx, args, n, &q, r) ||
	    get_u32(args, n, "limit", 1, WEB_MAX_TOP, 100, &q.limit, r))
		return;
	sort = arg(args, n, "sort");
	if (sort && strcmp(sort, "self") && strcmp(sort, "total")) {
		web_reply__error(r, 400, "sort must be 'self' or 'total'");
		return;
	}
	q.sort_total = sort && !strcmp(sort, "total");
	opts.max_top = q.limit;
	p = load(ctx, &q.f, r);
	if (!p)
		return;
	t = fmt_tree__build(p, NULL, &opts);
	if (!t || out__open(&o)) {
		fmt_tree__free(t);
		profile__free(p);
		web_reply__error(r, 503, "out of memory");
		return;
	}
	fputc('{', o.f);
	write_query(o.f, &q, false);
	fprintf(o.f, ",\"total\":%" PRIu64 ",\"functions\":%zu,\"sort\":\"%s\",\"rows\":",
		profile__total(p), fmt_tree__funcs(t), q.sort_total ? "total" : "self");
	write_top_rows(o.f, t, &q);
	fputs("}\n", o.f);
	fmt_tree__free(t);
	profile__free(p);
	out__reply(&o, r);
}

static const char *export_type(enum fmt_kind k)
{
	switch (k) {
	case FMT_SVG:
		return "image/svg+xml";
	case FMT_HTML:
		return "text/html; charset=utf-8";
	case FMT_PPROF:
		return "application/octet-stream";
	case FMT_SPEEDSCOPE:
	case FMT_JSON:
		return "application/json";
	default:
		return "text/plain; charset=utf-8";
	}
}

static const char *export_ext(enum fmt_kind k)
{
	switch (k) {
	case FMT_SVG:
		return "svg";
	case FMT_HTML:
		return "html";
	case FMT_PPROF:
		return "pb.gz";
	case FMT_SPEEDSCOPE:
		return "speedscope.json";
	case FMT_JSON:
		return "json";
	default:
		return "folded";
	}
}

static void api_export(const struct web_api_ctx *ctx, const struct web_arg *args, size_t n,
		       struct web_reply *r)
{
	static const char *const known[] = {RANGE_ARGS, "format", NULL};
	const char *name = arg(args, n, "format");
	struct query q = {0};
	struct profile *p;
	struct out o;
	char t1[64];
	int err;

	if (check_known("export", args, n, known, r) || get_filter(ctx, args, n, &q, r))
		return;
	q.format = fmt__parse_kind(name ? name : "folded");
	if (q.format < 0) {
		web_reply__error(
			r, 400,
			"format: '%.32s' is unknown (folded, svg, html, pprof, speedscope, "
			"json)",
			name);
		return;
	}
	p = load(ctx, &q.f, r);
	if (!p)
		return;
	if (out__open(&o)) {
		profile__free(p);
		web_reply__error(r, 503, "out of memory");
		return;
	}
	err = fmt__write(p, (enum fmt_kind)q.format, NULL, o.f);
	profile__free(p);
	if (fclose(o.f))
		err = err ? err : -ENOMEM;
	if (!err && o.len > WEB_MAX_EXPORT_BYTES)
		err = -EFBIG;
	if (err) {
		free(o.buf);
		if (err == -ENOTSUP)
			web_reply__error(r, 501, "format '%s' is not built into this ember yet",
					 fmt__kind_name((enum fmt_kind)q.format));
		else if (err == -EFBIG)
			web_reply__error(r, 413, "the export is larger than %lu MiB: ask for less",
					 WEB_MAX_EXPORT_BYTES >> 20);
		else
			web_reply__error(r, 500, "writing %s failed: %s",
					 fmt__kind_name((enum fmt_kind)q.format), strerror(-err));
		return;
	}
	r->status = 200;
	r->body = o.buf;
	r->len = o.len;
	r->type = export_type((enum fmt_kind)q.format);
	/* ember-2026-11-21T03:10:00.000Z.folded, without the characters file systems dislike. */
	units__format_time(q.f.from_ns, t1, sizeof(t1));
	for (char *c = t1; *c; c++)
		if (*c == ':')
			*c = '-';
	snprintf(r->filename, sizeof(r->filename), "ember-%s.%s", t1,
		 export_ext((enum fmt_kind)q.format));
}

void web_api__handle(const struct web_api_ctx *ctx, const char *endpoint,
		     const struct web_arg *args, size_t nargs, struct web_reply *r)
{
	static const char *const none[] = {NULL};

	memset(r, 0, sizeof(*r));
	if (!strcmp(endpoint, "meta")) {
		if (!check_known("meta", args, nargs, none, r))
			api_meta(ctx, r);
	} else if (!strcmp(endpoint, "timeline")) {
		api_timeline(ctx, args, nargs, r);
	} else if (!strcmp(endpoint, "processes")) {
		api_processes(ctx, args, nargs, r);
	} else if (!strcmp(endpoint, "flamegraph")) {
		api_flamegraph(ctx, args, nargs, r);
	} else if (!strcmp(endpoint, "diff")) {
		api_diff(ctx, args, nargs, r);
	} else if (!strcmp(endpoint, "top")) {
		api_top(ctx, args, nargs, r);
	} else if (!strcmp(endpoint, "export")) {
		api_export(ctx, args, nargs, r);
	} else {
		web_reply__error(r, 404,
				 "no such endpoint: /api/v1/%.64s (meta, timeline, processes, "
				 "flamegraph, diff, top, export)",
				 endpoint);
	}
}

bool web__static_path_ok(const char *path)
{
	const char *seg = path, *c;

	if (!path || !*path || strlen(path) > 255)
		return false;
	for (c = path;; c++) {
		if (*c == '/' || !*c) {
			/* Empty segments, ".", ".." and hidden files are refused. */
			if (c == seg || *seg == '.')
				return false;
			if (!*c)
				return true;
			seg = c + 1;
			continue;
		}
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
			return false;
	}
}

/*
 * Unit tests for the protobuf encoder (formats/protobuf.c) and the pprof
 * writer (formats/pprof.c). The writer's output is gunzipped and decoded by a
 * small profile.proto decoder written here, independently of the encoder, and
 * every field is checked against the hand-built profile.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "ember/formats.h"
#include "ember/profile.h"
#include "protobuf.h"
#include "text.h"

/* ---- a minimal protobuf decoder ------------------------------------------ */

struct field {
	uint32_t num;
	int wire;
	uint64_t v;	  /* varint value */
	const uint8_t *p; /* length-delimited bytes */
	size_t len;
};

#define MAX_FIELDS 4096

/* Reads a varint at *p (bounded by end); false when malformed. */
static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	unsigned int shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
		shift += 7;
	}
	return false;
}

/* Splits a message into its fields; returns how many, fails the test if malformed. */
static size_t decode(const uint8_t *p, size_t len, struct field *out, size_t max)
{
	const uint8_t *end = p + len;
	uint64_t key, l;
	size_t n = 0;

	while (p < end) {
		assert_true(n < max);
		assert_true(get_varint(&p, end, &key));
		out[n].num = (uint32_t)(key >> 3);
		out[n].wire = (int)(key & 7);
		assert_true(out[n].num > 0);
		switch (out[n].wire) {
		case 0:
			assert_true(get_varint(&p, end, &out[n].v));
			break;
		case 2:
			assert_true(get_varint(&p, end, &l));
			assert_true(l <= (uint64_t)(end - p));
			out[n].p = p;
			out[n].len = (size_t)l;
			p += l;
			break;
		default:
			fail_msg("unexpected wire type %d", out[n].wire);
		}
		n++;
	}
	return n;
}

/* Packed varints of a length-delimited field. */
static size_t unpack(const struct field *f, uint64_t *out, size_t max)
{
	const uint8_t *p = f->p, *end = f->p + f->len;
	size_t n = 0;

	assert_int_equal(f->wire, 2);
	while (p < end) {
		assert_true(n < max);
		assert_true(get_varint(&p, end, &out[n++]));
	}
	return n;
}

/* The one varint field @num of a message, or @dflt when absent (proto3). */
static uint64_t msg_uint(const uint8_t *p, size_t len, uint32_t num, uint64_t dflt)
{
	struct field f[64];
	size_t n = decode(p, len, f, 64), i;
	uint64_t v = dflt;
	int seen = 0;

	for (i = 0; i < n; i++) {
		if (f[i].num == num) {
			assert_int_equal(f[i].wire, 0);
			v = f[i].v;
			seen++;
		}
	}
	assert_true(seen <= 1);
	return v;
}

/* ---- the encoder, against the spec's own examples ---------------------- */

static void test_pb_spec_examples(void **state)
{
	/* https://protobuf.dev/programming-guides/encoding/ */
	static const uint8_t varint150[] = {0x08, 0x96, 0x01};
	static const uint8_t testing[] = {0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'};
	static const uint8_t nested[] = {0x1a, 0x03, 0x08, 0x96, 0x01};
	static const uint8_t packed[] = {0x32, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05};
	struct pb_buf b;
	size_t m;

	pb_buf__init(&b);
	pb__uint64(&b, 1, 150);
	assert_int_equal(b.len, sizeof(varint150));
	assert_memory_equal(b.p, varint150, sizeof(varint150));
	pb_buf__exit(&b);

	pb_buf__init(&b);
	pb__string(&b, 2, "testing");
	assert_int_equal(b.len, sizeof(testing));
	assert_memory_equal(b.p, testing, sizeof(testing));
	pb_buf__exit(&b);

	pb_buf__init(&b);
	m = pb__begin(&b, 3);
	pb__uint64(&b, 1, 150);
	pb__end(&b, m);
	assert_int_equal(b.len, sizeof(nested));
	assert_memory_equal(b.p, nested, sizeof(nested));
	pb_buf__exit(&b);

	pb_buf__init(&b);
	m = pb__begin(&b, 6);
	pb__varint(&b, 3);
	pb__varint(&b, 270);
	pb__varint(&b, 86942);
	pb__end(&b, m);
	assert_int_equal(b.len, sizeof(packed));
	assert_memory_equal(b.p, packed, sizeof(packed));
	assert_int_equal(pb_buf__error(&b), 0);
	pb_buf__exit(&b);
	(void)state;
}

static void test_pb_scalars(void **state)
{
	struct field f[16];
	struct pb_buf b;
	size_t n;

	pb_buf__init(&b);
	pb__int64(&b, 1, -1);
	pb__bool(&b, 2, true);
	pb__bool(&b, 3, false);
	pb__uint64(&b, 4, UINT64_MAX);
	pb__uint64_nz(&b, 5, 0);
	pb__int64_nz(&b, 6, 0);
	pb__uint64_nz(&b, 7, 7);
	pb__int64_nz(&b, 8, -8);
	pb__uint64(&b, 536870911, 1); /* the largest field number */
	pb__bytes(&b, 9, "", 0);
	assert_int_equal(pb_buf__error(&b), 0);
	/* -1 as int64: ten bytes of two's complement (spec: "always ten bytes") */
	assert_int_equal(b.p[0], 0x08);
	assert_int_equal(b.p[10], 0x01);
	n = decode(b.p, b.len, f, 16);
	assert_int_equal(n, 8);
	assert_int_equal(f[0].num, 1);
	assert_int_equal((int64_t)f[0].v, -1);
	assert_int_equal(f[1].num, 2);
	assert_int_equal(f[1].v, 1);
	assert_int_equal(f[2].num, 3);
	assert_int_equal(f[2].v, 0);
	assert_int_equal(f[3].num, 4);
	assert_true(f[3].v == UINT64_MAX);
	assert_int_equal(f[4].num, 7); /* 5 and 6 were zero: not written */
	assert_int_equal(f[5].num, 8);
	assert_int_equal((int64_t)f[5].v, -8);
	assert_int_equal(f[6].num, 536870911);
	assert_int_equal(f[7].num, 9);
	assert_int_equal(f[7].wire, 2);
	assert_int_equal(f[7].len, 0);
	pb_buf__exit(&b);
	(void)state;
}

static void test_pb_varint_sizes(void **state)
{
	static const struct {
		uint64_t v;
		size_t size;
	} cases[] = {
		{0, 1},		  {127, 1},	     {128, 2},
		{16383, 2},	  {16384, 3},	     {(1ULL << 21) - 1, 3},
		{1ULL << 21, 4},  {(1ULL << 28), 5}, {1ULL << 35, 6},
		{1ULL << 42, 7},  {1ULL << 49, 8},   {1ULL << 56, 9},
		{1ULL << 63, 10}, {UINT64_MAX, 10},
	};
	struct pb_buf b;
	const uint8_t *p;
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(pb__varint_size(cases[i].v), cases[i].size);
		pb_buf__init(&b);
		pb__varint(&b, cases[i].v);
		assert_int_equal(b.len, cases[i].size);
		p = b.p;
		assert_true(get_varint(&p, b.p + b.len, &v));
		assert_true(v == cases[i].v);
		pb_buf__exit(&b);
	}
	(void)state;
}

/* Bodies of 127, 128 and 20000 bytes, nested three deep: lengths that need 1..3 bytes. */
static void test_pb_nested_lengths(void **state)
{
	static const size_t sizes[] = {0, 125, 126, 127, 128, 300, 20000, 70000};
	struct field outer[4], mid[4], inner[4];
	char *blob;
	struct pb_buf b;
	size_t i, m1, m2, m3;

	blob = malloc(70000);
	assert_non_null(blob);
	memset(blob, 'x', 70000);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		pb_buf__init(&b);
		m1 = pb__begin(&b, 1);
		m2 = pb__begin(&b, 2);
		pb__uint64(&b, 5, 42);
		m3 = pb__begin(&b, 3);
		pb__bytes(&b, 4, blob, sizes[i]);
		pb__end(&b, m3);
		pb__end(&b, m2);
		pb__uint64(&b, 6, 7);
		pb__end(&b, m1);
		pb__uint64(&b, 9, 99);
		assert_int_equal(pb_buf__error(&b), 0);

		assert_int_equal(decode(b.p, b.len, outer, 4), 2);
		assert_int_equal(outer[0].num, 1);
		assert_int_equal(outer[1].num, 9);
		assert_int_equal(outer[1].v, 99);
		assert_int_equal(decode(outer[0].p, outer[0].len, mid, 4), 2);
		assert_int_equal(mid[0].num, 2);
		assert_int_equal(mid[1].num, 6);
		assert_int_equal(mid[1].v, 7);
		assert_int_equal(decode(mid[0].p, mid[0].len, inner, 4), 2);
		assert_int_equal(inner[0].v, 42);
		assert_int_equal(decode(inner[1].p, inner[1].len, mid, 4), 1);
		assert_int_equal(mid[0].num, 4);
		assert_int_equal(mid[0].len, sizes[i]);
		if (sizes[i])
			assert_memory_equal(mid[0].p, blob, sizes[i]);
		pb_buf__exit(&b);
	}
	free(blob);
	(void)state;
}

/* ---- the pprof writer ---------------------------------------------------- */

static uint32_t intern(struct profile *p, const char *s)
{
	int64_t id = profile__intern(p, s);

	assert_true(id >= 0);
	return (uint32_t)id;
}

static uint32_t frame(struct profile *p, const char *name, uint32_t kind, const char *module,
		      const char *file, uint32_t line, uint64_t addr)
{
	struct profile_frame f = {0};
	int64_t id;

	f.name = intern(p, name);
	f.module = module ? intern(p, module) : 0;
	f.file = file ? intern(p, file) : 0;
	f.line = line;
	f.addr = addr;
	f.kind = kind;
	id = profile__add_frame(p, &f);
	assert_true(id >= 0);
	return (uint32_t)id;
}

static uint32_t task(struct profile *p, uint32_t pid, uint32_t tid, const char *comm)
{
	struct profile_task t = {.pid = pid, .tid = tid, .comm = intern(p, comm)};
	int64_t id = profile__add_task(p, &t);

	assert_true(id >= 0);
	return (uint32_t)id;
}

static void sample(struct profile *p, uint32_t t, const uint32_t *frames, uint32_t n,
		   uint64_t count)
{
	int64_t st = profile__add_stack(p, frames, n);

	assert_true(st >= 0);
	assert_int_equal(profile__add_sample(p, (uint32_t)st, t, count), 0);
}

/* The decoded profile: raw fields kept, tables indexed by id. */
struct decoded {
	uint8_t *raw;
	size_t raw_len;
	struct field *top;
	size_t nr_top;
	const char **strs;
	size_t *str_lens;
	size_t nr_strs;
};

static void decoded__free(struct decoded *d)
{
	free(d->raw);
	free(d->top);
	free(d->strs);
	free(d->str_lens);
}

static uint8_t *gunzip(const uint8_t *in, size_t len, size_t *out_len)
{
	size_t cap = 1 << 16;
	uint8_t *out = malloc(cap);
	z_stream zs;
	int zerr;

	assert_non_null(out);
	assert_true(len >= 18);
	assert_int_equal(in[0], 0x1f); /* a gzip member, not zlib or raw deflate */
	assert_int_equal(in[1], 0x8b);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit2(&zs, 16 + 15), Z_OK);
	zs.next_in = (uint8_t *)in;
	zs.avail_in = (uInt)len;
	for (;;) {
		zs.next_out = out + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		zerr = inflate(&zs, Z_NO_FLUSH);
		if (zerr == Z_STREAM_END)
			break;
		assert_int_equal(zerr, Z_OK);
		if (!zs.avail_out) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
	}
	assert_int_equal(zs.avail_in, 0);
	*out_len = zs.total_out;
	inflateEnd(&zs);
	return out;
}

static void write_and_decode(const struct profile *p, struct decoded *d)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	memset(d, 0, sizeof(*d));
	assert_non_null(f);
	assert_int_equal(fmt_pprof__write(p, NULL, f), 0);
	assert_int_equal(fclose(f), 0);
	d->raw = gunzip((const uint8_t *)buf, len, &d->raw_len);
	free(buf);
	d->top = calloc(1 << 16, sizeof(*d->top));
	assert_non_null(d->top);
	d->nr_top = decode(d->raw, d->raw_len, d->top, 1 << 16);
	for (i = 0; i < d->nr_top; i++)
		d->nr_strs += d->top[i].num == 6;
	d->strs = calloc(d->nr_strs + 1, sizeof(*d->strs));
	d->str_lens = calloc(d->nr_strs + 1, sizeof(*d->str_lens));
	assert_non_null(d->strs);
	assert_non_null(d->str_lens);
	d->nr_strs = 0;
	for (i = 0; i < d->nr_top; i++) {
		if (d->top[i].num != 6)
			continue;
		assert_int_equal(d->top[i].wire, 2);
		d->strs[d->nr_strs] = (const char *)d->top[i].p;
		d->str_lens[d->nr_strs++] = d->top[i].len;
	}
	assert_true(d->nr_strs >= 1);
	assert_int_equal(d->str_lens[0], 0); /* string_table[0] must be "" */
}

/* Checks string @idx equals @s. */
static void assert_str(const struct decoded *d, uint64_t idx, const char *s)
{
	assert_true(idx < d->nr_strs);
	if (d->str_lens[idx] != strlen(s) || memcmp(d->strs[idx], s, strlen(s)))
		fail_msg("string %" PRIu64 " is '%.*s', expected '%s'", idx, (int)d->str_lens[idx],
			 d->strs[idx], s);
}

/* Top-level fields @num, in order. */
static size_t fields_of(const struct decoded *d, uint32_t num, const struct field **out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < d->nr_top; i++) {
		if (d->top[i].num == num) {
			assert_true(n < max);
			out[n++] = &d->top[i];
		}
	}
	return n;
}

/* The message of table @num (mapping 3, location 4, function 5) with id @id. */
static const struct field *by_id(const struct decoded *d, uint32_t num, uint64_t id)
{
	const struct field *found = NULL;
	size_t i;

	assert_true(id != 0);
	for (i = 0; i < d->nr_top; i++) {
		if (d->top[i].num == num && msg_uint(d->top[i].p, d->top[i].len, 1, 0) == id) {
			assert_null(found); /* ids are unique */
			found = &d->top[i];
		}
	}
	assert_non_null(found);
	return found;
}

static void check_value_type(const struct decoded *d, const struct field *f, const char *type,
			     const char *unit)
{
	assert_str(d, msg_uint(f->p, f->len, 1, 0), type);
	assert_str(d, msg_uint(f->p, f->len, 2, 0), unit);
}

/* A sample flattened for comparison: frames root first as "name@file:line", labels. */
struct flat_sample {
	char stack[512];
	uint64_t values[2];
	size_t nr_values;
	int64_t pid, tid;
	char comm[32];
};

static void append(char *buf, size_t size, const char *s)
{
	size_t used = strlen(buf);

	snprintf(buf + used, size - used, "%s", s);
}

/* Root-first frames of a sample: each location's lines reversed (they are innermost first). */
static void flatten_stack(const struct decoded *d, const uint64_t *locs, size_t n, char *out,
			  size_t size)
{
	struct field lf[64];
	char piece[128];
	size_t i, j, nl, k;

	out[0] = '\0';
	for (i = n; i > 0; i--) {
		const struct field *loc = by_id(d, 4, locs[i - 1]);
		const struct field *lines[16];

		nl = decode(loc->p, loc->len, lf, 64);
		for (j = 0, k = 0; j < nl; j++) {
			if (lf[j].num == 4)
				lines[k++] = &lf[j];
		}
		assert_true(k >= 1);
		for (j = k; j > 0; j--) {
			const struct field *ln = lines[j - 1];
			const struct field *fn = by_id(d, 5, msg_uint(ln->p, ln->len, 1, 0));
			uint64_t name = msg_uint(fn->p, fn->len, 2, 0);
			uint64_t file = msg_uint(fn->p, fn->len, 4, 0);

			assert_int_equal(msg_uint(fn->p, fn->len, 3, 0), name); /* system_name */
			/* start_line: only the fixture's "work" has one (test_pprof_tables) */
			assert_true(msg_uint(fn->p, fn->len, 5, 0) == 0 ||
				    msg_uint(fn->p, fn->len, 5, 0) == 18);
			snprintf(piece, sizeof(piece), "%s%.*s@%.*s:%" PRIu64, out[0] ? ";" : "",
				 (int)d->str_lens[name], d->strs[name], (int)d->str_lens[file],
				 d->strs[file], msg_uint(ln->p, ln->len, 2, 0));
			append(out, size, piece);
		}
	}
}

static void flatten_sample(const struct decoded *d, const struct field *s, struct flat_sample *o)
{
	struct field sf[64], lf[8];
	uint64_t locs[64];
	size_t n = decode(s->p, s->len, sf, 64), i, nl = 0, j, m;

	memset(o, 0, sizeof(*o));
	o->pid = o->tid = -1;
	for (i = 0; i < n; i++) {
		switch (sf[i].num) {
		case 1:
			nl += unpack(&sf[i], locs + nl, 64 - nl);
			break;
		case 2:
			o->nr_values += unpack(&sf[i], o->values + o->nr_values, 2 - o->nr_values);
			break;
		case 3: {
			uint64_t key = msg_uint(sf[i].p, sf[i].len, 1, 0);

			m = decode(sf[i].p, sf[i].len, lf, 8);
			for (j = 0; j < m; j++)
				assert_true(lf[j].num >= 1 && lf[j].num <= 3);
			if (!strncmp(d->strs[key], "pid", d->str_lens[key]) &&
			    d->str_lens[key] == 3)
				o->pid = (int64_t)msg_uint(sf[i].p, sf[i].len, 3, UINT64_MAX);
			else if (d->str_lens[key] == 3 && !strncmp(d->strs[key], "tid", 3))
				o->tid = (int64_t)msg_uint(sf[i].p, sf[i].len, 3, UINT64_MAX);
			else if (d->str_lens[key] == 4 && !strncmp(d->strs[key], "comm", 4)) {
				uint64_t str = msg_uint(sf[i].p, sf[i].len, 2, 0);

				snprintf(o->comm, sizeof(o->comm), "%.*s", (int)d->str_lens[str],
					 d->strs[str]);
			} else {
				fail_msg("unexpected label");
			}
			break;
		}
		default:
			fail_msg("unexpected sample field %u", sf[i].num);
		}
	}
	flatten_stack(d, locs, nl, o->stack, sizeof(o->stack));
}

struct fixture {
	struct profile *p;
	uint32_t main_f, work, helper, inner, kfunc, unknown, work2;
};

static struct profile *build(struct fixture *fx, uint64_t period, uint32_t freq)
{
	struct profile *p = profile__new();
	struct profile_meta *m;
	uint32_t a, b, s1[4], s2[5], s3[1], s4[2];

	assert_non_null(p);
	fx->p = p;
	fx->main_f = frame(p, "main", PROFILE_FRAME_USER, "app", "main.c", 10, 0x1000);
	/* An inline chain at 0x1100: work, with helper inlined, with inner inlined. */
	fx->work = frame(p, "work", PROFILE_FRAME_USER, "app", "work.c", 20, 0x1100);
	fx->helper = frame(p, "helper", PROFILE_FRAME_INLINE, "app", "helper.h", 5, 0x1100);
	fx->inner = frame(p, "inner", PROFILE_FRAME_INLINE, "app", "inner.h", 7, 0x1100);
	/*
	 * work at another address: another location, the same function, and
	 * the one frame of it that knows the function's first line.
	 */
	{
		struct profile_frame w = *profile__frame(p, fx->work);

		w.line = 22;
		w.addr = 0x1180;
		w.start_line = 18;
		fx->work2 = (uint32_t)profile__add_frame(p, &w);
	}
	fx->kfunc = frame(p, "do_syscall_64", PROFILE_FRAME_KERNEL, "[kernel.kallsyms]", NULL, 0,
			  0xffffffff81000000ULL);
	fx->unknown = frame(p, "[unknown]", PROFILE_FRAME_USER, NULL, NULL, 0, 0);
	assert_int_equal(profile__set_build_id(p, (uint32_t)profile__intern(p, "app"),
					       (uint32_t)profile__intern(p, "a1b2c3d4e5f60718")),
			 0);
	a = task(p, 100, 101, "app");
	b = task(p, 200, 200, "srv");
	s1[0] = fx->main_f, s1[1] = fx->work, s1[2] = fx->helper, s1[3] = fx->inner;
	memcpy(s2, s1, sizeof(s1));
	s2[4] = fx->kfunc;
	s3[0] = fx->unknown;
	s4[0] = fx->main_f, s4[1] = fx->work2;
	sample(p, a, s1, 4, 5);
	sample(p, a, s2, 5, 2);
	sample(p, b, s1, 4, 3);
	sample(p, b, s3, 1, 1);
	sample(p, a, s4, 2, 4);
	m = profile__meta(p);
	m->start_ns = 1700000000123456789ULL;
	m->end_ns = m->start_ns + 10000000000ULL;
	m->freq_hz = freq;
	m->period_ns = period;
	m->lost.samples = 3;
	return p;
}

static const char *const want_s1 =
	"main@main.c:10;work@work.c:20;helper@helper.h:5;inner@inner.h:7";

static void test_pprof_every_field(void **state)
{
	const struct field *f[64];
	struct flat_sample fs;
	struct fixture fx;
	struct decoded d;
	uint64_t period = 10101010, total = 0;
	size_t n, i, seen = 0;

	build(&fx, period, 99);
	write_and_decode(fx.p, &d);

	/* sample_type: samples/count, then cpu/nanoseconds */
	n = fields_of(&d, 1, f, 64);
	assert_int_equal(n, 2);
	check_value_type(&d, f[0], "samples", "count");
	check_value_type(&d, f[1], "cpu", "nanoseconds");
	/* period_type, period, time, duration */
	assert_int_equal(fields_of(&d, 11, f, 64), 1);
	check_value_type(&d, f[0], "cpu", "nanoseconds");
	assert_int_equal(msg_uint(d.raw, d.raw_len, 12, 0), period);
	assert_true(msg_uint(d.raw, d.raw_len, 9, 0) == 1700000000123456789ULL);
	assert_true(msg_uint(d.raw, d.raw_len, 10, 0) == 10000000000ULL);
	/* the lost samples as a comment */
	assert_int_equal(fields_of(&d, 13, f, 64), 1);
	assert_str(&d, f[0]->v, "ember: 3 samples lost");

	n = fields_of(&d, 2, f, 64);
	assert_int_equal(n, 5);
	for (i = 0; i < n; i++) {
		flatten_sample(&d, f[i], &fs);
		assert_int_equal(fs.nr_values, 2);
		assert_true(fs.values[1] == fs.values[0] * period);
		total += fs.values[0];
		if (!strcmp(fs.stack, want_s1) && fs.pid == 100) {
			assert_int_equal(fs.values[0], 5);
			assert_int_equal(fs.tid, 101);
			assert_string_equal(fs.comm, "app");
			seen |= 1;
		} else if (!strcmp(fs.stack, want_s1) && fs.pid == 200) {
			assert_int_equal(fs.values[0], 3);
			assert_int_equal(fs.tid, 200);
			assert_string_equal(fs.comm, "srv");
			seen |= 2;
		} else if (!strncmp(fs.stack, want_s1, strlen(want_s1)) &&
			   !strcmp(fs.stack + strlen(want_s1), ";do_syscall_64@:0")) {
			assert_int_equal(fs.values[0], 2);
			seen |= 4;
		} else if (!strcmp(fs.stack, "[unknown]@:0")) {
			assert_int_equal(fs.values[0], 1);
			assert_string_equal(fs.comm, "srv");
			seen |= 8;
		} else if (!strcmp(fs.stack, "main@main.c:10;work@work.c:22")) {
			assert_int_equal(fs.values[0], 4);
			seen |= 16;
		} else {
			fail_msg("unexpected sample stack %s", fs.stack);
		}
	}
	assert_int_equal(seen, 31);
	assert_true(total == profile__total(fx.p));

	profile__free(fx.p);
	decoded__free(&d);
	(void)state;
}

static void test_pprof_tables(void **state)
{
	const struct field *f[64];
	struct field lf[32];
	struct fixture fx;
	struct decoded d;
	size_t n, i, j, nl, inline_locs = 0, funcs_work = 0;
	bool kernel_map = false, app_map = false, no_map = false;

	build(&fx, 0, 99);
	write_and_decode(fx.p, &d);

	/* mappings: one per module, [FN] and the resolution flags */
	n = fields_of(&d, 3, f, 64);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		uint64_t file = msg_uint(f[i]->p, f[i]->len, 5, 0);

		assert_int_equal(msg_uint(f[i]->p, f[i]->len, 2, 0), 0); /* memory_start */
		assert_int_equal(msg_uint(f[i]->p, f[i]->len, 4, 0), 0); /* file_offset */
		assert_int_equal(msg_uint(f[i]->p, f[i]->len, 7, 0), 1); /* has_functions */
		if (d.str_lens[file] == 3 && !memcmp(d.strs[file], "app", 3)) {
			app_map = true;
			assert_int_equal(msg_uint(f[i]->p, f[i]->len, 3, 0), 0x1181);
			assert_int_equal(msg_uint(f[i]->p, f[i]->len, 8, 0), 1);
			assert_int_equal(msg_uint(f[i]->p, f[i]->len, 9, 0), 1);
			assert_int_equal(msg_uint(f[i]->p, f[i]->len, 10, 0), 1);
			assert_str(&d, msg_uint(f[i]->p, f[i]->len, 6, 0), "a1b2c3d4e5f60718");
		} else {
			assert_str(&d, file, "[kernel.kallsyms]");
			kernel_map = true;
			/* No build id known: the field is absent. */
			assert_int_equal(msg_uint(f[i]->p, f[i]->len, 6, 0), 0);
			assert_true(msg_uint(f[i]->p, f[i]->len, 3, 0) == 0xffffffff81000001ULL);
			assert_int_equal(msg_uint(f[i]->p, f[i]->len, 8, 0), 0);
			assert_int_equal(msg_uint(f[i]->p, f[i]->len, 9, 0), 0);
			assert_int_equal(msg_uint(f[i]->p, f[i]->len, 10, 0), 0);
		}
	}
	assert_true(app_map && kernel_map);

	/* locations: one per address; the inline chain is one location of three lines */
	n = fields_of(&d, 4, f, 64);
	assert_int_equal(n, 5); /* main, work+inlines, work2, kfunc, unknown */
	for (i = 0; i < n; i++) {
		uint64_t addr = msg_uint(f[i]->p, f[i]->len, 3, 0);
		uint64_t map = msg_uint(f[i]->p, f[i]->len, 2, 0);

		nl = decode(f[i]->p, f[i]->len, lf, 32);
		for (j = 0; j < nl; j++)
			assert_true(lf[j].num >= 1 && lf[j].num <= 4);
		if (!map) {
			no_map = true;
			assert_int_equal(addr, 0);
		} else {
			by_id(&d, 3, map);
		}
		if (addr == 0x1100) {
			size_t k = 0;
			uint64_t want_lines[] = {7, 5, 20}; /* innermost first */

			inline_locs++;
			for (j = 0; j < nl; j++) {
				if (lf[j].num != 4)
					continue;
				assert_true(k < 3);
				assert_int_equal(msg_uint(lf[j].p, lf[j].len, 2, 0), want_lines[k]);
				k++;
			}
			assert_int_equal(k, 3);
		}
	}
	assert_int_equal(inline_locs, 1);
	assert_true(no_map);

	/* functions: unique ids; (name, file) merged across addresses */
	n = fields_of(&d, 5, f, 64);
	assert_int_equal(n, 6); /* main, work, helper, inner, do_syscall_64, [unknown] */
	for (i = 0; i < n; i++) {
		uint64_t name = msg_uint(f[i]->p, f[i]->len, 2, 0);

		by_id(&d, 5, msg_uint(f[i]->p, f[i]->len, 1, 0));
		if (d.str_lens[name] == 4 && !memcmp(d.strs[name], "work", 4)) {
			funcs_work++;
			assert_str(&d, msg_uint(f[i]->p, f[i]->len, 4, 0), "work.c");
			assert_int_equal(msg_uint(f[i]->p, f[i]->len, 5, 0), 18); /* start_line */
		} else {
			assert_int_equal(msg_uint(f[i]->p, f[i]->len, 5, 0),
					 0); /* unknown: absent */
		}
	}
	assert_int_equal(funcs_work, 1);

	/* no period known: one sample type, period type samples/count */
	n = fields_of(&d, 1, f, 64);
	assert_int_equal(n, 2); /* the period comes from the frequency */
	profile__free(fx.p);
	decoded__free(&d);

	build(&fx, 0, 0);
	write_and_decode(fx.p, &d);
	n = fields_of(&d, 1, f, 64);
	assert_int_equal(n, 1);
	check_value_type(&d, f[0], "samples", "count");
	assert_int_equal(fields_of(&d, 11, f, 64), 1);
	check_value_type(&d, f[0], "samples", "count");
	n = fields_of(&d, 2, f, 64);
	for (i = 0; i < n; i++) {
		struct flat_sample fs;

		flatten_sample(&d, f[i], &fs);
		assert_int_equal(fs.nr_values, 1);
	}
	profile__free(fx.p);
	decoded__free(&d);
	(void)state;
}

static void test_pprof_strings_repaired(void **state)
{
	struct profile *p = profile__new();
	struct decoded d;
	uint32_t fr[2], t;
	size_t i, j;
	bool found = false;

	assert_non_null(p);
	fr[0] = frame(p, "bad\xff\xfe utf8", PROFILE_FRAME_USER, "m\xc0", NULL, 0, 0);
	fr[1] = frame(p, "ctl\x01\x1f", PROFILE_FRAME_USER, NULL, NULL, 0, 0);
	t = task(p, 1, 1, "c\xe2\x82");
	sample(p, t, fr, 2, 1);
	write_and_decode(p, &d);
	for (i = 0; i < d.nr_strs; i++) {
		for (j = 0; j < d.str_lens[i];) {
			size_t k = fmt_text__utf8_len((const unsigned char *)d.strs[i] + j,
						      d.str_lens[i] - j);

			assert_true(k > 0);
			if (k == 1)
				assert_true((unsigned char)d.strs[i][j] >= 0x20);
			j += k;
		}
		if (d.str_lens[i] == strlen("bad\xef\xbf\xbd\xef\xbf\xbd utf8") &&
		    !memcmp(d.strs[i], "bad\xef\xbf\xbd\xef\xbf\xbd utf8", d.str_lens[i]))
			found = true;
	}
	assert_true(found);
	profile__free(p);
	decoded__free(&d);
	(void)state;
}

/* An inline chain cut short (its outer frame dropped) does not join another address. */
static void test_pprof_orphan_inline(void **state)
{
	struct profile *p = profile__new();
	const struct field *f[8];
	struct flat_sample fs;
	struct decoded d;
	uint32_t fr[3], t;

	assert_non_null(p);
	fr[0] = frame(p, "main", PROFILE_FRAME_USER, "app", NULL, 0, 0x1000);
	fr[1] = frame(p, "deep", PROFILE_FRAME_INLINE, "app", NULL, 0, 0x2000);
	fr[2] = frame(p, "deeper", PROFILE_FRAME_INLINE, "app", NULL, 0, 0x2000);
	t = task(p, 1, 1, "app");
	sample(p, t, fr, 3, 1);
	write_and_decode(p, &d);
	assert_int_equal(fields_of(&d, 4, f, 8), 2); /* main; deep+deeper */
	assert_int_equal(fields_of(&d, 2, f, 8), 1);
	flatten_sample(&d, f[0], &fs);
	assert_string_equal(fs.stack, "main@:0;deep@:0;deeper@:0");
	profile__free(p);
	decoded__free(&d);
	(void)state;
}

static void test_pprof_empty_and_errors(void **state)
{
	struct profile *p = profile__new();
	const struct field *f[4];
	struct decoded d;
	FILE *ro;

	assert_non_null(p);
	write_and_decode(p, &d);
	assert_int_equal(fields_of(&d, 2, f, 4), 0);
	assert_int_equal(fields_of(&d, 1, f, 4), 1);
	decoded__free(&d);

	assert_int_equal(fmt_pprof__write(NULL, NULL, stdout), -EINVAL);
	assert_int_equal(fmt_pprof__write(p, NULL, NULL), -EINVAL);
	/* a stream that cannot be written reports the error */
	ro = fopen("/dev/null", "r");
	assert_non_null(ro);
	assert_true(fmt_pprof__write(p, NULL, ro) < 0);
	fclose(ro);
	/* the dispatcher reaches the writer and knows the format is binary */
	assert_true(fmt__is_binary(FMT_PPROF));
	profile__free(p);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pb_spec_examples),
		cmocka_unit_test(test_pb_scalars),
		cmocka_unit_test(test_pb_varint_sizes),
		cmocka_unit_test(test_pb_nested_lengths),
		cmocka_unit_test(test_pprof_every_field),
		cmocka_unit_test(test_pprof_tables),
		cmocka_unit_test(test_pprof_strings_repaired),
		cmocka_unit_test(test_pprof_orphan_inline),
		cmocka_unit_test(test_pprof_empty_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

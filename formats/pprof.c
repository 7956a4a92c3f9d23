/*
 * pprof writer: the profile as gzip-compressed profile.proto, the format
 * `go tool pprof`, Parca, Pyroscope and Grafana read.
 *
 * The model's stacks are frame ids, root first, where an inline chain of one
 * address is a non-inline frame followed by the frames inlined into it
 * (include/ember/profile.h). pprof wants the opposite grouping: a Location
 * per address holding its Lines innermost first, and samples listing
 * locations leaf first. So each stack is cut into groups (a non-inline frame
 * and the INLINE frames after it at its address); every distinct group becomes one
 * Location, every distinct (name, file) one Function, every module one
 * Mapping. Each stack is converted once, however many tasks sampled it.
 *
 * Addresses are the model's module-relative ones, so each mapping starts at
 * 0 and mappings may overlap; has_functions is set, so pprof never tries to
 * symbolize them again. A mapping carries its module's build id when the
 * profile knows it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ember/formats.h"
#include "ember/idhash.h"
#include "ember/mem.h"
#include "ember/profile.h"
#include "protobuf.h"
#include "text.h"

/* profile.proto field numbers */
enum {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE = 2,
	PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13,
	VALUE_TYPE_TYPE = 1,
	VALUE_TYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1,
	SAMPLE_VALUE = 2,
	SAMPLE_LABEL = 3,
	LABEL_KEY = 1,
	LABEL_STR = 2,
	LABEL_NUM = 3,
	MAPPING_ID = 1,
	MAPPING_MEMORY_START = 2,
	MAPPING_MEMORY_LIMIT = 3,
	MAPPING_FILE_OFFSET = 4,
	MAPPING_FILENAME = 5,
	MAPPING_BUILD_ID = 6,
	MAPPING_HAS_FUNCTIONS = 7,
	MAPPING_HAS_FILENAMES = 8,
	MAPPING_HAS_LINE_NUMBERS = 9,
	MAPPING_HAS_INLINE_FRAMES = 10,
	LOCATION_ID = 1,
	LOCATION_MAPPING_ID = 2,
	LOCATION_ADDRESS = 3,
	LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1,
	LINE_LINE = 2,
	FUNCTION_ID = 1,
	FUNCTION_NAME = 2,
	FUNCTION_SYSTEM_NAME = 3,
	FUNCTION_FILENAME = 4,
	FUNCTION_START_LINE = 5,
};

/* The strings every file has, first in its string table (index = enum value). */
enum {
	STR_EMPTY,
	STR_SAMPLES,
	STR_COUNT,
	STR_CPU,
	STR_NANOSECONDS,
	STR_PID,
	STR_TID,
	STR_COMM,
	STR_LOST,
	NR_FIXED_STRS,
};

static const char *const fixed_strs[NR_FIXED_STRS] = {
	[STR_EMPTY] = "",
	[STR_SAMPLES] = "samples",
	[STR_COUNT] = "count",
	[STR_CPU] = "cpu",
	[STR_NANOSECONDS] = "nanoseconds",
	[STR_PID] = "pid",
	[STR_TID] = "tid",
	[STR_COMM] = "comm",
	[STR_LOST] = "",
};

struct pp_func {
	uint32_t name, file; /* profile string ids */
	uint32_t start_line; /* not part of the key: the first frame that knows it */
};

struct pp_map {
	uint32_t module; /* profile string id */
	uint64_t limit;
	bool files, lines, inlines;
};

struct pp_loc {
	size_t off; /* first frame id of the group in loc_pool, outermost first */
	uint32_t n;
};

struct pp_stack {
	size_t off; /* first location id in stack_pool, leaf first */
	uint32_t n;
	bool done;
};

struct pp_ctx {
	const struct profile *p;
	struct pb_buf *b;

	uint32_t *str_idx;   /* profile string id -> string table index; 0 = not yet */
	uint32_t *str_order; /* string table index - NR_FIXED_STRS -> profile string id */
	size_t nr_strs;

	uint32_t *frame_func; /* frame id -> function id (1-based); 0 = not yet */
	struct pp_func *funcs;
	size_t nr_funcs, cap_funcs;
	struct idhash func_index;

	uint32_t *module_map; /* profile string id -> mapping id (1-based); 0 = not yet */
	struct pp_map *maps;
	size_t nr_maps, cap_maps;

	struct pp_loc *locs;
	size_t nr_locs, cap_locs;
	uint32_t *loc_pool;
	size_t loc_pool_len, loc_pool_cap;
	struct idhash loc_index;

	struct pp_stack *stacks;
	uint32_t *stack_pool;
	size_t stack_pool_len, stack_pool_cap;
};

/* String table index of profile string @id, adding it on first use. */
static uint32_t pp_str(struct pp_ctx *c, uint32_t id)
{
	if (!id)
		return STR_EMPTY;
	if (!c->str_idx[id]) {
		c->str_order[c->nr_strs] = id;
		c->str_idx[id] = (uint32_t)(NR_FIXED_STRS + c->nr_strs++);
	}
	return c->str_idx[id];
}

static bool func__eq(const void *ctx, uint32_t id, const void *key)
{
	const struct pp_func *a = &((const struct pp_ctx *)ctx)->funcs[id];
	const struct pp_func *b = key;

	return a->name == b->name && a->file == b->file;
}

/* Function id (1-based) of frame @fid; 0 on allocation failure. */
static uint32_t pp_func(struct pp_ctx *c, uint32_t fid)
{
	const struct profile_frame *f = profile__frame(c->p, fid);
	struct pp_func key = {.name = f->name, .file = f->file};
	uint32_t hash, id;

	if (c->frame_func[fid])
		return c->frame_func[fid];
	hash = (uint32_t)idhash__fmix((uint64_t)key.name << 32 | key.file);
	id = idhash__find(&c->func_index, hash, func__eq, c, &key);
	if (id == IDHASH_EMPTY) {
		if (idhash__reserve(&c->func_index) ||
		    mem__grow((void **)&c->funcs, &c->cap_funcs, c->nr_funcs + 1,
			      sizeof(*c->funcs)))
			return 0;
		id = (uint32_t)c->nr_funcs++;
		c->funcs[id] = key;
		idhash__insert(&c->func_index, hash, id);
	}
	if (!c->funcs[id].start_line)
		c->funcs[id].start_line = f->start_line;
	c->frame_func[fid] = id + 1;
	return id + 1;
}

/* Mapping id (1-based) of module @module (a string id, not 0); 0 on failure. */
static uint32_t pp_map(struct pp_ctx *c, uint32_t module)
{
	struct pp_map *m;

	if (c->module_map[module])
		return c->module_map[module];
	if (mem__grow((void **)&c->maps, &c->cap_maps, c->nr_maps + 1, sizeof(*c->maps)))
		return 0;
	m = &c->maps[c->nr_maps++];
	memset(m, 0, sizeof(*m));
	m->module = module;
	c->module_map[module] = (uint32_t)c->nr_maps;
	return (uint32_t)c->nr_maps;
}

struct group_key {
	const uint32_t *frames;
	uint32_t n;
};

static bool loc__eq(const void *ctx, uint32_t id, const void *key)
{
	const struct pp_ctx *c = ctx;
	const struct group_key *k = key;
	const struct pp_loc *l = &c->locs[id];

	return l->n == k->n && !memcmp(c->loc_pool + l->off, k->frames, k->n * sizeof(uint32_t));
}

/* Location id (1-based) of the @n frames at @frames (one group); 0 on failure. */
static uint32_t pp_loc(struct pp_ctx *c, const uint32_t *frames, uint32_t n)
{
	struct group_key key = {.frames = frames, .n = n};
	const struct profile_frame *f;
	uint64_t h = n;
	uint32_t hash, id, i;
	struct pp_map *m;
	uint32_t map;

	for (i = 0; i < n; i++)
		h = idhash__add(h, frames[i]);
	hash = (uint32_t)idhash__fmix(h);
	id = idhash__find(&c->loc_index, hash, loc__eq, c, &key);
	if (id != IDHASH_EMPTY)
		return id + 1;

	if (idhash__reserve(&c->loc_index) ||
	    mem__grow((void **)&c->locs, &c->cap_locs, c->nr_locs + 1, sizeof(*c->locs)) ||
	    mem__grow((void **)&c->loc_pool, &c->loc_pool_cap, c->loc_pool_len + n,
		      sizeof(*c->loc_pool)))
		return 0;
	for (i = 0; i < n; i++) {
		if (!pp_func(c, frames[i]))
			return 0;
	}
	/* The outer frame owns the address and the module. */
	f = profile__frame(c->p, frames[0]);
	if (f->module) {
		map = pp_map(c, f->module);
		if (!map)
			return 0;
		m = &c->maps[map - 1];
		if (f->addr && f->addr >= m->limit)
			m->limit = f->addr + 1;
		for (i = 0; i < n; i++) {
			const struct profile_frame *g = profile__frame(c->p, frames[i]);

			m->files |= g->file != 0;
			m->lines |= g->line != 0;
		}
		m->inlines |= n > 1;
	}
	memcpy(c->loc_pool + c->loc_pool_len, frames, n * sizeof(uint32_t));
	id = (uint32_t)c->nr_locs++;
	c->locs[id].off = c->loc_pool_len;
	c->locs[id].n = n;
	c->loc_pool_len += n;
	idhash__insert(&c->loc_index, hash, id);
	return id + 1;
}

static bool is_inline(const struct pp_ctx *c, uint32_t fid)
{
	return profile__frame(c->p, fid)->kind == PROFILE_FRAME_INLINE;
}

static bool same_addr(const struct pp_ctx *c, uint32_t a, uint32_t b)
{
	return profile__frame(c->p, a)->addr == profile__frame(c->p, b)->addr;
}

/* Converts stack @sid into location ids (leaf first) once; 0 or -ENOMEM. */
static int pp_stack(struct pp_ctx *c, uint32_t sid)
{
	struct pp_stack *s = &c->stacks[sid];
	const uint32_t *frames;
	uint32_t n, i, start, loc;

	if (s->done)
		return 0;
	frames = profile__stack(c->p, sid, &n);
	if (mem__grow((void **)&c->stack_pool, &c->stack_pool_cap, c->stack_pool_len + n,
		      sizeof(*c->stack_pool)))
		return -ENOMEM;
	s->off = c->stack_pool_len;
	s->n = 0;
	for (i = n; i > 0; i = start) {
		/* An INLINE frame joins the frame before it when both are at one address. */
		start = i - 1;
		while (start > 0 && is_inline(c, frames[start]) &&
		       same_addr(c, frames[start - 1], frames[start]))
			start--;
		loc = pp_loc(c, frames + start, i - start);
		if (!loc)
			return -ENOMEM;
		c->stack_pool[c->stack_pool_len++] = loc;
		s->n++;
	}
	s->done = true;
	return 0;
}

static void write_value_type(struct pb_buf *b, uint32_t field, uint32_t type, uint32_t unit)
{
	size_t m = pb__begin(b, field);

	pb__int64(b, VALUE_TYPE_TYPE, type);
	pb__int64(b, VALUE_TYPE_UNIT, unit);
	pb__end(b, m);
}

static void write_label_num(struct pb_buf *b, uint32_t key, int64_t num)
{
	size_t m = pb__begin(b, SAMPLE_LABEL);

	pb__int64(b, LABEL_KEY, key);
	pb__int64(b, LABEL_NUM, num);
	pb__end(b, m);
}

static void write_label_str(struct pb_buf *b, uint32_t key, uint32_t str)
{
	size_t m = pb__begin(b, SAMPLE_LABEL);

	pb__int64(b, LABEL_KEY, key);
	pb__int64(b, LABEL_STR, str);
	pb__end(b, m);
}

static int write_samples(struct pp_ctx *c, uint64_t period)
{
	const struct profile_sample *s;
	const struct profile_task *t;
	struct pb_buf *b = c->b;
	size_t nr, i, j, m, list;
	struct pp_stack *st;
	int err;

	s = profile__samples(c->p, &nr);
	for (i = 0; i < nr; i++) {
		if (!s[i].count)
			continue;
		err = pp_stack(c, s[i].stack);
		if (err)
			return err;
		st = &c->stacks[s[i].stack];
		t = profile__task(c->p, s[i].task);

		m = pb__begin(b, PROFILE_SAMPLE);
		if (st->n) {
			list = pb__begin(b, SAMPLE_LOCATION_ID);
			for (j = 0; j < st->n; j++)
				pb__varint(b, c->stack_pool[st->off + j]);
			pb__end(b, list);
		}
		list = pb__begin(b, SAMPLE_VALUE);
		pb__varint(b, s[i].count);
		if (period)
			pb__varint(b, s[i].count * period);
		pb__end(b, list);
		write_label_num(b, STR_PID, t->pid);
		write_label_num(b, STR_TID, t->tid);
		write_label_str(b, STR_COMM, pp_str(c, t->comm));
		pb__end(b, m);
	}
	return 0;
}

static void write_mappings(struct pp_ctx *c)
{
	struct pb_buf *b = c->b;
	size_t i, m;

	for (i = 0; i < c->nr_maps; i++) {
		const struct pp_map *map = &c->maps[i];

		m = pb__begin(b, PROFILE_MAPPING);
		pb__uint64(b, MAPPING_ID, i + 1);
		pb__uint64_nz(b, MAPPING_MEMORY_START, 0);
		pb__uint64_nz(b, MAPPING_MEMORY_LIMIT, map->limit);
		pb__uint64_nz(b, MAPPING_FILE_OFFSET, 0);
		pb__int64(b, MAPPING_FILENAME, pp_str(c, map->module));
		pb__int64_nz(b, MAPPING_BUILD_ID, pp_str(c, profile__build_id(c->p, map->module)));
		pb__bool(b, MAPPING_HAS_FUNCTIONS, true);
		if (map->files)
			pb__bool(b, MAPPING_HAS_FILENAMES, true);
		if (map->lines)
			pb__bool(b, MAPPING_HAS_LINE_NUMBERS, true);
		if (map->inlines)
			pb__bool(b, MAPPING_HAS_INLINE_FRAMES, true);
		pb__end(b, m);
	}
}

static void write_locations(struct pp_ctx *c)
{
	const struct profile_frame *f;
	struct pb_buf *b = c->b;
	size_t i, m, lm;
	uint32_t j;

	for (i = 0; i < c->nr_locs; i++) {
		const uint32_t *frames = c->loc_pool + c->locs[i].off;
		uint32_t n = c->locs[i].n;

		f = profile__frame(c->p, frames[0]);
		m = pb__begin(b, PROFILE_LOCATION);
		pb__uint64(b, LOCATION_ID, i + 1);
		if (f->module)
			pb__uint64(b, LOCATION_MAPPING_ID, c->module_map[f->module]);
		pb__uint64_nz(b, LOCATION_ADDRESS, f->addr);
		/* Innermost first: the group is stored outermost first. */
		for (j = n; j > 0; j--) {
			const struct profile_frame *g = profile__frame(c->p, frames[j - 1]);

			lm = pb__begin(b, LOCATION_LINE);
			pb__uint64(b, LINE_FUNCTION_ID, c->frame_func[frames[j - 1]]);
			pb__int64_nz(b, LINE_LINE, g->line);
			pb__end(b, lm);
		}
		pb__end(b, m);
	}
}

static void write_functions(struct pp_ctx *c)
{
	struct pb_buf *b = c->b;
	size_t i, m;
	uint32_t name;

	for (i = 0; i < c->nr_funcs; i++) {
		name = pp_str(c, c->funcs[i].name);
		m = pb__begin(b, PROFILE_FUNCTION);
		pb__uint64(b, FUNCTION_ID, i + 1);
		pb__int64(b, FUNCTION_NAME, name);
		pb__int64(b, FUNCTION_SYSTEM_NAME, name);
		pb__int64_nz(b, FUNCTION_FILENAME, pp_str(c, c->funcs[i].file));
		pb__int64_nz(b, FUNCTION_START_LINE, c->funcs[i].start_line);
		pb__end(b, m);
	}
}

/* Writes @s as a string table entry, repaired to valid UTF-8. */
static int write_string(struct pb_buf *b, const char *s, char **tmp, size_t *cap)
{
	size_t need = fmt_text__clean(s, NULL, 0);

	if (need + 1 > *cap) {
		free(*tmp);
		*cap = need + 1 > 256 ? need + 1 : 256;
		*tmp = malloc(*cap);
		if (!*tmp)
			return -ENOMEM;
	}
	fmt_text__clean(s, *tmp, *cap);
	pb__bytes(b, PROFILE_STRING_TABLE, *tmp, need);
	return 0;
}

static int write_strings(struct pp_ctx *c, const char *lost)
{
	char *tmp = NULL;
	size_t cap = 0, i;
	int err = 0;

	for (i = 0; i < NR_FIXED_STRS && !err; i++)
		err = write_string(c->b, i == STR_LOST ? lost : fixed_strs[i], &tmp, &cap);
	for (i = 0; i < c->nr_strs && !err; i++)
		err = write_string(c->b, profile__str(c->p, c->str_order[i]), &tmp, &cap);
	free(tmp);
	return err;
}

static void write_meta(struct pp_ctx *c, uint64_t period, bool has_lost)
{
	const struct profile_meta *meta = profile__meta_c(c->p);
	struct pb_buf *b = c->b;

	pb__int64_nz(b, PROFILE_TIME_NANOS, (int64_t)meta->start_ns);
	if (meta->start_ns && meta->end_ns > meta->start_ns)
		pb__int64(b, PROFILE_DURATION_NANOS, (int64_t)(meta->end_ns - meta->start_ns));
	if (period) {
		write_value_type(b, PROFILE_PERIOD_TYPE, STR_CPU, STR_NANOSECONDS);
		pb__int64(b, PROFILE_PERIOD, (int64_t)period);
	} else {
		write_value_type(b, PROFILE_PERIOD_TYPE, STR_SAMPLES, STR_COUNT);
		pb__int64(b, PROFILE_PERIOD, 1);
	}
	if (has_lost)
		pb__int64(b, PROFILE_COMMENT, STR_LOST);
}

/* Compresses @len bytes at @data as one gzip member into @out. */
static int gzip_write(const uint8_t *data, size_t len, FILE *out)
{
	unsigned char chunk[64 * 1024];
	z_stream zs;
	size_t have;
	int zerr, err = 0;

	memset(&zs, 0, sizeof(zs));
	/* 15 + 16: a 32 KiB window with a gzip header and trailer. */
	if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	zs.next_in = (unsigned char *)data;
	do {
		/* avail_in is 32 bits: feed big buffers in slices. */
		if (!zs.avail_in && len) {
			zs.avail_in = len > (1u << 30) ? (1u << 30) : (uInt)len;
			len -= zs.avail_in;
		}
		zs.next_out = chunk;
		zs.avail_out = sizeof(chunk);
		zerr = deflate(&zs, len || zs.avail_in ? Z_NO_FLUSH : Z_FINISH);
		if (zerr == Z_STREAM_ERROR) {
			err = -EIO;
			break;
		}
		have = sizeof(chunk) - zs.avail_out;
		if (have && fwrite(chunk, 1, have, out) != have) {
			err = errno ? -errno : -EIO;
			break;
		}
	} while (zerr != Z_STREAM_END);
	deflateEnd(&zs);
	return err;
}

static int pp_ctx__init(struct pp_ctx *c, const struct profile *p, struct pb_buf *b)
{
	size_t nstr = (size_t)profile__str_count(p) + 1;

	memset(c, 0, sizeof(*c));
	c->p = p;
	c->b = b;
	c->str_idx = calloc(nstr, sizeof(*c->str_idx));
	c->str_order = calloc(nstr, sizeof(*c->str_order));
	c->module_map = calloc(nstr, sizeof(*c->module_map));
	c->frame_func = calloc((size_t)profile__frame_count(p) + 1, sizeof(*c->frame_func));
	c->stacks = calloc((size_t)profile__stack_count(p) + 1, sizeof(*c->stacks));
	if (!c->str_idx || !c->str_order || !c->module_map || !c->frame_func || !c->stacks)
		return -ENOMEM;
	return 0;
}

static void pp_ctx__exit(struct pp_ctx *c)
{
	free(c->stack_pool);
	free(c->stacks);
	idhash__exit(&c->loc_index);
	free(c->loc_pool);
	free(c->locs);
	free(c->maps);
	free(c->module_map);
	idhash__exit(&c->func_index);
	free(c->funcs);
	free(c->frame_func);
	free(c->str_order);
	free(c->str_idx);
}

/* The profile's period in ns: as recorded, else from the frequency; 0 = unknown. */
static uint64_t profile_period(const struct profile *p)
{
	const struct profile_meta *m = profile__meta_c(p);

	if (m->period_ns)
		return m->period_ns;
	if (m->freq_hz)
		return 1000000000ULL / m->freq_hz;
	return 0;
}

int fmt_pprof__write(const struct profile *p, const struct fmt_options *opts, FILE *out)
{
	const struct profile_lost *l;
	struct pb_buf b;
	struct pp_ctx c;
	char lost[128] = "";
	uint64_t period;
	int err;

	(void)opts;
	if (!p || !out)
		return -EINVAL;
	l = &profile__meta_c(p)->lost;
	period = profile_period(p);
	/* count * period must fit an int64 */
	if (period && profile__total(p) > (uint64_t)INT64_MAX / period)
		period = 0;
	if (l->samples)
		snprintf(lost, sizeof(lost), "ember: %" PRIu64 " samples lost", l->samples);
	pb_buf__init(&b);
	err = pp_ctx__init(&c, p, &b);
	if (err)
		goto out_free;

	write_value_type(&b, PROFILE_SAMPLE_TYPE, STR_SAMPLES, STR_COUNT);
	if (period)
		write_value_type(&b, PROFILE_SAMPLE_TYPE, STR_CPU, STR_NANOSECONDS);
	err = write_samples(&c, period);
	if (err)
		goto out_free;
	write_mappings(&c);
	write_locations(&c);
	write_functions(&c);
	write_meta(&c, period, lost[0] != '\0');
	err = write_strings(&c, lost);
	if (!err)
		err = pb_buf__error(&b);
	if (err)
		goto out_free;

	err = gzip_write(b.p, b.len, out);
	if (!err && fflush(out))
		err = errno ? -errno : -EIO;
out_free:
	pp_ctx__exit(&c);
	pb_buf__exit(&b);
	return err;
}

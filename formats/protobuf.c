/*
 * A minimal protocol buffers encoder (formats/protobuf.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protobuf.h"

void pb_buf__init(struct pb_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void pb_buf__exit(struct pb_buf *b)
{
	free(b->p);
	pb_buf__init(b);
}

int pb_buf__error(const struct pb_buf *b)
{
	return b->err;
}

/* Makes room for @more bytes; false (and the sticky error) when it cannot. */
static bool pb_buf__reserve(struct pb_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	uint8_t *p;

	if (b->err)
		return false;
	if (more <= b->cap - b->len)
		return true;
	if (more > SIZE_MAX - b->len)
		goto nomem;
	while (cap - b->len < more) {
		if (cap > SIZE_MAX / 2)
			goto nomem;
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (!p)
		goto nomem;
	b->p = p;
	b->cap = cap;
	return true;
nomem:
	b->err = -ENOMEM;
	return false;
}

size_t pb__varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

void pb__varint(struct pb_buf *b, uint64_t v)
{
	if (!pb_buf__reserve(b, 10))
		return;
	b->len += put_varint(b->p + b->len, v);
}

void pb__tag(struct pb_buf *b, uint32_t field, enum pb_wire wire)
{
	pb__varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

void pb__uint64(struct pb_buf *b, uint32_t field, uint64_t v)
{
	pb__tag(b, field, PB_WIRE_VARINT);
	pb__varint(b, v);
}

void pb__int64(struct pb_buf *b, uint32_t field, int64_t v)
{
	pb__uint64(b, field, (uint64_t)v);
}

void pb__bool(struct pb_buf *b, uint32_t field, bool v)
{
	pb__uint64(b, field, v ? 1 : 0);
}

void pb__bytes(struct pb_buf *b, uint32_t field, const void *data, size_t len)
{
	pb__tag(b, field, PB_WIRE_LEN);
	pb__varint(b, len);
	if (!len || !pb_buf__reserve(b, len))
		return;
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

void pb__string(struct pb_buf *b, uint32_t field, const char *s)
{
	pb__bytes(b, field, s, strlen(s));
}

void pb__uint64_nz(struct pb_buf *b, uint32_t field, uint64_t v)
{
	if (v)
		pb__uint64(b, field, v);
}

void pb__int64_nz(struct pb_buf *b, uint32_t field, int64_t v)
{
	if (v)
		pb__int64(b, field, v);
}

size_t pb__begin(struct pb_buf *b, uint32_t field)
{
	pb__tag(b, field, PB_WIRE_LEN);
	if (!pb_buf__reserve(b, 1))
		return b->len;
	b->p[b->len++] = 0;
	return b->len;
}

void pb__end(struct pb_buf *b, size_t mark)
{
	size_t body, lsize;

	if (b->err)
		return;
	body = b->len - mark;
	lsize = pb__varint_size(body);
	if (lsize > 1) {
		if (!pb_buf__reserve(b, lsize - 1))
			return;
		memmove(b->p + mark + lsize - 1, b->p + mark, body);
		b->len += lsize - 1;
	}
	put_varint(b->p + mark - 1, body);
}

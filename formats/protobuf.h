/*
 * Private to formats/: a minimal protocol buffers encoder, enough for
 * profile.proto (varints, 64-bit signed ints, bools, strings, packed repeated
 * varints and nested messages) into a growable byte buffer.
 *
 * Errors are sticky: after a failed allocation every call is a no-op and
 * pb_buf__error() reports -ENOMEM, so encoders check once at the end.
 *
 * Nested messages: pb__begin() writes the tag and reserves one byte for the
 * length; pb__end() fills it in, moving the body when the length needs more
 * bytes. Begin/end pairs nest; end the innermost first.
 */
#ifndef EMBER_FORMATS_PROTOBUF_H
#define EMBER_FORMATS_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pb_wire {
	PB_WIRE_VARINT = 0,
	PB_WIRE_I64 = 1,
	PB_WIRE_LEN = 2,
	PB_WIRE_I32 = 5,
};

struct pb_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	int err;
};

void pb_buf__init(struct pb_buf *b);
void pb_buf__exit(struct pb_buf *b);
/* 0, or -ENOMEM when an allocation failed since init. */
int pb_buf__error(const struct pb_buf *b);

/* Bytes the varint encoding of @v takes (1..10). */
size_t pb__varint_size(uint64_t v);

void pb__varint(struct pb_buf *b, uint64_t v);
void pb__tag(struct pb_buf *b, uint32_t field, enum pb_wire wire);

/* Field writers: always write the field, zero included. */
void pb__uint64(struct pb_buf *b, uint32_t field, uint64_t v);
/* int64: negative values take ten bytes (two's complement), as the spec says. */
void pb__int64(struct pb_buf *b, uint32_t field, int64_t v);
void pb__bool(struct pb_buf *b, uint32_t field, bool v);
void pb__bytes(struct pb_buf *b, uint32_t field, const void *data, size_t len);
void pb__string(struct pb_buf *b, uint32_t field, const char *s);

/* proto3 style: nothing is written for a zero value. */
void pb__uint64_nz(struct pb_buf *b, uint32_t field, uint64_t v);
void pb__int64_nz(struct pb_buf *b, uint32_t field, int64_t v);

/* Opens a length-delimited field (a message or a packed list); returns its mark. */
size_t pb__begin(struct pb_buf *b, uint32_t field);
/* Closes the field opened at @mark. */
void pb__end(struct pb_buf *b, size_t mark);

#endif /* EMBER_FORMATS_PROTOBUF_H */

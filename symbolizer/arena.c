/*
 * A string arena: strings copied into large chunks and freed all at once, for
 * names that live as long as the object that found them (demangled names,
 * DWARF names, JIT names).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sym_int.h"

#define ARENA_CHUNK 16384

struct sym_arena_chunk {
	struct sym_arena_chunk *next;
	char data[];
};

const char *sym_arena__strndup(struct sym_arena *a, const char *s, size_t len)
{
	char *p;

	if (!a->head || a->cap - a->used < len + 1) {
		size_t cap = len + 1 > ARENA_CHUNK ? len + 1 : ARENA_CHUNK;
		struct sym_arena_chunk *c = malloc(sizeof(*c) + cap);

		if (!c) {
			errno = ENOMEM;
			return NULL;
		}
		c->next = a->head;
		a->head = c;
		a->used = 0;
		a->cap = cap;
		a->bytes += sizeof(*c) + cap;
	}
	p = a->head->data + a->used;
	memcpy(p, s, len);
	p[len] = '\0';
	a->used += len + 1;
	return p;
}

void sym_arena__free(struct sym_arena *a)
{
	struct sym_arena_chunk *c = a->head, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	memset(a, 0, sizeof(*a));
}

/*
 * Small containers of the storage module: a u64 -> u64 open-addressing hash
 * map (linear probing, power-of-two capacity, grown at 3/4 load; the key
 * UINT64_MAX marks an empty slot) and a growable byte buffer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static inline uint64_t smap__hash(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 33;
	v *= 0xc4ceb9fe1a85ec53ULL;
	v ^= v >> 33;
	return v;
}

void smap__init(struct smap *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->len = 0;
}

void smap__exit(struct smap *m)
{
	free(m->slots);
	smap__init(m);
}

void smap__clear(struct smap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		m->slots[i].key = SMAP_EMPTY;
	m->len = 0;
}

uint64_t *smap__find(const struct smap *m, uint64_t key)
{
	size_t mask = m->cap - 1, i;

	if (!m->cap || key == SMAP_EMPTY)
		return NULL;
	for (i = smap__hash(key) & mask; m->slots[i].key != SMAP_EMPTY; i = (i + 1) & mask) {
		if (m->slots[i].key == key)
			return &m->slots[i].val;
	}
	return NULL;
}

static int smap__grow(struct smap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64, i, j;
	struct smap_slot *slots;

	if (cap > SIZE_MAX / sizeof(*slots))
		return -ENOMEM;
	slots = malloc(cap * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; i < cap; i++)
		slots[i].key = SMAP_EMPTY;
	for (i = 0; i < m->cap; i++) {
		if (m->slots[i].key == SMAP_EMPTY)
			continue;
		for (j = smap__hash(m->slots[i].key) & (cap - 1); slots[j].key != SMAP_EMPTY;
		     j = (j + 1) & (cap - 1))
			;
		slots[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

uint64_t *smap__upsert(struct smap *m, uint64_t key, uint64_t val, bool *added)
{
	uint64_t *v = smap__find(m, key);
	size_t i, mask;

	if (added)
		*added = false;
	if (v)
		return v;
	if (key == SMAP_EMPTY) {
		errno = EINVAL;
		return NULL;
	}
	if ((m->len + 1) * 4 > m->cap * 3 && smap__grow(m)) {
		errno = ENOMEM;
		return NULL;
	}
	mask = m->cap - 1;
	for (i = smap__hash(key) & mask; m->slots[i].key != SMAP_EMPTY; i = (i + 1) & mask)
		;
	m->slots[i].key = key;
	m->slots[i].val = val;
	m->len++;
	if (added)
		*added = true;
	return &m->slots[i].val;
}

int sbuf__reserve(struct sbuf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 256;
	uint8_t *p;

	if (need <= b->cap)
		return 0;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

void sbuf__exit(struct sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

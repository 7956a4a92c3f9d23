/*
 * A small open-addressing hash index from keys to dense ids, shared by the
 * profile model and the writers that deduplicate (pprof, svg, speedscope).
 *
 * The index maps keys to dense ids; it never stores the keys themselves, only
 * a 32-bit hash and the id, so the caller keeps the keys in its own arrays and
 * passes an equality callback that compares a key against the entry for an id.
 * Linear probing, power-of-two capacity, grown at 3/4 load; growing reuses the
 * stored hashes, so it never calls back into the caller.
 */
#ifndef EMBER_IDHASH_H
#define EMBER_IDHASH_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IDHASH_EMPTY UINT32_MAX

struct idhash_slot {
	uint32_t hash;
	uint32_t id; /* IDHASH_EMPTY when the slot is free */
};

struct idhash {
	struct idhash_slot *slots;
	size_t cap; /* 0 or a power of two */
	size_t len;
};

/* Mixes @v into a well-spread 64-bit value (the murmur3 finalizer). */
static inline uint64_t idhash__fmix(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 33;
	v *= 0xc4ceb9fe1a85ec53ULL;
	v ^= v >> 33;
	return v;
}

/* Folds @v into the running hash @h. */
static inline uint64_t idhash__add(uint64_t h, uint64_t v)
{
	return (h ^ idhash__fmix(v + 0x9e3779b97f4a7c15ULL)) * 0x100000001b3ULL;
}

static inline uint64_t idhash__bytes(const void *data, size_t len)
{
	const unsigned char *s = data;
	uint64_t h = 0xcbf29ce484222325ULL ^ idhash__fmix(len);
	uint64_t v;

	/* One multiply per word; the final mix spreads what the words left. */
	while (len >= 8) {
		memcpy(&v, s, 8);
		h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
		s += 8;
		len -= 8;
	}
	if (len) {
		v = 0;
		memcpy(&v, s, len);
		h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return idhash__fmix(h);
}

static inline void idhash__init(struct idhash *h)
{
	h->slots = NULL;
	h->cap = 0;
	h->len = 0;
}

static inline void idhash__exit(struct idhash *h)
{
	free(h->slots);
	idhash__init(h);
}

static inline void idhash__place(struct idhash_slot *slots, size_t mask, uint32_t hash, uint32_t id)
{
	size_t i = hash & mask;

	while (slots[i].id != IDHASH_EMPTY)
		i = (i + 1) & mask;
	slots[i].hash = hash;
	slots[i].id = id;
}

/* Makes room for one more entry. 0 or -ENOMEM. */
static inline int idhash__reserve(struct idhash *h)
{
	struct idhash_slot *slots;
	size_t cap, i;

	if ((h->len + 1) * 4 <= h->cap * 3)
		return 0;
	cap = h->cap ? h->cap * 2 : 64;
	if (cap > SIZE_MAX / sizeof(*slots))
		return -ENOMEM;
	slots = malloc(cap * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; i < cap; i++)
		slots[i].id = IDHASH_EMPTY;
	for (i = 0; i < h->cap; i++) {
		if (h->slots[i].id != IDHASH_EMPTY)
			idhash__place(slots, cap - 1, h->slots[i].hash, h->slots[i].id);
	}
	free(h->slots);
	h->slots = slots;
	h->cap = cap;
	return 0;
}

/*
 * Returns the id of the entry with @hash for which @eq(@ctx, id, @key) holds,
 * or IDHASH_EMPTY.
 */
static inline uint32_t idhash__find(const struct idhash *h, uint32_t hash,
				    bool (*eq)(const void *ctx, uint32_t id, const void *key),
				    const void *ctx, const void *key)
{
	size_t mask = h->cap - 1;
	size_t i;

	if (!h->cap)
		return IDHASH_EMPTY;
	for (i = hash & mask; h->slots[i].id != IDHASH_EMPTY; i = (i + 1) & mask) {
		if (h->slots[i].hash == hash && eq(ctx, h->slots[i].id, key))
			return h->slots[i].id;
	}
	return IDHASH_EMPTY;
}

/* Inserts @id; the caller reserved room and knows the key is absent. */
static inline void idhash__insert(struct idhash *h, uint32_t hash, uint32_t id)
{
	idhash__place(h->slots, h->cap - 1, hash, id);
	h->len++;
}

#endif /* EMBER_IDHASH_H */

/*
 * Private to formats/: a small open-addressing index from keys to dense ids,
 * for the writers that deduplicate (pprof functions and locations, SVG tree
 * nodes). It stores a 32-bit hash and the id only; the caller keeps its keys
 * in its own arrays and passes an equality callback. Linear probing,
 * power-of-two capacity, grown at 3/4 load.
 */
#ifndef EMBER_FORMATS_FMT_HASH_H
#define EMBER_FORMATS_FMT_HASH_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define FMT_HASH_EMPTY UINT32_MAX

struct fmt_hash_slot {
	uint32_t hash;
	uint32_t id;
};

struct fmt_hash {
	struct fmt_hash_slot *slots;
	size_t cap; /* 0 or a power of two */
	size_t len;
};

typedef bool (*fmt_hash_eq_fn)(const void *ctx, uint32_t id, const void *key);

/* The murmur3 finalizer. */
static inline uint64_t fmt_hash__mix(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 33;
	v *= 0xc4ceb9fe1a85ec53ULL;
	v ^= v >> 33;
	return v;
}

/* Folds @v into the running hash @h. */
static inline uint64_t fmt_hash__add(uint64_t h, uint64_t v)
{
	return (h ^ fmt_hash__mix(v + 0x9e3779b97f4a7c15ULL)) * 0x100000001b3ULL;
}

static inline void fmt_hash__exit(struct fmt_hash *h)
{
	free(h->slots);
	h->slots = NULL;
	h->cap = 0;
	h->len = 0;
}

static inline void fmt_hash__place(struct fmt_hash_slot *slots, size_t mask, uint32_t hash,
				   uint32_t id)
{
	size_t i = hash & mask;

	while (slots[i].id != FMT_HASH_EMPTY)
		i = (i + 1) & mask;
	slots[i].hash = hash;
	slots[i].id = id;
}

/* Makes room for one more entry. 0 or -ENOMEM. */
static inline int fmt_hash__reserve(struct fmt_hash *h)
{
	struct fmt_hash_slot *slots;
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
		slots[i].id = FMT_HASH_EMPTY;
	for (i = 0; i < h->cap; i++) {
		if (h->slots[i].id != FMT_HASH_EMPTY)
			fmt_hash__place(slots, cap - 1, h->slots[i].hash, h->slots[i].id);
	}
	free(h->slots);
	h->slots = slots;
	h->cap = cap;
	return 0;
}

/* The id of the entry with @hash that @eq accepts for @key, or FMT_HASH_EMPTY. */
static inline uint32_t fmt_hash__find(const struct fmt_hash *h, uint32_t hash, fmt_hash_eq_fn eq,
				      const void *ctx, const void *key)
{
	size_t mask = h->cap - 1, i;

	if (!h->cap)
		return FMT_HASH_EMPTY;
	for (i = hash & mask; h->slots[i].id != FMT_HASH_EMPTY; i = (i + 1) & mask) {
		if (h->slots[i].hash == hash && eq(ctx, h->slots[i].id, key))
			return h->slots[i].id;
	}
	return FMT_HASH_EMPTY;
}

/* Inserts @id; the caller reserved room and knows the key is absent. */
static inline void fmt_hash__insert(struct fmt_hash *h, uint32_t hash, uint32_t id)
{
	fmt_hash__place(h->slots, h->cap - 1, hash, id);
	h->len++;
}

#endif /* EMBER_FORMATS_FMT_HASH_H */

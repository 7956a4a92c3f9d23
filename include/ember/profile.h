/*
 * The profile model: the one in-memory representation of a set of samples
 * that every part of ember speaks. The symbolizer fills it, the formats write
 * it, storage stores and merges it, the web UI reads it.
 *
 * A profile holds
 *   - a string table (id 0 is always the empty string),
 *   - deduplicated frames (function name, module, file:line, address, kind),
 *   - deduplicated stacks (frame ids, root first, leaf last),
 *   - deduplicated tasks (pid, tid, comm, process start time, exe, cgroup),
 *   - samples: (stack id, task id) -> count, aggregated,
 *   - modules' build ids (module string id -> build id string id),
 *   - the run's metadata: time span, frequency, lost-sample counters.
 *
 * Ids are dense indexes starting at 0 and stay valid for the profile's life.
 * Borrowed pointers returned by lookups stay valid until the next call that
 * adds to the same table.
 */
#ifndef EMBER_PROFILE_H
#define EMBER_PROFILE_H

#include <stddef.h>
#include <stdint.h>

enum profile_frame_kind {
	PROFILE_FRAME_USER = 0,
	PROFILE_FRAME_KERNEL = 1,
	PROFILE_FRAME_JIT = 2,
	/*
	 * Inlined into the frame before it. In a stack (root first), one address
	 * with an inline chain is its function (USER, KERNEL or JIT) followed by
	 * the functions inlined into it, outermost to innermost, all INLINE and
	 * all at that address: [work, helper (INLINE), inner (INLINE)] means
	 * inner was inlined into helper, which was inlined into work.
	 */
	PROFILE_FRAME_INLINE = 3,
	PROFILE_FRAME_SPECIAL = 4, /* synthetic: [truncated], [other], ... */
};

struct profile_frame {
	uint32_t name;	     /* string id of the function name, or of "[module]" */
	uint32_t module;     /* string id of the module (file basename, "[kernel]"); 0 = none */
	uint32_t file;	     /* string id of the source file; 0 = unknown */
	uint32_t line;	     /* source line; 0 = unknown */
	uint64_t addr;	     /* address relative to the module (file vaddr), 0 if unknown */
	uint32_t kind;	     /* enum profile_frame_kind */
	uint32_t start_line; /* the function's first line (DWARF decl_line); 0 = unknown */
};

struct profile_task {
	uint32_t pid;	 /* tgid */
	uint32_t tid;	 /* thread id; equals pid when the profile is not per thread */
	uint32_t comm;	 /* string id */
	uint32_t exe;	 /* string id of the executable path; 0 = unknown */
	uint32_t cgroup; /* string id of the cgroup path; 0 = unknown */
	uint32_t _pad;
	uint64_t start_time; /* process start time, ns since boot; 0 = unknown */
};

/* Counters that say what the sampler could not record. Summed on merge. */
struct profile_lost {
	uint64_t samples;	   /* samples the kernel could not record at all */
	uint64_t kstack_errors;	   /* kernel stack could not be read */
	uint64_t ustack_errors;	   /* user stack could not be read */
	uint64_t stack_collisions; /* stack map hash collisions */
	uint64_t stack_map_full;   /* stack map had no free entry */
	uint64_t count_map_full;   /* the in-kernel count map was full */
	uint64_t ringbuf_full;	   /* ring buffer records dropped */
	uint64_t truncated;	   /* stacks that ended before the outermost frame */
};

struct profile_meta {
	uint64_t start_ns; /* wall clock, ns since the Unix epoch; 0 = unknown */
	uint64_t end_ns;
	uint32_t freq_hz; /* sampling frequency; 0 = unknown */
	uint32_t _pad;
	uint64_t period_ns; /* 1e9 / freq_hz, or as imported */
	struct profile_lost lost;
};

struct profile;

/* Returns a new empty profile, or NULL with errno set. */
struct profile *profile__new(void);
/* Frees @p and everything it owns; accepts NULL. */
void profile__free(struct profile *p);
/*
 * A number no other profile of this process had or will have (a profile
 * freed and another allocated at its address get different serials): lets
 * callers remember ids they got from @p, since ids are never taken back.
 */
uint64_t profile__serial(const struct profile *p);

/*
 * Interns @len bytes of @s (need not be NUL-terminated) and returns its string
 * id, or a negative errno. The same bytes always give the same id.
 */
int64_t profile__intern_n(struct profile *p, const char *s, size_t len);
int64_t profile__intern(struct profile *p, const char *s);
/* Borrowed NUL-terminated string for @id; "" for an unknown id. */
const char *profile__str(const struct profile *p, uint32_t id);
uint32_t profile__str_count(const struct profile *p);

/* Adds (or finds) a frame equal to @f; returns its id or a negative errno. */
int64_t profile__add_frame(struct profile *p, const struct profile_frame *f);
const struct profile_frame *profile__frame(const struct profile *p, uint32_t id);
uint32_t profile__frame_count(const struct profile *p);

/* Adds (or finds) the stack of @n frame ids, root first; returns its id or -errno. */
int64_t profile__add_stack(struct profile *p, const uint32_t *frames, uint32_t n);
/* Borrowed frame ids of stack @id, root first; *n receives the depth. */
const uint32_t *profile__stack(const struct profile *p, uint32_t id, uint32_t *n);
uint32_t profile__stack_count(const struct profile *p);

/* Adds (or finds) a task equal to @t; returns its id or a negative errno. */
int64_t profile__add_task(struct profile *p, const struct profile_task *t);
const struct profile_task *profile__task(const struct profile *p, uint32_t id);
uint32_t profile__task_count(const struct profile *p);

/* Adds @count samples of (@stack, @task); identical pairs are summed. 0 or -errno. */
int profile__add_sample(struct profile *p, uint32_t stack, uint32_t task, uint64_t count);

struct profile_sample {
	uint32_t stack;
	uint32_t task;
	uint64_t count;
};
/* Borrowed array of the aggregated samples, in insertion order. */
const struct profile_sample *profile__samples(const struct profile *p, size_t *n);
/* Sum of all sample counts. */
uint64_t profile__total(const struct profile *p);

/*
 * Records @build_id (a string id: the GNU build id in lowercase hex) for
 * module @module (a string id, not 0). A module name has one build id per
 * profile: the first recorded stays (two builds of "libc.so.6" in one
 * profile keep the first's). 0 or -errno (-EINVAL for unknown string ids).
 */
int profile__set_build_id(struct profile *p, uint32_t module, uint32_t build_id);
/* String id of @module's build id; 0 when none is known. */
uint32_t profile__build_id(const struct profile *p, uint32_t module);

struct profile_meta *profile__meta(struct profile *p);
const struct profile_meta *profile__meta_c(const struct profile *p);

/*
 * Adds every sample of @src into @dst, re-interning strings, frames, stacks
 * and tasks, and build ids of modules dst has none for; sums the lost
 * counters and widens dst's time span. 0 or -errno.
 */
int profile__merge(struct profile *dst, const struct profile *src);

#endif /* EMBER_PROFILE_H */

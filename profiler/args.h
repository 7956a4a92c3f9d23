/*
 * Parsers for command-line values, kept apart from the commands so unit tests
 * can reach them. Private to the profiler.
 */
#ifndef EMBER_PROFILER_ARGS_H
#define EMBER_PROFILER_ARGS_H

#include <stdint.h>

/* "12,345,6" -> pids (owned by the caller, free()). 0 or -EINVAL/-ENOMEM. */
int args__parse_pids(const char *s, uint32_t **pids, int *n);
/* "10", "2.5", "1500ms", "2m", "1h" -> nanoseconds (> 0). 0 or -EINVAL. */
int args__parse_duration(const char *s, uint64_t *ns);
/* A positive integer in [min, max]. 0 or -EINVAL. */
int args__parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/* --stack-size: "16K", "8192" ... within the dwarf-mode bounds, rounded down to 8 bytes. */
int args__parse_stack_size(const char *s, uint32_t *out);

#endif

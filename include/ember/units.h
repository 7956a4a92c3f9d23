/*
 * Parsers for the values users type: points in time, durations, sizes.
 */
#ifndef EMBER_UNITS_H
#define EMBER_UNITS_H

#include <stddef.h>
#include <stdint.h>

/*
 * A point in time -> ns since the Unix epoch. Accepts RFC 3339
 * ("2026-11-21T03:10:00Z", "...+02:00", fractional seconds), Unix seconds
 * ("1763694600", "1763694600.5"), "now", and relative times before @now_ns
 * ("-15m", "-2h", "-7d", "-30s"). 0 or -EINVAL.
 */
int units__parse_time(const char *s, uint64_t now_ns, uint64_t *out_ns);
/* "10", "2.5", "500ms", "30s", "15m", "2h", "7d", "2w" -> ns (> 0). 0 or -EINVAL. */
int units__parse_duration(const char *s, uint64_t *out_ns);
/* "1048576", "500K", "200M", "2G", "1T" (powers of 1024; "MiB"/"MB" too) -> bytes. */
int units__parse_size(const char *s, uint64_t *out_bytes);
/* RFC 3339 UTC with milliseconds into @buf; returns @buf. */
char *units__format_time(uint64_t ns, char *buf, size_t size);

#endif /* EMBER_UNITS_H */

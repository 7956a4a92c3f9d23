/*
 * Private to formats/: the JSON payload writer with a node budget, shared by
 * the json and html writers.
 */
#ifndef EMBER_FORMATS_JSON_INT_H
#define EMBER_FORMATS_JSON_INT_H

#include <stdint.h>
#include <stdio.h>

struct profile;

/* Writes @p's flamegraph payload cut to @max_nodes (0 = all). 0 or -errno. */
int fmt_json__write_budget(const struct profile *p, uint32_t max_nodes, FILE *out);

#endif /* EMBER_FORMATS_JSON_INT_H */

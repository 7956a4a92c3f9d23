/*
 * The drain step every sampling command shares: process events into the
 * symbolizer, the kernel's maps into the collector, unwound stacks
 * symbolized, ended programs released. Private to the profiler.
 */
#ifndef EMBER_PROFILER_PIPELINE_H
#define EMBER_PROFILER_PIPELINE_H

#include <stdint.h>

struct prof_collector;
struct prof_mmap_events;
struct prof_sampler;
struct symbolizer;

/*
 * Drains @s into @c's current profile. @mev may be NULL (no process events).
 * Returns the number of samples drained, or -errno.
 */
int64_t pipeline__drain(struct prof_sampler *s, struct prof_collector *c, struct symbolizer *sym,
			struct prof_mmap_events *mev);

#endif

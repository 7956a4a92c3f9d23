/*
 * One drain of the sampling pipeline, shared by `ember profile` and
 * `ember daemon` (see pipeline.h).
 */
#include "ember/profiler.h"
#include "ember/symbolizer.h"
#include "mmap_events.h"
#include "pipeline.h"

static int collect_one(const struct prof_raw_sample *s, void *ctx)
{
	return prof_collector__add(ctx, s);
}

int64_t pipeline__drain(struct prof_sampler *s, struct prof_collector *c, struct symbolizer *sym,
			struct prof_mmap_events *mev)
{
	int64_t n;
	int err;

	/* Mappings of processes started (and maybe gone) since the last read. */
	if (mev)
		prof_mmap_events__read(mev, sym);
	n = prof_sampler__drain(s, collect_one, c);
	err = prof_collector__flush(c);
	/* What ended before this drain has had its samples symbolized. */
	symbolizer__window_done(sym);
	if (n >= 0 && err < 0)
		n = err;
	return n;
}

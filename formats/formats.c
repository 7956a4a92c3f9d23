/*
 * Format names and the writer dispatch (include/ember/formats.h). Each writer
 * lives in its own file; formats not built yet answer -ENOTSUP.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "ember/formats.h"

static const char *const kind_names[] = {
	[FMT_FOLDED] = "folded",
	[FMT_SVG] = "svg",
	[FMT_HTML] = "html",
	[FMT_PPROF] = "pprof",
	[FMT_SPEEDSCOPE] = "speedscope",
	[FMT_JSON] = "json",
};

#define NR_KINDS (sizeof(kind_names) / sizeof(kind_names[0]))

int fmt__parse_kind(const char *name)
{
	size_t i;

	if (!name)
		return -EINVAL;
	for (i = 0; i < NR_KINDS; i++) {
		if (!strcmp(name, kind_names[i]))
			return (int)i;
	}
	return -EINVAL;
}

/* Returns the format's name, or NULL with errno EINVAL for an unknown kind. */
const char *fmt__kind_name(enum fmt_kind kind)
{
	if ((unsigned int)kind >= NR_KINDS) {
		errno = EINVAL;
		return NULL;
	}
	return kind_names[kind];
}

bool fmt__is_binary(enum fmt_kind kind)
{
	return kind == FMT_PPROF;
}

int fmt__write(const struct profile *p, enum fmt_kind kind, const struct fmt_options *opts,
	       FILE *out)
{
	static const struct fmt_options defaults;

	if (!p || !out)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	switch (kind) {
	case FMT_FOLDED:
		return fmt_folded__write(p, opts, out);
	case FMT_HTML:
		return fmt_html__write(p, out);
	case FMT_JSON:
		return fmt_json__write(p, out);
	case FMT_SVG:
		return fmt_svg__write(p, opts, out);
	case FMT_PPROF:
		return fmt_pprof__write(p, opts, out);
	case FMT_SPEEDSCOPE:
		return fmt_speedscope__write(p, opts, out);
	}
	return -EINVAL;
}

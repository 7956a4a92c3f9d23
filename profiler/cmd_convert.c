/*
 * `ember convert`: one profile file from another tool (folded stacks,
 * `perf script` output) written in any of ember's formats, without a
 * database: `perf script | ember convert -f svg -o out.svg -`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/formats.h"
#include "ember/log.h"
#include "ember/profile.h"
#include "ember/profiler.h"
#include "interop.h"
#include "run.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ember convert [-i folded|perf-script] [-f FORMAT] [-o FILE] [OPTIONS] "
		"INPUT\n"
		"\n"
		"Reads a profile another tool wrote and writes it in another format. INPUT is a\n"
		"file, or - for standard input.\n"
		"\n"
		"  -i, --input-format F  folded (flamegraph.pl's input) or perf-script (the\n"
		"                        text of `perf script`); default: guessed from the\n"
		"                        first line\n"
		"  -f, --format FORMAT   folded (default), svg, html, pprof, speedscope, json\n"
		"  -o, --output FILE     write here instead of standard output (binary formats\n"
		"                        refuse a terminal)\n"
		"      --event NAME      perf-script: read this event's samples (default: the\n"
		"                        first event in the input); 'cycles' matches 'cycles:u'\n"
		"      --per-thread      one stack root (folded, svg) or profile (speedscope)\n"
		"                        per thread\n"
		"      --title TEXT      svg: the title (default: the input's name)\n"
		"      --subtitle TEXT   svg: the subtitle (default: time span and samples)\n"
		"      --inverted        svg: an icicle graph, roots at the top\n"
		"      --merged          speedscope: one profile for all processes\n"
		"  -v, --verbose         more log output\n"
		"  -h, --help            this help\n"
		"\n"
		"Examples:\n"
		"  perf record -g -- ./app && perf script | ember convert -f svg -o app.svg -\n"
		"  ember convert -i folded -f pprof -o app.pb.gz app.folded\n"
		"  go tool pprof -top app.pb.gz\n"
		"\n"
		"Exit status: 0 on success, 1 when the input cannot be read or the output\n"
		"written, 2 on bad usage.\n");
}

enum {
	OPT_EVENT = 256,
	OPT_PER_THREAD,
	OPT_TITLE,
	OPT_SUBTITLE,
	OPT_INVERTED,
	OPT_MERGED,
};

struct convert_args {
	struct interop_opts in;
	struct fmt_options fo;
	int format;
	const char *output;
	const char *input;
	int verbosity;
};

/* 0, 2 on a usage error (printed), -1 for --help. */
static int parse_args(int argc, char **argv, struct convert_args *a)
{
	static const struct option longopts[] = {
		{"input-format", required_argument, NULL, 'i'},
		{"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"event", required_argument, NULL, OPT_EVENT},
		{"per-thread", no_argument, NULL, OPT_PER_THREAD},
		{"title", required_argument, NULL, OPT_TITLE},
		{"subtitle", required_argument, NULL, OPT_SUBTITLE},
		{"inverted", no_argument, NULL, OPT_INVERTED},
		{"merged", no_argument, NULL, OPT_MERGED},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	int c, kind;

	a->format = FMT_FOLDED;
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:f:o:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			kind = interop__parse_kind(optarg);
			if (kind < 0) {
				pr_err("--input-format: unknown input format '%s' (folded, "
				       "perf-script)",
				       optarg);
				return 2;
			}
			a->in.kind = kind;
			break;
		case 'f':
			a->format = fmt__parse_kind(optarg);
			if (a->format < 0) {
				pr_err("--format: unknown format '%s' (folded, svg, html, pprof, "
				       "speedscope, json)",
				       optarg);
				return 2;
			}
			break;
		case 'o':
			a->output = optarg;
			break;
		case OPT_EVENT:
			a->in.event = optarg;
			break;
		case OPT_PER_THREAD:
			a->fo.per_thread = true;
			break;
		case OPT_TITLE:
			a->fo.title = optarg;
			break;
		case OPT_SUBTITLE:
			a->fo.subtitle = optarg;
			break;
		case OPT_INVERTED:
			a->fo.inverted = true;
			break;
		case OPT_MERGED:
			a->fo.merged = true;
			break;
		case 'v':
			a->verbosity++;
			break;
		case 'h':
			return -1;
		default:
			fprintf(stderr, "Try 'ember convert --help'.\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		pr_err(optind == argc ? "name the input file (or - for standard input)"
				      : "convert takes one input file");
		fprintf(stderr, "Try 'ember convert --help'.\n");
		return 2;
	}
	a->input = argv[optind];
	return 0;
}

int prof_cmd_convert(int argc, char **argv)
{
	struct convert_args a = {0};
	struct run_output out = {0};
	struct profile *p;
	int err, ret = 1;

	err = parse_args(argc, argv, &a);
	if (err) {
		if (err < 0)
			usage(stdout);
		return err < 0 ? 0 : 2;
	}
	if (a.verbosity)
		log__set_level(a.verbosity > 1 ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (!a.fo.title && strcmp(a.input, "-"))
		a.fo.title = a.input;

	if (run_output__open(&out, a.output, fmt__is_binary(a.format)))
		return 1;
	p = interop__read(a.input, &a.in);
	if (!p)
		goto out_abort;
	if (!profile__total(p))
		pr_warn("%s has no samples: writing an empty profile",
			strcmp(a.input, "-") ? a.input : "standard input");
	err = fmt__write(p, a.format, &a.fo, out.f);
	if (err) {
		pr_err("cannot write the %s profile: %s", fmt__kind_name(a.format), strerror(-err));
		goto out_free;
	}
	if (run_output__commit(&out))
		goto out_free;
	ret = 0;
out_free:
	profile__free(p);
out_abort:
	run_output__abort(&out);
	return ret;
}

/*
 * `ember import`: stores profiles other tools wrote (folded stacks, `perf
 * script` output) in a database, one window per input, so the web UI and
 * `ember export` show and diff them beside what the daemon recorded.
 *
 * Every input is read and checked before the database is touched: a bad
 * file imports nothing. Each window's span is the recording's (see
 * interop.h for how it is placed on the wall clock).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ember/formats.h"
#include "ember/log.h"
#include "ember/profile.h"
#include "ember/profiler.h"
#include "ember/storage.h"
#include "ember/units.h"
#include "interop.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ember import [--db PATH] [-f folded|perf-script] [--event NAME]\n"
		"                    [--time TIME] FILE...\n"
		"\n"
		"Stores profiles recorded by other tools in the database, one window per file,\n"
		"for the web UI and `ember export`. FILE - reads standard input.\n"
		"\n"
		"  --db PATH           database (default $EMBER_DB, else "
		"/var/lib/ember/ember.db);\n"
		"                      created when missing\n"
		"  -f, --format F      folded (flamegraph.pl's input) or perf-script (the text\n"
		"                      of `perf script`); default: guessed from the first line\n"
		"      --event NAME    perf-script: import this event's samples (default: the\n"
		"                      first event in each file); 'cycles' matches 'cycles:u'\n"
		"      --time TIME     when the recording ended: RFC 3339, Unix seconds, or\n"
		"                      relative (-2h). Default: perf's '# captured on' line\n"
		"                      (perf script --header), else the file's modification\n"
		"                      time (now for standard input)\n"
		"  -v, --verbose       more log output\n"
		"  -h, --help          this help\n"
		"\n"
		"A perf-script window spans the samples' timestamps; a folded window, which has\n"
		"no timestamps, is one second long.\n"
		"\n"
		"Examples:\n"
		"  perf record -g -a -- sleep 10 && perf script --header | ember import -\n"
		"  ember import --db /tmp/x.db -f folded old-run.folded\n"
		"\n"
		"Exit status: 0 on success, 1 when a file cannot be read (then nothing is\n"
		"imported) or the database written, 2 on bad usage.\n");
}

enum { OPT_DB = 256, OPT_EVENT, OPT_TIME };

struct import_args {
	const char *db;
	struct interop_opts in;
	int verbosity;
};

static uint64_t wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* 0, 2 on a usage error (printed), -1 for --help. */
static int parse_args(int argc, char **argv, struct import_args *a)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, OPT_DB},
		{"format", required_argument, NULL, 'f'},
		{"event", required_argument, NULL, OPT_EVENT},
		{"time", required_argument, NULL, OPT_TIME},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	const char *env = getenv("EMBER_DB");
	int c, kind;

	a->db = env && *env ? env : "/var/lib/ember/ember.db";
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DB:
			a->db = optarg;
			break;
		case 'f':
			kind = interop__parse_kind(optarg);
			if (kind < 0) {
				pr_err("--format: unknown input format '%s' (folded, perf-script)",
				       optarg);
				return 2;
			}
			a->in.kind = kind;
			break;
		case OPT_EVENT:
			a->in.event = optarg;
			break;
		case OPT_TIME:
			if (units__parse_time(optarg, wall_now(), &a->in.end_ns) || !a->in.end_ns) {
				pr_err("--time: '%s' is not a time (RFC 3339, Unix seconds, now, "
				       "-2h)",
				       optarg);
				return 2;
			}
			break;
		case 'v':
			a->verbosity++;
			break;
		case 'h':
			return -1;
		default:
			fprintf(stderr, "Try 'ember import --help'.\n");
			return 2;
		}
	}
	if (optind == argc) {
		pr_err("name the files to import (or - for standard input)");
		fprintf(stderr, "Try 'ember import --help'.\n");
		return 2;
	}
	return 0;
}

int prof_cmd_import(int argc, char **argv)
{
	struct store_open_opts so = {.writer = true};
	struct import_args a = {0};
	struct profile **windows;
	struct store *st = NULL;
	char msg[512] = "";
	int err, i, n, ret = 1;
	uint64_t total = 0;

	err = parse_args(argc, argv, &a);
	if (err) {
		if (err < 0)
			usage(stdout);
		return err < 0 ? 0 : 2;
	}
	if (a.verbosity)
		log__set_level(a.verbosity > 1 ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	n = argc - optind;
	windows = calloc((size_t)n, sizeof(*windows));
	if (!windows) {
		pr_err("out of memory");
		return 1;
	}

	for (i = 0; i < n; i++) {
		const char *path = argv[optind + i];

		windows[i] = interop__read(path, &a.in);
		if (!windows[i])
			goto out_free;
		if (!profile__total(windows[i])) {
			pr_err("%s has no samples: nothing imported",
			       strcmp(path, "-") ? path : "standard input");
			goto out_free;
		}
	}

	st = store__open(a.db, &so, msg, sizeof(msg));
	if (!st) {
		if (errno == EBUSY)
			pr_err("%s; stop it, or import into another database with --db", msg);
		else
			pr_err("%s", msg[0] ? msg : strerror(errno));
		goto out_free;
	}
	for (i = 0; i < n; i++) {
		err = store__write_window(st, windows[i]);
		if (err) {
			pr_err("cannot write to %s: %s (%s)%s", a.db, strerror(-err),
			       store__errmsg(st),
			       i ? "; the files before this one were imported" : "");
			goto out_close;
		}
		total += profile__total(windows[i]);
	}
	fprintf(stderr, "ember: imported %" PRIu64 " samples from %d file%s into %s\n", total, n,
		n == 1 ? "" : "s", a.db);
	ret = 0;
out_close:
	store__close(st);
out_free:
	for (i = 0; i < n; i++)
		profile__free(windows[i]);
	free(windows);
	return ret;
}

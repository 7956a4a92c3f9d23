/*
 * `ember export`: a time range of a database, filtered by process, merged
 * into one profile and written in any format. Opens the database read-only,
 * so it runs beside the daemon (and without root on a readable copy).
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
#include "args.h"
#include "run.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ember export [--db PATH] [--from TIME] [--to TIME] [--pid PID] [--comm "
		"NAME]\n"
		"                    [--exe PATH] [--cgroup PREFIX] [-f FORMAT] [-o FILE]\n"
		"\n"
		"Merges the stored windows of a time range into one profile and writes it.\n"
		"\n"
		"  --db PATH         database (default $EMBER_DB, else /var/lib/ember/ember.db)\n"
		"  --from TIME       start of the range (default: the first window)\n"
		"  --to TIME         end of the range (default: now)\n"
		"                    TIME: RFC 3339 (2026-11-21T03:10:00Z), Unix seconds, now,\n"
		"                    or relative (-15m, -2h, -7d)\n"
		"  --pid PID         only this process\n"
		"  --comm NAME       only tasks with this command name\n"
		"  --exe PATH        only this executable\n"
		"  --cgroup PREFIX   only tasks whose cgroup path starts with PREFIX\n"
		"  -f, --format F    %s (default folded)\n"
		"  -o, --output FILE write here instead of standard output\n"
		"      --per-thread  (folded) one stack root per thread\n"
		"  -h, --help        this help\n"
		"\n"
		"Exit status: 0 on success (also for an empty range, with a warning), 1 on a\n"
		"runtime failure, 2 on bad usage.\n",
		"folded, svg, html, pprof, speedscope, json");
}

enum { OPT_DB = 256, OPT_FROM, OPT_TO, OPT_PID, OPT_COMM, OPT_EXE, OPT_CGROUP, OPT_PT };

int prof_cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, OPT_DB},
		{"from", required_argument, NULL, OPT_FROM},
		{"to", required_argument, NULL, OPT_TO},
		{"pid", required_argument, NULL, OPT_PID},
		{"comm", required_argument, NULL, OPT_COMM},
		{"exe", required_argument, NULL, OPT_EXE},
		{"cgroup", required_argument, NULL, OPT_CGROUP},
		{"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"per-thread", no_argument, NULL, OPT_PT},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	const char *env = getenv("EMBER_DB"), *db = env && *env ? env : "/var/lib/ember/ember.db";
	const char *output = NULL;
	struct store_filter f = {};
	struct store_open_opts so = {};
	struct fmt_options fo = {};
	struct run_output out = {};
	struct profile *p = NULL;
	struct store *st = NULL;
	struct timespec ts;
	uint64_t now;
	char err[512] = "";
	int format = FMT_FOLDED, c, ret = 1, e;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DB:
			db = optarg;
			break;
		case OPT_FROM:
		case OPT_TO:
			if (units__parse_time(optarg, now, c == OPT_FROM ? &f.from_ns : &f.to_ns)) {
				pr_err("--%s: '%s' is not a time (RFC 3339, Unix seconds, now, "
				       "-2h)",
				       c == OPT_FROM ? "from" : "to", optarg);
				return 2;
			}
			break;
		case OPT_PID:
			if (args__parse_u32(optarg, 1, 0x3fffffff, &f.pid)) {
				pr_err("--pid: '%s' is not a process id", optarg);
				return 2;
			}
			break;
		case OPT_COMM:
			f.comm = optarg;
			break;
		case OPT_EXE:
			f.exe = optarg;
			break;
		case OPT_CGROUP:
			f.cgroup = optarg;
			break;
		case 'f':
			format = fmt__parse_kind(optarg);
			if (format < 0) {
				pr_err("--format: unknown format '%s'", optarg);
				return 2;
			}
			break;
		case 'o':
			output = optarg;
			break;
		case OPT_PT:
			fo.per_thread = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'ember export --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		pr_err("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (f.to_ns && f.from_ns >= f.to_ns) {
		pr_err("--from must be before --to");
		return 2;
	}

	st = store__open(db, &so, err, sizeof(err));
	if (!st) {
		pr_err("%s", err[0] ? err : strerror(errno));
		return 1;
	}
	p = profile__new();
	if (!p) {
		pr_err("out of memory");
		goto out;
	}
	e = store__query(st, &f, p);
	if (e) {
		pr_err("cannot read %s: %s (%s)", db, strerror(-e), store__errmsg(st));
		goto out;
	}
	if (!profile__total(p))
		pr_warn("no samples in %s for this range and filter", db);
	if (run_output__open(&out, output, fmt__is_binary(format)))
		goto out;
	e = fmt__write(p, format, &fo, out.f);
	if (e) {
		pr_err("cannot write the %s profile: %s", fmt__kind_name(format), strerror(-e));
		run_output__abort(&out);
		goto out;
	}
	if (run_output__commit(&out)) {
		run_output__abort(&out);
		goto out;
	}
	run_output__abort(&out);
	ret = 0;
out:
	profile__free(p);
	store__close(st);
	return ret;
}

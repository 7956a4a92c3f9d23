/*
 * `ember serve`: the web UI and JSON API over a database on its own, without
 * the daemon. Opens the database read-only, so it needs no root: read access
 * to the file (and its folder, for SQLite's WAL files) is enough.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/log.h"
#include "ember/profiler.h"
#include "ember/web.h"
#include "args.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ember serve [--db PATH] [--listen ADDR:PORT] [--auth-token-file FILE]\n"
		"                   [--web-root DIR]\n"
		"\n"
		"Serves the flamegraph UI and the JSON API (/api/v1/) over a database, read-only.\n"
		"\n"
		"  --db PATH               database (default $EMBER_DB, else "
		"/var/lib/ember/ember.db)\n"
		"  --listen ADDR:PORT      where to listen (default %s); port 0 picks a free one.\n"
		"                          Only 127.0.0.1, ::1 and localhost are served without a\n"
		"                          token\n"
		"  --auth-token-file FILE  require the token in FILE (first line, 16-256 "
		"printable\n"
		"                          characters): 'Authorization: Bearer TOKEN', or open\n"
		"                          /?token=TOKEN once in a browser (it sets a cookie)\n"
		"  --web-root DIR          serve the UI files from DIR instead of the built-in "
		"copy\n"
		"                          (for working on the UI)\n"
		"  --threads N             requests served at once (default 2, max 16)\n"
		"  -v, --verbose           more log output\n"
		"  -h, --help              this help\n"
		"\n"
		"Runs until Ctrl-C or SIGTERM. Exit status: 0 after a signal, 1 when the server\n"
		"cannot start, 2 on bad usage.\n",
		WEB_DEFAULT_LISTEN);
}

enum { OPT_DB = 256, OPT_LISTEN, OPT_TOKEN, OPT_ROOT, OPT_THREADS };

/* Blocks SIGINT and SIGTERM (in every thread started after) and waits for one. */
static int wait_for_signal(const sigset_t *set)
{
	int sig = 0;

	if (sigwait(set, &sig))
		return -1;
	return sig;
}

int prof_cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, OPT_DB},
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"auth-token-file", required_argument, NULL, OPT_TOKEN},
		{"web-root", required_argument, NULL, OPT_ROOT},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	const char *env = getenv("EMBER_DB");
	struct web_options o = {.db_path = env && *env ? env : "/var/lib/ember/ember.db"};
	struct web_server *ws;
	char err[512] = "";
	int c, verbosity = 0, sig;
	sigset_t set;

	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DB:
			o.db_path = optarg;
			break;
		case OPT_LISTEN:
			o.listen = optarg;
			break;
		case OPT_TOKEN:
			o.auth_token_file = optarg;
			break;
		case OPT_ROOT:
			o.web_root = optarg;
			break;
		case OPT_THREADS:
			if (args__parse_u32(optarg, 1, 16, &o.threads)) {
				pr_err("--threads: '%s' is not a number from 1 to 16", optarg);
				return 2;
			}
			break;
		case 'v':
			verbosity++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'ember serve --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		pr_err("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (o.listen && !strcmp(o.listen, "none")) {
		pr_err("--listen none: 'ember serve' has nothing to do without a listening "
		       "address");
		return 2;
	}
	if (verbosity)
		log__set_level(verbosity > 1 ? LOG_LVL_DEBUG : LOG_LVL_INFO);

	/* Signals go to sigwait here, not to the server's threads, which inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	ws = web_server__start(&o, err, sizeof(err));
	if (!ws) {
		pr_err("%s", err[0] ? err : strerror(errno));
		return errno == EINVAL && !err[0] ? 2 : 1;
	}
	fprintf(stderr, "ember: serving %s on http://%s:%u/%s (Ctrl-C to stop)\n", o.db_path,
		web_server__host(ws), web_server__port(ws),
		o.auth_token_file ? " with a token: open /?token=TOKEN once" : "");
	sig = wait_for_signal(&set);
	web_server__stop(ws);
	pr_info("stopped by signal %d", sig);
	return 0;
}

/*
 * `ember daemon`: always-on sampling of every CPU into SQLite.
 *
 * Every second the kernel's maps are drained into the current window's
 * profile (so processes are symbolized while their mappings are readable);
 * every window (10 s by default) the profile is written in one transaction
 * and a new one begins. A window that cannot be written (disk full, read-only
 * file system) is kept in memory, up to an hour of them, and written when the
 * database accepts writes again; windows dropped beyond that are counted and
 * logged. Retention runs in its own thread on its own connection, so a long
 * delete never delays a drain. SIGTERM and SIGINT write the current window
 * before exit.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ember/log.h"
#include "ember/profile.h"
#include "ember/profiler.h"
#include "ember/storage.h"
#include "ember/symbolizer.h"
#include "ember/units.h"
#include "ember/unwind.h"
#include "ember/web.h"
#include "args.h"
#include "mmap_events.h"
#include "pipeline.h"
#include "run.h"

#define DEFAULT_DB	   "/var/lib/ember/ember.db"
#define DRAIN_INTERVAL_NS  1000000000ULL
#define STATUS_INTERVAL_NS 60000000000ULL
#define RETAIN_INTERVAL_NS 60000000000ULL
#define NS		   1000000000ULL
/* Symbol tables and debug info kept in memory; the unwinder takes a quarter more. */
#define DEFAULT_SYMBOL_CACHE (4ULL << 20)

struct daemon_args {
	const char *db;
	uint32_t freq;
	uint64_t window_ns;
	uint64_t retention_ns; /* 0 = keep forever */
	uint64_t max_bytes;    /* 0 = no size limit */
	const char *listen;    /* NULL when "none" */
	const char *token_file;
	const char *web_root;
	bool no_kernel;
	bool fp;	       /* --unwind fp; default dwarf */
	uint32_t stack_size;   /* --stack-size, dwarf mode */
	uint64_t symbol_cache; /* --symbol-cache, bytes */
};

struct daemon {
	struct daemon_args *a;
	struct store *st;
	struct prof_sampler *sampler;
	struct symbolizer *sym;
	struct prof_collector *coll;
	struct profile *win;
	uint64_t win_start;	       /* wall ns */
	struct profile_lost lost_seen; /* cumulative counters already given to a window */
	struct profile **queue;	       /* windows waiting to be written, oldest first */
	size_t queued, queue_cap;
	bool write_failing;
	uint64_t written, dropped, samples_written;
	uint32_t *exited; /* pids to forget once their window is closed */
	size_t n_exited, exited_cap;
	/* retention thread */
	pthread_t retain_thread;
	bool retain_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	struct store *retain_st;
	/* status */
	uint64_t last_status_wall, last_cpu_ns;
	struct web_server *web;
	struct prof_mmap_events *mev; /* mappings of processes from birth, or NULL */
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ember daemon [OPTIONS]\n"
		"\n"
		"Samples every CPU continuously and stores the stacks in SQLite, one window at\n"
		"a time, for `ember export`, `ember serve` and the web UI.\n"
		"\n"
		"Options:\n"
		"      --db PATH            database (default $EMBER_DB, else " DEFAULT_DB ");\n"
		"                           created with its directory, mode 0600\n"
		"  -F, --freq HZ            samples per second per CPU (default 19)\n"
		"      --window SECONDS     length of a stored window (default 10; 1 to 3600)\n"
		"      --retention DURATION delete windows older than this (default 14d; 0 keeps\n"
		"                           everything)\n"
		"      --max-db-size SIZE   delete the oldest windows beyond this size (default\n"
		"                           2G; 0 = no limit)\n"
		"      --listen ADDR:PORT   serve the web UI and API here (default "
		"127.0.0.1:7070);\n"
		"                           'none' to disable\n"
		"      --auth-token-file F  bearer token required for a non-loopback --listen\n"
		"      --web-root DIR       serve the UI from DIR instead of the embedded copy\n"
		"      --unwind MODE        dwarf (default: user stacks unwound from DWARF CFI,\n"
		"                           complete without frame pointers) or fp\n"
		"      --stack-size SIZE    dwarf: bytes of stack copied per sample, 8K to 64K\n"
		"                           (default 16K)\n"
		"      --symbol-cache SIZE  memory for symbol tables and debug info (default\n"
		"                           4M; the DWARF unwinder takes a quarter more);\n"
		"                           least recently used files are closed, and read\n"
		"                           again when a sample needs them\n"
		"      --no-kernel          user stacks only\n"
		"  -v, --verbose            more log output (repeat for debug)\n"
		"  -h, --help               this help\n"
		"\n"
		"Logs go to stderr, one line each (with syslog priorities under systemd). The\n"
		"daemon's own CPU and memory are logged once a minute. SIGTERM or SIGINT writes\n"
		"the current window and exits. Exit status: 0 after a signal, 1 on a runtime\n"
		"failure, 2 on bad usage.\n");
}

enum {
	OPT_DB = 256,
	OPT_WINDOW,
	OPT_RETENTION,
	OPT_MAX_SIZE,
	OPT_LISTEN,
	OPT_TOKEN,
	OPT_WEB_ROOT,
	OPT_UNWIND,
	OPT_STACK_SIZE,
	OPT_NO_KERNEL,
	OPT_SYMBOL_CACHE,
};

static int parse_args(int argc, char **argv, struct daemon_args *a, int *verbosity)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, OPT_DB},
		{"freq", required_argument, NULL, 'F'},
		{"window", required_argument, NULL, OPT_WINDOW},
		{"retention", required_argument, NULL, OPT_RETENTION},
		{"max-db-size", required_argument, NULL, OPT_MAX_SIZE},
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"auth-token-file", required_argument, NULL, OPT_TOKEN},
		{"web-root", required_argument, NULL, OPT_WEB_ROOT},
		{"unwind", required_argument, NULL, OPT_UNWIND},
		{"stack-size", required_argument, NULL, OPT_STACK_SIZE},
		{"no-kernel", no_argument, NULL, OPT_NO_KERNEL},
		{"symbol-cache", required_argument, NULL, OPT_SYMBOL_CACHE},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	const char *env = getenv("EMBER_DB");
	uint32_t secs;
	int c;

	a->db = env && *env ? env : DEFAULT_DB;
	a->freq = 19;
	a->window_ns = 10 * NS;
	a->retention_ns = 14 * 86400 * NS;
	a->max_bytes = 2ULL << 30;
	a->listen = "127.0.0.1:7070";
	a->stack_size = EMBER_USTACK_DEFAULT;
	a->symbol_cache = DEFAULT_SYMBOL_CACHE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "F:vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DB:
			a->db = optarg;
			break;
		case 'F':
			if (args__parse_u32(optarg, 1, 100000, &a->freq)) {
				pr_err("--freq: '%s' is not a frequency from 1 to 100000 Hz",
				       optarg);
				return 2;
			}
			break;
		case OPT_WINDOW:
			if (args__parse_u32(optarg, 1, 3600, &secs)) {
				pr_err("--window: '%s' is not a number of seconds from 1 to 3600",
				       optarg);
				return 2;
			}
			a->window_ns = secs * NS;
			break;
		case OPT_RETENTION:
			if (!strcmp(optarg, "0"))
				a->retention_ns = 0;
			else if (units__parse_duration(optarg, &a->retention_ns)) {
				pr_err("--retention: '%s' is not a duration (e.g. 14d, 12h, 0)",
				       optarg);
				return 2;
			}
			break;
		case OPT_MAX_SIZE:
			if (!strcmp(optarg, "0"))
				a->max_bytes = 0;
			else if (units__parse_size(optarg, &a->max_bytes)) {
				pr_err("--max-db-size: '%s' is not a size (e.g. 500M, 2G, 0)",
				       optarg);
				return 2;
			}
			break;
		case OPT_LISTEN:
			a->listen = strcmp(optarg, "none") ? optarg : NULL;
			break;
		case OPT_TOKEN:
			a->token_file = optarg;
			break;
		case OPT_WEB_ROOT:
			a->web_root = optarg;
			break;
		case OPT_UNWIND: {
			bool dwarf;

			if (prof_unwind__parse(optarg, &dwarf)) {
				pr_err("--unwind: '%s' is not a mode (dwarf or fp)", optarg);
				return 2;
			}
			a->fp = !dwarf;
			break;
		}
		case OPT_STACK_SIZE:
			if (args__parse_stack_size(optarg, &a->stack_size)) {
				pr_err("--stack-size: '%s' is not a size from 8K to 64K", optarg);
				return 2;
			}
			break;
		case OPT_NO_KERNEL:
			a->no_kernel = true;
			break;
		case OPT_SYMBOL_CACHE:
			if (units__parse_size(optarg, &a->symbol_cache) ||
			    a->symbol_cache < (1 << 20)) {
				pr_err("--symbol-cache: '%s' is not a size of 1M or more (e.g. 4M, "
				       "16M)",
				       optarg);
				return 2;
			}
			break;
		case 'v':
			(*verbosity)++;
			break;
		case 'h':
			return -1;
		default:
			fprintf(stderr, "Try 'ember daemon --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		pr_err("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	return 0;
}

/* ---- windows -------------------------------------------------------------- */

static int queue_push(struct daemon *d, struct profile *p)
{
	/* An hour of windows at the default size; beyond it the oldest go. */
	size_t max = 3600 * NS / d->a->window_ns + 1;

	if (d->queued == max) {
		profile__free(d->queue[0]);
		memmove(d->queue, d->queue + 1, (d->queued - 1) * sizeof(*d->queue));
		d->queued--;
		d->dropped++;
		pr_err("dropped the oldest unwritten window: %" PRIu64
		       " windows lost so far (the database still refuses writes)",
		       d->dropped);
	}
	if (d->queued == d->queue_cap) {
		size_t cap = d->queue_cap ? d->queue_cap * 2 : 8;
		struct profile **q = realloc(d->queue, cap * sizeof(*q));

		if (!q)
			return -ENOMEM;
		d->queue = q;
		d->queue_cap = cap;
	}
	d->queue[d->queued++] = p;
	return 0;
}

/* Writes queued windows, oldest first, until one fails. */
static void flush_queue(struct daemon *d)
{
	size_t done = 0;
	int err = 0;

	while (done < d->queued) {
		err = store__write_window(d->st, d->queue[done]);
		if (err)
			break;
		d->written++;
		d->samples_written += profile__total(d->queue[done]);
		profile__free(d->queue[done]);
		done++;
	}
	if (done) {
		memmove(d->queue, d->queue + done, (d->queued - done) * sizeof(*d->queue));
		d->queued -= done;
	}
	if (err && !d->write_failing) {
		pr_err("cannot write to %s: %s (%s); sampling goes on and %zu window(s) wait in "
		       "memory until writes succeed again",
		       d->a->db, strerror(-err), store__errmsg(d->st), d->queued);
		d->write_failing = true;
	} else if (err) {
		pr_debug("still cannot write: %s; %zu windows queued", strerror(-err), d->queued);
	} else if (d->write_failing) {
		pr_warn("writing to %s again: %zu delayed window(s) written", d->a->db, done);
		d->write_failing = false;
	}
}

static void lost_delta(struct profile_lost *out, const struct profile_lost *now,
		       const struct profile_lost *seen)
{
	const uint64_t *n = (const uint64_t *)now, *s = (const uint64_t *)seen;
	uint64_t *o = (uint64_t *)out;

	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		o[i] = n[i] - s[i];
}

static void drain(struct daemon *d)
{
	int64_t n = pipeline__drain(d->sampler, d->coll, d->sym, d->mev);

	if (n < 0)
		pr_err("reading samples failed: %s", strerror((int)-n));
}

/* Closes the current window (after a final drain) and starts the next one. */
static int close_window(struct daemon *d)
{
	struct profile_meta *m = profile__meta(d->win);
	struct profile_lost now;
	struct profile *next;
	uint64_t end = wall_ns();

	drain(d);
	prof_sampler__lost(d->sampler, &now);
	prof_collector__lost(d->coll, &now);
	lost_delta(&m->lost, &now, &d->lost_seen);
	d->lost_seen = now;
	m->start_ns = d->win_start;
	m->end_ns = end > d->win_start ? end : d->win_start + 1;
	m->freq_hz = d->a->freq;
	m->period_ns = NS / d->a->freq;

	if (queue_push(d, d->win)) {
		pr_err("out of memory: window dropped");
		profile__free(d->win);
		d->dropped++;
	}
	d->win = NULL;
	flush_queue(d);
	/* What the window and the symbolizer freed goes back to the system. */
	malloc_trim(0);

	for (size_t i = 0; i < d->n_exited; i++) {
		prof_collector__forget(d->coll, d->exited[i]);
		symbolizer__forget(d->sym, d->exited[i]);
	}
	d->n_exited = 0;

	next = profile__new();
	if (!next)
		return -ENOMEM;
	d->win = next;
	d->win_start = end;
	prof_collector__set_profile(d->coll, next);
	return 0;
}

/* Before snapshots are unwound: the mappings their processes made first. */
static void read_mappings(void *ctx)
{
	struct daemon *d = ctx;

	if (d->mev)
		prof_mmap_events__read(d->mev, d->sym);
}

static void on_event(const struct ember_proc_event *ev, void *ctx)
{
	struct daemon *d = ctx;

	switch (ev->type) {
	case EMBER_EV_EXEC:
		/* Stacks unwound before the exec are named with the old mappings. */
		prof_collector__flush(d->coll);
		prof_collector__forget(d->coll, ev->pid);
		symbolizer__snapshot(d->sym, ev->pid);
		break;
	case EMBER_EV_EXIT:
		/* Keep what we know until its last samples are in a closed window. */
		if (d->n_exited == d->exited_cap) {
			size_t cap = d->exited_cap ? d->exited_cap * 2 : 256;
			uint32_t *v = realloc(d->exited, cap * sizeof(*v));

			if (!v)
				return;
			d->exited = v;
			d->exited_cap = cap;
		}
		d->exited[d->n_exited++] = ev->pid;
		break;
	default:
		break;
	}
}

/* ---- retention ------------------------------------------------------------ */

static void *retain_main(void *arg)
{
	struct daemon *d = arg;
	struct timespec until;

	pthread_mutex_lock(&d->lock);
	while (!d->stopping) {
		struct store_retain_stats rs = {};
		int err;

		pthread_mutex_unlock(&d->lock);
		err = store__retain(d->retain_st, wall_ns(), d->a->retention_ns, d->a->max_bytes,
				    &rs);
		if (err)
			pr_warn("retention failed: %s (%s)", strerror(-err),
				store__errmsg(d->retain_st));
		else if (rs.windows_deleted)
			pr_info("retention: deleted %" PRIu64 " windows, %" PRIu64
				" stacks, %" PRIu64 " frames, %" PRIu64 " strings",
				rs.windows_deleted, rs.stacks_deleted, rs.frames_deleted,
				rs.strings_deleted);
		pthread_mutex_lock(&d->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += RETAIN_INTERVAL_NS / NS;
		while (!d->stopping && pthread_cond_timedwait(&d->cond, &d->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

static int start_retention(struct daemon *d)
{
	if (!d->a->retention_ns && !d->a->max_bytes)
		return 0;
	d->retain_st = store__open_sibling(d->st);
	if (!d->retain_st) {
		pr_err("cannot open a second connection for retention: %s", strerror(errno));
		return -errno;
	}
	if (pthread_create(&d->retain_thread, NULL, retain_main, d)) {
		store__close(d->retain_st);
		d->retain_st = NULL;
		return -EAGAIN;
	}
	d->retain_started = true;
	return 0;
}

static void stop_retention(struct daemon *d)
{
	if (!d->retain_started)
		return;
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->retain_thread, NULL);
	store__close(d->retain_st);
	d->retain_started = false;
}

/* ---- status --------------------------------------------------------------- */

static uint64_t rss_kib(void)
{
	char line[256];
	uint64_t kib = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %" SCNu64, &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * NS +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static void log_status(struct daemon *d, uint64_t now_mono)
{
	struct unwinder_stats us;
	struct profile_lost l;
	struct sym_stats ss;
	uint64_t cpu = cpu_ns(), lost;
	double pct = 0;

	if (d->last_status_wall && now_mono > d->last_status_wall)
		pct = 100.0 * (cpu - d->last_cpu_ns) / (now_mono - d->last_status_wall);
	prof_sampler__lost(d->sampler, &l);
	lost = l.samples + l.stack_collisions + l.stack_map_full + l.kstack_errors +
	       l.ustack_errors + l.ringbuf_full;
	pr_info("status: samples %" PRIu64 ", stored %" PRIu64 " in %" PRIu64
		" windows, queued %zu, dropped %" PRIu64 ", lost %" PRIu64 ", RSS %" PRIu64
		" KiB, CPU %.2f%%",
		prof_sampler__samples(d->sampler), d->samples_written, d->written, d->queued,
		d->dropped, lost, rss_kib(), pct);
	symbolizer__stats(d->sym, &ss);
	prof_collector__unwind_stats(d->coll, &us); /* zeros in fp mode: no unwinder */
	pr_info("status: symbols %" PRIu64 " KiB of %" PRIu64 " in %" PRIu64 " files (%" PRIu64
		" closed to fit), kernel symbols %" PRIu64 " KiB, unwinder %" PRIu64
		" KiB of %" PRIu64,
		ss.memory >> 10, ss.max_bytes >> 10, ss.objects, ss.budget_evictions,
		ss.kernel_memory >> 10, us.memory >> 10, us.max_bytes >> 10);
	d->last_status_wall = now_mono;
	d->last_cpu_ns = cpu;
}

/* ---- main ----------------------------------------------------------------- */

/* Once a minute; EMBER_STATUS_SECONDS (tests) may ask for more often. */
static uint64_t status_interval(void)
{
	const char *env = getenv("EMBER_STATUS_SECONDS");
	uint32_t secs;

	if (env && !args__parse_u32(env, 1, 3600, &secs))
		return secs * NS;
	return STATUS_INTERVAL_NS;
}

static int open_store(struct daemon *d)
{
	struct store_open_opts o = {.writer = true};
	char err[512] = "";

	d->st = store__open(d->a->db, &o, err, sizeof(err));
	if (!d->st) {
		pr_err("%s", err[0] ? err : strerror(errno));
		return -1;
	}
	return 0;
}

/* The web UI and API, on their own read-only connections (after the writer created the file). */
static int start_web(struct daemon *d)
{
	struct web_options wo = {
		.listen = d->a->listen,
		.db_path = d->a->db,
		.auth_token_file = d->a->token_file,
		.web_root = d->a->web_root,
	};
	char err[512] = "";

	if (!d->a->listen)
		return 0;
	d->web = web_server__start(&wo, err, sizeof(err));
	if (!d->web) {
		pr_err("%s", err[0] ? err : strerror(errno));
		return -1;
	}
	pr_info("web UI on http://%s:%u/", web_server__host(d->web), web_server__port(d->web));
	return 0;
}

static void cleanup(struct daemon *d)
{
	web_server__stop(d->web);
	stop_retention(d);
	prof_sampler__free(d->sampler);
	prof_mmap_events__free(d->mev);
	prof_collector__free(d->coll);
	symbolizer__free(d->sym);
	profile__free(d->win);
	for (size_t i = 0; i < d->queued; i++)
		profile__free(d->queue[i]);
	free(d->queue);
	free(d->exited);
	store__close(d->st);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
}

int prof_cmd_daemon(int argc, char **argv)
{
	struct daemon_args a = {};
	struct daemon d = {.a = &a};
	struct prof_sampler_opts so = {};
	struct prof_collector_opts co = {.proc_facts = true};
	struct sym_options symo = {};
	struct sigaction sa = {};
	uint64_t next_drain, next_window, next_status, status_ns;
	int verbosity = 0, ret = 1, err;

	err = parse_args(argc, argv, &a, &verbosity);
	if (err) {
		if (err < 0)
			usage(stdout);
		return err < 0 ? 0 : 2;
	}
	/*
	 * Large blocks mapped, whatever was freed before, and freed heap tops given
	 * back: caches that load and drop files must not leave the heap in holes.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	mallopt(M_TRIM_THRESHOLD, 512 << 10);
	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.cond, NULL);
	log__set_journal(getenv("JOURNAL_STREAM") != NULL);
	log__set_level(verbosity > 1 ? LOG_LVL_DEBUG : LOG_LVL_INFO);

	if (run__check_privileges())
		goto out;
	if (open_store(&d))
		goto out;
	if (start_web(&d))
		goto out;

	symo.max_bytes = a.symbol_cache;
	d.sym = symbolizer__new(&symo);
	d.coll = d.sym ? prof_collector__new(d.sym, &co) : NULL;
	d.win = profile__new();
	if (!d.sym || !d.coll || !d.win) {
		pr_err("out of memory");
		goto out;
	}
	prof_collector__set_profile(d.coll, d.win);

	so.freq_hz = a.freq;
	so.all = true;
	so.kernel_stacks = !a.no_kernel;
	so.user_stacks = true;
	so.dwarf = !a.fp;
	so.stack_size = a.stack_size;
	d.sampler = prof_sampler__new(&so);
	if (!d.sampler)
		goto out;
	prof_sampler__set_ustack_fn(d.sampler, prof_collector__ustack_fn, d.coll);
	prof_sampler__set_ustack_prepare(d.sampler, read_mappings, &d);

	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	/* Before sampling: every process started from here on is followed from birth. */
	d.mev = prof_mmap_events__new(&(struct prof_mmap_events_opts){.pages = 128});
	if (!d.mev)
		pr_warn("short-lived processes may be unnamed: process events are unavailable");
	if (prof_sampler__start(d.sampler))
		goto out;
	if (start_retention(&d))
		goto out;
	/* Loading the BPF programs (kernel BTF) and kallsyms left the heap in holes. */
	malloc_trim(0);
	d.win_start = wall_ns();
	pr_info("sampling every CPU at %u Hz (%s stacks) into %s, %" PRIu64 " s windows", a.freq,
		a.fp ? "frame-pointer" : "DWARF-unwound", a.db, (uint64_t)(a.window_ns / NS));
	pr_info("symbol cache %" PRIu64 " KiB%s, RSS %" PRIu64 " KiB once started",
		a.symbol_cache >> 10, a.fp ? "" : " (the unwinder a quarter more)", rss_kib());

	next_drain = mono_ns() + DRAIN_INTERVAL_NS;
	next_window = mono_ns() + a.window_ns;
	status_ns = status_interval();
	next_status = mono_ns() + status_ns;
	d.last_status_wall = mono_ns();
	d.last_cpu_ns = cpu_ns();
	while (!stop_signal) {
		uint64_t t;

		prof_sampler__poll(d.sampler, 100, on_event, &d);
		if (d.mev)
			prof_mmap_events__read(d.mev, d.sym);
		t = mono_ns();
		if (t >= next_window) {
			if (close_window(&d)) {
				pr_err("out of memory");
				goto out;
			}
			next_window += a.window_ns;
			if (next_window <= t) /* stalled (suspend?): realign */
				next_window = t + a.window_ns;
			next_drain = t + DRAIN_INTERVAL_NS;
		} else if (t >= next_drain) {
			drain(&d);
			next_drain = t + DRAIN_INTERVAL_NS;
		}
		if (t >= next_status) {
			log_status(&d, t);
			next_status = t + status_ns;
		}
	}

	pr_info("%s: writing the current window and stopping", strsignal(stop_signal));
	prof_sampler__stop(d.sampler);
	prof_sampler__poll(d.sampler, 0, on_event, &d);
	close_window(&d);
	if (d.queued) {
		pr_err("%zu window(s) could not be written before exit and are lost", d.queued);
		goto out;
	}
	ret = 0;
out:
	cleanup(&d);
	return ret;
}

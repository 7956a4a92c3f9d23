/*
 * `ember profile`: a one-shot run on processes, a command it starts, or the
 * whole host, written in any profile format (folded by default).
 *
 * The run drains the kernel's count maps once a second so processes are
 * symbolized while their mappings are still readable, and once more after
 * sampling stops. Output goes to a temporary file beside the target that is
 * renamed into place at the end, so an unwritable path fails before sampling
 * and a failed run never leaves half a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ember/formats.h"
#include "ember/log.h"
#include "ember/profile.h"
#include "ember/profiler.h"
#include "ember/symbolizer.h"
#include "ember/units.h"
#include "ember/unwind.h"
#include "args.h"
#include "mmap_events.h"
#include "pipeline.h"
#include "run.h"

#define DRAIN_INTERVAL_NS  1000000000ULL
#define STATUS_INTERVAL_NS 250000000ULL
/*
 * After exec the dynamic loader maps libraries over the next milliseconds:
 * a process's mappings are read again this many times, once per loop turn
 * (~100 ms), so short runs still name their libraries.
 */
#define EXEC_REFRESHES 5
#define MAX_PENDING    256

struct profile_args {
	uint32_t *pids;
	int n_pids;
	bool all;
	uint32_t freq;
	uint64_t duration_ns; /* 0 = until Ctrl-C or the targets exit */
	const char *output;
	int format;
	bool per_thread;
	bool no_kernel;
	bool fp;	     /* --unwind fp; default dwarf */
	uint32_t stack_size; /* --stack-size, dwarf mode */
	bool lines;	     /* --lines: file:line in folded output */
	bool debuginfod;     /* --debuginfod */
	char **cmd;	     /* NULL-terminated, or NULL */
};

struct run {
	struct profile_args *a;
	struct prof_sampler *sampler;
	struct symbolizer *sym;
	struct prof_mmap_events *mev; /* process events for the symbolizer, or NULL */
	struct prof_collector *coll;
	struct profile *prof;
	int *pidfds; /* one per -p target, -1 once it exited */
	int live_targets;
	pid_t child; /* the started command, or 0 */
	int child_status;
	bool child_done;
	int drain_err;
	struct {
		uint32_t pid;
		int left;
	} pending[MAX_PENDING]; /* recent execs whose mappings are re-read */
	int n_pending;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ember profile [OPTIONS] (-p PID[,PID...] | -a | -- COMMAND [ARGS...])\n"
		"\n"
		"Samples CPU stacks of processes, of a command it starts, or of the whole host,\n"
		"and writes them as a profile (folded stacks for flamegraph.pl by default).\n"
		"\n"
		"Targets:\n"
		"  -p, --pid PID[,PID...]   profile these processes (and all their threads)\n"
		"  -a, --all                profile every CPU, every process (idle excluded)\n"
		"  -- COMMAND [ARGS...]     start COMMAND, profile it and its children until it\n"
		"                           exits; ember exits with COMMAND's exit status\n"
		"\n"
		"Options:\n"
		"  -F, --freq HZ            samples per second per CPU (default 99, max 100000)\n"
		"  -d, --duration TIME      stop after TIME (10, 2.5, 500ms, 2m, 1h); default:\n"
		"                           until Ctrl-C or every target has exited\n"
		"  -o, --output FILE        write here instead of standard output\n"
		"  -f, --format FORMAT      folded (default), svg, html, pprof, speedscope, json\n"
		"      --unwind MODE        how user stacks are walked: dwarf (default: a copy of\n"
		"                           the stack unwound with the binaries' CFI, complete\n"
		"                           without frame pointers) or fp (frame pointers, in the\n"
		"                           kernel: cheaper, but loses callers of code built\n"
		"                           without them)\n"
		"      --stack-size SIZE    dwarf: bytes of stack copied per sample, 8K to 64K\n"
		"                           (default 16K); deeper stacks are marked [truncated]\n"
		"      --per-thread         one stack root per thread: comm-TID\n"
		"      --no-kernel          user stacks only\n"
		"      --lines              append file:line to frames (folded) where DWARF has "
		"it\n"
		"      --debuginfod         fetch missing debug info from the servers in\n"
		"                           DEBUGINFOD_URLS (off by default)\n"
		"  -v, --verbose            more log output (repeat for debug)\n"
		"  -q, --quiet              no status line or summary\n"
		"  -h, --help               this help\n"
		"\n"
		"Examples:\n"
		"  sudo ember profile --pid 1234 -d 10 > app.folded\n"
		"  sudo ember profile -F 199 -o bench.folded -- ./my-benchmark --size 1e6\n"
		"  sudo ember profile -a -d 5 | flamegraph.pl > host.svg\n"
		"\n"
		"Exit status: 0 on success, 1 on a runtime failure, 2 on bad usage; with a\n"
		"COMMAND, its exit status.\n");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

enum { OPT_UNWIND = 256, OPT_PER_THREAD, OPT_NO_KERNEL, OPT_STACK_SIZE, OPT_LINES, OPT_DEBUGINFOD };

/* Returns 0, or 2 (usage error, message printed), or -1 for --help. */
static int parse_args(int argc, char **argv, struct profile_args *a, int *verbosity, bool *quiet)
{
	static const struct option longopts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"all", no_argument, NULL, 'a'},
		{"freq", required_argument, NULL, 'F'},
		{"duration", required_argument, NULL, 'd'},
		{"output", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'f'},
		{"unwind", required_argument, NULL, OPT_UNWIND},
		{"stack-size", required_argument, NULL, OPT_STACK_SIZE},
		{"per-thread", no_argument, NULL, OPT_PER_THREAD},
		{"no-kernel", no_argument, NULL, OPT_NO_KERNEL},
		{"lines", no_argument, NULL, OPT_LINES},
		{"debuginfod", no_argument, NULL, OPT_DEBUGINFOD},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	int c;

	a->freq = 99;
	a->format = FMT_FOLDED;
	a->stack_size = EMBER_USTACK_DEFAULT;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:aF:d:o:f:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			free(a->pids);
			if (args__parse_pids(optarg, &a->pids, &a->n_pids)) {
				pr_err("--pid: '%s' is not a list of process ids (e.g. 1234,5678)",
				       optarg);
				return 2;
			}
			break;
		case 'a':
			a->all = true;
			break;
		case 'F':
			if (args__parse_u32(optarg, 1, 100000, &a->freq)) {
				pr_err("--freq: '%s' is not a frequency from 1 to 100000 Hz",
				       optarg);
				return 2;
			}
			break;
		case 'd':
			if (args__parse_duration(optarg, &a->duration_ns)) {
				pr_err("--duration: '%s' is not a duration (10, 2.5, 500ms, 2m, "
				       "1h)",
				       optarg);
				return 2;
			}
			break;
		case 'o':
			a->output = optarg;
			break;
		case 'f':
			a->format = fmt__parse_kind(optarg);
			if (a->format < 0) {
				pr_err("--format: unknown format '%s' (folded, svg, html, pprof, "
				       "speedscope, "
				       "json)",
				       optarg);
				return 2;
			}
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
		case OPT_PER_THREAD:
			a->per_thread = true;
			break;
		case OPT_NO_KERNEL:
			a->no_kernel = true;
			break;
		case OPT_LINES:
			a->lines = true;
			break;
		case OPT_DEBUGINFOD:
			a->debuginfod = true;
			break;
		case 'v':
			(*verbosity)++;
			break;
		case 'q':
			*quiet = true;
			break;
		case 'h':
			return -1;
		default:
			fprintf(stderr, "Try 'ember profile --help'.\n");
			return 2;
		}
	}
	if (optind < argc)
		a->cmd = &argv[optind];
	if ((a->n_pids > 0) + a->all + (a->cmd != NULL) != 1) {
		pr_err("name exactly one target: -p PID, -a, or -- COMMAND");
		fprintf(stderr, "Try 'ember profile --help'.\n");
		return 2;
	}
	return 0;
}

static void add_pending(struct run *r, uint32_t pid)
{
	for (int i = 0; i < r->n_pending; i++) {
		if (r->pending[i].pid == pid) {
			r->pending[i].left = EXEC_REFRESHES;
			return;
		}
	}
	if (r->n_pending < MAX_PENDING) {
		r->pending[r->n_pending].pid = pid;
		r->pending[r->n_pending++].left = EXEC_REFRESHES;
	}
}

static void refresh_pending(struct run *r)
{
	for (int i = 0; i < r->n_pending;) {
		if (symbolizer__snapshot(r->sym, r->pending[i].pid) == -ESRCH ||
		    --r->pending[i].left <= 0)
			r->pending[i] = r->pending[--r->n_pending];
		else
			i++;
	}
}

/* "ember profile -- ./bench --size 1e6", "ember profile -p 12,34", "ember profile -a". */
static void describe_target(const struct profile_args *a, char *buf, size_t size)
{
	size_t len = snprintf(buf, size, "ember profile");

	if (a->all) {
		snprintf(buf + len, size - len, " -a");
	} else if (a->cmd) {
		len += snprintf(buf + len, size - len, " --");
		for (char **arg = a->cmd; *arg && len < size; arg++)
			len += snprintf(buf + len, size - len, " %s", *arg);
	} else {
		len += snprintf(buf + len, size - len, " -p");
		for (int i = 0; i < a->n_pids && len < size; i++)
			len += snprintf(buf + len, size - len, "%s%u", i ? "," : " ", a->pids[i]);
	}
}

/* Before snapshots are unwound: the mappings their processes made first. */
static void read_mappings(void *ctx)
{
	struct run *r = ctx;

	if (r->mev)
		prof_mmap_events__read(r->mev, r->sym);
}

static void on_event(const struct ember_proc_event *ev, void *ctx)
{
	struct run *r = ctx;

	switch (ev->type) {
	case EMBER_EV_EXEC:
		/* Stacks unwound before the exec are named with the old mappings. */
		prof_collector__flush(r->coll);
		/* New program, new mappings: older cached addresses no longer apply. */
		prof_collector__invalidate(r->coll, ev->pid);
		symbolizer__snapshot(r->sym, ev->pid);
		add_pending(r, ev->pid);
		break;
	case EMBER_EV_FORK:
		symbolizer__snapshot(r->sym, ev->pid);
		break;
	default:
		break;
	}
}

static int drain(struct run *r)
{
	int64_t n = pipeline__drain(r->sampler, r->coll, r->sym, r->mev);

	if (n < 0 && !r->drain_err) {
		r->drain_err = (int)n;
		pr_err("reading samples failed: %s", strerror((int)-n));
	}
	return n < 0 ? (int)n : 0;
}

/* dwarf mode: what unwinding cost and found, for -v. */
static void log_unwind_stats(struct run *r)
{
	struct unwinder_stats us;
	uint64_t snaps, bytes, cpu_ns, runs, run_ns;

	if (!prof_sampler__prog_stats(r->sampler, &runs, &run_ns) && runs)
		pr_info("BPF sampling program: %" PRIu64 " runs, %" PRIu64 " ns per run", runs,
			run_ns / runs);
	if (r->mev) {
		struct prof_mmap_events_stats ms;

		prof_mmap_events__stats(r->mev, &ms);
		pr_info("process events: %" PRIu64 " mmaps, %" PRIu64 " execs, %" PRIu64
			" forks, %" PRIu64 " exits; %" PRIu64
			" of other processes skipped, %" PRIu64 " lost",
			ms.mmaps, ms.execs, ms.forks, ms.exits, ms.skipped, ms.lost);
	}
	if (r->a->fp)
		return;
	prof_collector__unwind_stats(r->coll, &us);
	prof_sampler__ustack_stats(r->sampler, &snaps, &bytes, &cpu_ns);
	pr_info("unwound %" PRIu64 " stacks: %" PRIu64 " complete, %" PRIu64 " truncated, %" PRIu64
		" ended early; %" PRIu64 " frames (%" PRIu64 " through frame pointers); %" PRIu64
		" stack bytes copied (%" PRIu64 " per sample); %" PRIu64 " files with CFI; %" PRIu64
		" ns of CPU per unwind",
		us.samples, us.outermost, us.truncated, us.errors, us.frames, us.fp_steps, bytes,
		snaps ? bytes / snaps : 0, us.files, us.samples ? cpu_ns / us.samples : 0);
}

/* Updates live_targets / child_done; true while something is left to profile. */
static bool targets_alive(struct run *r)
{
	if (r->child) {
		if (!r->child_done && waitpid(r->child, &r->child_status, WNOHANG) == r->child)
			r->child_done = true;
		return !r->child_done;
	}
	if (r->pidfds) {
		for (int i = 0; i < r->a->n_pids; i++) {
			struct pollfd pfd = {.fd = r->pidfds[i], .events = POLLIN};

			if (r->pidfds[i] < 0)
				continue;
			if (poll(&pfd, 1, 0) > 0) {
				close(r->pidfds[i]);
				r->pidfds[i] = -1;
				r->live_targets--;
			}
		}
		return r->live_targets > 0;
	}
	return true; /* -a: until the duration or a signal */
}

static unsigned count_processes(const struct profile *p)
{
	uint32_t n = profile__task_count(p), last = 0;
	unsigned procs = 0;

	/* Tasks of one pid are usually adjacent; an estimate is fine for a status line. */
	for (uint32_t i = 0; i < n; i++) {
		const struct profile_task *t = profile__task(p, i);

		if (t->pid != last)
			procs++;
		last = t->pid;
	}
	return procs;
}

static int open_pid_targets(struct run *r)
{
	r->pidfds = calloc(r->a->n_pids, sizeof(*r->pidfds));
	if (!r->pidfds)
		return -ENOMEM;
	for (int i = 0; i < r->a->n_pids; i++) {
		uint32_t pid = r->a->pids[i];
		int fd = syscall(SYS_pidfd_open, pid, 0);

		if (fd < 0) {
			int err = -errno;

			if (err == -ESRCH)
				pr_err("no process with pid %u (it may have exited)", pid);
			else
				pr_err("cannot watch pid %u: %s", pid, strerror(-err));
			for (int j = 0; j < i; j++)
				close(r->pidfds[j]);
			return err;
		}
		r->pidfds[i] = fd;
		r->live_targets++;
	}
	return 0;
}

int prof_cmd_profile(int argc, char **argv)
{
	struct profile_args a = {};
	struct run r = {.a = &a};
	struct prof_sampler_opts so = {};
	struct prof_collector_opts co = {};
	struct sym_options symo = {};
	struct fmt_options fo = {};
	char title[256];
	struct run_output out = {};
	struct run_status st = {};
	struct sigaction sa = {};
	uint64_t start, deadline = 0, next_drain, next_status = 0;
	int verbosity = 0, ret = 1, err, i;
	bool quiet = false;

	err = parse_args(argc, argv, &a, &verbosity, &quiet);
	if (err) {
		if (err < 0)
			usage(stdout);
		free(a.pids);
		return err < 0 ? 0 : 2;
	}
	if (verbosity)
		log__set_level(verbosity > 1 ? LOG_LVL_DEBUG : LOG_LVL_INFO);

	if (run__check_privileges())
		goto out_args;
	if (run_output__open(&out, a.output, fmt__is_binary(a.format)))
		goto out_args;
	if (a.n_pids && open_pid_targets(&r))
		goto out_output;

	r.prof = profile__new();
	symo.debuginfod = a.debuginfod;
	r.sym = symbolizer__new(&symo);
	co.per_thread = a.per_thread;
	r.coll = r.sym ? prof_collector__new(r.sym, &co) : NULL;
	if (!r.prof || !r.sym || !r.coll) {
		pr_err("out of memory");
		goto out_free;
	}
	prof_collector__set_profile(r.coll, r.prof);

	so.freq_hz = a.freq;
	so.all = a.all;
	so.follow_forks = a.cmd != NULL;
	so.kernel_stacks = !a.no_kernel;
	so.user_stacks = true;
	so.per_thread = a.per_thread;
	so.dwarf = !a.fp;
	so.stack_size = a.stack_size;
	r.sampler = prof_sampler__new(&so);
	if (!r.sampler)
		goto out_free;
	prof_sampler__set_ustack_fn(r.sampler, prof_collector__ustack_fn, r.coll);
	prof_sampler__set_ustack_prepare(r.sampler, read_mappings, &r);

	if (a.cmd) {
		r.child = run__spawn_stopped(a.cmd);
		if (r.child < 0) {
			r.child = 0;
			goto out_free;
		}
		err = prof_sampler__add_target(r.sampler, r.child);
	} else {
		for (err = 0, i = 0; i < a.n_pids && !err; i++) {
			err = prof_sampler__add_target(r.sampler, a.pids[i]);
			if (!err)
				symbolizer__snapshot(r.sym, a.pids[i]);
		}
	}
	if (err) {
		pr_err("cannot set the target processes: %s", strerror(-err));
		goto out_free;
	}

	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	/* Before sampling: every process started from here on is followed from birth. */
	r.mev = prof_mmap_events__new(&(struct prof_mmap_events_opts){.pages = 128});
	if (!r.mev)
		pr_warn("short-lived processes may be unnamed: process events are unavailable");
	/* Only the targets' (and a command's children's) mappings matter. */
	for (err = 0, i = 0; r.mev && !a.all && !err && i < (r.child ? 1 : a.n_pids); i++)
		err = prof_mmap_events__follow(r.mev, r.child ? (uint32_t)r.child : a.pids[i]);
	if (err) {
		pr_err("cannot follow the target processes: %s", strerror(-err));
		goto out_free;
	}
	if (prof_sampler__start(r.sampler))
		goto out_free;
	pr_info("sampling started at %u Hz", a.freq);
	profile__meta(r.prof)->start_ns = wall_ns();
	profile__meta(r.prof)->freq_hz = a.freq;
	profile__meta(r.prof)->period_ns = 1000000000ULL / a.freq;
	start = now_ns();
	if (a.duration_ns)
		deadline = start + a.duration_ns;
	next_drain = start + DRAIN_INTERVAL_NS;

	if (r.child) {
		err = run__release_child(r.child, a.cmd[0]);
		if (err) {
			r.child_done = true;
			waitpid(r.child, &r.child_status, 0);
			goto out_free;
		}
		symbolizer__snapshot(r.sym, r.child);
	}
	run_status__init(&st, !quiet);

	while (!stop_requested) {
		uint64_t t;

		prof_sampler__poll(r.sampler, 100, on_event, &r);
		if (r.mev)
			prof_mmap_events__read(r.mev, r.sym);
		refresh_pending(&r);
		t = now_ns();
		if (!targets_alive(&r))
			break;
		if (deadline && t >= deadline)
			break;
		if (t >= next_drain) {
			drain(&r);
			next_drain = t + DRAIN_INTERVAL_NS;
		}
		if (t >= next_status) {
			struct profile_lost lost;

			prof_sampler__lost(r.sampler, &lost);
			run_status__update(&st, t - start, a.duration_ns,
					   prof_sampler__samples(r.sampler),
					   count_processes(r.prof), lost.samples);
			next_status = t + STATUS_INTERVAL_NS;
		}
	}

	prof_sampler__stop(r.sampler);
	/* Events still queued (execs) before the last drain. */
	prof_sampler__poll(r.sampler, 0, on_event, &r);
	drain(&r);
	profile__meta(r.prof)->end_ns = wall_ns();
	prof_sampler__lost(r.sampler, &profile__meta(r.prof)->lost);
	prof_collector__lost(r.coll, &profile__meta(r.prof)->lost);
	log_unwind_stats(&r);
	run_status__finish(&st);

	fo.per_thread = a.per_thread;
	fo.lines = a.lines;
	/* The SVG's title says what was profiled. */
	describe_target(&a, title, sizeof(title));
	fo.title = title;
	err = fmt__write(r.prof, a.format, &fo, out.f);
	if (err) {
		pr_err("cannot write the %s profile: %s", fmt__kind_name(a.format), strerror(-err));
		goto out_free;
	}
	if (run_output__commit(&out))
		goto out_free;
	if (!quiet)
		run__summary(r.prof, count_processes(r.prof), (now_ns() - start) / 1e9, a.output,
			     stop_requested);
	ret = r.drain_err ? 1 : 0;

out_free:
	if (r.child && !r.child_done) {
		/* The run ended first (duration, signal, error): end the command too. */
		kill(r.child, SIGTERM);
		waitpid(r.child, &r.child_status, 0);
		r.child_done = true;
	}
	if (r.child && ret == 0)
		ret = run__exit_status(r.child_status);
	prof_sampler__free(r.sampler);
	prof_mmap_events__free(r.mev);
	prof_collector__free(r.coll);
	symbolizer__free(r.sym);
	profile__free(r.prof);
	if (r.pidfds)
		for (i = 0; i < a.n_pids; i++)
			if (r.pidfds[i] >= 0)
				close(r.pidfds[i]);
	free(r.pidfds);
out_output:
	run_output__abort(&out);
out_args:
	free(a.pids);
	return ret;
}

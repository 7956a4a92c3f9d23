/*
 * Shared pieces of the profiling commands: privileges, the started command,
 * the output file, the live status line and the summary line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ember/log.h"
#include "ember/profile.h"
#include "run.h"

#define CAP_PERFMON_BIT	  38
#define CAP_BPF_BIT	  39
#define CAP_SYS_ADMIN_BIT 21

static uint64_t effective_caps(void)
{
	char line[256];
	uint64_t caps = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %" SCNx64, &caps) == 1)
			break;
	fclose(f);
	return caps;
}

int run__check_privileges(void)
{
	uint64_t caps = effective_caps();
	bool admin = caps & (1ULL << CAP_SYS_ADMIN_BIT);
	bool bpf = caps & (1ULL << CAP_BPF_BIT), perfmon = caps & (1ULL << CAP_PERFMON_BIT);

	if (admin || (bpf && perfmon))
		return 0;
	pr_err("ember needs root, or the capabilities CAP_BPF and CAP_PERFMON (missing:%s%s). "
	       "Run it with sudo, or: sudo setcap cap_bpf,cap_perfmon,cap_sys_resource+ep "
	       "$(command -v ember)",
	       bpf ? "" : " CAP_BPF", perfmon ? "" : " CAP_PERFMON");
	return -EPERM;
}

/* The child's side: wait for the go byte, exec, report errno if exec fails. */
static void child_exec(char **argv, int go_fd, int err_fd)
{
	char c;
	int e;

	if (read(go_fd, &c, 1) != 1)
		_exit(127); /* the profiler gave up before starting us */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	execvp(argv[0], argv);
	e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static int child_go_fd = -1, child_err_fd = -1;

pid_t run__spawn_stopped(char **argv)
{
	char own_name[17] = "", *name;
	int go[2], errp[2];
	pid_t pid;

	if (pipe2(go, O_CLOEXEC))
		goto fail;
	if (pipe2(errp, O_CLOEXEC)) {
		close(go[0]);
		close(go[1]);
		goto fail;
	}
	fflush(NULL);
	/*
	 * Ticks between fork and exec belong to the command, not to ember: the
	 * child is born with the command's name (ember's own is put back below).
	 */
	prctl(PR_GET_NAME, own_name);
	name = strrchr(argv[0], '/');
	prctl(PR_SET_NAME, name ? name + 1 : argv[0]);
	pid = fork();
	if (pid != 0)
		prctl(PR_SET_NAME, own_name);
	if (pid < 0) {
		close(go[0]);
		close(go[1]);
		close(errp[0]);
		close(errp[1]);
		goto fail;
	}
	if (pid == 0) {
		close(go[1]);
		close(errp[0]);
		child_exec(argv, go[0], errp[1]);
	}
	close(go[0]);
	close(errp[1]);
	child_go_fd = go[1];
	child_err_fd = errp[0];
	return pid;
fail:
	pr_err("cannot start '%s': %s", argv[0], strerror(errno));
	return -1;
}

int run__release_child(pid_t child, const char *cmd)
{
	ssize_t n;
	int e = 0;

	(void)child;
	if (write(child_go_fd, "g", 1) != 1)
		e = errno;
	close(child_go_fd);
	child_go_fd = -1;
	if (!e) {
		/* EOF (0 bytes) means exec succeeded and closed the pipe. */
		do
			n = read(child_err_fd, &e, sizeof(e));
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof(e))
			e = 0;
	}
	close(child_err_fd);
	child_err_fd = -1;
	if (e) {
		pr_err("cannot run '%s': %s", cmd, strerror(e));
		return -e;
	}
	return 0;
}

int run__exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 1;
}

int run_output__open(struct run_output *o, const char *path, bool binary)
{
	char *dir_copy = NULL;
	struct stat sb;
	int fd, err;

	memset(o, 0, sizeof(*o));
	if (!path || !strcmp(path, "-")) {
		if (binary && isatty(STDOUT_FILENO)) {
			pr_err("this format is binary: not writing it to a terminal (use -o FILE "
			       "or a pipe)");
			return -EINVAL;
		}
		o->f = stdout;
		return 0;
	}
	/*
	 * A device, FIFO or anything else that is not a regular file (/dev/null,
	 * /dev/stdout, a named pipe) is written in place: renaming a temporary
	 * file over it would replace the device.
	 */
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		o->f = fopen(path, binary ? "wbe" : "we");
		if (!o->f) {
			err = -errno;
			pr_err("cannot write %s: %s", path, strerror(-err));
			return err;
		}
		o->in_place = true;
		return 0;
	}
	o->path = strdup(path);
	dir_copy = strdup(path);
	if (!o->path || !dir_copy)
		goto nomem;
	if (asprintf(&o->tmp, "%s/.%s.ember-XXXXXX", dirname(dir_copy), basename(o->path)) < 0) {
		o->tmp = NULL;
		goto nomem;
	}
	free(dir_copy);
	fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err("cannot write %s: %s", path, strerror(-err));
		free(o->tmp);
		o->tmp = NULL;
		run_output__abort(o);
		return err;
	}
	fchmod(fd, 0644 & ~umask(umask(0)));
	o->f = fdopen(fd, "w");
	if (!o->f) {
		err = -errno;
		close(fd);
		unlink(o->tmp);
		run_output__abort(o);
		return err;
	}
	return 0;
nomem:
	free(dir_copy);
	run_output__abort(o);
	pr_err("out of memory");
	return -ENOMEM;
}

int run_output__commit(struct run_output *o)
{
	int err = 0;

	if (o->f == stdout) {
		if (fflush(stdout) || ferror(stdout)) {
			err = -errno;
			pr_err("cannot write the profile to standard output: %s",
			       strerror(errno ? errno : EIO));
		}
		o->f = NULL;
		return err ? err : 0;
	}
	if (o->in_place) {
		if (fflush(o->f) || ferror(o->f))
			err = -(errno ? errno : EIO);
		if (fclose(o->f) && !err)
			err = -(errno ? errno : EIO);
		o->f = NULL;
		if (err)
			pr_err("cannot write the profile: %s", strerror(-err));
		return err;
	}
	if (fflush(o->f) || ferror(o->f) || fsync(fileno(o->f)))
		err = -(errno ? errno : EIO);
	if (fclose(o->f) && !err)
		err = -(errno ? errno : EIO);
	o->f = NULL;
	if (!err && rename(o->tmp, o->path))
		err = -errno;
	if (err) {
		pr_err("cannot write %s: %s", o->path, strerror(-err));
		return err;
	}
	free(o->tmp);
	o->tmp = NULL;
	return 0;
}

void run_output__abort(struct run_output *o)
{
	if (o->f && o->f != stdout)
		fclose(o->f);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
}

void run_status__init(struct run_status *st, bool enabled)
{
	st->tty = enabled && isatty(STDERR_FILENO);
	st->shown = false;
}

void run_status__update(struct run_status *st, uint64_t elapsed_ns, uint64_t duration_ns,
			uint64_t samples, unsigned procs, uint64_t lost)
{
	char dur[32] = "";

	if (!st->tty)
		return;
	if (duration_ns)
		snprintf(dur, sizeof(dur), " / %.1fs", duration_ns / 1e9);
	fprintf(stderr, "\r\033[K%.1fs%s  samples %" PRIu64 "  processes %u  lost %" PRIu64,
		elapsed_ns / 1e9, dur, samples, procs, lost);
	st->shown = true;
}

void run_status__finish(struct run_status *st)
{
	if (st->shown)
		fprintf(stderr, "\r\033[K");
	st->shown = false;
}

void run__summary(const struct profile *p, unsigned procs, double secs, const char *output,
		  int signal)
{
	const struct profile_meta *m = profile__meta_c(p);
	const struct profile_lost *l = &m->lost;
	uint64_t total = profile__total(p);

	fprintf(stderr,
		"ember: %" PRIu64 " samples, %u processes, %u stacks in %.1f s at %u Hz%s%s%s; "
		"lost %" PRIu64 " (count map full %" PRIu64 ", stack collisions %" PRIu64
		", stack map full %" PRIu64 ", kernel stack errors %" PRIu64
		", user stack errors %" PRIu64 ", ring buffer full %" PRIu64
		"); truncated stacks %" PRIu64 "\n",
		total, procs, profile__stack_count(p), secs, m->freq_hz, output ? " -> " : "",
		output ? output : "", signal ? " (stopped by signal)" : "", l->samples,
		l->count_map_full, l->stack_collisions, l->stack_map_full, l->kstack_errors,
		l->ustack_errors, l->ringbuf_full, l->truncated);
}

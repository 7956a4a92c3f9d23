/*
 * Pieces every profiling command shares: privilege checks, the started
 * command, the output file, the status line and the summary. Private to the
 * profiler.
 */
#ifndef EMBER_PROFILER_RUN_H
#define EMBER_PROFILER_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct profile;

/* 0 when BPF and perf events may be used; else logs what to do and returns -EPERM. */
int run__check_privileges(void);

/*
 * Forks a child that waits before exec'ing @argv, so it can be made a target
 * before it runs a single instruction of the command. Returns its pid, or -1
 * with the reason logged.
 */
pid_t run__spawn_stopped(char **argv);
/* Lets the child exec; 0, or -errno when exec failed (logged). */
int run__release_child(pid_t child, const char *cmd);
/* Shell-style exit status of a waited child: code, or 128 + signal. */
int run__exit_status(int wstatus);

/*
 * The output: a temporary file in the target's directory, renamed into place
 * by commit; standard output when @path is NULL or "-"; the path itself when
 * it exists and is not a regular file (/dev/null, a FIFO).
 */
struct run_output {
	FILE *f;
	char *path;
	char *tmp;
	bool in_place; /* not a regular file (device, FIFO): written directly */
};

int run_output__open(struct run_output *o, const char *path, bool binary);
/* Flushes and renames into place; 0 or -errno (logged). */
int run_output__commit(struct run_output *o);
/* Removes an uncommitted temporary file; accepts a committed or empty one. */
void run_output__abort(struct run_output *o);

/* Live status line on a terminal; silent elsewhere. */
struct run_status {
	bool tty;
	bool shown;
};

void run_status__init(struct run_status *st, bool enabled);
void run_status__update(struct run_status *st, uint64_t elapsed_ns, uint64_t duration_ns,
			uint64_t samples, unsigned procs, uint64_t lost);
void run_status__finish(struct run_status *st);

/* The one-line summary on stderr. */
void run__summary(const struct profile *p, unsigned procs, double secs, const char *output,
		  int signal);

#endif

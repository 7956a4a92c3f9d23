/*
 * Leveled logging to stderr. See include/ember/log.h.
 */
#include <stdarg.h>
#include <stdio.h>

#include "ember/log.h"

static enum log_level cur_level = LOG_LVL_WARN;
static int journal;

void log__set_level(enum log_level lvl)
{
	cur_level = lvl;
}

enum log_level log__level(void)
{
	return cur_level;
}

void log__set_journal(int on)
{
	journal = on;
}

void log__msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	static const int prio[] = {3, 4, 6, 7};
	char buf[1024];
	va_list ap;

	if (lvl > cur_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One fprintf so concurrent lines do not interleave. */
	if (journal)
		fprintf(stderr, "<%d>%s\n", prio[lvl], buf);
	else
		fprintf(stderr, "ember: %s: %s\n", names[lvl], buf);
}

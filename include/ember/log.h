/*
 * Logging to stderr with levels. One line per message, prefixed with the
 * level in a form journald understands when EMBER_LOG_JOURNAL is set
 * ("<3>" style priorities), else "ember: error: ...". Nothing is logged per
 * sample: hot paths keep counters instead.
 */
#ifndef EMBER_LOG_H
#define EMBER_LOG_H

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

void log__set_level(enum log_level lvl);
enum log_level log__level(void);
/* Prefix lines with syslog priorities "<N>" (for journald). */
void log__set_journal(int on);

__attribute__((format(printf, 2, 3))) void log__msg(enum log_level lvl, const char *fmt, ...);

#define pr_err(...)   log__msg(LOG_LVL_ERROR, __VA_ARGS__)
#define pr_warn(...)  log__msg(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...)  log__msg(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...) log__msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif /* EMBER_LOG_H */

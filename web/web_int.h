/*
 * Private to web/: the JSON API as plain functions of (endpoint, query
 * arguments) -> reply, kept apart from libmicrohttpd so it can be tested and
 * fuzzed without a socket, and the helpers the server shares with it.
 */
#ifndef EMBER_WEB_INT_H
#define EMBER_WEB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* Bounds on what one request may ask for (docs/api.md, "Limits"). */
#define WEB_MAX_ARGS	       32
#define WEB_MAX_ARG_LEN	       4096
#define WEB_MAX_RANGE_NS       (31ULL * 86400 * 1000000000ULL)
#define WEB_DEFAULT_NODES      20000
#define WEB_MIN_NODES	       10
#define WEB_MAX_NODES	       200000
#define WEB_DEFAULT_TOP	       500
#define WEB_MAX_TOP	       5000
#define WEB_MAX_POINTS	       10000
#define WEB_MAX_PROFILE_STACKS 4000000
#define WEB_MAX_EXPORT_BYTES   (512UL << 20)

struct web_arg {
	const char *key;
	const char *value; /* never NULL ("" for "?key") */
};

struct web_reply {
	unsigned int status;
	char *body; /* malloc'ed, owned by the reply */
	size_t len;
	const char *type;  /* Content-Type, static */
	char filename[96]; /* set: a download (Content-Disposition: attachment) */
};

struct web_api_ctx {
	struct store *st;
	const char *host;    /* this machine's name */
	const char *db_path; /* as given */
	uint64_t now_ns;     /* wall clock of the request */
};

/*
 * Answers GET /api/v1/@endpoint with @args (query arguments, decoded).
 * Always fills @r: a JSON body (or the export's bytes) and a status; errors
 * are {"error": "..."} with 400, 404, 413, 500, 501 or 503.
 */
void web_api__handle(const struct web_api_ctx *ctx, const char *endpoint,
		     const struct web_arg *args, size_t nargs, struct web_reply *r);

/* Sets @r to a JSON error {"error": msg} with @status. */
void web_reply__error(struct web_reply *r, unsigned int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void web_reply__free(struct web_reply *r);

/*
 * True when @path (relative, no leading '/') is one a static file may have:
 * [A-Za-z0-9._-/] only, no empty, "." or ".." segment, no hidden file, at
 * most 255 bytes.
 */
bool web__static_path_ok(const char *path);

#endif /* EMBER_WEB_INT_H */

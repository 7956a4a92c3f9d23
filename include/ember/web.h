/*
 * The HTTP server (web/, library ember_web): the JSON API under /api/v1/ and
 * the embedded UI. The UI's files are in ember/assets.h; the flamegraph
 * payload it serves is built by the formats module (ember/formats.h,
 * fmt_tree__*).
 *
 * Dependencies point one way: ember_web uses ember_formats, ember_storage and
 * ember_assets; ember_formats uses ember_assets (the html format embeds the
 * UI); ember_assets uses nothing.
 */
#ifndef EMBER_WEB_H
#define EMBER_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct profile;

/* ---- server (ember_web) ------------------------------------------------ */

#define WEB_DEFAULT_LISTEN "127.0.0.1:7070"

struct web_options {
	/*
	 * "ADDR:PORT", "[V6ADDR]:PORT", "localhost:PORT" or ":PORT" (loopback).
	 * NULL = WEB_DEFAULT_LISTEN. "none" is for the caller to handle (the
	 * daemon then starts no server); web_server__start refuses it.
	 * Only 127.0.0.1, ::1 and localhost count as loopback: any other
	 * address, 127.0.0.2 included, needs @auth_token_file.
	 */
	const char *listen;
	const char *db_path;	     /* the database; opened read-only, never written */
	const char *auth_token_file; /* NULL = no token (loopback only) */
	const char *web_root;	     /* NULL = embedded UI; else serve the UI from this folder */
	unsigned int threads;	     /* worker threads (and store connections); 0 = 2 */
};

struct web_server;

/*
 * Binds, opens the database read-only and starts serving in background
 * threads. NULL with errno set and a message for the user in @err (EINVAL bad
 * option or missing token for a non-loopback address, EADDRINUSE, ENOENT no
 * database, EACCES ...). The server opens its own store connections; it never
 * writes the database.
 */
struct web_server *web_server__start(const struct web_options *opts, char *err, size_t errlen);
/* The bound port (useful with port 0) and address ("127.0.0.1", "[::1]"), borrowed. */
unsigned int web_server__port(const struct web_server *ws);
const char *web_server__host(const struct web_server *ws);
/* Stops serving, waits for requests in flight, frees @ws; accepts NULL. */
void web_server__stop(struct web_server *ws);

#endif /* EMBER_WEB_H */

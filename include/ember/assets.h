/*
 * The web UI's files, embedded in the binary at build time by
 * web/gen_assets.c (library ember_assets, which depends on nothing). The
 * HTTP server serves them; the html format inlines them.
 */
#ifndef EMBER_ASSETS_H
#define EMBER_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *path; /* relative to the UI root: "index.html", "js/flame.js" */
	const char *mime;
	const unsigned char *data; /* NUL-terminated after @len bytes */
	size_t len;
};

/* The asset at @path (no leading '/'), or NULL. Exact match only. */
const struct web_asset *web_asset__find(const char *path);
/* Every asset, sorted by path; *n receives the count. */
const struct web_asset *web_asset__all(size_t *n);

#endif /* EMBER_ASSETS_H */

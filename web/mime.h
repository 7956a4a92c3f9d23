/*
 * Private to web/: the media types of the files the UI is made of, shared by
 * the asset generator (build time) and the server's --web-root (run time).
 */
#ifndef EMBER_WEB_MIME_H
#define EMBER_WEB_MIME_H

#include <stddef.h>
#include <string.h>

/* The Content-Type for @path by its extension, or NULL for a file the UI cannot have. */
static inline const char *web_mime__of(const char *path)
{
	static const struct {
		const char *ext, *mime;
	} mimes[] = {
		{".html", "text/html; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".json", "application/json"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".ico", "image/x-icon"},
		{".txt", "text/plain; charset=utf-8"},
	};
	size_t n = strlen(path), i, e;

	for (i = 0; i < sizeof(mimes) / sizeof(mimes[0]); i++) {
		e = strlen(mimes[i].ext);
		if (n > e && !strcmp(path + n - e, mimes[i].ext))
			return mimes[i].mime;
	}
	return NULL;
}

#endif /* EMBER_WEB_MIME_H */

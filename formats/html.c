/*
 * -f html: one self-contained file with the web UI's flamegraph view (zoom,
 * search, top table) and the profile inside, that opens from disk with no
 * server and no network.
 *
 * The page is the UI's standalone.html template with its placeholders filled:
 * the stylesheet, the payload (the same JSON the web API serves) in a
 * <script type="application/json"> element, and the view's JavaScript
 * modules joined into one inline module. Browsers do not load module files
 * from file:// pages, so the modules are joined here: their `import` lines
 * are dropped and `export ` prefixes removed (the UI keeps its top-level
 * names unique across these files for that reason).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ember/formats.h"
#include "ember/profile.h"
#include "ember/assets.h"
#include "json_int.h"

/* Nodes kept in the file: enough for any view, small enough to stay quick. */
#define HTML_MAX_NODES 100000

/* The view's modules, each after the ones it imports. */
static const char *const modules[] = {
	"js/util.js", "js/flame.js", "js/top.js", "js/view.js", "js/standalone.js",
};

static const struct web_asset *asset(const char *path)
{
	const struct web_asset *a = web_asset__find(path);

	if (!a)
		errno = ENOENT;
	return a;
}

/* True when @a contains "</@tag" in any case: it would end its element early. */
static bool has_end_tag(const struct web_asset *a, const char *tag)
{
	const char *p = (const char *)a->data, *end = p + a->len;
	size_t tl = strlen(tag);

	for (; p + 2 + tl <= end; p++)
		if (p[0] == '<' && p[1] == '/' && !strncasecmp(p + 2, tag, tl))
			return true;
	return false;
}

/* Writes module @a without its import lines and export keywords. */
static void write_module(const struct web_asset *a, FILE *out)
{
	const char *p = (const char *)a->data, *end = p + a->len, *nl;
	size_t len;

	fprintf(out, "/* %s */\n", a->path);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if (!strncmp(p, "import ", 7)) {
			p += len;
			continue;
		}
		if (!strncmp(p, "export ", 7)) {
			p += 7;
			len -= 7;
		}
		fwrite(p, 1, len, out);
		p += len;
	}
	putc('\n', out);
}

/* Writes @tpl from @from up to @mark (or the end); returns where the text after @mark starts. */
static const char *write_until(const char *from, const char *tpl_end, const char *mark, FILE *out)
{
	const char *at = mark ? strstr(from, mark) : NULL;

	if (!at || at > tpl_end) {
		fwrite(from, 1, (size_t)(tpl_end - from), out);
		return tpl_end;
	}
	fwrite(from, 1, (size_t)(at - from), out);
	return at + strlen(mark);
}

int fmt_html__write(const struct profile *p, FILE *out)
{
	const struct web_asset *tpl, *css, *mods[sizeof(modules) / sizeof(modules[0])];
	const char *t, *t_end;
	size_t i;
	int err;

	if (!p || !out)
		return -EINVAL;
	tpl = asset("standalone.html");
	css = asset("style.css");
	if (!tpl || !css)
		return -ENOENT;
	for (i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		mods[i] = asset(modules[i]);
		if (!mods[i])
			return -ENOENT;
		if (has_end_tag(mods[i], "script"))
			return -EINVAL;
	}
	if (has_end_tag(css, "style"))
		return -EINVAL;

	t = (const char *)tpl->data;
	t_end = t + tpl->len;
	t = write_until(t, t_end, "<!--ember:style-->", out);
	fwrite(css->data, 1, css->len, out);
	t = write_until(t, t_end, "<!--ember:data-->", out);
	err = fmt_json__write_budget(p, HTML_MAX_NODES, out);
	if (err)
		return err;
	t = write_until(t, t_end, "<!--ember:script-->", out);
	for (i = 0; i < sizeof(modules) / sizeof(modules[0]); i++)
		write_module(mods[i], out);
	write_until(t, t_end, NULL, out);
	if (fflush(out) || ferror(out))
		return errno ? -errno : -EIO;
	return 0;
}

/*
 * Lookups in the embedded UI asset table (include/ember/assets.h). The table is
 * generated at build time by gen_assets.c and sorted by path.
 */
#include <stdlib.h>
#include <string.h>

#include "ember/assets.h"
#include "assets.h"

static int by_path(const void *key, const void *elem)
{
	return strcmp(key, ((const struct web_asset *)elem)->path);
}

const struct web_asset *web_asset__find(const char *path)
{
	if (!path)
		return NULL;
	return bsearch(path, web_assets__table, web_assets__count, sizeof(web_assets__table[0]),
		       by_path);
}

const struct web_asset *web_asset__all(size_t *n)
{
	*n = web_assets__count;
	return web_assets__table;
}

/*
 * Private to web/: the table the asset generator writes (ui_assets.c in the
 * build tree), sorted by path.
 */
#ifndef EMBER_WEB_ASSETS_H
#define EMBER_WEB_ASSETS_H

#include <stddef.h>

struct web_asset;

extern const struct web_asset web_assets__table[];
extern const size_t web_assets__count;

#endif /* EMBER_WEB_ASSETS_H */

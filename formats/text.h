/*
 * Private to formats/: writing untrusted names (a process chooses its own
 * function names) into JSON strings and XML text so they always stay text.
 *
 * Both escapers repair what the target cannot hold: invalid UTF-8 becomes
 * U+FFFD, control characters become '?' in XML (XML 1.0 cannot carry them)
 * and \u00XX in JSON. In JSON, '<', '>' and '&' are written as \u003c, \u003e
 * and \u0026 as well, so the text stays inert when a page embeds it in a
 * <script> element.
 */
#ifndef EMBER_FORMATS_TEXT_H
#define EMBER_FORMATS_TEXT_H

#include <stddef.h>
#include <stdio.h>

/*
 * Length of the valid UTF-8 sequence at @s (1..4), or 0 when the bytes there
 * (at most @n) do not start one: overlong forms, surrogates and code points
 * above U+10FFFF are invalid.
 */
size_t fmt_text__utf8_len(const unsigned char *s, size_t n);

/* Writes @s as the inside of a JSON string (no quotes). */
void fmt_text__json(FILE *out, const char *s);
/* Writes @s as XML character data or attribute text (quotes escaped too). */
void fmt_text__xml(FILE *out, const char *s);

/*
 * Copies @s into @buf (@size bytes with the NUL) with invalid UTF-8 replaced
 * by U+FFFD and control characters by '?'. Returns the length it needed.
 */
size_t fmt_text__clean(const char *s, char *buf, size_t size);

#endif /* EMBER_FORMATS_TEXT_H */

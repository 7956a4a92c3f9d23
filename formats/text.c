/*
 * Escapers for untrusted names in JSON and XML output (formats/text.h).
 *
 * They write runs of plain bytes with one fwrite and only stop at bytes that
 * need care, so a name without special characters costs one call.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

size_t fmt_text__utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (!n)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* True for bytes a writer must look at: ASCII controls, DEL, and non-ASCII. */
static bool is_special_byte(unsigned char c)
{
	return c < 0x20 || c >= 0x7f;
}

void fmt_text__json(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str, *run = s;
	size_t left = strlen(str), n;
	char esc[8];

	while (left) {
		unsigned char c = *s;

		if (!is_special_byte(c) && c != '"' && c != '\\' && c != '<' && c != '>' &&
		    c != '&') {
			s++;
			left--;
			continue;
		}
		if (c >= 0x80) {
			n = fmt_text__utf8_len(s, left);
			if (n) {
				s += n;
				left -= n;
				continue;
			}
		}
		fwrite(run, 1, (size_t)(s - run), out);
		if (c == '"' || c == '\\') {
			fputc('\\', out);
			fputc(c, out);
		} else if (c >= 0x80) {
			fputs(replacement, out);
		} else {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			fputs(esc, out);
		}
		s++;
		left--;
		run = s;
	}
	fwrite(run, 1, (size_t)(s - run), out);
}

void fmt_text__xml(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str, *run = s;
	size_t left = strlen(str), n;
	const char *rep;

	while (left) {
		unsigned char c = *s;

		if (!is_special_byte(c) && c != '&' && c != '<' && c != '>' && c != '"' &&
		    c != '\'') {
			s++;
			left--;
			continue;
		}
		if (c >= 0x80) {
			n = fmt_text__utf8_len(s, left);
			if (n) {
				s += n;
				left -= n;
				continue;
			}
		}
		fwrite(run, 1, (size_t)(s - run), out);
		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			rep = c >= 0x80 ? replacement : "?";
			break;
		}
		fputs(rep, out);
		s++;
		left--;
		run = s;
	}
	fwrite(run, 1, (size_t)(s - run), out);
}

size_t fmt_text__clean(const char *str, char *buf, size_t size)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t left = strlen(str), need = 0, written = 0, n;
	bool full = false;
	const char *piece;
	char one;

	while (left) {
		n = 1;
		piece = &one;
		one = (char)*s;
		if (*s >= 0x80) {
			n = fmt_text__utf8_len(s, left);
			piece = (const char *)s;
			if (!n) {
				piece = replacement;
				n = 3;
			}
		} else if (is_special_byte(*s)) {
			one = '?';
		}
		/* Whole sequences only, so a short buffer never ends mid-character. */
		if (need + n < size && !full)
			memcpy(buf + need, piece, n);
		else
			full = true;
		if (!full)
			written = need + n;
		need += n;
		if (piece == replacement || piece == &one) {
			s++;
			left--;
		} else {
			s += n;
			left -= n;
		}
	}
	if (size)
		buf[written] = '\0';
	return need;
}

/* str.c - slices and character classes */
#include "util/str.h"

#include <string.h>

size_t em_utf8_decode(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	if (n == 0)
		return 0;
	unsigned char c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t len;
	uint32_t v, min;
	if ((c & 0xe0) == 0xc0) {
		len = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static bool is_unicode_space(uint32_t cp)
{
	if (cp <= 0x7f)
		return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20);
	switch (cp) {
	case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202f: case 0x205f: case 0x3000:
		return true;
	}
	return cp >= 0x2000 && cp <= 0x200a;
}

size_t em_space_len(const char *s, size_t n)
{
	uint32_t cp;
	size_t len = em_utf8_decode(s, n, &cp);
	if (len && is_unicode_space(cp))
		return len;
	return 0;
}

struct em_str em_str_strip(struct em_str s)
{
	size_t len;
	while (s.n && (len = em_space_len(s.p, s.n)) != 0) {
		s.p += len;
		s.n -= len;
	}
	/* from the end: walk back over a whole UTF-8 character at a time */
	while (s.n) {
		size_t start = s.n - 1;
		while (start > 0 && start + 4 > s.n && ((unsigned char)s.p[start] & 0xc0) == 0x80)
			start--;
		len = em_space_len(s.p + start, s.n - start);
		if (!len || start + len != s.n)
			break;
		s.n = start;
	}
	return s;
}

bool em_str_ieq(const char *s, size_t n, const char *word)
{
	size_t wl = strlen(word);
	if (wl != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (em_lower((unsigned char)s[i]) != em_lower((unsigned char)word[i]))
			return false;
	return true;
}

bool em_str_eq(const char *s, size_t n, const char *word)
{
	size_t wl = strlen(word);
	return wl == n && memcmp(s, word, n) == 0;
}

bool em_str_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (em_hex_value((unsigned char)s[i]) < 0)
			return false;
	return true;
}

bool em_parse_u64(const char *s, size_t n, uint64_t *out)
{
	if (n == 0)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!em_is_digit((unsigned char)s[i]))
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool em_utf8_valid(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		size_t len = em_utf8_decode(s + i, n - i, &cp);
		if (!len)
			return false;
		i += len;
	}
	return true;
}

size_t em_utf8_encode(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* str.h - byte slices and the character classes the standards use
 *
 * Input to every parser is a (pointer, length) pair that need not be
 * NUL-terminated and may contain any bytes, NUL included.
 */
#ifndef ENVMATRIX_STR_H
#define ENVMATRIX_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct em_str {
	const char *p;
	size_t n;
};

static inline struct em_str em_str_make(const char *p, size_t n)
{
	struct em_str s = { p, n };
	return s;
}

static inline bool em_is_digit(int c) { return c >= '0' && c <= '9'; }
static inline bool em_is_alpha(int c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static inline bool em_is_alnum(int c) { return em_is_digit(c) || em_is_alpha(c); }
static inline int em_lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* The value of an ASCII hex digit (either case), or -1. */
static inline int em_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Whether all n bytes are hex digits (either case). */
bool em_str_is_hex(const char *s, size_t n);

/* Length in bytes of the whitespace character at s (what Python's
 * str.isspace() and the regex \s accept: ASCII and Unicode spaces, line and
 * paragraph separators), or 0 when s does not start with one. */
size_t em_space_len(const char *s, size_t n);

/* Strip such whitespace from both ends of the slice. */
struct em_str em_str_strip(struct em_str s);

/* ASCII-only whitespace test (space, \t, \n, \r, \f, \v). */
static inline bool em_is_ascii_space(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* ASCII case-insensitive comparison of a slice with a NUL-terminated word. */
bool em_str_ieq(const char *s, size_t n, const char *word);
bool em_str_eq(const char *s, size_t n, const char *word);

/* Parse a decimal number of ASCII digits (no sign); false when n is 0, a
 * byte is not a digit, or the value does not fit in 64 bits. */
bool em_parse_u64(const char *s, size_t n, uint64_t *out);

/* Decode one UTF-8 character at s: its length in bytes, or 0 when the bytes
 * are not valid UTF-8 (overlong, surrogate, past U+10FFFF, cut short). */
size_t em_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Encode a code point (<= U+10FFFF) into out[0..4); returns the length. */
size_t em_utf8_encode(char *out, uint32_t cp);

/* Whether the bytes are valid UTF-8 (shortest forms, no surrogates). */
bool em_utf8_valid(const char *s, size_t n);

#endif

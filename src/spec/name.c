/* name.c - PEP 503 / PEP 508 project names */
#include "spec/name.h"
#include "util/str.h"

static bool is_sep(int c)
{
	return c == '-' || c == '_' || c == '.';
}

bool em_name_is_valid(const char *s, size_t n)
{
	if (n == 0)
		return false;
	if (!em_is_alnum((unsigned char)s[0]) || !em_is_alnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++) {
		int c = (unsigned char)s[i];
		if (!em_is_alnum(c) && !is_sep(c))
			return false;
	}
	return true;
}

/* The character at s[*i] as PEP 503 compares names: a run of '-', '_' and
 * '.' as one '-', a letter in lower case; *i moves past it. */
static int next_canonical(const char *s, size_t n, size_t *i)
{
	int c = (unsigned char)s[*i];
	if (is_sep(c)) {
		while (*i < n && is_sep((unsigned char)s[*i]))
			(*i)++;
		return '-';
	}
	(*i)++;
	return em_lower(c);
}

size_t em_name_canonical_buf(const char *s, size_t n, char *out, size_t outsize)
{
	size_t o = 0;
	size_t i = 0;
	while (i < n) {
		int c = next_canonical(s, n, &i);
		if (o + 1 < outsize)
			out[o] = (char)c;
		o++;
	}
	if (outsize)
		out[o < outsize ? o : outsize - 1] = '\0';
	return o;
}

char *em_name_canonical(struct em_arena *a, const char *s, size_t n)
{
	char *out = em_arena_alloc(a, n + 1);
	if (!out)
		return NULL;
	em_name_canonical_buf(s, n, out, n + 1);
	return out;
}

bool em_name_eq(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;
	for (;;) {
		bool ea = i >= an, eb = j >= bn;
		if (ea || eb)
			return ea && eb;
		if (next_canonical(a, an, &i) != next_canonical(b, bn, &j))
			return false;
	}
}

/* pep508_lex.c - tokenizer helpers and messages shared by markers and requirements */
#include "spec/pep508_lex.h"

#include "util/str.h"

#include <string.h>

int em_p5_start(struct p5_lex *l, struct em_arena *a, const char *s, size_t n,
		const char *kind, struct em_error *e)
{
	int rc = em_p5_check_input(s, n, kind, e);
	if (rc)
		return rc;
	memset(l, 0, sizeof *l);
	l->s = s;
	l->n = n;
	l->a = a;
	l->e = e;
	return 0;
}

bool em_p5_keyword(const struct p5_lex *l, const char *word, size_t wl)
{
	if (l->n - l->pos < wl || memcmp(l->s + l->pos, word, wl) != 0)
		return false;
	return p5_boundary(l, l->pos) && p5_boundary(l, l->pos + wl);
}

size_t em_p5_column(const struct p5_lex *l, size_t pos)
{
	size_t col = 1;
	if (pos > l->n)
		pos = l->n;
	for (size_t i = 0; i < pos; i++)
		if (((unsigned char)l->s[i] & 0xc0) != 0x80)
			col++;
	return col;
}

int em_p5_expected(struct p5_lex *l, const char *what)
{
	char in[200];
	em_quote(in, sizeof in, l->s, l->n);
	if (!l->prev_len)
		return em_err(l->e, EM_EINVAL, NULL, "expected %s at position %zu in '%s'", what,
			      em_p5_column(l, l->pos), in);
	char tok[64];
	em_quote(tok, sizeof tok, l->s + l->prev, l->prev_len);
	return em_err(l->e, EM_EINVAL, NULL, "expected %s after '%s' at position %zu in '%s'",
		      what, tok, em_p5_column(l, l->prev), in);
}

int em_p5_fail_at(struct p5_lex *l, size_t pos, const char *msg)
{
	char in[200];
	em_quote(in, sizeof in, l->s, l->n);
	return em_err(l->e, EM_EINVAL, NULL, "%s at position %zu in '%s'", msg,
		      em_p5_column(l, pos), in);
}

int em_p5_check_input(const char *s, size_t n, const char *kind, struct em_error *e)
{
	char in[200];
	if (n > EM_REQUIREMENT_MAX_LEN) {
		em_quote(in, 40, s, n);
		return em_err(e, EM_ELIMIT, NULL, "%s '%s' is longer than %d bytes", kind, in,
			      EM_REQUIREMENT_MAX_LEN);
	}
	bool ascii = true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0) {
			em_quote(in, sizeof in, s, n);
			return em_err(e, EM_EINVAL, NULL,
				      "%s '%s' contains a NUL byte at offset %zu", kind, in, i);
		}
		if (c >= 0x80)
			ascii = false;
	}
	if (!ascii && !em_utf8_valid(s, n)) {
		em_quote(in, sizeof in, s, n);
		return em_err(e, EM_EINVAL, NULL, "%s '%s' is not valid UTF-8", kind, in);
	}
	return 0;
}

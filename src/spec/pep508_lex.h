/* pep508_lex.h - the tokenizer that marker.c and requirement.c share (private)
 *
 * packaging's tokenizer is context-sensitive: the parser asks "is the next
 * token an X?" at the current position and each token kind has its own
 * regular expression. These helpers answer the same questions over a byte
 * slice. Positions are byte offsets; messages show 1-based character
 * columns, like packaging's caret line.
 */
#ifndef ENVMATRIX_PEP508_LEX_H
#define ENVMATRIX_PEP508_LEX_H

#include <stdbool.h>
#include <stddef.h>

#include "util/arena.h"
#include "envmatrix/error.h"
#include "spec/pep508.h"

struct p5_lex {
	const char *s;
	size_t n;
	size_t pos;
	size_t prev;      /* start of the last token read (not whitespace) */
	size_t prev_len;  /* its length; 0 before the first token */
	unsigned depth;   /* parentheses open around the current position */
	struct em_arena *a;
	struct em_error *e;
};

/* Check the input (em_p5_check_input) and set up l to read it: 0 or the
 * error. */
EM_MUST_USE
int em_p5_start(struct p5_lex *l, struct em_arena *a, const char *s, size_t n,
		const char *kind, struct em_error *e);

/* Python's \w for the bytes that can meet a token edge: ASCII letters,
 * digits and '_'; any non-ASCII byte counts as part of a word (a non-ASCII
 * character outside a quoted string or URL is an error either way). */
static inline bool p5_is_word(int c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       c == '_' || c >= 0x80;
}

/* \b at byte offset pos. */
static inline bool p5_boundary(const struct p5_lex *l, size_t pos)
{
	bool before = pos > 0 && p5_is_word((unsigned char)l->s[pos - 1]);
	bool after = pos < l->n && p5_is_word((unsigned char)l->s[pos]);
	return before != after;
}

/* WS = [ \t]+ ; true when something was skipped */
static inline bool p5_ws(struct p5_lex *l)
{
	size_t start = l->pos;
	while (l->pos < l->n && (l->s[l->pos] == ' ' || l->s[l->pos] == '\t'))
		l->pos++;
	return l->pos > start;
}

static inline bool p5_at_end(const struct p5_lex *l)
{
	return l->pos >= l->n;
}

static inline bool p5_peek(const struct p5_lex *l, char c)
{
	return l->pos < l->n && l->s[l->pos] == c;
}

/* Read a token of len bytes at the current position. */
static inline void p5_take(struct p5_lex *l, size_t len)
{
	l->prev = l->pos;
	l->prev_len = len;
	l->pos += len;
}

/* A keyword such as "and", "in", "not": the word with \b on both sides. */
bool em_p5_keyword(const struct p5_lex *l, const char *word, size_t len);
#define P5_KEYWORD(l, lit) em_p5_keyword((l), lit, sizeof lit - 1)

/* 1-based character column of byte offset pos. */
size_t em_p5_column(const struct p5_lex *l, size_t pos);

/* "expected WHAT after 'TOKEN' at position P in 'INPUT'" (EM_EINVAL) */
int em_p5_expected(struct p5_lex *l, const char *what);
/* "MSG at position P in 'INPUT'" for a problem at byte offset pos */
int em_p5_fail_at(struct p5_lex *l, size_t pos, const char *msg);

/* Reject what no PEP 508 string may hold before tokenizing: over
 * EM_REQUIREMENT_MAX_LEN (EM_ELIMIT), a NUL byte or invalid UTF-8. kind
 * names the input in the message ("marker", "requirement"). */
EM_MUST_USE
int em_p5_check_input(const char *s, size_t n, const char *kind, struct em_error *e);

/* marker.c: parse the `marker` production at l->pos (a requirement's part
 * after ';'); stops before anything that cannot continue the expression. */
EM_MUST_USE
int em_p5_parse_marker(struct p5_lex *l, struct em_marker **out);

#endif

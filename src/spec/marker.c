/* marker.c - PEP 508 environment markers: parse, evaluate, format
 *
 * The tree mirrors packaging's parse result, because str(Marker) depends on
 * its shape: a list node holds atoms joined by "and"/"or" (a parenthesized
 * atom is itself a list), an item node is one comparison. Everything that
 * does not depend on the environment is worked out while parsing: which
 * environment key an item reads, PEP 685 normalisation of extra names, and
 * the specifier a version comparison turns into. Evaluation then needs no
 * heap: the little it parses (the environment's version) goes into a
 * stack-backed arena.
 */
#include "spec/pep508.h"
#include "spec/name.h"
#include "util/grow.h"
#include "util/str.h"

#include "spec/pep508_lex.h"

#include <stdio.h>
#include <string.h>

enum mk_type { MK_LIST, MK_ITEM };

enum mk_op { OP_LT, OP_LE, OP_NE, OP_EQ, OP_GE, OP_GT, OP_COMPAT, OP_ARB, OP_IN, OP_NOT_IN };

static const char *const op_text[] = {
	[OP_LT] = "<", [OP_LE] = "<=", [OP_NE] = "!=", [OP_EQ] = "==", [OP_GE] = ">=",
	[OP_GT] = ">", [OP_COMPAT] = "~=", [OP_ARB] = "===", [OP_IN] = "in",
	[OP_NOT_IN] = "not in",
};

/* Environment keys beyond enum em_marker_var */
enum { KEY_EXTRAS = EM_MV_COUNT, KEY_GROUPS, KEY_OTHER, KEY_NONE = 0xff };

/* How a version comparison was prepared (items on version keys only) */
enum {
	VM_NONE = 0, /* not a version comparison: strings */
	VM_SPEC,     /* op + literal is a specifier: spec holds it */
	VM_LIMIT,    /* op + literal is too long to parse: error when evaluated */
	VM_RUNTIME,  /* the specifier comes from the environment's value */
	VM_ARB_EMPTY /* "===" alone: packaging's empty arbitrary version */
};

/* State of the literal left side parsed as a version (VM_RUNTIME) */
enum { LV_OK, LV_INVALID, LV_LIMIT };

struct mk_operand {
	const char *s;  /* a Value's text (decoded), or a Variable's name */
	uint32_t len;
	uint8_t var;    /* the key a Variable names; KEY_NONE for a Value */
};

struct em_marker {
	uint8_t type;
	uint8_t op;       /* MK_ITEM */
	uint8_t key;      /* MK_ITEM: what it looks up */
	uint8_t vmode;    /* MK_ITEM */
	uint8_t lv;       /* MK_ITEM, VM_RUNTIME */
	bool env_left;    /* MK_ITEM: the left side is the variable */
	bool noformat;    /* a value in this subtree holds both kinds of quote */
	uint32_t vars;    /* keys read in this subtree (em_marker_vars bits) */
	union {
		struct {
			uint32_t n;
			struct em_marker **kids;
			uint8_t *ors; /* ors[i]: "or" (1) or "and" (0) after kids[i] */
		} list;
		struct {
			struct mk_operand lhs, rhs;
			struct em_spec *spec;      /* VM_SPEC */
			struct em_version *lver;   /* VM_RUNTIME, LV_OK */
		} item;
	} u;
};

static const char *const var_names[] = {
	[EM_MV_IMPLEMENTATION_NAME] = "implementation_name",
	[EM_MV_IMPLEMENTATION_VERSION] = "implementation_version",
	[EM_MV_OS_NAME] = "os_name",
	[EM_MV_PLATFORM_MACHINE] = "platform_machine",
	[EM_MV_PLATFORM_PYTHON_IMPLEMENTATION] = "platform_python_implementation",
	[EM_MV_PLATFORM_RELEASE] = "platform_release",
	[EM_MV_PLATFORM_SYSTEM] = "platform_system",
	[EM_MV_PLATFORM_VERSION] = "platform_version",
	[EM_MV_PYTHON_FULL_VERSION] = "python_full_version",
	[EM_MV_PYTHON_VERSION] = "python_version",
	[EM_MV_SYS_PLATFORM] = "sys_platform",
	[EM_MV_EXTRA] = "extra",
	[KEY_EXTRAS] = "extras",
	[KEY_GROUPS] = "dependency_groups",
};

static const uint8_t var_name_len[] = {
	[EM_MV_IMPLEMENTATION_NAME] = 19, [EM_MV_IMPLEMENTATION_VERSION] = 22,
	[EM_MV_OS_NAME] = 7, [EM_MV_PLATFORM_MACHINE] = 16,
	[EM_MV_PLATFORM_PYTHON_IMPLEMENTATION] = 30, [EM_MV_PLATFORM_RELEASE] = 16,
	[EM_MV_PLATFORM_SYSTEM] = 15, [EM_MV_PLATFORM_VERSION] = 16,
	[EM_MV_PYTHON_FULL_VERSION] = 19, [EM_MV_PYTHON_VERSION] = 14, [EM_MV_SYS_PLATFORM] = 12,
	[EM_MV_EXTRA] = 5, [KEY_EXTRAS] = 6, [KEY_GROUPS] = 17,
};

const char *em_marker_var_name(enum em_marker_var v)
{
	if ((unsigned)v >= EM_MV_COUNT)
		return NULL;
	return var_names[v];
}

/* The VARIABLE token's spellings, each followed by the key it names */
#define SPELLING(s, k) { s, sizeof s - 1, k }
static const struct {
	const char *text;
	uint8_t len;
	uint8_t key;
} var_spellings[] = {
	SPELLING("python_version", EM_MV_PYTHON_VERSION),
	SPELLING("python_full_version", EM_MV_PYTHON_FULL_VERSION),
	SPELLING("os_name", EM_MV_OS_NAME),
	SPELLING("os.name", EM_MV_OS_NAME),
	SPELLING("sys_platform", EM_MV_SYS_PLATFORM),
	SPELLING("sys.platform", EM_MV_SYS_PLATFORM),
	SPELLING("platform_release", EM_MV_PLATFORM_RELEASE),
	SPELLING("platform_system", EM_MV_PLATFORM_SYSTEM),
	SPELLING("platform_version", EM_MV_PLATFORM_VERSION),
	SPELLING("platform.version", EM_MV_PLATFORM_VERSION),
	SPELLING("platform_machine", EM_MV_PLATFORM_MACHINE),
	SPELLING("platform.machine", EM_MV_PLATFORM_MACHINE),
	SPELLING("platform_python_implementation", EM_MV_PLATFORM_PYTHON_IMPLEMENTATION),
	SPELLING("platform.python_implementation", EM_MV_PLATFORM_PYTHON_IMPLEMENTATION),
	SPELLING("python_implementation", EM_MV_PLATFORM_PYTHON_IMPLEMENTATION),
	SPELLING("implementation_name", EM_MV_IMPLEMENTATION_NAME),
	SPELLING("implementation_version", EM_MV_IMPLEMENTATION_VERSION),
	SPELLING("extra", EM_MV_EXTRA),
	SPELLING("extras", KEY_EXTRAS),
	SPELLING("dependency_groups", KEY_GROUPS),
};

static bool is_version_key(unsigned key)
{
	return key == EM_MV_PYTHON_VERSION || key == EM_MV_PYTHON_FULL_VERSION ||
	       key == EM_MV_IMPLEMENTATION_VERSION || key == EM_MV_PLATFORM_RELEASE;
}

static uint32_t key_bit(unsigned key)
{
	if (key < EM_MV_COUNT)
		return 1u << key;
	if (key == KEY_EXTRAS)
		return EM_MARKER_VAR_EXTRAS;
	if (key == KEY_GROUPS)
		return EM_MARKER_VAR_GROUPS;
	return EM_MARKER_VAR_OTHER;
}

/* The key a quoted name stands for when packaging looks it up (exact). */
static uint8_t key_by_name(const char *s, size_t n)
{
	for (unsigned k = 0; k < KEY_OTHER; k++)
		if (n == var_name_len[k] && !memcmp(s, var_names[k], n))
			return (uint8_t)k;
	return KEY_OTHER;
}

/* ---- parsing ---- */

static size_t match_variable(const struct p5_lex *l, uint8_t *key)
{
	if (l->pos >= l->n || !p5_boundary(l, l->pos))
		return 0;
	char c = l->s[l->pos];
	if (c != 'p' && c != 'o' && c != 's' && c != 'i' && c != 'e' && c != 'd')
		return 0;
	for (size_t i = 0; i < sizeof var_spellings / sizeof var_spellings[0]; i++) {
		size_t len = var_spellings[i].len;
		if (var_spellings[i].text[0] == c && l->n - l->pos >= len &&
		    !memcmp(l->s + l->pos, var_spellings[i].text, len) &&
		    p5_boundary(l, l->pos + len)) {
			*key = var_spellings[i].key;
			return len;
		}
	}
	return 0;
}

static int bad_string(struct p5_lex *l, size_t qpos, const char *why)
{
	char msg[160];
	snprintf(msg, sizeof msg, "invalid quoted string (%s)", why);
	return em_p5_fail_at(l, qpos, msg);
}

/* The value of a quoted string as Python's ast.literal_eval reads it:
 * backslash escapes, line continuations, and no bare line breaks. The
 * result is never longer than the source. */
static int decode_quoted(struct p5_lex *l, size_t qpos, size_t end, struct mk_operand *o)
{
	const char *s = l->s + qpos + 1;
	size_t n = end - qpos - 1;
	char *out = em_arena_alloc(l->a, n + 1);
	if (!out)
		return em_err_nomem(l->e);
	size_t k = 0;
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n' || c == '\r')
			return bad_string(l, qpos, "a line break inside the quotes");
		if (c != '\\') {
			out[k++] = (char)c;
			i++;
			continue;
		}
		if (i + 1 >= n)
			return bad_string(l, qpos, "the closing quote is escaped");
		unsigned char d = (unsigned char)s[i + 1];
		uint32_t cp;
		int digits = 0;
		switch (d) {
		case '\n':
			i += 2;
			continue;
		case '\r':
			i += 2;
			if (i < n && s[i] == '\n')
				i++;
			continue;
		case '\\': case '\'': case '"':
			out[k++] = (char)d;
			i += 2;
			continue;
		case 'a': out[k++] = '\a'; i += 2; continue;
		case 'b': out[k++] = '\b'; i += 2; continue;
		case 'f': out[k++] = '\f'; i += 2; continue;
		case 'n': out[k++] = '\n'; i += 2; continue;
		case 'r': out[k++] = '\r'; i += 2; continue;
		case 't': out[k++] = '\t'; i += 2; continue;
		case 'v': out[k++] = '\v'; i += 2; continue;
		case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
			cp = 0;
			i++;
			while (digits < 3 && i < n && s[i] >= '0' && s[i] <= '7') {
				cp = cp * 8 + (uint32_t)(s[i] - '0');
				i++;
				digits++;
			}
			k += em_utf8_encode(out + k, cp);
			continue;
		case 'x':
			digits = 2;
			break;
		case 'u':
			digits = 4;
			break;
		case 'U':
			digits = 8;
			break;
		case 'N':
			return bad_string(l, qpos, "\\N{...} escapes are not supported");
		default:
			/* unknown escapes keep their backslash */
			out[k++] = '\\';
			i++;
			continue;
		}
		cp = 0;
		i += 2;
		for (int j = 0; j < digits; j++) {
			int h = i < n ? em_hex_value((unsigned char)s[i]) : -1;
			if (h < 0)
				return bad_string(l, qpos, "truncated \\x, \\u or \\U escape");
			cp = cp * 16 + (uint32_t)h;
			i++;
		}
		if (cp > 0x10ffff)
			return bad_string(l, qpos, "escape beyond U+10FFFF");
		if (cp >= 0xd800 && cp <= 0xdfff)
			return bad_string(l, qpos, "escape of a lone surrogate");
		k += em_utf8_encode(out + k, cp);
	}
	out[k] = '\0';
	o->s = out;
	o->len = (uint32_t)k;
	o->var = KEY_NONE;
	return 0;
}

/* marker_var = VARIABLE | QUOTED_STRING */
static int parse_operand(struct p5_lex *l, struct mk_operand *o)
{
	uint8_t key;
	size_t len = match_variable(l, &key);
	if (len) {
		o->var = key;
		o->s = var_names[key];
		o->len = var_name_len[key];
		p5_take(l, len);
		return 0;
	}
	if (p5_peek(l, '\'') || p5_peek(l, '"')) {
		const char *close = memchr(l->s + l->pos + 1, l->s[l->pos], l->n - l->pos - 1);
		if (close) {
			size_t end = (size_t)(close - l->s);
			int rc = decode_quoted(l, l->pos, end, o);
			if (rc)
				return rc;
			p5_take(l, end + 1 - l->pos);
			return 0;
		}
	}
	return em_p5_expected(l, "a marker variable or quoted string");
}

/* marker_op = IN | NOT WS IN | OP */
static int parse_op(struct p5_lex *l, uint8_t *op)
{
	static const struct {
		const char *text;
		uint8_t len;
		uint8_t op;
	} ops[] = {
		{ "===", 3, OP_ARB }, { "==", 2, OP_EQ }, { "~=", 2, OP_COMPAT }, { "!=", 2, OP_NE },
		{ "<=", 2, OP_LE }, { ">=", 2, OP_GE }, { "<", 1, OP_LT }, { ">", 1, OP_GT },
	};
	if (P5_KEYWORD(l, "in")) {
		p5_take(l, 2);
		*op = OP_IN;
		return 0;
	}
	if (P5_KEYWORD(l, "not")) {
		p5_take(l, 3);
		if (!p5_ws(l))
			return em_p5_expected(l, "whitespace");
		if (!P5_KEYWORD(l, "in"))
			return em_p5_expected(l, "'in'");
		p5_take(l, 2);
		*op = OP_NOT_IN;
		return 0;
	}
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		size_t len = ops[i].len;
		if (l->n - l->pos >= len && !memcmp(l->s + l->pos, ops[i].text, len)) {
			p5_take(l, len);
			*op = ops[i].op;
			return 0;
		}
	}
	return em_p5_expected(l, "a marker operator, one of <=, <, !=, ==, >=, >, ~=, ===, "
				 "in, not in");
}

static int canonical_value(struct p5_lex *l, struct mk_operand *o)
{
	char *c = em_arena_alloc(l->a, (size_t)o->len + 1);
	if (!c)
		return em_err_nomem(l->e);
	/* never longer than the input; the value may hold a NUL from \x00 */
	o->len = (uint32_t)em_name_canonical_buf(o->s, o->len, c, (size_t)o->len + 1);
	o->s = c;
	return 0;
}

/* Only Python whitespace (also nothing): "===" + s is then a bare "===",
 * which packaging accepts as a specifier matching only the empty string
 * (pep440.h's parser refuses it; markers keep packaging's answer). */
static bool all_space(const char *s, size_t n)
{
	return em_str_strip(em_str_make(s, n)).n == 0;
}

static bool both_quotes(const struct mk_operand *o)
{
	return o->var == KEY_NONE && memchr(o->s, '"', o->len) && memchr(o->s, '\'', o->len);
}

/* Work out what an item reads and how it compares (see the file comment). */
static int prepare_item(struct p5_lex *l, struct em_marker *m)
{
	struct mk_operand *lhs = &m->u.item.lhs, *rhs = &m->u.item.rhs;

	/* PEP 685: an extra name compared with the extra variable */
	if (lhs->var == EM_MV_EXTRA && rhs->var == KEY_NONE) {
		int rc = canonical_value(l, rhs);
		if (rc)
			return rc;
	} else if (rhs->var == EM_MV_EXTRA && lhs->var == KEY_NONE) {
		int rc = canonical_value(l, lhs);
		if (rc)
			return rc;
	} else if ((rhs->var == KEY_EXTRAS || rhs->var == KEY_GROUPS) && lhs->var == KEY_NONE) {
		/* the name tested for membership in extras / dependency_groups */
		int rc = canonical_value(l, lhs);
		if (rc)
			return rc;
	}
	m->noformat = both_quotes(lhs) || both_quotes(rhs);

	/* packaging looks up the left variable, or else the right side's
	 * text as a name, even when it was a quoted string */
	if (lhs->var != KEY_NONE) {
		m->env_left = true;
		m->key = lhs->var;
	} else {
		m->env_left = false;
		m->key = rhs->var != KEY_NONE ? rhs->var : key_by_name(rhs->s, rhs->len);
	}
	m->vars = key_bit(m->key);

	m->vmode = VM_NONE;
	if (!is_version_key(m->key) || m->op == OP_IN || m->op == OP_NOT_IN)
		return 0;
	if (!m->env_left) {
		/* the specifier is op + the environment's value: only the
		 * literal left side can be parsed now */
		m->vmode = VM_RUNTIME;
		struct em_version *v = em_arena_alloc(l->a, sizeof *v);
		if (!v)
			return em_err_nomem(l->e);
		int rc = em_version_parse(l->a, lhs->s, lhs->len, v, NULL);
		if (rc == EM_ENOMEM)
			return em_err_nomem(l->e);
		m->lv = rc == 0 ? LV_OK : rc == EM_ELIMIT ? LV_LIMIT : LV_INVALID;
		m->u.item.lver = rc == 0 ? v : NULL;
		return 0;
	}
	const char *ot = op_text[m->op];
	size_t ol = strlen(ot);
	char *text = em_arena_alloc(l->a, ol + rhs->len + 1);
	struct em_spec *sp = em_arena_alloc(l->a, sizeof *sp);
	if (!text || !sp)
		return em_err_nomem(l->e);
	memcpy(text, ot, ol);
	memcpy(text + ol, rhs->s, rhs->len);
	text[ol + rhs->len] = '\0';
	int rc = em_spec_parse(l->a, text, ol + rhs->len, sp, NULL);
	if (rc == EM_ENOMEM)
		return em_err_nomem(l->e);
	if (rc == 0) {
		m->vmode = VM_SPEC;
		m->u.item.spec = sp;
	} else if (rc == EM_ELIMIT) {
		m->vmode = VM_LIMIT;
	} else if (m->op == OP_ARB && all_space(rhs->s, rhs->len)) {
		m->vmode = VM_ARB_EMPTY;
	}
	return 0;
}

/* marker_item = marker_var WS? marker_op WS? marker_var */
static int parse_item(struct p5_lex *l, struct em_marker **out)
{
	struct em_marker *m = em_arena_zalloc(l->a, sizeof *m);
	if (!m)
		return em_err_nomem(l->e);
	m->type = MK_ITEM;
	int rc = parse_operand(l, &m->u.item.lhs);
	if (rc)
		return rc;
	p5_ws(l);
	rc = parse_op(l, &m->op);
	if (rc)
		return rc;
	p5_ws(l);
	rc = parse_operand(l, &m->u.item.rhs);
	if (rc)
		return rc;
	p5_ws(l);
	rc = prepare_item(l, m);
	if (rc)
		return rc;
	*out = m;
	return 0;
}

static int parse_list(struct p5_lex *l, struct em_marker **out);

/* marker_atom = WS? '(' WS? marker WS? ')' WS? | WS? marker_item WS? */
static int parse_atom(struct p5_lex *l, struct em_marker **out)
{
	p5_ws(l);
	int rc;
	if (p5_peek(l, '(')) {
		size_t open = l->pos;
		if (l->depth >= EM_MARKER_MAX_DEPTH) {
			char in[200];
			em_quote(in, sizeof in, l->s, l->n);
			return em_err(l->e, EM_ELIMIT, NULL,
				      "marker nests parentheses deeper than %d at position %zu in '%s'",
				      EM_MARKER_MAX_DEPTH, em_p5_column(l, open), in);
		}
		p5_take(l, 1);
		l->depth++;
		p5_ws(l);
		rc = parse_list(l, out);
		if (rc)
			return rc;
		p5_ws(l);
		if (!p5_peek(l, ')'))
			return em_p5_fail_at(l, open, "expected ')' to close the '('");
		p5_take(l, 1);
		l->depth--;
	} else {
		rc = parse_item(l, out);
		if (rc)
			return rc;
	}
	p5_ws(l);
	return 0;
}

/* marker = marker_atom (BOOLOP marker_atom)* */
static int parse_list(struct p5_lex *l, struct em_marker **out)
{
	struct em_marker *first;
	int rc = parse_atom(l, &first);
	if (rc)
		return rc;
	struct em_marker *m = em_arena_zalloc(l->a, sizeof *m);
	if (!m)
		return em_err_nomem(l->e);
	m->type = MK_LIST;
	m->vars = first->vars;
	m->noformat = first->noformat;
	uint32_t n = 1, kcap = 1, ocap = 0;
	struct em_marker *one[1] = { first };
	struct em_marker **kids = one;
	uint8_t *ors = NULL;
	for (;;) {
		uint8_t is_or;
		if (P5_KEYWORD(l, "or"))
			is_or = 1;
		else if (P5_KEYWORD(l, "and"))
			is_or = 0;
		else
			break;
		p5_take(l, is_or ? 2 : 3);
		struct em_marker *next;
		rc = parse_atom(l, &next);
		if (rc)
			return rc;
		/* kids starts in one[], ors empty: ors[i] joins kids[i] and
		 * kids[i + 1] */
		if (em_arena_grow(l->a, &kids, &kcap, n, sizeof *kids) ||
		    em_arena_grow(l->a, &ors, &ocap, n - 1, sizeof *ors))
			return em_err_nomem(l->e);
		ors[n - 1] = is_or;
		kids[n++] = next;
		m->vars |= next->vars;
		m->noformat |= next->noformat;
	}
	if (kids == one) {
		kids = em_arena_alloc(l->a, sizeof *kids);
		if (!kids)
			return em_err_nomem(l->e);
		kids[0] = first;
	}
	m->u.list.n = n;
	m->u.list.kids = kids;
	m->u.list.ors = ors;
	*out = m;
	return 0;
}

int em_p5_parse_marker(struct p5_lex *l, struct em_marker **out)
{
	return parse_list(l, out);
}

int em_marker_parse(struct em_arena *a, const char *s, size_t n, struct em_marker **out,
		    struct em_error *e)
{
	*out = NULL;
	struct p5_lex l;
	int rc = em_p5_start(&l, a, s, n, "marker", e);
	if (rc)
		return rc;
	struct em_arena_mark mark = em_arena_mark(a);
	rc = parse_list(&l, out);
	if (!rc && !p5_at_end(&l))
		rc = em_p5_expected(&l, "'and', 'or' or the end of the marker");
	if (rc) {
		em_arena_rewind(a, mark);
		*out = NULL;
	}
	return rc;
}

uint32_t em_marker_vars(const struct em_marker *m)
{
	return m ? m->vars : 0;
}

/* ---- formatting (packaging's _format_marker) ---- */

static void format_operand(const struct mk_operand *o, struct em_buf *b)
{
	if (o->var != KEY_NONE) {
		em_buf_add(b, o->s, o->len);
		return;
	}
	/* double quotes, unless the value holds one */
	char q = memchr(o->s, '"', o->len) ? '\'' : '"';
	em_buf_addc(b, q);
	em_buf_add(b, o->s, o->len);
	em_buf_addc(b, q);
}

static void format_node(const struct em_marker *m, bool first, struct em_buf *b)
{
	if (m->type == MK_ITEM) {
		format_operand(&m->u.item.lhs, b);
		em_buf_addc(b, ' ');
		em_buf_addstr(b, op_text[m->op]);
		em_buf_addc(b, ' ');
		format_operand(&m->u.item.rhs, b);
		return;
	}
	/* a one-atom list prints as its atom, without parentheses */
	if (m->u.list.n == 1) {
		format_node(m->u.list.kids[0], true, b);
		return;
	}
	if (!first)
		em_buf_addc(b, '(');
	for (uint32_t i = 0; i < m->u.list.n; i++) {
		if (i)
			em_buf_addstr(b, m->u.list.ors[i - 1] ? " or " : " and ");
		format_node(m->u.list.kids[i], false, b);
	}
	if (!first)
		em_buf_addc(b, ')');
}

int em_marker_format(const struct em_marker *m, struct em_buf *b)
{
	if (m->noformat)
		return EM_EINVAL;
	format_node(m, true, b);
	return b->err;
}

/* ---- evaluation ---- */

struct mk_value {
	const char *s;     /* string value */
	size_t len;
	bool is_set;       /* extras / dependency_groups */
	const char *const *set;
	size_t nset;
};

struct mk_eval {
	const struct em_marker_env *env;
	struct em_arena *scratch;
	struct em_error *e;
};

static const char *key_name(const struct em_marker *m, char *buf, size_t size)
{
	if (m->key < KEY_OTHER)
		return var_names[m->key];
	const struct mk_operand *o = &m->u.item.rhs;
	return em_quote(buf, size, o->s, o->len);
}

static int lookup(struct mk_eval *ev, const struct em_marker *m, struct mk_value *out)
{
	const struct em_marker_env *env = ev->env;
	memset(out, 0, sizeof *out);
	const char *v = NULL;
	switch (m->key) {
	case KEY_EXTRAS:
		if (!env->extras_defined)
			break;
		out->is_set = true;
		out->set = env->extras;
		out->nset = env->nextras;
		return 0;
	case KEY_GROUPS:
		if (!env->groups_defined)
			break;
		out->is_set = true;
		out->set = env->dependency_groups;
		out->nset = env->ngroups;
		return 0;
	case KEY_OTHER: {
		const struct mk_operand *o = &m->u.item.rhs;
		for (size_t i = 0; i < env->nother; i++) {
			const char *name = env->other[i].name;
			if (name && env->other[i].value && em_str_eq(o->s, o->len, name)) {
				v = env->other[i].value;
				break;
			}
		}
		break;
	}
	default:
		v = env->var[m->key];
		break;
	}
	if (!v && !out->is_set) {
		char name[80];
		return em_err(ev->e, EM_EUNDEFINED, NULL, "undefined marker variable '%s'",
			      key_name(m, name, sizeof name));
	}
	out->s = v;
	out->len = strlen(v);
	if (m->key == EM_MV_PYTHON_FULL_VERSION && out->len && v[out->len - 1] == '+') {
		/* an untagged build's "3.13.0+" reads as "3.13.0+local" */
		char *r = em_arena_alloc(ev->scratch, out->len + 6);
		if (!r)
			return em_err_nomem(ev->e);
		memcpy(r, v, out->len);
		memcpy(r + out->len, "local", 6);
		out->s = r;
		out->len += 5;
	} else if (m->key == EM_MV_EXTRA && out->len) {
		char *c = em_name_canonical(ev->scratch, v, out->len);
		if (!c)
			return em_err_nomem(ev->e);
		out->s = c;
		out->len = strlen(c);
	}
	return 0;
}

static int undefined_comparison(struct mk_eval *ev, const struct em_marker *m,
				const char *l, size_t ln, const char *r, size_t rn)
{
	char lq[100], rq[100], name[80];
	em_quote(lq, sizeof lq, l, ln);
	em_quote(rq, sizeof rq, r, rn);
	return em_err(ev->e, EM_EINVAL, NULL,
		      "undefined comparison '%s' %s '%s' (marker variable '%s' %s)", lq,
		      op_text[m->op], rq, key_name(m, name, sizeof name),
		      is_version_key(m->key) ? "and the value do not form a version specifier"
					     : "is not a version");
}

static bool contains_sub(const char *hay, size_t hn, const char *needle, size_t nn)
{
	if (nn == 0)
		return true;
	return nn <= hn && memmem(hay, hn, needle, nn) != NULL;
}

static bool spec_contains(struct em_spec *sp, const char *raw, size_t rawlen,
			  const struct em_version *v)
{
	struct em_specset set = { 1, sp, sp->op == EM_OP_ARBITRARY };
	return em_specset_contains(&set, raw, rawlen, v, EM_PRE_ALLOW);
}

static int version_limit(struct mk_eval *ev, const char *s, size_t n)
{
	char q[100];
	em_quote(q, sizeof q, s, n);
	return em_err(ev->e, EM_ELIMIT, NULL, "version or specifier '%s' is too long to compare",
		      q);
}

/* A version comparison; *done false when it falls back to strings. */
static int eval_version(struct mk_eval *ev, const struct em_marker *m, const char *l, size_t ln,
			const char *r, size_t rn, bool *done, bool *res)
{
	*done = false;
	if (m->vmode == VM_SPEC) {
		struct em_version v;
		int rc = 0;
		if (m->u.item.spec->op == EM_OP_ARBITRARY)
			rc = EM_EINVAL; /* === compares the text */
		else
			rc = em_version_parse(ev->scratch, l, ln, &v, NULL);
		if (rc == EM_ENOMEM)
			return em_err_nomem(ev->e);
		if (rc == EM_ELIMIT)
			return version_limit(ev, l, ln);
		*res = spec_contains(m->u.item.spec, l, ln, rc == 0 ? &v : NULL);
		*done = true;
		return 0;
	}
	if (m->vmode == VM_LIMIT)
		return version_limit(ev, r, rn);
	if (m->vmode == VM_ARB_EMPTY) {
		*res = ln == 0;
		*done = true;
		return 0;
	}
	if (m->vmode != VM_RUNTIME)
		return 0;
	const char *ot = op_text[m->op];
	size_t ol = strlen(ot);
	char *text = em_arena_alloc(ev->scratch, ol + rn + 1);
	if (!text)
		return em_err_nomem(ev->e);
	memcpy(text, ot, ol);
	memcpy(text + ol, r, rn);
	text[ol + rn] = '\0';
	struct em_spec sp;
	int rc = em_spec_parse(ev->scratch, text, ol + rn, &sp, NULL);
	if (rc == EM_ENOMEM)
		return em_err_nomem(ev->e);
	if (rc == EM_ELIMIT)
		return version_limit(ev, text, ol + rn);
	if (rc && m->op == OP_ARB && all_space(r, rn)) {
		*res = ln == 0;
		*done = true;
		return 0;
	}
	if (rc)
		return 0; /* not a specifier: strings */
	if (m->lv == LV_LIMIT && sp.op != EM_OP_ARBITRARY)
		return version_limit(ev, l, ln);
	*res = spec_contains(&sp, l, ln, m->u.item.lver);
	*done = true;
	return 0;
}

static int eval_item(struct mk_eval *ev, const struct em_marker *m, bool *res)
{
	struct mk_value val;
	int rc = lookup(ev, m, &val);
	if (rc)
		return rc;
	const char *l, *r;
	size_t ln, rn;
	if (m->env_left) {
		if (val.is_set) {
			char name[80];
			return em_err(ev->e, EM_EINVAL, NULL,
				      "marker variable '%s' holds a set and must be on the right "
				      "of 'in' or 'not in'", key_name(m, name, sizeof name));
		}
		l = val.s;
		ln = val.len;
		r = m->u.item.rhs.s;
		rn = m->u.item.rhs.len;
	} else {
		l = m->u.item.lhs.s;
		ln = m->u.item.lhs.len;
		r = val.s;
		rn = val.len;
	}

	if (val.is_set) {
		/* lhs against a set of names, both sides PEP 503-normalized */
		bool member = false;
		for (size_t i = 0; i < val.nset && !member; i++)
			if (val.set[i])
				member = em_name_eq(l, ln, val.set[i], strlen(val.set[i]));
		switch (m->op) {
		case OP_IN: *res = member; return 0;
		case OP_NOT_IN: *res = !member; return 0;
		case OP_NE: *res = true; return 0;    /* a string never equals a set */
		case OP_EQ: case OP_LE: case OP_GE:
		case OP_LT: case OP_GT: *res = false; return 0;
		default:
			return undefined_comparison(ev, m, l, ln, "{...}", 5);
		}
	}

	if (m->vmode != VM_NONE) {
		bool done;
		rc = eval_version(ev, m, l, ln, r, rn, &done, res);
		if (rc || done)
			return rc;
	}

	switch (m->op) {
	case OP_EQ: case OP_LE: case OP_GE:
		*res = ln == rn && memcmp(l, r, ln) == 0;
		return 0;
	case OP_NE:
		*res = !(ln == rn && memcmp(l, r, ln) == 0);
		return 0;
	case OP_LT: case OP_GT:
		*res = false;
		return 0;
	case OP_IN:
		*res = contains_sub(r, rn, l, ln);
		return 0;
	case OP_NOT_IN:
		*res = !contains_sub(r, rn, l, ln);
		return 0;
	default:
		return undefined_comparison(ev, m, l, ln, r, rn);
	}
}

/* Every atom is evaluated, left to right, before the groups are combined
 * (packaging does not short-circuit, so an error anywhere is an error).
 * Recursion follows the parentheses, at most EM_MARKER_MAX_DEPTH deep. */
static int eval_node(struct mk_eval *ev, const struct em_marker *m, bool *res)
{
	if (m->type == MK_ITEM) {
		struct em_arena_mark mark = em_arena_mark(ev->scratch);
		int rc = eval_item(ev, m, res);
		em_arena_rewind(ev->scratch, mark);
		return rc;
	}
	bool any = false, all = true;
	for (uint32_t i = 0; i < m->u.list.n; i++) {
		if (i && m->u.list.ors[i - 1]) {
			any = any || all;
			all = true;
		}
		bool v;
		int rc = eval_node(ev, m->u.list.kids[i], &v);
		if (rc)
			return rc;
		all = all && v;
	}
	*res = any || all;
	return 0;
}

int em_marker_eval(const struct em_marker *m, const struct em_marker_env *env, bool *result,
		   struct em_error *e)
{
	char buf[1024];
	struct em_arena scratch;
	em_arena_init_buf(&scratch, buf, sizeof buf);
	struct mk_eval ev = { env, &scratch, e };
	bool r = false;
	int rc = eval_node(&ev, m, &r);
	em_arena_release(&scratch);
	if (!rc)
		*result = r;
	return rc;
}

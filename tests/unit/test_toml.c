/* test_toml.c - the TOML 1.0 parser under the lock files
 *
 * Valid documents are compared through a compact dump of the tree (keys in
 * document order, "f:" before floats, "dt:" before datetimes); invalid ones
 * by code, place and a piece of the message. The cases follow the
 * categories of toml-lang/toml-test for TOML 1.0.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "spec/lock.h"

struct ctx {
	struct em_arena a;
	struct em_toml *doc;
	struct em_error e;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	em_arena_init(&c->a);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	em_arena_release(&c->a);
	free(c);
	return 0;
}

static int parse_n(struct ctx *c, const char *s, size_t n)
{
	em_error_clear(&c->e);
	return em_toml_parse(&c->a, s, n, "t.toml", &c->doc, &c->e);
}

static void dump_bytes(struct em_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
			em_buf_addf(b, "\\x%02x", ch);
		else
			em_buf_addc(b, (char)ch);
	}
}

static void dump(const struct em_toml *v, struct em_buf *b)
{
	switch (v->type) {
	case EM_TOML_STRING:
		em_buf_addc(b, '"');
		dump_bytes(b, v->u.str.s, v->u.str.len);
		em_buf_addc(b, '"');
		break;
	case EM_TOML_INTEGER:
		em_buf_addf(b, "%lld", (long long)v->u.i);
		break;
	case EM_TOML_FLOAT:
		em_buf_addf(b, "f:%.15g", v->u.f);
		break;
	case EM_TOML_BOOL:
		em_buf_addstr(b, v->u.b ? "true" : "false");
		break;
	case EM_TOML_DATETIME:
		em_buf_addstr(b, "dt:");
		em_buf_add(b, v->u.str.s, v->u.str.len);
		break;
	case EM_TOML_ARRAY:
		em_buf_addc(b, '[');
		for (uint32_t i = 0; i < v->u.arr.n; i++) {
			if (i)
				em_buf_addc(b, ',');
			dump(v->u.arr.items[i], b);
		}
		em_buf_addc(b, ']');
		break;
	case EM_TOML_TABLE:
		em_buf_addc(b, '{');
		for (uint32_t i = 0; i < v->u.tab.n; i++) {
			if (i)
				em_buf_addc(b, ',');
			dump_bytes(b, v->u.tab.kv[i].key, v->u.tab.kv[i].key_len);
			em_buf_addc(b, '=');
			dump(v->u.tab.kv[i].value, b);
		}
		em_buf_addc(b, '}');
		break;
	}
}

/* ---- valid documents ---- */

struct valid_case {
	const char *name;
	const char *toml;
	size_t len; /* 0: strlen */
	const char *want;
};

#define V(name, toml, want) { name, toml, 0, want }

static const struct valid_case valid_cases[] = {
	V("empty", "", "{}"),
	V("blank and comments", "\n  \t\n# a comment\n   # another\n\n", "{}"),
	V("comment at eof without newline", "a = 1 # done", "{a=1}"),
	V("no final newline", "a = 1", "{a=1}"),
	V("bom", "\xEF\xBB\xBF" "a = 1\n", "{a=1}"),
	V("crlf", "a = 1\r\nb = \"x\"\r\n[t]\r\nc = 2\r\n", "{a=1,b=\"x\",t={c=2}}"),
	V("whitespace around =", "a=1\nb\t=\t2\n  c   =    3   \n", "{a=1,b=2,c=3}"),
	/* strings */
	V("basic escapes", "s = \"\\b\\t\\n\\f\\r\\\"\\\\ end\"\n",
	  "{s=\"\\x08\\x09\\x0a\\x0c\\x0d\\x22\\x5c end\"}"),
	V("unicode escapes", "s = \"\\u00e9\\U0001F600\\u0000x\"\n", "{s=\"\xc3\xa9\xf0\x9f\x98\x80\\x00x\"}"),
	V("raw utf-8", "s = \"caf\xc3\xa9 \xe2\x82\xac\"\n", "{s=\"caf\xc3\xa9 \xe2\x82\xac\"}"),
	V("tab in strings", "a = \"x\ty\"\nb = 'x\ty'\n", "{a=\"x\\x09y\",b=\"x\\x09y\"}"),
	V("literal", "p = 'C:\\Users\\nodejs\\templates'\nq = '<\\i\\c*\\s*>'\n",
	  "{p=\"C:\\x5cUsers\\x5cnodejs\\x5ctemplates\",q=\"<\\x5ci\\x5cc*\\x5cs*>\"}"),
	V("empty strings", "a = \"\"\nb = ''\nc = \"\"\"\"\"\"\nd = ''''''\n", "{a=\"\",b=\"\",c=\"\",d=\"\"}"),
	V("multi-line first newline trimmed", "s = \"\"\"\nRoses\nViolets\"\"\"\n",
	  "{s=\"Roses\\x0aViolets\"}"),
	V("multi-line crlf", "s = \"\"\"\r\na\r\nb\"\"\"\r\n", "{s=\"a\\x0ab\"}"),
	V("line-ending backslash",
	  "s = \"\"\"\nThe quick \\\n\n\n   brown \\   \n   fox.\\\n\"\"\"\n", "{s=\"The quick brown fox.\"}"),
	V("line-ending backslash crlf", "s = \"\"\"a\\ \t\r\n  \r\n b\"\"\"\n", "{s=\"ab\"}"),
	V("quotes before the end", "a = \"\"\"x\"\"\"\"\nb = \"\"\"x\"\"\"\"\"\nc = '''y''''\nd = '''y'''''\n",
	  "{a=\"x\\x22\",b=\"x\\x22\\x22\",c=\"y'\",d=\"y''\"}"),
	V("quotes inside", "s = \"\"\"Here are two quotation marks: \"\". Simple.\"\"\"\n",
	  "{s=\"Here are two quotation marks: \\x22\\x22. Simple.\"}"),
	V("quotes right after the start", "s = \"\"\"\"This,\" she said.\"\"\"\n",
	  "{s=\"\\x22This,\\x22 she said.\"}"),
	V("multi-line literal", "s = '''\nThe first newline is\ntrimmed in raw strings.\n   \\n kept\n'''\n",
	  "{s=\"The first newline is\\x0atrimmed in raw strings.\\x0a   \\x5cn kept\\x0a\"}"),
	V("escaped backslash before newline", "s = \"\"\"a\\\\\nb\"\"\"\n", "{s=\"a\\x5c\\x0ab\"}"),
	/* integers */
	V("integers", "a = +99\nb = 42\nc = 0\nd = -17\ne = 1_000\nf = 5_349_221\ng = 1_2_3_4_5\nh = +0\ni = -0\n",
	  "{a=99,b=42,c=0,d=-17,e=1000,f=5349221,g=12345,h=0,i=0}"),
	V("prefixed integers", "a = 0xDEADBEEF\nb = 0xdead_beef\nc = 0o01234567\nd = 0o755\ne = 0b11010110\nf = 0x0\ng = 0b0\n",
	  "{a=3735928559,b=3735928559,c=342391,d=493,e=214,f=0,g=0}"),
	V("integer limits", "max = 9223372036854775807\nmin = -9223372036854775808\nhex = 0x7fffffffffffffff\n",
	  "{max=9223372036854775807,min=-9223372036854775808,hex=9223372036854775807}"),
	/* floats */
	V("floats", "a = +1.0\nb = 3.1415\nc = -0.01\nd = 5e+22\ne = 1e06\nf = -2E-2\ng = 6.626e-34\nh = 224_617.445_991\ni = 9_224_617.445_991_228_313\nj = 1e1_0\nk = 0.0\nl = -0.0\nm = 0e0\n",
	  "{a=f:1,b=f:3.1415,c=f:-0.01,d=f:5e+22,e=f:1000000,f=f:-0.02,g=f:6.626e-34,h=f:224617.445991,i=f:9224617.44599123,j=f:10000000000,k=f:0,l=f:-0,m=f:0}"),
	V("inf and nan", "a = inf\nb = +inf\nc = -inf\nd = nan\ne = +nan\n",
	  "{a=f:inf,b=f:inf,c=f:-inf,d=f:nan,e=f:nan}"),
	/* booleans */
	V("booleans", "t = true\nf = false\n", "{t=true,f=false}"),
	/* datetimes */
	V("offset date-times",
	  "a = 1979-05-27T07:32:00Z\nb = 1979-05-27T00:32:00-07:00\nc = 1979-05-27T00:32:00.999999-07:00\nd = 1979-05-27 07:32:00Z\ne = 1979-05-27t07:32:00z\nf = 2025-01-25T11:30:10.164985+00:00\n",
	  "{a=dt:1979-05-27T07:32:00Z,b=dt:1979-05-27T00:32:00-07:00,c=dt:1979-05-27T00:32:00.999999-07:00,d=dt:1979-05-27 07:32:00Z,e=dt:1979-05-27t07:32:00z,f=dt:2025-01-25T11:30:10.164985+00:00}"),
	V("local date-times, dates, times",
	  "a = 1979-05-27T07:32:00\nb = 1979-05-27T00:32:00.999999\nc = 1979-05-27\nd = 07:32:00\ne = 00:32:00.999999\nf = 1979-05-27 # date then comment\n",
	  "{a=dt:1979-05-27T07:32:00,b=dt:1979-05-27T00:32:00.999999,c=dt:1979-05-27,d=dt:07:32:00,e=dt:00:32:00.999999,f=dt:1979-05-27}"),
	V("leap years and edges",
	  "a = 2000-02-29\nb = 2024-02-29T23:59:59Z\nc = 0001-01-01 00:00:00Z\nd = 9999-12-31 23:59:59.999999999\ne = 1987-07-05T17:45:00+23:59\n",
	  "{a=dt:2000-02-29,b=dt:2024-02-29T23:59:59Z,c=dt:0001-01-01 00:00:00Z,d=dt:9999-12-31 23:59:59.999999999,e=dt:1987-07-05T17:45:00+23:59}"),
	V("datetimes in arrays", "a = [1979-05-27, 07:32:00, 1979-05-27 07:32:00]\n",
	  "{a=[dt:1979-05-27,dt:07:32:00,dt:1979-05-27 07:32:00]}"),
	/* arrays */
	V("arrays", "a = [ 1, 2, 3 ]\nb = [\"red\", \"yellow\"]\nc = [ [ 1, 2 ], [3, 4, 5] ]\nd = [ \"all\", 'strings', \"\"\"are the same\"\"\", '''type''' ]\ne = [ 0.1, 0.2, 1, \"x\", { x = 1 } ]\nf = []\ng=[1,2]\n",
	  "{a=[1,2,3],b=[\"red\",\"yellow\"],c=[[1,2],[3,4,5]],d=[\"all\",\"strings\",\"are the same\",\"type\"],e=[f:0.1,f:0.2,1,\"x\",{x=1}],f=[],g=[1,2]}"),
	V("multi-line arrays", "a = [\n  1,\n  2, # two\n  # comment alone\n\n  3,\n]\nb = [ # open\n]\nc = [\r\n 1 \r\n , 2 ]\n",
	  "{a=[1,2,3],b=[],c=[1,2]}"),
	V("nested empty arrays", "a = [[[[]]], []]\n", "{a=[[[[]]],[]]}"),
	/* inline tables */
	V("inline tables", "name = { first = \"Tom\", last = \"Preston-Werner\" }\npoint = {x=1,y=2}\nanimal = { type.name = \"pug\", type.kind = \"dog\" }\ne = {}\nn = { a = { b = { c = [1, {d = 2}] } } }\n",
	  "{name={first=\"Tom\",last=\"Preston-Werner\"},point={x=1,y=2},animal={type={name=\"pug\",kind=\"dog\"}},e={},n={a={b={c=[1,{d=2}]}}}}"),
	V("inline tables in arrays", "points = [ { x = 1, y = 2, z = 3 },\n  { x = 7, y = 8, z = 9 } ]\n",
	  "{points=[{x=1,y=2,z=3},{x=7,y=8,z=9}]}"),
	/* keys */
	V("bare and quoted keys", "key = 1\nbare_key = 2\nbare-key = 3\n1234 = 4\n\"127.0.0.1\" = 5\n\"character encoding\" = 6\n'key2' = 7\n'quoted \"value\"' = 8\n\"\" = 9\n",
	  "{key=1,bare_key=2,bare-key=3,1234=4,127.0.0.1=5,character encoding=6,key2=7,quoted \\x22value\\x22=8,=9}"),
	V("keys that look like values", "true = 1\nfalse = 2\ninf = 3\nnan = 4\n1979-05-27 = 5\n-1 = 6\n",
	  "{true=1,false=2,inf=3,nan=4,1979-05-27=5,-1=6}"),
	V("escaped keys", "\"a\\u0000b\" = 1\n\"\\u00e9\" = 2\n\"a.b\" = 3\n", "{a\\x00b=1,\xc3\xa9=2,a.b=3}"),
	V("dotted keys", "name = \"Orange\"\nphysical.color = \"orange\"\nphysical.shape = \"round\"\nsite.\"google.com\" = true\n3.14159 = \"pi\"\n a . b . c = 1\n",
	  "{name=\"Orange\",physical={color=\"orange\",shape=\"round\"},site={google.com=true},3={14159=\"pi\"},a={b={c=1}}}"),
	V("dotted keys in any order", "apple.type = \"fruit\"\norange.type = \"fruit\"\napple.skin = \"thin\"\n",
	  "{apple={type=\"fruit\",skin=\"thin\"},orange={type=\"fruit\"}}"),
	/* tables */
	V("tables", "[table-1]\nkey1 = \"some string\"\n[table-2]\nkey1 = \"another\"\n[dog.\"tater.man\"]\ntype.name = \"pug\"\n[ j . \"\xca\x9e\" . 'l' ]\n",
	  "{table-1={key1=\"some string\"},table-2={key1=\"another\"},dog={tater.man={type={name=\"pug\"}}},j={\xca\x9e={l={}}}}"),
	V("implicit then explicit", "[x.y.z.w]\n[x]\na = 1\n", "{x={y={z={w={}}},a=1}}"),
	V("explicit then sub-table", "[a]\nb = 1\n[a.c]\nd = 2\n", "{a={b=1,c={d=2}}}"),
	V("sub-table under dotted keys", "[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true\n",
	  "{fruit={apple={color=\"red\",taste={sweet=true},texture={smooth=true}}}}"),
	V("dotted keys into an implicit table", "[a.b.c]\nz = 1\n[a]\nb.d = 2\n", "{a={b={c={z=1},d=2}}}"),
	V("array of tables under dotted keys", "[fruit]\napple.color = \"red\"\n[[fruit.apple.seeds]]\nsize = 2\n",
	  "{fruit={apple={color=\"red\",seeds=[{size=2}]}}}"),
	V("root keys then tables", "a = 1\n[t]\nb = 2\n", "{a=1,t={b=2}}"),
	V("empty header table", "[a]\n[b]\n", "{a={},b={}}"),
	V("comment after header", "[a] # c\n[[b]] # d\n", "{a={},b=[{}]}"),
	/* arrays of tables */
	V("arrays of tables", "[[products]]\nname = \"Hammer\"\n[[products]]  # empty\n[[products]]\nname = \"Nail\"\n",
	  "{products=[{name=\"Hammer\"},{},{name=\"Nail\"}]}"),
	V("nested arrays of tables",
	  "[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n[[fruits.varieties]]\nname = \"red delicious\"\n[[fruits.varieties]]\nname = \"granny smith\"\n[[fruits]]\nname = \"banana\"\n[[fruits.varieties]]\nname = \"plantain\"\n",
	  "{fruits=[{name=\"apple\",physical={color=\"red\"},varieties=[{name=\"red delicious\"},{name=\"granny smith\"}]},{name=\"banana\",varieties=[{name=\"plantain\"}]}]}"),
	V("sub-table in each element", "[[a]]\n[a.b]\nx = 1\n[[a]]\n[a.b]\nx = 2\n", "{a=[{b={x=1}},{b={x=2}}]}"),
	V("dotted keys in each element", "[[a]]\nb.c = 1\n[[a]]\nb.c = 2\n", "{a=[{b={c=1}},{b={c=2}}]}"),
	V("pip-style hashes", "[[packages]]\nname = \"x\"\n[[packages.wheels]]\nname = \"w\"\n[packages.wheels.hashes]\nsha256 = \"0\"\n[[packages.wheels]]\n[packages.wheels.hashes]\nsha256 = \"1\"\n",
	  "{packages=[{name=\"x\",wheels=[{name=\"w\",hashes={sha256=\"0\"}},{hashes={sha256=\"1\"}}]}]}"),
	V("nul in a string by escape", "a = \"x\\u0000y\"\n", "{a=\"x\\x00y\"}"),
};

static void test_valid(void **state)
{
	struct ctx *c = *state;
	struct tu_report rep;
	tu_report_init(&rep, "valid TOML", 20);
	for (size_t i = 0; i < sizeof valid_cases / sizeof valid_cases[0]; i++) {
		const struct valid_case *vc = &valid_cases[i];
		size_t n = vc->len ? vc->len : strlen(vc->toml);
		rep.total++;
		int r = parse_n(c, vc->toml, n);
		if (r) {
			tu_report_fail(&rep, "%s: error %d %s: %s", vc->name, r, c->e.where, c->e.msg);
			continue;
		}
		struct em_buf b = EM_BUF_INIT;
		dump(c->doc, &b);
		if (strcmp(b.ptr, vc->want) != 0)
			tu_report_fail(&rep, "%s:\n   got  %s\n   want %s", vc->name, b.ptr, vc->want);
		em_buf_release(&b);
	}
	tu_report_done(&rep);
}

/* ---- invalid documents ---- */

struct invalid_case {
	const char *name;
	const char *toml;
	size_t len; /* 0: strlen */
	int code;
	unsigned line;
	const char *msg; /* a piece of the message */
};

#define I(name, toml, line, msg) { name, toml, 0, EM_EINVAL, line, msg }
#define IN(name, toml, line, msg) { name, toml, sizeof(toml) - 1, EM_EINVAL, line, msg }

static const struct invalid_case invalid_cases[] = {
	/* keys defined twice */
	I("duplicate key", "a = 1\nb = 2\na = 3\n", 3, "duplicate key 'a' (first on line 1)"),
	I("duplicate key, other spelling", "a = 1\n\"a\" = 2\n", 2, "duplicate key 'a'"),
	I("duplicate literal key", "'a b' = 1\n\"a b\" = 2\n", 2, "duplicate key 'a b'"),
	I("duplicate dotted key", "a.b = 1\na.b = 2\n", 2, "duplicate key 'a.b' (first on line 1)"),
	I("duplicate key in a table", "[t]\nx = 1\nx = 2\n", 3, "duplicate key 'x'"),
	I("value over a dotted table", "a.b = 1\na = 2\n", 2, "duplicate key 'a'"),
	I("dotted key through a value", "a = false\na.b = true\n", 2, "key 'a' is already a boolean (line 1)"),
	I("inline table over dotted", "a.b = 0\na = {}\n", 2, "duplicate key 'a'"),
	/* tables defined twice */
	I("table twice", "[a]\nb = 1\n\n[a]\nc = 2\n", 4, "table 'a' is defined twice (first on line 1)"),
	I("sub-table twice", "[a.b]\n[a]\n[a.b]\n", 3, "table 'a.b' is defined twice"),
	I("table then same dotted", "[fruit]\napple.color = \"red\"\n[fruit.apple]\n", 3,
	  "table 'fruit.apple' is already defined by dotted keys (line 2)"),
	I("table under dotted twice", "[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n[fruit.apple.taste]\n", 4,
	  "already defined by dotted keys"),
	I("dotted keys into a defined table", "[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n", 4,
	  "cannot add to table 'b.c' with dotted keys: it has its own header (line 1)"),
	I("dotted keys deeper into a defined table", "[a.b.c.d]\nz = 9\n[a]\nb.c.d.k.t = 1\n", 4,
	  "cannot add to table 'b.c.d' with dotted keys"),
	I("dotted keys into an array of tables", "[[a.b]]\n[a]\nb.y = 2\n", 3, "key 'b' is already an array"),
	I("table over a value", "a = 1\n[a]\n", 2, "cannot define table 'a': it is already an integer (line 1)"),
	I("table over an array", "a = [1]\n[a]\n", 2, "cannot define table 'a': it is already an array"),
	I("table over an array of tables", "[[a]]\n[a]\n", 2, "cannot define table 'a': it is an array of tables (line 1)"),
	I("array of tables over a table", "[a]\n[[a]]\n", 2, "cannot define array of tables 'a': it is already a table (line 1)"),
	I("array of tables over an implicit table", "[a.b]\n[[a]]\n", 2, "cannot define array of tables 'a'"),
	I("array of tables over a static array", "a = []\n[[a]]\n", 2, "cannot append to 'a': it is an array (line 1)"),
	I("header through a value", "a = 1\n[a.b]\n", 2, "key 'a' is already an integer (line 1), not a table"),
	I("header through a static array", "a = [{b = 1}]\n[a.c]\n", 2, "cannot add to 'a': it is an array"),
	/* inline tables are complete */
	I("header into an inline table", "a = {}\n[a.b]\n", 2, "cannot add to inline table 'a' (line 1)"),
	I("header defines an inline table", "a = {b = 1}\n[a]\n", 2, "is already defined as an inline table"),
	I("dotted key into an inline table", "a = {b = 1}\na.c = 2\n", 2, "cannot add keys to inline table 'a'"),
	I("inline table extends inline", "a = { b = { c = 1 }, b.d = 2 }\n", 1, "cannot add keys to inline table 'b'"),
	I("inline duplicate key", "a = { b = 1, b = 2 }\n", 1, "duplicate key 'b'"),
	I("inline dotted over value", "a = { b = 1, b.c = 2 }\n", 1, "key 'b' is already an integer"),
	I("inline array then dotted", "tab = { inner.table = [{}], inner.table.val = \"bad\" }\n", 1,
	  "key 'inner.table' is already an array"),
	I("aot into inline", "a = { b = 1 }\n[[a.c]]\n", 2, "cannot add to inline table 'a'"),
	/* strings */
	I("bad escape", "a = \"\\q\"\n", 1, "invalid escape '\\q'"),
	I("byte escape", "a = \"\\x41\"\n", 1, "invalid escape '\\x'"),
	I("\\e is TOML 1.1", "a = \"\\e\"\n", 1, "invalid escape '\\e'"),
	I("short \\u", "a = \"\\u12\"\n", 1, "invalid escape '\\u12'"),
	I("short \\U", "a = \"\\U0001F60\"\n", 1, "invalid escape '\\U0001F60'"),
	I("surrogate escape", "a = \"\\uD800\"\n", 1, "'\\uD800' is not a Unicode scalar value"),
	I("escape past unicode", "a = \"\\U00110000\"\n", 1, "is not a Unicode scalar value"),
	I("backslash space", "a = \"x\\ y\"\n", 1, "invalid escape '\\ '"),
	I("multi-line backslash space then text", "a = \"\"\"x\\   y\"\"\"\n", 1, "invalid escape '\\ '"),
	I("multi-line bad escape", "a = \"\"\"\n\\q\"\"\"\n", 2, "invalid escape"),
	I("unterminated string", "a = \"abc\n", 1, "unterminated string"),
	I("unterminated at eof", "a = \"abc", 1, "unterminated string"),
	I("unterminated literal", "a = 'abc\nb = 1\n", 1, "unterminated string"),
	I("unterminated multi-line", "a = \"\"\"\nabc\n\n", 1, "unterminated multi-line string"),
	I("unterminated multi-line literal", "a = '''\nabc\n''\n", 1, "unterminated multi-line string"),
	I("six quotes closing", "a = \"\"\"x\"\"\"\"\"\"\n", 1, "expected a newline"),
	I("string then text", "a = \"x\" y\n", 1, "expected a newline, found 'y'"),
	I("two strings", "a = \"x\" \"y\"\n", 1, "expected a newline"),
	I("escape at eof", "a = \"x\\", 1, "unterminated string"),
	/* control characters and encodings */
	IN("nul in a string", "a = \"x\0y\"\n", 1, "control character U+0000 in a string"),
	IN("nul in a literal", "a = 'x\0y'\n", 1, "control character U+0000"),
	IN("nul in a comment", "# x\0y\na = 1\n", 1, "control character U+0000 in a comment"),
	IN("nul bare", "a = 1\n\0", 2, "expected a key, found '\\x00'"),
	I("del in a comment", "# x\x7fy\n", 1, "control character U+007F in a comment"),
	I("us in a string", "a = \"x\x1fy\"\n", 1, "control character U+001F"),
	I("us in a multi-line literal", "a = '''x\x1fy'''\n", 1, "control character U+001F"),
	I("cr in a comment", "# x\ry\n", 1, "control character U+000D in a comment"),
	I("bare cr", "a = 1\rb = 2\n", 1, "carriage return without a line feed"),
	I("cr in a multi-line string", "a = \"\"\"x\ry\"\"\"\n", 1, "carriage return without a line feed"),
	I("cr at eof", "a = 1\r", 1, "carriage return without a line feed"),
	I("form feed bare", "\x0c" "a = 1\n", 1, "expected a key"),
	I("vertical tab bare", "a = 1\x0b\n", 1, "expected a newline"),
	I("invalid utf-8", "a = 1\n# \xff\n", 2, "invalid UTF-8"),
	I("invalid utf-8 in a string", "a = \"\xc3\"\n", 1, "invalid UTF-8"),
	I("overlong utf-8", "a = \"\xc0\xaf\"\n", 1, "invalid UTF-8"),
	I("utf-8 surrogate", "a = \"\xed\xa0\x80\"\n", 1, "invalid UTF-8"),
	I("utf-16 with bom", "\xff\xfe" "a\0", 1, "invalid UTF-8"),
	I("bom not at the start", "a = 1\n\xEF\xBB\xBF" "b = 2\n", 2, "expected a key"),
	/* integers */
	I("leading zero", "a = 01\n", 1, "invalid value '01'"),
	I("leading zero signed", "a = -01\n", 1, "invalid value '-01'"),
	I("leading zero underscore", "a = 0_1\n", 1, "invalid value"),
	I("double underscore", "a = 1__0\n", 1, "invalid value '1__0'"),
	I("leading underscore", "a = _1\n", 1, "invalid value '_1'"),
	I("trailing underscore", "a = 1_\n", 1, "invalid value '1_'"),
	I("signed hex", "a = +0x1\n", 1, "invalid value '+0x1'"),
	I("negative octal", "a = -0o7\n", 1, "invalid value"),
	I("capital prefix", "a = 0X1F\n", 1, "invalid value '0X1F'"),
	I("incomplete hex", "a = 0x\n", 1, "invalid value '0x'"),
	I("underscore after prefix", "a = 0x_1\n", 1, "invalid value"),
	I("bad octal digit", "a = 0o8\n", 1, "invalid value"),
	I("bad binary digit", "a = 0b102\n", 1, "invalid value"),
	I("bad hex digit", "a = 0xGG\n", 1, "invalid value"),
	I("overflow", "a = 9223372036854775808\n", 1, "integer '9223372036854775808' does not fit in 64 bits"),
	I("negative overflow", "a = -9223372036854775809\n", 1, "does not fit in 64 bits"),
	I("hex overflow", "a = 0xffffffffffffffff\n", 1, "does not fit in 64 bits"),
	I("text after an integer", "a = 123abc\n", 1, "invalid value '123abc'"),
	I("double sign", "a = +-1\n", 1, "invalid value"),
	/* floats */
	I("trailing point", "a = 1.\n", 1, "invalid value '1.'"),
	I("leading point", "a = .5\n", 1, "invalid value '.5'"),
	I("point before exponent", "a = 3.e+20\n", 1, "invalid value"),
	I("exponent without digits", "a = 1e\n", 1, "invalid value '1e'"),
	I("exponent underscore first", "a = 1e_5\n", 1, "invalid value"),
	I("double point", "a = 1.5.5\n", 1, "invalid value"),
	I("double exponent", "a = 1e2e3\n", 1, "invalid value"),
	I("float leading zero", "a = 03.14\n", 1, "invalid value '03.14'"),
	I("underscore before point", "a = 1_.5\n", 1, "invalid value"),
	I("underscore after point", "a = 1._5\n", 1, "invalid value"),
	I("capital inf", "a = Inf\n", 1, "invalid value 'Inf'"),
	I("capital nan", "a = NaN\n", 1, "invalid value 'NaN'"),
	I("incomplete inf", "a = in\n", 1, "invalid value 'in'"),
	I("inf with underscore", "a = in_f\n", 1, "invalid value"),
	/* booleans */
	I("capital true", "a = True\n", 1, "invalid value 'True'"),
	I("almost false", "a = fals\n", 1, "invalid value 'fals'"),
	I("true with extra", "a = truee\n", 1, "invalid value 'truee'"),
	I("bare word", "a = hello\n", 1, "invalid value 'hello'"),
	/* datetimes */
	I("feb 29 not leap", "a = 2023-02-29\n", 1, "invalid date or time '2023-02-29'"),
	I("feb 29 2100", "a = 2100-02-29T00:00:00Z\n", 1, "invalid date or time"),
	I("feb 30", "a = 2024-02-30\n", 1, "invalid date or time"),
	I("month 13", "a = 1979-13-01\n", 1, "invalid date or time"),
	I("month 0", "a = 1979-00-10\n", 1, "invalid date or time"),
	I("day 32", "a = 1979-01-32\n", 1, "invalid date or time"),
	I("day 0", "a = 1979-01-00\n", 1, "invalid date or time"),
	I("april 31", "a = 1979-04-31\n", 1, "invalid date or time"),
	I("year zero", "a = 0000-12-31 23:59:59Z\n", 1, "invalid date or time"),
	I("hour 24", "a = 24:00:00\n", 1, "invalid date or time '24:00:00'"),
	I("minute 60", "a = 1979-05-27T23:60:00\n", 1, "invalid date or time"),
	I("second 60", "a = 23:59:60\n", 1, "invalid date or time"),
	I("no seconds", "a = 07:32\n", 1, "invalid date or time '07:32'"),
	I("no seconds in a date-time", "a = 1979-05-27T07:32Z\n", 1, "invalid date or time"),
	I("no leading zeros", "a = 1979-5-27\n", 1, "invalid value"),
	I("time without leading zero", "a = 1979-05-27T7:32:00\n", 1, "invalid date or time"),
	I("trailing t", "a = 1979-05-27T\n", 1, "invalid date or time"),
	I("empty fraction", "a = 07:32:00.\n", 1, "invalid date or time"),
	I("offset hour 24", "a = 1979-05-27T07:32:00+24:00\n", 1, "invalid date or time"),
	I("offset without minutes", "a = 1979-05-27T07:32:00+07\n", 1, "invalid date or time"),
	I("two spaces", "a = 1979-05-27  07:32:00\n", 1, "expected a newline"),
	/* arrays */
	I("double comma", "a = [1,,2]\n", 1, "expected a value, found ','"),
	I("only a comma", "a = [,]\n", 1, "expected a value, found ','"),
	I("missing comma", "a = [1 2]\n", 1, "expected ',' or ']' in the array, found '2'"),
	I("unterminated array", "a = [1, 2,\n\n", 1, "unterminated array (the end of the file came first)"),
	I("unterminated array after value", "x = 1\na = [1", 2, "unterminated array"),
	I("text in an array", "a = [1, x]\n", 1, "invalid value 'x'"),
	I("bad comment in an array", "a = [1, # x\x01\n 2]\n", 1, "control character U+0001 in a comment"),
	/* inline tables */
	I("trailing comma", "a = { b = 1, }\n", 1, "trailing comma in an inline table"),
	I("newline inside", "a = { b = 1,\n c = 2 }\n", 1, "newline in an inline table"),
	I("newline before close", "a = { b = 1\n}\n", 1, "newline in an inline table"),
	I("newline before key", "a = {\nb = 1 }\n", 1, "newline in an inline table"),
	I("missing comma in inline", "a = { b = 1 c = 2 }\n", 1, "expected ',' or '}' in the inline table, found 'c'"),
	I("only a comma inline", "a = { , }\n", 1, "expected a key, found ','"),
	I("double comma inline", "a = { b = 1,, c = 2 }\n", 1, "expected a key, found ','"),
	I("unterminated inline", "a = { b = 1", 1, "expected ',' or '}' in the inline table, found the end of the file"),
	I("comment in inline", "a = { b = 1 # c\n}\n", 1, "expected ',' or '}'"),
	/* keys */
	I("empty key", " = 1\n", 1, "expected a key, found '='"),
	I("no value", "a = \n", 1, "expected a value, found the end of the line"),
	I("no value at eof", "a =", 1, "expected a value, found the end of the file"),
	I("value on the next line", "a =\n1\n", 1, "expected a value"),
	I("comment as value", "a = # c\n", 1, "expected a value, found '#'"),
	I("no equals", "a\n", 1, "expected '=' after the key, found the end of the line"),
	I("no equals at eof", "a", 1, "expected '=' after the key, found the end of the file"),
	I("space in a bare key", "a b = 1\n", 1, "expected '=' after the key, found 'b'"),
	I("two equals", "a = = 1\n", 1, "expected a value, found '='"),
	I("key ending with a dot", "a. = 1\n", 1, "expected a key, found '='"),
	I("key starting with a dot", ".a = 1\n", 1, "expected a key, found '.'"),
	I("double dot", "a..b = 1\n", 1, "expected a key, found '.'"),
	I("multi-line key", "\"\"\"a\"\"\" = 1\n", 1, "a multi-line string cannot be a key"),
	I("multi-line literal key", "'''a''' = 1\n", 1, "a multi-line string cannot be a key"),
	I("two pairs on a line", "a = 1 b = 2\n", 1, "expected a newline, found 'b'"),
	I("key after a table on its line", "[a] b = 1\n", 1, "expected a newline, found 'b'"),
	I("unterminated quoted key", "\"a = 1\n", 1, "unterminated string"),
	I("special character in a key", "a/b = 1\n", 1, "expected '=' after the key, found '/'"),
	I("hash in a key", "a# = 1\n", 1, "expected '=' after the key, found '#'"),
	I("non-ascii bare key", "\xc3\xa9 = 1\n", 1, "expected a key, found '\xc3\xa9'"),
	I("key then bracket", "a = 1\n[b\n", 2, "expected ']' to end the header"),
	/* headers */
	I("empty header", "[]\n", 1, "expected a key, found ']'"),
	I("empty array header", "[[]]\n", 1, "expected a key, found ']'"),
	I("unclosed header", "[a\nb = 1\n", 1, "expected ']' to end the header, found the end of the line"),
	I("unclosed array header", "[[a]\n", 1, "expected ']]' to end the header"),
	I("split array header", "[[a] ]\n", 1, "expected ']]' to end the header"),
	I("spaced array header", "[ [a] ]\n", 1, "expected a key, found '['"),
	I("extra bracket", "[a]]\n", 1, "expected a newline, found ']'"),
	I("text after a header", "[a] x\n", 1, "expected a newline, found 'x'"),
	I("space in a header", "[a b]\n", 1, "expected ']' to end the header, found 'b'"),
	I("header with equals", "[a] = 1\n", 1, "expected a newline, found '='"),
	I("header dot at end", "[a.]\n", 1, "expected a key, found ']'"),
	I("brace as header", "{a}\n", 1, "expected a key, found '{'"),
	I("lonely bracket", "[\n", 1, "expected a key, found the end of the line"),
};

static void test_invalid(void **state)
{
	struct ctx *c = *state;
	struct tu_report rep;
	tu_report_init(&rep, "invalid TOML", 20);
	for (size_t i = 0; i < sizeof invalid_cases / sizeof invalid_cases[0]; i++) {
		const struct invalid_case *ic = &invalid_cases[i];
		size_t n = ic->len ? ic->len : strlen(ic->toml);
		char where[64];
		snprintf(where, sizeof where, "t.toml:%u", ic->line);
		rep.total++;
		int r = parse_n(c, ic->toml, n);
		if (r == 0) {
			struct em_buf b = EM_BUF_INIT;
			dump(c->doc, &b);
			tu_report_fail(&rep, "%s: parsed as %s", ic->name, b.ptr);
			em_buf_release(&b);
			continue;
		}
		if (r != ic->code || c->e.code != r || c->doc != NULL ||
		    strcmp(c->e.where, where) != 0 || !strstr(c->e.msg, ic->msg))
			tu_report_fail(&rep, "%s: got %d %s: %s\n   want %d %s: ...%s...", ic->name, r,
				       c->e.where, c->e.msg, ic->code, where, ic->msg);
	}
	tu_report_done(&rep);
}

/* ---- lines, lookups, datetimes ---- */

static void test_lines(void **state)
{
	struct ctx *c = *state;
	const char *doc = "# header\n"
			  "a = 1\n"
			  "s = \"\"\"\n"
			  "x\n"
			  "\"\"\"\n"
			  "b = [\n"
			  "  2,\n"
			  "  { c = 3 },\n"
			  "]\n"
			  "\n"
			  "[t]\n"
			  "u.v = 4\n"
			  "[[p]]\n"
			  "[[p]]\n"
			  "q = '''\r\n\r\n'''\r\n"
			  "r = 5\n";
	assert_int_equal(parse_n(c, doc, strlen(doc)), 0);
	const struct em_toml *d = c->doc;
	assert_int_equal(d->line, 1);
	assert_int_equal(em_toml_get(d, "a")->line, 2);
	assert_int_equal(em_toml_get(d, "s")->line, 3);
	const struct em_toml *b = em_toml_get(d, "b");
	assert_int_equal(b->line, 6);
	assert_int_equal(b->u.arr.items[0]->line, 7);
	assert_int_equal(b->u.arr.items[1]->line, 8);
	assert_int_equal(em_toml_get(b->u.arr.items[1], "c")->line, 8);
	const struct em_toml *t = em_toml_get(d, "t");
	assert_int_equal(t->line, 11);
	assert_int_equal(em_toml_get(em_toml_get(t, "u"), "v")->line, 12);
	const struct em_toml *p = em_toml_get(d, "p");
	assert_int_equal(p->line, 13);
	assert_int_equal(p->u.arr.n, 2);
	assert_int_equal(p->u.arr.items[0]->line, 13);
	assert_int_equal(p->u.arr.items[1]->line, 14);
	assert_int_equal(em_toml_get(p->u.arr.items[1], "q")->line, 15);
	assert_int_equal(em_toml_get(p->u.arr.items[1], "r")->line, 18);
	/* an implicit table takes the line of the header that defines it */
	assert_int_equal(parse_n(c, "[a.b]\n\n[a]\n", 11), 0);
	assert_int_equal(em_toml_get(c->doc, "a")->line, 3);
	/* errors after a multi-line string count its lines */
	assert_int_equal(parse_n(c, "a = '''\n\n\n''' x\n", 16), EM_EINVAL);
	assert_string_equal(c->e.where, "t.toml:4");
}

static void test_get(void **state)
{
	struct ctx *c = *state;
	const char *doc = "a = 1\n\"a\\u0000b\" = 2\n\"\" = 3\n";
	assert_int_equal(parse_n(c, doc, strlen(doc)), 0);
	assert_int_equal(em_toml_get(c->doc, "a")->u.i, 1);
	assert_null(em_toml_get(c->doc, "b"));
	assert_int_equal(em_toml_getn(c->doc, "a\0b", 3)->u.i, 2);
	assert_int_equal(em_toml_get(c->doc, "")->u.i, 3);
	assert_int_equal(c->doc->u.tab.kv[1].key_len, 3);
	assert_null(em_toml_get(NULL, "a"));
	assert_null(em_toml_get(c->doc, NULL));
	assert_null(em_toml_get(em_toml_get(c->doc, "a"), "a")); /* not a table */
	/* a table built by hand has no index */
	struct em_toml one = { .type = EM_TOML_INTEGER, .line = 1, .u.i = 7 };
	struct em_toml_kv kv = { "k", 1, &one };
	struct em_toml t = { .type = EM_TOML_TABLE, .line = 1 };
	t.u.tab.n = 1;
	t.u.tab.kv = &kv;
	assert_ptr_equal(em_toml_get(&t, "k"), &one);
	assert_null(em_toml_get(&t, "x"));
}

static void test_datetime_kind(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		enum em_toml_datetime_kind k;
	} cases[] = {
		{ "1979-05-27T07:32:00Z", EM_TOML_DT_OFFSET },
		{ "1979-05-27 07:32:00.5+05:30", EM_TOML_DT_OFFSET },
		{ "1979-05-27t07:32:00z", EM_TOML_DT_OFFSET },
		{ "1979-05-27T07:32:00", EM_TOML_DT_LOCAL },
		{ "1979-05-27T07:32:00.123456789", EM_TOML_DT_LOCAL },
		{ "1979-05-27", EM_TOML_DT_DATE },
		{ "2000-02-29", EM_TOML_DT_DATE },
		{ "07:32:00", EM_TOML_DT_TIME },
		{ "23:59:59.9", EM_TOML_DT_TIME },
		{ "", EM_TOML_DT_NONE },
		{ "1979-05-27T07:32:00ZZ", EM_TOML_DT_NONE },
		{ "1979-05-27T07:32:00+05", EM_TOML_DT_NONE },
		{ "1979-05-27T07:32:00+05:60", EM_TOML_DT_NONE },
		{ "1979-05-27X07:32:00", EM_TOML_DT_NONE },
		{ "1900-02-29", EM_TOML_DT_NONE },
		{ "1979-06-31", EM_TOML_DT_NONE },
		{ "07:32:00 ", EM_TOML_DT_NONE },
		{ "7:32:00", EM_TOML_DT_NONE },
		{ "07:32", EM_TOML_DT_NONE },
		{ "2025-01-25T11:30:10.164985", EM_TOML_DT_LOCAL },
		{ "12345-01-01", EM_TOML_DT_NONE },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum em_toml_datetime_kind k = em_toml_datetime_kind(cases[i].s, strlen(cases[i].s));
		if (k != cases[i].k)
			fail_msg("'%s': got %d, want %d", cases[i].s, (int)k, (int)cases[i].k);
	}
	assert_int_equal(em_toml_datetime_kind(NULL, 0), EM_TOML_DT_NONE);
}

/* The document where is optional; errors leave nothing in the arena. */
static void test_error_record(void **state)
{
	struct ctx *c = *state;
	struct em_toml *doc = (struct em_toml *)1;
	struct em_error e = { 0 };
	assert_int_equal(em_toml_parse(&c->a, "a = 1\nb = \n", 11, NULL, &doc, &e), EM_EINVAL);
	assert_null(doc);
	assert_string_equal(e.where, "line 2");
	assert_int_equal(em_toml_parse(&c->a, "a = 1\n", 6, NULL, &doc, NULL), 0);
	assert_non_null(doc);
	assert_int_equal(em_toml_parse(&c->a, "a = \n", 5, NULL, &doc, NULL), EM_EINVAL);

	struct em_arena a;
	em_arena_init(&a);
	const char *big = "x = [1, 2, {a = \"b\"}, [[[]]]]\n[t]\ny = 2\n[t]\n";
	assert_int_equal(em_toml_parse(&a, big, strlen(big), "w", &doc, &e), EM_EINVAL);
	assert_null(a.head);
	assert_int_equal(a.total, 0);
	em_arena_release(&a);

	assert_int_equal(em_toml_parse(&c->a, "", 0, "t", &doc, &e), 0);
	assert_int_equal(doc->type, EM_TOML_TABLE);
	assert_int_equal(doc->u.tab.n, 0);
	assert_int_equal(em_toml_parse(&c->a, NULL, 0, "t", &doc, &e), 0);
}

/* ---- size and depth ---- */

static char *repeat(const char *head, const char *unit, size_t n, const char *tail, size_t *len)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1);
	assert_non_null(s);
	memcpy(s, head, hl);
	for (size_t i = 0; i < n; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + ul * n, tail, tl + 1);
	*len = hl + ul * n + tl;
	return s;
}

static void expect_limit(struct ctx *c, const char *head, const char *unit, size_t n,
			 const char *tail, const char *msg)
{
	size_t len;
	char *s = repeat(head, unit, n, tail, &len);
	int r = parse_n(c, s, len);
	free(s);
	if (r != EM_ELIMIT || !strstr(c->e.msg, msg))
		fail_msg("%s x %zu: got %d %s: %s", unit, n, r, c->e.where, c->e.msg);
}

static void test_depth(void **state)
{
	struct ctx *c = *state;
	size_t len;
	expect_limit(c, "a = ", "[", 100000, "", "nested deeper than 64");
	expect_limit(c, "a = ", "{b=", 100000, "", "nested deeper than 64");
	expect_limit(c, "a = ", "[{b=", 50000, "", "nested deeper than 64");
	expect_limit(c, "k", ".k", 100000, " = 1\n", "key with more than 64 parts");
	expect_limit(c, "[k", ".k", 100000, "]\n", "key with more than 64 parts");
	expect_limit(c, "[[k", ".k", 63, "]]\n", "nested deeper than 64");
	expect_limit(c, "a = [", "0,", EM_TOML_MAX_VALUES, "]\n", "more than 4194304 values");
	/* in an inline table, its own depth counts */
	expect_limit(c, "a = [[[[[[[[[[{", "b.", 60, "c = 1}]]]]]]]]]]\n", "nested deeper than 64");

	/* up to the limit is fine */
	char *s = repeat("a = ", "[", 63, "", &len);
	char *t = malloc(len + 64 + 2);
	assert_non_null(t);
	memcpy(t, s, len);
	memset(t + len, ']', 63);
	memcpy(t + len + 63, "\n", 2);
	assert_int_equal(parse_n(c, t, len + 64), 0);
	free(s);
	free(t);
	s = repeat("k", ".k", 63, " = 1\n", &len);
	assert_int_equal(parse_n(c, s, len), 0);
	free(s);
}

static void test_long_lines(void **state)
{
	struct ctx *c = *state;
	size_t len, n = 10u << 20;
	/* a 10 MB string, literal, comment, key and array line */
	char *s = repeat("a = \"", "x", n, "\"\n", &len);
	assert_int_equal(parse_n(c, s, len), 0);
	assert_int_equal(em_toml_get(c->doc, "a")->u.str.len, n);
	free(s);
	s = repeat("a = '''", "\\", n, "'''", &len);
	assert_int_equal(parse_n(c, s, len), 0);
	assert_int_equal(em_toml_get(c->doc, "a")->u.str.len, n);
	free(s);
	s = repeat("#", "#", n, "\na = 1\n", &len);
	assert_int_equal(parse_n(c, s, len), 0);
	free(s);
	s = repeat("", "k", n, " = 1\n", &len);
	assert_int_equal(parse_n(c, s, len), 0);
	assert_int_equal(c->doc->u.tab.kv[0].key_len, n);
	free(s);
	s = repeat("a = [", "1,", n / 4, "]\n", &len);
	assert_int_equal(parse_n(c, s, len), 0);
	assert_int_equal(em_toml_get(c->doc, "a")->u.arr.n, n / 4);
	free(s);
	s = repeat("a = ", "1", n, "\n", &len);
	assert_int_equal(parse_n(c, s, len), EM_EINVAL);
	assert_non_null(strstr(c->e.msg, "does not fit in 64 bits"));
	free(s);
	s = repeat("a = 1.", "1", n, "\n", &len);
	assert_int_equal(parse_n(c, s, len), 0);
	free(s);
	s = repeat("a = \"", "\\u00e9", n / 6, "\"\n", &len);
	assert_int_equal(parse_n(c, s, len), 0);
	assert_int_equal(em_toml_get(c->doc, "a")->u.str.len, n / 6 * 2);
	free(s);
	/* unterminated: the error names the line where it started */
	s = repeat("\n\na = \"\"\"", "x\n", 100000, "", &len);
	assert_int_equal(parse_n(c, s, len), EM_EINVAL);
	assert_string_equal(c->e.where, "t.toml:3");
	free(s);

	char dummy[1] = { 0 };
	struct em_toml *doc;
	assert_int_equal(em_toml_parse(&c->a, dummy, (size_t)EM_TOML_MAX_LEN + 1, "big", &doc,
				       &c->e),
			 EM_ELIMIT);
	assert_string_equal(c->e.where, "big:1");
}

static void test_many_keys(void **state)
{
	struct ctx *c = *state;
	enum { N = 100000 };
	struct em_buf b = EM_BUF_INIT;
	for (int i = 0; i < N; i++)
		em_buf_addf(&b, "key-%d = %d\n", i, i);
	em_buf_addstr(&b, "[t]\n");
	for (int i = 0; i < N; i++)
		em_buf_addf(&b, "k%d.v = %d\n", i, i); /* 100,000 dotted tables */
	for (int i = 0; i < N; i++)
		em_buf_addf(&b, "[[aot]]\nx = %d\n", i);
	assert_int_equal(b.err, 0);
	assert_int_equal(parse_n(c, b.ptr, b.len), 0);
	const struct em_toml *d = c->doc;
	assert_int_equal(d->u.tab.n, N + 2);
	for (int i = 0; i < N; i++) {
		char k[32];
		snprintf(k, sizeof k, "key-%d", i);
		const struct em_toml *v = em_toml_get(d, k);
		if (!v || v->u.i != i || v->line != (uint32_t)i + 1)
			fail_msg("key %s", k);
		assert_string_equal(d->u.tab.kv[i].key, k);
	}
	assert_null(em_toml_get(d, "key-100000"));
	const struct em_toml *t = em_toml_get(d, "t");
	assert_int_equal(t->u.tab.n, N);
	assert_int_equal(em_toml_get(em_toml_get(t, "k99999"), "v")->u.i, 99999);
	assert_int_equal(em_toml_get(d, "aot")->u.arr.n, N);
	/* a duplicate among them is still found */
	em_buf_addstr(&b, "[t]\n");
	assert_int_equal(parse_n(c, b.ptr, b.len), EM_EINVAL);
	em_buf_truncate(&b, b.len - 4);
	em_buf_addstr(&b, "x = 1\n"); /* twice in the last [[aot]] */
	assert_int_equal(parse_n(c, b.ptr, b.len), EM_EINVAL);
	assert_non_null(strstr(c->e.msg, "duplicate key 'x'"));
	em_buf_release(&b);
}

static void test_fixtures(void **state)
{
	struct ctx *c = *state;
	static const char *const files[] = { "pylock/pylock.example.toml", "pylock/pylock.uv.toml",
					      "pylock/pylock.pip.toml",
					      "pylock/pylock.torch-cu126.toml",
					      "pylock/pylock.envmatrix.toml" };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		size_t len;
		char *s = tu_read_file(tu_fixture(files[i]), &len);
		assert_non_null(s);
		if (parse_n(c, s, len))
			fail_msg("%s: %s: %s", files[i], c->e.where, c->e.msg);
		assert_non_null(em_toml_get(c->doc, "packages"));
		free(s);
	}
	/* the spec example, in detail */
	size_t len;
	char *s = tu_read_file(tu_fixture("pylock/pylock.example.toml"), &len);
	assert_int_equal(parse_n(c, s, len), 0);
	free(s);
	struct em_buf b = EM_BUF_INIT;
	dump(em_toml_get(c->doc, "tool"), &b);
	assert_string_equal(b.ptr, "{mousebender={command=[\".\",\"lock\",\"--platform\",\"cpython3.12-windows-x64\",\"--platform\",\"cpython3.12-manylinux2014-x64\",\"cattrs\",\"numpy\"],run-on=dt:2025-03-06T12:28:57.760769}}");
	em_buf_reset(&b);
	const struct em_toml *pk = em_toml_get(c->doc, "packages");
	dump(pk->u.arr.items[0], &b);
	assert_string_equal(b.ptr, "{name=\"attrs\",version=\"25.1.0\",requires-python=\">= 3.8\",wheels=[{name=\"attrs-25.1.0-py3-none-any.whl\",upload-time=dt:2025-01-25T11:30:10.164985+00:00,url=\"https://files.pythonhosted.org/packages/fc/30/d4986a882011f9df997a55e6becd864812ccfcd821d64aac8570ee39f719/attrs-25.1.0-py3-none-any.whl\",size=63152,hashes={sha256=\"c75a69e28a550a7e93789579c22aa26b0f5b83b75dc4e08fe092980051e1090a\"}}],attestation-identities=[{environment=\"release-pypi\",kind=\"GitHub\",repository=\"python-attrs/attrs\",workflow=\"pypi-package.yml\"}]}");
	em_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get, setup, teardown),
		cmocka_unit_test(test_datetime_kind),
		cmocka_unit_test_setup_teardown(test_error_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fixtures, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_metadata.c - the core-metadata (METADATA / PKG-INFO) parser */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "spec/metadata.h"

struct ctx {
	struct em_arena a;
	struct em_metadata m;
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
	return em_metadata_parse(&c->a, s, n, "t/METADATA", &c->m, &c->e);
}

#define PARSE(c, lit) parse_n((c), (lit), sizeof(lit) - 1)

/* Expect failure with code, the where field and a piece of the message. */
#define ASSERT_ERR(c, lit, want_code, want_where, msgpart)                                \
	do {                                                                               \
		assert_int_equal(PARSE((c), lit), (want_code));                             \
		assert_int_equal((c)->e.code, (want_code));                                 \
		assert_string_equal((c)->e.where, (want_where));                            \
		if (!strstr((c)->e.msg, (msgpart)))                                          \
			fail_msg("message '%s' lacks '%s'", (c)->e.msg, (msgpart));         \
	} while (0)

#define HEAD "Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n"

static void test_basic(void **state)
{
	struct ctx *c = *state;
	assert_int_equal(PARSE(c, "Metadata-Version: 2.4\n"
				  "Name: demo-pkg\n"
				  "Version: 2.8.0+cu126\n"
				  "Summary:   A demo  \n"
				  "Requires-Python: >=3.9\n"
				  "Requires-Dist: numpy>=1.26\n"
				  "Provides-Extra: test\n"
				  "Requires-Dist: pytest; extra == \"test\"\n"
				  "X-Unknown: kept\n"
				  "\n"
				  "# Demo\n\nText.\n"),
			 0);
	const struct em_metadata *m = &c->m;
	assert_string_equal(m->metadata_version, "2.4");
	assert_int_equal(m->metadata_major, 2);
	assert_int_equal(m->metadata_minor, 4);
	assert_false(m->metadata_newer);
	assert_string_equal(m->name, "demo-pkg");
	assert_string_equal(m->version, "2.8.0+cu126");
	assert_string_equal(m->summary, "A demo");
	assert_string_equal(m->requires_python, ">=3.9");
	assert_int_equal(m->nrequires_dist, 2);
	assert_string_equal(m->requires_dist[0], "numpy>=1.26");
	assert_string_equal(m->requires_dist[1], "pytest; extra == \"test\"");
	assert_int_equal(m->requires_dist_line[0], 6);
	assert_int_equal(m->requires_dist_line[1], 8);
	assert_int_equal(m->nprovides_extra, 1);
	assert_string_equal(m->provides_extra[0], "test");
	assert_int_equal(m->nfields, 9);
	assert_string_equal(m->fields[8].name, "X-Unknown");
	assert_string_equal(m->fields[8].value, "kept");
	assert_int_equal(m->fields[8].line, 9);
	assert_non_null(m->body);
	assert_string_equal(m->body, "# Demo\n\nText.\n");
	assert_int_equal(m->body_len, 14);
	assert_int_equal(m->body_line, 11);
	assert_string_equal(em_metadata_get(m, "x-UNKNOWN"), "kept");
	assert_null(em_metadata_get(m, "Author"));
}

static void test_optional_absent(void **state)
{
	struct ctx *c = *state;
	assert_int_equal(PARSE(c, HEAD), 0);
	assert_null(c->m.requires_python);
	assert_null(c->m.summary);
	assert_null(c->m.body);
	assert_int_equal(c->m.body_len, 0);
	assert_int_equal(c->m.body_line, 0);
	assert_int_equal(c->m.nrequires_dist, 0);
	assert_non_null(c->m.requires_dist);
	/* no final newline */
	assert_int_equal(PARSE(c, "Metadata-Version: 2.1\nName: a\nVersion: 1"), 0);
	assert_string_equal(c->m.version, "1");
	/* an empty line then nothing: no body */
	assert_int_equal(PARSE(c, HEAD "\n"), 0);
	assert_null(c->m.body);
	/* an empty Requires-Python is kept as "" (it matches everything) */
	assert_int_equal(PARSE(c, HEAD "Requires-Python:\n"), 0);
	assert_string_equal(c->m.requires_python, "");
	/* empty list values are skipped, as packaging does */
	assert_int_equal(PARSE(c, HEAD "Requires-Dist:\nRequires-Dist: a\nProvides-Extra:  \n"), 0);
	assert_int_equal(c->m.nrequires_dist, 1);
	assert_int_equal(c->m.requires_dist_line[0], 5);
	assert_int_equal(c->m.nprovides_extra, 0);
	assert_int_equal(c->m.nfields, 6);
}

static void test_crlf(void **state)
{
	struct ctx *c = *state;
	assert_int_equal(PARSE(c, "Metadata-Version: 2.1\r\nName: demo\r\nVersion: 1.0\r\n"
				  "License: line one\r\n"
				  "        line two\r\n"
				  "Requires-Dist: a>=1\r\n"
				  "\r\n"
				  "body\r\nmore\r\n"),
			 0);
	assert_string_equal(c->m.version, "1.0");
	assert_string_equal(em_metadata_get(&c->m, "license"), "line one\n        line two");
	assert_string_equal(c->m.requires_dist[0], "a>=1");
	assert_int_equal(c->m.requires_dist_line[0], 6);
	/* the body is kept byte for byte */
	assert_string_equal(c->m.body, "body\r\nmore\r\n");
	assert_int_equal(c->m.body_line, 8);
	/* mixed line ends */
	assert_int_equal(PARSE(c, "Metadata-Version: 2.1\nName: demo\r\nVersion: 1.0\n\r\nx"), 0);
	assert_string_equal(c->m.name, "demo");
	assert_string_equal(c->m.body, "x");
}

static void test_continuation(void **state)
{
	struct ctx *c = *state;
	assert_int_equal(PARSE(c, HEAD "License: MIT License\n"
				       "        \n"
				       "        Copyright (c) 2024\n"
				       "\tPermission is granted   \n"
				       "Summary: s\n"
				       "Description:\n"
				       "        |Hello\n"
				       "        |World\n"),
			 0);
	assert_string_equal(em_metadata_get(&c->m, "License"),
			    "MIT License\n        \n        Copyright (c) 2024\n\tPermission is granted");
	assert_int_equal(c->m.fields[3].line, 4);
	assert_string_equal(c->m.fields[4].name, "Summary");
	assert_int_equal(c->m.fields[4].line, 8);
	/* an empty first line: the value starts on the continuation line */
	assert_string_equal(em_metadata_get(&c->m, "description"),
			    "|Hello\n        |World");
	/* a folded key field */
	assert_int_equal(PARSE(c, "Metadata-Version: 2.1\nName:\n  demo\nVersion: 1.0\n"), 0);
	assert_string_equal(c->m.name, "demo");
	/* a line of blanks is a continuation, not the end of the headers */
	assert_int_equal(PARSE(c, HEAD "Summary: a\n   \nRequires-Dist: b\n"), 0);
	assert_string_equal(c->m.summary, "a");
	assert_int_equal(c->m.nrequires_dist, 1);
	assert_null(c->m.body);
}

static void test_body(void **state)
{
	struct ctx *c = *state;
	/* headers end at the first empty line: later "fields" are description */
	assert_int_equal(PARSE(c, HEAD "Requires-Dist: a\n\nRequires-Dist: b\nName: other\n\nx\n"), 0);
	assert_int_equal(c->m.nrequires_dist, 1);
	assert_string_equal(c->m.name, "demo");
	assert_string_equal(c->m.body, "Requires-Dist: b\nName: other\n\nx\n");
	/* Description in a header and a body are both kept */
	assert_int_equal(PARSE(c, HEAD "Description: in header\n\nin body"), 0);
	assert_string_equal(em_metadata_get(&c->m, "Description"), "in header");
	assert_string_equal(c->m.body, "in body");
	/* no headers at all: the first line is empty */
	ASSERT_ERR(c, "\nMetadata-Version: 2.1\n", EM_EINVAL, "t/METADATA",
		   "missing required field 'Metadata-Version'");
}

static void test_multiple_use(void **state)
{
	struct ctx *c = *state;
	assert_int_equal(PARSE(c, HEAD "Classifier: A\n"
				       "Requires-Dist: r1\n"
				       "Project-URL: Home, https://h\n"
				       "Dynamic: license-file\n"
				       "Classifier: B\n"
				       "License-File: LICENSE\n"
				       "Provides-Extra: e1\n"
				       "Requires-Dist: r2; extra == 'e1'\n"
				       "Project-URL: Docs, https://d\n"
				       "Dynamic: classifier\n"
				       "License-File: NOTICE\n"
				       "Provides-Extra: e2\n"
				       "Requires-Dist: r3\n"
				       "Import-Name: demo\n"
				       "Import-Name: demo.sub\n"),
			 0);
	const struct em_metadata *m = &c->m;
	assert_int_equal(m->nrequires_dist, 3);
	assert_string_equal(m->requires_dist[0], "r1");
	assert_string_equal(m->requires_dist[1], "r2; extra == 'e1'");
	assert_string_equal(m->requires_dist[2], "r3");
	assert_int_equal(m->requires_dist_line[0], 5);
	assert_int_equal(m->requires_dist_line[1], 11);
	assert_int_equal(m->requires_dist_line[2], 16);
	assert_int_equal(m->nprovides_extra, 2);
	assert_string_equal(m->provides_extra[0], "e1");
	assert_string_equal(m->provides_extra[1], "e2");
	assert_int_equal(m->ndynamic, 2);
	assert_string_equal(m->dynamic[0], "license-file");
	assert_string_equal(m->dynamic[1], "classifier");
	/* every field in order in fields[] */
	static const char *const want[][2] = {
		{ "Classifier", "A" },           { "Requires-Dist", "r1" },
		{ "Project-URL", "Home, https://h" }, { "Dynamic", "license-file" },
		{ "Classifier", "B" },           { "License-File", "LICENSE" },
		{ "Provides-Extra", "e1" },      { "Requires-Dist", "r2; extra == 'e1'" },
		{ "Project-URL", "Docs, https://d" }, { "Dynamic", "classifier" },
		{ "License-File", "NOTICE" },    { "Provides-Extra", "e2" },
		{ "Requires-Dist", "r3" },       { "Import-Name", "demo" },
		{ "Import-Name", "demo.sub" },
	};
	assert_int_equal(m->nfields, 3 + sizeof want / sizeof want[0]);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		assert_string_equal(m->fields[3 + i].name, want[i][0]);
		assert_string_equal(m->fields[3 + i].value, want[i][1]);
		assert_int_equal(m->fields[3 + i].line, 4 + i);
	}
	assert_string_equal(em_metadata_get(m, "classifier"), "A");
}

static void test_required(void **state)
{
	struct ctx *c = *state;
	ASSERT_ERR(c, "Name: a\nVersion: 1\n", EM_EINVAL, "t/METADATA",
		   "missing required field 'Metadata-Version'");
	ASSERT_ERR(c, "Metadata-Version: 2.1\nVersion: 1\n", EM_EINVAL, "t/METADATA",
		   "missing required field 'Name'");
	ASSERT_ERR(c, "Metadata-Version: 2.1\nName: a\n\nVersion: 1\n", EM_EINVAL, "t/METADATA",
		   "missing required field 'Version'");
	ASSERT_ERR(c, "", EM_EINVAL, "t/METADATA", "missing required field 'Metadata-Version'");
	ASSERT_ERR(c, "Metadata-Version: 2.1\nName:\nVersion: 1\n", EM_EINVAL, "t/METADATA:2",
		   "empty field 'Name'");
	ASSERT_ERR(c, "Metadata-Version: 2.1\nName: a\nVersion:   \n", EM_EINVAL, "t/METADATA:3",
		   "empty field 'Version'");
	ASSERT_ERR(c, "Metadata-Version:\nName: a\nVersion: 1\n", EM_EINVAL, "t/METADATA:1",
		   "empty field 'Metadata-Version'");
	ASSERT_ERR(c, "Metadata-Version: 2.1\nName: not valid!\nVersion: 1\n", EM_EINVAL,
		   "t/METADATA:2", "invalid project name 'not valid!'");
	ASSERT_ERR(c, "Metadata-Version: 2.1\nName: -a\nVersion: 1\n", EM_EINVAL, "t/METADATA:2",
		   "invalid project name '-a'");
	/* the output is cleared on failure */
	assert_null(c->m.name);
	assert_int_equal(c->m.nfields, 0);
	/* where defaults to METADATA */
	em_error_clear(&c->e);
	assert_int_equal(em_metadata_parse(&c->a, "Name: a\n", 8, NULL, &c->m, &c->e), EM_EINVAL);
	assert_string_equal(c->e.where, "METADATA");
}

static void test_duplicates(void **state)
{
	struct ctx *c = *state;
	ASSERT_ERR(c, HEAD "Name: other\n", EM_EINVAL, "t/METADATA:4",
		   "duplicate field 'Name' (first on line 2)");
	ASSERT_ERR(c, HEAD "version: 2.0\n", EM_EINVAL, "t/METADATA:4",
		   "duplicate field 'Version' (first on line 3)");
	ASSERT_ERR(c, HEAD "Metadata-Version: 2.4\n", EM_EINVAL, "t/METADATA:4",
		   "duplicate field 'Metadata-Version' (first on line 1)");
	ASSERT_ERR(c, HEAD "Requires-Python: >=3.8\nRequires-Python: >=3.9\n", EM_EINVAL,
		   "t/METADATA:5", "duplicate field 'Requires-Python' (first on line 4)");
	/* other single-use fields: the first is kept, all are in fields[] */
	assert_int_equal(PARSE(c, HEAD "Summary: one\nSummary: two\nLicense: A\nLicense: B\n"), 0);
	assert_string_equal(c->m.summary, "one");
	assert_string_equal(em_metadata_get(&c->m, "License"), "A");
	assert_int_equal(c->m.nfields, 7);
}

static void test_metadata_version(void **state)
{
	struct ctx *c = *state;
	static const char *const ok[] = { "1.0", "1.1", "1.2", "2.0", "2.1",
					  "2.2", "2.3", "2.4", "2.5" };
	char buf[128];
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int n = snprintf(buf, sizeof buf, "Metadata-Version: %s\nName: a\nVersion: 1\n", ok[i]);
		assert_int_equal(parse_n(c, buf, (size_t)n), 0);
		assert_string_equal(c->m.metadata_version, ok[i]);
		assert_false(c->m.metadata_newer);
	}
	/* a newer minor version is accepted and flagged */
	assert_int_equal(PARSE(c, "Metadata-Version: 2.6\nName: a\nVersion: 1\n"), 0);
	assert_true(c->m.metadata_newer);
	assert_int_equal(c->m.metadata_minor, 6);
	assert_int_equal(PARSE(c, "Metadata-Version:  2.17 \nName: a\nVersion: 1\n"), 0);
	assert_string_equal(c->m.metadata_version, "2.17");
	assert_true(c->m.metadata_newer);
	/* a newer major version must fail */
	ASSERT_ERR(c, "Metadata-Version: 3.0\nName: a\nVersion: 1\n", EM_EUNSUPPORTED,
		   "t/METADATA:1", "unsupported metadata version '3.0'");
	/* ... even before a line it could not read */
	ASSERT_ERR(c, "Metadata-Version: 10.1\nnot a header\n", EM_EUNSUPPORTED, "t/METADATA:1",
		   "unsupported metadata version '10.1'");
	static const char *const bad[] = { "abc", "2", "2.", ".5", "2.1.0", "0.9", "v2.1",
					   "2.-1", "2 .1", "99999999999999999999.1" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int n = snprintf(buf, sizeof buf, "Name: a\nMetadata-Version: %s\nVersion: 1\n",
				 bad[i]);
		assert_int_equal(parse_n(c, buf, (size_t)n), EM_EINVAL);
		assert_string_equal(c->e.where, "t/METADATA:2");
		if (!strstr(c->e.msg, "invalid metadata version"))
			fail_msg("'%s': %s", bad[i], c->e.msg);
	}
}

static void test_case_insensitive(void **state)
{
	struct ctx *c = *state;
	assert_int_equal(PARSE(c, "METADATA-VERSION: 2.1\nname: a\nvErSiOn: 1\n"
				  "requires-dist: x\nREQUIRES-DIST: y\nProvides-EXTRA: e\n"
				  "REQUIRES-PYTHON: >=3\nsummary: s\ndynamic: keywords\n"),
			 0);
	assert_string_equal(c->m.name, "a");
	assert_string_equal(c->m.version, "1");
	assert_int_equal(c->m.nrequires_dist, 2);
	assert_string_equal(c->m.requires_dist[1], "y");
	assert_int_equal(c->m.nprovides_extra, 1);
	assert_string_equal(c->m.requires_python, ">=3");
	assert_string_equal(c->m.summary, "s");
	assert_int_equal(c->m.ndynamic, 1);
	/* names are kept as written */
	assert_string_equal(c->m.fields[3].name, "requires-dist");
	/* a name differing in more than case is another field */
	assert_int_equal(PARSE(c, HEAD "Requires_Dist: z\nRequiresDist: z\n"), 0);
	assert_int_equal(c->m.nrequires_dist, 0);
	assert_int_equal(c->m.nfields, 5);
}

static void test_encoding(void **state)
{
	struct ctx *c = *state;
	/* Latin-1 in a free-text field is kept as bytes */
	assert_int_equal(PARSE(c, HEAD "Author: Jos\xe9 M\xfcller\nSummary: caf\xc3\xa9\n\n\xff\xfe"),
			 0);
	assert_string_equal(em_metadata_get(&c->m, "Author"), "Jos\xe9 M\xfcller");
	assert_string_equal(c->m.summary, "caf\xc3\xa9");
	assert_int_equal(c->m.body_len, 2);
	assert_memory_equal(c->m.body, "\xff\xfe", 2);
	/* not in the fields a resolver reads */
	ASSERT_ERR(c, "Metadata-Version: 2.1\nName: caf\xe9\nVersion: 1\n", EM_EINVAL,
		   "t/METADATA:2", "field 'Name' is not valid UTF-8");
	ASSERT_ERR(c, HEAD "Requires-Dist: a\nRequires-Dist: b ; python_version > '3\xff'\n",
		   EM_EINVAL, "t/METADATA:5", "field 'Requires-Dist' is not valid UTF-8");
	ASSERT_ERR(c, HEAD "Provides-Extra: \xc3\x28\n", EM_EINVAL, "t/METADATA:4",
		   "field 'Provides-Extra' is not valid UTF-8");
	ASSERT_ERR(c, HEAD "Requires-Python: >=3.\xed\xa0\x80\n", EM_EINVAL, "t/METADATA:4",
		   "field 'Requires-Python' is not valid UTF-8");
	/* UTF-8 in a requirement is fine here (the PEP 508 parser judges it) */
	assert_int_equal(PARSE(c, HEAD "Requires-Dist: pkg @ https://h/\xc3\xa9.whl\n"), 0);
	/* a BOM makes the first field name invalid */
	ASSERT_ERR(c, "\xef\xbb\xbfMetadata-Version: 2.1\n", EM_EINVAL, "t/METADATA:1",
		   "invalid field name");
}

static void test_nul(void **state)
{
	struct ctx *c = *state;
	ASSERT_ERR(c, HEAD "Summary: a\0b\n", EM_EINVAL, "t/METADATA:4", "NUL byte");
	ASSERT_ERR(c, "Metadata-Version: 2.1\nNa\0me: a\n", EM_EINVAL, "t/METADATA:2", "NUL byte");
	ASSERT_ERR(c, HEAD "License: a\n  b\0\n", EM_EINVAL, "t/METADATA:5", "NUL byte");
	ASSERT_ERR(c, "\0", EM_EINVAL, "t/METADATA:1", "NUL byte");
	/* NUL bytes in the body are data */
	assert_int_equal(PARSE(c, HEAD "\nab\0cd\0"), 0);
	assert_int_equal(c->m.body_len, 6);
	assert_memory_equal(c->m.body, "ab\0cd\0", 7);
}

static void test_bad_lines(void **state)
{
	struct ctx *c = *state;
	ASSERT_ERR(c, HEAD "no colon here\nRequires-Dist: x\n", EM_EINVAL, "t/METADATA:4",
		   "expected 'Field: value', found 'no colon here'");
	ASSERT_ERR(c, HEAD "Requires Dist: x\n", EM_EINVAL, "t/METADATA:4",
		   "invalid field name 'Requires Dist'");
	ASSERT_ERR(c, HEAD "Name : x\n", EM_EINVAL, "t/METADATA:4", "invalid field name 'Name '");
	ASSERT_ERR(c, HEAD ": x\n", EM_EINVAL, "t/METADATA:4", "empty field name");
	ASSERT_ERR(c, " Metadata-Version: 2.1\n", EM_EINVAL, "t/METADATA:1",
		   "continuation line before the first field");
	ASSERT_ERR(c, HEAD "x\x1b[31m: y\n", EM_EINVAL, "t/METADATA:4",
		   "invalid field name 'x\\x1b[31m'");
	/* a stray CR is not a line end */
	ASSERT_ERR(c, HEAD "\r\r\n", EM_EINVAL, "t/METADATA:4", "found '\\x0d'");
	/* the bad line comes after a valid field: that field is checked first */
	ASSERT_ERR(c, "Metadata-Version: 2.1\nName: bad name\nbroken\n", EM_EINVAL, "t/METADATA:2",
		   "invalid project name");
	/* a long bad line is cut in the message */
	char *big = malloc(5000);
	assert_non_null(big);
	memcpy(big, HEAD, sizeof HEAD - 1);
	memset(big + sizeof HEAD - 1, 'x', 5000 - (sizeof HEAD - 1));
	assert_int_equal(parse_n(c, big, 5000), EM_EINVAL);
	assert_string_equal(c->e.where, "t/METADATA:4");
	assert_true(strlen(c->e.msg) < 200);
	assert_non_null(strstr(c->e.msg, "..."));
	free(big);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_long_line(void **state)
{
	struct ctx *c = *state;
	size_t n = (size_t)10 << 20;
	size_t head = sizeof HEAD - 1;
	char *s = malloc(head + 9 + n + 1);
	assert_non_null(s);
	memcpy(s, HEAD "Summary: ", head + 9);
	memset(s + head + 9, 'a', n);
	s[head + 9 + n] = '\n';
	double t0 = now();
	assert_int_equal(parse_n(c, s, head + 9 + n + 1), 0);
	double dt = now() - t0;
	assert_int_equal(strlen(c->m.summary), n);
	/* and as a requirement line, without the final newline */
	memcpy(s + head, "Requires-Dist:", 14);
	assert_int_equal(parse_n(c, s, head + 9 + n), 0);
	assert_int_equal(c->m.nrequires_dist, 1);
	/* "Requires-Dist:" took the place of "Summary: " and five bytes of value */
	assert_int_equal(strlen(c->m.requires_dist[0]), n - 5);
	free(s);
	if (dt > 2.0)
		fail_msg("10 MB line took %.2f s", dt);
}

static void test_many_continuations(void **state)
{
	struct ctx *c = *state;
	const unsigned lines = 100000;
	struct em_buf b;
	em_buf_init(&b, 0);
	em_buf_addstr(&b, HEAD "License: start\n");
	for (unsigned i = 0; i < lines; i++)
		em_buf_addstr(&b, i % 2 ? "  continued line\r\n" : "\tcontinued line\n");
	em_buf_addstr(&b, "Requires-Dist: after\n");
	assert_int_equal(b.err, 0);
	double t0 = now();
	assert_int_equal(parse_n(c, b.ptr, b.len), 0);
	double dt = now() - t0;
	const char *lic = em_metadata_get(&c->m, "License");
	assert_non_null(lic);
	/* "start" + per line "\n" + indent + "continued line" */
	assert_int_equal(strlen(lic), 5 + lines / 2 * (1 + 1 + 14) + lines / 2 * (1 + 2 + 14));
	assert_int_equal(c->m.nrequires_dist, 1);
	assert_int_equal(c->m.requires_dist_line[0], 5 + lines);
	em_buf_release(&b);
	if (dt > 2.0)
		fail_msg("100,000 continuation lines took %.2f s", dt);
}

static void test_limits(void **state)
{
	struct ctx *c = *state;
	/* over the size limit: refused before anything is read */
	size_t big = (size_t)EM_METADATA_MAX_LEN + 1;
	char *s = calloc(big, 1);
	assert_non_null(s);
	assert_int_equal(parse_n(c, s, big), EM_ELIMIT);
	assert_string_equal(c->e.where, "t/METADATA");
	assert_non_null(strstr(c->e.msg, "larger than 64 MiB"));
	free(s);
	/* too many fields */
	struct em_buf b;
	em_buf_init(&b, 0);
	em_buf_addstr(&b, HEAD);
	for (unsigned i = 3; i < EM_METADATA_MAX_FIELDS; i++)
		em_buf_add(&b, "X: y\n", 5);
	assert_int_equal(b.err, 0);
	/* exactly the limit is fine */
	assert_int_equal(parse_n(c, b.ptr, b.len), 0);
	assert_int_equal(c->m.nfields, EM_METADATA_MAX_FIELDS);
	em_buf_add(&b, "X: y\n", 5);
	assert_int_equal(parse_n(c, b.ptr, b.len), EM_ELIMIT);
	assert_string_equal(c->e.where, "t/METADATA:262145");
	assert_non_null(strstr(c->e.msg, "more than"));
	em_buf_release(&b);
	/* a NULL buffer with a length is a usage error */
	em_error_clear(&c->e);
	assert_int_equal(em_metadata_parse(&c->a, NULL, 3, "x", &c->m, &c->e), EM_EUSAGE);
	/* an empty buffer may be NULL */
	assert_int_equal(em_metadata_parse(&c->a, NULL, 0, "x", &c->m, &c->e), EM_EINVAL);
}

static void test_parse_fields(void **state)
{
	struct ctx *c = *state;
	static const char wheel[] = "Wheel-Version: 1.0\nGenerator: bdist_wheel (0.45.1)\n"
				    "Root-Is-Purelib: false\nTag: cp312-cp312-manylinux_2_28_x86_64\n"
				    "Tag: cp312-cp312-linux_x86_64\n";
	em_error_clear(&c->e);
	assert_int_equal(em_metadata_parse_fields(&c->a, wheel, sizeof wheel - 1, "WHEEL", &c->m,
						  &c->e),
			 0);
	assert_int_equal(c->m.nfields, 5);
	assert_null(c->m.name);
	assert_null(c->m.metadata_version);
	assert_string_equal(em_metadata_get(&c->m, "wheel-version"), "1.0");
	assert_string_equal(em_metadata_get(&c->m, "TAG"), "cp312-cp312-manylinux_2_28_x86_64");
	assert_string_equal(c->m.fields[4].value, "cp312-cp312-linux_x86_64");
	/* the line rules are the same */
	assert_int_equal(em_metadata_parse_fields(&c->a, "Tag x\n", 6, "WHEEL", &c->m, &c->e),
			 EM_EINVAL);
	assert_string_equal(c->e.where, "WHEEL:1");
	/* and nothing is required, not even a non-empty name */
	assert_int_equal(em_metadata_parse_fields(&c->a, "Name:\nName:\n", 12, "W", &c->m, &c->e),
			 0);
	assert_int_equal(c->m.nfields, 2);
}

/* Every real METADATA file parses; a CRLF copy gives the same result. */
static void test_fixture_corpus(void **state)
{
	(void)state;
	const char *dirpath = tu_fixture("cu130-stack");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", dirpath);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct tu_report r;
	tu_report_init(&r, "cu130-stack", 20);
	unsigned files = 0, nreq = 0, nfields = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t dl = strlen(de->d_name);
		if (dl < 10 || strcmp(de->d_name + dl - 10, ".dist-info"))
			continue;
		char path[8192];
		snprintf(path, sizeof path, "%s/%s/METADATA", dir, de->d_name);
		size_t len;
		char *data = tu_read_file(path, &len);
		if (!data) {
			tu_report_fail(&r, "cannot read %s", path);
			continue;
		}
		files++;
		r.total++;
		struct em_arena a;
		em_arena_init(&a);
		struct em_metadata m, m2;
		struct em_error e = { 0 };
		if (em_metadata_parse(&a, data, len, de->d_name, &m, &e)) {
			tu_report_fail(&r, "%s: %s", e.where, e.msg);
			goto next;
		}
		nreq += m.nrequires_dist;
		nfields += m.nfields;
		/* the same file with CRLF line ends */
		struct em_buf b;
		em_buf_init(&b, 0);
		size_t hdr_end = m.body ? len - m.body_len : len;
		for (size_t i = 0; i < hdr_end; i++) {
			if (data[i] == '\n')
				em_buf_addc(&b, '\r');
			em_buf_addc(&b, data[i]);
		}
		em_buf_add(&b, data + hdr_end, len - hdr_end);
		if (em_metadata_parse(&a, b.ptr, b.len, de->d_name, &m2, &e)) {
			tu_report_fail(&r, "%s (CRLF): %s", e.where, e.msg);
		} else if (m2.nfields != m.nfields || m2.body_len != m.body_len ||
			   (m.body && memcmp(m.body, m2.body, m.body_len))) {
			tu_report_fail(&r, "%s: CRLF copy differs", de->d_name);
		} else {
			for (uint32_t i = 0; i < m.nfields; i++)
				if (strcmp(m.fields[i].name, m2.fields[i].name) ||
				    strcmp(m.fields[i].value, m2.fields[i].value) ||
				    m.fields[i].line != m2.fields[i].line) {
					tu_report_fail(&r, "%s:%u: CRLF copy differs", de->d_name,
						       m.fields[i].line);
					break;
				}
		}
		em_buf_release(&b);
	next:
		em_arena_release(&a);
		free(data);
	}
	closedir(d);
	tu_report_done(&r);
	print_message("%u files, %u fields, %u Requires-Dist\n", files, nfields, nreq);
	assert_int_equal(files, 197);
	assert_int_equal(nreq, 2812);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_optional_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crlf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_continuation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiple_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_required, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_case_insensitive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encoding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_continuations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_fields, setup, teardown),
		cmocka_unit_test(test_fixture_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

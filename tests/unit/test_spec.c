/* test_spec.c - the index spec parser (tests/tools/spec.h), and the trees
 * mkindex builds from the example specs in tests/indexes read back with the library:
 * every page with index.h, every file's hash, every sidecar, every wheel's
 * METADATA with archive.h and metadata.h.
 */
#include "testutil.h"

#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "util/buf.h"
#include "spec/index.h"
#include "spec/metadata.h"
#include "spec/name.h"
#include "spec/pep440.h"
#include "util/sha256.h"
#include "os/fs.h" /* em_sha256_file */
#include "spec/tags.h"
#include "spec.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *argv0;

static int parse(struct em_arena *a, const char *text, struct spec *s, struct em_error *e)
{
	em_error_clear(e);
	return spec_parse(a, "t.spec", text, strlen(text), s, e);
}

/* ---- lines and blocks ---- */

static void test_lines(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct spec s;
	struct em_error e;
	const char *text =
		"# a comment\n"
		"\n"
		"target linux-x86_64 3.11.9   # trailing comment\n"
		"request\r\n"
		"  numpy==1.26.4 ; python_version < \"3.13\"  # why\n"
		"  pkg @ https://x/pkg.whl#sha256=00  \n"
		"expect-error\n"
		"  first line\n"
		"    indented # kept in text\n"
		"\n"
		"  # a comment line inside\n"
		"  last \"with # inside quotes\"\n"
		"prefer numpy==1.26.4\n"
		"prefer torch\n";
	assert_int_equal(parse(&a, text, &s, &e), 0);
	assert_int_equal(s.nindexes, 0);
	const struct spec_node *n = s.nodes;
	assert_string_equal(n->word, "target");
	assert_string_equal(n->args, "linux-x86_64 3.11.9");
	assert_string_equal(n->text, "target linux-x86_64 3.11.9   # trailing comment");
	assert_int_equal(n->line, 3);
	assert_null(n->child);

	const struct spec_node *rq = spec_find(&s, "request");
	assert_non_null(rq);
	assert_int_equal(rq->line, 4);
	assert_string_equal(rq->args, "");
	const struct spec_node *c = rq->child;
	assert_string_equal(c->word, "numpy==1.26.4");
	assert_string_equal(c->args, "; python_version < \"3.13\"");
	assert_int_equal(c->indent, 2);
	assert_ptr_equal(c->parent, rq);
	c = c->next;
	assert_string_equal(c->text, "pkg @ https://x/pkg.whl#sha256=00");
	assert_null(c->next);

	const struct spec_node *ee = spec_find(&s, "expect-error");
	struct em_buf b = EM_BUF_INIT;
	assert_int_equal(spec_block_text(ee, &b), 0);
	assert_string_equal(b.ptr, "first line\n  indented # kept in text\nlast \"with # inside "
				   "quotes\"\n");
	assert_string_equal(ee->child->child->args, "");
	assert_string_equal(ee->child->next->args, "\"with # inside quotes\"");
	em_buf_release(&b);

	const struct spec_node *p = spec_find(&s, "prefer");
	assert_string_equal(p->args, "numpy==1.26.4");
	p = spec_find_next(p, "prefer");
	assert_string_equal(p->args, "torch");
	assert_null(spec_find_next(p, "prefer"));
	assert_null(spec_find(&s, "nothing"));

	/* words: quotes and escapes */
	const char *wt = "w plain \"two words\" \"esc \\\"q\\\" \\\\ \\n\\t\\x41\\x00z\" k=v \"\"\n";
	assert_int_equal(parse(&a, wt, &s, &e), 0);
	char **w;
	size_t *wl, nw;
	assert_int_equal(spec_words(&a, s.nodes, "t.spec", &w, &wl, &nw, &e), 0);
	assert_int_equal(nw, 5);
	assert_string_equal(w[0], "plain");
	assert_string_equal(w[1], "two words");
	assert_int_equal(wl[2], 15);
	assert_memory_equal(w[2], "esc \"q\" \\ \n\tA\0z", 15);
	assert_string_equal(w[3], "k=v");
	assert_string_equal(w[4], "");
	em_arena_release(&a);
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *where;
		const char *msg;
	} cases[] = {
		{ "  indented\n", "t.spec:1", "the first line is indented" },
		{ "a\n\tb\n", "t.spec:2", "a tab in the indentation" },
		{ "a\n    b\n  c\n", "t.spec:3", "the indentation matches no enclosing block" },
		{ "a \"open\n", NULL, NULL }, /* quotes matter only to words */
		{ "index\n", "t.spec:1", "index needs a NAME" },
		{ "index x format=xml\n", "t.spec:1", "format must be html, json or both, not 'xml'" },
		{ "index x hashes=maybe\n", "t.spec:1", "hashes must be yes or no" },
		{ "index x colour=red\n", "t.spec:1", "unknown index option 'colour'" },
		{ "index ../x\n", "t.spec:1", "unsafe member name '../x'" },
		{ "index /abs\n", "t.spec:1", "absolute" },
		{ "index x\nindex x\n", "t.spec:2", "index 'x' is declared twice" },
		{ "findlinks w format=html\n", "t.spec:1", "unknown findlinks option" },
		{ "index x\n  pakage y\n", "t.spec:2", "unknown directive 'pakage' in an index" },
		{ "index x\n  package -bad-\n", "t.spec:2", "invalid package name '-bad-'" },
		{ "index x\n  package y\n", "t.spec:2", "package 'y' has no version" },
		{ "index x\n  package y\n    version 1.0\n", "t.spec:3",
		  "version '1.0' has no wheel and no sdist" },
		{ "index x\n  package y\n    version one\n", "t.spec:3", "invalid version" },
		{ "index x\n  package y\n    version 1.0\n      sdist\n    version 1.0.0\n      sdist\n",
		  "t.spec:5", "version '1.0' is listed twice" },
		{ "index x\n  package y\n    version 1\n      wheel py3-none\n", "t.spec:4",
		  "a wheel tag is PY-ABI-PLATFORM" },
		{ "index x\n  package y\n    version 1\n      wheel py3-none-any colour=red\n",
		  "t.spec:4", "unknown wheel option 'colour'" },
		{ "index x\n  package y\n    version 1\n      wheel py3-none-any build=x1\n",
		  "t.spec:4", "a build tag starts with a digit" },
		{ "index x\n  package y\n    version 1\n      wheel py3-none-any\n"
		  "      wheel py3-none-any\n",
		  "t.spec:5", "wheel 'y-1-py3-none-any.whl' is listed twice" },
		{ "index x\n  package y\n    version 1\n      requires numpy>=\n      sdist\n",
		  "t.spec:4", NULL },
		{ "index x\n  package y\n    version 1\n      requires-python >>3\n      sdist\n",
		  "t.spec:4", NULL },
		{ "index x\n  package y\n    version 1\n      requires-python >=3\n"
		  "      requires-python >=3.9\n      sdist\n",
		  "t.spec:5", "requires-python is given twice" },
		{ "index x\n  package y\n    version 1\n      provides-extra -x\n", "t.spec:4",
		  "invalid extra name '-x'" },
		{ "index x\n  package y\n    version 1\n      field NoColon\n", "t.spec:4",
		  "field needs 'NAME: VALUE'" },
		{ "index x\n  package y\n    version 1\n      yanked \"a\" \"b\"\n", "t.spec:4",
		  "yanked takes one" },
		{ "index x\n  package y\n    version 1\n      entry-point console_scripts x\n",
		  "t.spec:4", "entry-point needs 'GROUP NAME = OBJECT'" },
		{ "index x\n  package y\n    version 1\n      data bin/x \"y\"\n", "t.spec:4",
		  "data needs KEY/PATH" },
		{ "index x\n  package y\n    version 1\n      file ../x \"y\"\n", "t.spec:4",
		  "unsafe member name" },
		{ "index x\n  package y\n    version 1\n      file a/ \"y\"\n", "t.spec:4",
		  "'a/' names a folder" },
		{ "index x\n  package y\n    version 1\n      file a\n", "t.spec:4",
		  "file needs PATH and CONTENT" },
		{ "index x\n  package y\n    version 1\n      file a \"open\n", "t.spec:4",
		  "a quoted word is not closed" },
		{ "index x\n  package y\n    version 1\n      file a \"\\q\"\n", "t.spec:4",
		  "unknown escape '\\q'" },
		{ "index x\n  package y\n    version 1\n      sdist now\n", "t.spec:4",
		  "sdist takes only sidecar=yes|no" },
		{ "index x\n  package y\n    version 1\n      sdist\n        x\n", "t.spec:5",
		  "unknown directive 'x' in an sdist (file, file-from)" },
		{ "index x\n  package y\n    version 1\n      sdist\n        file-from a no-such-file\n",
		  "t.spec:5", "no-such-file" },
		{ "index x\n  package y\n    version 1\n      sdist\n        file ../a \"\"\n",
		  "t.spec:5", "'../a'" },
		{ "index x\n  package y\n    version 1\n      sdist\n      sdist\n", "t.spec:5",
		  "sdist is given twice" },
		{ "index x\n  package y\n    version 1\n      wheel py3-none-any\n        sdist\n",
		  "t.spec:5", "unknown directive 'sdist' in a wheel" },
		{ "index x\n  package y\n    version 1\n      colour red\n", "t.spec:4",
		  "unknown directive 'colour' in a version" },
		{ "index x\n  use nothing\n", "t.spec:2", "no define 'nothing'" },
		{ "define loop\n  use loop\nindex x\n  use loop\n", "t.spec:2", "uses nest more than" },
		{ "define a\ndefine a\n", "t.spec:2", "define 'a' is given twice" },
		{ "define\n", "t.spec:1", "define needs one NAME" },
		{ "index x\n  mirror y z\n", "t.spec:2", "no index 'y' before this line" },
		{ "index y\n  package z\n    version 1\n      sdist\nindex x\n  mirror y q\n",
		  "t.spec:6", "index 'y' has no package 'q'" },
		{ "index y\n  package z\n    version 1\n      sdist\nindex x\n  mirror y z Z\n",
		  "t.spec:6", "package 'z' is listed twice in index 'x'" },
		{ "package y\n", "t.spec:1", "'package' belongs inside an index" },
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct em_arena a;
		em_arena_init(&a);
		struct spec s;
		struct em_error e;
		int rc = parse(&a, cases[i].text, &s, &e);
		if (!cases[i].where) {
			if (rc)
				fail_msg("case %zu: %s: %s", i, e.where, e.msg);
		} else if (rc == 0) {
			fail_msg("case %zu parsed", i);
		} else if (strcmp(e.where, cases[i].where) ||
			   (cases[i].msg && !strstr(e.msg, cases[i].msg))) {
			fail_msg("case %zu: got '%s: %s', want '%s: %s'", i, e.where, e.msg,
				 cases[i].where, cases[i].msg);
		}
		em_arena_release(&a);
	}
}

/* ---- the typed structure ---- */

static void test_typed(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct spec s;
	struct em_error e;
	const char *text =
		"define linux\n"
		"  requires nvidia-x==1 ; platform_system == \"Linux\"\n"
		"define two-wheels\n"
		"  wheel cp311-cp311-win_amd64\n"
		"  wheel cp311-cp311-manylinux_2_28_x86_64\n"
		"    use linux\n"
		"index pypi format=both hashes=no sidecars=no requires-python=no\n"
		"  package Typing.Extensions\n"
		"    wheel py3-none-any\n"
		"    version 4.12.2\n"
		"    version 4.14.0rc1\n"
		"      yanked\n"
		"      upload-time 2025-06-01T00:00:00Z\n"
		"    version 4.0\n"
		"      sdist\n"
		"  package torch\n"
		"    version 2.8.0+CU126\n"
		"      requires-python >=3.9\n"
		"      requires filelock\n"
		"      provides-extra opt-einsum\n"
		"      field License: BSD-3-Clause\n"
		"      entry-point console_scripts torchrun = torch.distributed.run:main\n"
		"      file torch/version.py \"x = 1\\n\"\n"
		"      data scripts/run \"#!python\\n\"\n"
		"      metadata-file ../fixtures/METADATA\n"
		"      yanked \"bad build\"\n"
		"      use two-wheels\n"
		"      wheel py3-none-any sidecar=yes hash=wrong build=1_x\n"
		"        requires extra-only\n"
		"index torch/cu126 absolute-urls=yes\n"
		"  mirror pypi torch typing_extensions\n"
		"findlinks wheels\n"
		"  mirror pypi torch\n"
		"target linux-x86_64 3.12\n";
	assert_int_equal(parse(&a, text, &s, &e), 0);
	assert_string_equal(s.path, "t.spec");
	assert_string_equal(s.dir, ".");
	assert_int_equal(s.nindexes, 3);

	const struct spec_index *ix = &s.indexes[0];
	assert_string_equal(ix->name, "pypi");
	assert_int_equal(ix->line, 7);
	assert_false(ix->findlinks);
	assert_int_equal(ix->format, SPEC_BOTH);
	assert_false(ix->hashes);
	assert_false(ix->sidecars);
	assert_false(ix->requires_python);
	assert_false(ix->absolute_urls);
	assert_int_equal(ix->npackages, 2);

	const struct spec_package *te = ix->packages[0];
	assert_string_equal(te->name, "Typing.Extensions");
	assert_string_equal(te->canonical, "typing-extensions");
	assert_string_equal(te->file_name, "typing_extensions");
	assert_int_equal(te->nversions, 3);
	assert_int_equal(te->versions[0].nwheels, 1); /* the package's default */
	assert_string_equal(te->versions[0].wheels[0].filename,
			    "typing_extensions-4.12.2-py3-none-any.whl");
	assert_string_equal(te->versions[0].upload_time, SPEC_DEFAULT_UPLOAD_TIME);
	assert_true(te->versions[1].yanked);
	assert_string_equal(te->versions[1].yank_reason, "");
	assert_string_equal(te->versions[1].normalized, "4.14.0rc1");
	assert_string_equal(te->versions[1].upload_time, "2025-06-01T00:00:00Z");
	assert_int_equal(te->versions[2].nwheels, 0); /* an sdist: no defaults */
	assert_true(te->versions[2].sdist);
	assert_string_equal(te->versions[2].sdist_filename, "typing_extensions-4.0.tar.gz");

	const struct spec_package *t = ix->packages[1];
	const struct spec_version *v = &t->versions[0];
	assert_string_equal(v->version, "2.8.0+CU126");
	assert_string_equal(v->normalized, "2.8.0+cu126");
	assert_string_equal(v->requires_python, ">=3.9");
	assert_int_equal(v->extra.nrequires, 1);
	assert_string_equal(v->extra.requires[0], "filelock");
	assert_int_equal(v->nprovides_extra, 1);
	assert_int_equal(v->nfields, 1);
	assert_string_equal(v->fields[0], "License: BSD-3-Clause");
	assert_int_equal(v->extra.nentry_points, 1);
	assert_string_equal(v->extra.entry_points[0].group, "console_scripts");
	assert_string_equal(v->extra.entry_points[0].name, "torchrun");
	assert_string_equal(v->extra.entry_points[0].object, "torch.distributed.run:main");
	assert_int_equal(v->extra.nfiles, 2);
	assert_string_equal(v->extra.files[0].path, "torch/version.py");
	assert_string_equal(v->extra.files[0].data, "x = 1\n");
	assert_string_equal(v->extra.files[1].path, "torch-2.8.0+cu126.data/scripts/run");
	assert_string_equal(v->metadata_file, "./../fixtures/METADATA");
	assert_string_equal(v->yank_reason, "bad build");
	assert_int_equal(v->nwheels, 3);
	assert_string_equal(v->wheels[0].filename, "torch-2.8.0+cu126-cp311-cp311-win_amd64.whl");
	assert_int_equal(v->wheels[0].extra.nrequires, 0);
	assert_int_equal(v->wheels[1].extra.nrequires, 1);
	assert_int_equal(v->wheels[1].line, 5); /* where the define wrote it */
	assert_string_equal(v->wheels[2].filename, "torch-2.8.0+cu126-1_x-py3-none-any.whl");
	assert_int_equal(v->wheels[2].sidecar, SPEC_SIDECAR_YES);
	assert_int_equal(v->wheels[2].hash, SPEC_HASH_WRONG);
	assert_string_equal(v->wheels[2].build, "1_x");
	assert_int_equal(v->wheels[0].sidecar, SPEC_SIDECAR_INDEX);

	ix = &s.indexes[1];
	assert_string_equal(ix->name, "torch/cu126");
	assert_true(ix->absolute_urls && ix->hashes && ix->sidecars && ix->requires_python);
	assert_int_equal(ix->format, SPEC_HTML);
	assert_int_equal(ix->npackages, 2);
	assert_ptr_equal(ix->packages[0], t);
	assert_ptr_equal(ix->packages[1], te);
	ix = &s.indexes[2];
	assert_true(ix->findlinks);
	assert_false(ix->sidecars);
	assert_ptr_equal(spec_find(&s, "target")->next, NULL);
	em_arena_release(&a);
}

static void test_metadata_text(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct spec s;
	struct em_error e;
	const char *text = "index x\n"
			   "  package Demo.Pkg\n"
			   "    version 1.0.0-rc1\n"
			   "      requires-python >=3.9\n"
			   "      requires numpy>=1.26\n"
			   "      provides-extra test\n"
			   "      requires pytest ; extra == \"test\"\n"
			   "      field Dynamic: license\n"
			   "      wheel py3-none-any\n"
			   "        requires only-here\n"
			   "      sdist\n"
			   "        file pyproject.toml \"[build-system]\\n\"\n"
			   "        file backend/b.py \"\"\n";
	assert_int_equal(parse(&a, text, &s, &e), 0);
	const struct spec_package *p = s.indexes[0].packages[0];
	const struct spec_version *v = &p->versions[0];
	struct em_buf b = EM_BUF_INIT;
	assert_int_equal(spec_metadata(&s, p, v, &v->wheels[0], &b, &e), 0);
	assert_string_equal(b.ptr, "Metadata-Version: 2.1\n"
				   "Name: Demo.Pkg\n"
				   "Version: 1.0.0rc1\n"
				   "Summary: Demo.Pkg 1.0.0rc1, a test package made by mkindex\n"
				   "Requires-Python: >=3.9\n"
				   "Dynamic: license\n"
				   "Provides-Extra: test\n"
				   "Requires-Dist: numpy>=1.26\n"
				   "Requires-Dist: pytest ; extra == \"test\"\n"
				   "Requires-Dist: only-here\n");
	struct em_metadata m;
	assert_int_equal(em_metadata_parse(&a, b.ptr, b.len, "METADATA", &m, &e), 0);
	assert_int_equal(m.nrequires_dist, 3);
	em_buf_reset(&b);
	assert_int_equal(spec_metadata(&s, p, v, NULL, &b, &e), 0);
	assert_null(strstr(b.ptr, "only-here"));
	em_buf_release(&b);
	assert_string_equal(v->sdist_filename, "demo_pkg-1.0.0rc1.tar.gz");
	assert_int_equal(v->sdist_extra.nfiles, 2); /* the sdist's files, not the wheel's */
	assert_string_equal(v->sdist_extra.files[0].path, "pyproject.toml");
	assert_string_equal(v->sdist_extra.files[0].data, "[build-system]\n");
	assert_string_equal(v->sdist_extra.files[1].path, "backend/b.py");
	assert_int_equal(v->extra.nfiles, 0);
	assert_string_equal(v->wheels[0].filename, "demo_pkg-1.0.0rc1-py3-none-any.whl");
	em_arena_release(&a);
}

/* ---- the example trees, built and read back ---- */

struct walk {
	char **paths;
	size_t n, cap;
};
static struct walk walked;

static int walk_fn(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag != FTW_F)
		return 0;
	if (walked.n == walked.cap) {
		walked.cap = walked.cap ? walked.cap * 2 : 256;
		walked.paths = realloc(walked.paths, walked.cap * sizeof *walked.paths);
		if (!walked.paths)
			return 1;
	}
	walked.paths[walked.n++] = strdup(path);
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

static char *file_hash(const char *path, int64_t *size)
{
	static char hex[EM_SHA256_HEX_LEN + 1];
	struct em_error e;
	if (em_sha256_file(path, hex, size, &e))
		return NULL;
	return hex;
}

struct counts {
	unsigned pages, json_pages, files, sidecars, wheels, sdists;
};

/* One project page: every file exists with the published hash, sidecars
 * hash as announced and equal the wheel's own METADATA. */
static void check_files(struct em_arena *a, const struct em_index_page *pg, const char *page,
			struct counts *c, struct tu_report *r)
{
	for (uint32_t i = 0; i < pg->nfiles; i++) {
		const struct em_index_file *f = &pg->files[i];
		c->files++;
		char *path = em_url_to_path(a, f->url);
		int64_t size;
		char *hex = path ? file_hash(path, &size) : NULL;
		if (!hex) {
			tu_report_fail(r, "%s: '%s' (%s) cannot be read", page, f->filename, f->url);
			continue;
		}
		if (!f->sha256 || strcmp(f->sha256, hex))
			tu_report_fail(r, "%s: '%s': hash %s, file %s", page, f->filename,
				       f->sha256 ? f->sha256 : "(none)", hex);
		if (f->size >= 0 && f->size != size)
			tu_report_fail(r, "%s: '%s': size %lld, file %lld", page, f->filename,
				       (long long)f->size, (long long)size);
		if (strcmp(f->filename, basename(path)))
			tu_report_fail(r, "%s: '%s' links '%s'", page, f->filename, path);
		char *side = em_arena_printf(a, "%s.metadata", path);
		size_t sidelen = 0;
		char *sidecar = NULL;
		if (f->has_metadata) {
			c->sidecars++;
			char *shex = file_hash(side, NULL);
			if (!shex || !f->metadata_sha256 || strcmp(shex, f->metadata_sha256))
				tu_report_fail(r, "%s: '%s': sidecar hash %s, announced %s", page,
					       f->filename, shex ? shex : "(unreadable)",
					       f->metadata_sha256 ? f->metadata_sha256 : "(none)");
			sidecar = tu_read_file(side, &sidelen);
		} else if (access(side, F_OK) == 0) {
			tu_report_fail(r, "%s: '%s' has an unannounced sidecar", page, f->filename);
		}
		if (ends_with(f->filename, ".tar.gz")) {
			c->sdists++;
			free(sidecar);
			continue;
		}
		/* the wheel's METADATA: the sidecar's bytes, a valid file, its name */
		c->wheels++;
		char *md;
		size_t mdlen;
		struct em_error e;
		if (em_wheel_read_metadata(a, path, &md, &mdlen, &e)) {
			tu_report_fail(r, "%s: %s", e.where, e.msg);
			free(sidecar);
			continue;
		}
		if (sidecar && (sidelen != mdlen || memcmp(sidecar, md, mdlen)))
			tu_report_fail(r, "%s: the sidecar differs from the wheel's METADATA",
				       f->filename);
		free(sidecar);
		struct em_metadata m;
		struct em_wheel_name wn;
		struct em_version v;
		if (em_metadata_parse(a, md, mdlen, f->filename, &m, &e) ||
		    em_wheel_name_parse(a, f->filename, strlen(f->filename), &wn, &e) ||
		    em_version_parse(a, m.version, strlen(m.version), &v, &e)) {
			tu_report_fail(r, "%s: %s", e.where, e.msg);
			continue;
		}
		if (!em_name_eq(m.name, strlen(m.name), wn.name, strlen(wn.name)) ||
		    em_version_cmp(&v, &wn.version))
			tu_report_fail(r, "%s: METADATA says %s %s", f->filename, m.name, m.version);
		if (f->requires_python &&
		    (!m.requires_python || strcmp(m.requires_python, f->requires_python)))
			tu_report_fail(r, "%s: page requires-python '%s', METADATA '%s'",
				       f->filename, f->requires_python,
				       m.requires_python ? m.requires_python : "(none)");
		/* every member of RECORD is there: read RECORD itself back */
		char *rec;
		size_t reclen;
		const char *dash = strchr(f->filename, '-');
		const char *dash2 = dash ? strchr(dash + 1, '-') : NULL;
		if (dash2) {
			char *recname = em_arena_printf(a, "%.*s.dist-info/RECORD",
							(int)(dash2 - f->filename), f->filename);
			em_error_clear(&e);
			if (em_zip_read_member(a, path, recname, 1 << 20, &rec, &reclen, &e) ||
			    !strstr(rec, ".dist-info/METADATA,sha256=") ||
			    !ends_with(rec, ".dist-info/RECORD,,\n"))
				tu_report_fail(r, "%s: RECORD: %s", f->filename, e.msg);
		}
	}
}

static void check_tree(const char *out, struct counts *c, struct tu_report *r)
{
	for (size_t i = 0; i < walked.n; i++) {
		free(walked.paths[i]);
	}
	walked.n = 0;
	assert_int_equal(nftw(out, walk_fn, 16, FTW_PHYS), 0);
	for (size_t i = 0; i < walked.n; i++) {
		const char *path = walked.paths[i];
		bool html = ends_with(path, "/index.html"), json = ends_with(path, "/index.json");
		if (!html && !json)
			continue;
		struct em_arena a;
		em_arena_init(&a);
		char *dir = em_arena_strndup(&a, path, strrchr(path, '/') - path);
		char *url = em_arena_printf(&a, "%s/", em_path_to_url(&a, dir));
		size_t len;
		char *buf = tu_read_file(path, &len);
		assert_non_null(buf);
		if (json && strstr(buf, "\"projects\"")) {
			/* a root page: the project list, not a page index.h reads */
			if (!strstr(buf, "\"api-version\": \"1.1\""))
				tu_report_fail(r, "%s: no api-version 1.1", path);
			free(buf);
			em_arena_release(&a);
			continue;
		}
		struct em_index_page pg;
		struct em_error e;
		int rc = html ? em_index_parse_html(&a, url, buf, len, &pg, &e)
			      : em_index_parse_json(&a, url, buf, len, &pg, &e);
		if (rc) {
			tu_report_fail(r, "%s: %s: %s", path, e.where, e.msg);
		} else {
			c->pages += html;
			c->json_pages += json;
			/* root pages list projects, not files */
			bool root = strstr(buf, "Simple index") != NULL;
			if (root && pg.nfiles)
				tu_report_fail(r, "%s: a root page with %u files", path, pg.nfiles);
			if (!root && !pg.nfiles)
				tu_report_fail(r, "%s: a project page without files", path);
			if (!root)
				check_files(&a, &pg, path, c, r);
		}
		free(buf);
		em_arena_release(&a);
	}
}

static void build(const char *spec, const char *out)
{
	char *tool = strdup(argv0);
	assert_non_null(tool);
	char *dir = dirname(dirname(tool));
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "'%s/tools/mkindex' '%s/tests/indexes/%s' '%s'", dir, EM_SRCDIR,
		 spec, out);
	free(tool);
	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
}

static void test_example_trees(void **state)
{
	(void)state;
	char tmp[] = "/tmp/envmatrix-mkindex-XXXXXX";
	assert_non_null(mkdtemp(tmp));
	char out[128];
	struct tu_report r;
	tu_report_init(&r, "example trees", 20);

	snprintf(out, sizeof out, "%s/torch", tmp);
	build("pytorch.spec", out);
	struct counts c = { 0 };
	check_tree(out, &c, &r);
	/* 3 variant indexes, each a root page and project pages */
	assert_int_equal(c.json_pages, 0);
	assert_int_equal(c.wheels, 144);
	assert_int_equal(c.sidecars, 144);
	assert_int_equal(c.sdists, 0);
	assert_true(c.pages > 60);

	snprintf(out, sizeof out, "%s/pypi", tmp);
	build("pypi.spec", out);
	memset(&c, 0, sizeof c);
	check_tree(out, &c, &r);
	assert_int_equal(c.pages, c.json_pages + 1); /* the root JSON page is not counted */
	assert_int_equal(c.wheels, 2 * 191);
	assert_int_equal(c.sidecars, 2 * 191);
	assert_int_equal(c.sdists, 2 * 2);

	/* the find-links wheels read back too */
	for (size_t i = 0; i < walked.n; i++) {
		if (!strstr(walked.paths[i], "/wheels/"))
			continue;
		struct em_arena a;
		em_arena_init(&a);
		char *md;
		size_t len;
		struct em_error e;
		if (em_wheel_read_metadata(&a, walked.paths[i], &md, &len, &e))
			tu_report_fail(&r, "%s: %s", e.where, e.msg);
		else if (!strstr(md, "Name: insightface\n"))
			tu_report_fail(&r, "%s: no insightface METADATA", walked.paths[i]);
		em_arena_release(&a);
	}
	for (size_t i = 0; i < walked.n; i++)
		free(walked.paths[i]);
	free(walked.paths);
	memset(&walked, 0, sizeof walked);

	snprintf(out, sizeof out, "rm -rf '%s'", tmp);
	assert_int_equal(system(out), 0);
	tu_report_done(&r);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_typed),
		cmocka_unit_test(test_metadata_text),
		cmocka_unit_test(test_example_trees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

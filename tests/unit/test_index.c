/* test_index.c - PEP 503 HTML and PEP 691 JSON index pages */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "spec/index.h"

struct ctx {
	struct em_arena a;
	struct em_index_page p;
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

static int html_n(struct ctx *c, const char *url, const char *s, size_t n)
{
	em_error_clear(&c->e);
	return em_index_parse_html(&c->a, url, s, n, &c->p, &c->e);
}

static int json_n(struct ctx *c, const char *url, const char *s, size_t n)
{
	em_error_clear(&c->e);
	return em_index_parse_json(&c->a, url, s, n, &c->p, &c->e);
}

#define HTML(c, url, lit) html_n((c), (url), (lit), sizeof(lit) - 1)
#define JSON(c, url, lit) json_n((c), (url), (lit), sizeof(lit) - 1)

#define PYPI "https://pypi.org/simple/demo/"

/* a file found by name, or a test failure */
static const struct em_index_file *find(const struct em_index_page *p, const char *name)
{
	for (uint32_t i = 0; i < p->nfiles; i++)
		if (!strcmp(p->files[i].filename, name))
			return &p->files[i];
	fail_msg("no file '%s' among %u", name, p->nfiles);
	return NULL;
}

static char *fixture(const char *rel, size_t *n)
{
	char *s = tu_read_file(tu_fixture(rel), n);
	if (!s)
		fail_msg("cannot read fixture '%s'", rel);
	return s;
}

static void test_pytorch_page(void **state)
{
	struct ctx *c = *state;
	size_t n;
	char *s = fixture("index/pytorch-cu126-torch.html", &n);
	assert_int_equal(html_n(c, "https://download.pytorch.org/whl/cu126/torch/", s, n), 0);
	free(s);
	assert_int_equal(c->p.nfiles, 8);
	assert_int_equal(c->p.nskipped, 0);
	assert_string_equal(c->p.url, "https://download.pytorch.org/whl/cu126/torch/");

	const struct em_index_file *f = &c->p.files[0];
	assert_string_equal(f->filename, "torch-2.6.0+cu126-cp311-cp311-manylinux_2_28_x86_64.whl");
	assert_string_equal(f->url, "https://download.pytorch.org/whl/cu126/"
				    "torch-2.6.0%2Bcu126-cp311-cp311-manylinux_2_28_x86_64.whl");
	assert_string_equal(f->sha256,
			    "78d16a6335ff1b926e4acb452f7da7d64421f11d87cf9ce3533345ebc5e36275");
	assert_true(f->has_metadata);
	assert_string_equal(f->metadata_sha256,
			    "6222de866620d524c67053e36da3459d7f3757f69d38bfb01103cc97552d6ab8");
	assert_null(f->requires_python); /* the PyTorch index writes none */
	assert_false(f->yanked);
	assert_null(f->yank_reason);
	assert_int_equal(f->size, -1);
	assert_null(f->upload_time);

	/* no #sha256= on the aarch64 file */
	f = find(&c->p, "torch-2.6.0+cu126-cp312-cp312-linux_aarch64.whl");
	assert_null(f->sha256);
	assert_true(f->has_metadata);
	assert_non_null(f->metadata_sha256);

	/* absolute href on another host */
	f = find(&c->p, "torch-2.9.0+cu126-cp313-cp313t-manylinux_2_28_x86_64.whl");
	assert_string_equal(f->url, "https://download-r2.pytorch.org/whl/cu126/"
				    "torch-2.9.0%2Bcu126-cp313-cp313t-manylinux_2_28_x86_64.whl");
	assert_string_equal(f->sha256,
			    "d1f3ccc240264f97f9936a4c5bfff05ecaca9566cea63b6a5e8b4b8b0f9f4f69");
	assert_string_equal(f->upload_time, "2025-10-15T17:12:05.123456Z");

	f = find(&c->p, "torch-2.6.0-cp312-none-macosx_11_0_arm64.whl");
	assert_false(f->has_metadata);
	assert_null(f->metadata_sha256);
	assert_string_equal(f->url, "https://download.pytorch.org/whl/cpu/"
				    "torch-2.6.0-cp312-none-macosx_11_0_arm64.whl");
}

static void test_pypi_page(void **state)
{
	struct ctx *c = *state;
	size_t n;
	char *s = fixture("index/pypi-numpy.html", &n);
	assert_int_equal(html_n(c, "https://pypi.org/simple/numpy/", s, n), 0);
	free(s);
	assert_int_equal(c->p.nfiles, 6);
	const struct em_index_file *f = find(&c->p, "numpy-1.26.4.tar.gz");
	assert_string_equal(f->requires_python, ">=3.9");
	assert_false(f->has_metadata);
	assert_false(f->yanked);
	assert_true(strncmp(f->url, "https://files.pythonhosted.org/packages/ab/cd/", 46) == 0);
	f = find(&c->p, "numpy-2.0.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
	assert_true(f->yanked);
	assert_string_equal(f->yank_reason, "");
	assert_true(f->has_metadata);
	f = find(&c->p, "numpy-2.0.1-cp312-cp312-win_amd64.whl");
	assert_true(f->yanked);
	assert_string_equal(f->yank_reason, "broken build: see \"#123\" & #124");
	assert_string_equal(f->requires_python, ">=3.9,<3.14");
	f = find(&c->p, "numpy-2.2.0-cp313-cp313t-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
	assert_string_equal(f->requires_python, ">=3.10");
	assert_false(f->yanked);
}

static void test_messy_html(void **state)
{
	struct ctx *c = *state;
	static const char page[] =
		"<!DOCTYPE html><HTML><HEAD><TITLE>Links <a href='t.whl'>t.whl</a></TITLE>\n"
		"<SCRIPT type=text/javascript>var s = '<a href=\"s.whl\">s.whl</a>';</SCRIPT >\n"
		"<style>a { } /* <a href=st.whl> */</style>\n"
		"</HEAD><BODY>\n"
		"<!-- <a href=\"commented.whl\">commented.whl</a> -->\n"
		"<!--><a href=\"after-empty-comment-1.0.tar.gz\">x</a>\n"
		"<A HREF=one-1.0-py3-none-any.whl DATA-REQUIRES-PYTHON=&gt;=3.8>one-1.0-py3-none-any.whl</A>\n"
		"<a data-yanked='reason &amp; more' href='two-1.0.tar.gz#SHA256="
		"ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789'>two</a>\n"
		"<a\nhref\n=\n\"three-1.0.zip\"\ndata-requires-python=\"&gt;=3.9,&lt;4\"\n>three</a>\n"
		"<a href=\"four-1.0-py3-none-any.whl\" href=\"ignored.whl\">four</a>\n"
		"<a href=\"five-1.0.tar.bz2\">five<br/>missing end tag\n"
		"<a href=\"six&#45;1&#x2E;0.tar.gz\">six</a>\n"
		"<a name=\"no-href\">anchor</a>\n"
		"<a href=\"seven-1.0%2Blocal.whl\" data-requires-python=\"  \">seven</a>\n"
		"<a href=\"/\">root</a> <a href=\"README.txt\">readme</a>\n"
		"<p>a < b and c <3 d</p>\n"
		"<a href=\" \t eight-1.0.tar.gz\n \">eight</a>\n"
		"<a href=\"ni\nne-1.0.tar.gz\">nine</a>\n"
		"<a href=\"ten-1.0.whl\"/>\n"
		"</BODY></HTML>\n"
		"<a href=\"cut-1.0.whl";
	assert_int_equal(HTML(c, "https://idx.example/simple/demo/", page), 0);
	static const char *const want[] = {
		"after-empty-comment-1.0.tar.gz", "one-1.0-py3-none-any.whl", "two-1.0.tar.gz",
		"three-1.0.zip", "four-1.0-py3-none-any.whl", "five-1.0.tar.bz2", "six-1.0.tar.gz",
		"seven-1.0+local.whl", "eight-1.0.tar.gz", "nine-1.0.tar.gz", "ten-1.0.whl",
	};
	for (uint32_t i = 0; i < c->p.nfiles; i++)
		print_message("  %s\n", c->p.files[i].filename);
	assert_int_equal(c->p.nfiles, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		assert_string_equal(c->p.files[i].filename, want[i]);
	/* no href, "/", README.txt */
	assert_int_equal(c->p.nskipped, 3);
	const struct em_index_file *f = find(&c->p, "one-1.0-py3-none-any.whl");
	assert_string_equal(f->requires_python, ">=3.8");
	assert_string_equal(f->url, "https://idx.example/simple/demo/one-1.0-py3-none-any.whl");
	f = find(&c->p, "two-1.0.tar.gz");
	assert_string_equal(f->sha256,
			    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	assert_true(f->yanked);
	assert_string_equal(f->yank_reason, "reason & more");
	assert_string_equal(f->url, "https://idx.example/simple/demo/two-1.0.tar.gz");
	f = find(&c->p, "three-1.0.zip");
	assert_string_equal(f->requires_python, ">=3.9,<4");
	f = find(&c->p, "seven-1.0+local.whl");
	assert_null(f->requires_python);
	assert_string_equal(f->url, "https://idx.example/simple/demo/seven-1.0%2Blocal.whl");
	f = find(&c->p, "eight-1.0.tar.gz");
	assert_string_equal(f->url, "https://idx.example/simple/demo/eight-1.0.tar.gz");
}

static void test_base_href(void **state)
{
	struct ctx *c = *state;
	/* the first <base href> applies to anchors before it too */
	assert_int_equal(HTML(c, PYPI,
			      "<a href=\"a-1.0.whl\">a</a>"
			      "<base href=\"../../files/\"><base href=\"https://wrong/\">"
			      "<a href=\"b-1.0.whl\">b</a><a href=\"/c-1.0.whl\">c</a>"),
			 0);
	assert_int_equal(c->p.nfiles, 3);
	assert_string_equal(c->p.files[0].url, "https://pypi.org/files/a-1.0.whl");
	assert_string_equal(c->p.files[1].url, "https://pypi.org/files/b-1.0.whl");
	assert_string_equal(c->p.files[2].url, "https://pypi.org/c-1.0.whl");
	/* a base on another host */
	assert_int_equal(HTML(c, PYPI,
			      "<BASE HREF=https://mirror.example/x/y><a href=a-1.0.whl>a</a>"),
			 0);
	assert_string_equal(c->p.files[0].url, "https://mirror.example/x/a-1.0.whl");
	/* a base without href, and one with a control character, are ignored */
	assert_int_equal(HTML(c, PYPI,
			      "<base target=_top><base href=\"a&#1;b/\"><a href=a-1.0.whl>a</a>"),
			 0);
	assert_string_equal(c->p.files[0].url, "https://pypi.org/simple/demo/a-1.0.whl");
}

static void test_file_names(void **state)
{
	struct ctx *c = *state;
	/* the href names the file; the text is the fallback */
	assert_int_equal(HTML(c, PYPI,
			      "<a href=\"https://h/download?id=3\">pkg-1.0.tar.gz</a>"
			      "<a href=\"https://h/files/real-2.0.whl\">text-1.0.whl</a>"
			      "<a href=\"https://h/files/\"> spaced-1.0.whl \n</a>"
			      "<a href=\"https://h/a%2Fb-1.0.whl\">a/b-1.0.whl</a>"
			      "<a href=\"https://h/x\">dir/evil-1.0.whl</a>"
			      "<a href=\"https://h/.whl\">.whl</a>"
			      "<a href=\"https://h/..%2F..%2Fx.whl\">x</a>"
			      "<a href=\"https://h/%2e%2e\">..</a>"
			      "<a href=\"https://h/ctl%01-1.0.whl\">c</a>"
			      "<a href=\"https://h/bad%ff-1.0.whl\">b</a>"
			      "<a href=\"https://h/UPPER-1.0.WHL\">u</a>"
			      "<a href=\"https://h/legacy-1.0.tgz\">l</a>"
			      "<a href=\"https://h/legacy-1.0.egg\">e</a>"
			      "<a href=\"https://h/x-1.0.whl.metadata\">m</a>"
			      "<a href=\"https://h/x\">&lt;b&gt;</a>"),
			 0);
	static const char *const want[] = { "pkg-1.0.tar.gz", "real-2.0.whl", "spaced-1.0.whl",
					    "UPPER-1.0.WHL", "legacy-1.0.tgz" };
	assert_int_equal(c->p.nfiles, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		assert_string_equal(c->p.files[i].filename, want[i]);
	assert_string_equal(c->p.files[0].url, "https://h/download?id=3");
	assert_int_equal(c->p.nskipped, 10);

	/* a long text is no fallback */
	struct em_buf b = EM_BUF_INIT;
	em_buf_addstr(&b, "<a href=\"https://h/x\">");
	for (int i = 0; i < 300; i++)
		em_buf_addstr(&b, "long");
	em_buf_addstr(&b, ".whl</a>");
	assert_int_equal(html_n(c, PYPI, b.ptr, b.len), 0);
	assert_int_equal(c->p.nfiles, 0);
	em_buf_release(&b);
}

static void test_schemes(void **state)
{
	struct ctx *c = *state;
	static const char page[] = "<a href=\"javascript:alert(1)//x.whl\">x.whl</a>"
				   "<a href=\"mailto:a@b.whl\">a.whl</a>"
				   "<a href=\"ftp://h/f-1.0.whl\">f</a>"
				   "<a href=\"file:///etc/passwd.whl\">p</a>"
				   "<a href=\"http://plain/h-1.0.whl\">h</a>"
				   "<a href=\"HTTPS://UP/u-1.0.whl\">u</a>";
	assert_int_equal(HTML(c, PYPI, page), 0);
	assert_int_equal(c->p.nfiles, 2);
	assert_string_equal(c->p.files[0].url, "http://plain/h-1.0.whl");
	assert_string_equal(c->p.files[1].url, "HTTPS://UP/u-1.0.whl");
	assert_int_equal(c->p.nskipped, 4);
	/* file: URLs are fine on a file: page */
	assert_int_equal(HTML(c, "file:///srv/idx/simple/demo/", page), 0);
	assert_int_equal(c->p.nfiles, 3);
	assert_string_equal(c->p.files[0].url, "file:///etc/passwd.whl");
	assert_int_equal(HTML(c, "file:///srv/idx/simple/demo/index.html",
			      "<a href=\"../../files/demo-1.0%2Bx.whl#sha256="
			      "0000000000000000000000000000000000000000000000000000000000000000\">"
			      "demo-1.0+x.whl</a>"),
			 0);
	assert_string_equal(c->p.files[0].url, "file:///srv/idx/files/demo-1.0%2Bx.whl");
	assert_string_equal(c->p.files[0].filename, "demo-1.0+x.whl");
	/* credentials stay in the URL (they are needed to fetch) */
	assert_int_equal(HTML(c, "https://u:p@priv.example/simple/demo/",
			      "<a href=\"d-1.0.whl\">d</a>"),
			 0);
	assert_string_equal(c->p.files[0].url, "https://u:p@priv.example/simple/demo/d-1.0.whl");
}

static void test_hashes_and_metadata(void **state)
{
	struct ctx *c = *state;
	static const char page[] =
		"<a href=\"a-1.0.whl#md5=0123456789abcdef0123456789abcdef\">a</a>"
		"<a href=\"b-1.0.whl#egg=b&sha256="
		"1111111111111111111111111111111111111111111111111111111111111111\">b</a>"
		"<a href=\"c-1.0.whl#sha256=123\">c</a>"
		"<a href=\"d-1.0.whl#sha256="
		"zz11111111111111111111111111111111111111111111111111111111111111\">d</a>"
		"<a href=\"e-1.0.whl\" data-core-metadata=\"true\">e</a>"
		"<a href=\"f-1.0.whl\" data-dist-info-metadata=\"TRUE\">f</a>"
		"<a href=\"g-1.0.whl\" data-core-metadata=\"false\" "
		"data-dist-info-metadata=\"true\">g</a>"
		"<a href=\"h-1.0.whl\" data-core-metadata "
		"data-dist-info-metadata=\"sha256="
		"2222222222222222222222222222222222222222222222222222222222222222\">h</a>"
		"<a href=\"i-1.0.whl\" data-dist-info-metadata=\"sha512=abcd\">i</a>"
		"<a href=\"j-1.0.whl\" data-core-metadata=\"sha256="
		"3333333333333333333333333333333333333333333333333333333333333333\" "
		"data-dist-info-metadata=\"sha256="
		"4444444444444444444444444444444444444444444444444444444444444444\">j</a>"
		"<a href=\"k-1.0.whl\" data-yanked>k</a>"
		"<a href=\"l-1.0.whl#sha256="
		"5555555555555555555555555555555555555555555555555555555555555555\" "
		"data-upload-time=\"\">l</a>";
	assert_int_equal(HTML(c, PYPI, page), 0);
	assert_int_equal(c->p.nfiles, 12);
	const struct em_index_file *f = c->p.files;
	assert_null(f[0].sha256);
	assert_string_equal(f[0].url, PYPI "a-1.0.whl");
	assert_string_equal(f[1].sha256,
			    "1111111111111111111111111111111111111111111111111111111111111111");
	assert_null(f[2].sha256);
	assert_null(f[3].sha256);
	assert_true(f[4].has_metadata);
	assert_null(f[4].metadata_sha256);
	assert_true(f[5].has_metadata);
	/* PEP 714: data-core-metadata wins, even when it says false */
	assert_false(f[6].has_metadata);
	assert_true(f[7].has_metadata);
	assert_null(f[7].metadata_sha256);
	assert_true(f[8].has_metadata);
	assert_null(f[8].metadata_sha256);
	assert_string_equal(f[9].metadata_sha256,
			    "3333333333333333333333333333333333333333333333333333333333333333");
	assert_true(f[10].yanked);
	assert_string_equal(f[10].yank_reason, "");
	assert_false(f[0].yanked);
	assert_null(f[11].upload_time);
	assert_string_equal(f[11].url, PYPI "l-1.0.whl");
}

static void test_entities(void **state)
{
	struct ctx *c = *state;
	static const char page[] =
		"<a href=\"x-1.0.whl\" data-requires-python=\"&gt;=3.8,&#33;=3.9.*,&#x3C;4&#39;"
		"&quot;&apos;&amp;&AMP;&unknown;&amp&#0;&#xD800;&#1114112;&#99999999999;&#x;\">x</a>"
		"<a href=\"y-1.0.whl\" data-yanked=\"&#128013;&#x1F40D\">y</a>";
	assert_int_equal(HTML(c, PYPI, page), 0);
	assert_int_equal(c->p.nfiles, 2);
	assert_string_equal(c->p.files[0].requires_python,
			    ">=3.8,!=3.9.*,<4'\"'&&&unknown;&amp\xef\xbf\xbd\xef\xbf\xbd"
			    "\xef\xbf\xbd\xef\xbf\xbd&#x;");
	assert_string_equal(c->p.files[1].yank_reason, "\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d");
}

static void test_nul_and_garbage(void **state)
{
	struct ctx *c = *state;
	static const char page[] = "<a href=\"a\0b-1.0.whl\" data-requires-python=\">=3\0.8\">"
				   "x\0y</a>\0<a href=z-1.0.whl>\0</a><\0a>";
	assert_int_equal(HTML(c, PYPI, page), 0);
	assert_int_equal(c->p.nfiles, 2);
	assert_string_equal(c->p.files[0].filename, "a\xef\xbf\xbd" "b-1.0.whl");
	assert_string_equal(c->p.files[0].url, PYPI "a%EF%BF%BDb-1.0.whl");
	assert_string_equal(c->p.files[0].requires_python, ">=3\xef\xbf\xbd.8");
	assert_string_equal(c->p.files[1].filename, "z-1.0.whl");

	/* prefixes of a page: never an error, never a crash */
	size_t n;
	char *s = fixture("index/pypi-numpy.html", &n);
	for (size_t k = 0; k <= n; k += 7) {
		assert_int_equal(html_n(c, PYPI, s, k), 0);
		assert_true(c->p.nfiles <= 6);
	}
	free(s);
	assert_int_equal(html_n(c, PYPI, NULL, 0), 0);
	assert_int_equal(c->p.nfiles, 0);
	static const char *const junk[] = { "<", "<a", "<a ", "<a href", "<a href=", "<a href='",
					    "<!--", "<!", "</", "</a", "<script>", "&", "&#",
					    "<a href=x.whl", "<a href=x.whl>&#x", "<a/href=x.whl>",
					    "<base href='", "<plaintext><a href=x.whl>x</a>" };
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
		assert_int_equal(html_n(c, PYPI, junk[i], strlen(junk[i])), 0);
		if (i == 14 || i == 15)
			assert_int_equal(c->p.nfiles, 1);
		else
			assert_int_equal(c->p.nfiles, 0);
	}
}

static void test_html_errors_and_limits(void **state)
{
	struct ctx *c = *state;
	assert_int_equal(HTML(c, "simple/demo/", "<a href=x.whl>x</a>"), EM_EINVAL);
	assert_non_null(strstr(c->e.msg, "not absolute"));
	assert_int_equal(em_index_parse_html(NULL, PYPI, "", 0, &c->p, &c->e), EM_EUSAGE);
	/* the size check comes before the bytes are read */
	static const char small[] = "<a href=x.whl>";
	assert_int_equal(html_n(c, "https://u:secret@h/s/", small, (size_t)EM_INDEX_MAX_LEN + 1),
			 EM_ELIMIT);
	assert_string_equal(c->e.where, "https://h/s/");
	assert_int_equal(c->p.nfiles, 0);

	/* a long page URL and many short hrefs: the result budget */
	char *url = malloc(EM_URL_MAX_LEN);
	assert_non_null(url);
	memcpy(url, "https://h/", 10);
	memset(url + 10, 'p', EM_URL_MAX_LEN - 20);
	strcpy(url + EM_URL_MAX_LEN - 10, "/");
	struct em_buf b = EM_BUF_INIT;
	for (int i = 0; i < 5000; i++)
		em_buf_addstr(&b, "<a href=a.whl>");
	assert_int_equal(html_n(c, url, b.ptr, b.len), EM_ELIMIT);
	assert_non_null(strstr(c->e.msg, "expands"));
	free(url);

	/* a big ordinary page: linear */
	em_buf_reset(&b);
	for (int i = 0; i < 50000; i++)
		em_buf_addf(&b,
			    "<a href=\"https://files.example/p/pkg-%d.0-py3-none-any.whl#sha256="
			    "%064d\" data-requires-python=\"&gt;=3.8\">pkg-%d.0-py3-none-any.whl"
			    "</a><br/>\n",
			    i, i, i);
	assert_int_equal(b.err, 0);
	assert_int_equal(html_n(c, PYPI, b.ptr, b.len), 0);
	assert_int_equal(c->p.nfiles, 50000);
	assert_string_equal(c->p.files[49999].filename, "pkg-49999.0-py3-none-any.whl");

	/* hostile shapes that stay linear */
	static const char *const units[] = { "<a x", "<!--", "&#9999999", "<<<<", "<a href=\"",
					     "<script><", "</a </b ", "<a href=a.whl>" };
	for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
		em_buf_reset(&b);
		while (b.len < ((size_t)1 << 20))
			em_buf_addstr(&b, units[u]);
		assert_int_equal(html_n(c, PYPI, b.ptr, b.len), 0);
	}
	/* more anchors than EM_INDEX_MAX_FILES */
	em_buf_reset(&b);
	for (uint32_t i = 0; i <= EM_INDEX_MAX_FILES; i++)
		em_buf_add(&b, "<a href=a>", 10);
	assert_int_equal(html_n(c, PYPI, b.ptr, b.len), EM_ELIMIT);
	assert_non_null(strstr(c->e.msg, "more than"));
	em_buf_release(&b);
}

static void test_json_page(void **state)
{
	struct ctx *c = *state;
	size_t n;
	char *s = fixture("index/pypi-numpy.json", &n);
	assert_int_equal(json_n(c, "https://pypi.org/simple/numpy/", s, n), 0);
	free(s);
	assert_int_equal(c->p.nfiles, 5);
	/* .asc, no filename, not an object */
	assert_int_equal(c->p.nskipped, 3);
	const struct em_index_file *f = &c->p.files[0];
	assert_string_equal(f->filename, "numpy-1.26.4.tar.gz");
	assert_string_equal(f->url, "https://files.pythonhosted.org/packages/ab/cd/numpy-1.26.4.tar.gz");
	assert_string_equal(f->sha256,
			    "043a718774c572bd8a25adbeb1bfcd5c0256ae11cecf9f9c3f925d0e52beaf89");
	assert_string_equal(f->requires_python, ">=3.9");
	assert_false(f->has_metadata);
	assert_int_equal(f->size, 15786129);
	assert_string_equal(f->upload_time, "2024-02-05T23:58:36.364851Z");
	assert_false(f->yanked);
	assert_null(f->yank_reason);

	f = &c->p.files[1];
	assert_string_equal(f->url, "https://pypi.org/packages/ef/01/numpy-1.26.4-cp312-cp312-win_amd64.whl");
	assert_true(f->has_metadata);
	assert_string_equal(f->metadata_sha256,
			    "1a6c21b2d495962c3f8cc9aae253669c33f781ca27a3d5474eeca4006e8abd98");

	f = &c->p.files[2];
	assert_string_equal(f->url, "https://pypi.org/packages/numpy-2.0.0-cp312-cp312-"
				    "manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
	/* no hashes.sha256: the URL's fragment */
	assert_string_equal(f->sha256,
			    "b45df01cf1aea7fad1c58d82c8fc70306ad2fd04a42e8719c87eb8a098862e23");
	assert_true(f->has_metadata); /* dist-info-metadata: true */
	assert_null(f->metadata_sha256);
	assert_true(f->yanked);
	assert_string_equal(f->yank_reason, "broken wheel");
	assert_int_equal(f->size, 19000000);
	assert_null(f->requires_python);

	f = &c->p.files[3];
	assert_true(f->yanked);
	assert_string_equal(f->yank_reason, "");
	assert_null(f->requires_python); /* "" */
	assert_true(f->has_metadata);    /* core-metadata wins over dist-info-metadata */

	f = &c->p.files[4];
	assert_false(f->yanked);        /* null */
	assert_int_equal(f->size, -1);  /* a string */
	assert_false(f->has_metadata);  /* "yes" is no value; no dist-info-metadata */
	assert_null(f->upload_time);
}

static void test_json_errors(void **state)
{
	struct ctx *c = *state;
	assert_int_equal(JSON(c, PYPI, "{\"meta\":{\"api-version\":\"1.0\"},\"files\":[]}"), 0);
	assert_int_equal(c->p.nfiles, 0);
	assert_int_equal(JSON(c, PYPI, "{\"meta\":{\"api-version\":\"1.99\"},\"files\":[]}"), 0);
	assert_int_equal(JSON(c, PYPI, "{\"meta\":{\"api-version\":\"2.0\"},\"files\":[]}"),
			 EM_EUNSUPPORTED);
	assert_non_null(strstr(c->e.msg, "'2.0'"));
	assert_string_equal(c->e.where, PYPI);
	assert_int_equal(JSON(c, PYPI, "{\"meta\":{\"api-version\":\"0.9\"},\"files\":[]}"),
			 EM_EUNSUPPORTED);
	static const char *const bad_version[] = { "1", "1.", ".1", "v1.0", "1.0.0", "1.x", "",
						   "01.0x" };
	for (size_t i = 0; i < sizeof bad_version / sizeof bad_version[0]; i++) {
		char doc[128];
		snprintf(doc, sizeof doc, "{\"meta\":{\"api-version\":\"%s\"},\"files\":[]}",
			 bad_version[i]);
		assert_int_equal(json_n(c, PYPI, doc, strlen(doc)), EM_EINVAL);
	}
	assert_int_equal(JSON(c, PYPI, "{\"meta\":{\"api-version\":1.0},\"files\":[]}"), EM_EINVAL);
	assert_int_equal(JSON(c, PYPI, "{\"files\":[]}"), EM_EINVAL);
	assert_non_null(strstr(c->e.msg, "'meta'"));
	assert_int_equal(JSON(c, PYPI, "{\"meta\":{\"api-version\":\"1.0\"}}"), EM_EINVAL);
	assert_non_null(strstr(c->e.msg, "'files'"));
	assert_int_equal(JSON(c, PYPI, "{\"meta\":{\"api-version\":\"1.0\"},\"files\":{}}"),
			 EM_EINVAL);
	assert_int_equal(JSON(c, PYPI, "[]"), EM_EINVAL);
	assert_int_equal(JSON(c, PYPI, ""), EM_EINVAL);
	assert_int_equal(JSON(c, PYPI, "{\"meta\":"), EM_EINVAL);
	assert_non_null(strstr(c->e.msg, "invalid JSON at line 1"));
	assert_int_equal(JSON(c, PYPI, "{\"meta\":{\"api-version\":\"1.0\"},\"files\":[]} x"),
			 EM_EINVAL);
	assert_int_equal(JSON(c, PYPI, "{\"meta\":{\"api-version\":\"1.0\"},\"files\":[]}\0"),
			 EM_EINVAL);
	assert_int_equal(JSON(c, PYPI, "{\"meta\":{\"api-version\":\"1.0\"},\"files\":"
				       "[{\"filename\":\"a\\u0000.whl\",\"url\":\"a.whl\"}]}"),
			 EM_EINVAL);
	assert_int_equal(JSON(c, PYPI, "{\"meta\":{\"api-version\":\"1.0\"},\"files\":"
				       "[{\"filename\":\"\xff.whl\",\"url\":\"a.whl\"}]}"),
			 EM_EINVAL);
	assert_int_equal(JSON(c, "relative/", "{\"meta\":{\"api-version\":\"1.0\"},\"files\":[]}"),
			 EM_EINVAL);
	/* entries with names or URLs that do not pass are skipped */
	assert_int_equal(JSON(c, PYPI, "{\"meta\":{\"api-version\":\"1.1\"},\"files\":["
				       "{\"filename\":\"../x.whl\",\"url\":\"x.whl\",\"hashes\":{}},"
				       "{\"filename\":\"x.whl\",\"url\":\"file:///x.whl\"},"
				       "{\"filename\":\"x.whl\",\"url\":\"a\\u0001b\"},"
				       "{\"filename\":\"x.whl\",\"url\":7},"
				       "{\"filename\":\"y-1.0.whl\",\"url\":\"y.bin\","
				       "\"hashes\":{\"sha256\":\"short\"},\"size\":1.5,"
				       "\"requires-python\":5,\"yanked\":false}]}"),
			 0);
	assert_int_equal(c->p.nfiles, 1);
	assert_int_equal(c->p.nskipped, 4);
	/* the file name comes from "filename", not from the URL */
	assert_string_equal(c->p.files[0].filename, "y-1.0.whl");
	assert_string_equal(c->p.files[0].url, PYPI "y.bin");
	assert_null(c->p.files[0].sha256);
	assert_int_equal(c->p.files[0].size, -1);
	assert_null(c->p.files[0].requires_python);

	/* deep nesting is refused by jansson's depth limit, not the stack */
	struct em_buf b = EM_BUF_INIT;
	em_buf_addstr(&b, "{\"meta\":{\"api-version\":\"1.0\"},\"files\":[],\"x\":");
	for (int i = 0; i < 100000; i++)
		em_buf_addc(&b, '[');
	assert_int_equal(json_n(c, PYPI, b.ptr, b.len), EM_EINVAL);
	/* huge numbers */
	em_buf_reset(&b);
	em_buf_addstr(&b, "{\"meta\":{\"api-version\":\"1.0\"},\"files\":[{\"filename\":"
			  "\"z-1.0.whl\",\"url\":\"z-1.0.whl\",\"size\":1");
	for (int i = 0; i < 40; i++)
		em_buf_addc(&b, '0');
	em_buf_addstr(&b, "}]}");
	assert_int_equal(json_n(c, PYPI, b.ptr, b.len), 0);
	assert_int_equal(c->p.files[0].size, -1);
	/* size limit */
	assert_int_equal(json_n(c, PYPI, "{}", (size_t)EM_INDEX_MAX_LEN + 1), EM_ELIMIT);
	/* a big page */
	em_buf_reset(&b);
	em_buf_addstr(&b, "{\"meta\":{\"api-version\":\"1.1\"},\"files\":[");
	for (int i = 0; i < 100000; i++)
		em_buf_addf(&b,
			    "%s{\"filename\":\"p-%d.0.tar.gz\",\"url\":\"../../f/p-%d.0.tar.gz\","
			    "\"hashes\":{\"sha256\":\"%064d\"},\"size\":%d}",
			    i ? "," : "", i, i, i, i);
	em_buf_addstr(&b, "]}");
	assert_int_equal(json_n(c, PYPI, b.ptr, b.len), 0);
	assert_int_equal(c->p.nfiles, 100000);
	assert_int_equal(c->p.files[99999].size, 99999);
	assert_string_equal(c->p.files[99999].url, "https://pypi.org/f/p-99999.0.tar.gz");
	em_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pytorch_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pypi_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_messy_html, setup, teardown),
		cmocka_unit_test_setup_teardown(test_base_href, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schemes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hashes_and_metadata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_and_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_html_errors_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fuzz_index.c - libFuzzer target for the PEP 503 HTML and PEP 691 JSON
 * index page parsers
 *
 * The first byte picks the page URL (an https page, a file: page, one with
 * credentials, a long one); the rest is parsed as HTML and as JSON. Checked
 * on success: every file has a safe distribution file name, an absolute
 * http(s) URL (file: only on a file: page) without a fragment and without
 * bytes a URL cannot hold, hashes of 64 lower-case hex digits, a yank
 * reason exactly when yanked, and the page's counts add up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spec/index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_hash(const char *h)
{
	if (!h)
		return;
	if (strlen(h) != 64)
		abort();
	for (size_t i = 0; i < 64; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			abort();
}

static void check(const struct em_index_page *p, size_t size, bool file_page)
{
	if (!p->url || (p->nfiles && !p->files))
		abort();
	if ((size_t)p->nfiles + p->nskipped > size + 1)
		abort();
	for (uint32_t i = 0; i < p->nfiles; i++) {
		const struct em_index_file *f = &p->files[i];
		if (!f->filename || !f->url)
			abort();
		size_t n = strlen(f->filename);
		if (n == 0 || n > 255 || f->filename[0] == '.' || strchr(f->filename, '/') ||
		    strchr(f->filename, '\\'))
			abort();
		for (size_t k = 0; k < n; k++)
			if ((unsigned char)f->filename[k] < 0x20 || f->filename[k] == 0x7f)
				abort();
		if (strchr(f->url, '#') || strlen(f->url) > EM_URL_MAX_LEN)
			abort();
		for (const char *u = f->url; *u; u++)
			if ((unsigned char)*u <= 0x20 || (unsigned char)*u >= 0x7f)
				abort();
		bool http = !strncasecmp(f->url, "http://", 7) || !strncasecmp(f->url, "https://", 8);
		bool file = !strncasecmp(f->url, "file:", 5);
		if (!http && !(file && file_page))
			abort();
		check_hash(f->sha256);
		check_hash(f->metadata_sha256);
		if (f->metadata_sha256 && !f->has_metadata)
			abort();
		if (f->yanked != (f->yank_reason != NULL))
			abort();
		if (f->requires_python && !f->requires_python[0])
			abort();
		if (f->size < -1)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const urls[] = {
		"https://download.pytorch.org/whl/cu126/torch/",
		"file:///srv/index/simple/demo/",
		"https://user:secret@pypi.example/simple/demo/index.html?x=1#frag",
		("https://h/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"),
	};
	size_t which = size ? data[0] % 4 : 0;
	const char *buf = size ? (const char *)data + 1 : "";
	size_t len = size ? size - 1 : 0;
	struct em_arena a;
	em_arena_init(&a);
	struct em_index_page p;
	struct em_error e;
	if (em_index_parse_html(&a, urls[which], buf, len, &p, &e) == 0)
		check(&p, len, which == 1);
	else if (e.code != EM_ELIMIT && e.code != EM_ENOMEM)
		abort(); /* malformed HTML is never an error */
	em_arena_release(&a);
	if (em_index_parse_json(&a, urls[which], buf, len, &p, &e) == 0)
		check(&p, len, which == 1);
	else if (!e.msg[0])
		abort();
	em_arena_release(&a);
	return 0;
}

/* fuzz_url.c - libFuzzer target for URL resolution and percent-encoding
 *
 * The input is split at its first NUL byte (or in the middle) into a base
 * and a reference, which are resolved against each other both ways.
 * Checked: a result is absolute, fits EM_URL_MAX_LEN, holds no control,
 * space or non-ASCII byte, and resolving it again (an absolute reference)
 * is stable after the first time (a base with dot segments leaves them in
 * "" resolved against it, as RFC 3986 says); decode(encode(x)) == x for
 * bytes without NUL; to_path(path_to_url(p)) == p for absolute paths;
 * basename, redact and join do not crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec/index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void resolve(struct em_arena *a, const char *base, const char *ref)
{
	char *out = NULL, *again = NULL;
	struct em_error e;
	if (em_url_resolve(a, base, ref, &out, &e)) {
		if (!e.msg[0] || out)
			abort();
		return;
	}
	size_t n = strlen(out);
	if (n > EM_URL_MAX_LEN || !strchr(out, ':'))
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c <= 0x20 || c >= 0x7f)
			abort();
	}
	/* out is absolute: resolving it again removes any dot segments a
	 * non-normalized base left in it, and from then on nothing changes */
	char *twice = NULL;
	if (em_url_resolve(a, base, out, &again, &e) || em_url_resolve(a, base, again, &twice, &e) ||
	    strcmp(again, twice))
		abort();
	char *b = em_url_basename(a, out);
	char *r = em_url_redact(a, out);
	if (!b || !r || strlen(r) > n)
		abort();
	char *p = em_url_to_path(a, out);
	if (p && p[0] != '/')
		abort();
	em_url_join(a, base, ref, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 3 * EM_URL_MAX_LEN)
		return 0;
	struct em_arena a;
	em_arena_init(&a);
	char *s = em_arena_strndup(&a, (const char *)data, size);
	if (!s)
		abort();
	size_t cut = strlen(s);
	const char *base, *ref;
	if (cut < size) {
		base = s;
		ref = em_arena_strndup(&a, s + cut + 1, size - cut - 1); /* up to a next NUL */
	} else {
		cut = size / 2;
		base = em_arena_strndup(&a, s, cut);
		ref = s + cut;
	}
	resolve(&a, base, ref);
	resolve(&a, ref, base);

	/* percent-encoding round trips (the input without its NUL bytes) */
	size_t n = strlen(s);
	char *enc = em_url_encode_segment(&a, s, n);
	char *dec = enc ? em_url_decode(&a, enc, strlen(enc)) : NULL;
	if (!enc || !dec || strlen(dec) != n || memcmp(dec, s, n))
		abort();
	em_url_decode(&a, (const char *)data, size);
	if (s[0] == '/') {
		char *u = em_path_to_url(&a, s);
		char *p = u ? em_url_to_path(&a, u) : NULL;
		if (!u || !p || strcmp(p, s))
			abort();
	}
	em_arena_release(&a);
	return 0;
}

/* testutil.c - fixture paths, TSV reading, failure reports */
#include "testutil.h"

#include "util/str.h"
#include "cli/env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tu_fixture(const char *rel)
{
	static char path[4096];
	const char *dir = getenv("EM_FIXTURES");
	if (dir && *dir)
		snprintf(path, sizeof path, "%s/%s", dir, rel);
	else
		snprintf(path, sizeof path, "%s/tests/fixtures/%s", EM_SRCDIR, rel);
	return path;
}

char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		char *nb = realloc(buf, cap * 2 + 1);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	int err = ferror(f);
	fclose(f);
	if (!buf || err) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

int tu_tsv_open(struct tu_tsv *t, const char *path)
{
	memset(t, 0, sizeof *t);
	t->data = tu_read_file(path, &t->len);
	if (!t->data)
		return -1;
	t->scratch = malloc(t->len + 1);
	if (!t->scratch)
		return -1;
	/* skip the header */
	char *nl = memchr(t->data, '\n', t->len);
	t->pos = nl ? (size_t)(nl - t->data) + 1 : t->len;
	t->lineno = 1;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tu_tsv_next(struct tu_tsv *t)
{
	if (t->pos >= t->len)
		return 0;
	char *line = t->data + t->pos;
	char *end = memchr(line, '\n', t->len - t->pos);
	size_t n = end ? (size_t)(end - line) : t->len - t->pos;
	t->pos += n + (end ? 1 : 0);
	t->lineno++;
	/* unescape into scratch at the line's own offset: an escape never
	 * grows, and each separator becomes one NUL, so rows cannot overlap */
	char *o = t->scratch + (line - t->data);
	t->nf = 0;
	t->f[0] = o;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || line[i] == '\t') {
			if (t->nf < TU_TSV_MAX_FIELDS) {
				t->flen[t->nf] = (size_t)(o - t->f[t->nf]);
				*o++ = '\0';
				t->nf++;
				if (t->nf < TU_TSV_MAX_FIELDS)
					t->f[t->nf] = o;
			}
			continue;
		}
		char c = line[i];
		if (c == '\\' && i + 1 < n) {
			char d = line[i + 1];
			if (d == '\\') { *o++ = '\\'; i++; continue; }
			if (d == 't') { *o++ = '\t'; i++; continue; }
			if (d == 'n') { *o++ = '\n'; i++; continue; }
			if (d == 'r') { *o++ = '\r'; i++; continue; }
			int digits = d == 'u' ? 4 : d == 'U' ? 8 : 0;
			if (digits && i + 1 + (size_t)digits < n + 1) {
				uint32_t cp = 0;
				int ok = 1;
				for (int k = 0; k < digits; k++) {
					int h = hexval(line[i + 2 + k]);
					if (h < 0) { ok = 0; break; }
					cp = cp * 16 + (uint32_t)h;
				}
				if (ok) {
					o += em_utf8_encode(o, cp);
					i += 1 + (size_t)digits;
					continue;
				}
			}
		}
		*o++ = c;
	}
	return t->nf;
}

void tu_tsv_close(struct tu_tsv *t)
{
	free(t->data);
	free(t->scratch);
	memset(t, 0, sizeof *t);
}

void tu_report_init(struct tu_report *r, const char *what, unsigned max)
{
	memset(r, 0, sizeof *r);
	r->what = what;
	r->max = max;
}

void tu_report_fail(struct tu_report *r, const char *fmt, ...)
{
	r->failed++;
	if (r->shown >= r->max)
		return;
	r->shown++;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "  %s: ", r->what);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void tu_report_done(struct tu_report *r)
{
	if (r->failed) {
		if (r->failed > r->shown)
			fprintf(stderr, "  %s: ... and %u more\n", r->what, r->failed - r->shown);
		fail_msg("%s: %u of %u cases failed", r->what, r->failed, r->total);
	}
}

void tu_settings_from_env(void)
{
	cli_env_load();
}

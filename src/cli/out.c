/* out.c - diagnostics on stderr, with color only on a terminal */
#include "cli.h"

#include "envmatrix/error.h"
#include "util/buf.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct cli_global cli;

static void vmsg(const char *label, const char *color, const char *fmt, va_list ap)
{
	if (cli.color_err)
		fprintf(stderr, "envmatrix: \033[%sm%s:\033[0m ", color, label);
	else
		fprintf(stderr, "envmatrix: %s: ", label);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("error", "1;31", fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	if (cli.quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	vmsg("warning", "1;33", fmt, ap);
	va_end(ap);
}

void cli_warn_data(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("warning", "1;33", fmt, ap);
	va_end(ap);
}

int cli_report(const struct em_error *e)
{
	const char *msg = e->msg[0] ? e->msg : em_strerror(e->code);
	if (e->where[0])
		cli_error("%s: %s", e->where, msg);
	else
		cli_error("%s", msg);
	return e->code == EM_EUSAGE ? EXIT_USAGE : EXIT_FAIL;
}

int cli_usage_error(const struct cli_cmd_help *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("error", "1;31", fmt, ap);
	va_end(ap);
	cli_print_usage(stderr, h);
	fprintf(stderr, "see 'envmatrix %s --help'\n", h->name);
	return EXIT_USAGE;
}

int cli_read_lines(FILE *f, char ***out, char **storage)
{
	struct em_buf b = EM_BUF_INIT;
	b.max = (size_t)256 << 20;
	char chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (em_buf_add(&b, chunk, got))
			break;
	if (b.err || ferror(f)) {
		cli_error(b.err == EM_ELIMIT ? "standard input is larger than 256 MiB"
					     : "cannot read standard input");
		em_buf_release(&b);
		return -1;
	}
	size_t len;
	char *data = em_buf_detach(&b, &len);
	if (!data) {
		cli_error("out of memory");
		return -1;
	}
	size_t cap = 16, n = 0;
	char **lines = malloc(cap * sizeof *lines);
	if (!lines) {
		free(data);
		cli_error("out of memory");
		return -1;
	}
	char *p = data, *end = data + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *e = nl ? nl : end;
		char *le = e;
		if (le > p && le[-1] == '\r')
			le--;
		*le = '\0';
		if (le > p) {
			if (n + 1 >= cap) {
				char **nlines = realloc(lines, cap * 2 * sizeof *lines);
				if (!nlines) {
					free(lines);
					free(data);
					cli_error("out of memory");
					return -1;
				}
				lines = nlines;
				cap *= 2;
			}
			lines[n++] = p;
		}
		p = nl ? nl + 1 : end;
	}
	lines[n] = NULL;
	*out = lines;
	*storage = data;
	return (int)n;
}

void cli_put_kv(const char *key, const char *value, size_t n)
{
	fputs(key, stdout);
	putchar('\t');
	for (size_t i = 0; i < n; i++) {
		switch (value[i]) {
		case '\\': fputs("\\\\", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		default: putchar(value[i]); break;
		}
	}
	putchar('\n');
}

void cli_put_kvs(const char *key, const char *value)
{
	cli_put_kv(key, value ? value : "", value ? strlen(value) : 0);
}

json_t *cli_json_strings(const char *const *v, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, json_string(v[i]));
	return arr;
}

int cli_put_json(json_t *value)
{
	if (!value) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	int r = json_dumpf(value, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(value);
	if (r) {
		cli_error("cannot write the JSON output");
		return EXIT_FAIL;
	}
	putchar('\n');
	return EXIT_OK;
}

/* debug_metadata.c - `envmatrix debug metadata FILE`: what the resolver reads
 * from a METADATA / PKG-INFO file */
#include "cli.h"

#include "envmatrix/error.h"
#include "spec/metadata.h"
#include "util/arena.h"
#include "util/buf.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int opt_json;

static const struct cli_opt opts[] = {
	{ CLI_OPT_FLAG, 0, "json", NULL, "print a JSON object instead of lines", &opt_json },
	CLI_END_OPT
};

static const struct cli_cmd_help help = {
	"debug metadata",
	"FILE",
	"parse a METADATA or PKG-INFO file (FILE '-' reads standard input)",
	"Prints one 'key<TAB>value' line each for metadata-version, name, version\n"
	"and requires-python (empty when absent), then a 'requires-dist' line per\n"
	"Requires-Dist and a 'provides-extra' line per Provides-Extra, in file\n"
	"order. Backslash, tab, newline and carriage return in a value are written\n"
	"as \\\\, \\t, \\n and \\r. With --json the same keys form one JSON object\n"
	"(requires-python is null when absent; the lists are arrays).\n"
	"An invalid file is reported as FILE:LINE: message, with exit status 1.",
	opts
};

/* The whole file, at most one byte over the library's limit (it then
 * reports the size itself). NULL with the error printed. */
static char *read_input(const char *path, const char *label, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		cli_error("cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	struct em_buf b;
	em_buf_init(&b, (size_t)EM_METADATA_MAX_LEN + 1);
	char chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (b.len + got > b.max)
			got = b.max - b.len;
		if (em_buf_add(&b, chunk, got) || b.len == b.max)
			break;
	}
	int bad = ferror(f);
	int saved = errno;
	if (f != stdin)
		fclose(f);
	if (bad || b.err) {
		if (b.err == EM_ENOMEM)
			cli_error("%s: out of memory", label);
		else
			cli_error("cannot read '%s': %s", label, strerror(saved));
		em_buf_release(&b);
		return NULL;
	}
	char *data = em_buf_detach(&b, len);
	if (!data)
		cli_error("%s: out of memory", label);
	return data;
}

static void print_lines(const struct em_metadata *m)
{
	cli_put_kvs("metadata-version", m->metadata_version);
	cli_put_kvs("name", m->name);
	cli_put_kvs("version", m->version);
	cli_put_kvs("requires-python", m->requires_python);
	for (uint32_t i = 0; i < m->nrequires_dist; i++)
		cli_put_kvs("requires-dist", m->requires_dist[i]);
	for (uint32_t i = 0; i < m->nprovides_extra; i++)
		cli_put_kvs("provides-extra", m->provides_extra[i]);
}

/* The library checked that these fields are UTF-8, as JSON strings need. */
static json_t *string_array(const char *const *v, uint32_t n)
{
	json_t *arr = json_array();
	for (uint32_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, json_string(v[i]))) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

static int print_json(const struct em_metadata *m)
{
	json_t *o = json_object();
	if (!o || json_object_set_new(o, "metadata-version", json_string(m->metadata_version)) ||
	    json_object_set_new(o, "name", json_string(m->name)) ||
	    json_object_set_new(o, "version", json_string(m->version)) ||
	    json_object_set_new(o, "requires-python", m->requires_python
							      ? json_string(m->requires_python)
							      : json_null()) ||
	    json_object_set_new(o, "requires-dist",
				string_array(m->requires_dist, m->nrequires_dist)) ||
	    json_object_set_new(o, "provides-extra",
				string_array(m->provides_extra, m->nprovides_extra))) {
		json_decref(o);
		cli_error("cannot build the JSON output");
		return EXIT_FAIL;
	}
	return cli_put_json(o);
}

int debug_metadata(int argc, char **argv)
{
	int npos;
	opt_json = 0;
	int r = cli_parse(argc, argv, &help, &npos);
	if (r > 0)
		return EXIT_OK;
	if (r < 0)
		return EXIT_USAGE;
	if (npos == 0)
		return cli_usage_error(&help, "missing FILE");
	if (npos > 1)
		return cli_usage_error(&help, "expected one FILE, got %d arguments", npos);
	const char *path = argv[1];
	const char *label = strcmp(path, "-") ? path : "<stdin>";
	size_t len;
	char *data = read_input(path, label, &len);
	if (!data)
		return EXIT_FAIL;

	struct em_arena a;
	struct em_error e;
	struct em_metadata m;
	em_arena_init(&a);
	em_error_clear(&e);
	r = em_metadata_parse(&a, data, len, label, &m, &e);
	if (r) {
		r = cli_report(&e);
	} else {
		if (opt_json)
			r = print_json(&m);
		else {
			print_lines(&m);
			r = EXIT_OK;
		}
		if (fflush(stdout) || ferror(stdout)) {
			cli_error("cannot write the output");
			r = EXIT_FAIL;
		}
	}
	em_arena_release(&a);
	free(data);
	return r;
}

/* debug_lock.c - `envmatrix debug lock`: read a PEP 751 lock file */
#include "cli.h"

#include "envmatrix/error.h"
#include "os/fs.h"
#include "spec/lock.h"
#include "util/arena.h"

#include <jansson.h>
#include <string.h>

static int opt_json;

static const struct cli_opt lock_opts[] = {
	{ CLI_OPT_FLAG, 0, "json", NULL, "print a JSON object instead of lines", &opt_json },
	CLI_END_OPT,
};

static const struct cli_cmd_help lock_help = {
	"debug lock",
	"FILE",
	"read and check a PEP 751 lock file (pylock.toml), from envmatrix or another tool",
	"Prints 'key<TAB>value' lines for lock-version, created-by, requires-python\n"
	"(empty when absent) and one 'environment' line per marker, then one line\n"
	"per package: 'package<TAB>NAME<TAB>VERSION<TAB>FILE<TAB>SHA256<TAB>SIZE'\n"
	"for its first wheel (FILE, SHA256 and SIZE are empty for a package without\n"
	"wheels, SIZE when the lock gives none). The checks are those 'apply\n"
	"--frozen' makes before installing: an invalid file is reported as\n"
	"FILE:LINE: message, with exit status 1.",
	lock_opts,
};

int debug_lock(int argc, char **argv)
{
	opt_json = 0;
	int npos;
	int rc = cli_parse(argc, argv, &lock_help, &npos);
	if (rc)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	if (npos != 1)
		return cli_usage_error(&lock_help, "give one lock file");
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	char *buf;
	size_t len;
	struct em_lock l;
	int ret = EXIT_OK;
	if (em_read_file(&a, argv[1], EM_TOML_MAX_LEN, &buf, &len, &e) ||
	    em_lock_parse(&a, buf, len, argv[1], &l, &e)) {
		ret = cli_report(&e);
		goto out;
	}
	if (opt_json) {
		json_t *envs = cli_json_strings(l.environments, l.nenvironments);
		json_t *pkgs = json_array();
		for (uint32_t i = 0; i < l.npackages; i++) {
			const struct em_lock_package *p = &l.packages[i];
			const struct em_lock_file *w = p->nwheels ? &p->wheels[0] : NULL;
			json_array_append_new(
				pkgs, json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:o}", "name", p->name,
						"version", p->version, "file", w ? w->name : NULL,
						"sha256", w ? w->sha256 : NULL, "url",
						w ? (w->url ? w->url : w->path) : NULL, "size",
						w && w->size >= 0 ? json_integer(w->size) : json_null()));
		}
		ret = cli_put_json(json_pack("{s:s, s:s, s:s?, s:o, s:o}", "lock-version",
					     l.lock_version, "created-by", l.created_by,
					     "requires-python", l.requires_python, "environments",
					     envs, "packages", pkgs));
		goto out;
	}
	cli_put_kvs("lock-version", l.lock_version);
	cli_put_kvs("created-by", l.created_by);
	cli_put_kvs("requires-python", l.requires_python);
	for (uint32_t i = 0; i < l.nenvironments; i++)
		cli_put_kvs("environment", l.environments[i]);
	for (uint32_t i = 0; i < l.npackages; i++) {
		const struct em_lock_package *p = &l.packages[i];
		const struct em_lock_file *w = p->nwheels ? &p->wheels[0] : NULL;
		char size[32] = "";
		if (w && w->size >= 0)
			snprintf(size, sizeof size, "%lld", (long long)w->size);
		printf("package\t%s\t%s\t%s\t%s\t%s\n", p->name, p->version ? p->version : "",
		       w && w->name ? w->name : "", w && w->sha256 ? w->sha256 : "", size);
	}
out:
	em_arena_release(&a);
	return ret;
}

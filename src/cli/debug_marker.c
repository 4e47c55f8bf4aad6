/* debug_marker.c - `envmatrix debug marker` and `envmatrix debug requirement`:
 * PEP 508 markers and requirements, evaluated for a target */
#include "cli.h"

#include "envmatrix/error.h"
#include "spec/name.h"
#include "spec/pep440.h"
#include "spec/pep508.h"
#include "spec/target.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"

#include <stdlib.h>
#include <string.h>

static const char *opt_python, *opt_target, *opt_extra;
static struct cli_list opt_env;

static const struct cli_opt opts[] = {
	{ CLI_OPT_STRING, 't', "target", "PLATFORM",
	  "the platform (default auto: this machine)", &opt_target },
	{ CLI_OPT_STRING, 'p', "python", "X.Y[.Z]", "the CPython version (default 3.12)",
	  &opt_python },
	{ CLI_OPT_STRING, 'e', "extra", "NAME", "the extra being installed (default none)",
	  &opt_extra },
	{ CLI_OPT_LIST, 0, "env", "KEY=VALUE", "set a marker variable (repeatable)", &opt_env },
	CLI_END_OPT
};

#define ENV_HELP \
	"The environment is the one pypa/packaging would report on the target:\n" \
	"os_name, sys_platform, platform_system and platform_machine from\n" \
	"--target, python_version, python_full_version and implementation_version\n" \
	"from --python (3.12 means 3.12.0). platform_release and platform_version\n" \
	"are only known for the host (--target auto); a marker that reads an\n" \
	"unknown variable is an error naming it. 'extra' is --extra, or empty.\n" \
	"--env KEY=VALUE sets any variable, overriding the target's; for 'extras'\n" \
	"and 'dependency_groups' (PEP 751 lock files) VALUE is a comma-separated\n" \
	"list, and they are undefined unless given. Other KEYs are names that\n" \
	"packaging may look up (a quoted string on both sides reads the right one\n" \
	"as a variable name).\n\n" \
	"PLATFORM is auto, linux-ARCH[-glibcX.Y|-muslX.Y], windows-x86_64|arm64|x86,\n" \
	"macos-arm64|x86_64[-X.Y], or a wheel platform tag such as win_amd64.\n"

static const struct cli_cmd_help marker_help = {
	"debug marker",
	"MARKER",
	"evaluate a PEP 508 environment marker for a target: print true or false",
	"Parsing and evaluation follow pypa/packaging 26.x: version variables\n"
	"compare as PEP 440 versions when the operator and value form a specifier\n"
	"(pre-releases included), everything else as strings (== and != equality,\n"
	"<= and >= equality too, < and > never true, in and not in substrings);\n"
	"extra names compare after PEP 685 normalization. An invalid marker, or\n"
	"one packaging cannot evaluate, is an error with exit status 1.\n\n" ENV_HELP,
	opts
};

static const struct cli_cmd_help requirement_help = {
	"debug requirement",
	"REQUIREMENT",
	"parse a PEP 508 requirement and say whether it applies to a target",
	"Prints 'key<TAB>value' lines: name (as written), canonical (its PEP 503\n"
	"form), extras (sorted, as written, joined with ','), specifier\n"
	"(packaging's canonical form), marker (normalized; empty when there is\n"
	"none), url (empty when there is none) and applies (true or false: whether\n"
	"the marker holds on the target with --extra active). Backslash, tab,\n"
	"newline and carriage return in a value are written as \\\\, \\t, \\n and\n"
	"\\r. An invalid requirement, or a marker that cannot be evaluated, is an\n"
	"error with exit status 1 and nothing on standard output.\n\n" ENV_HELP,
	opts
};

/* Everything the environment's strings point into, and what the command
 * works with. */
struct env_ctx {
	struct em_arena a;
	struct em_error e;
	struct em_target target;
	struct em_target_env tenv;
	struct em_marker_kv other[64];
	const char *extras[64];
	const char *groups[64];
	char *storage; /* copies of the --env set values, split on ',' */
};

static size_t split_set(char *s, const char **out, size_t max)
{
	size_t n = 0;
	if (!*s)
		return 0;
	for (char *p = s; n < max; ) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		out[n++] = p;
		if (!comma)
			break;
		p = comma + 1;
	}
	return n;
}

/* Options, the target and its environment; returns -1 to go on, else the
 * exit status. Either way, finish releases c. */
static int setup(int argc, char **argv, const struct cli_cmd_help *h, struct env_ctx *c,
		 const char **arg)
{
	opt_python = opt_target = opt_extra = NULL;
	memset(&opt_env, 0, sizeof opt_env);
	memset(c, 0, sizeof *c);
	em_arena_init(&c->a);
	int npos;
	int rc = cli_parse(argc, argv, h, &npos);
	if (rc)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	const char *what = h == &marker_help ? "MARKER" : "REQUIREMENT";
	if (npos == 0)
		return cli_usage_error(h, "missing %s", what);
	if (npos > 1)
		return cli_usage_error(h, "expected one %s, got %d arguments (quote it)", what, npos);
	*arg = argv[1];
	for (int i = 0; i < opt_env.n; i++) {
		const char *eq = strchr(opt_env.items[i], '=');
		if (!eq || eq == opt_env.items[i])
			return cli_usage_error(h, "--env takes KEY=VALUE, not '%s'", opt_env.items[i]);
	}
	rc = cli_target(opt_target, opt_python, &c->target);
	if (rc)
		return rc;
	em_target_marker_env(&c->target, &c->tenv);
	struct em_marker_env *env = &c->tenv.env;
	env->var[EM_MV_EXTRA] = opt_extra ? opt_extra : "";

	size_t total = 0;
	for (int i = 0; i < opt_env.n; i++)
		total += strlen(opt_env.items[i]) + 1;
	c->storage = malloc(total + 1);
	if (!c->storage) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	char *st = c->storage;
	env->other = c->other;
	for (int i = 0; i < opt_env.n; i++) {
		const char *item = opt_env.items[i];
		const char *eq = strchr(item, '=');
		size_t kl = (size_t)(eq - item);
		const char *val = eq + 1;
		int var = -1;
		for (int v = 0; v < EM_MV_COUNT; v++)
			if (em_str_eq(item, kl, em_marker_var_name((enum em_marker_var)v)))
				var = v;
		if (var >= 0) {
			env->var[var] = val;
		} else if (em_str_eq(item, kl, "extras") || em_str_eq(item, kl, "dependency_groups")) {
			bool ex = item[0] == 'e';
			strcpy(st, val);
			size_t n = split_set(st, ex ? c->extras : c->groups, 64);
			st += strlen(val) + 1;
			if (ex) {
				env->extras_defined = true;
				env->extras = c->extras;
				env->nextras = n;
			} else {
				env->groups_defined = true;
				env->dependency_groups = c->groups;
				env->ngroups = n;
			}
		} else {
			memcpy(st, item, kl);
			st[kl] = '\0';
			c->other[env->nother].name = st;
			c->other[env->nother].value = val;
			env->nother++;
			st += kl + 1;
		}
	}
	return -1;
}

static int finish(struct env_ctx *c, int rc)
{
	em_arena_release(&c->a);
	free(c->storage);
	return rc;
}

/* An evaluation error, with the input it came from in front. */
static int report_eval(struct em_error *e, const char *what, const char *text)
{
	char q[160];
	em_quote(q, sizeof q, text, strlen(text));
	em_err_prefix_where(e, "%s '%s'", what, q);
	int rc = cli_report(e);
	if (e->code == EM_EUNDEFINED)
		fprintf(stderr, "envmatrix: hint: define it with --env NAME=VALUE\n");
	return rc;
}

int debug_marker(int argc, char **argv)
{
	struct env_ctx c;
	const char *text = NULL;
	int rc = setup(argc, argv, &marker_help, &c, &text);
	if (rc >= 0)
		return finish(&c, rc);
	struct em_marker *m;
	bool res = false;
	if (em_marker_parse(&c.a, text, strlen(text), &m, &c.e)) {
		rc = cli_report(&c.e);
	} else if (em_marker_eval(m, &c.tenv.env, &res, &c.e)) {
		rc = report_eval(&c.e, "marker", text);
	} else {
		puts(res ? "true" : "false");
		rc = EXIT_OK;
	}
	return finish(&c, rc);
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

int debug_requirement(int argc, char **argv)
{
	struct env_ctx c;
	const char *text = NULL;
	int rc = setup(argc, argv, &requirement_help, &c, &text);
	if (rc >= 0)
		return finish(&c, rc);
	struct em_requirement r;
	struct em_buf spec = EM_BUF_INIT, marker = EM_BUF_INIT, extras = EM_BUF_INIT;
	bool applies = false;
	if (em_requirement_parse(&c.a, text, strlen(text), &r, &c.e)) {
		rc = cli_report(&c.e);
		goto out;
	}
	if (em_requirement_applies(&r, &c.tenv.env, opt_extra, &applies, &c.e)) {
		rc = report_eval(&c.e, "requirement", text);
		goto out;
	}
	if (r.marker && em_marker_format(r.marker, &marker) == EM_EINVAL) {
		cli_error("the marker of '%s' holds a value with both kinds of quote and cannot "
			  "be written", text);
		rc = EXIT_FAIL;
		goto out;
	}
	em_specset_format(&r.spec, &spec);
	const char **sorted = r.nextras ? malloc(r.nextras * sizeof *sorted) : NULL;
	if (r.nextras && sorted) {
		memcpy(sorted, r.extras, r.nextras * sizeof *sorted);
		qsort(sorted, r.nextras, sizeof *sorted, cmp_str);
		for (uint32_t i = 0; i < r.nextras; i++) {
			if (i)
				em_buf_addc(&extras, ',');
			em_buf_addstr(&extras, sorted[i]);
		}
	}
	free(sorted);
	char *canon = em_name_canonical(&c.a, r.name, strlen(r.name));
	if ((r.nextras && !sorted) || !canon || spec.err || marker.err || extras.err) {
		cli_error("out of memory");
		rc = EXIT_FAIL;
		goto out;
	}
	cli_put_kv("name", r.name, strlen(r.name));
	cli_put_kv("canonical", canon, strlen(canon));
	cli_put_kv("extras", extras.ptr, extras.len);
	cli_put_kv("specifier", spec.ptr, spec.len);
	cli_put_kv("marker", marker.ptr, marker.len);
	cli_put_kv("url", r.url ? r.url : "", r.url ? strlen(r.url) : 0);
	cli_put_kv("applies", applies ? "true" : "false", applies ? 4 : 5);
	rc = EXIT_OK;
out:
	em_buf_release(&spec);
	em_buf_release(&marker);
	em_buf_release(&extras);
	return finish(&c, rc);
}

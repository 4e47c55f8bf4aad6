/* debug_version.c - `envmatrix debug version|specifier|name` */
#include "cli.h"

#include "envmatrix/error.h"
#include "spec/name.h"
#include "spec/pep440.h"
#include "util/arena.h"
#include "util/buf.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Arguments, or stdin's lines when there are none. */
struct inputs {
	int n;
	char **items;
	char **lines;
	char *storage;
};

static int get_inputs(int npos, char **pos, struct inputs *in)
{
	memset(in, 0, sizeof *in);
	if (npos > 0) {
		in->n = npos;
		in->items = pos;
		return 0;
	}
	int n = cli_read_lines(stdin, &in->lines, &in->storage);
	if (n < 0)
		return -1;
	in->n = n;
	in->items = in->lines;
	return 0;
}

static void free_inputs(struct inputs *in)
{
	free(in->lines);
	free(in->storage);
}

/* ---- debug version ---- */

static int sort_flag, json_flag, compare_flag;

static const struct cli_opt version_opts[] = {
	{ CLI_OPT_FLAG, 's', "sort", NULL, "print in ascending order", &sort_flag },
	{ CLI_OPT_FLAG, 'c', "compare", NULL, "compare two versions: print <, == or >", &compare_flag },
	{ CLI_OPT_FLAG, 0, "json", NULL, "print each version's parts as JSON", &json_flag },
	CLI_END_OPT,
};

static const struct cli_cmd_help version_help = {
	"debug version",
	"[VERSION...]",
	"parse PEP 440 versions and print each normalized, one per line",
	"Versions come from the arguments, or one per line from standard input.\n"
	"With --sort they are printed in ascending PEP 440 order (equal versions\n"
	"keep their input order). With --compare, exactly two versions are\n"
	"compared. An invalid version is an error naming it; nothing is printed.",
	version_opts,
};

struct item {
	struct em_version v;
	const char *input;
	int index;
};

static int cmp_items(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	int r = em_version_cmp(&a->v, &b->v);
	if (r)
		return r;
	return (a->index > b->index) - (a->index < b->index);
}

static json_t *version_json(const struct item *it)
{
	const struct em_version *v = &it->v;
	json_t *o = json_object();
	json_t *rel = json_array();
	for (uint32_t k = 0; k < v->nrelease; k++)
		json_array_append_new(rel, json_integer((json_int_t)v->release[k]));
	static const char *const pre_txt[] = { "", "a", "b", "rc" };
	struct em_buf pub = EM_BUF_INIT;
	em_version_format_public(v, &pub);
	const char *plus = strchr(v->str, '+');
	json_object_set_new(o, "input", json_string(it->input));
	json_object_set_new(o, "normalized", json_string(v->str));
	json_object_set_new(o, "public", json_string(pub.ptr));
	json_object_set_new(o, "epoch", json_integer((json_int_t)v->epoch));
	json_object_set_new(o, "release", rel);
	json_object_set_new(o, "pre", v->pre_kind ? json_pack("[s,I]", pre_txt[v->pre_kind],
							      (json_int_t)v->pre)
						  : json_null());
	json_object_set_new(o, "post", v->has_post ? json_integer((json_int_t)v->post) : json_null());
	json_object_set_new(o, "dev", v->has_dev ? json_integer((json_int_t)v->dev) : json_null());
	json_object_set_new(o, "local", plus ? json_string(plus + 1) : json_null());
	json_object_set_new(o, "is_prerelease", json_boolean(em_version_is_prerelease(v)));
	em_buf_release(&pub);
	return o;
}

int debug_version(int argc, char **argv)
{
	sort_flag = json_flag = compare_flag = 0;
	int npos;
	int rc = cli_parse(argc, argv, &version_help, &npos);
	if (rc)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	if (sort_flag + compare_flag + json_flag > 1)
		return cli_usage_error(&version_help, "--sort, --compare and --json go alone");
	if (compare_flag && npos != 2)
		return cli_usage_error(&version_help, "--compare takes exactly two versions");

	struct inputs in;
	if (get_inputs(npos, argv + 1, &in))
		return EXIT_FAIL;
	struct em_arena a;
	em_arena_init(&a);
	int ret = EXIT_OK;
	struct item *items = calloc((size_t)in.n + 1, sizeof *items);
	if (!items) {
		cli_error("out of memory");
		ret = EXIT_FAIL;
		goto out;
	}
	for (int i = 0; i < in.n; i++) {
		struct em_error e = { 0 };
		if (em_version_parse(&a, in.items[i], strlen(in.items[i]), &items[i].v, &e)) {
			ret = cli_report(&e);
			goto out;
		}
		items[i].input = in.items[i];
		items[i].index = i;
	}
	if (compare_flag) {
		int r = em_version_cmp(&items[0].v, &items[1].v);
		puts(r < 0 ? "<" : r > 0 ? ">" : "==");
		goto out;
	}
	if (sort_flag)
		qsort(items, (size_t)in.n, sizeof *items, cmp_items);
	if (json_flag) {
		json_t *arr = json_array();
		for (int i = 0; i < in.n; i++)
			json_array_append_new(arr, version_json(&items[i]));
		ret = cli_put_json(arr);
		goto out;
	}
	for (int i = 0; i < in.n; i++)
		puts(items[i].v.str);
out:
	free(items);
	em_arena_release(&a);
	free_inputs(&in);
	return ret;
}

/* ---- debug specifier ---- */

static int pre_flag, contains_flag;

static const struct cli_opt spec_opts[] = {
	{ CLI_OPT_FLAG, 0, "pre", NULL, "allow pre-releases", &pre_flag },
	{ CLI_OPT_FLAG, 0, "contains", NULL,
	  "judge each version alone, not as one of the candidates", &contains_flag },
	CLI_END_OPT,
};

static const struct cli_cmd_help spec_help = {
	"debug specifier",
	"SPEC [VERSION...]",
	"print VERSION<TAB>yes|no for each version: may an installer choose it for SPEC?",
	"SPEC is a PEP 440 specifier set such as '>=2.6,<2.9' or '==2.8.*' (an\n"
	"empty SPEC allows every version). Versions come from the arguments, or\n"
	"one per line from standard input, and are printed as given.\n"
	"\n"
	"The versions are treated as the candidates an installer chooses from:\n"
	"pre-releases are allowed only with --pre, when SPEC names a pre-release,\n"
	"or when no final release matches. With --contains each version is\n"
	"judged alone (a lone pre-release then matches), as packaging's\n"
	"SpecifierSet.contains() does. A string that is not a valid version\n"
	"matches only '===' (or an empty SPEC).",
	spec_opts,
};

int debug_specifier(int argc, char **argv)
{
	pre_flag = contains_flag = 0;
	int npos;
	int rc = cli_parse(argc, argv, &spec_help, &npos);
	if (rc)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	if (npos < 1)
		return cli_usage_error(&spec_help, "missing SPEC");

	struct em_arena a;
	em_arena_init(&a);
	struct em_specset set;
	struct em_error e = { 0 };
	const char *spec = argv[1];
	if (em_specset_parse(&a, spec, strlen(spec), &set, &e)) {
		em_arena_release(&a);
		return cli_report(&e);
	}
	struct inputs in;
	if (get_inputs(npos - 1, argv + 2, &in)) {
		em_arena_release(&a);
		return EXIT_FAIL;
	}
	enum em_pre_mode mode = pre_flag ? EM_PRE_ALLOW : EM_PRE_DEFAULT;
	int ret = EXIT_OK;
	size_t n = (size_t)in.n;
	struct em_version *vs = calloc(n + 1, sizeof *vs);
	bool *valid = calloc(n + 1, sizeof *valid);
	bool *keep = calloc(n + 1, sizeof *keep);
	const struct em_version **cand = calloc(n + 1, sizeof *cand);
	if (!vs || !valid || !keep || !cand) {
		cli_error("out of memory");
		ret = EXIT_FAIL;
		goto out;
	}
	size_t ncand = 0;
	for (size_t i = 0; i < n; i++) {
		valid[i] = !em_version_parse(&a, in.items[i], strlen(in.items[i]), &vs[i], NULL);
		if (valid[i])
			cand[ncand++] = &vs[i];
	}
	if (!contains_flag && !set.has_arbitrary) {
		bool *ck = calloc(ncand + 1, sizeof *ck);
		if (!ck) {
			cli_error("out of memory");
			ret = EXIT_FAIL;
			goto out;
		}
		em_specset_filter(&set, cand, ncand, mode, ck);
		for (size_t i = 0, j = 0; i < n; i++)
			keep[i] = valid[i] ? ck[j++]
					   : em_specset_contains(&set, in.items[i], strlen(in.items[i]),
								 NULL, mode);
		free(ck);
	} else {
		/* === compares raw text, so judge each input as written */
		for (size_t i = 0; i < n; i++)
			keep[i] = em_specset_contains(&set, in.items[i], strlen(in.items[i]),
						      valid[i] ? &vs[i] : NULL, mode);
	}
	for (size_t i = 0; i < n; i++)
		printf("%s\t%s\n", in.items[i], keep[i] ? "yes" : "no");
out:
	free(vs);
	free(valid);
	free(keep);
	free(cand);
	free_inputs(&in);
	em_arena_release(&a);
	return ret;
}

/* ---- debug name ---- */

static const struct cli_opt name_opts[] = {
	CLI_END_OPT,
};

static const struct cli_cmd_help name_help = {
	"debug name",
	"[NAME...]",
	"print each project name normalized (PEP 503), one per line",
	"Names come from the arguments, or one per line from standard input. A\n"
	"name that is not a valid PEP 508 name is an error naming it.",
	name_opts,
};

int debug_name(int argc, char **argv)
{
	int npos;
	int rc = cli_parse(argc, argv, &name_help, &npos);
	if (rc)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	struct inputs in;
	if (get_inputs(npos, argv + 1, &in))
		return EXIT_FAIL;
	int ret = EXIT_OK;
	for (int i = 0; i < in.n; i++) {
		if (!em_name_is_valid(in.items[i], strlen(in.items[i]))) {
			char q[160];
			cli_error("invalid project name '%s': use letters, digits, and '.', '-', '_' "
				  "inside",
				  em_quote(q, sizeof q, in.items[i], strlen(in.items[i])));
			ret = EXIT_FAIL;
			goto out;
		}
	}
	for (int i = 0; i < in.n; i++) {
		size_t l = strlen(in.items[i]);
		char *c = malloc(l + 1);
		if (!c) {
			cli_error("out of memory");
			ret = EXIT_FAIL;
			goto out;
		}
		em_name_canonical_buf(in.items[i], l, c, l + 1);
		puts(c);
		free(c);
	}
out:
	free_inputs(&in);
	return ret;
}

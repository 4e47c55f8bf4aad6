/* opt.c - command-line options and per-command help */
#include "cli.h"

#include "cli/env.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool cli_color_when(const char *when, int fd)
{
	if (!strcmp(when, "always"))
		return true;
	if (!strcmp(when, "never"))
		return false;
	const char *nc = cli_env()->no_color;
	if (nc && *nc)
		return false;
	const char *term = cli_env()->term;
	if (term && !strcmp(term, "dumb"))
		return false;
	return isatty(fd);
}

bool cli_color_valid(const char *when)
{
	return !strcmp(when, "auto") || !strcmp(when, "always") || !strcmp(when, "never");
}

/* The global options (main.c) after the command: -q, -v, --quiet,
 * --verbose, --color=WHEN. Returns 1 when a is one (applied), 0 when not,
 * -1 after a usage error. */
static int global_long(const struct cli_cmd_help *h, const char *name, size_t n, const char *eq)
{
	if ((n == 5 && !memcmp(name, "quiet", 5)) || (n == 7 && !memcmp(name, "verbose", 7))) {
		if (eq) {
			cli_usage_error(h, "option '--%.*s' takes no value", (int)n, name);
			return -1;
		}
		if (name[0] == 'q')
			cli.quiet = 1;
		else
			cli.verbose++;
		return 1;
	}
	if (n == 5 && !memcmp(name, "color", 5)) {
		if (!eq || !cli_color_valid(eq + 1)) {
			cli_usage_error(h, "--color takes auto, always or never%s%s%s",
					eq ? ", not '" : " (--color=WHEN)", eq ? eq + 1 : "", eq ? "'" : "");
			return -1;
		}
		cli.color_out = cli_color_when(eq + 1, 1);
		cli.color_err = cli_color_when(eq + 1, 2);
		return 1;
	}
	return 0;
}

static const struct cli_opt *find_long(const struct cli_opt *opts, const char *name, size_t n)
{
	for (const struct cli_opt *o = opts; o && o->type != CLI_OPT_END; o++)
		if (o->long_name && strlen(o->long_name) == n && !memcmp(o->long_name, name, n))
			return o;
	return NULL;
}

static const struct cli_opt *find_short(const struct cli_opt *opts, char c)
{
	for (const struct cli_opt *o = opts; o && o->type != CLI_OPT_END; o++)
		if (o->short_name && o->short_name == c)
			return o;
	return NULL;
}

static int set_value(const struct cli_cmd_help *h, const struct cli_opt *o, const char *arg)
{
	switch (o->type) {
	case CLI_OPT_FLAG:
		*(int *)o->value = 1;
		return 0;
	case CLI_OPT_STRING:
		*(const char **)o->value = arg;
		return 0;
	case CLI_OPT_LIST: {
		struct cli_list *l = o->value;
		if (l->n >= (int)(sizeof l->items / sizeof l->items[0])) {
			cli_usage_error(h, "too many '--%s' options", o->long_name);
			return -1;
		}
		l->items[l->n++] = arg;
		return 0;
	}
	case CLI_OPT_END:
		break;
	}
	return -1;
}

int cli_parse(int argc, char **argv, const struct cli_cmd_help *h, int *npos)
{
	int pos = 1; /* next slot for a positional argument */
	bool only_pos = false;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (only_pos || a[0] != '-' || a[1] == '\0') {
			argv[pos++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = true;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cli_print_help(stdout, h);
			return 1;
		}
		if (a[1] == '-') {
			const char *name = a + 2;
			const char *eq = strchr(name, '=');
			size_t n = eq ? (size_t)(eq - name) : strlen(name);
			const struct cli_opt *o = find_long(h->opts, name, n);
			if (!o) {
				int g = global_long(h, name, n, eq);
				if (g < 0)
					return -1;
				if (g)
					continue;
				cli_usage_error(h, "unknown option '--%.*s'", (int)n, name);
				return -1;
			}
			const char *arg = NULL;
			if (o->type == CLI_OPT_FLAG) {
				if (eq) {
					cli_usage_error(h, "option '--%s' takes no value", o->long_name);
					return -1;
				}
			} else if (eq) {
				arg = eq + 1;
			} else if (i + 1 < argc) {
				arg = argv[++i];
			} else {
				cli_usage_error(h, "option '--%s' needs a value", o->long_name);
				return -1;
			}
			if (set_value(h, o, arg))
				return -1;
			continue;
		}
		/* one or more short options: -qv, -pVALUE, -p VALUE */
		for (const char *c = a + 1; *c; c++) {
			const struct cli_opt *o = find_short(h->opts, *c);
			if (!o && (*c == 'q' || *c == 'v')) {
				/* the global -q and -v, after the command */
				if (*c == 'q')
					cli.quiet = 1;
				else
					cli.verbose++;
				continue;
			}
			if (!o) {
				cli_usage_error(h, "unknown option '-%c'", *c);
				return -1;
			}
			if (o->type == CLI_OPT_FLAG) {
				set_value(h, o, NULL);
				continue;
			}
			const char *arg;
			if (c[1]) {
				arg = c + 1;
			} else if (i + 1 < argc) {
				arg = argv[++i];
			} else {
				cli_usage_error(h, "option '-%c' needs a value", *c);
				return -1;
			}
			if (set_value(h, o, arg))
				return -1;
			break;
		}
	}
	*npos = pos - 1;
	return 0;
}

void cli_print_usage(FILE *f, const struct cli_cmd_help *h)
{
	/* every option of the table once, then the positional arguments */
	fprintf(f, "usage: envmatrix %s", h->name);
	for (const struct cli_opt *o = h->opts; o && o->type != CLI_OPT_END; o++) {
		if (o->short_name)
			fprintf(f, " [-%c", o->short_name);
		else
			fprintf(f, " [--%s", o->long_name);
		if (o->type != CLI_OPT_FLAG && o->argname)
			fprintf(f, " %s", o->argname);
		fputs(o->type == CLI_OPT_LIST ? "]..." : "]", f);
	}
	fprintf(f, "%s%s\n", h->usage && *h->usage ? " " : "", h->usage ? h->usage : "");
}

void cli_print_help(FILE *f, const struct cli_cmd_help *h)
{
	cli_print_usage(f, h);
	fprintf(f, "\n%s\n", h->summary);
	if (h->details) {
		size_t dl = strlen(h->details);
		while (dl && h->details[dl - 1] == '\n')
			dl--;
		fprintf(f, "\n%.*s\n", (int)dl, h->details);
	}
	if (!h->opts || h->opts->type == CLI_OPT_END)
		return;
	fprintf(f, "\noptions:\n");
	for (const struct cli_opt *o = h->opts; o->type != CLI_OPT_END; o++) {
		char left[64];
		int n = 0;
		if (o->short_name && o->long_name)
			n = snprintf(left, sizeof left, "-%c, --%s", o->short_name, o->long_name);
		else if (o->long_name)
			n = snprintf(left, sizeof left, "    --%s", o->long_name);
		else
			n = snprintf(left, sizeof left, "-%c", o->short_name);
		if (o->type != CLI_OPT_FLAG && o->argname && n > 0 && (size_t)n < sizeof left)
			snprintf(left + n, sizeof left - (size_t)n, " %s", o->argname);
		fprintf(f, "  %-26s %s\n", left, o->help);
	}
	fprintf(f, "  %-26s %s\n", "-h, --help", "show this help");
	fprintf(f, "  %-26s %s\n", "-q, -v, --color=WHEN",
		"the global options, here or before the command ('envmatrix --help')");
}

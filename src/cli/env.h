/* env.h - the one place the CLI reads environment variables
 *
 * cli_env_load reads them once, at the start of main: envmatrix's own
 * (ENVMATRIX_*) become the library's settings (settings.h, installed here
 * with the CLI's phrases, over the user's world the library's defaults
 * read through the platform layer), what only the CLI uses stays in
 * struct cli_env. No other file of the CLI or the library calls getenv.
 */
#ifndef ENVMATRIX_CLI_ENV_H
#define ENVMATRIX_CLI_ENV_H

/* What only the CLI uses (NULL when unset) */
struct cli_env {
	const char *no_color; /* NO_COLOR: no colors when set and not empty */
	const char *term;     /* TERM: no colors, no progress line when "dumb" */
	const char *shell;    /* SHELL: the shell 'envmatrix shell' writes for */
};

/* Read the environment, install the library's settings from it and keep
 * the CLI's own values. Again after the environment changed (tests) reads
 * it anew. */
void cli_env_load(void);

/* The CLI's own values (cli_env_load first). */
const struct cli_env *cli_env(void);

/* PATH as it is now: 'envmatrix run' sets the workload's variables, PATH
 * among them, before it puts the environment's bin folder in front. */
const char *cli_env_path_now(void);

#endif

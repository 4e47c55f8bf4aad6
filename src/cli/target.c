/* target.c - the target a debug command plans for (--target, --python) */
#include "cli.h"

#include "envmatrix/error.h"
#include "host.h"
#include "spec/target.h"

#include <string.h>
#include <strings.h>

int cli_target(const char *platform, const char *python, struct em_target *t)
{
	struct em_error e;
	em_error_clear(&e);
	memset(t, 0, sizeof *t);
	if (!platform || !strcasecmp(platform, "auto")) {
		if (em_host_platform(&t->plat, &e))
			return cli_report(&e);
	} else if (em_platform_parse(platform, &t->plat, &e)) {
		cli_report(&e);
		return EXIT_USAGE;
	}
	if (em_python_parse(python ? python : "3.12", &t->py, &e)) {
		cli_report(&e);
		return EXIT_USAGE;
	}
	return 0;
}

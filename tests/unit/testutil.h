/* testutil.h - helpers shared by the cmocka unit tests */
#ifndef ENVMATRIX_TESTUTIL_H
#define ENVMATRIX_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Path of a file under tests/fixtures ($EM_FIXTURES overrides the folder). */
const char *tu_fixture(const char *rel);

/* Whole file, NUL-terminated; NULL when it cannot be read. Free with free(). */
char *tu_read_file(const char *path, size_t *len);

#define TU_TSV_MAX_FIELDS 16

/* A conformance TSV file: header line skipped, fields split on TAB and
 * unescaped (\\ \t \n \r \uXXXX \UXXXXXXXX), so a field may hold NUL. */
struct tu_tsv {
	char *data;
	size_t len, pos;
	unsigned lineno;
	int nf;
	char *f[TU_TSV_MAX_FIELDS];
	size_t flen[TU_TSV_MAX_FIELDS];
	char *scratch;
};

int tu_tsv_open(struct tu_tsv *t, const char *path); /* 0 or -1 */
/* Next row: number of fields, or 0 at the end. */
int tu_tsv_next(struct tu_tsv *t);
void tu_tsv_close(struct tu_tsv *t);

/* Report a failed case without stopping: prints the first max of them and
 * counts all. tu_report_done() fails the test when any was counted. */
struct tu_report {
	const char *what;
	unsigned failed, total, shown, max;
};
void tu_report_init(struct tu_report *r, const char *what, unsigned max);
void tu_report_fail(struct tu_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tu_report_done(struct tu_report *r);

/* Install the library's settings as the CLI does (src/cli/env.c): from the
 * environment as it is now, with the CLI's phrases. A test that relies on
 * an environment variable reaching the library calls this first, and again
 * after it changes the variable. */
void tu_settings_from_env(void);

#endif

/* test_safety.c - what the swap, rollback and the folder checks never lose
 * (swap.c, docs/safety.md), with hand-made environment folders (a
 * pyvenv.cfg is all the swap looks at), so no interpreter is needed:
 *
 *   - a snapshot envmatrix did not make is kept as <snapshot>.N, never
 *     deleted; one it made (marker + envmatrix's pyvenv.cfg) is replaced;
 *   - the marker goes into the snapshot only when envmatrix built it, and
 *     leaves an environment coming back from the snapshot's place;
 *   - a target without pyvenv.cfg is refused, an empty one removed;
 *   - rollback refuses non-environments on either side;
 *   - em_matrix_check_folders: the state folder, the history, and one
 *     folder under two names (a symlink, an absolute path).
 */
#include "testutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envmatrix/envmatrix.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"
#include "spec/name.h"
#include "spec/pep440.h"
#include "spec/pep508.h"
#include "spec/target.h"
#include "spec/tags.h"
#include "spec/metadata.h"
#include "host.h"
#include "util/sha256.h"
#include "os/fs.h"
#include "archive.h"
#include "spec/index.h"
#include "source.h"
#include "os/proc.h"
#include "interp.h"
#include "spec/matrix.h"
#include "spec/lock.h"
#include "lockname.h"
#include "spec/candidates.h"
#include "spec/resolve.h"
#include "gpu.h"
#include "plan.h"
#include "install.h"
#include "venv.h"
#include "http.h"
#include "cache.h"
#include "install_set.h"
#include "swap.h"
#include "apply_lock.h"
#include "apply.h"
#include "mirror.h"
#include "doctor.h"
#include "verify.h"
#include "history.h"
#include "rev.h"
#include "os/fs.h"

struct fx {
	char dir[PATH_MAX];
	struct em_arena a;
	struct em_error e;
	struct em_venv_paths p;
};

static const char *P(struct fx *f, const char *rel)
{
	return em_arena_printf(&f->a, "%s/%s", f->dir, rel);
}

static void put(const char *path, const char *data)
{
	char *dir = strdup(path);
	assert_non_null(dir);
	*strrchr(dir, '/') = '\0';
	struct em_error e;
	assert_int_equal(em_mkdir_p(dir, &e), 0);
	free(dir);
	assert_int_equal(em_write_file_atomic(path, data, strlen(data), 0644, &e), 0);
}

static bool there(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static char *in(struct fx *f, const char *dir, const char *name)
{
	return em_arena_printf(&f->a, "%s/%s", dir, name);
}

/* an environment: envmatrix's (its pyvenv.cfg keys) or a user's */
static void venv(struct fx *f, const char *dir, bool ours, const char *tag)
{
	put(in(f, dir, "pyvenv.cfg"), ours ? "home = /usr/bin\nversion = 3.11.2\n"
					      "envmatrix.workload = w\n"
					    : "home = /usr/bin\nversion = 3.11.2\n");
	put(in(f, dir, "TAG"), tag);
}

static char *tag(struct fx *f, const char *dir)
{
	char *text;
	size_t len;
	struct em_error e;
	return em_read_file(&f->a, in(f, dir, "TAG"), 4096, &text, &len, &e) == 0 ? text : NULL;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/envmatrix-safety.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	char *real = realpath(f->dir, NULL);
	if (real) {
		snprintf(f->dir, sizeof f->dir, "%s", real);
		free(real);
	}
	em_arena_init(&f->a);
	em_error_clear(&f->e);
	f->p.workload = "w";
	f->p.root = P(f, ".venv");
	f->p.snapshot = P(f, ".venv-original");
	f->p.staging = P(f, ".venv.envmatrix-staging");
	f->p.trash = P(f, ".venv.envmatrix-trash");
	f->p.journal = P(f, ".venv.envmatrix-swap");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	em_remove_tree(f->dir, NULL);
	em_arena_release(&f->a);
	free(f);
	return 0;
}

/* build a new environment in staging and swap it in */
static int apply(struct fx *f, const char *t, const char **kept)
{
	venv(f, f->p.staging, true, t);
	return em_venv_swap_in(&f->a, &f->p, kept, &f->e);
}

static void test_foreign_snapshot_kept(void **state)
{
	struct fx *f = *state;
	venv(f, f->p.root, false, "mine");
	venv(f, f->p.snapshot, false, "precious");
	const char *kept;
	assert_int_equal(apply(f, "e1", &kept), 0);
	assert_string_equal(kept, P(f, ".venv-original.1"));
	assert_string_equal(tag(f, kept), "precious");
	assert_string_equal(tag(f, f->p.root), "e1");
	/* the user's .venv is the snapshot now, unmarked */
	assert_string_equal(tag(f, f->p.snapshot), "mine");
	assert_false(em_venv_snapshot_ours(f->p.snapshot));
	assert_false(there(in(f, f->p.snapshot, ".envmatrix-snapshot")));
	/* and is kept in turn */
	assert_int_equal(apply(f, "e2", &kept), 0);
	assert_string_equal(kept, P(f, ".venv-original.2"));
	assert_string_equal(tag(f, kept), "mine");
	/* envmatrix's own snapshot is replaced without keeping */
	assert_true(em_venv_snapshot_ours(f->p.snapshot));
	assert_string_equal(tag(f, f->p.snapshot), "e1");
	assert_int_equal(apply(f, "e3", &kept), 0);
	assert_null(kept);
	assert_string_equal(tag(f, f->p.snapshot), "e2");
	assert_false(there(P(f, ".venv-original.3")));
	assert_false(there(f->p.trash));
	assert_false(there(in(f, f->p.root, ".envmatrix-snapshot")));
	struct em_venv_state st;
	assert_int_equal(em_venv_state_read(&f->a, &f->p, &st, NULL), 0);
	assert_true(st.snapshot_ours);
	assert_int_equal(st.nkept, 2);
	assert_string_equal(st.kept[0], P(f, ".venv-original.1"));
	assert_string_equal(st.kept[1], P(f, ".venv-original.2"));
}

static void test_copy_is_not_ours(void **state)
{
	struct fx *f = *state;
	/* an envmatrix-built environment copied by hand: no marker */
	venv(f, f->p.root, true, "e1");
	venv(f, f->p.snapshot, true, "copy");
	assert_false(em_venv_snapshot_ours(f->p.snapshot));
	const char *kept;
	assert_int_equal(apply(f, "e2", &kept), 0);
	assert_non_null(kept);
	assert_string_equal(tag(f, kept), "copy");
	/* a marker in a user's environment does not make it envmatrix's */
	put(in(f, f->p.snapshot, ".envmatrix-snapshot"), "envmatrix-snapshot 1\n");
	put(in(f, f->p.snapshot, "pyvenv.cfg"), "home = /usr/bin\n");
	assert_false(em_venv_snapshot_ours(f->p.snapshot));
}

static void test_target_not_a_venv(void **state)
{
	struct fx *f = *state;
	put(in(f, f->p.root, "weights.bin"), "w");
	assert_int_equal(apply(f, "e1", NULL), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "exists and is not a Python environment (no pyvenv.cfg)"));
	assert_true(there(in(f, f->p.root, "weights.bin")));
	assert_false(there(f->p.snapshot));
	assert_false(there(f->p.journal));
	em_remove_tree(f->p.root, NULL);
	put(f->p.root, "a file");
	bool empty;
	assert_int_equal(em_venv_check_target(f->p.root, &empty, &f->e), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "(a file, not a folder)"));
	unlink(f->p.root);
	assert_int_equal(symlink("nowhere", f->p.root), 0);
	assert_int_equal(em_venv_check_target(f->p.root, &empty, &f->e), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "(a link that leads nowhere)"));
	unlink(f->p.root);
	/* an empty folder is used, and no snapshot is made of it */
	assert_int_equal(mkdir(f->p.root, 0755), 0);
	assert_int_equal(em_venv_check_target(f->p.root, &empty, &f->e), 0);
	assert_true(empty);
	em_remove_tree(f->p.staging, NULL);
	assert_int_equal(apply(f, "e1", NULL), 0);
	assert_string_equal(tag(f, f->p.root), "e1");
	assert_false(there(f->p.snapshot));
}

static void test_rollback(void **state)
{
	struct fx *f = *state;
	venv(f, f->p.root, true, "e1");
	venv(f, f->p.snapshot, false, "precious");
	/* rolling back to a hand-made snapshot: it comes back unmarked, and
	 * envmatrix's environment is marked in its place */
	assert_int_equal(em_venv_rollback(&f->p, &f->e), 0);
	assert_string_equal(tag(f, f->p.root), "precious");
	assert_false(there(in(f, f->p.root, ".envmatrix-snapshot")));
	assert_true(em_venv_snapshot_ours(f->p.snapshot));
	assert_int_equal(em_venv_rollback(&f->p, &f->e), 0);
	assert_string_equal(tag(f, f->p.root), "e1");
	assert_false(there(in(f, f->p.root, ".envmatrix-snapshot")));
	assert_false(em_venv_snapshot_ours(f->p.snapshot));
	/* the user's environment is never replaced as envmatrix's */
	const char *kept;
	assert_int_equal(apply(f, "e2", &kept), 0);
	assert_non_null(kept);
	assert_string_equal(tag(f, kept), "precious");

	/* non-environments on either side: nothing moves */
	em_remove_tree(f->p.snapshot, NULL);
	put(in(f, f->p.snapshot, "notes.txt"), "n");
	assert_int_equal(em_venv_rollback(&f->p, &f->e), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "is not a Python environment (no pyvenv.cfg); nothing "
					 "was rolled back"));
	assert_string_equal(tag(f, f->p.root), "e2");
	em_remove_tree(f->p.snapshot, NULL);
	assert_int_equal(rename(f->p.root, f->p.snapshot), 0);
	put(in(f, f->p.root, "notes.txt"), "n");
	assert_int_equal(em_venv_rollback(&f->p, &f->e), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "exists and is not a Python environment"));
	assert_true(there(in(f, f->p.root, "notes.txt")));
	assert_string_equal(tag(f, f->p.snapshot), "e2");
}

/* ---- the matrix's folders ---- */

static int check(struct fx *f, const char *text, const char *history_env)
{
	const char *file = P(f, "m/matrix.ini");
	put(file, text);
	struct em_matrix m;
	int rc = em_matrix_parse(&f->a, text, strlen(text), file, &m, &f->e);
	assert_int_equal(rc, 0);
	return em_matrix_check_folders(&f->a, file, &m, history_env, &f->e);
}

static void test_check_folders(void **state)
{
	struct fx *f = *state;
	assert_int_equal(check(f, "[a]\npython = 3.11\n\n[b]\npython = 3.11\nvenv = env\n", NULL),
			 0);
	assert_int_equal(check(f, "[a]\npython = 3.11\nvenv = .envmatrix\n", NULL), EM_EINVAL);
	assert_non_null(strstr(f->e.where, "matrix.ini:3"));
	assert_non_null(strstr(f->e.msg, "is the state folder"));
	assert_int_equal(check(f, "[a]\npython = 3.11\nvenv = .envmatrix/x\n", NULL), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "is inside the state folder"));
	assert_int_equal(check(f, "[a]\npython = 3.11\nvenv = h\n", P(f, "m/h/repo.git")),
			 EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "contains the history repository"));
	assert_int_equal(check(f, "[a]\npython = 3.11\nvenv = h\n", "off"), 0);

	assert_int_equal(mkdir(P(f, "m/p"), 0755), 0);
	assert_int_equal(symlink("p", P(f, "m/plink")), 0);
	assert_int_equal(check(f, "[a]\npython = 3.11\npath = p\n\n[b]\npython = 3.11\n"
				  "path = plink\n", NULL), EM_EINVAL);
	assert_non_null(strstr(f->e.where, "matrix.ini:7"));
	assert_non_null(strstr(f->e.msg, "workloads [a] (line 3) and [b] (line 7) share the "
					 "environment folder"));
	char *text = em_arena_printf(&f->a, "[a]\npython = 3.11\npath = p\n\n[b]\npython = "
					    "3.11\npath = %s/m/plink/.venv/x\n", f->dir);
	assert_int_equal(check(f, text, NULL), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "are nested"));
	assert_int_equal(check(f, "[a]\npython = 3.11\npath = plink\n\n[b]\npython = 3.11\n"
				  "path = p\nvenv = .venv.envmatrix-trash\n", NULL), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "is the trash folder of [a] (line 3)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_foreign_snapshot_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_is_not_ours, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_not_a_venv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_folders, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

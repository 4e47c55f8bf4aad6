/* test_install_set.c - what a PEP 751 lock installs on a target: markers,
 * the best wheel, archives that are wheels, and every reason to refuse,
 * on envmatrix's locks and on uv-, pip- and torch-shaped ones */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "install_set.h"

#define H "0000000000000000000000000000000000000000000000000000000000000000"

struct ctx {
	struct em_arena a;
	struct em_lock l;
	struct em_target t;
	struct em_tagset tags;
	struct em_install_item *items;
	uint32_t n;
	struct em_error e;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	em_arena_init(&c->a);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	em_arena_release(&c->a);
	free(c);
	return 0;
}

static void target(struct ctx *c, const char *platform, const char *python)
{
	struct em_error e;
	assert_int_equal(em_platform_parse(platform, &c->t.plat, &e), 0);
	assert_int_equal(em_python_parse(python, &c->t.py, &e), 0);
	assert_int_equal(em_tags_for_target(&c->a, &c->t, &c->tags, &e), 0);
}

/* parse text as the lock at /locks/pylock.x.toml and select for the target */
static int select_text(struct ctx *c, const char *text)
{
	em_error_clear(&c->e);
	int rc = em_lock_parse(&c->a, text, strlen(text), "/locks/pylock.x.toml", &c->l, &c->e);
	if (rc)
		fail_msg("parse: %s: %s", c->e.where, c->e.msg);
	return em_lock_install_set(&c->a, &c->l, "/locks/pylock.x.toml", &c->t, &c->tags,
				   &c->items, &c->n, &c->e);
}

static int select_fixture(struct ctx *c, const char *rel)
{
	size_t len;
	char *s = tu_read_file(tu_fixture(rel), &len);
	assert_non_null(s);
	char *copy = em_arena_strndup(&c->a, s, len);
	free(s);
	return select_text(c, copy);
}

static const struct em_install_item *item(struct ctx *c, const char *name)
{
	for (uint32_t i = 0; i < c->n; i++)
		if (!strcmp(c->items[i].pkg->name, name))
			return &c->items[i];
	return NULL;
}

static void expect_error(struct ctx *c, int code, const char *where, const char *msg_part)
{
	if (c->e.code != code || !strstr(c->e.where, where) || !strstr(c->e.msg, msg_part))
		fail_msg("got %d '%s': '%s'; want %d '%s' ... '%s'", c->e.code, c->e.where,
			 c->e.msg, code, where, msg_part);
}

#define PKG(name, ver, wheels) \
	"[[packages]]\nname = \"" name "\"\nversion = \"" ver "\"\n" wheels
#define WHEEL(file) "[[packages.wheels]]\nurl = \"https://x.test/" file "\"\nhashes = { sha256 = \"" H "\" }\n"

static void test_best_wheel_per_target(void **state)
{
	struct ctx *c = *state;
	const char *lock = "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
		PKG("numpy", "2.2.6",
		    WHEEL("numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
		    WHEEL("numpy-2.2.6-cp312-cp312-win_amd64.whl")
		    WHEEL("numpy-2.2.6-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
		    WHEEL("numpy-2.2.6-py3-none-any.whl"));
	target(c, "linux-x86_64-glibc2.36", "3.12.4");
	assert_int_equal(select_text(c, lock), 0);
	assert_int_equal(c->n, 1);
	assert_string_equal(c->items[0].wheel->name,
			    "numpy-2.2.6-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
	assert_string_equal(c->items[0].location,
			    "https://x.test/numpy-2.2.6-cp312-cp312-manylinux_2_17_x86_64."
			    "manylinux2014_x86_64.whl");
	target(c, "windows-x86_64", "3.12.4");
	assert_int_equal(select_text(c, lock), 0);
	assert_string_equal(c->items[0].wheel->name, "numpy-2.2.6-cp312-cp312-win_amd64.whl");
	target(c, "macos-arm64-14.0", "3.13.1");
	assert_int_equal(select_text(c, lock), 0);
	assert_string_equal(c->items[0].wheel->name, "numpy-2.2.6-py3-none-any.whl");
	/* glibc too old for manylinux_2_17: the pure wheel */
	target(c, "linux-x86_64-glibc2.12", "3.12.4");
	assert_int_equal(select_text(c, lock), 0);
	assert_string_equal(c->items[0].wheel->name, "numpy-2.2.6-py3-none-any.whl");
}

static void test_markers_extras_groups(void **state)
{
	struct ctx *c = *state;
	const char *lock = "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
			   "default-groups = [\"dev\"]\n"
			   "dependency-groups = [\"dev\", \"docs\"]\n"
			   "extras = [\"cuda\"]\n"
		PKG("a", "1.0", "marker = \"sys_platform == 'win32'\"\n" WHEEL("a-1.0-py3-none-any.whl"))
		PKG("b", "1.0", "marker = \"python_full_version < '3.12'\"\n" WHEEL("b-1.0-py3-none-any.whl"))
		PKG("c", "1.0", "marker = \"'cuda' in extras\"\n" WHEEL("c-1.0-py3-none-any.whl"))
		PKG("d", "1.0", "marker = \"'dev' in dependency_groups\"\n" WHEEL("d-1.0-py3-none-any.whl"))
		PKG("e", "1.0", "marker = \"'docs' in dependency_groups\"\n" WHEEL("e-1.0-py3-none-any.whl"))
		PKG("f", "1.0", WHEEL("f-1.0-py3-none-any.whl"));
	target(c, "linux-x86_64-glibc2.36", "3.12.4");
	assert_int_equal(select_text(c, lock), 0);
	assert_int_equal(c->n, 2);
	assert_non_null(item(c, "d"));
	assert_non_null(item(c, "f"));
	target(c, "windows-x86_64", "3.11.9");
	assert_int_equal(select_text(c, lock), 0);
	assert_int_equal(c->n, 4);
	assert_non_null(item(c, "a"));
	assert_non_null(item(c, "b"));
}

static void test_same_name_twice(void **state)
{
	struct ctx *c = *state;
	/* exclusive markers: one entry applies */
	const char *ok = "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
		PKG("numpy", "1.26.4", "marker = \"python_version < '3.12'\"\n"
		    WHEEL("numpy-1.26.4-py3-none-any.whl"))
		PKG("numpy", "2.2.6", "marker = \"python_version >= '3.12'\"\n"
		    WHEEL("numpy-2.2.6-py3-none-any.whl"));
	target(c, "linux-x86_64-glibc2.36", "3.11.9");
	assert_int_equal(select_text(c, ok), 0);
	assert_string_equal(item(c, "numpy")->pkg->version, "1.26.4");
	target(c, "linux-x86_64-glibc2.36", "3.12.4");
	assert_int_equal(select_text(c, ok), 0);
	assert_string_equal(item(c, "numpy")->pkg->version, "2.2.6");
	const char *bad = "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
		PKG("numpy", "1.26.4", WHEEL("numpy-1.26.4-py3-none-any.whl"))
		PKG("numpy", "2.2.6", WHEEL("numpy-2.2.6-py3-none-any.whl"));
	assert_int_equal(select_text(c, bad), EM_EINVAL);
	expect_error(c, EM_EINVAL, "/locks/pylock.x.toml:9", "'numpy' is listed twice for this target (line 3 and this one)");
}

static void test_refusals(void **state)
{
	struct ctx *c = *state;
	target(c, "linux-x86_64-glibc2.36", "3.12.4");
	/* no wheel for the target */
	const char *nowheel = "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
		PKG("torch", "2.8.0", WHEEL("torch-2.8.0-cp311-cp311-win_amd64.whl"));
	assert_int_equal(select_text(c, nowheel), EM_ENOTFOUND);
	expect_error(c, EM_ENOTFOUND, "/locks/pylock.x.toml:3",
		     "package 'torch' 2.8.0 has no wheel for Python 3.12.4 on linux-x86_64");
	/* only an sdist: an item with the sdist, which apply builds */
	const char *sdist = "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
			    "[[packages]]\nname = \"x\"\nversion = \"1.0\"\n"
			    "sdist = { url = \"https://x.test/x-1.0.tar.gz\", hashes = { sha256 = \"" H "\" } }\n";
	assert_int_equal(select_text(c, sdist), 0);
	assert_int_equal(c->n, 1);
	assert_null(c->items[0].wheel);
	assert_non_null(c->items[0].sdist);
	assert_string_equal(c->items[0].location, "https://x.test/x-1.0.tar.gz");
	/* a wheel for another platform and an sdist: the sdist */
	const char *both = "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
			   "[[packages]]\nname = \"x\"\nversion = \"1.0\"\n"
			   "sdist = { path = \"x-1.0.tar.gz\", hashes = { sha256 = \"" H "\" } }\n"
			   "wheels = [{ url = \"https://x.test/x-1.0-cp312-cp312-win_amd64.whl\", "
			   "hashes = { sha256 = \"" H "\" } }]\n";
	assert_int_equal(select_text(c, both), 0);
	assert_null(c->items[0].wheel);
	assert_string_equal(c->items[0].location, "/locks/x-1.0.tar.gz");
	/* a compatible wheel wins over the sdist */
	const char *wheel = "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
			    "[[packages]]\nname = \"x\"\nversion = \"1.0\"\n"
			    "sdist = { path = \"x-1.0.tar.gz\", hashes = { sha256 = \"" H "\" } }\n"
			    "wheels = [{ url = \"https://x.test/x-1.0-py3-none-any.whl\", "
			    "hashes = { sha256 = \"" H "\" } }]\n";
	assert_int_equal(select_text(c, wheel), 0);
	assert_non_null(c->items[0].wheel);
	assert_null(c->items[0].sdist);
	/* requires-python */
	const char *rp = "lock-version = \"1.0\"\ncreated-by = \"t\"\nrequires-python = \">=3.13\"\n"
		PKG("f", "1.0", WHEEL("f-1.0-py3-none-any.whl"));
	assert_int_equal(select_text(c, rp), EM_EINVAL);
	expect_error(c, EM_EINVAL, "pylock.x.toml", "requires Python >=3.13, but the target's is 3.12.4");
	const char *prp = "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
		PKG("f", "1.0", "requires-python = \"<3.12\"\n" WHEEL("f-1.0-py3-none-any.whl"));
	assert_int_equal(select_text(c, prp), EM_EINVAL);
	expect_error(c, EM_EINVAL, "pylock.x.toml:3", "package 'f' 1.0 requires Python <3.12");
	/* environments */
	const char *env = "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
			  "environments = [\"sys_platform == 'win32'\", \"sys_platform == 'darwin'\"]\n"
		PKG("f", "1.0", WHEEL("f-1.0-py3-none-any.whl"));
	assert_int_equal(select_text(c, env), EM_EINVAL);
	expect_error(c, EM_EINVAL, "pylock.x.toml", "the lock is for other environments");
	const char *env_ok = "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
			     "environments = [\"sys_platform == 'win32'\", \"sys_platform == 'linux'\"]\n"
		PKG("f", "1.0", WHEEL("f-1.0-py3-none-any.whl"));
	assert_int_equal(select_text(c, env_ok), 0);
	/* a marker that cannot be evaluated names the package */
	const char *um = "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
		PKG("f", "1.0", "marker = \"platform_release >= '5'\"\n" WHEEL("f-1.0-py3-none-any.whl"));
	assert_int_not_equal(select_text(c, um), 0);
	expect_error(c, EM_EUNDEFINED, "package 'f'", "platform_release");
}

static void test_paths_and_archives(void **state)
{
	struct ctx *c = *state;
	target(c, "linux-x86_64-glibc2.36", "3.12.4");
	const char *lock = "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
			   "[[packages]]\nname = \"f\"\nversion = \"1.0\"\n"
			   "[[packages.wheels]]\npath = \"wheels/f-1.0-py3-none-any.whl\"\n"
			   "hashes = { sha256 = \"" H "\" }\n"
			   "[[packages]]\nname = \"g\"\nversion = \"2.0\"\n"
			   "archive = { path = \"../vendor/g-2.0-cp312-cp312-linux_x86_64.whl\", "
			   "hashes = { sha256 = \"" H "\" } }\n";
	assert_int_equal(select_text(c, lock), 0);
	assert_string_equal(item(c, "f")->location, "/locks/wheels/f-1.0-py3-none-any.whl");
	assert_string_equal(item(c, "g")->location, "/locks/../vendor/g-2.0-cp312-cp312-linux_x86_64.whl");
	/* an archive that is an sdist is refused */
	const char *src = "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
			  "[[packages]]\nname = \"g\"\nversion = \"2.0\"\n"
			  "archive = { url = \"https://x.test/g-2.0.tar.gz\", hashes = { sha256 = \"" H "\" } }\n";
	assert_int_equal(select_text(c, src), EM_EUNSUPPORTED);
	expect_error(c, EM_EUNSUPPORTED, "pylock.x.toml:3", "source archive");
	/* an archive wheel without sha256 */
	const char *nohash = "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
			     "[[packages]]\nname = \"g\"\nversion = \"2.0\"\n"
			     "archive = { url = \"https://x.test/g-2.0-py3-none-any.whl\", hashes = { md5 = \"00\" } }\n";
	assert_int_equal(select_text(c, nohash), EM_EINVAL);
	expect_error(c, EM_EINVAL, "pylock.x.toml", "has no sha256");
	/* an archive wheel of another project */
	const char *other = "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
			    "[[packages]]\nname = \"g\"\nversion = \"2.0\"\n"
			    "archive = { url = \"https://x.test/h-2.0-py3-none-any.whl\", hashes = { sha256 = \"" H "\" } }\n";
	assert_int_equal(select_text(c, other), EM_EINVAL);
	expect_error(c, EM_EINVAL, "pylock.x.toml", "of project 'h'");
}

static void test_real_shaped_locks(void **state)
{
	struct ctx *c = *state;
	/* uv: the project itself is a directory source, which envmatrix cannot
	 * build; everything else selects */
	target(c, "linux-x86_64-glibc2.36", "3.12.4");
	assert_int_equal(select_fixture(c, "pylock/pylock.uv.toml"), EM_EUNSUPPORTED);
	expect_error(c, EM_EUNSUPPORTED, "pylock.x.toml:41", "'demo-app' comes from a VCS or directory");
	/* the torch lock: Linux takes the nvidia wheels by marker, Windows not */
	assert_int_equal(select_fixture(c, "pylock/pylock.torch-cu126.toml"), 0);
	const struct em_install_item *torch = item(c, "torch");
	assert_non_null(torch);
	assert_non_null(strstr(torch->wheel->name, "manylinux"));
	assert_non_null(item(c, "nvidia-cublas-cu12"));
	/* its archive is a Linux wheel, by path beside the lock */
	assert_string_equal(item(c, "vendored-ext")->location,
			    "/locks/vendor/vendored_ext-0.3.1-cp312-cp312-linux_x86_64.whl");
	/* on Windows that archive fits nothing, and nothing else stops it */
	target(c, "windows-x86_64", "3.12.4");
	assert_int_equal(select_fixture(c, "pylock/pylock.torch-cu126.toml"), EM_ENOTFOUND);
	expect_error(c, EM_ENOTFOUND, "pylock.x.toml:68",
		     "package 'vendored-ext' 0.3.1 has no wheel for Python 3.12.4 on windows-x86_64");
	/* the specification's example */
	target(c, "linux-x86_64-glibc2.36", "3.12.4");
	int rc = select_fixture(c, "pylock/pylock.example.toml");
	if (rc)
		fail_msg("example: %s: %s", c->e.where, c->e.msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_best_wheel_per_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_markers_extras_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_name_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths_and_archives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_shaped_locks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

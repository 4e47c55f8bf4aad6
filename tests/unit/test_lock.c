/* test_lock.c - PEP 751 lock files: the reader (envmatrix's, pip's, uv's
 * and the spec's locks), the writer (byte for byte against a golden file,
 * and back through the reader), and the file name
 *
 * EM_WRITE_GOLDEN=1 rewrites tests/fixtures/pylock/pylock.envmatrix.toml
 * from golden_lock() (check the diff before committing it).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "spec/lock.h"

#define SHA_A "c75a69e28a550a7e93789579c22aa26b0f5b83b75dc4e08fe092980051e1090a"
#define SHA_B "67c7495b760168d931a10233f979b28dc04daf853b30752246f4f8471c6d68d0"

struct ctx {
	struct em_arena a;
	struct em_lock l;
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

static int parse_s(struct ctx *c, const char *s)
{
	em_error_clear(&c->e);
	return em_lock_parse(&c->a, s, strlen(s), "t.toml", &c->l, &c->e);
}

static void parse_fixture(struct ctx *c, const char *rel)
{
	size_t len;
	char *s = tu_read_file(tu_fixture(rel), &len);
	assert_non_null(s);
	em_error_clear(&c->e);
	int r = em_lock_parse(&c->a, s, len, rel, &c->l, &c->e);
	free(s);
	if (r)
		fail_msg("%s: %d %s: %s", rel, r, c->e.where, c->e.msg);
}

static const struct em_lock_package *find(const struct em_lock *l, const char *name)
{
	for (uint32_t i = 0; i < l->npackages; i++)
		if (strcmp(l->packages[i].name, name) == 0)
			return &l->packages[i];
	fail_msg("no package '%s'", name);
	return NULL;
}

/* ---- reading the fixtures ---- */

static void test_spec_example(void **state)
{
	struct ctx *c = *state;
	parse_fixture(c, "pylock/pylock.example.toml");
	const struct em_lock *l = &c->l;
	assert_string_equal(l->lock_version, "1.0");
	assert_false(l->lock_version_newer);
	assert_string_equal(l->created_by, "mousebender");
	assert_string_equal(l->requires_python, "== 3.12.*");
	assert_int_equal(l->nenvironments, 2);
	assert_string_equal(l->environments[0], "sys_platform == 'win32'");
	assert_string_equal(l->environments[1], "sys_platform == 'linux'");
	assert_int_equal(l->nextras, 0);
	assert_null(l->workload); /* another tool's lock */
	assert_null(l->python);
	assert_int_equal(l->npackages, 3);

	const struct em_lock_package *p = &l->packages[0];
	assert_string_equal(p->name, "attrs");
	assert_string_equal(p->version, "25.1.0");
	assert_string_equal(p->requires_python, ">= 3.8");
	assert_null(p->marker);
	assert_null(p->index);
	assert_int_equal(p->line, 6);
	assert_int_equal(p->nwheels, 1);
	assert_false(p->has_sdist);
	assert_false(p->has_other_source);
	assert_false(p->requested);
	const struct em_lock_file *w = &p->wheels[0];
	assert_string_equal(w->name, "attrs-25.1.0-py3-none-any.whl");
	assert_string_equal(w->url, "https://files.pythonhosted.org/packages/fc/30/"
				    "d4986a882011f9df997a55e6becd864812ccfcd821d64aac8570ee39f719/"
				    "attrs-25.1.0-py3-none-any.whl");
	assert_null(w->path);
	assert_int_equal(w->size, 63152);
	assert_string_equal(w->sha256, SHA_A);
	assert_string_equal(w->upload_time, "2025-01-25T11:30:10.164985+00:00");
	assert_int_equal(w->line, 11);

	p = &l->packages[1];
	assert_string_equal(p->name, "cattrs");
	assert_int_equal(p->ndeps, 1);
	assert_string_equal(p->deps[0], "attrs");
	p = &l->packages[2];
	assert_string_equal(p->name, "numpy");
	assert_int_equal(p->nwheels, 2);
	assert_string_equal(p->wheels[0].name, "numpy-2.2.3-cp312-cp312-win_amd64.whl");
	assert_string_equal(p->wheels[1].name,
			    "numpy-2.2.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
	assert_int_equal(p->wheels[1].size, 16116679);
}

static void test_uv_export(void **state)
{
	struct ctx *c = *state;
	parse_fixture(c, "pylock/pylock.uv.toml");
	const struct em_lock *l = &c->l;
	assert_string_equal(l->created_by, "uv");
	assert_string_equal(l->requires_python, ">=3.10");
	assert_int_equal(l->nenvironments, 0);
	assert_int_equal(l->npackages, 13);

	const struct em_lock_package *p = find(l, "anyio");
	assert_string_equal(p->index, "https://pypi.org/simple");
	assert_true(p->has_sdist);
	assert_false(p->has_other_source);
	assert_int_equal(p->nwheels, 1);
	/* no 'name': taken from the url */
	assert_string_equal(p->wheels[0].name, "anyio-4.9.0-py3-none-any.whl");
	assert_string_equal(p->wheels[0].upload_time, "2025-03-17T00:02:52Z");
	assert_int_equal(p->wheels[0].size, 100916);

	p = find(l, "charset-normalizer");
	assert_int_equal(p->nwheels, 4);
	assert_string_equal(p->wheels[2].name, "charset_normalizer-3.4.2-cp312-cp312-win_amd64.whl");
	assert_int_equal(p->wheels[2].line, p->wheels[1].line + 1); /* one per line */

	p = find(l, "colorama");
	assert_string_equal(p->marker, "sys_platform == 'win32'");
	p = find(l, "demo-app");
	assert_null(p->version);
	assert_true(p->has_other_source);
	assert_int_equal(p->nwheels, 0);
	p = find(l, "legacy-tool");
	assert_true(p->has_sdist);
	assert_int_equal(p->nwheels, 0);
	p = find(l, "mylib");
	assert_true(p->has_other_source);
	assert_null(p->version);
	p = find(l, "exceptiongroup");
	assert_string_equal(p->marker, "python_full_version < '3.11'");
}

static void test_pip_lock(void **state)
{
	struct ctx *c = *state;
	parse_fixture(c, "pylock/pylock.pip.toml");
	const struct em_lock *l = &c->l;
	assert_string_equal(l->created_by, "pip");
	assert_null(l->requires_python);
	assert_int_equal(l->npackages, 6);
	const struct em_lock_package *p = find(l, "charset-normalizer");
	assert_int_equal(p->nwheels, 1);
	assert_int_equal(p->wheels[0].size, -1);
	assert_null(p->wheels[0].upload_time);
	assert_non_null(p->wheels[0].sha256); /* from [packages.wheels.hashes] */
	assert_int_equal(strlen(p->wheels[0].sha256), 64);
	p = find(l, "demo-app");
	assert_true(p->has_other_source);
}

static void test_torch_lock(void **state)
{
	struct ctx *c = *state;
	parse_fixture(c, "pylock/pylock.torch-cu126.toml");
	const struct em_lock *l = &c->l;
	assert_int_equal(l->npackages, 8);
	const struct em_lock_package *p = find(l, "torch");
	assert_string_equal(p->version, "2.8.0+cu126");
	assert_string_equal(p->index, "https://download.pytorch.org/whl/cu126");
	assert_int_equal(p->nwheels, 2);
	/* %2B in the url is '+' in the file name */
	assert_string_equal(p->wheels[0].name, "torch-2.8.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl");
	assert_string_equal(p->wheels[0].url, "https://download.pytorch.org/whl/cu126/"
					      "torch-2.8.0%2Bcu126-cp312-cp312-manylinux_2_28_x86_64.whl");
	assert_string_equal(p->wheels[1].name, "torch-2.8.0+cu126-cp312-cp312-win_amd64.whl");
	assert_int_equal(p->wheels[0].size, -1);
	assert_int_equal(p->ndeps, 6);
	assert_string_equal(p->deps[5], "triton");
	p = find(l, "nvidia-cudnn-cu12");
	assert_string_equal(p->marker, "platform_machine == 'x86_64' and sys_platform == 'linux'");
	assert_string_equal(p->wheels[0].name, "nvidia_cudnn_cu12-9.10.2.21-py3-none-manylinux_2_27_x86_64.whl");
	p = find(l, "vendored-ext");
	assert_true(p->has_other_source);
	p = find(l, "filelock");
	assert_true(p->has_sdist);
	assert_int_equal(p->nwheels, 1);
}

/* ---- reading: details ---- */

#define HEAD "lock-version = \"1.0\"\ncreated-by = \"t\"\n"
#define PKG "[[packages]]\nname = \"a\"\nversion = \"1.0\"\n"
#define WURL "url = \"https://x.example/a-1.0-py3-none-any.whl\"\n"
#define WHASH_INLINE "hashes = { sha256 = \"" SHA_A "\" }"
#define WHASH WHASH_INLINE "\n"
#define WHEEL "[[packages.wheels]]\n" WURL WHASH

static void test_read_details(void **state)
{
	struct ctx *c = *state;
	assert_int_equal(parse_s(c, HEAD PKG WHEEL), 0);
	assert_int_equal(c->l.npackages, 1);
	assert_int_equal(c->l.packages[0].wheels[0].line, 6);

	/* newer minor versions are read and flagged; "1" is 1.0 */
	assert_int_equal(parse_s(c, "lock-version = \"1.1\"\ncreated-by = \"t\"\npackages = []\n"), 0);
	assert_true(c->l.lock_version_newer);
	assert_int_equal(parse_s(c, "lock-version = \"1\"\ncreated-by = \"t\"\npackages = []\n"), 0);
	assert_false(c->l.lock_version_newer);
	assert_int_equal(parse_s(c, "lock-version = \"1.9.post1\"\ncreated-by = \"t\"\npackages = []\n"), 0);
	assert_true(c->l.lock_version_newer);

	/* hashes: sha256 in any case is kept lower case; others are ignored */
	assert_int_equal(parse_s(c, HEAD PKG "[[packages.wheels]]\n" WURL
					      "hashes = { md5 = \"x\", SHA256 = \"C75A69E28A550A7E93789579C22AA26B0F5B83B75DC4E08FE092980051E1090A\", sha512 = \"y\" }\n"),
			 0);
	assert_string_equal(c->l.packages[0].wheels[0].sha256, SHA_A);

	/* the file name: name, else path, else url (query and fragment cut) */
	assert_int_equal(parse_s(c, HEAD PKG "[[packages.wheels]]\nurl = \"https://x.example/p/a-1.0-py3-none-any.whl?x=1#sha256=0\"\n" WHASH), 0);
	assert_string_equal(c->l.packages[0].wheels[0].name, "a-1.0-py3-none-any.whl");
	assert_int_equal(parse_s(c, HEAD PKG "[[packages.wheels]]\npath = \"wheels\\\\a-1.0-py3-none-any.whl\"\n" WHASH), 0);
	assert_string_equal(c->l.packages[0].wheels[0].name, "a-1.0-py3-none-any.whl");
	assert_null(c->l.packages[0].wheels[0].url);
	assert_string_equal(c->l.packages[0].wheels[0].path, "wheels\\a-1.0-py3-none-any.whl");
	assert_int_equal(parse_s(c, HEAD PKG "[[packages.wheels]]\npath = \"/w/a-1.0-py3-none-any.whl\"\nurl = \"https://x.example/zzz\"\n" WHASH), 0);
	assert_string_equal(c->l.packages[0].wheels[0].name, "a-1.0-py3-none-any.whl");
	assert_int_equal(parse_s(c, HEAD PKG "[[packages.wheels]]\nname = \"a-1.0-py3-none-any.whl\"\nurl = \"https://x.example/download?id=7\"\n" WHASH), 0);
	assert_string_equal(c->l.packages[0].wheels[0].name, "a-1.0-py3-none-any.whl");
	assert_int_equal(parse_s(c, HEAD PKG "[[packages.wheels]]\nurl = \"file:///srv/w/a-1.0-py3-none-any.whl\"\n" WHASH), 0);
	assert_string_equal(c->l.packages[0].wheels[0].name, "a-1.0-py3-none-any.whl");

	/* versions compare as versions; a package without one takes any wheel version */
	assert_int_equal(parse_s(c, HEAD "[[packages]]\nname = \"a\"\nversion = \"1.0.0\"\n" WHEEL), 0);
	assert_int_equal(parse_s(c, HEAD "[[packages]]\nname = \"a\"\n" WHEEL), 0);
	assert_null(c->l.packages[0].version);

	/* the top level's optional arrays, tool tables, informational tables */
	assert_int_equal(parse_s(c, "lock-version = \"1.0\"\nenvironments = []\nextras = [\"dev\", \"gpu\"]\n"
				    "dependency-groups = [\"Test Group\"]\ndefault-groups = [\"default\"]\n"
				    "created-by = \"t\"\n" PKG
				    "attestation-identities = [{ kind = \"GitHub\", repository = \"x/y\" }]\n"
				    "dependencies = [{ name = \"b\" }, { version = \"2\" }, { name = \"c\", marker = \"os_name == 'nt'\" }]\n"
				    "unknown-key = { anything = [1, 2.5] }\n" WHEEL
				    "[packages.tool.envmatrix]\nrequested = true\n[packages.tool.other]\nx = 1\n"
				    "[tool.envmatrix]\nworkload = \"vlm\"\npython = \"3.12.10\"\nplatform = \"linux-x86_64\"\n"
				    "torch-variant = \"cu126\"\ninputs = \"abc\"\nfuture = 1\n"),
			 0);
	const struct em_lock *l = &c->l;
	assert_int_equal(l->nenvironments, 0);
	assert_int_equal(l->nextras, 2);
	assert_string_equal(l->extras[1], "gpu");
	assert_int_equal(l->ndependency_groups, 1);
	assert_string_equal(l->dependency_groups[0], "Test Group");
	assert_int_equal(l->ndefault_groups, 1);
	assert_string_equal(l->workload, "vlm");
	assert_string_equal(l->python, "3.12.10");
	assert_string_equal(l->platform, "linux-x86_64");
	assert_string_equal(l->torch_variant, "cu126");
	assert_string_equal(l->inputs, "abc");
	assert_true(l->packages[0].requested);
	assert_int_equal(l->packages[0].ndeps, 2);
	assert_string_equal(l->packages[0].deps[1], "c");

	/* several entries for one name (told apart by markers) are kept */
	assert_int_equal(parse_s(c, HEAD PKG "marker = \"os_name == 'nt'\"\n" WHEEL PKG
					      "marker = \"os_name != 'nt'\"\n" WHEEL),
			 0);
	assert_int_equal(c->l.npackages, 2);
}

struct bad_case {
	const char *name;
	const char *toml;
	int code;
	unsigned line;
	const char *msg;
};

#define B(name, toml, line, msg) { name, toml, EM_EINVAL, line, msg }

static const struct bad_case bad_cases[] = {
	/* the top level */
	B("no lock-version", "created-by = \"t\"\npackages = []\n", 1, "'lock-version' is missing"),
	B("lock-version not a string", "lock-version = 1.0\ncreated-by = \"t\"\npackages = []\n", 1,
	  "'lock-version' must be a string, not a float"),
	B("lock-version not a version", "lock-version = \"one\"\ncreated-by = \"t\"\npackages = []\n", 1,
	  "invalid 'lock-version' 'one'"),
	{ "lock-version 2", "created-by = \"t\"\npackages = []\nlock-version = \"2.0\"\n", EM_EUNSUPPORTED, 3,
	  "unsupported 'lock-version' '2.0' (envmatrix reads 1.x)" },
	{ "lock-version 0.9", "lock-version = \"0.9\"\ncreated-by = \"t\"\npackages = []\n", EM_EUNSUPPORTED, 1,
	  "unsupported 'lock-version' '0.9'" },
	{ "lock-version 1.0a1", "lock-version = \"1.0a1\"\ncreated-by = \"t\"\npackages = []\n", EM_EUNSUPPORTED, 1,
	  "unsupported" },
	B("no created-by", "lock-version = \"1.0\"\npackages = []\n", 1, "'created-by' is missing"),
	B("created-by not a string", "lock-version = \"1.0\"\ncreated-by = [\"uv\"]\npackages = []\n", 2,
	  "'created-by' must be a string, not an array"),
	B("no packages", HEAD, 1, "'packages' is missing"),
	B("packages not an array", HEAD "packages = \"x\"\n", 3, "'packages' must be an array, not a string"),
	B("packages not tables", HEAD "packages = [1]\n", 3, "'packages' must hold tables, not an integer"),
	B("packages a table", HEAD "[packages]\n", 3, "'packages' must be an array, not a table"),
	B("environments not strings", "lock-version = \"1.0\"\nenvironments = [1]\ncreated-by = \"t\"\npackages = []\n", 2,
	  "'environments' must hold strings, not an integer"),
	B("environments not markers", "lock-version = \"1.0\"\nenvironments = [\"linux\"]\ncreated-by = \"t\"\npackages = []\n", 2,
	  "invalid 'environments'"),
	B("requires-python not a specifier", HEAD "requires-python = \"3.12\"\npackages = []\n", 3,
	  "invalid 'requires-python'"),
	B("extras not normalized", HEAD "extras = [\"Dev_Tools\"]\npackages = []\n", 3,
	  "extra 'Dev_Tools' is not normalized (write 'dev-tools')"),
	B("tool.envmatrix not strings", HEAD "packages = []\n[tool.envmatrix]\nworkload = 1\n", 5,
	  "'workload' of 'tool.envmatrix' must be a string, not an integer"),
	B("tool not a table", HEAD "tool = 1\npackages = []\n", 3, "'tool' must be a table"),
	B("nul in a string", "lock-version = \"1.0\"\ncreated-by = \"a\\u0000b\"\npackages = []\n", 2,
	  "'created-by' contains a NUL character"),
	B("toml syntax", HEAD "packages = [\n\n", 3, "unterminated array"),
	/* packages */
	B("no name", HEAD "[[packages]]\nversion = \"1\"\n" WHEEL, 3, "'name' is missing"),
	B("name not normalized", HEAD "[[packages]]\nname = \"Foo_Bar\"\n", 4,
	  "package name 'Foo_Bar' is not normalized (write 'foo-bar')"),
	B("name with dots", HEAD "[[packages]]\nname = \"zope.interface\"\n", 4, "is not normalized (write 'zope-interface')"),
	B("name with double hyphen", HEAD "[[packages]]\nname = \"a--b\"\n", 4, "is not normalized"),
	B("name invalid", HEAD "[[packages]]\nname = \"-a\"\n", 4, "invalid package name '-a'"),
	B("name empty", HEAD "[[packages]]\nname = \"\"\n", 4, "invalid package name ''"),
	B("bad version", HEAD "[[packages]]\nname = \"a\"\nversion = \"1.0.x\"\n" WHEEL, 5,
	  "package 'a': invalid version '1.0.x'"),
	B("bad marker", HEAD PKG "marker = \"os_name = 'nt'\"\n" WHEEL, 6, "package 'a': invalid 'marker'"),
	B("bad requires-python", HEAD PKG "requires-python = \"> = 3\"\n" WHEEL, 6,
	  "package 'a': invalid 'requires-python'"),
	B("index not a string", HEAD PKG "index = 1\n" WHEEL, 6, "'index' must be a string, not an integer"),
	B("no source", HEAD PKG, 3, "package 'a': no source: one of 'wheels', 'sdist', 'archive', 'directory' or 'vcs' is needed"),
	B("empty wheels are no source", HEAD PKG "wheels = []\n", 3, "no source"),
	B("wheels and vcs", HEAD PKG "vcs = { type = \"git\", url = \"u\", commit-id = \"c\" }\n" WHEEL, 3,
	  "both 'vcs' and 'wheels' are given (a package has one kind of source)"),
	B("sdist and archive", HEAD PKG "sdist = { url = \"https://x/a-1.0.tar.gz\", " WHASH_INLINE " }\n"
	  "archive = { url = \"https://x/a.zip\", " WHASH_INLINE " }\n", 3, "both 'archive' and 'sdist'"),
	B("vcs and directory", HEAD "[[packages]]\nname = \"a\"\nvcs = { type = \"git\", url = \"u\", commit-id = \"c\" }\n"
	  "directory = { path = \".\" }\n", 3, "both 'vcs' and 'directory'"),
	B("vcs without commit", HEAD "[[packages]]\nname = \"a\"\nvcs = { type = \"git\", url = \"u\" }\n", 5,
	  "'commit-id' of 'vcs' is missing"),
	B("vcs without url", HEAD "[[packages]]\nname = \"a\"\nvcs = { type = \"git\", commit-id = \"c\" }\n", 5,
	  "'vcs' has no 'url' or 'path'"),
	B("directory without path", HEAD "[[packages]]\nname = \"a\"\n[packages.directory]\neditable = true\n", 5,
	  "'path' of 'directory' is missing"),
	B("directory editable not a bool", HEAD "[[packages]]\nname = \"a\"\ndirectory = { path = \".\", editable = \"yes\" }\n", 5,
	  "'editable' of 'directory' must be a boolean"),
	B("sdist without hashes", HEAD PKG "sdist = { url = \"https://x/a-1.0.tar.gz\" }\n", 6,
	  "'hashes' of sdist 'a-1.0.tar.gz' is missing"),
	B("archive without url", HEAD PKG "archive = { size = 1, " WHASH_INLINE " }\n", 6, "archive has no 'url' or 'path'"),
	B("dependencies not tables", HEAD PKG "dependencies = [\"b\"]\n" WHEEL, 6,
	  "'dependencies' must hold tables, not a string"),
	B("dependency name not a string", HEAD PKG "dependencies = [{ name = 1 }]\n" WHEEL, 6,
	  "'name' of dependency 1 must be a string"),
	B("attestation without kind", HEAD PKG "[[packages.attestation-identities]]\nrepository = \"x\"\n" WHEEL, 6,
	  "'kind' of attestation identity 1 is missing"),
	B("requested not a bool", HEAD PKG WHEEL "[packages.tool.envmatrix]\nrequested = \"yes\"\n", 10,
	  "'requested' of 'tool.envmatrix' must be a boolean, not a string"),
	/* wheels */
	B("wheels not an array", HEAD PKG "wheels = { url = \"u\" }\n", 6, "'wheels' must be an array, not a table"),
	B("wheels not tables", HEAD PKG "wheels = [\"a-1.0-py3-none-any.whl\"]\n", 6, "'wheels' must hold tables"),
	B("wheel without url or path", HEAD PKG "[[packages.wheels]]\nname = \"a-1.0-py3-none-any.whl\"\n" WHASH, 6,
	  "package 'a': wheel 1 has no 'url' or 'path'"),
	B("wheel with empty url", HEAD PKG "[[packages.wheels]]\nurl = \"\"\n" WHASH, 6, "wheel 1 has no 'url' or 'path'"),
	B("second wheel without url", HEAD PKG WHEEL "[[packages.wheels]]\n" WHASH, 9, "wheel 2 has no 'url' or 'path'"),
	B("wheel url not a string", HEAD PKG "[[packages.wheels]]\nurl = 1\n" WHASH, 7, "'url' of wheel 1 must be a string"),
	B("wheel without hashes", HEAD PKG "[[packages.wheels]]\n" WURL, 6,
	  "'hashes' of wheel 'a-1.0-py3-none-any.whl' is missing"),
	B("wheel with empty hashes", HEAD PKG "[[packages.wheels]]\n" WURL "hashes = {}\n", 8,
	  "'hashes' of wheel 'a-1.0-py3-none-any.whl' is empty"),
	{ "wheel without sha256", HEAD PKG "[[packages.wheels]]\n" WURL "hashes = { md5 = \"0\", blake2b = \"1\" }\n",
	  EM_EUNSUPPORTED, 8,
	  "wheel 'a-1.0-py3-none-any.whl' has no sha256 hash (only 'md5'); envmatrix verifies every download by its sha256" },
	B("bad sha256", HEAD PKG "[[packages.wheels]]\n" WURL "hashes = { sha256 = \"abc\" }\n", 8,
	  "invalid sha256 'abc' of wheel 'a-1.0-py3-none-any.whl'"),
	B("sha256 not hex", HEAD PKG "[[packages.wheels]]\n" WURL
	  "hashes = { sha256 = \"g75a69e28a550a7e93789579c22aa26b0f5b83b75dc4e08fe092980051e1090a\" }\n", 8, "invalid sha256"),
	B("hash not a string", HEAD PKG "[[packages.wheels]]\n" WURL "hashes = { sha256 = 1 }\n", 8,
	  "hash 'sha256' of wheel 'a-1.0-py3-none-any.whl' must be a string, not an integer"),
	B("negative size", HEAD PKG WHEEL "size = -1\n", 9, "'size' of wheel 'a-1.0-py3-none-any.whl' is negative"),
	B("size a float", HEAD PKG WHEEL "size = 1.5\n", 9, "'size' of wheel 'a-1.0-py3-none-any.whl' must be an integer, not a float"),
	B("upload-time a string", HEAD PKG WHEEL "upload-time = \"2025-01-01T00:00:00Z\"\n", 9,
	  "'upload-time' of wheel 'a-1.0-py3-none-any.whl' must be a datetime, not a string"),
	B("upload-time a date", HEAD PKG WHEEL "upload-time = 2025-01-01\n", 9,
	  "'upload-time' of wheel 'a-1.0-py3-none-any.whl' must be a date and a time, not '2025-01-01'"),
	B("wheel of another package", HEAD PKG "[[packages.wheels]]\nurl = \"https://x/b-1.0-py3-none-any.whl\"\n" WHASH, 6,
	  "package 'a': wheel 'b-1.0-py3-none-any.whl' is not a file of this package"),
	B("wheel of another version", HEAD PKG "[[packages.wheels]]\nurl = \"https://x/a-1.1-py3-none-any.whl\"\n" WHASH, 6,
	  "wheel 'a-1.1-py3-none-any.whl' is not of version '1.0'"),
	B("not a wheel", HEAD PKG "[[packages.wheels]]\nurl = \"https://x/a-1.0.tar.gz\"\n" WHASH, 6, "a-1.0.tar.gz"),
	B("url ending with a slash", HEAD PKG "[[packages.wheels]]\nurl = \"https://x/a/\"\n" WHASH, 6,
	  "wheel 1: invalid file name ''"),
	B("url without a path", HEAD PKG "[[packages.wheels]]\nurl = \"https://x.example\"\n" WHASH, 6,
	  "wheel 1: invalid file name ''"),
	B("name with a slash", HEAD PKG "[[packages.wheels]]\nname = \"../a-1.0-py3-none-any.whl\"\n" WURL WHASH, 6,
	  "wheel 1: invalid file name '../a-1.0-py3-none-any.whl'"),
	B("decoded slash", HEAD PKG "[[packages.wheels]]\nurl = \"https://x/..%2Fa-1.0-py3-none-any.whl\"\n" WHASH, 6,
	  "invalid file name '../a-1.0-py3-none-any.whl'"),
	B("decoded nul", HEAD PKG "[[packages.wheels]]\nurl = \"https://x/a-1.0-py3-none-any.whl%00\"\n" WHASH, 6,
	  "invalid file name 'a-1.0-py3-none-any.whl\\x00'"),
	B("name dot dot", HEAD PKG "[[packages.wheels]]\nname = \"..\"\n" WURL WHASH, 6, "invalid file name '..'"),
};

static void test_read_errors(void **state)
{
	struct ctx *c = *state;
	struct tu_report rep;
	tu_report_init(&rep, "invalid locks", 20);
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *bc = &bad_cases[i];
		char where[64];
		snprintf(where, sizeof where, "t.toml:%u", bc->line);
		rep.total++;
		struct em_arena_mark m = em_arena_mark(&c->a);
		int r = parse_s(c, bc->toml);
		if (r == 0) {
			tu_report_fail(&rep, "%s: accepted", bc->name);
			continue;
		}
		if (r != bc->code || c->e.code != r || strcmp(c->e.where, where) != 0 ||
		    !strstr(c->e.msg, bc->msg))
			tu_report_fail(&rep, "%s: got %d %s: %s\n   want %d %s: ...%s...", bc->name, r,
				       c->e.where, c->e.msg, bc->code, where, bc->msg);
		struct em_arena_mark after = em_arena_mark(&c->a);
		if (after.head != m.head || after.cur != m.cur || c->l.npackages || c->l.packages ||
		    c->l.created_by)
			tu_report_fail(&rep, "%s: left something behind", bc->name);
	}
	tu_report_done(&rep);
}

/* ---- writing ---- */

static struct em_lock_file golden_wheels[6];
static const char *golden_envs[] = { "sys_platform == 'linux' and platform_machine == 'x86_64'" };
static const char *golden_torch_deps[] = { "triton", "filelock", "nvidia-cudnn-cu12",
					   "nvidia-cublas-cu12" };
static struct em_lock_package golden_packages[6];

/* A cu126 workload, given out of order (the writer sorts). */
static void golden_lock(struct em_lock *l)
{
	memset(l, 0, sizeof *l);
	memset(golden_wheels, 0, sizeof golden_wheels);
	memset(golden_packages, 0, sizeof golden_packages);
	for (int i = 0; i < 6; i++)
		golden_wheels[i].size = -1;

	struct em_lock_file *w = golden_wheels;
	struct em_lock_package *p = golden_packages;
	p[0] = (struct em_lock_package){ .name = "torch", .version = "2.8.0+cu126",
					 .requires_python = ">=3.9.0",
					 .index = "https://download.pytorch.org/whl/cu126",
					 .nwheels = 1, .wheels = &w[0], .ndeps = 4,
					 .deps = golden_torch_deps, .requested = true };
	w[0].url = "https://download.pytorch.org/whl/cu126/"
		   "torch-2.8.0%2Bcu126-cp312-cp312-manylinux_2_28_x86_64.whl";
	w[0].sha256 = "3a6f42d6e6a7c6d1c0b1f8e7a4b3e2f1d0c9b8a7f6e5d4c3b2a190817263544f";
	w[0].size = 888806464;

	p[1] = (struct em_lock_package){ .name = "filelock", .version = "3.18.0",
					 .requires_python = ">=3.9", .index = "https://pypi.org/simple",
					 .nwheels = 1, .wheels = &w[1] };
	w[1].name = "filelock-3.18.0-py3-none-any.whl";
	w[1].url = "https://files.pythonhosted.org/packages/4d/36/"
		   "2a115987e2d8c300a974597416d9de88f2444426de9571f4b59b2cca3acc/"
		   "filelock-3.18.0-py3-none-any.whl";
	w[1].sha256 = "C401F4F8377C4464E6DB25FFF06205FD89BDD83B26CD4A5C6F4B5D2A9D5B7C8E";
	w[1].size = 16215;
	w[1].upload_time = "2025-03-14T07:11:39.145369Z";

	p[2] = (struct em_lock_package){ .name = "nvidia-cudnn-cu12", .version = "9.10.2.21",
					 .marker = "platform_machine == 'x86_64' and sys_platform == 'linux'",
					 .requires_python = ">=3", .index = "https://pypi.org/simple",
					 .nwheels = 1, .wheels = &w[2] };
	w[2].url = "https://files.pythonhosted.org/packages/ba/51/"
		   "e123d997aa098c61d029f76663dedbfb9bc8dcf8c60cbd6adbe42f76d049/"
		   "nvidia_cudnn_cu12-9.10.2.21-py3-none-manylinux_2_27_x86_64.whl";
	w[2].sha256 = "949452be657fa16687d0930933f032835951ef0892b37d2d53824d1a84dc97a8";
	w[2].size = 706758996;
	w[2].upload_time = "2025-06-06T21:54:08.597Z";

	p[3] = (struct em_lock_package){ .name = "triton", .version = "3.4.0",
					 .requires_python = "<3.14,>=3.9",
					 .index = "https://download.pytorch.org/whl/cu126",
					 .nwheels = 1, .wheels = &w[3] };
	w[3].url = "https://download.pytorch.org/whl/"
		   "triton-3.4.0-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl";
	w[3].sha256 = "00be2964616f4c619193cb0d1b29a99bd4b001d7dc333816073f92cf2a8ccdeb";

	p[4] = (struct em_lock_package){ .name = "nvidia-cublas-cu12", .version = "12.6.4.1",
					 .marker = "platform_machine == 'x86_64' and sys_platform == 'linux'",
					 .index = "https://pypi.org/simple", .nwheels = 1,
					 .wheels = &w[4] };
	w[4].url = "https://files.pythonhosted.org/packages/af/eb/"
		   "ff4b8c503fa1f1796679dce648854d58751982426e4e4b37d6fce49d259c/"
		   "nvidia_cublas_cu12-12.6.4.1-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl";
	w[4].sha256 = "08ed2686e9875d01b58e3cb379c6896df8e76c75e0d4a7f7dace3d7b6d9ef8eb";
	w[4].size = 393138816;
	w[4].upload_time = "2024-11-20T17:43:03.219Z";

	p[5] = (struct em_lock_package){ .name = "lvface", .version = "0.3.1", .nwheels = 1,
					 .wheels = &w[5], .requested = true };
	w[5].path = "wheels/lvface-0.3.1-py3-none-any.whl";
	w[5].sha256 = "5d7c0a3e9f1b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d";
	w[5].size = 48212;

	l->lock_version = "1.0";
	l->created_by = "envmatrix";
	l->requires_python = "==3.12.10";
	l->nenvironments = 1;
	l->environments = golden_envs;
	l->npackages = 6;
	l->packages = golden_packages;
	l->workload = "vlm";
	l->python = "3.12.10";
	l->platform = "linux-x86_64";
	l->torch_variant = "cu126";
	l->inputs = "9f2c5a1e0b7d4c3a8e6f1d2b9a0c7e5f3d1b8a6c4e2f0d9b7a5c3e1f8d6b4a2c";
}

static void test_golden(void **state)
{
	struct ctx *c = *state;
	struct em_lock l;
	golden_lock(&l);
	struct em_buf b = EM_BUF_INIT;
	struct em_error e = { 0 };
	int r = em_lock_write(&l, &b, &e);
	if (r)
		fail_msg("write: %s", e.msg);
	const char *path = tu_fixture("pylock/pylock.envmatrix.toml");
	if (getenv("EM_WRITE_GOLDEN")) {
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		fwrite(b.ptr, 1, b.len, f);
		fclose(f);
	}
	size_t len;
	char *want = tu_read_file(path, &len);
	assert_non_null(want);
	if (len != b.len || memcmp(want, b.ptr, len) != 0)
		fail_msg("the writer's output differs from %s; it wrote:\n%s", path, b.ptr);
	free(want);

	/* it reads back to the same struct (sorted, hashes in lower case) */
	assert_int_equal(em_lock_parse(&c->a, b.ptr, b.len, "golden", &c->l, &c->e), 0);
	const struct em_lock *g = &c->l;
	assert_string_equal(g->created_by, "envmatrix");
	assert_string_equal(g->requires_python, "==3.12.10");
	assert_int_equal(g->nenvironments, 1);
	assert_string_equal(g->environments[0], golden_envs[0]);
	assert_string_equal(g->workload, "vlm");
	assert_string_equal(g->python, "3.12.10");
	assert_string_equal(g->platform, "linux-x86_64");
	assert_string_equal(g->torch_variant, "cu126");
	assert_string_equal(g->inputs, l.inputs);
	assert_int_equal(g->npackages, 6);
	static const char *const order[] = { "filelock", "lvface", "nvidia-cublas-cu12",
					     "nvidia-cudnn-cu12", "torch", "triton" };
	for (uint32_t i = 0; i < 6; i++) {
		const struct em_lock_package *gp = &g->packages[i];
		assert_string_equal(gp->name, order[i]);
		const struct em_lock_package *p = NULL;
		for (int j = 0; j < 6; j++)
			if (strcmp(golden_packages[j].name, gp->name) == 0)
				p = &golden_packages[j];
		assert_non_null(p);
		assert_string_equal(gp->version, p->version);
		if (p->marker)
			assert_string_equal(gp->marker, p->marker);
		else
			assert_null(gp->marker);
		if (p->requires_python)
			assert_string_equal(gp->requires_python, p->requires_python);
		else
			assert_null(gp->requires_python);
		if (p->index)
			assert_string_equal(gp->index, p->index);
		else
			assert_null(gp->index);
		assert_int_equal(gp->requested, p->requested);
		assert_int_equal(gp->nwheels, 1);
		const struct em_lock_file *gw = &gp->wheels[0], *w = &p->wheels[0];
		if (w->url)
			assert_string_equal(gw->url, w->url);
		else
			assert_null(gw->url);
		if (w->path)
			assert_string_equal(gw->path, w->path);
		else
			assert_null(gw->path);
		assert_int_equal(gw->size, w->size);
		assert_int_equal(strcasecmp(gw->sha256, w->sha256), 0);
		if (w->upload_time)
			assert_string_equal(gw->upload_time, w->upload_time);
		else
			assert_null(gw->upload_time);
	}
	const struct em_lock_package *t = &g->packages[4];
	assert_string_equal(t->wheels[0].name, "torch-2.8.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl");
	assert_int_equal(t->ndeps, 4);
	assert_string_equal(t->deps[0], "filelock"); /* sorted */
	assert_string_equal(t->deps[3], "triton");
	assert_string_equal(g->packages[0].wheels[0].sha256,
			    "c401f4f8377c4464e6db25fff06205fd89bdd83b26cd4a5c6f4b5d2a9d5b7c8e");

	/* writing what was read gives the same bytes */
	struct em_buf b2 = EM_BUF_INIT;
	assert_int_equal(em_lock_write(g, &b2, &e), 0);
	assert_int_equal(b2.len, b.len);
	assert_memory_equal(b2.ptr, b.ptr, b.len);
	em_buf_release(&b);
	em_buf_release(&b2);
}

/* Other tools' locks: written when every package has wheels, and stable. */
static void test_round_trip_fixtures(void **state)
{
	struct ctx *c = *state;
	static const struct {
		const char *file;
		bool writable;
	} files[] = {
		{ "pylock/pylock.example.toml", true },
		{ "pylock/pylock.uv.toml", false },
		{ "pylock/pylock.pip.toml", false },
		{ "pylock/pylock.torch-cu126.toml", false },
		{ "pylock/pylock.envmatrix.toml", true },
	};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		parse_fixture(c, files[i].file);
		struct em_buf b = EM_BUF_INIT, b2 = EM_BUF_INIT;
		struct em_error e = { 0 };
		em_buf_addstr(&b, "# kept\n");
		int r = em_lock_write(&c->l, &b, &e);
		if (!files[i].writable) {
			assert_int_equal(r, EM_EINVAL);
			assert_non_null(strstr(e.msg, "no wheel and no sdist (envmatrix writes wheels and sdists only)"));
			assert_string_equal(b.ptr, "# kept\n");
			em_buf_release(&b);
			continue;
		}
		if (r)
			fail_msg("%s: %s", files[i].file, e.msg);
		struct em_lock l2;
		assert_int_equal(em_lock_parse(&c->a, b.ptr, b.len, "again", &l2, &e), 0);
		assert_int_equal(l2.npackages, c->l.npackages);
		assert_int_equal(em_lock_write(&l2, &b2, &e), 0);
		assert_int_equal(b2.len + 7, b.len);
		assert_memory_equal(b2.ptr, b.ptr + 7, b2.len);
		em_buf_release(&b);
		em_buf_release(&b2);
	}
}

static void test_write_sorting_and_escaping(void **state)
{
	struct ctx *c = *state;
	struct em_lock_file w[3] = {
		{ .url = "https://x/b-1.0-py3-none-win_amd64.whl", .sha256 = SHA_A, .size = -1 },
		{ .url = "https://x/b-1.0-py3-none-any.whl", .sha256 = SHA_B, .size = 0 },
		{ .url = "https://x/a-2.0-py3-none-any.whl", .sha256 = SHA_A, .size = 5 },
	};
	const char *deps[] = { "z", "a \"quoted\" \\ name" };
	struct em_lock_package p[3] = {
		{ .name = "b", .version = "1.0", .marker = "os_name == \"nt\"", .nwheels = 2, .wheels = w },
		{ .name = "a", .version = "2.0", .nwheels = 1, .wheels = &w[2], .ndeps = 2, .deps = deps },
		{ .name = "b", .version = "1.0", .marker = "os_name != \"nt\"", .nwheels = 1, .wheels = &w[1] },
	};
	const char *envs[] = { "os_name == \"nt\"", "os_name == 'posix'" };
	struct em_lock l = { .npackages = 3, .packages = p, .nenvironments = 2, .environments = envs,
			     .workload = "w\"\\\n\t\x01\x7f\xc3\xa9", .torch_variant = "cpu" };
	struct em_buf b = EM_BUF_INIT;
	struct em_error e = { 0 };
	assert_int_equal(em_lock_write(&l, &b, &e), 0);
	const char *want =
		"lock-version = \"1.0\"\n"
		"environments = [\"os_name == \\\"nt\\\"\", \"os_name == 'posix'\"]\n"
		"created-by = \"envmatrix\"\n"
		"\n[[packages]]\nname = \"a\"\nversion = \"2.0\"\n"
		"dependencies = [\n    { name = \"a \\\"quoted\\\" \\\\ name\" },\n    { name = \"z\" },\n]\n"
		"\n[[packages.wheels]]\nname = \"a-2.0-py3-none-any.whl\"\nurl = \"https://x/a-2.0-py3-none-any.whl\"\n"
		"size = 5\nhashes = { sha256 = \"" SHA_A "\" }\n"
		"\n[[packages]]\nname = \"b\"\nversion = \"1.0\"\nmarker = \"os_name != \\\"nt\\\"\"\n"
		"\n[[packages.wheels]]\nname = \"b-1.0-py3-none-any.whl\"\nurl = \"https://x/b-1.0-py3-none-any.whl\"\n"
		"size = 0\nhashes = { sha256 = \"" SHA_B "\" }\n"
		"\n[[packages]]\nname = \"b\"\nversion = \"1.0\"\nmarker = \"os_name == \\\"nt\\\"\"\n"
		"\n[[packages.wheels]]\nname = \"b-1.0-py3-none-any.whl\"\nurl = \"https://x/b-1.0-py3-none-any.whl\"\n"
		"size = 0\nhashes = { sha256 = \"" SHA_B "\" }\n"
		"\n[[packages.wheels]]\nname = \"b-1.0-py3-none-win_amd64.whl\"\nurl = \"https://x/b-1.0-py3-none-win_amd64.whl\"\n"
		"hashes = { sha256 = \"" SHA_A "\" }\n"
		"\n[tool.envmatrix]\nworkload = \"w\\\"\\\\\\u000A\\u0009\\u0001\\u007F\xc3\xa9\"\ntorch-variant = \"cpu\"\n";
	if (strcmp(b.ptr, want) != 0)
		fail_msg("got:\n%s\nwant:\n%s", b.ptr, want);
	assert_int_equal(em_lock_parse(&c->a, b.ptr, b.len, "t", &c->l, &c->e), 0);
	assert_string_equal(c->l.workload, l.workload);
	assert_string_equal(c->l.packages[0].deps[0], deps[1]);
	assert_string_equal(c->l.environments[0], envs[0]);
	em_buf_release(&b);
}

static void test_write_errors(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *pkg, *version, *marker, *wname, *url, *path, *sha, *time;
		int64_t size;
		const char *msg;
	} cases[] = {
		{ "no name", NULL, "1.0", NULL, NULL, "https://x/a-1.0-py3-none-any.whl", NULL, SHA_A, NULL, -1,
		  "a package name is missing" },
		{ "name not normalized", "A_b", "1.0", NULL, NULL, "https://x/a_b-1.0-py3-none-any.whl", NULL, SHA_A, NULL, -1,
		  "package name 'A_b' is not normalized" },
		{ "bad version", "a", "one", NULL, NULL, "https://x/a-1.0-py3-none-any.whl", NULL, SHA_A, NULL, -1,
		  "cannot write package 'a': invalid version 'one'" },
		{ "bad marker", "a", "1.0", "os_name = 'nt'", NULL, "https://x/a-1.0-py3-none-any.whl", NULL, SHA_A, NULL, -1,
		  "invalid marker" },
		{ "no url or path", "a", "1.0", NULL, "a-1.0-py3-none-any.whl", NULL, "", SHA_A, NULL, -1,
		  "wheel 1 has no url or path" },
		{ "no sha256", "a", "1.0", NULL, NULL, "https://x/a-1.0-py3-none-any.whl", NULL, NULL, NULL, -1,
		  "wheel 'a-1.0-py3-none-any.whl' has no valid sha256" },
		{ "bad sha256", "a", "1.0", NULL, NULL, "https://x/a-1.0-py3-none-any.whl", NULL, "abc", NULL, -1,
		  "has no valid sha256" },
		{ "other package", "a", "1.0", NULL, NULL, "https://x/b-1.0-py3-none-any.whl", NULL, SHA_A, NULL, -1,
		  "wheel 'b-1.0-py3-none-any.whl' is not a file of this package" },
		{ "other version", "a", "1.0", NULL, NULL, "https://x/a-2.0-py3-none-any.whl", NULL, SHA_A, NULL, -1,
		  "is not of version '1.0'" },
		{ "not a wheel name", "a", "1.0", NULL, "a.zip", "https://x/a-1.0-py3-none-any.whl", NULL, SHA_A, NULL, -1,
		  "a.zip" },
		{ "slash in the name", "a", "1.0", NULL, "x/a-1.0-py3-none-any.whl", "https://x/", NULL, SHA_A, NULL, -1,
		  "invalid wheel file name 'x/a-1.0-py3-none-any.whl'" },
		{ "bad upload time", "a", "1.0", NULL, NULL, "https://x/a-1.0-py3-none-any.whl", NULL, SHA_A, "2025-01-01", -1,
		  "invalid upload time '2025-01-01'" },
		{ "upload time injection", "a", "1.0", NULL, NULL, "https://x/a-1.0-py3-none-any.whl", NULL, SHA_A,
		  "2025-01-01T00:00:00Z\n[x]", -1, "invalid upload time" },
		{ "negative size", "a", "1.0", NULL, NULL, "https://x/a-1.0-py3-none-any.whl", NULL, SHA_A, NULL, -2,
		  "has a negative size" },
		{ "bad utf-8", "a", "1.0", NULL, NULL, "https://x/a-1.0-py3-none-any.whl\xff", NULL, SHA_A, NULL, -1,
		  "a wheel url is not valid UTF-8" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct em_lock_file w = { .name = cases[i].wname, .url = cases[i].url, .path = cases[i].path,
					  .sha256 = cases[i].sha, .upload_time = cases[i].time,
					  .size = cases[i].size };
		struct em_lock_package p = { .name = cases[i].pkg, .version = cases[i].version,
					     .marker = cases[i].marker, .nwheels = 1, .wheels = &w };
		struct em_lock l = { .npackages = 1, .packages = &p };
		struct em_buf b = EM_BUF_INIT;
		struct em_error e = { 0 };
		em_buf_addstr(&b, "x");
		int r = em_lock_write(&l, &b, &e);
		if (r != EM_EINVAL || e.code != EM_EINVAL || !strstr(e.msg, cases[i].msg) ||
		    strcmp(b.ptr, "x") != 0)
			fail_msg("%s: got %d '%s', wrote '%s'", cases[i].name, r, e.msg, b.ptr);
		em_buf_release(&b);
	}

	struct em_lock_package nowheel = { .name = "a", .version = "1" };
	struct em_lock l = { .npackages = 1, .packages = &nowheel };
	struct em_buf b = EM_BUF_INIT;
	struct em_error e = { 0 };
	assert_int_equal(em_lock_write(&l, &b, &e), EM_EINVAL);
	assert_string_equal(e.msg, "cannot write package 'a': no wheel and no sdist (envmatrix writes wheels and sdists only)");
	const char *bad_env[] = { "linux" };
	struct em_lock l2 = { .nenvironments = 1, .environments = bad_env };
	assert_int_equal(em_lock_write(&l2, &b, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "cannot write the lock: invalid environment marker"));
	struct em_lock l3 = { .requires_python = "three" };
	assert_int_equal(em_lock_write(&l3, &b, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "invalid requires-python"));
	const char *bad_extra[] = { "Dev" };
	struct em_lock l4 = { .nextras = 1, .extras = bad_extra };
	assert_int_equal(em_lock_write(&l4, &b, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "extra 'Dev' is not normalized"));
	struct em_lock l5 = { .npackages = 2 };
	assert_int_equal(em_lock_write(&l5, &b, &e), EM_EUSAGE);
	struct em_lock l6 = { .workload = "\xc3" };
	assert_int_equal(em_lock_write(&l6, &b, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "workload is not valid UTF-8"));
	assert_int_equal(b.len, 0);

	/* the empty lock is a valid lock, and reads back (PEP 751 requires
	 * 'packages', so none is written as an empty array) */
	struct em_lock empty = { 0 };
	assert_int_equal(em_lock_write(&empty, &b, &e), 0);
	assert_string_equal(b.ptr, "lock-version = \"1.0\"\ncreated-by = \"envmatrix\"\n"
				   "packages = []\n");
	struct em_arena ra;
	em_arena_init(&ra);
	struct em_lock back;
	assert_int_equal(em_lock_parse(&ra, b.ptr, b.len, "empty", &back, &e), 0);
	assert_int_equal(back.npackages, 0);
	em_arena_release(&ra);
	em_buf_release(&b);

	/* a full buffer is reported */
	struct em_buf small;
	em_buf_init(&small, 16);
	assert_int_equal(em_lock_write(&empty, &small, &e), EM_ELIMIT);
	em_buf_release(&small);
}

static void test_file_name(void **state)
{
	(void)state;
	char buf[64];
	assert_true(em_lock_file_name("vlm", buf, sizeof buf));
	assert_string_equal(buf, "pylock.vlm.toml");
	assert_true(em_lock_file_name("legacy-cu124_A", buf, sizeof buf));
	assert_string_equal(buf, "pylock.legacy-cu124_A.toml");
	assert_true(em_lock_file_name("caf\xc3\xa9 2", buf, sizeof buf));
	static const char *const bad[] = { "", "a.b", ".", "a/b", "a\\b", "a\nb", "a:b", "a*", "a?",
					   "a\"b", "<a>", "a|b", "a\x7f", "\xff" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (em_lock_file_name(bad[i], buf, sizeof buf))
			fail_msg("'%s' accepted", bad[i]);
	assert_false(em_lock_file_name(NULL, buf, sizeof buf));
	assert_false(em_lock_file_name("vlm", buf, 15)); /* "pylock.vlm.toml" is 15 */
	assert_string_equal(buf, "");
	assert_true(em_lock_file_name("vlm", buf, 16));
	assert_false(em_lock_file_name("vlm", NULL, 0));
}

/* [tool.envmatrix] python-url / python-sha256 / python-size: the
 * interpreter's download (pybuild.h) */
static void test_python_download(void **state)
{
	struct ctx *c = *state;
	static const char head[] =
		"lock-version = \"1.0\"\ncreated-by = \"envmatrix\"\n\n"
		"[[packages]]\nname = \"six\"\nversion = \"1.0\"\n\n[[packages.wheels]]\n"
		"name = \"six-1.0-py3-none-any.whl\"\nurl = \"https://x/six-1.0-py3-none-any.whl\"\n"
		"hashes = { sha256 = \"" "1111111111111111111111111111111111111111111111111111111111111111" "\" }\n\n"
		"[tool.envmatrix]\nworkload = \"w\"\npython = \"3.12.1\"\n";
	char text[2048];
	snprintf(text, sizeof text,
		 "%spython-url = \"https://m/cpython-3.12.1+1-x86_64-unknown-linux-gnu-install_only.tar.gz\"\n"
		 "python-sha256 = \"%s\"\npython-size = 1234\n",
		 head, "2222222222222222222222222222222222222222222222222222222222222222");
	assert_int_equal(parse_s(c, text), 0);
	assert_string_equal(c->l.python_url,
			    "https://m/cpython-3.12.1+1-x86_64-unknown-linux-gnu-install_only.tar.gz");
	assert_int_equal(c->l.python_size, 1234);
	struct em_buf b = EM_BUF_INIT;
	assert_int_equal(em_lock_write(&c->l, &b, &c->e), 0);
	assert_non_null(strstr(b.ptr, "python-sha256 = \"2222"));
	assert_non_null(strstr(b.ptr, "\npython-size = 1234\n"));
	struct em_lock l2;
	assert_int_equal(em_lock_parse(&c->a, b.ptr, b.len, "again", &l2, &c->e), 0);
	assert_string_equal(l2.python_sha256, c->l.python_sha256);
	em_buf_release(&b);
	/* one without the other, a bad hash, a negative size */
	snprintf(text, sizeof text, "%spython-url = \"https://m/a.tar.gz\"\n", head);
	assert_int_equal(parse_s(c, text), EM_EINVAL);
	assert_non_null(strstr(c->e.msg, "needs both 'python-url' and 'python-sha256'"));
	snprintf(text, sizeof text, "%spython-url = \"u\"\npython-sha256 = \"abc\"\n", head);
	assert_int_equal(parse_s(c, text), EM_EINVAL);
	assert_non_null(strstr(c->e.msg, "'python-sha256'"));
	snprintf(text, sizeof text,
		 "%spython-url = \"u\"\npython-sha256 = \"%s\"\npython-size = -5\n", head,
		 "2222222222222222222222222222222222222222222222222222222222222222");
	assert_int_equal(parse_s(c, text), EM_EINVAL);
	assert_non_null(strstr(c->e.msg, "'python-size'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_spec_example, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uv_export, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pip_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torch_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_details, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_golden, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip_fixtures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_sorting_and_escaping, setup, teardown),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_file_name),
		cmocka_unit_test_setup_teardown(test_python_download, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

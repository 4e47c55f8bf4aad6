/* test_verify.c - verification without running Python (verify.h)
 *
 * Import names from top_level.txt and RECORD (a lying top_level.txt,
 * extension modules, scripts outside site-packages); the script's output
 * turned into checks (normal, garbage, a crash during a check, a timeout,
 * a non-zero exit after the report); expectations built from a venv on
 * disk with and without a lock (requested imports, a missing requested
 * package, onnxruntime-gpu, the dependency check on the real cu130
 * environment and on a broken one); CUDA versions of variants; verify
 * command splitting; results through JSON and the file kept in the venv.
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
#include "verify.h"

struct fx {
	char dir[PATH_MAX];
	struct em_arena a;
	struct em_error e;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/em-verify.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	em_arena_init(&f->a);
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

static void put(const char *dir, const char *rel, const char *text)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	assert_int_equal(em_mkdir_p(p, NULL), 0);
	*slash = '/';
	assert_int_equal(em_write_file_atomic(p, text, strlen(text), 0644, NULL), 0);
}

static char *joined(struct em_arena *a, const char **v, uint32_t n)
{
	struct em_buf b;
	em_buf_init(&b, 0);
	for (uint32_t i = 0; i < n; i++)
		em_buf_addf(&b, "%s%s", i ? " " : "", v[i]);
	char *s = em_arena_strndup(a, b.ptr ? b.ptr : "", b.len);
	em_buf_release(&b);
	return s;
}

/* ---- import names ---- */

static const char *mods_of(struct em_arena *a, const char *tl, const char *rec)
{
	const char **m;
	uint32_t n;
	assert_int_equal(em_verify_top_level(a, tl, tl ? strlen(tl) : 0, rec, rec ? strlen(rec) : 0,
					     &m, &n, NULL), 0);
	return joined(a, m, n);
}

static void test_top_level(void **state)
{
	struct fx *f = *state;
	struct em_arena *a = &f->a;
	const char *rec =
		"PIL/__init__.py,sha256=x,10\n"
		"PIL/_imaging.cpython-312-x86_64-linux-gnu.so,sha256=y,20\n"
		"\"odd,name/__init__.py\",sha256=z,1\n"
		"six.py,sha256=s,3\n"
		"_cffi_backend.cpython-312-x86_64-linux-gnu.so,sha256=c,4\n"
		"winmod.cp312-win_amd64.pyd,sha256=w,5\n"
		"pillow-10.0.dist-info/METADATA,sha256=m,6\n"
		"pillow-10.0.dist-info/RECORD,,\n"
		"pillow.libs/libjpeg.so,sha256=j,7\n"
		"__pycache__/six.cpython-312.pyc,,\n"
		"../../../bin/pilprint,sha256=b,8\n"
		"nvidia\\cublas\\lib\\x.so,sha256=n,9\n"
		"README.txt,sha256=r,1\n";
	/* from RECORD: folders and module files, identifiers only */
	assert_string_equal(mods_of(a, NULL, rec), "PIL _cffi_backend nvidia six winmod");
	/* top_level.txt wins, but only for names RECORD holds */
	assert_string_equal(mods_of(a, "six\nPIL\ndebian\n", rec), "PIL six");
	/* Debian's setuptools: 'debian' is not in the wheel */
	assert_string_equal(mods_of(a, "_distutils_hack\ndebian\npkg_resources\nsetuptools\n",
				    "setuptools/__init__.py,,\npkg_resources/__init__.py,,\n"
				    "_distutils_hack/__init__.py,,\ndistutils-precedence.pth,,\n"),
			    "_distutils_hack pkg_resources setuptools");
	/* no RECORD: top_level.txt as it is ("pkg/sub" names pkg), CRLF too */
	assert_string_equal(mods_of(a, "google/protobuf\r\nyaml\r\n\r\n", NULL), "google yaml");
	/* a top_level.txt RECORD contradicts entirely: RECORD */
	assert_string_equal(mods_of(a, "nothere\n", "real/__init__.py,,\n"), "real");
	assert_string_equal(mods_of(a, NULL, NULL), "");
	assert_string_equal(mods_of(a, "", ""), "");
}

/* ---- the script's output ---- */

static struct em_verify_result parse(struct em_arena *a, const char *out, const char *err,
				     int status, bool timed_out)
{
	struct em_verify_result r;
	memset(&r, 0, sizeof r);
	assert_int_equal(em_verify_parse_output(a, out, strlen(out), err, strlen(err), status,
						timed_out, 5000, &r, NULL), 0);
	return r;
}

static void test_parse_normal(void **state)
{
	struct fx *f = *state;
	const char *out =
		"{\"begin\": \"python\"}\n"
		"{\"check\": \"python\", \"status\": \"ok\", \"expected\": \"3.12.1\", \"got\": \"3.12.1\", \"detail\": null, \"seconds\": 0.5}\n"
		"{\"begin\": \"import torch\"}\r\n"
		"{\"check\": \"import torch\", \"status\": \"failed\", \"expected\": null, \"got\": null, \"detail\": \"ImportError: no\\nsecond line\", \"seconds\": 1}\n"
		"{\"check\": \"torch.version.cuda\", \"status\": \"skipped\", \"expected\": null, \"got\": null, \"detail\": \"import torch failed\", \"seconds\": 0}\n"
		"{\"done\": true, \"python\": \"3.12.1\"}\n";
	struct em_verify_result r = parse(&f->a, out, "some warning\n", 0, false);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.passed, 1);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.skipped, 1);
	assert_string_equal(r.python, "3.12.1");
	assert_string_equal(r.checks[0].name, "python");
	assert_string_equal(r.checks[0].expected, "3.12.1");
	assert_true(r.checks[0].seconds == 0.5);
	assert_int_equal(r.checks[1].status, EM_CHECK_FAILED);
	assert_null(r.checks[1].got);
	assert_string_equal(r.checks[1].detail, "ImportError: no\nsecond line");
	assert_int_equal(r.checks[2].status, EM_CHECK_SKIPPED);
	char sum[64];
	em_verify_summary(&r, sum, sizeof sum);
	assert_string_equal(sum, "1 failed, 1 passed, 1 skipped");
	/* the failures in one line: the first line of each detail */
	assert_string_equal(em_verify_failures(&f->a, &r, 0), "import torch: ImportError: no");
}

static void test_parse_bad(void **state)
{
	struct fx *f = *state;
	struct em_arena *a = &f->a;
	/* a crash during a check: that check fails, with stderr's tail */
	struct em_verify_result r = parse(a, "{\"begin\": \"import torch\"}\n",
					  "Fatal Python error: Segmentation fault\n\nThread 0x1:\n", 139,
					  false);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.checks[0].name, "import torch");
	assert_int_equal(r.checks[0].status, EM_CHECK_FAILED);
	assert_string_equal(r.checks[0].detail,
			    "python died of SIGSEGV (11) during this check; its last output: Fatal "
			    "Python error: Segmentation fault\n\nThread 0x1:");
	/* a timeout in a check */
	r = parse(a, "{\"check\": \"python\", \"status\": \"ok\"}\n{\"begin\": \"import hang\"}\n", "",
		  137, true);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.passed, 1);
	assert_string_equal(r.checks[1].name, "import hang");
	assert_string_equal(r.checks[1].detail, "timed out after 5 s (this check did not finish)");
	/* garbage only */
	r = parse(a, "hello\x1b[31m world\n", "", 0, false);
	assert_int_equal(r.failed, 1);
	assert_string_equal(r.checks[0].name, "python runs the checks");
	assert_non_null(strstr(r.checks[0].detail, "printed no check results, only output such as "
						  "'hello\\x1b[31m world'"));
	/* nothing at all, exit 1: a Python too old for the script, say */
	r = parse(a, "", "  File \"<string>\", line 1\nSyntaxError: invalid syntax\n", 1, false);
	assert_int_equal(r.failed, 1);
	assert_string_equal(r.checks[0].detail,
			    "python exited with status 1; its last output:   File \"<string>\", "
			    "line 1\nSyntaxError: invalid syntax");
	/* every check reported, then a bad exit */
	r = parse(a, "{\"done\": true}\n", "", 3, false);
	assert_int_equal(r.failed, 1);
	assert_string_equal(r.checks[0].detail, "python exited with status 3 after the checks");
	/* results mixed with garbage: kept, and the garbage is a failure */
	r = parse(a, "{\"check\": \"python\", \"status\": \"ok\"}\n[1, 2]\n{\"done\": true}\n", "", 0,
		  false);
	assert_int_equal(r.passed, 1);
	assert_int_equal(r.failed, 1);
	assert_non_null(strstr(r.checks[1].detail, "1 line that are not check results"));
	/* stopped without a word and without a status */
	r = parse(a, "{\"check\": \"python\", \"status\": \"weird\"}\n", "", 0, false);
	assert_int_equal(r.checks[0].status, EM_CHECK_FAILED); /* an unknown status fails */
	assert_string_equal(r.checks[1].detail, "python stopped before finishing the checks");
	/* a clean, empty report */
	r = parse(a, "{\"done\": true}\n", "", 0, false);
	assert_int_equal(r.n, 0);
}

/* ---- expectations from a venv on disk ---- */

static const char LOCK[] =
	"lock-version = \"1.0\"\n"
	"created-by = \"envmatrix\"\n"
	"\n"
	"[[packages]]\n"
	"name = \"pillow\"\n"
	"version = \"10.0\"\n"
	"wheels = [{ name = \"pillow-10.0-py3-none-any.whl\", url = \"https://x/pillow-10.0-py3-none-any.whl\", hashes = { sha256 = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" } }]\n"
	"[packages.tool.envmatrix]\n"
	"requested = true\n"
	"\n"
	"[[packages]]\n"
	"name = \"pywin32\"\n"
	"version = \"306\"\n"
	"marker = \"sys_platform == 'win32'\"\n"
	"wheels = [{ name = \"pywin32-306-py3-none-any.whl\", url = \"https://x/pywin32-306-py3-none-any.whl\", hashes = { sha256 = \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\" } }]\n"
	"[packages.tool.envmatrix]\n"
	"requested = true\n"
	"\n"
	"[[packages]]\n"
	"name = \"torch\"\n"
	"version = \"2.8.0+cu126\"\n"
	"wheels = [{ name = \"torch-2.8.0+cu126-py3-none-any.whl\", url = \"https://x/torch-2.8.0+cu126-py3-none-any.whl\", hashes = { sha256 = \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\" } }]\n"
	"[packages.tool.envmatrix]\n"
	"requested = true\n"
	"\n"
	"[[packages]]\n"
	"name = \"typing-extensions\"\n"
	"version = \"4.0\"\n"
	"wheels = [{ name = \"typing_extensions-4.0-py3-none-any.whl\", url = \"https://x/typing_extensions-4.0-py3-none-any.whl\", hashes = { sha256 = \"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\" } }]\n"
	"\n"
	"[[packages]]\n"
	"name = \"numpy\"\n"
	"version = \"2.0\"\n"
	"wheels = [{ name = \"numpy-2.0-py3-none-any.whl\", url = \"https://x/numpy-2.0-py3-none-any.whl\", hashes = { sha256 = \"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\" } }]\n"
	"[packages.tool.envmatrix]\n"
	"requested = true\n"
	"\n"
	"[tool.envmatrix]\n"
	"workload = \"vlm\"\n"
	"python = \"3.12.1\"\n"
	"platform = \"linux-x86_64-glibc2.28\"\n"
	"torch-variant = \"cu126\"\n";

static void dist(const char *site, const char *name, const char *version, const char *reqs,
		 const char *record)
{
	char rel[256], meta[1024];
	snprintf(rel, sizeof rel, "%s-%s.dist-info/METADATA", name, version);
	snprintf(meta, sizeof meta, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n%s\n", name,
		 version, reqs);
	put(site, rel, meta);
	snprintf(rel, sizeof rel, "%s-%s.dist-info/RECORD", name, version);
	put(site, rel, record);
}

static const char *find_static(const struct em_verify_expect *x, const char *name)
{
	for (uint32_t i = 0; i < x->nstatic; i++)
		if (!strcmp(x->statics[i].name, name))
			return em_check_status_name(x->statics[i].status);
	return NULL;
}

static void test_expect_venv(void **state)
{
	struct fx *f = *state;
	struct em_arena *a = &f->a;
	char site[PATH_MAX + 64];
	snprintf(site, sizeof site, "%s/lib/python3.12/site-packages", f->dir);
	put(f->dir, "pyvenv.cfg", "home = /usr/bin\nversion_info = 3.12.1.final.0\n");
	dist(site, "Pillow", "10.0", "Requires-Dist: typing-extensions>=4 ; python_version >= \"3.8\"",
	     "PIL/__init__.py,,\npillow.libs/x.so,,\n");
	dist(site, "torch", "2.8.0+cu126",
	     "Requires-Dist: typing-extensions>=4.10.0\nRequires-Dist: pywin32 ; sys_platform == \"win32\"\n"
	     "Requires-Dist: opt-einsum>=3.3 ; extra == \"opt-einsum\"",
	     "torch/__init__.py,,\ntorchgen/__init__.py,,\nfunctorch/__init__.py,,\n");
	dist(site, "typing_extensions", "4.0", "", "typing_extensions.py,,\n");
	dist(site, "onnxruntime_gpu", "1.19.2", "", "onnxruntime/__init__.py,,\n");

	/* with the lock: the requested ones, by their import names */
	struct em_lock l;
	if (em_lock_parse(a, LOCK, strlen(LOCK), "pylock.toml", &l, &f->e))
		fail_msg("%s: %s", f->e.where, f->e.msg);
	struct em_verify_inputs in = { f->dir, &l, NULL, NULL, { true, "NVIDIA H200", 9, 0, NULL } };
	struct em_verify_expect x;
	assert_int_equal(em_verify_expect_build(a, &in, &x, &f->e), 0);
	assert_string_equal(x.python, "3.12.1");
	assert_int_equal(x.nimports, 4);
	/* main modules first, in the lock's order, then the others */
	assert_string_equal(x.imports[0].check, "import torch");
	assert_string_equal(x.imports[1].check, "import PIL (pillow)");
	assert_string_equal(x.imports[2].check, "import functorch (torch)");
	assert_string_equal(x.imports[3].check, "import torchgen (torch)");
	assert_true(x.torch);
	assert_string_equal(x.torch_version, "2.8.0+cu126");
	assert_string_equal(x.variant, "cu126");
	assert_string_equal(x.cuda, "12.6");
	assert_true(x.onnxruntime_gpu);
	assert_true(x.gpu.present);
	/* numpy is locked and requested but not installed; pywin32 has a marker */
	assert_string_equal(find_static(&x, "installed numpy"), "failed");
	assert_string_equal(find_static(&x, "installed pywin32"), "skipped");
	/* typing-extensions 4.0 does not satisfy torch's >=4.10.0 */
	assert_string_equal(find_static(&x, "dependencies"), "failed");
	for (uint32_t i = 0; i < x.nstatic; i++)
		if (!strcmp(x.statics[i].name, "dependencies"))
			assert_string_equal(x.statics[i].detail,
					    "torch 2.8.0+cu126 needs 'typing-extensions>=4.10.0', but "
					    "4.0 is installed");

	/* without a lock: every distribution, private and junk names left out */
	dist(site, "typing_extensions", "4.12", "", "typing_extensions.py,,\n_private.py,,\ntests/x.py,,\n");
	char old[PATH_MAX + 128];
	snprintf(old, sizeof old, "%s/typing_extensions-4.0.dist-info", site);
	em_remove_tree(old, NULL);
	struct em_verify_inputs in2 = { f->dir, NULL, NULL, "2.8.0+cpu", { false, NULL, -1, -1, NULL } };
	assert_int_equal(em_verify_expect_build(a, &in2, &x, &f->e), 0);
	assert_null(x.python);
	const char *names[16];
	for (uint32_t i = 0; i < x.nimports; i++)
		names[i] = x.imports[i].module;
	assert_string_equal(joined(a, names, x.nimports),
			    "torch typing_extensions onnxruntime PIL functorch torchgen");
	assert_string_equal(x.torch_version, "2.8.0+cpu");
	assert_string_equal(x.cuda, "None");
	assert_string_equal(find_static(&x, "dependencies"), "ok");

	/* a bad --expect-torch */
	struct em_verify_inputs in3 = { f->dir, NULL, NULL, "two point eight", { false, NULL, -1, -1, NULL } };
	assert_int_equal(em_verify_expect_build(a, &in3, &x, &f->e), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "'two point eight' is not a torch version"));
	/* not a venv */
	struct em_verify_inputs in4 = { site, NULL, NULL, NULL, { false, NULL, -1, -1, NULL } };
	assert_int_equal(em_verify_expect_build(a, &in4, &x, &f->e), EM_ENOTFOUND);
	assert_non_null(strstr(f->e.msg, "no site-packages folder"));
}

/* The real cu130 environment's 197 distributions are consistent. */
static void test_expect_cu130(void **state)
{
	struct fx *f = *state;
	struct em_arena *a = &f->a;
	char lib[PATH_MAX + 64], link[PATH_MAX + 128];
	snprintf(lib, sizeof lib, "%s/lib/python3.12", f->dir);
	assert_int_equal(em_mkdir_p(lib, NULL), 0);
	snprintf(link, sizeof link, "%s/site-packages", lib);
	const char *fix = tu_fixture("cu130-stack");
	char absfix[PATH_MAX];
	assert_non_null(realpath(fix, absfix));
	assert_int_equal(symlink(absfix, link), 0);
	put(f->dir, "pyvenv.cfg", "version_info = 3.12.3\n");
	struct em_verify_inputs in = { f->dir, NULL, NULL, NULL, { false, NULL, -1, -1, NULL } };
	struct em_verify_expect x;
	assert_int_equal(em_verify_expect_build(a, &in, &x, &f->e), 0);
	const struct em_check *dep = NULL;
	for (uint32_t i = 0; i < x.nstatic; i++)
		if (!strcmp(x.statics[i].name, "dependencies"))
			dep = &x.statics[i];
	assert_non_null(dep);
	if (dep->status != EM_CHECK_OK)
		fail_msg("cu130: %s", dep->detail ? dep->detail : "?");
	assert_string_equal(dep->got, "197 distributions");
	/* PyPI's torch 2.11.0 is a CUDA 13.0 build without a local label: the
	 * script then takes torch.version.cuda as it is */
	assert_string_equal(x.torch_version, "2.11.0");
	assert_null(x.variant);
	assert_null(x.cuda);
}

/* ---- small pieces ---- */

static void test_cuda_of_variant(void **state)
{
	struct fx *f = *state;
	struct em_arena *a = &f->a;
	assert_string_equal(em_verify_cuda_of_variant(a, "cu126"), "12.6");
	assert_string_equal(em_verify_cuda_of_variant(a, "cu130"), "13.0");
	assert_string_equal(em_verify_cuda_of_variant(a, "cu92"), "9.2");
	assert_string_equal(em_verify_cuda_of_variant(a, "cpu"), "None");
	assert_null(em_verify_cuda_of_variant(a, "rocm6.2"));
	assert_null(em_verify_cuda_of_variant(a, "xpu"));
	assert_null(em_verify_cuda_of_variant(a, "cu"));
	assert_null(em_verify_cuda_of_variant(a, "cu12a"));
	assert_null(em_verify_cuda_of_variant(a, NULL));
}

static const char *split(struct em_arena *a, const char *s, struct em_error *e)
{
	char **w;
	uint32_t n;
	if (em_command_split(a, s, &w, &n, e))
		return NULL;
	assert_null(w[n]);
	struct em_buf b;
	em_buf_init(&b, 0);
	for (uint32_t i = 0; i < n; i++)
		em_buf_addf(&b, "[%s]", w[i]);
	char *r = em_arena_strndup(a, b.ptr ? b.ptr : "", b.len);
	em_buf_release(&b);
	return r;
}

static void test_command_split(void **state)
{
	struct fx *f = *state;
	struct em_arena *a = &f->a;
	struct em_error *e = &f->e;
	assert_string_equal(split(a, "pytest -q tests/smoke", e), "[pytest][-q][tests/smoke]");
	assert_string_equal(split(a, "  python\t-c   \"import torch; print(1)\" ", e),
			    "[python][-c][import torch; print(1)]");
	assert_string_equal(split(a, "sh -c 'echo \"$HOME\" | wc -c'", e),
			    "[sh][-c][echo \"$HOME\" | wc -c]");
	assert_string_equal(split(a, "a\"b c\"'d e'f", e), "[ab cd ef]");
	assert_string_equal(split(a, "x \"q\\\"uote\\\\ \\n\" y\\ z ''", e), "[x][q\"uote\\ \\n][y z][]");
	assert_null(split(a, "python -c \"print(1)", e));
	assert_string_equal(e->msg, "a \" is not closed");
	assert_null(split(a, "echo 'x", e));
	assert_string_equal(e->msg, "a ' is not closed");
	assert_null(split(a, "echo x\\", e));
	assert_string_equal(e->msg, "a backslash ends the command");
	assert_null(split(a, "   ", e));
	assert_string_equal(e->msg, "no command");
	char big[EM_COMMAND_MAX_WORDS * 2 + 8];
	size_t k = 0;
	for (int i = 0; i <= EM_COMMAND_MAX_WORDS; i++) {
		big[k++] = 'x';
		big[k++] = ' ';
	}
	big[k] = '\0';
	assert_null(split(a, big, e));
	assert_int_equal(e->code, EM_ELIMIT);
}

static void test_matrix_key(void **state)
{
	struct fx *f = *state;
	struct em_arena *a = &f->a;
	const char *ini = "[matrix]\npython = 3.12\nverify =\n    python -c 'import sys'\n\n"
			  "[vlm]\nverify = pytest -q\n    ./smoke.sh \"a b\"\n[other]\npath = o\n";
	struct em_matrix m;
	if (em_matrix_parse(a, ini, strlen(ini), "m.ini", &m, &f->e))
		fail_msg("%s: %s", f->e.where, f->e.msg);
	const struct em_workload *w = em_matrix_find(&m, "vlm");
	assert_int_equal(w->nverify, 3);
	assert_string_equal(w->verify[0].value, "python -c 'import sys'");
	assert_int_equal(w->verify[0].line, 4);
	assert_string_equal(w->verify[1].value, "pytest -q");
	assert_string_equal(w->verify[2].value, "./smoke.sh \"a b\"");
	assert_int_equal(w->verify[2].line, 8);
	assert_int_equal(em_matrix_find(&m, "other")->nverify, 1);
	const char *bad = "[vlm]\npython = 3.12\nverify = echo 'oops\n";
	assert_int_equal(em_matrix_parse(a, bad, strlen(bad), "m.ini", &m, &f->e), EM_EINVAL);
	assert_string_equal(f->e.where, "m.ini:3");
	assert_string_equal(f->e.msg, "verify in [vlm]: 'echo 'oops': a ' is not closed");
}

/* ---- keeping results ---- */

static void test_json_roundtrip(void **state)
{
	struct fx *f = *state;
	struct em_arena *a = &f->a;
	struct em_verify_result r;
	memset(&r, 0, sizeof r);
	r.venv = "/srv/vlm/.venv";
	r.when = "2026-11-27T01:30:12Z";
	r.python = "3.12.1";
	r.seconds = 1.25;
	assert_int_equal(em_verify_add(a, &r, "import torch", EM_CHECK_OK, NULL, "2.8.0+cu126", NULL,
				       0.75, NULL), 0);
	assert_int_equal(em_verify_add(a, &r, "torch.version.cuda", EM_CHECK_FAILED, "12.6", "12.4",
				       NULL, 0, NULL), 0);
	assert_int_equal(em_verify_add(a, &r, "verify: ./x \"q\"", EM_CHECK_SKIPPED, "exit 0", NULL,
				       "line\n\x01 two", 0, NULL), 0);
	for (int i = 0; i < 40; i++) /* growing past the first allocations */
		assert_int_equal(em_verify_add(a, &r, "more", EM_CHECK_OK, NULL, NULL, NULL, 0, NULL), 0);
	assert_int_equal(r.n, 43);
	assert_string_equal(em_verify_failures(a, &r, 0),
			    "torch.version.cuda: expected '12.6', got '12.4'");
	assert_int_equal(em_verify_save(a, f->dir, &r, &f->e), 0);
	struct em_verify_result b;
	assert_int_equal(em_verify_load(a, f->dir, &b, &f->e), 0);
	assert_int_equal(b.n, 43);
	assert_int_equal(b.passed, 41);
	assert_int_equal(b.failed, 1);
	assert_int_equal(b.skipped, 1);
	assert_string_equal(b.venv, r.venv);
	assert_string_equal(b.when, r.when);
	assert_string_equal(b.python, "3.12.1");
	assert_true(b.seconds == 1.25);
	assert_string_equal(b.checks[1].expected, "12.6");
	assert_string_equal(b.checks[2].name, "verify: ./x \"q\"");
	assert_string_equal(b.checks[2].detail, "line\n\x01 two");
	assert_true(b.checks[0].seconds == 0.75);
	assert_null(b.checks[0].expected);
	/* none kept, and a damaged file */
	char sub[PATH_MAX + 8];
	snprintf(sub, sizeof sub, "%s/none", f->dir);
	assert_int_equal(em_mkdir_p(sub, NULL), 0);
	assert_int_equal(em_verify_load(a, sub, &b, &f->e), EM_ENOTFOUND);
	put(sub, EM_VERIFY_FILE, "{\"checks\": 3}");
	assert_int_equal(em_verify_load(a, sub, &b, &f->e), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "not a verification record"));
	put(sub, EM_VERIFY_FILE, "{\"che");
	assert_int_equal(em_verify_load(a, sub, &b, &f->e), EM_EINVAL);
}

static void test_interpreter(void **state)
{
	struct fx *f = *state;
	struct em_arena *a = &f->a;
	const char *py;
	assert_int_equal(em_verify_interpreter(a, f->dir, &py, &f->e), EM_ENOTFOUND);
	assert_non_null(strstr(f->e.msg, "has no working bin/python"));
	put(f->dir, "Scripts/python.exe", "MZ");
	assert_int_equal(em_verify_interpreter(a, f->dir, &py, &f->e), EM_EUNSUPPORTED);
	assert_non_null(strstr(f->e.msg, "Windows environment"));
	char p[PATH_MAX + 32];
	snprintf(p, sizeof p, "%s/bin/python3", f->dir);
	put(f->dir, "bin/python3", "#!/bin/sh\n");
	assert_int_equal(chmod(p, 0755), 0);
	assert_int_equal(em_verify_interpreter(a, f->dir, &py, &f->e), 0);
	assert_string_equal(py, p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_top_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_normal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expect_venv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expect_cu130, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cuda_of_variant, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_matrix_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interpreter, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_matrix.c - the version matrix and requirements files */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/matrix.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Parse text as "matrix.ini"; fails the test on an error. */
static void parse_ok(struct em_arena *a, const char *text, struct em_matrix *m)
{
	struct em_error e;
	em_error_clear(&e);
	int rc = em_matrix_parse(a, text, strlen(text), "matrix.ini", m, &e);
	if (rc)
		fail_msg("unexpected error %d: %s: %s\n--- input ---\n%s", rc, e.where, e.msg, text);
}

/* What every error message must look like (docs/architecture.md). */
static void check_message(const struct em_error *e, int rc)
{
	assert_int_equal(e->code, rc);
	size_t n = strlen(e->msg);
	assert_true(n > 0);
	if (e->msg[n - 1] == '.')
		fail_msg("message ends with a period: %s", e->msg);
	if (strchr(e->msg, '\n'))
		fail_msg("message holds a newline: %s", e->msg);
	if (e->msg[0] >= 'A' && e->msg[0] <= 'Z' && strncmp(e->msg, "NUL", 3))
		fail_msg("message starts in upper case: %s", e->msg);
}

static void expect_error(const char *text, size_t len, int code, const char *where,
			 const char *needle)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	struct em_matrix m;
	int rc = em_matrix_parse(&a, text, len, "matrix.ini", &m, &e);
	if (rc != code)
		fail_msg("want %d, got %d (%s: %s)\n--- input ---\n%.300s", code, rc, e.where, e.msg,
			 text);
	check_message(&e, rc);
	if (strcmp(e.where, where))
		fail_msg("where: want '%s', got '%s' (%s)\n--- input ---\n%.300s", where, e.where,
			 e.msg, text);
	if (needle && !strstr(e.msg, needle))
		fail_msg("message '%s' lacks '%s'\n--- input ---\n%.300s", e.msg, needle, text);
	assert_int_equal(m.nworkloads, 0);
	assert_null(m.workloads);
	em_arena_release(&a);
}

#define ERR(text, code, where, needle) expect_error(text, sizeof(text) - 1, code, where, needle)

/* ---- the example matrices ---- */

static void test_example_files(void **state)
{
	(void)state;
	const char *dir = EM_SRCDIR "/matrices";
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	unsigned n = 0;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".ini"))
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		size_t len;
		char *buf = tu_read_file(path, &len);
		assert_non_null(buf);
		struct em_arena a;
		em_arena_init(&a);
		struct em_error e;
		em_error_clear(&e);
		struct em_matrix m;
		int rc = em_matrix_parse(&a, buf, len, de->d_name, &m, &e);
		if (rc)
			fail_msg("%s: %s: %s", path, e.where, e.msg);
		assert_true(m.nworkloads >= 2);
		for (uint32_t i = 0; i < m.nworkloads; i++) {
			const struct em_workload *w = &m.workloads[i];
			assert_non_null(w->python.value);
			assert_int_not_equal(w->python_req.kind, EM_PYTHON_UNSET);
			assert_ptr_equal(em_matrix_find(&m, w->name), w);
		}
		em_arena_release(&a);
		free(buf);
		n++;
	}
	closedir(d);
	assert_true(n >= 3);
}

static char *read_example(const char *name, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/matrices/%s", EM_SRCDIR, name);
	char *buf = tu_read_file(path, len);
	assert_non_null(buf);
	return buf;
}

static void test_windows_matrix(void **state)
{
	(void)state;
	size_t len;
	char *buf = read_example("rtx3090-windows.ini", &len);
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	struct em_error e;
	em_error_clear(&e);
	assert_int_equal(em_matrix_parse(&a, buf, len, "rtx3090-windows.ini", &m, &e), 0);
	assert_string_equal(m.name.value, "rtx3090");
	assert_string_equal(m.platform.value, "windows-x86_64");
	assert_string_equal(m.index_url.value, "https://pypi.org/simple");
	assert_string_equal(m.torch_index_url.value, "https://download.pytorch.org/whl");
	assert_int_equal(m.nworkloads, 4);
	static const struct {
		const char *name, *path, *venv, *python, *torch, *variant;
		uint32_t npackages;
	} want[] = {
		{ "vlm", "vlm-photo-engine/vlmPhotoHouse", ".venv", "3.12.10", "2.8.0", "cu126", 3 },
		{ "asr", "llmytranslate", ".venv-asr-311", "3.11.9", "2.8.0", "cu126", 1 },
		{ "tts", "llmytranslate", ".venv-tts", "3.12.10", "2.8.0", "cu126", 1 },
		{ "lvface", "LVFace", ".venv-lvface-311", "3.11.9", "2.6.0", "cu124", 3 },
	};
	for (size_t i = 0; i < COUNT(want); i++) {
		const struct em_workload *w = &m.workloads[i];
		assert_string_equal(w->name, want[i].name);
		assert_string_equal(w->path.value, want[i].path);
		assert_string_equal(w->venv.value, want[i].venv);
		assert_string_equal(w->python.value, want[i].python);
		assert_int_equal(w->python_req.kind, EM_PYTHON_EXACT);
		assert_string_equal(w->torch.value, want[i].torch);
		assert_int_equal(w->torch_spec.n, 1);
		assert_int_equal(w->torch_spec.specs[0].op, EM_OP_EQ);
		assert_string_equal(w->cuda_spec.variant, want[i].variant);
		assert_int_equal(w->cuda_spec.kind, EM_CUDA_CUDA);
		assert_string_equal(w->platform.value, "windows-x86_64");
		assert_int_equal(w->npackages, want[i].npackages);
		for (uint32_t j = 0; j < w->npackages; j++) {
			assert_string_equal(w->packages[j].file, "rtx3090-windows.ini");
			assert_true(w->packages[j].line > w->line);
		}
	}
	/* the marker after ';' survives inih */
	const struct em_workload *vlm = em_matrix_find(&m, "vlm");
	assert_non_null(vlm);
	assert_string_equal(vlm->packages[2].text, "facenet-pytorch ; platform_system == \"Windows\"");
	assert_int_equal(vlm->nenv, 2);
	assert_string_equal(vlm->env[0].name, "VOICE_ENABLED");
	assert_string_equal(vlm->env[0].value, "true");
	assert_string_equal(vlm->env[1].value, "http://127.0.0.1:8001");
	const struct em_workload *lv = em_matrix_find(&m, "LVFACE");
	assert_non_null(lv);
	assert_string_equal(lv->packages[2].text, "numpy==1.26.4");
	em_arena_release(&a);
	free(buf);
}

static void test_linux_matrix(void **state)
{
	(void)state;
	size_t len;
	char *buf = read_example("rtx3090-linux.ini", &len);
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	struct em_error e;
	em_error_clear(&e);
	assert_int_equal(em_matrix_parse(&a, buf, len, "rtx3090-linux.ini", &m, &e), 0);
	assert_int_equal(m.nworkloads, 4);
	const struct em_workload *tts = em_matrix_find(&m, "tts");
	assert_string_equal(tts->python.value, "3.12.10");
	assert_string_equal(tts->cuda.value, "12.6");
	assert_string_equal(tts->platform.value, "linux-x86_64");
	const struct em_workload *lv = em_matrix_find(&m, "lvface");
	assert_string_equal(lv->torch.value, "2.6.0");
	assert_string_equal(lv->cuda_spec.variant, "cu124");
	assert_string_equal(lv->python.value, "3.11.9");
	/* the same workloads as the Windows matrix */
	char *wbuf = read_example("rtx3090-windows.ini", &len);
	struct em_matrix wm;
	assert_int_equal(em_matrix_parse(&a, wbuf, len, "w.ini", &wm, &e), 0);
	for (uint32_t i = 0; i < 4; i++) {
		const struct em_workload *x = &m.workloads[i], *y = &wm.workloads[i];
		assert_string_equal(x->name, y->name);
		assert_string_equal(x->path.value, y->path.value);
		assert_string_equal(x->venv.value, y->venv.value);
		assert_string_equal(x->python.value, y->python.value);
		assert_string_equal(x->torch.value, y->torch.value);
		assert_string_equal(x->cuda_spec.variant, y->cuda_spec.variant);
		assert_int_equal(x->npackages, y->npackages);
	}
	em_arena_release(&a);
	free(buf);
	free(wbuf);
}

static void test_demo_matrix(void **state)
{
	(void)state;
	size_t len;
	char *buf = read_example("demo.ini", &len);
	assert_non_null(strstr(buf, "OFFLINE DEMO"));
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	struct em_error e;
	em_error_clear(&e);
	assert_int_equal(em_matrix_parse(&a, buf, len, "demo.ini", &m, &e), 0);
	assert_int_equal(m.nworkloads, 2);
	for (uint32_t i = 0; i < m.nworkloads; i++) {
		assert_int_equal(m.workloads[i].python_req.kind, EM_PYTHON_EXACT);
		assert_int_equal(m.workloads[i].python_req.version.minor, 11);
		assert_non_null(m.workloads[i].torch.value);
	}
	assert_int_equal(m.workloads[0].cuda_spec.kind, EM_CUDA_AUTO);
	assert_int_equal(m.workloads[1].cuda_spec.kind, EM_CUDA_CPU);
	em_arena_release(&a);
	free(buf);
}

/* ---- valid input ---- */

static void test_full_structure(void **state)
{
	(void)state;
	static const char text[] =
		"# a comment\n"                                   /* 1 */
		"[matrix]\n"                                      /* 2 */
		"name = lab\n"                                    /* 3 */
		"platform = linux-x86_64\n"                       /* 4 */
		"index-url = https://mirror.example/simple\n"     /* 5 */
		"torch-index-url = file:///srv/whl\n"             /* 6 */
		"python-mirror = https://mirror.example/python\n" /* 7 */
		"cuda-driver = 560.94\n"                          /* 8 */
		"cache-dir = /var/cache/envmatrix\n"              /* 9 */
		"link-mode = hardlink\n"                          /* 10 */
		"jobs = 8\n"                                      /* 11 */
		"\n"                                              /* 12 */
		"[vlm]\n"                                         /* 13 */
		"description = LLMs + Vision; CLIP\n"             /* 14 */
		"path = projects/vlm\n"                           /* 15 */
		"python = >=3.11,<3.13\n"                         /* 16 */
		"torch = >=2.6,<2.9\n"                            /* 17 */
		"cuda = auto\n"                                   /* 18 */
		"requirements = reqs/vlm.txt\n"                   /* 19 */
		"find-links = wheels\n"                           /* 20 */
		"    https://example.com/links\n"                 /* 21 */
		"platform = windows-x86_64\n"                     /* 22 */
		"cuda-driver = auto\n"                            /* 23 */
		"index-url = ../index\n"                          /* 24 */
		"packages = numpy\n"                              /* 25 */
		"\tscipy>=1.11 ; python_version >= \"3.11\"\n"    /* 26 */
		"env.HF_HOME = D:\\models;C:\\x\n";               /* 27 */
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	parse_ok(&a, text, &m);
	assert_string_equal(m.file, "matrix.ini");
	assert_string_equal(m.name.value, "lab");
	assert_int_equal(m.name.line, 3);
	assert_string_equal(m.platform.value, "linux-x86_64");
	assert_string_equal(m.index_url.value, "https://mirror.example/simple");
	assert_int_equal(m.index_url.line, 5);
	assert_string_equal(m.torch_index_url.value, "file:///srv/whl");
	assert_string_equal(m.python_mirror.value, "https://mirror.example/python");
	assert_string_equal(m.cuda_driver.value, "560.94");
	assert_string_equal(m.cache_dir.value, "/var/cache/envmatrix");
	assert_string_equal(m.link_mode.value, "hardlink");
	assert_string_equal(m.jobs.value, "8");
	assert_int_equal(m.njobs, 8);
	assert_int_equal(m.nworkloads, 1);
	const struct em_workload *w = &m.workloads[0];
	assert_string_equal(w->name, "vlm");
	assert_int_equal(w->line, 13);
	assert_string_equal(w->description.value, "LLMs + Vision; CLIP");
	assert_int_equal(w->description.line, 14);
	assert_string_equal(w->path.value, "projects/vlm");
	assert_string_equal(w->venv.value, ".venv");
	assert_int_equal(w->venv.line, 0);
	assert_string_equal(w->python.value, ">=3.11,<3.13");
	assert_int_equal(w->python.line, 16);
	assert_int_equal(w->python_req.kind, EM_PYTHON_SPEC);
	assert_int_equal(w->python_req.spec.n, 2);
	assert_string_equal(w->torch.value, ">=2.6,<2.9");
	assert_int_equal(w->torch_spec.n, 2);
	assert_string_equal(w->cuda.value, "auto");
	assert_int_equal(w->cuda.line, 18);
	assert_int_equal(w->cuda_spec.kind, EM_CUDA_AUTO);
	assert_string_equal(w->requirements.value, "reqs/vlm.txt");
	assert_int_equal(w->nfind_links, 2);
	assert_string_equal(w->find_links[0].value, "wheels");
	assert_int_equal(w->find_links[0].line, 20);
	assert_string_equal(w->find_links[1].value, "https://example.com/links");
	assert_int_equal(w->find_links[1].line, 21);
	assert_string_equal(w->platform.value, "windows-x86_64");
	assert_string_equal(w->cuda_driver.value, "auto");
	assert_string_equal(w->index_url.value, "../index");
	assert_string_equal(w->torch_index_url.value, "file:///srv/whl");
	assert_int_equal(w->torch_index_url.line, 6);
	assert_int_equal(w->npackages, 2);
	assert_string_equal(w->packages[0].text, "numpy");
	assert_int_equal(w->packages[0].line, 25);
	assert_string_equal(w->packages[1].text, "scipy>=1.11 ; python_version >= \"3.11\"");
	assert_int_equal(w->packages[1].line, 26);
	assert_string_equal(w->packages[1].file, "matrix.ini");
	assert_int_equal(w->nenv, 1);
	assert_string_equal(w->env[0].name, "HF_HOME");
	assert_string_equal(w->env[0].value, "D:\\models;C:\\x");
	assert_int_equal(w->env[0].line, 27);
	em_arena_release(&a);
}

static void test_defaults(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	parse_ok(&a, "[w]\npython = 3.12\n", &m);
	assert_null(m.name.value);
	assert_string_equal(m.platform.value, "auto");
	assert_int_equal(m.platform.line, 0);
	assert_string_equal(m.index_url.value, "https://pypi.org/simple");
	assert_string_equal(m.torch_index_url.value, "https://download.pytorch.org/whl");
	assert_string_equal(m.link_mode.value, "auto");
	assert_null(m.jobs.value);
	assert_int_equal(m.njobs, 0);
	assert_null(m.cuda_driver.value);
	assert_null(m.cache_dir.value);
	assert_null(m.python_mirror.value);
	const struct em_workload *w = &m.workloads[0];
	assert_string_equal(w->path.value, ".");
	assert_int_equal(w->path.line, 0);
	assert_string_equal(w->venv.value, ".venv");
	assert_null(w->description.value);
	assert_int_equal(w->python_req.kind, EM_PYTHON_MINOR);
	assert_int_equal(w->python_req.version.minor, 12);
	assert_null(w->torch.value);
	assert_null(w->cuda.value);
	assert_int_equal(w->cuda_spec.kind, EM_CUDA_UNSET);
	assert_int_equal(w->torch_spec.n, 0);
	assert_string_equal(w->platform.value, "auto");
	assert_string_equal(w->index_url.value, "https://pypi.org/simple");
	assert_null(w->cuda_driver.value);
	assert_null(w->requirements.value);
	assert_int_equal(w->npackages, 0);
	assert_int_equal(w->nfind_links, 0);
	assert_int_equal(w->nenv, 0);
	/* torch without cuda means cuda = auto */
	parse_ok(&a, "[w]\npython = 3.12\ntorch = 2.8\n", &m);
	w = &m.workloads[0];
	assert_string_equal(w->cuda.value, "auto");
	assert_int_equal(w->cuda.line, 0);
	assert_int_equal(w->cuda_spec.kind, EM_CUDA_AUTO);
	em_arena_release(&a);
}

static void test_inheritance(void **state)
{
	(void)state;
	static const char text[] =
		"[matrix]\n"                    /* 1 */
		"python = 3.12.10\n"            /* 2 */
		"torch = 2.8.0\n"               /* 3 */
		"cuda = 12.6\n"                 /* 4 */
		"venv = venv\n"                 /* 5 */
		"platform = windows-x86_64\n"   /* 6 */
		"cuda-driver = 580.0\n"         /* 7 */
		"find-links = shared-wheels\n"  /* 8 */
		"packages =\n"                  /* 9 */
		"    rich\n"                    /* 10 */
		"env.A = 1\n"                   /* 11 */
		"env.B = 2\n"                   /* 12 */
		"\n"
		"[one]\n"                       /* 14 */
		"path = one\n"                  /* 15 */
		"packages = numpy\n"            /* 16 */
		"\n"
		"[two]\n"                       /* 18 */
		"path = two\n"
		"python = 3.11.9\n"             /* 20 */
		"torch = 2.6.0\n"               /* 21 */
		"cuda = cpu\n"                  /* 22 */
		"venv = .venv-two\n"            /* 23 */
		"platform = linux-aarch64\n"    /* 24 */
		"find-links =\n"                /* 25 */
		"env.b = 20\n"                  /* 26 */
		"env.C = 3\n"                   /* 27 */
		"cuda-driver = 535.104.05\n";   /* 28 */
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	parse_ok(&a, text, &m);
	assert_string_equal(m.platform.value, "windows-x86_64");
	const struct em_workload *one = em_matrix_find(&m, "one");
	assert_string_equal(one->python.value, "3.12.10");
	assert_int_equal(one->python.line, 2);
	assert_int_equal(one->python_req.kind, EM_PYTHON_EXACT);
	assert_int_equal(one->python_req.version.micro, 10);
	assert_string_equal(one->torch.value, "2.8.0");
	assert_int_equal(one->torch.line, 3);
	assert_int_equal(one->torch_spec.n, 1);
	assert_string_equal(one->cuda.value, "12.6");
	assert_string_equal(one->cuda_spec.variant, "cu126");
	assert_string_equal(one->venv.value, "venv");
	assert_int_equal(one->venv.line, 5);
	assert_string_equal(one->platform.value, "windows-x86_64");
	assert_string_equal(one->cuda_driver.value, "580.0");
	assert_int_equal(one->nfind_links, 1);
	assert_string_equal(one->find_links[0].value, "shared-wheels");
	assert_int_equal(one->npackages, 2);
	assert_string_equal(one->packages[0].text, "rich");
	assert_int_equal(one->packages[0].line, 10);
	assert_string_equal(one->packages[1].text, "numpy");
	assert_int_equal(one->nenv, 2);
	assert_string_equal(one->env[0].name, "A");
	assert_string_equal(one->env[1].name, "B");

	const struct em_workload *two = em_matrix_find(&m, "two");
	assert_string_equal(two->python.value, "3.11.9");
	assert_int_equal(two->python.line, 20);
	assert_int_equal(two->python_req.version.minor, 11);
	assert_string_equal(two->torch.value, "2.6.0");
	assert_int_equal(two->cuda_spec.kind, EM_CUDA_CPU);
	assert_string_equal(two->cuda_spec.variant, "cpu");
	assert_string_equal(two->venv.value, ".venv-two");
	assert_string_equal(two->platform.value, "linux-aarch64");
	assert_string_equal(two->cuda_driver.value, "535.104.05");
	/* an empty find-links in the workload replaces [matrix]'s */
	assert_int_equal(two->nfind_links, 0);
	/* packages from [matrix] are added to every workload */
	assert_int_equal(two->npackages, 1);
	assert_string_equal(two->packages[0].text, "rich");
	/* env: [matrix]'s A, then the workload's b (overriding B) and C */
	assert_int_equal(two->nenv, 3);
	assert_string_equal(two->env[0].name, "A");
	assert_string_equal(two->env[1].name, "b");
	assert_string_equal(two->env[1].value, "20");
	assert_int_equal(two->env[1].line, 26);
	assert_string_equal(two->env[2].name, "C");
	em_arena_release(&a);
}

static void test_python_home(void **state)
{
	(void)state;
	static const char text[] =
		"[matrix]\n"
		"platform = windows-x86_64\n"
		"python = 3.12.10\n"
		"python-home = C:\\Python312\n"          /* 4 */
		"\n"
		"[one]\n"
		"path = one\n"
		"\n"
		"[two]\n"
		"path = two\n"
		"python = 3.11.9\n"
		"python-home = pythons/311\n";             /* 12 */
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	parse_ok(&a, text, &m);
	assert_string_equal(m.python_home.value, "C:\\Python312");
	const struct em_workload *one = em_matrix_find(&m, "one");
	const struct em_workload *two = em_matrix_find(&m, "two");
	assert_string_equal(one->python_home.value, "C:\\Python312");
	assert_int_equal(one->python_home.line, 4);
	assert_string_equal(two->python_home.value, "pythons/311");
	assert_int_equal(two->python_home.line, 12);
	em_arena_release(&a);
	static const char url[] = "[w]\npython = 3.12.1\npython-home = https://x.test/py\n";
	expect_error(url, sizeof url - 1, EM_EINVAL, "matrix.ini:3", "python-home");
}

static void test_network_settings(void **state)
{
	(void)state;
	static const char text[] =
		"[matrix]\n"
		"python = 3.12\n"
		"ca-file = certs/ca.pem\n"                                        /* 3 */
		"mirrors = https://download.pytorch.org/whl https://m1.lan/whl\n" /* 4 */
		"    https://pypi.org/simple   http://m2.lan:8080/simple\n"      /* 5 */
		"\n"
		"[w]\n"
		"path = w\n";
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	parse_ok(&a, text, &m);
	assert_string_equal(m.ca_file.value, "certs/ca.pem");
	assert_int_equal(m.ca_file.line, 3);
	assert_int_equal(m.nmirrors, 2);
	assert_string_equal(m.mirrors[0].from, "https://download.pytorch.org/whl");
	assert_string_equal(m.mirrors[0].to, "https://m1.lan/whl");
	assert_int_equal(m.mirrors[0].line, 4);
	assert_string_equal(m.mirrors[1].from, "https://pypi.org/simple");
	assert_string_equal(m.mirrors[1].to, "http://m2.lan:8080/simple");
	assert_int_equal(m.mirrors[1].line, 5);
	em_arena_release(&a);
	static const char one[] = "[matrix]\nmirrors = https://a.test/simple\n[w]\npython = 3.12\n";
	expect_error(one, sizeof one - 1, EM_EINVAL, "matrix.ini:2", "not 'URL MIRROR-URL'");
	static const char three[] =
		"[matrix]\nmirrors = https://a.test https://b.test https://c.test\n[w]\npython = 3.12\n";
	expect_error(three, sizeof three - 1, EM_EINVAL, "matrix.ini:2", "not 'URL MIRROR-URL'");
	static const char local[] = "[matrix]\nmirrors = https://a.test /srv/mirror\n[w]\npython = 3.12\n";
	expect_error(local, sizeof local - 1, EM_EINVAL, "matrix.ini:2", "http:// or https://");
	static const char inw[] = "[w]\npython = 3.12\nmirrors = https://a.test https://b.test\n";
	expect_error(inw, sizeof inw - 1, EM_EINVAL, "matrix.ini:3", "mirrors");
	static const char cainw[] = "[w]\npython = 3.12\nca-file = ca.pem\n";
	expect_error(cainw, sizeof cainw - 1, EM_EINVAL, "matrix.ini:3", "ca-file");
}

static void test_inherited_cuda_without_torch(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	/* a default cuda only applies to workloads with torch */
	parse_ok(&a,
		 "[matrix]\npython = 3.12\ncuda = 12.6\n"
		 "[gpu]\npath = g\ntorch = 2.8.0\n"
		 "[plain]\npath = p\n",
		 &m);
	assert_string_equal(m.workloads[0].cuda_spec.variant, "cu126");
	assert_null(m.workloads[1].cuda.value);
	assert_int_equal(m.workloads[1].cuda_spec.kind, EM_CUDA_UNSET);
	em_arena_release(&a);
}

static void test_semicolons(void **state)
{
	(void)state;
	static const char text[] =
		"[w]\n"
		"python = 3.12\n"
		"description = a; b ; c\n"
		"packages = pkg-a ; sys_platform == \"win32\"\n"
		"    pkg-b;python_version<'3.13'\n"
		"    pkg-c ; platform_system == \"Windows\" and platform_machine == \"AMD64\"\n"
		"env.PATHS = C:\\a;C:\\b\n"
		"env.OPTS = a=b:c;d\n"
		"env.EMPTY =\n";
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	parse_ok(&a, text, &m);
	const struct em_workload *w = &m.workloads[0];
	assert_string_equal(w->description.value, "a; b ; c");
	assert_int_equal(w->npackages, 3);
	assert_string_equal(w->packages[0].text, "pkg-a ; sys_platform == \"win32\"");
	assert_string_equal(w->packages[1].text, "pkg-b;python_version<'3.13'");
	assert_string_equal(w->packages[2].text,
			    "pkg-c ; platform_system == \"Windows\" and platform_machine == \"AMD64\"");
	assert_string_equal(w->env[0].value, "C:\\a;C:\\b");
	assert_string_equal(w->env[1].value, "a=b:c;d");
	assert_string_equal(w->env[2].value, "");
	assert_int_equal(w->env[2].line, 9);
	em_arena_release(&a);
}

static void test_layout(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	/* BOM, CRLF, tabs, blank and comment lines inside a continuation,
	 * "key: value", spaces in headers, no final newline */
	static const char text[] =
		"\xef\xbb\xbf; semicolon comment\r\n"  /* 1 */
		"[ w1 ]\r\n"                           /* 2 */
		"python\t=\t3.12\r\n"                  /* 3 */
		"packages =\r\n"                       /* 4 */
		"\tnumpy\r\n"                          /* 5 */
		"\r\n"                                 /* 6 */
		"    # a comment between requirements\r\n" /* 7 */
		"    ; and another\r\n"                /* 8 */
		"  scipy\r\n"                          /* 9 */
		"venv: .env\r\n"                       /* 10 */
		"[w2]\r\n"                             /* 11 */
		"python = 3.13t\r\n"                   /* 12 */
		"path = C:\\Users\\me\\proj";          /* 13 */
	parse_ok(&a, text, &m);
	assert_int_equal(m.nworkloads, 2);
	const struct em_workload *w = &m.workloads[0];
	assert_string_equal(w->name, "w1");
	assert_int_equal(w->line, 2);
	assert_int_equal(w->npackages, 2);
	assert_int_equal(w->packages[0].line, 5);
	assert_string_equal(w->packages[1].text, "scipy");
	assert_int_equal(w->packages[1].line, 9);
	assert_string_equal(w->venv.value, ".env");
	assert_int_equal(w->venv.line, 10);
	w = &m.workloads[1];
	assert_true(w->python_req.version.freethreaded);
	assert_string_equal(w->path.value, "C:\\Users\\me\\proj");
	assert_int_equal(w->path.line, 13);
	/* the same structure with \n endings and no BOM */
	parse_ok(&a, "[a]\npython=3.12\npackages=\n numpy\n\n\n scipy\n[b]\npath=b\npython=3.12\n",
		 &m);
	assert_int_equal(m.workloads[0].npackages, 2);
	assert_int_equal(m.workloads[0].packages[1].line, 7);
	/* empty workloads: everything from [matrix] */
	parse_ok(&a, "[matrix]\npython = 3.12\n[a]\n[b]\nvenv=.venv-b\n", &m);
	assert_int_equal(m.nworkloads, 2);
	assert_int_equal(m.workloads[0].line, 3);
	assert_string_equal(m.workloads[0].python.value, "3.12");
	em_arena_release(&a);
}

static void test_names(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	char text[512];
	static const char *const ok[] = {
		"a", "Z", "0", "vlm_2", "tts-coqui", "_x", "A-b_C-9",
		"a234567890123456789012345678901234567890123456789012345678901234", /* 64 */
	};
	for (size_t i = 0; i < COUNT(ok); i++) {
		snprintf(text, sizeof text, "[%s]\npython = 3.12\n", ok[i]);
		parse_ok(&a, text, &m);
		assert_string_equal(m.workloads[0].name, ok[i]);
		assert_non_null(em_matrix_find(&m, ok[i]));
	}
	assert_null(em_matrix_find(&m, "nope"));
	assert_null(em_matrix_find(&m, NULL));
	assert_null(em_matrix_find(NULL, "a"));
	em_arena_release(&a);
}

static void test_python_values(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		enum em_python_kind kind;
	} cases[] = {
		{ "3.12.10", EM_PYTHON_EXACT },
		{ "3.14.0rc1", EM_PYTHON_EXACT },
		{ "3.13.2t", EM_PYTHON_EXACT },
		{ "3.12", EM_PYTHON_MINOR },
		{ "3.13t", EM_PYTHON_MINOR },
		{ ">=3.11,<3.13", EM_PYTHON_SPEC },
		{ "~=3.11.4", EM_PYTHON_SPEC },
		{ "==3.12.*", EM_PYTHON_SPEC },
		{ "!=3.12.0", EM_PYTHON_SPEC },
		{ "/usr/bin/python3.12", EM_PYTHON_PATH },
		{ "C:\\Python312\\python.exe", EM_PYTHON_PATH },
		{ "python.EXE", EM_PYTHON_PATH },
		{ "./venv/bin/python", EM_PYTHON_PATH },
		{ "/opt/my python/bin/python3", EM_PYTHON_PATH },
	};
	struct em_arena a;
	em_arena_init(&a);
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct em_python_req r;
		struct em_error e;
		em_error_clear(&e);
		if (em_python_req_parse(&a, cases[i].in, strlen(cases[i].in), &r, &e))
			fail_msg("'%s': %s", cases[i].in, e.msg);
		if (r.kind != cases[i].kind)
			fail_msg("'%s': kind %d, want %d", cases[i].in, r.kind, cases[i].kind);
		char text[256];
		snprintf(text, sizeof text, "[w]\npython = %s\n", cases[i].in);
		struct em_matrix m;
		parse_ok(&a, text, &m);
		assert_int_equal(m.workloads[0].python_req.kind, cases[i].kind);
		assert_string_equal(m.workloads[0].python.value, cases[i].in);
	}
	static const char *const bad[] = {
		"", "3", "2.7", "python3.12", "3.12.x", "latest", ">=3.11,<", "3.12 ; comment",
		"3.12t", "4.0", "=>3.11",
	};
	for (size_t i = 0; i < COUNT(bad); i++) {
		struct em_python_req r;
		struct em_error e;
		em_error_clear(&e);
		int rc = em_python_req_parse(&a, bad[i], strlen(bad[i]), &r, &e);
		if (!rc)
			fail_msg("'%s' accepted", bad[i]);
		check_message(&e, rc);
		assert_int_equal(r.kind, EM_PYTHON_UNSET);
	}
	em_arena_release(&a);
}

static void test_torch_values(void **state)
{
	(void)state;
	static const struct {
		const char *in, *spec; /* the first specifier's operator and text */
		unsigned n;
		bool wildcard;
	} cases[] = {
		{ "2.8.0", "2.8.0", 1, false },
		{ "2.8", "2.8.*", 1, true },
		{ "2", "2.*", 1, true },
		{ "2.8.0+cu126", "2.8.0+cu126", 1, false },
		{ "2.9.0rc1", "2.9.0rc1", 1, false },
		{ "v2.8.1", "2.8.1", 1, false },
		{ ">=2.6,<2.9", ">=2.6", 2, false },
		{ "==2.8.*", "==2.8.*", 1, true },
		{ "~=2.8.0", "~=2.8.0", 1, false },
	};
	struct em_arena a;
	em_arena_init(&a);
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct em_specset s;
		struct em_error e;
		em_error_clear(&e);
		if (em_torch_req_parse(&a, cases[i].in, strlen(cases[i].in), &s, &e))
			fail_msg("'%s': %s", cases[i].in, e.msg);
		assert_int_equal(s.n, cases[i].n);
		struct em_buf b = EM_BUF_INIT;
		em_spec_format(&s.specs[0], &b);
		const char *want = cases[i].spec;
		char full[64];
		if (want[0] != '=' && want[0] != '>' && want[0] != '~') {
			snprintf(full, sizeof full, "==%s", want);
			want = full;
		}
		if (strcmp(b.ptr, want))
			fail_msg("'%s' -> '%s', want '%s'", cases[i].in, b.ptr, want);
		assert_int_equal(s.specs[0].wildcard, cases[i].wildcard);
		em_buf_release(&b);
	}
	/* ==2.8.0 is satisfied by the local builds */
	struct em_specset s;
	assert_int_equal(em_torch_req_parse(&a, "2.8.0", 5, &s, NULL), 0);
	assert_true(em_specset_contains_str(&s, "2.8.0+cu126", 11, EM_PRE_DEFAULT));
	assert_false(em_specset_contains_str(&s, "2.8.1", 5, EM_PRE_DEFAULT));
	assert_int_equal(em_torch_req_parse(&a, "2.8", 3, &s, NULL), 0);
	assert_true(em_specset_contains_str(&s, "2.8.1+cpu", 9, EM_PRE_DEFAULT));
	assert_false(em_specset_contains_str(&s, "2.9.0", 5, EM_PRE_DEFAULT));
	static const char *const bad[] = { "", "latest", "2.8.0 ; new", ">=", "2.8.0.x", "torch==2.8" };
	for (size_t i = 0; i < COUNT(bad); i++) {
		struct em_error e;
		em_error_clear(&e);
		int rc = em_torch_req_parse(&a, bad[i], strlen(bad[i]), &s, &e);
		if (!rc)
			fail_msg("'%s' accepted", bad[i]);
		check_message(&e, rc);
		assert_int_equal(s.n, 0);
	}
	em_arena_release(&a);
}

static void test_cuda_values(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		enum em_cuda_kind kind;
		unsigned major, minor;
		const char *variant;
	} cases[] = {
		{ "12.6", EM_CUDA_CUDA, 12, 6, "cu126" },
		{ "cu126", EM_CUDA_CUDA, 12, 6, "cu126" },
		{ "CU124", EM_CUDA_CUDA, 12, 4, "cu124" },
		{ "11.8", EM_CUDA_CUDA, 11, 8, "cu118" },
		{ "cu118", EM_CUDA_CUDA, 11, 8, "cu118" },
		{ "13.0", EM_CUDA_CUDA, 13, 0, "cu130" },
		{ "cu130", EM_CUDA_CUDA, 13, 0, "cu130" },
		{ "9.2", EM_CUDA_CUDA, 9, 2, "cu92" },
		{ "cu92", EM_CUDA_CUDA, 9, 2, "cu92" },
		{ "cpu", EM_CUDA_CPU, 0, 0, "cpu" },
		{ "CPU", EM_CUDA_CPU, 0, 0, "cpu" },
		{ "auto", EM_CUDA_AUTO, 0, 0, "" },
		{ "xpu", EM_CUDA_XPU, 0, 0, "xpu" },
		{ "rocm6.2", EM_CUDA_ROCM, 0, 0, "rocm6.2" },
		{ "rocm6.2.4", EM_CUDA_ROCM, 0, 0, "rocm6.2.4" },
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct em_cuda c;
		struct em_error e;
		em_error_clear(&e);
		if (em_cuda_parse(cases[i].in, strlen(cases[i].in), &c, &e))
			fail_msg("'%s': %s", cases[i].in, e.msg);
		assert_int_equal(c.kind, cases[i].kind);
		assert_int_equal(c.major, cases[i].major);
		assert_int_equal(c.minor, cases[i].minor);
		assert_string_equal(c.variant, cases[i].variant);
	}
	static const char *const bad[] = {
		"", "12", "12.6.1", "12.10", "cuda12.6", "cu1", "cu1260", "cu", "rocm", "rocm6",
		"rocm6.2.4.1", "gpu", "12.6 ; newest", "012.6", "cu012", "12.", ".6", "none",
		"averyveryverylongvalue",
	};
	for (size_t i = 0; i < COUNT(bad); i++) {
		struct em_cuda c;
		struct em_error e;
		em_error_clear(&e);
		int rc = em_cuda_parse(bad[i], strlen(bad[i]), &c, &e);
		if (!rc)
			fail_msg("'%s' accepted", bad[i]);
		check_message(&e, rc);
		assert_int_equal(c.kind, EM_CUDA_UNSET);
	}
}

/* Lines up to EM_MATRIX_MAX_LINE characters pass whole, whatever their
 * shape, even where the compact form does not fit inih's buffer. */
static void test_line_limit(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	char text[4096], val[1024];
	/* key=value without spaces, exactly 200 characters */
	size_t vn = 200 - strlen("description=");
	memset(val, 'x', vn);
	val[vn] = '\0';
	snprintf(text, sizeof text, "[w]\npython=3.12\ndescription=%s\n", val);
	parse_ok(&a, text, &m);
	assert_string_equal(m.workloads[0].description.value, val);
	/* 200 characters of two-byte UTF-8 (400 bytes) */
	size_t o = 0;
	for (size_t i = 0; i < vn; i++) {
		val[o++] = '\xc3';
		val[o++] = '\xa9';
	}
	val[o] = '\0';
	snprintf(text, sizeof text, "[w]\npython=3.12\ndescription=%s\n", val);
	parse_ok(&a, text, &m);
	assert_string_equal(m.workloads[0].description.value, val);
	/* a value with ';' that takes the long path keeps its ';' */
	memset(val, 'y', vn);
	val[10] = ';';
	val[vn] = '\0';
	snprintf(text, sizeof text, "[w]\npython=3.12\ndescription=%s\n", val);
	parse_ok(&a, text, &m);
	assert_string_equal(m.workloads[0].description.value, val);
	/* a 200-character continuation line with one space of indentation */
	memset(val, 'p', 199);
	val[199] = '\0';
	snprintf(text, sizeof text, "[w]\npython=3.12\npackages=\n %s\n", val);
	parse_ok(&a, text, &m);
	assert_string_equal(m.workloads[0].packages[0].text, val);
	/* a long requirement with a marker, split at ';' by nothing */
	snprintf(text, sizeof text,
		 "[w]\npython=3.12\npackages=\n"
		 "    nvidia-cublas-cu12==12.6.4.1 ; platform_system == \"Linux\" and "
		 "platform_machine == \"x86_64\" and python_version >= \"3.9\" and "
		 "python_version < \"3.14\"\n");
	parse_ok(&a, text, &m);
	assert_non_null(strstr(m.workloads[0].packages[0].text, "python_version < \"3.14\""));
	/* comments may be any length */
	memset(val, 'c', 1000);
	val[1000] = '\0';
	snprintf(text, sizeof text, "#%s\n[w]\n;%s\npython=3.12\n", val, val);
	parse_ok(&a, text, &m);
	/* 201 characters: an error naming the line and the fix */
	memset(val, 'x', 201 - strlen("description="));
	val[201 - strlen("description=")] = '\0';
	snprintf(text, sizeof text, "[w]\npython=3.12\ndescription=%s\n", val);
	expect_error(text, strlen(text), EM_ELIMIT, "matrix.ini:3",
		     "line is longer than 200 characters; split packages");
	memset(val, 'x', 197);
	val[197] = '\0';
	snprintf(text, sizeof text, "[w]\npython=3.12\npackages=\n    %s\n", val);
	expect_error(text, strlen(text), EM_ELIMIT, "matrix.ini:4", "longer than 200");
	/* 201 two-byte characters */
	o = 0;
	for (size_t i = 0; i < 201 - strlen("description="); i++) {
		val[o++] = '\xc3';
		val[o++] = '\xa9';
	}
	val[o] = '\0';
	snprintf(text, sizeof text, "[w]\npython=3.12\ndescription=%s\n", val);
	expect_error(text, strlen(text), EM_ELIMIT, "matrix.ini:3", "longer than 200");
	em_arena_release(&a);
}

/* ---- mistakes ---- */

static void test_errors_keys(void **state)
{
	(void)state;
	ERR("[vlm]\npyton = 3.12\n", EM_EINVAL, "matrix.ini:2",
	    "unknown key 'pyton' in [vlm] (did you mean 'python'?)");
	ERR("[vlm]\npython = 3.12\nPython = 3.12\n", EM_EINVAL, "matrix.ini:3",
	    "(did you mean 'python'?)");
	ERR("[vlm]\npython = 3.12\ntorhc = 2.8\n", EM_EINVAL, "matrix.ini:3",
	    "(did you mean 'torch'?)");
	ERR("[vlm]\npython = 3.12\nindex_url = https://x.org/simple\n", EM_EINVAL, "matrix.ini:3",
	    "(did you mean 'index-url'?)");
	ERR("[vlm]\npython = 3.12\nfind_links = w\n", EM_EINVAL, "matrix.ini:3",
	    "(did you mean 'find-links'?)");
	ERR("[vlm]\npython = 3.12\nrequirement = r.txt\n", EM_EINVAL, "matrix.ini:3",
	    "(did you mean 'requirements'?)");
	ERR("[vlm]\npython = 3.12\npackage = x\n", EM_EINVAL, "matrix.ini:3",
	    "(did you mean 'packages'?)");
	ERR("[matrix]\nplatfrom = auto\n[w]\npython=3.12\n", EM_EINVAL, "matrix.ini:2",
	    "unknown key 'platfrom' in [matrix] (did you mean 'platform'?)");
	ERR("[vlm]\npython = 3.12\ncolour = red\n", EM_EINVAL, "matrix.ini:3",
	    "unknown key 'colour' in [vlm]; the keys there are description, path, venv");
	ERR("[matrix]\ncolour = red\n", EM_EINVAL, "matrix.ini:2",
	    "the keys there are name, platform");
	ERR("[vlm]\npython = 3.12\nenv = X=1\n", EM_EINVAL, "matrix.ini:3", "env.NAME = value");
	ERR("[vlm]\npython = 3.12\nENV.X = 1\n", EM_EINVAL, "matrix.ini:3", "env.NAME = value");
	ERR("[vlm]\npython = 3.12\nenv_X = 1\n", EM_EINVAL, "matrix.ini:3", "env.NAME = value");
	ERR("[vlm]\npython = 3.12\nenvironment.X = 1\n", EM_EINVAL, "matrix.ini:3",
	    "env.NAME = value");
	ERR("[vlm]\npython = 3.12\nenv.1X = 1\n", EM_EINVAL, "matrix.ini:3",
	    "invalid environment variable name in 'env.1X'");
	ERR("[vlm]\npython = 3.12\nenv.A-B = 1\n", EM_EINVAL, "matrix.ini:3",
	    "invalid environment variable name");
	ERR("[vlm]\npython = 3.12\nenv.A = 1\nenv.A = 2\n", EM_EINVAL, "matrix.ini:4",
	    "duplicate key 'env.A' in [vlm] (first set on line 3");
	ERR("[vlm]\npython = 3.12\nenv.Path = 1\nenv.PATH = 2\n", EM_EINVAL, "matrix.ini:4",
	    "ignoring case");
	ERR("[vlm]\npython = 3.12\npython = 3.11\n", EM_EINVAL, "matrix.ini:3",
	    "duplicate key 'python' in [vlm] (first set on line 2)");
	ERR("[vlm]\npython = 3.12\npackages = a\npackages = b\n", EM_EINVAL, "matrix.ini:4",
	    "duplicate key 'packages' in [vlm] (first set on line 3)");
	ERR("[vlm]\npython = 3.12\nfind-links =\nfind-links = w\n", EM_EINVAL, "matrix.ini:4",
	    "duplicate key 'find-links'");
	ERR("[matrix]\njobs = 2\njobs = 3\n", EM_EINVAL, "matrix.ini:3", "duplicate key 'jobs'");
	ERR("[vlm]\npython = 3.12\njobs = 4\n", EM_EINVAL, "matrix.ini:3",
	    "'jobs' is a setting for the whole matrix; move it to [matrix]");
	ERR("[vlm]\npython = 3.12\ncache-dir = c\n", EM_EINVAL, "matrix.ini:3",
	    "move it to [matrix]");
	ERR("[matrix]\npath = x\n", EM_EINVAL, "matrix.ini:2",
	    "'path' belongs in a workload section, not in [matrix]");
	ERR("[matrix]\ndescription = x\n", EM_EINVAL, "matrix.ini:2", "belongs in a workload");
	ERR("[matrix]\nrequirements = r.txt\n", EM_EINVAL, "matrix.ini:2", "belongs in a workload");
	ERR("python = 3.12\n[w]\n", EM_EINVAL, "matrix.ini:1",
	    "key 'python' comes before any section");
	ERR("[w]\npython = 3.12\n= 3\n", EM_EINVAL, "matrix.ini:3", "the key is missing");
	ERR("[w]\npython = 3.12\ntorch>=2.0\n", EM_EINVAL, "matrix.ini:3",
	    "'torch>=2.0' in [w] is not a key = value line");
	ERR("[w]\npython = 3.12\ntorch>=2.0\n", EM_EINVAL, "matrix.ini:3",
	    "indent it under 'packages ='");
	ERR("[w]\npython = 3.12\nnumpy\n", EM_EINVAL, "matrix.ini:3",
	    "'numpy' is not a key = value line; to add it to packages");
	ERR("[w]\npython = 3.12\nmy key = 1\n", EM_EINVAL, "matrix.ini:3",
	    "is not a key = value line");
	ERR("[w]\npython = 3.12\n!!!\n", EM_EINVAL, "matrix.ini:3", "not a key = value line");
	ERR("[w]\npython = 3.12\nfind-links = a\nhttps://x.org/links\n", EM_EINVAL, "matrix.ini:4",
	    "to add the URL to find-links, indent it");
	ERR("[w]\npython = 3.12\nenv.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA = 1\n",
	    EM_EINVAL, "matrix.ini:3", "longer than 64 characters");
}

static void test_errors_sections(void **state)
{
	(void)state;
	ERR("[vlm]\npython = 3.12\n\n[vlm]\npython = 3.11\n", EM_EINVAL, "matrix.ini:4",
	    "workload [vlm] is defined twice (lines 1 and 4)");
	ERR("[vlm]\npython = 3.12\n[VLM]\npython = 3.11\n", EM_EINVAL, "matrix.ini:3",
	    "has the name of [vlm] on line 1");
	ERR("[matrix]\n[w]\npython=3.12\n[matrix]\n", EM_EINVAL, "matrix.ini:4",
	    "[matrix] appears twice (lines 1 and 4)");
	ERR("[Matrix]\npython = 3.12\n", EM_EINVAL, "matrix.ini:1", "'matrix' is reserved");
	ERR("[a.b]\npython = 3.12\n", EM_EINVAL, "matrix.ini:1",
	    "pylock.<name>.toml, where PEP 751 allows no dots");
	ERR("[-a]\npython = 3.12\n", EM_EINVAL, "matrix.ini:1", "starts with '-'");
	ERR("[a b]\npython = 3.12\n", EM_EINVAL, "matrix.ini:1", "invalid workload name 'a b'");
	ERR("[a/b]\npython = 3.12\n", EM_EINVAL, "matrix.ini:1", "invalid workload name");
	ERR("[caf\xc3\xa9]\npython = 3.12\n", EM_EINVAL, "matrix.ini:1", "invalid workload name");
	ERR("[]\npython = 3.12\n", EM_EINVAL, "matrix.ini:1", "empty section name");
	ERR("[  ]\npython = 3.12\n", EM_EINVAL, "matrix.ini:1", "empty section name");
	ERR("[vlm\npython = 3.12\n", EM_EINVAL, "matrix.ini:1", "has no closing ']'");
	ERR("[vlm] ; the vision workload\npython = 3.12\n", EM_EINVAL, "matrix.ini:1",
	    "unexpected text after ']'");
	ERR("[vlm] # x\npython = 3.12\n", EM_EINVAL, "matrix.ini:1", "comments go on their own line");
	ERR("[a2345678901234567890123456789012345678901234567890123456789012345]\npython=3.12\n",
	    EM_EINVAL, "matrix.ini:1", "longer than 64 characters");
	ERR("", EM_EINVAL, "matrix.ini", "the matrix is empty");
	ERR("\n\n# nothing\n  \n; here\n", EM_EINVAL, "matrix.ini", "the matrix is empty");
	ERR("\xef\xbb\xbf", EM_EINVAL, "matrix.ini", "the matrix is empty");
	ERR("[matrix]\nname = x\n", EM_EINVAL, "matrix.ini", "the matrix has no workloads");
	ERR("[vlm]\ndescription = x\n", EM_EINVAL, "matrix.ini:1",
	    "workload [vlm] has no python; add python = 3.12");
	ERR("[matrix]\ntorch = 2.8\n[vlm]\n", EM_EINVAL, "matrix.ini:3", "has no python");
}

static void test_errors_values(void **state)
{
	(void)state;
	/* python */
	ERR("[vlm]\npython = 3.12 ; the interpreter\n", EM_EINVAL, "matrix.ini:2",
	    "python in [vlm]: invalid Python version '3.12 ; the interpreter'");
	ERR("[vlm]\npython = 3.12 ; the interpreter\n", EM_EINVAL, "matrix.ini:2",
	    "comments go on their own line");
	ERR("[vlm]\npython = 3.12 # the interpreter\n", EM_EINVAL, "matrix.ini:2",
	    "comments go on their own line");
	ERR("[vlm]\npython = /usr/bin/python3 ; system\n", EM_EINVAL, "matrix.ini:2",
	    "looks like a path followed by a comment");
	ERR("[vlm]\npython = python3.12\n", EM_EINVAL, "matrix.ini:2", "an interpreter path");
	ERR("[vlm]\npython = 2.7\n", EM_EINVAL, "matrix.ini:2", "only CPython 3");
	ERR("[vlm]\npython = >=3.11,<\n", EM_EINVAL, "matrix.ini:2", "python in [vlm]: ");
	ERR("[vlm]\npython =\n", EM_EINVAL, "matrix.ini:2", "python in [vlm]: empty value");
	/* torch and cuda */
	ERR("[vlm]\npython = 3.12\ntorch = latest\n", EM_EINVAL, "matrix.ini:3",
	    "torch in [vlm]: invalid torch 'latest'");
	ERR("[vlm]\npython = 3.12\ntorch = 2.8.0 ; newest\n", EM_EINVAL, "matrix.ini:3",
	    "comments go on their own line");
	ERR("[vlm]\npython = 3.12\ntorch = 2.8\ncuda = 12\n", EM_EINVAL, "matrix.ini:4",
	    "cuda in [vlm]: invalid cuda '12'");
	ERR("[vlm]\npython = 3.12\ntorch = 2.8\ncuda = cu126 ; newest\n", EM_EINVAL,
	    "matrix.ini:4", "comments go on their own line");
	ERR("[vlm]\npython = 3.12\ncuda = 12.6\n", EM_EINVAL, "matrix.ini:3",
	    "cuda in [vlm]: cuda picks the PyTorch build, but [vlm] has no torch");
	ERR("[vlm]\npython = 3.12\ncuda = cpu\n", EM_EINVAL, "matrix.ini:3", "has no torch");
	ERR("[vlm]\npython = 3.12\ntorch = 2.8.0+cu126\ncuda = 12.4\n", EM_EINVAL, "matrix.ini:4",
	    "torch '2.8.0+cu126' asks for the cu126 build but cuda is '12.4' (cu124)");
	ERR("[vlm]\npython = 3.12\ncuda = cpu\ntorch = ==2.8.0+cu126\n", EM_EINVAL, "matrix.ini:4",
	    "asks for the cu126 build");
	/* settings */
	ERR("[matrix]\nplatform = windows-x64\n[w]\npython=3.12\n", EM_EINVAL, "matrix.ini:2",
	    "platform in [matrix]: unknown platform 'windows-x64'");
	ERR("[w]\npython=3.12\nplatform = linux-x86_64 ; the box\n", EM_EINVAL, "matrix.ini:3",
	    "comments go on their own line");
	ERR("[matrix]\nlink-mode = symlink\n", EM_EINVAL, "matrix.ini:2",
	    "expected auto, clone, hardlink or copy");
	ERR("[matrix]\njobs = 0\n", EM_EINVAL, "matrix.ini:2", "from 1 to 256");
	ERR("[matrix]\njobs = -1\n", EM_EINVAL, "matrix.ini:2", "from 1 to 256");
	ERR("[matrix]\njobs = 257\n", EM_EINVAL, "matrix.ini:2", "from 1 to 256");
	ERR("[matrix]\njobs = four\n", EM_EINVAL, "matrix.ini:2", "jobs in [matrix]");
	ERR("[matrix]\njobs = 4 ; cores\n", EM_EINVAL, "matrix.ini:2", "comments go on");
	ERR("[matrix]\ncuda-driver = 560\n", EM_EINVAL, "matrix.ini:2", "invalid driver version");
	ERR("[matrix]\ncuda-driver = 560.x\n", EM_EINVAL, "matrix.ini:2", "invalid driver version");
	ERR("[matrix]\ncuda-driver = 560.94.\n", EM_EINVAL, "matrix.ini:2", "invalid driver");
	ERR("[matrix]\nname = my matrix\n", EM_EINVAL, "matrix.ini:2", "invalid name 'my matrix'");
	ERR("[matrix]\nindex-url = ftp://x.org/simple\n", EM_EINVAL, "matrix.ini:2",
	    "unsupported URL 'ftp://x.org/simple'");
	ERR("[matrix]\nindex-url = https://pypi.org/simple ; mirror\n", EM_EINVAL,
	    "matrix.ini:2", "holds a space");
	ERR("[matrix]\nindex-url = https://pypi.org/simple ; mirror\n", EM_EINVAL,
	    "matrix.ini:2", "comments go on their own line");
	ERR("[matrix]\nindex-url = https:///simple\n", EM_EINVAL, "matrix.ini:2", "has no host");
	ERR("[matrix]\ntorch-index-url =\n", EM_EINVAL, "matrix.ini:2", "empty value");
	ERR("[matrix]\ncache-dir = https://x.org/c\n", EM_EINVAL, "matrix.ini:2",
	    "is a URL; cache-dir is a local folder");
	ERR("[matrix]\ncache-dir = ~/cache\n", EM_EINVAL, "matrix.ini:2", "'~' is not expanded");
	ERR("[w]\npython=3.12\npath = proj # main project\n", EM_EINVAL, "matrix.ini:3",
	    "looks like a path followed by a comment");
	ERR("[w]\npython=3.12\nrequirements = r.txt ; pinned\n", EM_EINVAL, "matrix.ini:3",
	    "comments go on their own line");
	ERR("[w]\npython=3.12\nfind-links = a\n    b ; local\n", EM_EINVAL, "matrix.ini:4",
	    "find-links in [w]");
	ERR("[w]\npython=3.12\nfind-links = gopher://x.org/\n", EM_EINVAL, "matrix.ini:3",
	    "unsupported URL");
	ERR("[w]\npython=3.12\nenv.A = 1 ; one\n", EM_EINVAL, "matrix.ini:3",
	    "looks like it ends in a comment");
	ERR("[w]\npython=3.12\nenv.A = 1 # one\n", EM_EINVAL, "matrix.ini:3", "comments go on");
	/* venv */
	ERR("[w]\npython=3.12\nvenv = .\n", EM_EINVAL, "matrix.ini:3",
	    "would make the project folder itself the environment");
	ERR("[w]\npython=3.12\nvenv = ./\n", EM_EINVAL, "matrix.ini:3", "project folder itself");
	ERR("[w]\npython=3.12\nvenv = ..\n", EM_EINVAL, "matrix.ini:3", "leaves the workload's folder");
	ERR("[w]\npython=3.12\nvenv = a/../../b\n", EM_EINVAL, "matrix.ini:3", "('..')");
	ERR("[w]\npython=3.12\nvenv = /opt/venv\n", EM_EINVAL, "matrix.ini:3", "is absolute");
	ERR("[w]\npython=3.12\nvenv = D:\\envs\\w\n", EM_EINVAL, "matrix.ini:3", "is absolute");
	ERR("[matrix]\nvenv = .\n", EM_EINVAL, "matrix.ini:2", "venv in [matrix]");
}

static void test_errors_packages(void **state)
{
	(void)state;
	ERR("[vlm]\npython = 3.12\npackages =\n    numpy\n    foo>>1\n", EM_EINVAL, "matrix.ini:5",
	    "packages in [vlm]: invalid requirement 'foo>>1': ");
	ERR("[vlm]\npython = 3.12\npackages = foo>>1\n", EM_EINVAL, "matrix.ini:3",
	    "invalid requirement 'foo>>1'");
	ERR("[vlm]\npython = 3.12\npackages =\n    numpy ; this is numpy\n", EM_EINVAL,
	    "matrix.ini:4", "';' starts a PEP 508 marker here");
	ERR("[vlm]\npython = 3.12\npackages =\n    numpy # pinned\n", EM_EINVAL, "matrix.ini:4",
	    "comments go on their own line");
	ERR("[vlm]\npython = 3.12\npackages =\n    numpy\n    python = 3.11\n", EM_EINVAL,
	    "matrix.ini:5", "to start a new key, remove the indentation");
	ERR("[vlm]\npython = 3.12\npackages =\n    numpy\n  [tts]\n", EM_EINVAL, "matrix.ini:5",
	    "a section header must not be indented");
	ERR("[vlm]\npython = 3.12\npackages = numpy scipy\n", EM_EINVAL, "matrix.ini:3",
	    "write one requirement per line");
	ERR("[vlm]\npython = 3.12\npackages =\n    caf\xc3\xa9\n", EM_EINVAL, "matrix.ini:4",
	    "invalid requirement");
	ERR("[vlm]\npython = 3.12\npackages = ok\n    x ; os_name ===\n", EM_EINVAL, "matrix.ini:4",
	    "invalid requirement");
	/* continuation of a key that takes one value */
	ERR("[vlm]\npython = 3.12\ndescription = LLMs\n    and vision\n", EM_EINVAL,
	    "matrix.ini:4", "continues 'description', which takes one value");
	ERR("[vlm]\npython = 3.12\n    python = 3.11\n", EM_EINVAL, "matrix.ini:3",
	    "continues 'python'");
	ERR("[vlm]\npython = 3.12\nenv.A = 1\n  2\n", EM_EINVAL, "matrix.ini:4", "continues 'env.A'");
	ERR("[vlm]\npython = 3.12\ntorch = 2.8\n  [tts]\n", EM_EINVAL, "matrix.ini:4",
	    "a section header must not be indented");
}

/* issue 12 item 9: an indented header is the same error wherever it stands,
 * never a continuation line of find-links, mirrors or verify */
static void test_errors_indented_header(void **state)
{
	(void)state;
	ERR("[matrix]\nfind-links =\n  ./wheels\n  [a]\npython = 3.12\n", EM_EINVAL,
	    "matrix.ini:4", "'[a]': a section header must not be indented");
	ERR("[matrix]\nfind-links =\n  [a]\npython = 3.12\n", EM_EINVAL, "matrix.ini:3",
	    "a section header must not be indented");
	ERR("[vlm]\npython = 3.12\nverify =\n  true\n  [tts]\npython = 3.12\n", EM_EINVAL,
	    "matrix.ini:5", "a section header must not be indented");
	ERR("[matrix]\nmirrors =\n  [a]\n", EM_EINVAL, "matrix.ini:3",
	    "a section header must not be indented");
	ERR("[matrix]\npython = 3.12\n  [a]\n", EM_EINVAL, "matrix.ini:3",
	    "a section header must not be indented");
	ERR("[matrix]\n  [a]\npython = 3.12\n", EM_EINVAL, "matrix.ini:2",
	    "a section header must not be indented");
	/* a verify command that starts with '[' is a command */
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	struct em_error e;
	em_error_clear(&e);
	const char text[] = "[vlm]\npython = 3.12\nverify =\n  [ -e /dev/null ]\n";
	assert_int_equal(em_matrix_parse(&a, text, sizeof text - 1, "matrix.ini", &m, &e), 0);
	em_arena_release(&a);
}

static void test_errors_collisions(void **state)
{
	(void)state;
	ERR("[a]\npython = 3.12\n[b]\npython = 3.12\n", EM_EINVAL, "matrix.ini:3",
	    "workloads [a] (line 1) and [b] share the environment folder '.venv'");
	ERR("[a]\npython = 3.12\npath = p\n[b]\npython = 3.12\npath = ./p/\n", EM_EINVAL,
	    "matrix.ini:4", "share the environment folder 'p/.venv'");
	ERR("[a]\npython = 3.12\npath = P\\x\n[b]\npython = 3.12\npath = p/y/../x\n", EM_EINVAL,
	    "matrix.ini:4", "share the environment folder");
	ERR("[a]\npython = 3.12\npath = x/y\n[b]\npython = 3.12\npath = x\nvenv = y\n", EM_EINVAL,
	    "matrix.ini:4", "are nested");
	ERR("[matrix]\npython=3.12\nvenv=v\n[a]\npath=/srv/a\n[b]\npath=/srv/b/../a\n",
	    EM_EINVAL, "matrix.ini:6", "share the environment folder '/srv/a/v'");
	/* different folders are fine */
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	parse_ok(&a,
		 "[matrix]\npython=3.12\n"
		 "[a]\npath = p\n[b]\npath = p\nvenv = .venv-b\n[c]\npath = ../p\n"
		 "[d]\npath = /p\n[e]\npath = p/.venv-bb\n[f]\npath = q/..\nvenv = .venv-f\n",
		 &m);
	assert_int_equal(m.nworkloads, 6);
	em_arena_release(&a);
}

static void test_errors_bytes(void **state)
{
	(void)state;
	ERR("[w]\npython = 3.12\x00\n", EM_EINVAL, "matrix.ini:2", "NUL byte");
	ERR("[w]\x00\npython = 3.12\n", EM_EINVAL, "matrix.ini:1", "UTF-16");
	ERR("[w]\npython = 3.12\ndescription = a\x1b[31mred\n", EM_EINVAL, "matrix.ini:3",
	    "control character \\x1b");
	ERR("[w]\npython = 3.12\rpath = x\n", EM_EINVAL, "matrix.ini:2", "carriage return");
	ERR("[w]\npython = 3.12\ndescription = \xff\xfe\n", EM_EINVAL, "matrix.ini:3",
	    "not valid UTF-8");
	ERR("# caf\xe9 in Latin-1\n[w]\npython = 3.12\n", EM_EINVAL, "matrix.ini:1",
	    "not valid UTF-8");
	ERR("[w]\npython = 3.12\ndescription = \x01x\n", EM_EINVAL, "matrix.ini:3",
	    "control character \\x01");
	ERR("[w]\npython = 3.12\ndescription = \x02\n", EM_EINVAL, "matrix.ini:3",
	    "control character \\x02");
	ERR("\xff\xfe[\x00w\x00]\x00\n", EM_EINVAL, "matrix.ini:1", NULL);
}

/* ---- hostile input ---- */

static void test_limits(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	struct em_matrix m;
	/* larger than EM_MATRIX_MAX_LEN */
	size_t big = 10u << 20;
	char *buf = malloc(big);
	assert_non_null(buf);
	memset(buf, '#', big);
	em_error_clear(&e);
	assert_int_equal(em_matrix_parse(&a, buf, big, "big.ini", &m, &e), EM_ELIMIT);
	assert_string_equal(e.where, "big.ini");
	assert_non_null(strstr(e.msg, "larger than 4 MiB"));
	/* 4 MB of one line */
	memset(buf, 'x', big);
	em_error_clear(&e);
	assert_int_equal(em_matrix_parse(&a, buf, EM_MATRIX_MAX_LEN, "x.ini", &m, &e), EM_ELIMIT);
	assert_string_equal(e.where, "x.ini:1");
	/* just under the limit: a huge comment-only file */
	memset(buf, '#', EM_MATRIX_MAX_LEN);
	for (size_t i = 100; i < EM_MATRIX_MAX_LEN; i += 101)
		buf[i] = '\n';
	em_error_clear(&e);
	assert_int_equal(em_matrix_parse(&a, buf, EM_MATRIX_MAX_LEN, "c.ini", &m, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "the matrix is empty"));
	/* 100,000 workloads: stopped at the limit */
	size_t o = 0;
	for (unsigned i = 0; i < 100000 && o + 64 < big; i++)
		o += (size_t)snprintf(buf + o, big - o, "[w%u]\npython = 3.12\n", i);
	em_error_clear(&e);
	assert_int_equal(em_matrix_parse(&a, buf, o, "many.ini", &m, &e), EM_ELIMIT);
	assert_string_equal(e.where, "many.ini:513");
	assert_non_null(strstr(e.msg, "more than 256 workloads"));
	/* exactly the limit parses (each with its own folder) */
	o = 0;
	for (unsigned i = 0; i < EM_MATRIX_MAX_WORKLOADS; i++)
		o += (size_t)snprintf(buf + o, big - o, "[w%u]\npython = 3.12\npath = w%u\n", i, i);
	em_error_clear(&e);
	if (em_matrix_parse(&a, buf, o, "ok.ini", &m, &e))
		fail_msg("%s: %s", e.where, e.msg);
	assert_int_equal(m.nworkloads, EM_MATRIX_MAX_WORKLOADS);
	/* too many packages in one section */
	o = (size_t)snprintf(buf, big, "[w]\npython = 3.12\npackages =\n");
	for (unsigned i = 0; i < 5000; i++)
		o += (size_t)snprintf(buf + o, big - o, "    p%u\n", i);
	em_error_clear(&e);
	assert_int_equal(em_matrix_parse(&a, buf, o, "p.ini", &m, &e), EM_ELIMIT);
	assert_string_equal(e.where, "p.ini:1028");
	/* too many with [matrix]'s */
	o = (size_t)snprintf(buf, big, "[matrix]\npackages =\n");
	for (unsigned i = 0; i < 600; i++)
		o += (size_t)snprintf(buf + o, big - o, "    p%u\n", i);
	o += (size_t)snprintf(buf + o, big - o, "[w]\npython = 3.12\npackages =\n");
	for (unsigned i = 0; i < 600; i++)
		o += (size_t)snprintf(buf + o, big - o, "    q%u\n", i);
	em_error_clear(&e);
	assert_int_equal(em_matrix_parse(&a, buf, o, "p.ini", &m, &e), EM_ELIMIT);
	assert_string_equal(e.where, "p.ini:603");
	/* too many env vars */
	o = (size_t)snprintf(buf, big, "[w]\npython = 3.12\n");
	for (unsigned i = 0; i < 100; i++)
		o += (size_t)snprintf(buf + o, big - o, "env.V%u = %u\n", i, i);
	em_error_clear(&e);
	assert_int_equal(em_matrix_parse(&a, buf, o, "e.ini", &m, &e), EM_ELIMIT);
	assert_string_equal(e.where, "e.ini:67");
	o = (size_t)snprintf(buf, big, "[matrix]\n");
	for (unsigned i = 0; i < 40; i++)
		o += (size_t)snprintf(buf + o, big - o, "env.M%u = %u\n", i, i);
	o += (size_t)snprintf(buf + o, big - o, "[w]\npython = 3.12\n");
	for (unsigned i = 0; i < 40; i++)
		o += (size_t)snprintf(buf + o, big - o, "env.W%u = %u\n", i, i);
	em_error_clear(&e);
	assert_int_equal(em_matrix_parse(&a, buf, o, "e.ini", &m, &e), EM_ELIMIT);
	assert_string_equal(e.where, "e.ini:42");
	/* too many find-links */
	o = (size_t)snprintf(buf, big, "[w]\npython = 3.12\nfind-links =\n");
	for (unsigned i = 0; i < 40; i++)
		o += (size_t)snprintf(buf + o, big - o, "    w%u\n", i);
	em_error_clear(&e);
	assert_int_equal(em_matrix_parse(&a, buf, o, "f.ini", &m, &e), EM_ELIMIT);
	assert_string_equal(e.where, "f.ini:36");
	/* millions of blank lines, then a workload */
	memset(buf, '\n', EM_MATRIX_MAX_LEN - 64);
	o = EM_MATRIX_MAX_LEN - 64;
	o += (size_t)snprintf(buf + o, big - o, "[w]\npython = 3.12\n");
	em_error_clear(&e);
	if (em_matrix_parse(&a, buf, o, "blank.ini", &m, &e))
		fail_msg("%s: %s", e.where, e.msg);
	assert_int_equal(m.workloads[0].line, EM_MATRIX_MAX_LEN - 64 + 1);
	free(buf);
	em_arena_release(&a);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

/* Random bytes and random mutations of a valid matrix: every result is a
 * success or a well-formed error with a place. */
static void test_garbage(void **state)
{
	(void)state;
	size_t len;
	char *valid = read_example("rtx3090-windows.ini", &len);
	static const char alphabet[] = "[]=:; #\n\t\r\\.-_abcpythonenv.X3.12\"'<>=~!,@/\x00\x01\x02\xff";
	char *buf = malloc(len + 4096);
	assert_non_null(buf);
	unsigned ok = 0, failed = 0;
	for (unsigned iter = 0; iter < 20000; iter++) {
		size_t n;
		if (iter % 4 == 0) {
			n = rnd() % 2048;
			for (size_t i = 0; i < n; i++)
				buf[i] = (char)(iter % 8 == 0 ? rnd() : (uint32_t)alphabet[rnd() % (sizeof alphabet - 1)]);
		} else {
			memcpy(buf, valid, len);
			n = len;
			unsigned edits = 1 + rnd() % 4;
			for (unsigned k = 0; k < edits; k++) {
				size_t at = rnd() % n;
				switch (rnd() % 3) {
				case 0:
					buf[at] = alphabet[rnd() % (sizeof alphabet - 1)];
					break;
				case 1:
					memmove(buf + at, buf + at + 1, n - at - 1);
					n--;
					break;
				default:
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = alphabet[rnd() % (sizeof alphabet - 1)];
					n++;
					break;
				}
			}
		}
		struct em_arena a;
		em_arena_init(&a);
		struct em_error e;
		em_error_clear(&e);
		struct em_matrix m;
		int rc = em_matrix_parse(&a, buf, n, "g.ini", &m, &e);
		if (rc) {
			check_message(&e, rc);
			assert_int_equal(strncmp(e.where, "g.ini", 5), 0);
			assert_int_equal(m.nworkloads, 0);
			failed++;
		} else {
			assert_true(m.nworkloads > 0);
			for (uint32_t i = 0; i < m.nworkloads; i++) {
				assert_non_null(m.workloads[i].python.value);
				assert_non_null(m.workloads[i].venv.value);
			}
			ok++;
		}
		struct em_reqfile r;
		em_error_clear(&e);
		rc = em_reqfile_parse(&a, buf, n, "g.txt", &r, &e);
		if (rc)
			check_message(&e, rc);
		em_arena_release(&a);
	}
	print_message("garbage: %u parsed, %u rejected\n", ok, failed);
	assert_true(ok > 100 && failed > 100);
	free(buf);
	free(valid);
}

/* ---- requirements files ---- */

static void test_reqfile(void **state)
{
	(void)state;
	static const char text[] =
		"\xef\xbb\xbf# pinned for the legacy model\r\n"    /* 1 */
		"numpy==1.26.4  # keep\r\n"                        /* 2 */
		"\r\n"                                              /* 3 */
		"onnxruntime-gpu==1.19.2 ; platform_system == \"Windows\"\n" /* 4 */
		"scipy \\\n"                                        /* 5 */
		"    >=1.11 \\\n"                                   /* 6 */
		"    ,<2\n"                                         /* 7 */
		"-r base.txt\n"                                     /* 8 */
		"--requirement more.txt\n"                          /* 9 */
		"--requirement=extra/gpu.txt\n"                     /* 10 */
		"-rtight.txt\n"                                     /* 11 */
		"-r \"with space.txt\"\n"                           /* 12 */
		"  # indented comment\n"                            /* 13 */
		"pkg @ https://example.com/pkg-1.0-py3-none-any.whl#sha256=00ff\n" /* 14 */
		"insightface==0.7.3";                               /* 15 */
	struct em_arena a;
	em_arena_init(&a);
	struct em_reqfile r;
	struct em_error e;
	em_error_clear(&e);
	if (em_reqfile_parse(&a, text, sizeof text - 1, "reqs/lv.txt", &r, &e))
		fail_msg("%s: %s", e.where, e.msg);
	static const struct {
		const char *text;
		uint32_t line;
	} reqs[] = {
		{ "numpy==1.26.4", 2 },
		{ "onnxruntime-gpu==1.19.2 ; platform_system == \"Windows\"", 4 },
		{ "scipy     >=1.11     ,<2", 5 },
		{ "pkg @ https://example.com/pkg-1.0-py3-none-any.whl#sha256=00ff", 14 },
		{ "insightface==0.7.3", 15 },
	};
	assert_int_equal(r.nreqs, COUNT(reqs));
	for (size_t i = 0; i < COUNT(reqs); i++) {
		assert_string_equal(r.reqs[i].text, reqs[i].text);
		assert_int_equal(r.reqs[i].line, reqs[i].line);
		assert_string_equal(r.reqs[i].file, "reqs/lv.txt");
	}
	static const struct {
		const char *text;
		uint32_t line;
	} incs[] = {
		{ "base.txt", 8 }, { "more.txt", 9 }, { "extra/gpu.txt", 10 },
		{ "tight.txt", 11 }, { "with space.txt", 12 },
	};
	assert_int_equal(r.nincludes, COUNT(incs));
	for (size_t i = 0; i < COUNT(incs); i++) {
		assert_string_equal(r.includes[i].text, incs[i].text);
		assert_int_equal(r.includes[i].line, incs[i].line);
	}
	/* empty and comment-only files are fine */
	assert_int_equal(em_reqfile_parse(&a, "", 0, "e.txt", &r, &e), 0);
	assert_int_equal(r.nreqs, 0);
	assert_int_equal(em_reqfile_parse(&a, "# x\n\n  \n", 8, "e.txt", &r, &e), 0);
	assert_int_equal(r.nreqs + r.nincludes, 0);
	/* a backslash on the last line */
	assert_int_equal(em_reqfile_parse(&a, "numpy\\", 6, "e.txt", &r, &e), 0);
	assert_int_equal(r.nreqs, 1);
	assert_string_equal(r.reqs[0].text, "numpy");
	em_arena_release(&a);
}

static void reqfile_error_n(const char *text, size_t len, int code, const char *where,
			   const char *needle)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_reqfile r;
	struct em_error e;
	em_error_clear(&e);
	int rc = em_reqfile_parse(&a, text, len, "r.txt", &r, &e);
	if (rc != code)
		fail_msg("want %d, got %d (%s: %s) for '%s'", code, rc, e.where, e.msg, text);
	check_message(&e, rc);
	if (strcmp(e.where, where))
		fail_msg("where: want '%s', got '%s' (%s)", where, e.where, e.msg);
	if (needle && !strstr(e.msg, needle))
		fail_msg("message '%s' lacks '%s'", e.msg, needle);
	assert_int_equal(r.nreqs, 0);
	assert_int_equal(r.nincludes, 0);
	em_arena_release(&a);
}

#define reqfile_error(text, code, where, needle) \
	reqfile_error_n(text, sizeof(text) - 1, code, where, needle)

static void test_reqfile_errors(void **state)
{
	(void)state;
	reqfile_error("numpy\n-e .\n", EM_EINVAL, "r.txt:2", "editable installs are not supported");
	reqfile_error("--editable=git+https://x\n", EM_EINVAL, "r.txt:1", "editable");
	reqfile_error("--index-url https://x.org/simple\n", EM_EINVAL, "r.txt:1",
		      "set index-url in the matrix instead");
	reqfile_error("-i https://x.org/simple\n", EM_EINVAL, "r.txt:1", "set index-url in the matrix");
	reqfile_error("--extra-index-url https://x.org/simple\n", EM_EINVAL, "r.txt:1", "index-url");
	reqfile_error("-f ./wheels\n", EM_EINVAL, "r.txt:1", "set find-links in the matrix");
	reqfile_error("-c constraints.txt\n", EM_EINVAL, "r.txt:1", "constraints files are not supported");
	reqfile_error("numpy==2.0 --hash=sha256:abcd\n", EM_EINVAL, "r.txt:1", "option '--hash'");
	reqfile_error("numpy==2.0 \\\n    --hash=sha256:abcd\n", EM_EINVAL, "r.txt:1", "pylock");
	reqfile_error("--pre\n", EM_EINVAL, "r.txt:1", "pre-release");
	reqfile_error("--only-binary :all:\n", EM_EINVAL, "r.txt:1", "wheels only");
	reqfile_error("--trusted-host x.org\n", EM_EINVAL, "r.txt:1", "option '--trusted-host'");
	reqfile_error("-r\n", EM_EINVAL, "r.txt:1", "names no file");
	reqfile_error("--requirement=\n", EM_EINVAL, "r.txt:1", "names no file");
	reqfile_error("numpy\nfoo>>1\n", EM_EINVAL, "r.txt:2", "invalid requirement 'foo>>1': ");
	reqfile_error("./pkg-1.0-py3-none-any.whl\n", EM_EINVAL, "r.txt:1",
		      "for a local wheel use find-links");
	reqfile_error("https://x.org/pkg.whl\n", EM_EINVAL, "r.txt:1", "find-links");
	reqfile_error("numpy\x00\n", EM_EINVAL, "r.txt:1", "NUL byte");
	reqfile_error("a\nb\n\x1b[0m\n", EM_EINVAL, "r.txt:3", "control character");
	reqfile_error("caf\xe9\n", EM_EINVAL, "r.txt:1", "invalid requirement");
	/* the joined line is numbered by its first line */
	reqfile_error("ok\nfoo \\\n  >>1\n", EM_EINVAL, "r.txt:2", "invalid requirement");
}

static void test_reqfile_limits(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_reqfile r;
	struct em_error e;
	size_t big = 10u << 20;
	char *buf = malloc(big);
	assert_non_null(buf);
	memset(buf, 'a', big);
	em_error_clear(&e);
	assert_int_equal(em_reqfile_parse(&a, buf, big, "big.txt", &r, &e), EM_ELIMIT);
	assert_string_equal(e.where, "big.txt");
	/* a 4 MB requirement */
	em_error_clear(&e);
	assert_int_equal(em_reqfile_parse(&a, buf, EM_MATRIX_MAX_LEN, "one.txt", &r, &e), EM_ELIMIT);
	/* endless continuation */
	for (size_t i = 0; i < EM_MATRIX_MAX_LEN; i += 2) {
		buf[i] = '\\';
		buf[i + 1] = '\n';
	}
	em_error_clear(&e);
	assert_int_equal(em_reqfile_parse(&a, buf, EM_MATRIX_MAX_LEN, "c.txt", &r, &e), 0);
	assert_int_equal(r.nreqs, 0);
	size_t o = 0;
	for (size_t i = 0; i < 70000; i++) {
		buf[o++] = 'a';
		buf[o++] = '\\';
		buf[o++] = '\n';
	}
	em_error_clear(&e);
	assert_int_equal(em_reqfile_parse(&a, buf, o, "c.txt", &r, &e), EM_ELIMIT);
	assert_string_equal(e.where, "c.txt:1");
	/* too many requirements and includes */
	o = 0;
	for (unsigned i = 0; i < 20000; i++)
		o += (size_t)snprintf(buf + o, big - o, "p%u\n", i);
	em_error_clear(&e);
	assert_int_equal(em_reqfile_parse(&a, buf, o, "n.txt", &r, &e), EM_ELIMIT);
	assert_string_equal(e.where, "n.txt:10001");
	o = 0;
	for (unsigned i = 0; i < 100; i++)
		o += (size_t)snprintf(buf + o, big - o, "-r f%u.txt\n", i);
	em_error_clear(&e);
	assert_int_equal(em_reqfile_parse(&a, buf, o, "i.txt", &r, &e), EM_ELIMIT);
	assert_string_equal(e.where, "i.txt:65");
	free(buf);
	em_arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_files),
		cmocka_unit_test(test_windows_matrix),
		cmocka_unit_test(test_linux_matrix),
		cmocka_unit_test(test_demo_matrix),
		cmocka_unit_test(test_full_structure),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_inheritance),
		cmocka_unit_test(test_python_home),
		cmocka_unit_test(test_network_settings),
		cmocka_unit_test(test_inherited_cuda_without_torch),
		cmocka_unit_test(test_semicolons),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_python_values),
		cmocka_unit_test(test_torch_values),
		cmocka_unit_test(test_cuda_values),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_errors_keys),
		cmocka_unit_test(test_errors_sections),
		cmocka_unit_test(test_errors_values),
		cmocka_unit_test(test_errors_packages),
		cmocka_unit_test(test_errors_indented_header),
		cmocka_unit_test(test_errors_collisions),
		cmocka_unit_test(test_errors_bytes),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_reqfile),
		cmocka_unit_test(test_reqfile_errors),
		cmocka_unit_test(test_reqfile_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

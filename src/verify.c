/* verify.c - checking an environment from inside it (verify.h)
 *
 * The checks that need the environment's Python are made by one process
 * running SCRIPT below with the expectations as JSON in sys.argv[1]. It
 * reports on its own copy of stdout (fd 1 is pointed at stderr first, so
 * whatever an imported package prints cannot mix in), one JSON object a
 * line, flushed:
 *
 *   {"begin": NAME}                       a check starts
 *   {"check": NAME, "status": "ok"|"failed"|"skipped", "expected": S|null,
 *    "got": S|null, "detail": S|null, "seconds": F}
 *   {"done": true, "python": "3.12.1"}    every check ran
 *
 * so when the process hangs or dies the check it was in is known. The
 * script runs on Python 2.7 and 3.x alike (it only needs json), and turns
 * on faulthandler so a crash leaves a traceback on stderr. Dependency
 * consistency and the distributions' import names are read here from the
 * dist-info folders, with the standards engine, without running anything.
 */
#include "verify.h"
#include "util/buf.h"
#include "os/fs.h"
#include "host.h"
#include "spec/metadata.h"
#include "spec/name.h"
#include "spec/pep440.h"
#include "spec/pep508.h"
#include "os/proc.h"
#include "os/sys.h"
#include "record.h"
#include "venv.h"
#include "util/grow.h"
#include "util/str.h"
#include "spec/target.h"
#include "settings.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DIST_FILE (16u << 20) /* METADATA, RECORD, top_level.txt */
#define TAIL_LINES 15
#define TAIL_BYTES 1500

static const char SCRIPT[] =
	"import sys, os, json, time\n"
	"out = os.fdopen(os.dup(1), 'w')\n"
	"os.dup2(2, 1)\n"
	"sys.stdout = sys.stderr\n"
	"if sys.path and sys.path[0] in ('', '.'):\n"
	"    del sys.path[0]\n"
	"try:\n"
	"    import faulthandler\n"
	"    faulthandler.enable()\n"
	"except Exception:\n"
	"    pass\n"
	"X = json.loads(sys.argv[1])\n"
	"mods = {}\n"
	"\n"
	"\n"
	"def emit(o):\n"
	"    out.write(json.dumps(o, sort_keys=True) + '\\n')\n"
	"    out.flush()\n"
	"\n"
	"\n"
	"def why(e):\n"
	"    s = '%s: %s' % (type(e).__name__, e)\n"
	"    return s[:4000]\n"
	"\n"
	"\n"
	"def check(name, fn, expected=None):\n"
	"    emit({'begin': name})\n"
	"    t = time.time()\n"
	"    try:\n"
	"        st, got, detail = fn()\n"
	"    except BaseException as e:\n"
	"        st, got, detail = 'failed', None, why(e)\n"
	"    emit({'check': name, 'status': st, 'expected': expected, 'got': got,\n"
	"          'detail': detail, 'seconds': round(time.time() - t, 6)})\n"
	"    return st\n"
	"\n"
	"\n"
	"def skip(name, expected, detail):\n"
	"    emit({'check': name, 'status': 'skipped', 'expected': expected, 'got': None,\n"
	"          'detail': detail, 'seconds': 0.0})\n"
	"\n"
	"\n"
	"def same(expected, got):\n"
	"    return 'ok' if expected is None or expected == got else 'failed'\n"
	"\n"
	"\n"
	"def c_python():\n"
	"    import platform\n"
	"    got = platform.python_version()\n"
	"    return same(X.get('python'), got), got, None\n"
	"\n"
	"\n"
	"def c_prefix():\n"
	"    got = sys.prefix\n"
	"    want = X['root']\n"
	"    ok = os.path.realpath(got) == os.path.realpath(want)\n"
	"    return ('ok', 'this venv', None) if ok else ('failed', got,\n"
	"        'not %s: the interpreter does not run as this environment (check its pyvenv.cfg)' % want)\n"
	"\n"
	"\n"
	"check('python', c_python, X.get('python'))\n"
	"check('sys.prefix', c_prefix)\n"
	"\n"
	"\n"
	"def importer(mod):\n"
	"    def f():\n"
	"        import importlib\n"
	"        m = importlib.import_module(mod)\n"
	"        mods[mod] = m\n"
	"        v = getattr(m, '__version__', None)\n"
	"        return 'ok', (v if isinstance(v, str) else 'imported'), None\n"
	"    return f\n"
	"\n"
	"\n"
	"for name, mod in X['imports']:\n"
	"    check(name, importer(mod))\n"
	"\n"
	"T = X.get('torch')\n"
	"if T:\n"
	"    torch = mods.get('torch')\n"
	"    if torch is None:\n"
	"        if check('import torch', importer('torch')) == 'ok':\n"
	"            torch = mods['torch']\n"
	"    gpu = X.get('gpu') or {}\n"
	"    names = ['torch.__version__', 'torch.version.cuda', 'torch.cuda.is_available()']\n"
	"    if torch is None:\n"
	"        for n in names:\n"
	"            skip(n, None, 'import torch failed')\n"
	"    else:\n"
	"        check('torch.__version__',\n"
	"              lambda: (same(T.get('version'), torch.__version__), torch.__version__, None),\n"
	"              T.get('version'))\n"
	"        tv = getattr(torch, 'version', None)\n"
	"        if 'cuda' in T:\n"
	"            def c_cuda():\n"
	"                if tv is None:\n"
	"                    return 'skipped', None, ('this torch has no torch.version module: '\n"
	"                        'a stand-in, not a real torch build')\n"
	"                got = str(tv.cuda)\n"
	"                return same(T['cuda'], got), got, None\n"
	"            check('torch.version.cuda', c_cuda, T['cuda'])\n"
	"            cuda_build = T['cuda'] != 'None'\n"
	"        elif T.get('variant') is None:\n"
	"            # no local label (PyPI's default wheels): torch says what it is\n"
	"            check('torch.version.cuda', lambda: ('ok', str(getattr(tv, 'cuda', None)),\n"
	"                  'no variant label to compare with'))\n"
	"            cuda_build = getattr(tv, 'cuda', None) is not None\n"
	"        else:\n"
	"            skip('torch.version.cuda', None, 'not a CUDA or CPU build (%s)' % T.get('variant'))\n"
	"            cuda_build = False\n"
	"        if not gpu.get('present'):\n"
	"            skip('torch.cuda.is_available()', None, 'no NVIDIA GPU on this host')\n"
	"        elif tv is None and not hasattr(torch, 'cuda'):\n"
	"            skip('torch.cuda.is_available()', None, ('this torch has neither torch.version '\n"
	"                 'nor torch.cuda: a stand-in, not a real torch build'))\n"
	"        elif not cuda_build:\n"
	"            skip('torch.cuda.is_available()', None, 'not a CUDA build of torch')\n"
	"        elif check('torch.cuda.is_available()',\n"
	"                   lambda: (('ok' if torch.cuda.is_available() else 'failed'),\n"
	"                            str(torch.cuda.is_available()), None), 'True') == 'ok':\n"
	"            def c_name():\n"
	"                got = torch.cuda.get_device_name(0)\n"
	"                return same(gpu.get('name'), got), got, None\n"
	"            check('torch.cuda device 0', c_name, gpu.get('name'))\n"
	"            cap = {}\n"
	"\n"
	"            def c_cap():\n"
	"                c = torch.cuda.get_device_capability(0)\n"
	"                cap['v'] = (int(c[0]), int(c[1]))\n"
	"                got = '%d.%d' % cap['v']\n"
	"                return same(gpu.get('cc'), got), got, None\n"
	"            check('torch.cuda capability', c_cap, gpu.get('cc'))\n"
	"\n"
	"            def c_arch():\n"
	"                if 'v' not in cap:\n"
	"                    return 'skipped', None, 'the capability is not known'\n"
	"                mj, mn = cap['v']\n"
	"                archs = list(torch.cuda.get_arch_list())\n"
	"                ok = False\n"
	"                for a in archs:\n"
	"                    kind, _, num = a.partition('_')\n"
	"                    if not num.isdigit() or len(num) < 2:\n"
	"                        continue\n"
	"                    amj, amn = int(num[:-1]), int(num[-1])\n"
	"                    if kind == 'sm' and amj == mj and amn <= mn:\n"
	"                        ok = True\n"
	"                    if kind == 'compute' and (amj, amn) <= (mj, mn):\n"
	"                        ok = True\n"
	"                return ('ok' if ok else 'failed'), ' '.join(archs), (None if ok else\n"
	"                    'this torch build has no code for sm_%d%d; pick a newer CUDA variant' % (mj, mn))\n"
	"            check('torch.cuda arch list', c_arch, 'sm_%s' % (gpu.get('cc') or '').replace('.', '') if gpu.get('cc') else None)\n"
	"\n"
	"            def c_tensor():\n"
	"                got = str(float((torch.ones(2, device='cuda') * 2).sum().item()))\n"
	"                return same('4.0', got), got, None\n"
	"            check('torch.cuda tensor', c_tensor, '4.0')\n"
	"\n"
	"if X.get('onnxruntime_gpu'):\n"
	"    name = 'onnxruntime CUDAExecutionProvider'\n"
	"    if not (X.get('gpu') or {}).get('present'):\n"
	"        skip(name, 'CUDAExecutionProvider', 'no NVIDIA GPU on this host')\n"
	"    else:\n"
	"        def c_ort():\n"
	"            import onnxruntime\n"
	"            p = list(onnxruntime.get_available_providers())\n"
	"            ok = 'CUDAExecutionProvider' in p\n"
	"            return ('ok' if ok else 'failed'), ','.join(p), None\n"
	"        check(name, c_ort, 'CUDAExecutionProvider')\n"
	"\n"
	"import platform\n"
	"emit({'done': True, 'python': platform.python_version()})\n"
	"\n";

const char *em_check_status_name(enum em_check_status s)
{
	switch (s) {
	case EM_CHECK_OK: return "ok";
	case EM_CHECK_FAILED: return "failed";
	case EM_CHECK_SKIPPED: return "skipped";
	}
	return "?";
}

/* ---- import names ---- */

static bool is_ident(const char *s, size_t n)
{
	if (!n || em_is_digit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!em_is_alnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* add s[0..n) to the set when it is an identifier */
static int add_name(struct em_arena *a, const char ***v, uint32_t *n, uint32_t *cap,
		    const char *s, size_t len)
{
	if (!is_ident(s, len))
		return 0;
	for (uint32_t i = 0; i < *n; i++)
		if (strlen((*v)[i]) == len && !memcmp((*v)[i], s, len))
			return 0;
	if (em_arena_grow(a, v, cap, *n, sizeof **v))
		return EM_ENOMEM;
	const char *c = em_arena_strndup(a, s, len);
	if (!c)
		return EM_ENOMEM;
	(*v)[(*n)++] = c;
	return 0;
}

static bool ends_with(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n >= k && !memcmp(s + n - k, suf, k);
}

static int record_names(struct em_arena *a, const char *record, size_t rlen, const char ***out,
			uint32_t *n, uint32_t *cap);

int em_verify_top_level(struct em_arena *a, const char *top_level, size_t tlen,
			const char *record, size_t rlen, const char ***mods, uint32_t *n,
			struct em_error *e)
{
	const char **v = NULL, **rv = NULL;
	uint32_t nv = 0, cap = 0, nr = 0, rcap = 0;
	*mods = NULL;
	*n = 0;
	if (record) {
		int rc = record_names(a, record, rlen, &rv, &nr, &rcap);
		if (rc)
			return em_err_nomem(e);
	}
	if (top_level) {
		size_t i = 0;
		while (i < tlen) {
			size_t j = i;
			while (j < tlen && top_level[j] != '\n')
				j++;
			struct em_str l = em_str_strip(em_str_make(top_level + i, j - i));
			/* "pkg/sub" lines (old setuptools) name pkg */
			size_t k = 0;
			while (k < l.n && l.p[k] != '/' && l.p[k] != '\\')
				k++;
			/* top_level.txt can name what the wheel does not hold
			 * (Debian's setuptools lists 'debian'): trust RECORD */
			bool held = !record;
			for (uint32_t r = 0; r < nr && !held; r++)
				held = strlen(rv[r]) == k && !memcmp(rv[r], l.p, k);
			if (held && add_name(a, &v, &nv, &cap, l.p, k))
				return em_err_nomem(e);
			i = j + 1;
		}
	}
	if (!nv && nr) {
		v = rv;
		nv = nr;
	}
	if (nv > 1)
		qsort(v, nv, sizeof *v, cmp_str);
	*mods = v;
	*n = nv;
	return 0;
}

/* The first part of a RECORD path (n bytes) that Python could import. */
static int record_name(struct em_arena *a, const char *p, size_t pl, const char ***v, uint32_t *n,
		       uint32_t *cap)
{
	size_t k = 0;
	while (k < pl && p[k] != '/' && p[k] != '\\')
		k++;
	if (k < pl) {
		/* a folder: not .., *.dist-info, *.data, __pycache__ */
		if (!ends_with(p, k, ".dist-info") && !ends_with(p, k, ".data") &&
		    !(k == 11 && !memcmp(p, "__pycache__", 11)))
			return add_name(a, v, n, cap, p, k);
	} else if (ends_with(p, pl, ".py") || ends_with(p, pl, ".so") || ends_with(p, pl, ".pyd")) {
		/* x.py, x.cpython-312-x86_64-linux-gnu.so, x.cp312-win_amd64.pyd */
		size_t d = 0;
		while (d < pl && p[d] != '.')
			d++;
		return add_name(a, v, n, cap, p, d);
	}
	return 0;
}

/* the names of every RECORD path (record.h's reader: an installed RECORD
 * lists "../" paths and files without hashes, and a row it cannot read
 * ends the list, as the names found so far are still right) */
static int record_names(struct em_arena *a, const char *record, size_t rlen, const char ***out,
			uint32_t *n, uint32_t *cap)
{
	const char **v = NULL;
	uint32_t nv = 0;
	char *scratch = malloc(EM_RECORD_ROW_MAX);
	if (!scratch)
		return EM_ENOMEM;
	struct em_record_reader c;
	em_record_reader_mem(&c, record, rlen, "RECORD", scratch);
	int rc = 0;
	while (!rc && em_record_next(&c, NULL) == EM_RECORD_ROW)
		rc = record_name(a, c.f[0].p, c.f[0].n, &v, &nv, cap);
	free(scratch);
	if (rc)
		return rc;
	*out = v;
	*n = nv;
	return 0;
}

/* ---- what is installed ---- */

struct dist_full {
	struct em_verify_dist d;
	uint32_t nreq;
	const char **req;
};

static int cmp_dist(const void *x, const void *y)
{
	return strcmp(((const struct dist_full *)x)->d.name, ((const struct dist_full *)y)->d.name);
}

static int scan(struct em_arena *a, const char *site, struct dist_full **out, uint32_t *n,
		struct em_error *e)
{
	*out = NULL;
	*n = 0;
	struct em_dirlist *d = em_dirlist_open(site);
	if (!d)
		return em_err_sys(e, errno, site, "cannot read the folder");
	uint32_t cap = 0, cnt = 0;
	struct dist_full *v = NULL;
	const char *de;
	int rc = 0;
	while (!rc && (de = em_dirlist_next(d))) {
		size_t nl = strlen(de);
		if (!ends_with(de, nl, ".dist-info"))
			continue;
		char *dir = em_arena_printf(a, "%s/%s", site, de);
		char *mp = dir ? em_arena_printf(a, "%s/METADATA", dir) : NULL;
		char *tp = dir ? em_arena_printf(a, "%s/top_level.txt", dir) : NULL;
		char *rp = dir ? em_arena_printf(a, "%s/RECORD", dir) : NULL;
		if (!rp) {
			rc = em_err_nomem(e);
			break;
		}
		char *meta, *tl = NULL, *rec = NULL;
		size_t ml, tll = 0, rl = 0;
		struct em_error ie;
		if (em_read_file(a, mp, MAX_DIST_FILE, &meta, &ml, &ie))
			continue;
		struct em_metadata md;
		if (em_metadata_parse_fields(a, meta, ml, mp, &md, &ie))
			continue;
		const char *name = em_metadata_get(&md, "Name");
		const char *version = em_metadata_get(&md, "Version");
		if (!name || !version)
			continue;
		if (em_read_file(a, tp, MAX_DIST_FILE, &tl, &tll, &ie))
			tl = NULL;
		if (em_read_file(a, rp, MAX_DIST_FILE, &rec, &rl, &ie))
			rec = NULL;
		if (em_arena_grow(a, &v, &cap, cnt, sizeof *v)) {
			rc = em_err_nomem(e);
			break;
		}
		struct dist_full *df = &v[cnt];
		memset(df, 0, sizeof *df);
		df->d.name = em_name_canonical(a, name, strlen(name));
		df->d.version = version;
		df->d.dist_info = dir;
		if (!df->d.name) {
			rc = em_err_nomem(e);
			break;
		}
		if ((rc = em_verify_top_level(a, tl, tll, rec, rl, &df->d.modules, &df->d.nmodules, e)))
			break;
		/* Requires-Dist, for the dependency check */
		uint32_t nr = 0;
		for (uint32_t k = 0; k < md.nfields; k++)
			if (!strcasecmp(md.fields[k].name, "Requires-Dist"))
				nr++;
		df->req = em_arena_array(a, nr ? nr : 1, sizeof *df->req);
		if (!df->req) {
			rc = em_err_nomem(e);
			break;
		}
		for (uint32_t k = 0; k < md.nfields; k++)
			if (!strcasecmp(md.fields[k].name, "Requires-Dist") && md.fields[k].value[0])
				df->req[df->nreq++] = md.fields[k].value;
		cnt++;
	}
	em_dirlist_close(d);
	if (rc)
		return rc;
	if (cnt > 1)
		qsort(v, cnt, sizeof *v, cmp_dist);
	*out = v;
	*n = cnt;
	return 0;
}

int em_verify_scan(struct em_arena *a, const char *site, struct em_verify_dist **dists,
		   uint32_t *n, struct em_error *e)
{
	struct dist_full *f;
	int rc = scan(a, site, &f, n, e);
	if (rc)
		return rc;
	*dists = em_arena_array(a, *n ? *n : 1, sizeof **dists);
	if (!*dists)
		return em_err_nomem(e);
	for (uint32_t i = 0; i < *n; i++)
		(*dists)[i] = f[i].d;
	return 0;
}

static const struct dist_full *find_dist(const struct dist_full *v, uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (em_name_eq(v[i].d.name, strlen(v[i].d.name), name, strlen(name)))
			return &v[i];
	return NULL;
}

/* ---- expectations ---- */

const char *em_verify_cuda_of_variant(struct em_arena *a, const char *variant)
{
	if (!variant)
		return NULL;
	if (!strcmp(variant, "cpu"))
		return "None";
	/* cuXYZ: X(Y).Z, the last digit is the minor: cu126 -> 12.6, cu92 -> 9.2 */
	size_t n = strlen(variant);
	if (n < 4 || variant[0] != 'c' || variant[1] != 'u')
		return NULL;
	for (size_t i = 2; i < n; i++)
		if (!em_is_digit((unsigned char)variant[i]))
			return NULL;
	return em_arena_printf(a, "%.*s.%c", (int)(n - 3), variant + 2, variant[n - 1]);
}

struct xb {
	struct em_arena *a;
	struct em_verify_expect *x;
	uint32_t cap_imports, cap_statics;
};

static int add_static(struct xb *b, const char *name, enum em_check_status st,
		      const char *expected, const char *got, const char *detail)
{
	struct em_verify_expect *x = b->x;
	if (em_arena_grow(b->a, &x->statics, &b->cap_statics, x->nstatic, sizeof *x->statics))
		return EM_ENOMEM;
	x->statics[x->nstatic++] = (struct em_check){ .name = name, .status = st,
						      .expected = expected, .got = got,
						      .detail = detail };
	return name ? 0 : EM_ENOMEM;
}

static bool skipped_module(const char *m)
{
	static const char *const junk[] = { "test", "tests", "testing", "docs", "doc",
					    "examples", "example", "benchmarks" };
	if (m[0] == '_')
		return true;
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
		if (!strcmp(m, junk[i]))
			return true;
	return false;
}

/* the imports of one distribution (each module once over all of them) */
static int add_imports(struct xb *b, const struct dist_full *d, bool private_too)
{
	struct em_verify_expect *x = b->x;
	for (uint32_t i = 0; i < d->d.nmodules; i++) {
		const char *m = d->d.modules[i];
		if (!private_too && skipped_module(m))
			continue;
		bool dup = false;
		for (uint32_t k = 0; k < x->nimports && !dup; k++)
			dup = !strcmp(x->imports[k].module, m);
		if (dup)
			continue;
		if (em_arena_grow(b->a, &x->imports, &b->cap_imports, x->nimports,
				  sizeof *x->imports))
			return EM_ENOMEM;
		struct em_verify_import *im = &x->imports[x->nimports++];
		im->module = m;
		/* "import PIL (pillow)" when the module is not the project's name */
		im->check = em_name_eq(m, strlen(m), d->d.name, strlen(d->d.name))
				    ? em_arena_printf(b->a, "import %s", m)
				    : em_arena_printf(b->a, "import %s (%s)", m, d->d.name);
		if (!im->check)
			return EM_ENOMEM;
	}
	return 0;
}

/* Imports run in one process, so their order matters: each distribution's
 * main module (named as the project) first, then the others, and pip
 * last, because importing pip switches setuptools' distutils shim
 * (_distutils_hack) to the standard library's distutils, which Python 3.12
 * no longer has: 'import pip, setuptools' fails where 'import setuptools'
 * works. */
static int import_rank(const struct em_verify_import *im)
{
	if (!strcmp(im->module, "pip"))
		return 2;
	return strncmp(im->check, "import ", 7) || strchr(im->check, '(') ? 1 : 0;
}

static void order_imports(struct em_verify_expect *x)
{
	/* stable insertion sort by rank */
	for (uint32_t i = 1; i < x->nimports; i++) {
		struct em_verify_import t = x->imports[i];
		int r = import_rank(&t);
		uint32_t j = i;
		while (j > 0 && import_rank(&x->imports[j - 1]) > r) {
			x->imports[j] = x->imports[j - 1];
			j--;
		}
		x->imports[j] = t;
	}
}

/* "3.12.1" out of pyvenv.cfg's version_info ("3.12.1" or "3.12.1.final.0") */
static const char *venv_python(struct em_arena *a, const char *root)
{
	char *t = em_venv_cfg_load(a, root);
	const char *q = t ? em_venv_cfg_get(a, t, "version_info") : NULL;
	if (t && !q)
		q = em_venv_cfg_get(a, t, "version");
	if (!q)
		return NULL;
	size_t len = 0;
	int dots = 0;
	while (em_is_digit((unsigned char)q[len]) || (q[len] == '.' && dots < 2)) {
		dots += q[len] == '.';
		len++;
	}
	if (len && q[len - 1] == '.')
		len--;
	/* a pre-release: 3.14.0rc1 */
	while (em_is_alnum((unsigned char)q[len]) && q[len] != '\n')
		len++;
	return len ? em_arena_strndup(a, q, len) : NULL;
}

/* pip check: every applicable requirement installed in a matching version */
static int deps_check(struct xb *b, const struct dist_full *v, uint32_t n, const char *python)
{
	struct em_arena *a = b->a;
	struct em_target t;
	memset(&t, 0, sizeof t);
	struct em_error ie;
	if (!python || em_host_platform(&t.plat, &ie) || em_python_parse(python, &t.py, &ie))
		return add_static(b, "dependencies", EM_CHECK_SKIPPED, "consistent", NULL,
				  "the environment's Python version is not known");
	struct em_target_env te;
	em_target_marker_env(&t, &te);
	struct em_buf msg;
	em_buf_init(&msg, 1 << 16);
	uint32_t problems = 0;
	for (uint32_t i = 0; i < n; i++) {
		for (uint32_t k = 0; k < v[i].nreq; k++) {
			struct em_arena_mark mk = em_arena_mark(a);
			struct em_requirement r;
			bool applies = false;
			if (em_requirement_parse(a, v[i].req[k], strlen(v[i].req[k]), &r, &ie) ||
			    em_requirement_applies(&r, &te.env, NULL, &applies, &ie) || !applies) {
				em_arena_rewind(a, mk);
				continue;
			}
			const struct dist_full *dep = find_dist(v, n, r.name);
			const char *why = NULL;
			char sb[256] = "";
			if (!dep) {
				why = "which is not installed";
			} else if (r.spec.n && !em_specset_contains_str(&r.spec, dep->d.version,
								       strlen(dep->d.version),
								       EM_PRE_ALLOW)) {
				snprintf(sb, sizeof sb, "but %s is installed", dep->d.version);
				why = sb;
			}
			if (why) {
				if (problems < 8)
					em_buf_addf(&msg, "%s%s %s needs '%s', %s", problems ? "; " : "",
						    v[i].d.name, v[i].d.version, v[i].req[k], why);
				problems++;
			}
			em_arena_rewind(a, mk);
		}
	}
	int rc;
	if (msg.err) {
		rc = EM_ENOMEM;
	} else if (problems) {
		if (problems > 8)
			em_buf_addf(&msg, "; and %u more", problems - 8);
		char *d = em_arena_strndup(a, msg.ptr ? msg.ptr : "", msg.len);
		char *g = em_arena_printf(a, "%u problem%s", problems, problems == 1 ? "" : "s");
		rc = d && g ? add_static(b, "dependencies", EM_CHECK_FAILED, "consistent", g, d)
			    : EM_ENOMEM;
	} else {
		char *g = em_arena_printf(a, "%u distribution%s", n, n == 1 ? "" : "s");
		rc = g ? add_static(b, "dependencies", EM_CHECK_OK, "consistent", g, NULL) : EM_ENOMEM;
	}
	em_buf_release(&msg);
	return rc;
}

static const char *label_of(const char *version)
{
	const char *p = version ? strchr(version, '+') : NULL;
	return p ? p + 1 : NULL;
}

int em_verify_expect_build(struct em_arena *a, const struct em_verify_inputs *in,
			   struct em_verify_expect *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	struct xb b = { a, out, 0, 0 };
	out->root = in->root;
	out->gpu = in->gpu;
	const char *site;
	int rc = em_venv_site_packages(a, in->root, &site, e);
	if (rc)
		return rc;
	struct dist_full *v;
	uint32_t n;
	if ((rc = scan(a, site, &v, &n, e)))
		return rc;
	const struct em_lock *l = in->lock;
	const char *torch_locked = NULL;
	bool any_requested = false;
	for (uint32_t i = 0; l && i < l->npackages; i++)
		any_requested |= l->packages[i].requested;
	if (l) {
		out->python = l->python;
		for (uint32_t i = 0; i < l->npackages; i++) {
			const struct em_lock_package *p = &l->packages[i];
			if (!strcmp(p->name, "torch"))
				torch_locked = p->version;
			if (!p->requested)
				continue;
			const struct dist_full *d = find_dist(v, n, p->name);
			if (d) {
				if ((rc = add_imports(&b, d, d->d.nmodules == 1)))
					return em_err_nomem(e);
				continue;
			}
			char *name = em_arena_printf(a, "installed %s", p->name);
			rc = p->marker ? add_static(&b, name, EM_CHECK_SKIPPED, p->version, NULL,
						    em_arena_printf(a, "not for this platform (%s)",
								    p->marker))
				       : add_static(&b, name, EM_CHECK_FAILED, p->version, NULL,
						    "the lock names it but the environment does not "
						    "have it");
			if (rc)
				return em_err_nomem(e);
		}
	}
	if (!any_requested) {
		/* a venv envmatrix did not make, or a lock from another tool */
		for (uint32_t i = 0; i < n; i++)
			if ((rc = add_imports(&b, &v[i], false)))
				return em_err_nomem(e);
	}
	const struct dist_full *td = find_dist(v, n, "torch");
	if (in->expect_torch) {
		struct em_arena_mark mk = em_arena_mark(a);
		struct em_version ver;
		if (em_version_parse(a, in->expect_torch, strlen(in->expect_torch), &ver, NULL)) {
			em_arena_rewind(a, mk);
			return em_err(e, EM_EINVAL, NULL,
				      "'%s' is not a torch version; write it as torch reports it, "
				      "e.g. 2.8.0+cu126", in->expect_torch);
		}
	}
	if (td || in->expect_torch || torch_locked) {
		out->torch = true;
		out->torch_version = in->expect_torch ? in->expect_torch
				     : torch_locked     ? torch_locked
				     : td               ? td->d.version
							: NULL;
		out->variant = label_of(out->torch_version);
		if (!out->variant && l && l->torch_variant)
			out->variant = l->torch_variant;
		out->cuda = em_verify_cuda_of_variant(a, out->variant);
		if (!td && (rc = add_static(&b, "installed torch", EM_CHECK_FAILED, out->torch_version,
					    NULL, "torch is expected but not installed")))
			return em_err_nomem(e);
	}
	order_imports(out);
	out->onnxruntime_gpu = find_dist(v, n, "onnxruntime-gpu") != NULL;
	if ((rc = deps_check(&b, v, n, l && l->python ? l->python : venv_python(a, in->root))))
		return em_err_nomem(e);
	if (in->w) {
		const struct em_workload *w = in->w;
		out->ncommands = w->nverify;
		const char **c = em_arena_array(a, w->nverify ? w->nverify : 1, sizeof *c);
		const char **en = em_arena_array(a, w->nenv ? w->nenv : 1, sizeof *en);
		const char **ev = em_arena_array(a, w->nenv ? w->nenv : 1, sizeof *ev);
		if (!c || !en || !ev)
			return em_err_nomem(e);
		for (uint32_t i = 0; i < w->nverify; i++)
			c[i] = w->verify[i].value;
		for (uint32_t i = 0; i < w->nenv; i++) {
			en[i] = w->env[i].name;
			ev[i] = w->env[i].value;
		}
		out->commands = c;
		out->nenv = w->nenv;
		out->env_names = en;
		out->env_values = ev;
	}
	return 0;
}

/* ---- results ---- */

int em_verify_add(struct em_arena *a, struct em_verify_result *r, const char *name,
		  enum em_check_status st, const char *expected, const char *got,
		  const char *detail, double seconds, struct em_error *e)
{
	/* grow by doubling: capacity is the next power of two of n */
	uint32_t cap = 8;
	while (cap < r->n)
		cap *= 2;
	if (r->n == 0 || r->n == cap) {
		uint32_t nc = r->n ? cap * 2 : 8;
		struct em_check *nv = em_arena_array(a, nc, sizeof *nv);
		if (!nv)
			return em_err_nomem(e);
		if (r->n)
			memcpy(nv, r->checks, r->n * sizeof *nv);
		r->checks = nv;
	}
	struct em_check *c = &r->checks[r->n];
	memset(c, 0, sizeof *c);
	c->name = em_arena_strdup(a, name ? name : "?");
	c->status = st;
	c->expected = expected ? em_arena_strdup(a, expected) : NULL;
	c->got = got ? em_arena_strdup(a, got) : NULL;
	c->detail = detail ? em_arena_strdup(a, detail) : NULL;
	c->seconds = seconds;
	if (!c->name || (expected && !c->expected) || (got && !c->got) || (detail && !c->detail))
		return em_err_nomem(e);
	r->n++;
	if (st == EM_CHECK_OK)
		r->passed++;
	else if (st == EM_CHECK_FAILED)
		r->failed++;
	else
		r->skipped++;
	return 0;
}

/* the last lines of a text, at most TAIL_BYTES, control bytes made safe */
static char *tail(struct em_arena *a, const char *s, size_t n)
{
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (!n)
		return NULL;
	size_t start = n, lines = 0;
	while (start > 0 && n - start < TAIL_BYTES) {
		if (s[start - 1] == '\n' && ++lines >= TAIL_LINES)
			break;
		start--;
	}
	char *o = em_arena_alloc(a, (n - start) * 4 + 1);
	if (!o)
		return NULL;
	size_t k = 0;
	for (size_t i = start; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n' || c == '\t' || c >= 0x20) {
			o[k++] = (char)c;
		} else if (c != '\r') {
			k += (size_t)sprintf(o + k, "\\x%02x", c);
		}
	}
	o[k] = '\0';
	return o;
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *signame(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGABRT: return "SIGABRT";
	case SIGBUS: return "SIGBUS";
	case SIGILL: return "SIGILL";
	case SIGFPE: return "SIGFPE";
	case SIGKILL: return "SIGKILL";
	case SIGTERM: return "SIGTERM";
	}
	return "a signal";
}

int em_verify_parse_output(struct em_arena *a, const char *out, size_t outlen,
			   const char *err, size_t errlen, int status, bool timed_out,
			   int timeout_ms, struct em_verify_result *r, struct em_error *e)
{
	char *current = NULL;
	bool done = false;
	uint32_t garbage = 0, before = r->n;
	char *first_garbage = NULL;
	size_t i = 0;
	int rc = 0;
	while (!rc && i < outlen) {
		size_t j = i;
		while (j < outlen && out[j] != '\n')
			j++;
		size_t ln = j - i;
		while (ln && (out[i + ln - 1] == '\r' || out[i + ln - 1] == ' '))
			ln--;
		if (ln) {
			json_error_t je;
			json_t *o = json_loadb(out + i, ln, JSON_REJECT_DUPLICATES, &je);
			const char *name = o && json_is_object(o) ? jstr(o, "check") : NULL;
			const char *begin = o && json_is_object(o) ? jstr(o, "begin") : NULL;
			if (name) {
				const char *st = jstr(o, "status");
				enum em_check_status s = EM_CHECK_FAILED;
				if (st && !strcmp(st, "ok"))
					s = EM_CHECK_OK;
				else if (st && !strcmp(st, "skipped"))
					s = EM_CHECK_SKIPPED;
				json_t *sec = json_object_get(o, "seconds");
				rc = em_verify_add(a, r, name, s, jstr(o, "expected"), jstr(o, "got"),
						   jstr(o, "detail"),
						   json_is_number(sec) ? json_number_value(sec) : 0, e);
				current = NULL;
			} else if (begin) {
				current = em_arena_strdup(a, begin);
				if (!current)
					rc = em_err_nomem(e);
			} else if (o && json_is_object(o) && json_is_true(json_object_get(o, "done"))) {
				done = true;
				const char *py = jstr(o, "python");
				if (py)
					r->python = em_arena_strdup(a, py);
			} else {
				if (!garbage++) {
					char q[200];
					em_quote(q, sizeof q, out + i, ln);
					first_garbage = em_arena_strdup(a, q);
				}
			}
			json_decref(o);
		}
		i = j + 1;
	}
	if (rc)
		return rc;
	char *etail = tail(a, err, errlen);
	char why[512];
	if (timed_out) {
		snprintf(why, sizeof why, "timed out after %d s%s", (timeout_ms + 999) / 1000,
			 current ? " (this check did not finish)" : "");
	} else if (status > 128 && !done) {
		snprintf(why, sizeof why, "python died of %s (%d)%s", signame(status - 128),
			 status - 128, current ? " during this check" : "");
	} else if (status && !done) {
		snprintf(why, sizeof why, "python exited with status %d%s", status,
			 current ? " during this check" : "");
	} else if (!done) {
		snprintf(why, sizeof why, "python stopped before finishing the checks%s",
			 garbage ? "" : "");
	} else if (status) {
		snprintf(why, sizeof why, "python exited with status %d after the checks", status);
	} else if (garbage) {
		snprintf(why, sizeof why, "python printed %u line%s that are not check results, "
			 "the first: '%s'", garbage, garbage == 1 ? "" : "s",
			 first_garbage ? first_garbage : "");
	} else {
		return 0;
	}
	char *detail = etail ? em_arena_printf(a, "%s; its last output: %s", why, etail)
			     : em_arena_strdup(a, why);
	if (!detail)
		return em_err_nomem(e);
	if (current)
		return em_verify_add(a, r, current, EM_CHECK_FAILED, NULL, NULL, detail, 0, e);
	if (r->n == before && garbage && first_garbage && !timed_out)
		detail = em_arena_printf(a, "python printed no check results, only output such as "
					    "'%s'%s%s", first_garbage, etail ? "; stderr: " : "",
					 etail ? etail : "");
	return em_verify_add(a, r, "python runs the checks", EM_CHECK_FAILED, NULL, NULL,
			     detail ? detail : why, 0, e);
}

void em_verify_summary(const struct em_verify_result *r, char *buf, size_t size)
{
	int k;
	if (r->failed)
		k = snprintf(buf, size, "%u failed, %u passed", r->failed, r->passed);
	else
		k = snprintf(buf, size, "%u passed", r->passed);
	if (r->skipped && k > 0 && (size_t)k < size)
		snprintf(buf + k, size - (size_t)k, ", %u skipped", r->skipped);
}

char *em_verify_failures(struct em_arena *a, const struct em_verify_result *r, size_t max)
{
	struct em_buf b;
	em_buf_init(&b, max ? max : 4096);
	for (uint32_t i = 0; i < r->n; i++) {
		const struct em_check *c = &r->checks[i];
		if (c->status != EM_CHECK_FAILED)
			continue;
		if (b.len)
			em_buf_addstr(&b, "; ");
		em_buf_addstr(&b, c->name);
		if (c->detail) {
			/* the first line of the detail: the exception */
			const char *nl = strchr(c->detail, '\n');
			em_buf_addf(&b, ": %.*s", (int)(nl ? (size_t)(nl - c->detail) : strlen(c->detail)),
				    c->detail);
			if (c->expected && c->got)
				em_buf_addf(&b, " (expected '%s', got '%s')", c->expected, c->got);
			else if (c->got)
				em_buf_addf(&b, " (got '%s')", c->got);
		} else {
			em_buf_addf(&b, ": expected '%s', got '%s'", c->expected ? c->expected : "-",
				    c->got ? c->got : "-");
		}
	}
	if (b.err) {
		/* cut at the cap: keep what fitted */
		b.err = 0;
	}
	char *s = em_arena_strndup(a, b.ptr ? b.ptr : "", b.len);
	em_buf_release(&b);
	return s;
}

/* ---- running ---- */

int em_verify_interpreter(struct em_arena *a, const char *root, const char **python,
			  struct em_error *e)
{
	struct em_stat st;
	*python = NULL;
	const char *names[] = { "bin/python", "bin/python3" };
	for (int i = 0; i < 2; i++) {
		char *p = em_arena_printf(a, "%s/%s", root, names[i]);
		if (!p)
			return em_err_nomem(e);
		if (em_os_stat(p, &st) == 0 && st.type == EM_FT_FILE &&
		    em_os_access(p, EM_ACCESS_EXEC) == 0) {
			*python = p;
			return 0;
		}
	}
	char *win = em_arena_printf(a, "%s/Scripts/python.exe", root);
	if (win && em_os_stat(win, &st) == 0)
		return em_err(e, EM_EUNSUPPORTED, root,
			      "is a Windows environment; verify it on Windows");
	if (em_os_stat(root, &st) != 0)
		return em_err(e, EM_ENOTFOUND, root, "no such environment");
	return em_err(e, EM_ENOTFOUND, root,
		      "has no working bin/python; is it a virtual environment (or is its base "
		      "interpreter gone)?");
}

/* the caller's environment without PYTHON*, with the venv's settings */
static const char **child_env(struct em_arena *a, const struct em_verify_expect *x,
			      const char *bin)
{
	char *const *outer = em_os_environ();
	size_t n = 0;
	while (outer[n])
		n++;
	const char **env = em_arena_array(a, n + x->nenv + 4, sizeof *env);
	if (!env)
		return NULL;
	size_t k = 0;
	const char *path = em_settings()->path;
	for (size_t i = 0; i < n; i++) {
		const char *v = outer[i];
		if (!strncmp(v, "PYTHON", 6) || !strncmp(v, "VIRTUAL_ENV=", 12) ||
		    !strncmp(v, "PATH=", 5) || !strncmp(v, "__PYVENV_LAUNCHER__=", 20))
			continue;
		bool mine = false;
		for (uint32_t j = 0; j < x->nenv && !mine; j++) {
			size_t nl = strlen(x->env_names[j]);
			mine = !strncmp(v, x->env_names[j], nl) && v[nl] == '=';
		}
		if (!mine)
			env[k++] = v;
	}
	for (uint32_t j = 0; j < x->nenv; j++)
		if (!(env[k++] = em_arena_printf(a, "%s=%s", x->env_names[j], x->env_values[j])))
			return NULL;
	env[k++] = em_arena_printf(a, "PATH=%s%s%s", bin, path && *path ? ":" : "",
				   path ? path : "");
	env[k++] = em_arena_printf(a, "VIRTUAL_ENV=%s", x->root);
	env[k] = NULL;
	return env[k - 1] && env[k - 2] ? env : NULL;
}

static char *expect_json(const struct em_verify_expect *x)
{
	json_t *o = json_object();
	json_t *im = json_array();
	for (uint32_t i = 0; i < x->nimports; i++)
		json_array_append_new(im, json_pack("[s, s]", x->imports[i].check,
						    x->imports[i].module));
	json_object_set_new(o, "root", json_string(x->root));
	json_object_set_new(o, "python", x->python ? json_string(x->python) : json_null());
	json_object_set_new(o, "imports", im);
	if (x->torch) {
		json_t *t = json_object();
		json_object_set_new(t, "version", x->torch_version ? json_string(x->torch_version)
								   : json_null());
		json_object_set_new(t, "variant", x->variant ? json_string(x->variant) : json_null());
		if (x->cuda)
			json_object_set_new(t, "cuda", json_string(x->cuda));
		json_object_set_new(o, "torch", t);
	}
	json_t *g = json_object();
	json_object_set_new(g, "present", json_boolean(x->gpu.present));
	json_object_set_new(g, "name", x->gpu.name ? json_string(x->gpu.name) : json_null());
	if (x->gpu.cc_major >= 0 && x->gpu.present && (x->gpu.cc_major || x->gpu.cc_minor)) {
		char cc[32];
		snprintf(cc, sizeof cc, "%d.%d", x->gpu.cc_major, x->gpu.cc_minor);
		json_object_set_new(g, "cc", json_string(cc));
	}
	json_object_set_new(o, "gpu", g);
	json_object_set_new(o, "onnxruntime_gpu", json_boolean(x->onnxruntime_gpu));
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	return s;
}

/* Is the file a script for Python (a launcher)? Its shebang names a
 * python, or it is the /bin/sh trampoline pip and envmatrix write for
 * long paths ('''exec' on the second line). */
static bool python_script(const char *path)
{
	int fd = em_os_open(path, EM_OPEN_READ, 0);
	if (fd < 0)
		return false;
	char buf[512];
	size_t n = 0;
	while (n < sizeof buf - 1) {
		ssize_t got = em_os_read(fd, buf + n, sizeof buf - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	em_os_close(fd);
	buf[n] = '\0';
	if (n < 2 || buf[0] != '#' || buf[1] != '!')
		return false;
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	if (strstr(buf, "python"))
		return true;
	return nl && !strncmp(nl + 1, "'''exec'", 8);
}

static int run_command(struct em_arena *a, const struct em_verify_expect *x, const char *python,
		       const char *bin, const char *const *env, const char *cmd, int timeout_ms,
		       volatile sig_atomic_t *cancel, struct em_verify_result *r, struct em_error *e)
{
	char *name = em_arena_printf(a, "verify: %s", cmd);
	char **words;
	uint32_t nw;
	struct em_error se;
	em_error_clear(&se);
	if (!name)
		return em_err_nomem(e);
	int rc = em_command_split(a, cmd, &words, &nw, &se);
	if (rc == EM_ENOMEM)
		return em_err_nomem(e);
	if (rc)
		return em_verify_add(a, r, name, EM_CHECK_FAILED, "exit 0", NULL, se.msg, 0, e);
	/* a program of the environment: python itself, or a launcher run by
	 * the environment's interpreter (its shebang names the final place,
	 * which a staging folder is not yet) */
	const char **argv = em_arena_array(a, nw + 8, sizeof *argv);
	if (!argv)
		return em_err_nomem(e);
	uint32_t k = 0;
	if (x->command_dir) {
		argv[k++] = "/bin/sh";
		argv[k++] = "-c";
		argv[k++] = "cd -- \"$0\" && exec \"$@\"";
		argv[k++] = x->command_dir;
	}
	const char *w0 = words[0];
	char *inbin = strchr(w0, '/') ? NULL : em_arena_printf(a, "%s/%s", bin, w0);
	struct em_stat st;
	if (inbin && em_os_stat(inbin, &st) == 0 && st.type == EM_FT_FILE) {
		if (!strncmp(w0, "python", 6)) {
			argv[k++] = inbin;
		} else if (python_script(inbin)) {
			argv[k++] = python;
			argv[k++] = inbin;
		} else {
			argv[k++] = inbin;
		}
	} else {
		argv[k++] = w0;
	}
	for (uint32_t i = 1; i < nw; i++)
		argv[k++] = words[i];
	argv[k] = NULL;
	double t0 = em_os_now_s();
	struct em_proc_result pr;
	rc = em_proc_run_group(a, argv, env, 1u << 20, timeout_ms, cancel, &pr, &se);
	double secs = em_os_now_s() - t0;
	if (rc == EM_ENOMEM)
		return em_err_nomem(e);
	if (!rc && pr.canceled)
		return em_err(e, EM_ECANCELED, NULL, "verification stopped during '%s'", cmd);
	if (rc)
		return em_verify_add(a, r, name, EM_CHECK_FAILED, "exit 0", "not run", se.msg, secs, e);
	char got[64];
	if (pr.timed_out)
		snprintf(got, sizeof got, "timed out after %d s", (timeout_ms + 999) / 1000);
	else
		snprintf(got, sizeof got, "exit %d", pr.status);
	/* the output's tail: stderr after stdout */
	struct em_buf both;
	em_buf_init(&both, 0);
	em_buf_add(&both, pr.out, pr.outlen);
	if (pr.outlen && pr.errlen)
		em_buf_addc(&both, '\n');
	em_buf_add(&both, pr.err, pr.errlen);
	char *t = both.err ? NULL : tail(a, both.ptr ? both.ptr : "", both.len);
	em_buf_release(&both);
	/* a command run through sh -c 'cd' reports a missing program as 127 */
	bool ok = !pr.timed_out && pr.status == 0;
	return em_verify_add(a, r, name, ok ? EM_CHECK_OK : EM_CHECK_FAILED, "exit 0", got, t, secs,
			     e);
}

int em_verify_run(struct em_arena *a, const struct em_verify_expect *x,
		  const struct em_verify_options *o, struct em_verify_result *out,
		  struct em_error *e)
{
	memset(out, 0, sizeof *out);
	double t0 = em_os_now_s();
	int timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : EM_VERIFY_TIMEOUT_MS;
	const char *final_root = o && o->final_root ? o->final_root : x->root;
	out->venv = em_arena_strdup(a, final_root);
	time_t now = (time_t)em_os_wall_s();
	struct tm tm;
	gmtime_r(&now, &tm);
	out->when = em_arena_printf(a, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
				    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (!out->venv || !out->when)
		return em_err_nomem(e);
	const char *python;
	int rc = em_verify_interpreter(a, x->root, &python, e);
	if (rc)
		return rc;
	char *bin = em_arena_printf(a, "%s/bin", x->root);
	const char **env = bin ? child_env(a, x, bin) : NULL;
	if (!env)
		return em_err_nomem(e);
	for (uint32_t i = 0; i < x->nstatic; i++) {
		const struct em_check *c = &x->statics[i];
		if ((rc = em_verify_add(a, out, c->name, c->status, c->expected, c->got, c->detail,
					c->seconds, e)))
			return rc;
	}
	char *js = expect_json(x);
	if (!js)
		return em_err_nomem(e);
	const char *argv[] = { python, "-E", "-s", "-c", SCRIPT, js, NULL };
	struct em_proc_result pr;
	struct em_error pe;
	em_error_clear(&pe);
	volatile sig_atomic_t *cancel = o ? o->cancel : NULL;
	rc = em_proc_run_group(a, argv, env, EM_VERIFY_MAX_OUTPUT, timeout_ms, cancel, &pr, &pe);
	free(js);
	if (rc == EM_ENOMEM)
		return em_err_nomem(e);
	if (!rc && pr.canceled)
		return em_err(e, EM_ECANCELED, NULL, "verification stopped");
	if (rc)
		rc = em_verify_add(a, out, "python runs the checks", EM_CHECK_FAILED, NULL, NULL,
				   pe.msg, 0, e);
	else
		rc = em_verify_parse_output(a, pr.out, pr.outlen, pr.err, pr.errlen, pr.status,
					    pr.timed_out, timeout_ms, out, e);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < x->ncommands; i++)
		if ((rc = run_command(a, x, python, bin, env, x->commands[i], timeout_ms, cancel, out,
				      e)))
			return rc;
	out->seconds = em_os_now_s() - t0;
	return 0;
}

/* ---- keeping results ---- */

static json_t *nstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

int em_verify_to_json(struct em_arena *a, const struct em_verify_result *r, char **text,
		      size_t *len, struct em_error *e)
{
	json_t *cs = json_array();
	for (uint32_t i = 0; i < r->n; i++) {
		const struct em_check *c = &r->checks[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", nstr(c->name));
		json_object_set_new(o, "result", json_string(em_check_status_name(c->status)));
		json_object_set_new(o, "expected", nstr(c->expected));
		json_object_set_new(o, "got", nstr(c->got));
		json_object_set_new(o, "detail", nstr(c->detail));
		json_object_set_new(o, "seconds", json_real(c->seconds));
		json_array_append_new(cs, o);
	}
	json_t *o = json_object();
	json_object_set_new(o, "venv", nstr(r->venv));
	json_object_set_new(o, "when", nstr(r->when));
	json_object_set_new(o, "python", nstr(r->python));
	json_object_set_new(o, "ok", json_boolean(r->failed == 0));
	json_object_set_new(o, "passed", json_integer(r->passed));
	json_object_set_new(o, "failed", json_integer(r->failed));
	json_object_set_new(o, "skipped", json_integer(r->skipped));
	json_object_set_new(o, "seconds", json_real(r->seconds));
	json_object_set_new(o, "checks", cs);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return em_err_nomem(e);
	*len = strlen(s);
	*text = em_arena_printf(a, "%s\n", s);
	free(s);
	if (!*text)
		return em_err_nomem(e);
	(*len)++;
	return 0;
}

const char *em_verify_record(struct em_arena *a, const struct em_verify_result *r)
{
	char *text;
	size_t len;
	if (!r || em_verify_to_json(a, r, &text, &len, NULL))
		return NULL;
	return text;
}

int em_verify_from_json(struct em_arena *a, const char *text, size_t len, const char *where,
			struct em_verify_result *r, struct em_error *e)
{
	memset(r, 0, sizeof *r);
	json_error_t je;
	json_t *o = json_loadb(text, len, 0, &je);
	if (!o || !json_is_object(o)) {
		json_decref(o);
		return em_err(e, EM_EINVAL, where, "not a verification record (%s)",
			      o ? "not an object" : je.text);
	}
	json_t *cs = json_object_get(o, "checks");
	if (!json_is_array(cs)) {
		json_decref(o);
		return em_err(e, EM_EINVAL, where, "not a verification record (no checks)");
	}
	int rc = 0;
	const char *s;
	if ((s = jstr(o, "venv")) && !(r->venv = em_arena_strdup(a, s)))
		rc = EM_ENOMEM;
	if ((s = jstr(o, "when")) && !(r->when = em_arena_strdup(a, s)))
		rc = EM_ENOMEM;
	if ((s = jstr(o, "python")) && !(r->python = em_arena_strdup(a, s)))
		rc = EM_ENOMEM;
	json_t *sec = json_object_get(o, "seconds");
	r->seconds = json_is_number(sec) ? json_number_value(sec) : 0;
	size_t i;
	json_t *c;
	json_array_foreach(cs, i, c) {
		if (rc || !json_is_object(c))
			continue;
		const char *res = jstr(c, "result");
		enum em_check_status st = EM_CHECK_FAILED;
		if (res && !strcmp(res, "ok"))
			st = EM_CHECK_OK;
		else if (res && !strcmp(res, "skipped"))
			st = EM_CHECK_SKIPPED;
		json_t *cse = json_object_get(c, "seconds");
		rc = em_verify_add(a, r, jstr(c, "name"), st, jstr(c, "expected"), jstr(c, "got"),
				   jstr(c, "detail"), json_is_number(cse) ? json_number_value(cse) : 0,
				   NULL);
	}
	json_decref(o);
	return rc ? em_err_nomem(e) : 0;
}

int em_verify_save(struct em_arena *a, const char *root, const struct em_verify_result *r,
		   struct em_error *e)
{
	char *text;
	size_t len;
	int rc = em_verify_to_json(a, r, &text, &len, e);
	if (rc)
		return rc;
	char *p = em_arena_printf(a, "%s/" EM_VERIFY_FILE, root);
	if (!p)
		return em_err_nomem(e);
	return em_write_file_atomic(p, text, len, 0644, e);
}

int em_verify_load(struct em_arena *a, const char *root, struct em_verify_result *r,
		   struct em_error *e)
{
	memset(r, 0, sizeof *r);
	char *p = em_arena_printf(a, "%s/" EM_VERIFY_FILE, root);
	if (!p)
		return em_err_nomem(e);
	char *text;
	size_t len;
	int rc = em_read_file(a, p, 16u << 20, &text, &len, e);
	if (rc)
		return rc;
	return em_verify_from_json(a, text, len, p, r, e);
}

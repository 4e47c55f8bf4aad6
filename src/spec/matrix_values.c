/* matrix_values.c - values the matrix and the planner both read
 *
 * python = ..., torch = ..., cuda = ... and verify commands are checked
 * while the matrix is read (matrix_keys.c) and parsed again by the planner,
 * so their parsers are public (matrix.h).
 */
#include "spec/matrix_int.h"

/* ---- value checks shared with the planner (public) ---- */

static bool is_interp_path(const char *s, size_t n)
{
	if (memchr(s, '/', n) || memchr(s, '\\', n))
		return true;
	return n >= 4 && em_str_ieq(s + n - 4, 4, ".exe");
}

static bool is_op_char(int c)
{
	return c == '<' || c == '>' || c == '=' || c == '!' || c == '~';
}

/* The specifier set s[0..n) into out; its parser's message as ours. */
static int parse_specset(struct em_arena *a, const char *s, size_t n, struct em_specset *out,
			 struct em_error *e)
{
	struct em_error se;
	em_error_clear(&se);
	int rc = em_specset_parse(a, s, n, out, &se);
	if (rc == EM_ENOMEM)
		return em_err_nomem(e);
	if (rc)
		return em_err(e, rc, NULL, "%s", se.msg);
	return 0;
}

int em_python_req_parse(struct em_arena *a, const char *s, size_t n, struct em_python_req *out,
			struct em_error *e)
{
	char qs[QUOTE];
	memset(out, 0, sizeof *out);
	struct em_str t = strip_blanks(s, n);
	if (t.n == 0)
		return em_err(e, EM_EINVAL, NULL,
			      "empty python: write a version (3.12.10 or 3.12), a specifier "
			      "(>=3.11,<3.13) or an interpreter path");
	if (is_interp_path(t.p, t.n)) {
		out->kind = EM_PYTHON_PATH;
		return 0;
	}
	if (is_op_char((unsigned char)t.p[0])) {
		int rc = parse_specset(a, t.p, t.n, &out->spec, e);
		if (rc) {
			memset(out, 0, sizeof *out);
			return rc;
		}
		out->kind = EM_PYTHON_SPEC;
		return 0;
	}
	if (em_is_digit((unsigned char)t.p[0])) {
		struct em_error se;
		em_error_clear(&se);
		if (em_python_parse_n(t.p, t.n, &out->version, &se)) {
			memset(out, 0, sizeof *out);
			return em_err(e, EM_EINVAL, NULL, "%s", se.msg);
		}
		out->kind = out->version.has_micro ? EM_PYTHON_EXACT : EM_PYTHON_MINOR;
		return 0;
	}
	return em_err(e, EM_EINVAL, NULL,
		      "invalid python '%s': expected a version (3.12.10 or 3.12), a specifier "
		      "(>=3.11,<3.13) or an interpreter path (a path holds '/' or '\\' or ends "
		      "in .exe)", q(qs, t.p, t.n));
}

int em_torch_req_parse(struct em_arena *a, const char *s, size_t n, struct em_specset *out,
		       struct em_error *e)
{
	char qs[QUOTE];
	memset(out, 0, sizeof *out);
	struct em_str t = strip_blanks(s, n);
	if (t.n == 0)
		return em_err(e, EM_EINVAL, NULL,
			      "empty torch: write a version (2.8.0 or 2.8) or a specifier "
			      "(>=2.6,<2.9)");
	struct em_error se;
	em_error_clear(&se);
	int rc;
	if (!is_op_char((unsigned char)t.p[0])) {
		struct em_arena_mark mk = em_arena_mark(a);
		struct em_version v;
		rc = em_version_parse(a, t.p, t.n, &v, &se);
		if (rc) {
			em_arena_rewind(a, mk);
			if (rc == EM_ENOMEM)
				return em_err_nomem(e);
			return em_err(e, rc, NULL,
				      "invalid torch '%s': expected a version (2.8.0, 2.8) or a "
				      "specifier set (>=2.6,<2.9)", q(qs, t.p, t.n));
		}
		bool series = v.epoch == 0 && v.nrelease <= 2 && v.pre_kind == EM_PRE_NONE &&
			      !v.has_post && !v.has_dev && v.nlocal == 0;
		char text[EM_VERSION_MAX_LEN + 8];
		snprintf(text, sizeof text, "==%s%s", v.str, series ? ".*" : "");
		em_arena_rewind(a, mk);
		rc = parse_specset(a, text, strlen(text), out, e);
	} else {
		rc = parse_specset(a, t.p, t.n, out, e);
	}
	if (rc) {
		memset(out, 0, sizeof *out);
		return rc;
	}
	if (out->n == 0)
		return em_err(e, EM_EINVAL, NULL, "invalid torch '%s': the specifier set is empty",
			      q(qs, t.p, t.n));
	return 0;
}

static const char cuda_forms[] =
	"expected a CUDA version (12.6), a PyTorch variant (cu126, cpu, rocm6.2, xpu) or auto";

int em_cuda_parse(const char *s, size_t n, struct em_cuda *out, struct em_error *e)
{
	char qs[QUOTE];
	memset(out, 0, sizeof *out);
	struct em_str t = strip_blanks(s, n);
	q(qs, t.p, t.n);
	if (t.n == 0)
		return em_err(e, EM_EINVAL, NULL, "empty cuda (%s)", cuda_forms);
	char low[16];
	if (t.n >= sizeof low)
		return em_err(e, EM_EINVAL, NULL, "invalid cuda '%s' (%s)", qs, cuda_forms);
	for (size_t i = 0; i < t.n; i++)
		low[i] = (char)em_lower((unsigned char)t.p[i]);
	low[t.n] = '\0';

	if (!strcmp(low, "auto")) {
		out->kind = EM_CUDA_AUTO;
		return 0;
	}
	if (!strcmp(low, "cpu") || !strcmp(low, "xpu")) {
		out->kind = low[0] == 'c' ? EM_CUDA_CPU : EM_CUDA_XPU;
		memcpy(out->variant, low, 4);
		return 0;
	}
	if (!strncmp(low, "rocm", 4)) {
		/* rocmX.Y or rocmX.Y.Z */
		const char *r = low + 4;
		int parts = 0;
		while (*r) {
			size_t d = 0;
			while (em_is_digit((unsigned char)r[d]))
				d++;
			if (d == 0 || d > 3)
				break;
			parts++;
			r += d;
			if (*r != '.')
				break;
			r++;
		}
		if (*r || parts < 2 || parts > 3)
			return em_err(e, EM_EINVAL, NULL,
				      "invalid cuda '%s': a ROCm variant is written rocmX.Y or "
				      "rocmX.Y.Z, e.g. rocm6.2", qs);
		out->kind = EM_CUDA_ROCM;
		memcpy(out->variant, low, t.n + 1);
		return 0;
	}
	unsigned major = 0, minor = 0;
	if (!strncmp(low, "cu", 2)) {
		/* cuXYZ: the last digit is the minor version (cu118, cu126, cu130) */
		size_t d = strlen(low + 2);
		for (size_t i = 0; i < d; i++)
			if (!em_is_digit((unsigned char)low[2 + i]))
				d = 0;
		if (d < 2 || d > 3 || low[2] == '0')
			return em_err(e, EM_EINVAL, NULL,
				      "invalid cuda '%s': a CUDA variant is written cuXY or cuXYZ, "
				      "e.g. cu126 for CUDA 12.6", qs);
		for (size_t i = 0; i + 1 < d; i++)
			major = major * 10 + (unsigned)(low[2 + i] - '0');
		minor = (unsigned)(low[2 + d - 1] - '0');
	} else if (em_is_digit((unsigned char)low[0])) {
		const char *r = low;
		size_t d = 0;
		while (em_is_digit((unsigned char)r[d]))
			d++;
		if (d > 2 || r[d] != '.' || low[0] == '0')
			return em_err(e, EM_EINVAL, NULL,
				      "invalid cuda '%s': write the CUDA major and minor version, "
				      "e.g. 12.6", qs);
		for (size_t i = 0; i < d; i++)
			major = major * 10 + (unsigned)(r[i] - '0');
		r += d + 1;
		size_t m = 0;
		while (em_is_digit((unsigned char)r[m]))
			m++;
		if (m == 0 || r[m] == '.' ) {
			return em_err(e, EM_EINVAL, NULL,
				      "invalid cuda '%s': write the CUDA major and minor version "
				      "only, e.g. 12.6", qs);
		}
		if (r[m] || m != 1)
			return em_err(e, EM_EINVAL, NULL,
				      "invalid cuda '%s': PyTorch variants name CUDA X.Y with a "
				      "one-digit minor version, e.g. 12.6 (cu126)", qs);
		minor = (unsigned)(r[0] - '0');
	} else {
		return em_err(e, EM_EINVAL, NULL, "invalid cuda '%s' (%s)", qs, cuda_forms);
	}
	out->kind = EM_CUDA_CUDA;
	out->major = major;
	out->minor = minor;
	snprintf(out->variant, sizeof out->variant, "cu%u%u", major, minor);
	return 0;
}

/* ---- verify commands ---- */

int em_command_split(struct em_arena *a, const char *s, char ***words, uint32_t *n,
		     struct em_error *e)
{
	*words = NULL;
	*n = 0;
	size_t len = strlen(s);
	char **w = em_arena_array(a, EM_COMMAND_MAX_WORDS + 1, sizeof *w);
	char *buf = em_arena_alloc(a, len + 1);
	if (!w || !buf)
		return em_err_nomem(e);
	uint32_t nw = 0;
	size_t i = 0;
	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (nw == EM_COMMAND_MAX_WORDS)
			return em_err(e, EM_ELIMIT, NULL, "more than %d words", EM_COMMAND_MAX_WORDS);
		char *o = buf;
		while (i < len && s[i] != ' ' && s[i] != '\t') {
			char c = s[i];
			if (c == '\'') {
				const char *end = strchr(s + i + 1, '\'');
				if (!end)
					return em_err(e, EM_EINVAL, NULL, "a ' is not closed");
				size_t k = (size_t)(end - (s + i + 1));
				memcpy(o, s + i + 1, k);
				o += k;
				i += k + 2;
			} else if (c == '"') {
				i++;
				while (i < len && s[i] != '"') {
					if (s[i] == '\\' && i + 1 < len &&
					    strchr("\\\"$`", s[i + 1]))
						i++;
					*o++ = s[i++];
				}
				if (i == len)
					return em_err(e, EM_EINVAL, NULL, "a \" is not closed");
				i++;
			} else if (c == '\\') {
				if (i + 1 == len)
					return em_err(e, EM_EINVAL, NULL,
						      "a backslash ends the command");
				*o++ = s[i + 1];
				i += 2;
			} else {
				*o++ = c;
				i++;
			}
		}
		w[nw] = em_arena_strndup(a, buf, (size_t)(o - buf));
		if (!w[nw])
			return em_err_nomem(e);
		nw++;
	}
	if (!nw)
		return em_err(e, EM_EINVAL, NULL, "no command");
	w[nw] = NULL;
	*words = w;
	*n = nw;
	return 0;
}

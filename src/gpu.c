/* gpu.c - NVIDIA driver and GPU detection, driver tables, torch architectures
 *
 * Detection (gpu.h has the order): the override, then the files the Linux
 * kernel module writes (under the sysroot), then NVML through dlopen (no
 * NVML header is needed: the few prototypes and structs are declared
 * here as NVIDIA's nvml.h defines them), then nvidia-smi's CSV output.
 * The first source that names the driver wins; later ones fill in what is
 * missing (memory and compute capability are not in /proc). When nothing
 * measured a GPU's compute capability, the name table fills it in and the
 * GPU is marked inferred.
 */
#include "gpu.h"
#include "verify.h"
#include "os/fs.h"
#include "os/proc.h"
#include "os/sys.h"
#include "util/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>


#define MAX_PROC_FILE (64u << 10)
#define MAX_SMI_OUT (256u << 10)

/* ---- driver versions ---- */

int em_driver_parse(const char *s, struct em_driver_version *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	const char *p = s;
	while (*p) {
		if (out->nparts == 3 || !em_is_digit((unsigned char)*p))
			goto bad;
		unsigned long v = 0;
		while (em_is_digit((unsigned char)*p)) {
			v = v * 10 + (unsigned long)(*p++ - '0');
			if (v > 99999)
				goto bad;
		}
		out->part[out->nparts++] = (unsigned)v;
		if (*p == '.')
			p++;
		else if (*p)
			goto bad;
	}
	if (out->nparts)
		return 0;
bad:;
	char q[64];
	return em_err(e, EM_EINVAL, NULL, "invalid NVIDIA driver version '%s' (expected e.g. 550.54.14)",
		      em_quote(q, sizeof q, s, strlen(s)));
}

int em_driver_cmp(const struct em_driver_version *a, const struct em_driver_version *b)
{
	for (int i = 0; i < 3; i++)
		if (a->part[i] != b->part[i])
			return a->part[i] < b->part[i] ? -1 : 1;
	return 0;
}

void em_driver_format(const struct em_driver_version *d, char *buf, size_t size)
{
	if (d->nparts >= 3)
		snprintf(buf, size, "%u.%u.%02u", d->part[0], d->part[1], d->part[2]);
	else if (d->nparts == 2)
		snprintf(buf, size, "%u.%u", d->part[0], d->part[1]);
	else
		snprintf(buf, size, "%u", d->part[0]);
}

static void set_driver(struct em_driver_version *d, unsigned a, unsigned b, unsigned c)
{
	d->part[0] = a;
	d->part[1] = b;
	d->part[2] = c;
	d->nparts = c ? 3 : b ? 2 : 1;
}

/* "cu126" -> 12, 6 */
static bool cuda_variant(const char *variant, unsigned *major, unsigned *minor)
{
	if (!variant || strncmp(variant, "cu", 2))
		return false;
	const char *d = variant + 2;
	size_t n = strlen(d);
	if (n < 2 || n > 3 || strspn(d, "0123456789") != n)
		return false;
	*major = n == 3 ? (unsigned)((d[0] - '0') * 10 + d[1] - '0') : (unsigned)(d[0] - '0');
	*minor = (unsigned)(d[n - 1] - '0');
	return true;
}

/* Family floors (CUDA minor-version compatibility), as NVIDIA documents
 * them and uv applies them: 13.x >= 580; 12.x >= 525.60.13 on Linux,
 * 528.33 on Windows; 11.1-11.8 >= 450.80.02 / 452.39. */
bool em_driver_minimum(const char *variant, enum em_os os, struct em_driver_version *out)
{
	unsigned major, minor;
	if (!cuda_variant(variant, &major, &minor))
		return false;
	bool win = os == EM_OS_WINDOWS;
	if (major >= 13)
		set_driver(out, 580, 0, 0);
	else if (major == 12)
		win ? set_driver(out, 528, 33, 0) : set_driver(out, 525, 60, 13);
	else if (major == 11 && minor >= 1)
		win ? set_driver(out, 452, 39, 0) : set_driver(out, 450, 80, 2);
	else if (major == 11)
		win ? set_driver(out, 451, 22, 0) : set_driver(out, 450, 36, 6);
	else if (major == 10 && minor == 2)
		win ? set_driver(out, 441, 22, 0) : set_driver(out, 440, 33, 0);
	else
		return false;
	return true;
}

/* NVIDIA's CUDA Toolkit release notes, Table 3 "CUDA Toolkit and
 * Corresponding Driver Versions" (toolkit driver version, Linux x86_64 and
 * Windows). Two uses:
 *   - strict minimum of a variant: the row of the toolkit update PyTorch
 *     builds that variant with (cu126: 12.6 Update 3, cu128: 12.8 Update 1);
 *   - the newest CUDA a driver runs: the newest GA row it reaches.
 * 0.0.0 means NVIDIA lists no such driver for that OS. */
struct toolkit_row {
	unsigned major, minor;
	const char *name;       /* "12.6 Update 3" */
	bool ga;                /* the toolkit's first release (for max CUDA) */
	bool torch;             /* the update PyTorch's variant is built with */
	unsigned lin[3], win[3];
};

static const struct toolkit_row toolkits[] = {
	{ 13, 1, "13.1 GA", true, false, { 590, 44, 1 }, { 591, 34, 0 } },
	{ 13, 0, "13.0 Update 2", false, true, { 580, 95, 5 }, { 580, 97, 0 } },
	{ 13, 0, "13.0 GA", true, false, { 580, 65, 6 }, { 580, 88, 0 } },
	{ 12, 9, "12.9 Update 1", false, true, { 575, 57, 8 }, { 576, 57, 0 } },
	{ 12, 9, "12.9 GA", true, false, { 575, 51, 3 }, { 576, 2, 0 } },
	{ 12, 8, "12.8 Update 1", false, true, { 570, 124, 6 }, { 572, 61, 0 } },
	{ 12, 8, "12.8 GA", true, false, { 570, 26, 0 }, { 570, 65, 0 } },
	{ 12, 6, "12.6 Update 3", false, true, { 560, 35, 5 }, { 561, 17, 0 } },
	{ 12, 6, "12.6 GA", true, false, { 560, 28, 3 }, { 560, 76, 0 } },
	{ 12, 5, "12.5 GA", true, true, { 555, 42, 2 }, { 555, 85, 0 } },
	{ 12, 4, "12.4 Update 1", false, true, { 550, 54, 15 }, { 551, 78, 0 } },
	{ 12, 4, "12.4 GA", true, false, { 550, 54, 14 }, { 551, 61, 0 } },
	{ 12, 3, "12.3 GA", true, false, { 545, 23, 6 }, { 545, 84, 0 } },
	{ 12, 2, "12.2 GA", true, false, { 535, 54, 3 }, { 536, 25, 0 } },
	{ 12, 1, "12.1 Update 1", false, true, { 530, 30, 2 }, { 531, 14, 0 } },
	{ 12, 1, "12.1 GA", true, false, { 530, 30, 2 }, { 531, 14, 0 } },
	{ 12, 0, "12.0 GA", true, false, { 525, 60, 13 }, { 527, 41, 0 } },
	{ 11, 8, "11.8 GA", true, true, { 520, 61, 5 }, { 520, 6, 0 } },
	{ 11, 7, "11.7 Update 1", false, true, { 515, 65, 1 }, { 516, 31, 0 } },
	{ 11, 7, "11.7 GA", true, false, { 515, 43, 4 }, { 516, 1, 0 } },
	{ 11, 6, "11.6 GA", true, false, { 510, 39, 1 }, { 511, 23, 0 } },
	{ 11, 5, "11.5 GA", true, false, { 495, 29, 5 }, { 496, 4, 0 } },
	{ 11, 4, "11.4 GA", true, false, { 470, 42, 1 }, { 471, 11, 0 } },
	{ 11, 3, "11.3 GA", true, false, { 465, 19, 1 }, { 465, 89, 0 } },
	{ 11, 2, "11.2 GA", true, false, { 460, 27, 4 }, { 460, 82, 0 } },
	{ 11, 1, "11.1 GA", true, false, { 455, 23, 4 }, { 456, 38, 0 } },
	{ 11, 0, "11.0 GA", true, false, { 450, 36, 6 }, { 451, 22, 0 } },
	{ 10, 2, "10.2", true, true, { 440, 33, 0 }, { 441, 22, 0 } },
	{ 10, 1, "10.1", true, false, { 418, 39, 0 }, { 418, 96, 0 } },
	{ 10, 0, "10.0", true, false, { 410, 48, 0 }, { 411, 31, 0 } },
};

static void row_driver(const struct toolkit_row *r, enum em_os os, struct em_driver_version *d)
{
	const unsigned *v = os == EM_OS_WINDOWS ? r->win : r->lin;
	set_driver(d, v[0], v[1], v[2]);
	if (os != EM_OS_WINDOWS)
		d->nparts = v[2] || v[1] ? 3 : 1;
}

bool em_driver_toolkit_minimum(const char *variant, enum em_os os, struct em_driver_version *out,
			       const char **toolkit)
{
	unsigned major, minor;
	if (!cuda_variant(variant, &major, &minor))
		return false;
	for (size_t i = 0; i < sizeof toolkits / sizeof toolkits[0]; i++) {
		const struct toolkit_row *r = &toolkits[i];
		if (r->major != major || r->minor != minor || !r->torch)
			continue;
		row_driver(r, os, out);
		if (toolkit)
			*toolkit = r->name;
		return true;
	}
	return false;
}

bool em_driver_max_cuda(const struct em_driver_version *d, enum em_os os, unsigned *major,
			unsigned *minor)
{
	for (size_t i = 0; i < sizeof toolkits / sizeof toolkits[0]; i++) {
		const struct toolkit_row *r = &toolkits[i];
		if (!r->ga)
			continue;
		struct em_driver_version need;
		row_driver(r, os, &need);
		if (em_driver_cmp(d, &need) >= 0) {
			*major = r->major;
			*minor = r->minor;
			return true;
		}
	}
	return false;
}

/* ---- compute capability by name ---- */

/* NVIDIA's "CUDA GPUs - Compute Capability" list, by product family.
 * Patterns match whole words of the name, case ignored; '#' is one digit.
 * More specific patterns come first. */
static const struct {
	const char *pat;
	unsigned major, minor;
} cc_names[] = {
	{ "RTX PRO #### Blackwell", 12, 0 },
	{ "RTX PRO ####", 12, 0 },
	{ "RTX 50##", 12, 0 },
	{ "GB10", 12, 1 },
	{ "GB300", 10, 3 },
	{ "B300", 10, 3 },
	{ "GB200", 10, 0 },
	{ "B200", 10, 0 },
	{ "B100", 10, 0 },
	{ "GH200", 9, 0 },
	{ "H200", 9, 0 },
	{ "H100", 9, 0 },
	{ "H800", 9, 0 },
	{ "H20", 9, 0 },
	{ "RTX #### Ada", 8, 9 },
	{ "RTX 40##", 8, 9 },
	{ "L40S", 8, 9 },
	{ "L40", 8, 9 },
	{ "L20", 8, 9 },
	{ "L4", 8, 9 },
	{ "A100", 8, 0 },
	{ "A800", 8, 0 },
	{ "A30", 8, 0 },
	{ "RTX A####", 8, 6 },
	{ "RTX 30##", 8, 6 },
	{ "A10G", 8, 6 },
	{ "A10", 8, 6 },
	{ "A16", 8, 6 },
	{ "A40", 8, 6 },
	{ "A2", 8, 6 },
	{ "TITAN RTX", 7, 5 },
	{ "Quadro RTX", 7, 5 },
	{ "RTX 20##", 7, 5 },
	{ "GTX 16##", 7, 5 },
	{ "T4", 7, 5 },
	{ "TITAN V", 7, 0 },
	{ "V100", 7, 0 },
	{ "P100", 6, 0 },
	{ "GTX 10##", 6, 1 },
	{ "TITAN Xp", 6, 1 },
	{ "P40", 6, 1 },
	{ "P4", 6, 1 },
	{ "GTX 9##", 5, 2 },
	{ "M40", 5, 2 },
	{ "K80", 3, 7 },
};

static bool is_word_char(char c)
{
	return em_is_alnum((unsigned char)c);
}

static bool pat_at(const char *s, const char *pat)
{
	for (; *pat; pat++, s++) {
		if (*pat == '#') {
			if (!em_is_digit((unsigned char)*s))
				return false;
		} else if (em_lower((unsigned char)*pat) != em_lower((unsigned char)*s)) {
			return false;
		}
	}
	return !is_word_char(*s);
}

bool em_gpu_cc_from_name(const char *name, unsigned *major, unsigned *minor)
{
	for (size_t i = 0; i < sizeof cc_names / sizeof cc_names[0]; i++)
		for (const char *s = name; *s; s++) {
			if (s > name && is_word_char(s[-1]))
				continue;
			if (pat_at(s, cc_names[i].pat)) {
				*major = cc_names[i].major;
				*minor = cc_names[i].minor;
				return true;
			}
		}
	return false;
}

/* ---- torch builds and architectures ---- */

struct arch_row {
	const char *first, *last, *os, *variant, *list, *source;
};

static const struct arch_row arch_rows[] = {
#define TORCH_ARCH(first, last, os, variant, list, source) \
	{ first, last, os, variant, list, source },
#include "data/torch_arch.def"
#undef TORCH_ARCH
};

/* "2.10" -> 2*1000+10; version text "2.8.0+cu126" -> 2008 */
static long series_of(const char *v)
{
	char *end;
	long major = strtol(v, &end, 10);
	if (end == v || *end != '.')
		return -1;
	const char *m = end + 1;
	long minor = strtol(m, &end, 10);
	if (end == m || major < 0 || minor < 0 || major > 999 || minor > 999)
		return -1;
	return major * 1000 + minor;
}

const char *em_torch_arch_list(const char *version, const char *variant, enum em_os os,
			       const char **source)
{
	long want = version ? series_of(version) : -1;
	if (want < 0 || !variant)
		return NULL;
	const char *osname = os == EM_OS_WINDOWS ? "windows" : "linux";
	/* a series inside the table must have its own row; only one newer
	 * than every row borrows the newest row of its variant */
	long newest = -1;
	for (size_t i = 0; i < sizeof arch_rows / sizeof arch_rows[0]; i++)
		if (series_of(arch_rows[i].last) > newest)
			newest = series_of(arch_rows[i].last);
	bool beyond = want > newest;
	/* pass 0: this OS's rows and "any"; pass 1 (Windows): the Linux rows */
	for (int pass = 0; pass < 2; pass++) {
		const struct arch_row *best = NULL;
		long best_last = -1;
		for (size_t i = 0; i < sizeof arch_rows / sizeof arch_rows[0]; i++) {
			const struct arch_row *r = &arch_rows[i];
			bool os_ok = pass == 0 ? (!strcmp(r->os, osname) || !strcmp(r->os, "any"))
					       : !strcmp(r->os, "linux");
			if (!os_ok || strcmp(r->variant, variant))
				continue;
			long first = series_of(r->first), last = series_of(r->last);
			if (want >= first && want <= last) {
				best = r;
				break;
			}
			/* newer than the row: keep the newest such row */
			if (beyond && want > last && last > best_last) {
				best = r;
				best_last = last;
			}
		}
		if (best) {
			if (source)
				*source = best->source;
			return best->list;
		}
		if (os != EM_OS_WINDOWS)
			break;
	}
	return NULL;
}

/* Each "X.Y[+PTX]" of a list, separated by ';' or spaces. */
static const char *next_arch(const char *s, unsigned *major, unsigned *minor, bool *ptx)
{
	while (*s == ';' || *s == ' ')
		s++;
	if (!*s)
		return NULL;
	char *end;
	unsigned long x = strtoul(s, &end, 10);
	unsigned long y = 0;
	if (*end == '.')
		y = strtoul(end + 1, &end, 10);
	*major = (unsigned)x;
	*minor = (unsigned)y;
	*ptx = !strncasecmp(end, "+PTX", 4);
	while (*end && *end != ';' && *end != ' ')
		end++;
	return end;
}

bool em_arch_list_runs(const char *list, unsigned major, unsigned minor, bool *ptx)
{
	unsigned x, y;
	bool p;
	bool via_ptx = false;
	for (const char *s = list; (s = next_arch(s, &x, &y, &p));) {
		if (x == major && y <= minor) {
			if (ptx)
				*ptx = false;
			return true;
		}
		if (p && (x < major || (x == major && y <= minor)))
			via_ptx = true;
	}
	if (ptx)
		*ptx = via_ptx;
	return via_ptx;
}

void em_arch_list_format(const char *list, char *buf, size_t size)
{
	size_t o = 0;
	unsigned x, y;
	bool p;
	buf[0] = '\0';
	for (const char *s = list; (s = next_arch(s, &x, &y, &p));) {
		int n = snprintf(buf + o, size - o, "%ssm_%u%u", o ? " " : "", x, y);
		if (n < 0 || (size_t)n >= size - o)
			return;
		o += (size_t)n;
	}
}

/* the CUDA variants of the table, oldest first */
static const char *const table_variants[] = { "cu118", "cu121", "cu124", "cu126",
					      "cu128", "cu129", "cu130", "cu132" };
#define NTABLE_VARIANTS (sizeof table_variants / sizeof table_variants[0])

static bool variant_runs(const char *version, const char *variant, unsigned major, unsigned minor,
			 enum em_os os)
{
	const char *list = em_torch_arch_list(version, variant, os, NULL);
	return list && em_arch_list_runs(list, major, minor, NULL);
}

bool em_torch_suggest(const char *version, unsigned major, unsigned minor, enum em_os os,
		      char *buf, size_t size)
{
	const char *ok[NTABLE_VARIANTS];
	size_t n = 0;
	for (size_t i = 0; i < NTABLE_VARIANTS; i++)
		if (variant_runs(version, table_variants[i], major, minor, os))
			ok[n++] = table_variants[i];
	if (n) {
		size_t o = 0;
		buf[0] = '\0';
		for (size_t i = 0; i < n; i++) {
			int w = snprintf(buf + o, size - o, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
					 ok[i]);
			if (w < 0 || (size_t)w >= size - o)
				break;
			o += (size_t)w;
		}
		return true;
	}
	/* the oldest series (in the table) with a variant that runs it */
	long best = -1;
	const char *best_variant = NULL;
	for (size_t i = 0; i < sizeof arch_rows / sizeof arch_rows[0]; i++) {
		const struct arch_row *r = &arch_rows[i];
		long first = series_of(r->first);
		if (em_arch_list_runs(r->list, major, minor, NULL) && (best < 0 || first < best)) {
			best = first;
			best_variant = r->variant;
		}
	}
	if (best < 0)
		return false;
	snprintf(buf, size, "torch %ld.%ld or newer with %s", best / 1000, best % 1000, best_variant);
	return true;
}

int em_gpu_check_torch(const struct em_gpu_info *g, const char *version, const char *variant,
		       enum em_os os, struct em_error *e)
{
	if (!g || !version || !variant)
		return 0;
	const char *source = NULL;
	const char *list = em_torch_arch_list(version, variant, os, &source);
	if (!list)
		return 0;
	for (uint32_t i = 0; i < g->ngpus; i++) {
		const struct em_gpu *gpu = &g->gpus[i];
		if (!gpu->cc_major || em_arch_list_runs(list, gpu->cc_major, gpu->cc_minor, NULL))
			continue;
		char archs[160], instead[160];
		em_arch_list_format(list, archs, sizeof archs);
		bool any = em_torch_suggest(version, gpu->cc_major, gpu->cc_minor, os, instead,
					    sizeof instead);
		bool same_series = any && strncmp(instead, "torch ", 6);
		return em_err(e, EM_EUNSUPPORTED, NULL,
			      "torch %s (%s) was built for %s, which the %s (compute capability "
			      "%u.%u%s) cannot run; %s%s%s",
			      version, variant, archs, gpu->name[0] ? gpu->name : "GPU", gpu->cc_major,
			      gpu->cc_minor, gpu->cc_inferred ? ", from its name" : "",
			      any ? (same_series ? "choose cuda = " : "choose ") : "no torch build "
			      "known to envmatrix runs it",
			      any ? instead : "", same_series ? " instead" : "");
	}
	return 0;
}

/* ---- parsers ---- */

static void copy_trim(char *dst, size_t size, const char *s, size_t n)
{
	while (n && em_is_ascii_space((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && em_is_ascii_space((unsigned char)s[n - 1]))
		n--;
	/* keep printable ASCII only: these strings reach terminals and JSON */
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < size; i++)
		dst[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[o] = '\0';
}

/* "00000000:00:06.0" and "0000:00:06.0" -> "0000:00:06.0" (lower case) */
static void norm_bus(char *dst, size_t size, const char *s)
{
	const char *colon = strchr(s, ':');
	char tmp[32];
	if (colon && colon - s > 4 && strspn(s, "0") >= (size_t)(colon - s - 4))
		s = colon - 4;
	snprintf(tmp, sizeof tmp, "%s", s);
	for (char *p = tmp; *p; p++)
		*p = (char)em_lower((unsigned char)*p);
	snprintf(dst, size, "%s", tmp);
}

static int set_detected_driver(struct em_gpu_info *out, const char *text, size_t n,
			       const char *source)
{
	char v[32];
	copy_trim(v, sizeof v, text, n);
	struct em_driver_version d;
	if (!v[0] || em_driver_parse(v, &d, NULL))
		return EM_EINVAL;
	out->have_driver = true;
	snprintf(out->driver, sizeof out->driver, "%s", v);
	out->driver_version = d;
	out->driver_source = source;
	return 0;
}

int em_gpu_parse_proc_version(const char *text, struct em_gpu_info *out, struct em_error *e)
{
	/* NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build ... */
	const char *p = strstr(text, "NVRM version:");
	if (!p)
		return em_err(e, EM_EINVAL, NULL, "no 'NVRM version:' line");
	p += strlen("NVRM version:");
	const char *eol = strchr(p, '\n');
	size_t n = eol ? (size_t)(eol - p) : strlen(p);
	/* the driver is the first word that is a dotted version */
	for (size_t i = 0; i < n;) {
		while (i < n && em_is_ascii_space((unsigned char)p[i]))
			i++;
		size_t j = i;
		while (j < n && !em_is_ascii_space((unsigned char)p[j]))
			j++;
		if (j > i && em_is_digit((unsigned char)p[i]) && memchr(p + i, '.', j - i)) {
			char word[32];
			copy_trim(word, sizeof word, p + i, j - i);
			struct em_driver_version d;
			if (em_driver_parse(word, &d, NULL) == 0) {
				if (!out->kernel_module[0])
					copy_trim(out->kernel_module, sizeof out->kernel_module, p, i);
				if (!out->have_driver)
					set_detected_driver(out, word, strlen(word),
							    "/proc/driver/nvidia/version");
				return 0;
			}
		}
		i = j;
	}
	return em_err(e, EM_EINVAL, NULL, "no driver version in the 'NVRM version:' line");
}

int em_gpu_parse_information(const char *text, struct em_gpu *g, struct em_error *e)
{
	bool any = false;
	for (const char *l = text; *l;) {
		const char *eol = strchr(l, '\n');
		size_t n = eol ? (size_t)(eol - l) : strlen(l);
		const char *colon = memchr(l, ':', n);
		if (colon) {
			size_t kn = (size_t)(colon - l);
			const char *v = colon + 1;
			size_t vn = n - kn - 1;
			char key[32];
			copy_trim(key, sizeof key, l, kn);
			if (!strcmp(key, "Model")) {
				copy_trim(g->name, sizeof g->name, v, vn);
				any = true;
			} else if (!strcmp(key, "GPU UUID")) {
				copy_trim(g->uuid, sizeof g->uuid, v, vn);
			} else if (!strcmp(key, "Bus Location")) {
				char bus[32];
				copy_trim(bus, sizeof bus, v, vn);
				norm_bus(g->pci_bus_id, sizeof g->pci_bus_id, bus);
			}
		}
		l += n + (eol ? 1 : 0);
	}
	if (!any)
		return em_err(e, EM_EINVAL, NULL, "no 'Model:' line");
	g->source = "proc";
	return 0;
}

/* the GPU with this bus id, else a new one (NULL when full) */
static struct em_gpu *gpu_slot(struct em_gpu_info *out, const char *bus, uint32_t index)
{
	char nb[32] = "";
	if (bus && *bus)
		norm_bus(nb, sizeof nb, bus);
	for (uint32_t i = 0; i < out->ngpus; i++)
		if (nb[0] ? !strcmp(out->gpus[i].pci_bus_id, nb) : i == index)
			return &out->gpus[i];
	if (out->ngpus == EM_GPU_MAX)
		return NULL;
	struct em_gpu *g = &out->gpus[out->ngpus++];
	memset(g, 0, sizeof *g);
	snprintf(g->pci_bus_id, sizeof g->pci_bus_id, "%s", nb);
	return g;
}

/* one CSV field: fields are separated by ',' and never quoted by nvidia-smi */
static size_t csv_fields(const char *l, size_t n, const char **f, size_t *fl, size_t max)
{
	size_t k = 0;
	const char *s = l;
	const char *end = l + n;
	while (k < max) {
		const char *c = memchr(s, ',', (size_t)(end - s));
		const char *fe = c ? c : end;
		while (s < fe && em_is_ascii_space((unsigned char)*s))
			s++;
		size_t len = (size_t)(fe - s);
		while (len && em_is_ascii_space((unsigned char)s[len - 1]))
			len--;
		f[k] = s;
		fl[k] = len;
		k++;
		if (!c)
			break;
		s = c + 1;
	}
	return k;
}

int em_gpu_parse_smi_csv(const char *text, size_t len, struct em_gpu_info *out,
			 struct em_error *e)
{
	uint32_t row = 0, lineno = 0;
	const char *end = text + len;
	for (const char *l = text; l < end;) {
		const char *eol = memchr(l, '\n', (size_t)(end - l));
		size_t n = eol ? (size_t)(eol - l) : (size_t)(end - l);
		const char *line = l;
		l += n + (eol ? 1 : 0);
		lineno++;
		if (n && line[n - 1] == '\r')
			n--;
		const char *f[8];
		size_t fl[8];
		size_t k = csv_fields(line, n, f, fl, 8);
		if (k == 1 && fl[0] == 0)
			continue;
		if (fl[0] >= 4 && !strncasecmp(f[0], "name", 4) && k >= 2 &&
		    !strncasecmp(f[1], "driver_version", 14))
			continue; /* the header */
		if (k < 5) {
			char q[96];
			return em_err(e, EM_EINVAL, NULL,
				      "nvidia-smi output line %u has %zu fields, expected name, "
				      "driver_version, memory.total, compute_cap, pci.bus_id[, uuid]: '%s'",
				      lineno, k, em_quote(q, sizeof q, line, n));
		}
		char bus[32], val[64];
		copy_trim(bus, sizeof bus, f[4], fl[4]);
		struct em_gpu *g = gpu_slot(out, bus, row++);
		if (!g)
			break;
		if (!g->name[0])
			copy_trim(g->name, sizeof g->name, f[0], fl[0]);
		if (!out->have_driver)
			set_detected_driver(out, f[1], fl[1], "nvidia-smi");
		copy_trim(val, sizeof val, f[2], fl[2]);
		if (em_is_digit((unsigned char)val[0]))
			g->memory_mib = strtoull(val, NULL, 10); /* "143771" or "143771 MiB" */
		copy_trim(val, sizeof val, f[3], fl[3]);
		unsigned x, y;
		if (sscanf(val, "%u.%u", &x, &y) == 2) {
			g->cc_major = x;
			g->cc_minor = y;
			g->cc_inferred = false;
		}
		if (k >= 6 && !g->uuid[0])
			copy_trim(g->uuid, sizeof g->uuid, f[5], fl[5]);
		if (!g->source)
			g->source = "nvidia-smi";
	}
	return 0;
}

/* ---- NVML at run time ---- */

typedef int nvml_ret;
typedef struct nvml_device *nvml_dev;
struct nvml_memory { /* nvmlMemory_t */
	unsigned long long total, free, used;
};
struct nvml_pci { /* nvmlPciInfo_t (v3) */
	char bus_id_legacy[16];
	unsigned domain, bus, device, pci_device_id, pci_subsystem_id;
	char bus_id[32];
};

struct nvml {
	void *lib;
	nvml_ret (*init)(void);
	nvml_ret (*shutdown)(void);
	nvml_ret (*driver_version)(char *, unsigned);
	nvml_ret (*cuda_version)(int *);
	nvml_ret (*count)(unsigned *);
	nvml_ret (*handle)(unsigned, nvml_dev *);
	nvml_ret (*name)(nvml_dev, char *, unsigned);
	nvml_ret (*memory)(nvml_dev, struct nvml_memory *);
	nvml_ret (*cc)(nvml_dev, int *, int *);
	nvml_ret (*pci)(nvml_dev, struct nvml_pci *);
	nvml_ret (*uuid)(nvml_dev, char *, unsigned);
};

#if defined(_WIN32)
#define NVML_LIB "nvml.dll" /* em_os_dlopen also looks in the system folder */
#else
#define NVML_LIB "libnvidia-ml.so.1"
#endif

#define NVML_SYM(field, name) (*(void **)(&n->field) = em_os_dlsym(n->lib, name))

static bool nvml_load(struct nvml *n)
{
	memset(n, 0, sizeof *n);
	n->lib = em_os_dlopen(NVML_LIB);
	if (!n->lib)
		return false;
	NVML_SYM(init, "nvmlInit_v2");
	NVML_SYM(shutdown, "nvmlShutdown");
	NVML_SYM(driver_version, "nvmlSystemGetDriverVersion");
	NVML_SYM(cuda_version, "nvmlSystemGetCudaDriverVersion_v2");
	NVML_SYM(count, "nvmlDeviceGetCount_v2");
	NVML_SYM(handle, "nvmlDeviceGetHandleByIndex_v2");
	NVML_SYM(name, "nvmlDeviceGetName");
	NVML_SYM(memory, "nvmlDeviceGetMemoryInfo");
	NVML_SYM(cc, "nvmlDeviceGetCudaComputeCapability");
	NVML_SYM(pci, "nvmlDeviceGetPciInfo_v3");
	NVML_SYM(uuid, "nvmlDeviceGetUUID");
	if (!n->init || !n->shutdown || !n->driver_version || n->init() != 0) {
		em_os_dlclose(n->lib);
		n->lib = NULL;
		return false;
	}
	return true;
}

/* ---- detection ---- */

struct gpu_state {
	bool override;  /* the driver came from the override: keep it */
	bool cuda_known;
};

#if defined(_WIN32)
static const enum em_os host_os = EM_OS_WINDOWS;
#else
static const enum em_os host_os = EM_OS_LINUX;
#endif

static void nvml_read(struct nvml *n, struct gpu_state *st, struct em_gpu_info *out)
{
	char buf[96];
	if (!st->override && n->driver_version(buf, sizeof buf) == 0) {
		buf[sizeof buf - 1] = '\0';
		if (!out->have_driver)
			set_detected_driver(out, buf, strlen(buf), "nvml");
	}
	int cv = 0;
	if (!st->override && n->cuda_version && n->cuda_version(&cv) == 0 && cv > 0) {
		out->cuda_major = (unsigned)cv / 1000;
		out->cuda_minor = (unsigned)(cv % 1000) / 10;
		out->cuda_from_table = false;
		st->cuda_known = true;
	}
	unsigned count = 0;
	if (!n->count || !n->handle || n->count(&count) != 0)
		return;
	for (unsigned i = 0; i < count && i < EM_GPU_MAX; i++) {
		nvml_dev d;
		if (n->handle(i, &d) != 0)
			continue;
		struct nvml_pci pci;
		char bus[32] = "";
		memset(&pci, 0, sizeof pci);
		if (n->pci && n->pci(d, &pci) == 0) {
			pci.bus_id[sizeof pci.bus_id - 1] = '\0';
			snprintf(bus, sizeof bus, "%s", pci.bus_id);
		}
		struct em_gpu *g = gpu_slot(out, bus, i);
		if (!g)
			break;
		if (n->name && n->name(d, buf, sizeof buf) == 0) {
			buf[sizeof buf - 1] = '\0';
			copy_trim(g->name, sizeof g->name, buf, strlen(buf));
		}
		struct nvml_memory mem;
		if (n->memory && n->memory(d, &mem) == 0)
			g->memory_mib = mem.total >> 20;
		int x, y;
		if (n->cc && n->cc(d, &x, &y) == 0 && x > 0 && y >= 0) {
			g->cc_major = (unsigned)x;
			g->cc_minor = (unsigned)y;
			g->cc_inferred = false;
		}
		if (n->uuid && n->uuid(d, buf, sizeof buf) == 0) {
			buf[sizeof buf - 1] = '\0';
			copy_trim(g->uuid, sizeof g->uuid, buf, strlen(buf));
		}
		g->source = "nvml";
	}
}

static void add_tried(struct em_gpu_info *out, const char *what)
{
	size_t o = strlen(out->tried);
	snprintf(out->tried + o, sizeof out->tried - o, "%s%s", o ? ", " : "", what);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void read_proc(struct em_arena *a, const char *root, struct em_gpu_info *out)
{
	char *text;
	size_t len;
	char *path = em_arena_printf(a, "%s/sys/module/nvidia/version", root);
	if (path && em_read_file(a, path, MAX_PROC_FILE, &text, &len, NULL) == 0 &&
	    !out->have_driver)
		set_detected_driver(out, text, len, "/sys/module/nvidia/version");
	path = em_arena_printf(a, "%s/proc/driver/nvidia/version", root);
	bool have_proc = false;
	if (path && em_read_file(a, path, MAX_PROC_FILE, &text, &len, NULL) == 0)
		have_proc = em_gpu_parse_proc_version(text, out, NULL) == 0;
	if (!have_proc && !out->have_driver)
		add_tried(out, "no /proc/driver/nvidia/version");

	char *dir = em_arena_printf(a, "%s/proc/driver/nvidia/gpus", root);
	struct em_dirlist *d = dir ? em_dirlist_open(dir) : NULL;
	if (!d)
		return;
	const char *names[EM_GPU_MAX];
	size_t n = 0;
	const char *name;
	while (n < EM_GPU_MAX && (name = em_dirlist_next(d))) {
		if (name[0] == '.')
			continue;
		names[n] = em_arena_strdup(a, name);
		if (names[n])
			n++;
	}
	em_dirlist_close(d);
	qsort(names, n, sizeof names[0], cmp_names);
	for (size_t i = 0; i < n; i++) {
		path = em_arena_printf(a, "%s/%s/information", dir, names[i]);
		if (!path || em_read_file(a, path, MAX_PROC_FILE, &text, &len, NULL))
			continue;
		struct em_gpu g;
		memset(&g, 0, sizeof g);
		if (em_gpu_parse_information(text, &g, NULL))
			continue;
		if (!g.pci_bus_id[0])
			norm_bus(g.pci_bus_id, sizeof g.pci_bus_id, names[i]);
		struct em_gpu *slot = gpu_slot(out, g.pci_bus_id, out->ngpus);
		if (slot)
			*slot = g;
	}
}

static void run_smi(struct em_arena *a, const char *smi, int timeout_ms, struct em_gpu_info *out)
{
	const char *argv[] = { smi,
			       "--query-gpu=name,driver_version,memory.total,compute_cap,pci.bus_id,uuid",
			       "--format=csv,noheader,nounits", NULL };
	struct em_proc_result r;
	struct em_error pe;
	em_error_clear(&pe);
	int rc = em_proc_run(a, argv, NULL, MAX_SMI_OUT, timeout_ms, &r, &pe);
	if (rc) {
		if (!out->have_driver)
			add_tried(out, rc == EM_ENOTFOUND ? "no nvidia-smi" : "nvidia-smi did not start");
		return;
	}
	if (r.timed_out || r.status != 0) {
		if (!out->have_driver)
			add_tried(out, r.timed_out ? "nvidia-smi timed out" : "nvidia-smi failed");
		return;
	}
	if (em_gpu_parse_smi_csv(r.out, r.outlen, out, &pe) && !out->have_driver)
		add_tried(out, "nvidia-smi printed something else");
}

int em_gpu_detect(struct em_arena *a, const struct em_gpu_probe *p, struct em_gpu_info *out,
		  struct em_error *e)
{
	static const struct em_gpu_probe none = { 0 };
	if (!p)
		p = &none;
	memset(out, 0, sizeof *out);
	struct gpu_state st = { 0 };
	struct em_arena_mark mark = em_arena_mark(a);
	const char *root = p->sysroot && *p->sysroot ? p->sysroot : NULL;

	if (p->override && *p->override) {
		if (em_driver_parse(p->override, &out->driver_version, e)) {
			em_err_prefix_where(e, "ENVMATRIX_CUDA_DRIVER");
			return e ? e->code : EM_EINVAL;
		}
		out->have_driver = true;
		snprintf(out->driver, sizeof out->driver, "%s", p->override);
		out->driver_source = "ENVMATRIX_CUDA_DRIVER";
		st.override = true;
	}

#if !defined(_WIN32)
	read_proc(a, root ? root : "", out);
#endif

	bool nvml_ok = false;
	if (!p->no_nvml && !root) {
		struct nvml n;
		if (nvml_load(&n)) {
			nvml_read(&n, &st, out);
			n.shutdown();
			em_os_dlclose(n.lib);
			nvml_ok = true;
		} else if (!out->have_driver) {
			add_tried(out, "no " NVML_LIB);
		}
	}

	/* nvidia-smi when NVML did not answer and something is missing */
	bool need_smi = !out->have_driver || out->ngpus == 0;
	for (uint32_t i = 0; i < out->ngpus; i++)
		if (!out->gpus[i].cc_major || !out->gpus[i].memory_mib)
			need_smi = true;
	need_smi = need_smi && !nvml_ok;
	const char *smi = p->smi_path && *p->smi_path ? p->smi_path : root ? NULL : "nvidia-smi";
	if (need_smi && !p->no_smi && smi)
		run_smi(a, smi, p->smi_timeout_ms > 0 ? p->smi_timeout_ms : EM_GPU_SMI_TIMEOUT_MS,
			out);

	if (out->have_driver && !st.cuda_known &&
	    em_driver_max_cuda(&out->driver_version, host_os, &out->cuda_major, &out->cuda_minor))
		out->cuda_from_table = true;
	for (uint32_t i = 0; i < out->ngpus; i++) {
		struct em_gpu *g = &out->gpus[i];
		if (!g->cc_major && em_gpu_cc_from_name(g->name, &g->cc_major, &g->cc_minor))
			g->cc_inferred = true;
	}
	if (out->have_driver)
		out->tried[0] = '\0';
	em_arena_rewind(a, mark);
	return 0;
}

/* ---- what other modules keep of a detection ---- */

struct em_host_gpu em_gpu_host(const struct em_gpu_info *g)
{
	struct em_host_gpu h = { false, NULL, -1, -1, NULL };
	/* a driver the user only named (ENVMATRIX_CUDA_DRIVER, to plan for
	 * another machine) is no GPU here; a loaded driver is, even when no
	 * GPU could be named: torch must see a device */
	if (!g || !g->have_driver ||
	    (!g->ngpus && g->driver_source && !strcmp(g->driver_source, "ENVMATRIX_CUDA_DRIVER")))
		return h;
	h.driver = g->driver[0] ? g->driver : NULL;
	h.present = true;
	if (g->ngpus) {
		h.name = g->gpus[0].name[0] ? g->gpus[0].name : NULL;
		if (g->gpus[0].cc_major) {
			h.cc_major = (int)g->gpus[0].cc_major;
			h.cc_minor = (int)g->gpus[0].cc_minor;
		}
	}
	return h;
}

const char *em_gpu_host_json(struct em_arena *a, const char *platform,
			     const struct em_gpu_info *gpu)
{
	json_t *o = json_pack("{s:s}", "platform", platform);
	if (o && gpu && gpu->have_driver) {
		char cuda[16] = "";
		if (gpu->cuda_major)
			snprintf(cuda, sizeof cuda, "%u.%u", gpu->cuda_major, gpu->cuda_minor);
		json_t *gpus = json_array();
		for (uint32_t i = 0; gpus && i < gpu->ngpus; i++) {
			const struct em_gpu *g = &gpu->gpus[i];
			char cc[16] = "";
			if (g->cc_major)
				snprintf(cc, sizeof cc, "%u.%u", g->cc_major, g->cc_minor);
			json_array_append_new(gpus, json_pack("{s:s, s:s?, s:I}", "name", g->name,
							      "compute_capability", cc[0] ? cc : NULL,
							      "memory_mib", (json_int_t)g->memory_mib));
		}
		json_object_set_new(o, "nvidia", json_pack("{s:s, s:s?, s:o}", "driver", gpu->driver,
							   "cuda", cuda[0] ? cuda : NULL, "gpus",
							   gpus ? gpus : json_array()));
	}
	char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	const char *out = text ? em_arena_printf(a, "%s\n", text) : NULL;
	free(text);
	return out ? out : em_arena_printf(a, "{\n  \"platform\": \"%s\"\n}\n", platform);
}

/* fuzz_matrix.c - libFuzzer target for the version matrix and requirements files
 *
 * Parses the input as a matrix and as a requirements file. A success must
 * hold only what the format allows (valid workload names, a python for
 * every workload, cuda exactly when torch, requirements that parse); a
 * failure must fill the error record with a place in the file and leave
 * the result empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec/matrix.h"
#include "spec/pep508.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(int rc, const struct em_error *e, const char *file)
{
	if (rc != e->code || !e->msg[0] || strchr(e->msg, '\n') ||
	    strncmp(e->where, file, strlen(file)))
		abort();
}

static void check_requirement(struct em_arena *a, const char *text)
{
	struct em_arena_mark mk = em_arena_mark(a);
	struct em_requirement r;
	if (em_requirement_parse(a, text, strlen(text), &r, NULL))
		abort();
	em_arena_rewind(a, mk);
}

static void check_matrix(struct em_arena *a, const struct em_matrix *m)
{
	if (m->nworkloads == 0 || m->nworkloads > EM_MATRIX_MAX_WORKLOADS)
		abort();
	if (!m->platform.value || !m->index_url.value || !m->torch_index_url.value ||
	    !m->link_mode.value)
		abort();
	if ((m->jobs.value != NULL) != (m->njobs != 0) || m->njobs > EM_MATRIX_MAX_JOBS)
		abort();
	for (uint32_t i = 0; i < m->nworkloads; i++) {
		const struct em_workload *w = &m->workloads[i];
		size_t n = strlen(w->name);
		if (n == 0 || n > EM_MATRIX_MAX_NAME || w->name[0] == '-' || strchr(w->name, '.') ||
		    !strcmp(w->name, "matrix") || w->line == 0)
			abort();
		for (size_t k = 0; k < n; k++) {
			char c = w->name[k];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			      c == '-' || c == '_'))
				abort();
		}
		if (em_matrix_find(m, w->name) != w)
			abort();
		if (!w->python.value || w->python_req.kind == EM_PYTHON_UNSET || !w->path.value ||
		    !w->venv.value || !w->venv.value[0] || !w->platform.value || !w->index_url.value)
			abort();
		if ((w->torch.value != NULL) != (w->cuda.value != NULL) ||
		    (w->torch.value != NULL) != (w->torch_spec.n != 0) ||
		    (w->cuda.value != NULL) != (w->cuda_spec.kind != EM_CUDA_UNSET))
			abort();
		if (w->npackages > EM_MATRIX_MAX_PACKAGES || w->nenv > EM_MATRIX_MAX_ENV)
			abort();
		for (uint32_t k = 0; k < w->npackages; k++) {
			if (!w->packages[k].line || !w->packages[k].file)
				abort();
			check_requirement(a, w->packages[k].text);
		}
		for (uint32_t k = 0; k < w->nenv; k++)
			if (!w->env[k].name[0] || !w->env[k].value || !w->env[k].line)
				abort();
		for (uint32_t k = 0; k < w->nfind_links; k++)
			if (!w->find_links[k].value[0] || !w->find_links[k].line)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e = { 0 };
	struct em_matrix m;
	int rc = em_matrix_parse(&a, (const char *)data, size, "fuzz.ini", &m, &e);
	if (rc) {
		check_error(rc, &e, "fuzz.ini");
		if (m.nworkloads || m.workloads)
			abort();
	} else {
		check_matrix(&a, &m);
	}
	struct em_reqfile r;
	struct em_error re = { 0 };
	rc = em_reqfile_parse(&a, (const char *)data, size, "fuzz.txt", &r, &re);
	if (rc) {
		check_error(rc, &re, "fuzz.txt");
		if (r.nreqs || r.nincludes)
			abort();
	} else {
		for (uint32_t i = 0; i < r.nreqs; i++)
			check_requirement(&a, r.reqs[i].text);
		for (uint32_t i = 0; i < r.nincludes; i++)
			if (!r.includes[i].text[0])
				abort();
	}
	em_arena_release(&a);
	return 0;
}

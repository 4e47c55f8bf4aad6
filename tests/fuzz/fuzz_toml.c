/* fuzz_toml.c - libFuzzer target for the TOML parser and the PEP 751 lock
 * reader and writer
 *
 * Parses the input as TOML and checks what a successful parse promises
 * (types, counts, lines within the document, every key found by
 * em_toml_get, no depth past the limit, datetimes that
 * em_toml_datetime_kind accepts). When the input is also a lock: writes it,
 * which must give a lock that reads back, and writing that again must give
 * the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec/lock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tree(const struct em_toml *v, uint32_t maxline, unsigned depth)
{
	if (v->line < 1 || v->line > maxline)
		abort();
	switch (v->type) {
	case EM_TOML_STRING:
		if (!v->u.str.s || v->u.str.s[v->u.str.len] != '\0')
			abort();
		break;
	case EM_TOML_DATETIME:
		if (!v->u.str.s || !em_toml_datetime_kind(v->u.str.s, v->u.str.len))
			abort();
		break;
	case EM_TOML_INTEGER:
	case EM_TOML_FLOAT:
	case EM_TOML_BOOL:
		break;
	case EM_TOML_ARRAY:
		if (depth > EM_TOML_MAX_DEPTH || (v->u.arr.n && !v->u.arr.items))
			abort();
		for (uint32_t i = 0; i < v->u.arr.n; i++)
			check_tree(v->u.arr.items[i], maxline, depth + 1);
		break;
	case EM_TOML_TABLE:
		if (depth > EM_TOML_MAX_DEPTH || (v->u.tab.n && !v->u.tab.kv))
			abort();
		for (uint32_t i = 0; i < v->u.tab.n; i++) {
			const struct em_toml_kv *kv = &v->u.tab.kv[i];
			if (!kv->key || kv->key[kv->key_len] != '\0' || !kv->value)
				abort();
			if (em_toml_getn(v, kv->key, kv->key_len) != kv->value)
				abort(); /* found, and keys are unique */
			check_tree(kv->value, maxline, depth + 1);
		}
		break;
	default:
		abort();
	}
}

static void check_lock(const struct em_lock *l)
{
	if (!l->lock_version || !l->created_by || (l->npackages && !l->packages))
		abort();
	for (uint32_t i = 0; i < l->npackages; i++) {
		const struct em_lock_package *p = &l->packages[i];
		if (!p->name || !p->name[0] || (!p->nwheels && !p->has_sdist && !p->has_other_source))
			abort();
		for (uint32_t j = 0; j < p->nwheels; j++) {
			const struct em_lock_file *f = &p->wheels[j];
			if (!f->name || !f->sha256 || strlen(f->sha256) != 64 || f->size < -1 ||
			    (!f->url && !f->path) || strchr(f->name, '/'))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct em_arena a;
	struct em_toml *doc;
	struct em_error e = { 0 };
	em_arena_init(&a);
	int r = em_toml_parse(&a, buf, size, "fuzz", &doc, &e);
	if (r) {
		if (r != e.code || !e.msg[0] || strncmp(e.where, "fuzz:", 5) || doc)
			abort();
		if (a.head || a.total)
			abort(); /* nothing stays in the arena */
		em_arena_release(&a);
		return 0;
	}
	uint32_t lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += buf[i] == '\n';
	if (doc->type != EM_TOML_TABLE || doc->line != 1)
		abort();
	check_tree(doc, lines, 0);

	struct em_lock l;
	r = em_lock_parse(&a, buf, size, "fuzz", &l, &e);
	if (r) {
		if (r != e.code || !e.msg[0] || l.npackages || l.packages)
			abort();
		em_arena_release(&a);
		return 0;
	}
	check_lock(&l);

	struct em_buf b1 = EM_BUF_INIT, b2 = EM_BUF_INIT;
	if (em_lock_write(&l, &b1, &e) == 0) {
		struct em_lock l2;
		struct em_error e2 = { 0 };
		if (em_lock_parse(&a, b1.ptr, b1.len, "written", &l2, &e2))
			abort(); /* what the writer writes, the reader reads */
		check_lock(&l2);
		if (em_lock_write(&l2, &b2, &e2) || b1.len != b2.len || memcmp(b1.ptr, b2.ptr, b1.len))
			abort(); /* and writes back byte for byte */
	} else if (!e.msg[0] || b1.len) {
		abort();
	}
	em_buf_release(&b1);
	em_buf_release(&b2);
	em_arena_release(&a);
	return 0;
}

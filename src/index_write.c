/* index_write.c - PEP 503 and PEP 691 pages for static indexes (index_write.h) */
#include "index_write.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void em_index_html_escape(struct em_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': em_buf_addstr(b, "&amp;"); break;
		case '<': em_buf_addstr(b, "&lt;"); break;
		case '>': em_buf_addstr(b, "&gt;"); break;
		case '"': em_buf_addstr(b, "&quot;"); break;
		case '\'': em_buf_addstr(b, "&#x27;"); break;
		default: em_buf_addc(b, *s);
		}
	}
}

/* Percent-encode all but the unreserved characters (RFC 3986). */
static void encode_segment(struct em_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			em_buf_addc(b, (char)c);
		} else {
			em_buf_addc(b, '%');
			em_buf_addc(b, hex[c >> 4]);
			em_buf_addc(b, hex[c & 15]);
		}
	}
}

static int buf_status(const struct em_buf *b, struct em_error *e)
{
	if (!b->err)
		return 0;
	if (b->err == EM_ELIMIT)
		return em_err(e, EM_ELIMIT, NULL, "the index page is larger than %zu bytes", b->max);
	return em_err_nomem(e);
}

static void html_page(struct em_buf *b, const char *title, const struct em_buf *body)
{
	em_buf_addstr(b, "<!DOCTYPE html>\n<html>\n  <head>\n"
			 "    <meta name=\"pypi:repository-version\" content=\"1.1\">\n"
			 "    <title>");
	em_index_html_escape(b, title);
	em_buf_addstr(b, "</title>\n  </head>\n  <body>\n");
	em_buf_add(b, body->ptr, body->len);
	em_buf_addstr(b, "  </body>\n</html>\n");
}

int em_index_write_project_html(struct em_buf *out, const char *name,
				const struct em_index_write_file *files, uint32_t n,
				struct em_error *e)
{
	struct em_buf b = EM_BUF_INIT, href = EM_BUF_INIT, title = EM_BUF_INIT;
	em_buf_addstr(&b, "    <h1>Links for ");
	em_index_html_escape(&b, name);
	em_buf_addstr(&b, "</h1>\n");
	for (uint32_t i = 0; i < n; i++) {
		const struct em_index_write_file *f = &files[i];
		em_buf_reset(&href);
		em_buf_addstr(&href, f->url);
		if (f->sha256)
			em_buf_addf(&href, "#sha256=%s", f->sha256);
		if (href.err) {
			b.err = href.err;
			break;
		}
		em_buf_addstr(&b, "    <a href=\"");
		em_index_html_escape(&b, href.ptr);
		em_buf_addc(&b, '"');
		if (f->requires_python) {
			em_buf_addstr(&b, " data-requires-python=\"");
			em_index_html_escape(&b, f->requires_python);
			em_buf_addc(&b, '"');
		}
		if (f->has_metadata) {
			const char *val = f->metadata_sha256 ? "sha256=" : "true";
			const char *hex = f->metadata_sha256 ? f->metadata_sha256 : "";
			em_buf_addf(&b, " data-dist-info-metadata=\"%s%s\"", val, hex);
			em_buf_addf(&b, " data-core-metadata=\"%s%s\"", val, hex);
		}
		if (f->yanked) {
			em_buf_addstr(&b, " data-yanked=\"");
			em_index_html_escape(&b, f->yank_reason ? f->yank_reason : "");
			em_buf_addc(&b, '"');
		}
		em_buf_addc(&b, '>');
		em_index_html_escape(&b, f->filename);
		em_buf_addstr(&b, "</a><br/>\n");
	}
	em_buf_addstr(&title, "Links for ");
	em_buf_addstr(&title, name);
	int rc = buf_status(&b, e);
	if (!rc)
		rc = buf_status(&title, e);
	if (!rc) {
		html_page(out, title.ptr, &b);
		rc = buf_status(out, e);
	}
	em_buf_release(&b);
	em_buf_release(&href);
	em_buf_release(&title);
	return rc;
}

/* Dump root (consumed) onto out: indented by one, keys in order, a final
 * newline. */
static int json_out(struct em_buf *out, json_t *root, bool failed, struct em_error *e)
{
	if (!root || failed) {
		json_decref(root);
		return em_err_nomem(e);
	}
	char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!text)
		return em_err_nomem(e);
	em_buf_addstr(out, text);
	em_buf_addc(out, '\n');
	free(text);
	return buf_status(out, e);
}

/* json_object_set_new that remembers a failure (a NULL value included) */
static void set(json_t *obj, const char *key, json_t *val, bool *failed)
{
	/* (json_object_set_new drops val when obj is NULL) */
	if (!val || json_object_set_new(obj, key, val))
		*failed = true;
}

int em_index_write_project_json(struct em_buf *out, const char *name,
				const char *const *versions, uint32_t nversions,
				const struct em_index_write_file *files, uint32_t n,
				struct em_error *e)
{
	bool failed = false;
	json_t *root = json_object(), *meta = json_object(), *arr = json_array(),
	       *vers = json_array();
	set(meta, "api-version", json_string("1.1"), &failed);
	set(root, "meta", meta, &failed);
	set(root, "name", json_string(name), &failed);
	for (uint32_t i = 0; i < nversions && vers; i++)
		if (json_array_append_new(vers, json_string(versions[i])))
			failed = true;
	set(root, "versions", vers, &failed);
	for (uint32_t i = 0; i < n && arr && !failed; i++) {
		const struct em_index_write_file *f = &files[i];
		json_t *o = json_object(), *hashes = json_object();
		set(o, "filename", json_string(f->filename), &failed);
		set(o, "url", json_string(f->url), &failed);
		if (f->sha256)
			set(hashes, "sha256", json_string(f->sha256), &failed);
		set(o, "hashes", hashes, &failed);
		set(o, "requires-python",
		    f->requires_python ? json_string(f->requires_python) : json_null(), &failed);
		for (int k = 0; k < 2; k++) {
			json_t *m;
			if (!f->has_metadata)
				m = json_false();
			else if (f->metadata_sha256)
				m = json_pack("{s:s}", "sha256", f->metadata_sha256);
			else
				m = json_true();
			set(o, k ? "dist-info-metadata" : "core-metadata", m, &failed);
		}
		set(o, "yanked",
		    !f->yanked ? json_false()
		    : f->yank_reason && f->yank_reason[0] ? json_string(f->yank_reason)
							  : json_true(),
		    &failed);
		if (f->size >= 0)
			set(o, "size", json_integer((json_int_t)f->size), &failed);
		if (f->upload_time)
			set(o, "upload-time", json_string(f->upload_time), &failed);
		if (!o || json_array_append_new(arr, o))
			failed = true;
	}
	set(root, "files", arr, &failed);
	return json_out(out, root, failed, e);
}

int em_index_write_root_html(struct em_buf *out, const struct em_index_write_project *p,
			     uint32_t n, struct em_error *e)
{
	struct em_buf b = EM_BUF_INIT;
	for (uint32_t i = 0; i < n; i++) {
		em_buf_addstr(&b, "    <a href=\"");
		encode_segment(&b, p[i].canonical);
		em_buf_addstr(&b, "/\">");
		em_index_html_escape(&b, p[i].name);
		em_buf_addstr(&b, "</a><br/>\n");
	}
	int rc = buf_status(&b, e);
	if (!rc) {
		html_page(out, "Simple index", &b);
		rc = buf_status(out, e);
	}
	em_buf_release(&b);
	return rc;
}

int em_index_write_root_json(struct em_buf *out, const struct em_index_write_project *p,
			     uint32_t n, struct em_error *e)
{
	bool failed = false;
	json_t *root = json_object(), *meta = json_object(), *projects = json_array();
	set(meta, "api-version", json_string("1.1"), &failed);
	set(root, "meta", meta, &failed);
	for (uint32_t i = 0; i < n && projects; i++) {
		json_t *o = json_pack("{s:s}", "name", p[i].name);
		if (!o || json_array_append_new(projects, o))
			failed = true;
	}
	set(root, "projects", projects, &failed);
	return json_out(out, root, failed, e);
}

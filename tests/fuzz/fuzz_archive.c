/* fuzz_archive.c - member names and zip reading from memory
 *
 * The input is checked as a member name, then read as a zip: two members
 * by name (a plain one and a wheel's METADATA) and a wheel's METADATA by
 * the wheel's file name.
 *
 * Invariants checked: nothing crashes or leaks; an accepted name is a safe
 * relative path (no NUL, backslash, leading '/', drive letter, '..', '.' or
 * empty segment, within the length limit); a member read is within its
 * maximum and NUL-terminated; every failure fills the error record with its
 * own code, a message and the archive's name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MEMBER 4096

static void check_safe_name(const char *s, size_t n)
{
	if (n == 0 || n > EM_ARCHIVE_MAX_MEMBER_NAME || memchr(s, '\0', n) ||
	    memchr(s, '\\', n) || s[0] == '/' ||
	    (n >= 2 && ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z') && s[1] == ':'))
		abort();
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && s[j] != '/')
			j++;
		size_t len = j - i;
		if (len == 0 || (len == 1 && s[i] == '.') ||
		    (len == 2 && s[i] == '.' && s[i + 1] == '.'))
			abort();
		if (j + 1 >= n)
			break;
		i = j + 1;
	}
}

static void check_result(int rc, const struct em_error *e, const char *out, size_t len,
			 size_t max, const char *where)
{
	if (rc == 0) {
		if (!out || len > max || out[len] != '\0')
			abort();
	} else if (rc != e->code || !e->msg[0] || strncmp(e->where, where, strlen(where))) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct em_error e = { 0 };
	if (em_archive_check_name(buf, size, &e) == 0)
		check_safe_name(buf, size);
	else if (!e.msg[0])
		abort();

	struct em_arena a;
	em_arena_init(&a);
	static const char *const members[] = { "a.txt", "demo-1.0.dist-info/METADATA" };
	for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
		char *out = NULL;
		size_t len = 0;
		em_error_clear(&e);
		int rc = em_zip_read_member_mem(&a, data, size, "fuzz.zip", members[i], MAX_MEMBER,
						&out, &len, &e);
		check_result(rc, &e, out, len, MAX_MEMBER, "fuzz.zip");
	}
	char *out = NULL;
	size_t len = 0;
	em_error_clear(&e);
	int rc = em_wheel_read_metadata_mem(&a, data, size, "demo-1.0-py3-none-any.whl", &out, &len,
					    &e);
	check_result(rc, &e, out, len, (size_t)-1, "demo-1.0-py3-none-any.whl");
	em_arena_release(&a);
	return 0;
}

/* test_sha256.c - SHA-256 against the FIPS 180-2 vectors, streaming and files */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/sha256.h"
#include "os/fs.h" /* em_sha256_file */

/* FIPS 180-2 appendix B */
static const char *const ABC =
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char *const EMPTY =
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char *const TWO_BLOCKS_MSG =
	"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char *const TWO_BLOCKS =
	"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
static const char *const MILLION_A =
	"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

static void test_vectors(void **state)
{
	(void)state;
	char hex[EM_SHA256_HEX_LEN + 1];
	em_sha256_buf("", 0, hex);
	assert_string_equal(hex, EMPTY);
	em_sha256_buf(NULL, 0, hex);
	assert_string_equal(hex, EMPTY);
	em_sha256_buf("abc", 3, hex);
	assert_string_equal(hex, ABC);
	em_sha256_buf(TWO_BLOCKS_MSG, strlen(TWO_BLOCKS_MSG), hex);
	assert_string_equal(hex, TWO_BLOCKS);

	char *a = malloc(1000000);
	assert_non_null(a);
	memset(a, 'a', 1000000);
	em_sha256_buf(a, 1000000, hex);
	assert_string_equal(hex, MILLION_A);
	free(a);
}

static void test_streaming(void **state)
{
	(void)state;
	struct em_sha256 h;
	struct em_error e;
	char hex[EM_SHA256_HEX_LEN + 1];

	/* a million 'a' in uneven pieces */
	char chunk[997];
	memset(chunk, 'a', sizeof chunk);
	assert_int_equal(em_sha256_init(&h, &e), 0);
	size_t left = 1000000;
	for (size_t piece = 1; left; piece = piece * 3 % sizeof chunk + 1) {
		size_t n = piece < left ? piece : left;
		em_sha256_update(&h, chunk, n);
		left -= n;
	}
	em_sha256_final(&h, hex);
	assert_string_equal(hex, MILLION_A);
	assert_null(h.ctx);

	/* byte by byte across the 448-bit boundary case */
	assert_int_equal(em_sha256_init(&h, &e), 0);
	for (size_t i = 0; TWO_BLOCKS_MSG[i]; i++)
		em_sha256_update(&h, TWO_BLOCKS_MSG + i, 1);
	em_sha256_update(&h, "", 0);
	em_sha256_final(&h, hex);
	assert_string_equal(hex, TWO_BLOCKS);

	/* nothing at all */
	assert_int_equal(em_sha256_init(&h, &e), 0);
	em_sha256_final(&h, hex);
	assert_string_equal(hex, EMPTY);

	/* abort frees without finishing, and twice is harmless */
	assert_int_equal(em_sha256_init(&h, &e), 0);
	em_sha256_update(&h, "abc", 3);
	em_sha256_abort(&h);
	assert_null(h.ctx);
	em_sha256_abort(&h);
}

static void test_file(void **state)
{
	(void)state;
	char path[] = "/tmp/envmatrix-sha256-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	char hex[EM_SHA256_HEX_LEN + 1];
	int64_t size = -1;
	struct em_error e;

	/* empty */
	assert_int_equal(em_sha256_file(path, hex, &size, &e), 0);
	assert_string_equal(hex, EMPTY);
	assert_int_equal(size, 0);

	/* a million 'a', more than one read */
	char *a = malloc(1000000);
	assert_non_null(a);
	memset(a, 'a', 1000000);
	assert_int_equal(write(fd, a, 1000000), 1000000);
	free(a);
	close(fd);
	assert_int_equal(em_sha256_file(path, hex, &size, &e), 0);
	assert_string_equal(hex, MILLION_A);
	assert_int_equal(size, 1000000);
	assert_int_equal(em_sha256_file(path, hex, NULL, &e), 0);
	unlink(path);

	em_error_clear(&e);
	assert_int_equal(em_sha256_file(path, hex, &size, &e), EM_EIO);
	assert_string_equal(e.where, path);
	assert_non_null(strstr(e.msg, "cannot open"));
}

static void test_hex_valid(void **state)
{
	(void)state;
	assert_true(em_sha256_hex_valid(ABC, 64));
	assert_true(em_sha256_hex_valid(
		"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", 64));
	assert_false(em_sha256_hex_valid(ABC, 63));
	assert_false(em_sha256_hex_valid("", 0));
	assert_false(em_sha256_hex_valid(
		"ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 64));
	assert_false(em_sha256_hex_valid(
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a\0", 64));
	char longer[66];
	snprintf(longer, sizeof longer, "%s0", ABC);
	assert_false(em_sha256_hex_valid(longer, 65));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_streaming),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_hex_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* sha256.h - SHA-256 of downloads, wheels and installed files (OpenSSL EVP)
 *
 * Every byte envmatrix downloads or installs is hashed while it streams;
 * hashes are compared and stored as lower-case hex.
 */
#ifndef ENVMATRIX_SHA256_H
#define ENVMATRIX_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "envmatrix/error.h"

#define EM_SHA256_HEX_LEN 64

struct em_sha256 {
	void *ctx; /* EVP_MD_CTX */
};

EM_MUST_USE
int em_sha256_init(struct em_sha256 *h, struct em_error *e);
void em_sha256_update(struct em_sha256 *h, const void *data, size_t n);
/* Finish: hex gets 64 lower-case digits and a NUL; the context is freed. */
void em_sha256_final(struct em_sha256 *h, char hex[EM_SHA256_HEX_LEN + 1]);
/* Free without finishing (error paths). */
void em_sha256_abort(struct em_sha256 *h);

void em_sha256_buf(const void *data, size_t n, char hex[EM_SHA256_HEX_LEN + 1]);
/* em_sha256_file (hash a file by its path) is in os/fs.h. */
/* 64 hex digits (either case)? */
int em_sha256_hex_valid(const char *s, size_t n);

#endif

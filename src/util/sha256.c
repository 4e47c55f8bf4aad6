/* sha256.c - SHA-256 with OpenSSL's EVP interface
 *
 * EVP picks the CPU's SHA extensions when there are any, which matters for
 * multi-gigabyte wheels. The streaming context is an EVP_MD_CTX; the
 * one-shot helpers use EVP_Digest. Output is always lower-case hex.
 */
#include "util/sha256.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

static void to_hex(const unsigned char *md, char hex[EM_SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[EM_SHA256_HEX_LEN] = '\0';
}

int em_sha256_init(struct em_sha256 *h, struct em_error *e)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	h->ctx = NULL;
	if (!ctx)
		return em_err_nomem(e);
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return em_err(e, EM_EIO, NULL, "sha256: the crypto library cannot start a digest");
	}
	h->ctx = ctx;
	return 0;
}

void em_sha256_update(struct em_sha256 *h, const void *data, size_t n)
{
	if (h->ctx && n)
		EVP_DigestUpdate(h->ctx, data, n);
}

void em_sha256_final(struct em_sha256 *h, char hex[EM_SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (!h->ctx || EVP_DigestFinal_ex(h->ctx, md, &len) != 1 || len != 32)
		memset(md, 0, sizeof md);
	to_hex(md, hex);
	em_sha256_abort(h);
}

void em_sha256_abort(struct em_sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void em_sha256_buf(const void *data, size_t n, char hex[EM_SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (EVP_Digest(n ? data : "", n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		memset(md, 0, sizeof md);
	to_hex(md, hex);
}

int em_sha256_hex_valid(const char *s, size_t n)
{
	if (n != EM_SHA256_HEX_LEN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

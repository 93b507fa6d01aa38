/* SPDX-License-Identifier: Apache-2.0 */
#include "digest.h"

#include <fcntl.h>
#include <openssl/evp.h>

void digest_sha256(const void *buf, size_t len, uint8_t out[SHA256_LEN])
{
	unsigned int n = SHA256_LEN;
	EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL);
}

int digest_sha256_file(const char *path, uint8_t out[SHA256_LEN], sb_err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	EVP_MD_CTX *ctx;
	uint8_t buf[1 << 16];
	unsigned int n = SHA256_LEN;
	int r = 0;

	if (fd < 0)
		return sb_err_sys(err, errno, "%s", path);
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return sb_err_set(err, ENOMEM, "%s: cannot start SHA-256", path);
	}
	for (;;) {
		ssize_t got = read(fd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = sb_err_sys(err, errno, "%s: read", path);
			break;
		}
		if (got == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)got);
	}
	if (r == 0)
		EVP_DigestFinal_ex(ctx, out, &n);
	EVP_MD_CTX_free(ctx);
	return r;
}

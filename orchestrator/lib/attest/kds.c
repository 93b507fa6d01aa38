/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD Key Distribution Service: URLs, an on-disk cache keyed by every part
 * of the URL, and an offline mode. Fetching is the caller's: a function
 * pointer (none = cache only), so that nothing here touches the network.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "attest.h"
#include "fileio.h"
#include "hexutil.h"

#define KDS_DOC_MAX (1024 * 1024)

static const char *base_or_default(const char *base)
{
	return base && *base ? base : ATTEST_KDS_BASE;
}

int attest_kds_vcek_url(const char *base, enum attest_product p, const uint8_t *chip_id, size_t chip_id_len,
			const struct attest_tcb *tcb, char **ret, sb_err **err)
{
	size_t n = p == ATTEST_PRODUCT_TURIN ? ATTEST_TURIN_HWID_SIZE : ATTEST_CHIP_ID_SIZE;
	char hwid[2 * ATTEST_CHIP_ID_SIZE + 1];
	char *url = NULL;
	int r;

	if (p == ATTEST_PRODUCT_UNKNOWN)
		return sb_err_set(err, EINVAL, "KDS VCEK URL: unknown product line");
	if (chip_id_len < n)
		return sb_err_set(err, EINVAL, "KDS VCEK URL: hwID of %zu bytes, %s needs %zu", chip_id_len,
				  attest_product_name(p), n);
	hex_encode(chip_id, n, hwid);
	if (p == ATTEST_PRODUCT_TURIN)
		r = asprintf(&url, "%s/vcek/v1/%s/%s?fmcSPL=%u&blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u",
			     base_or_default(base), attest_product_name(p), hwid, tcb->fmc, tcb->bootloader, tcb->tee,
			     tcb->snp, tcb->microcode);
	else
		r = asprintf(&url, "%s/vcek/v1/%s/%s?blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", base_or_default(base),
			     attest_product_name(p), hwid, tcb->bootloader, tcb->tee, tcb->snp, tcb->microcode);
	if (r < 0)
		return sb_err_set(err, ENOMEM, "out of memory");
	*ret = url;
	return 0;
}

static int kds_doc_url(const char *base, enum attest_product p, enum attest_signer s, const char *doc, char **ret,
		       sb_err **err)
{
	char *url = NULL;

	if (p == ATTEST_PRODUCT_UNKNOWN)
		return sb_err_set(err, EINVAL, "KDS %s URL: unknown product line", doc);
	if (s != ATTEST_SIGNER_VCEK && s != ATTEST_SIGNER_VLEK)
		return sb_err_set(err, EINVAL, "KDS %s URL: signer must be VCEK or VLEK", doc);
	if (asprintf(&url, "%s/%s/v1/%s/%s", base_or_default(base), s == ATTEST_SIGNER_VLEK ? "vlek" : "vcek",
		     attest_product_name(p), doc) < 0)
		return sb_err_set(err, ENOMEM, "out of memory");
	*ret = url;
	return 0;
}

int attest_kds_chain_url(const char *base, enum attest_product p, enum attest_signer s, char **ret, sb_err **err)
{
	return kds_doc_url(base, p, s, "cert_chain", ret, err);
}

int attest_kds_crl_url(const char *base, enum attest_product p, enum attest_signer s, char **ret, sb_err **err)
{
	return kds_doc_url(base, p, s, "crl", ret, err);
}

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '=' || c == '-' || c == ':'))
			return false;
	}
	return true;
}

int attest_kds_cache_path(const char *cache_dir, const char *url, char **ret, sb_err **err)
{
	const char *p, *q;
	_cleanup_free_ char *out = NULL;
	size_t len, cap;

	if (!cache_dir || !*cache_dir)
		return sb_err_set(err, EINVAL, "KDS cache: no directory");
	if (!strncmp(url, "https://", 8))
		p = url + 8;
	else if (!strncmp(url, "http://", 7))
		p = url + 7;
	else
		return sb_err_set(err, EINVAL, "KDS cache: '%s' is not an http(s) URL", url);
	cap = strlen(cache_dir) + strlen(url) + 8;
	out = malloc(cap);
	if (!out)
		return sb_err_set(err, ENOMEM, "out of memory");
	len = (size_t)snprintf(out, cap, "%s", cache_dir);
	/* host and path segments, then the query as one last segment with '&' -> ',' */
	while (*p) {
		size_t n;
		bool query = false;

		q = p + strcspn(p, "/?");
		n = (size_t)(q - p);
		if (!name_ok(p, n))
			return sb_err_set(err, EINVAL, "KDS cache: URL '%s' has an unsafe component", url);
		out[len++] = '/';
		memcpy(out + len, p, n);
		len += n;
		if (*q == '?') {
			query = true;
			p = q + 1;
			out[len++] = '/';
			for (; *p; p++) {
				char c = *p == '&' ? ',' : *p;
				if (c != ',' && !name_ok(&c, 1))
					return sb_err_set(err, EINVAL, "KDS cache: URL '%s' has an unsafe query", url);
				out[len++] = c;
			}
		}
		if (query || !*q)
			break;
		p = q + 1;
	}
	out[len] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

static int mkdir_parents(char *path, sb_err **err)
{
	for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			int e = errno;
			*s = '/';
			return sb_err_sys(err, e, "KDS cache: mkdir %s", path);
		}
		*s = '/';
	}
	return 0;
}

static int write_atomic(const char *path, const uint8_t *buf, size_t len, sb_err **err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	size_t off = 0;

	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return sb_err_set(err, ENOMEM, "out of memory");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return sb_err_sys(err, errno, "KDS cache: %s", tmp);
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			unlink(tmp);
			return sb_err_sys(err, e, "KDS cache: write %s", tmp);
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return sb_err_sys(err, e, "KDS cache: %s", path);
	}
	return 0;
}

int attest_kds_get(const struct attest_kds *kds, const char *url, uint8_t **ret_buf, size_t *ret_len, sb_err **err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if (kds->cache_dir) {
		r = attest_kds_cache_path(kds->cache_dir, url, &path, err);
		if (r < 0)
			return r;
		r = file_read_max(path, KDS_DOC_MAX, &buf, &len, err);
		if (r == 0) {
			*ret_buf = TAKE_PTR(buf);
			*ret_len = len;
			return 0;
		}
		if (r != -ENOENT)
			return r;
		sb_err_freep(err); /* not cached: not an error yet */
	}
	if (kds->offline || !kds->fetch)
		return sb_err_set(err, ENOENT, "%s: not in the KDS cache%s%s and %s", url, kds->cache_dir ? " " : "",
				  kds->cache_dir ? kds->cache_dir : "",
				  kds->offline ? "offline mode forbids fetching" : "no fetcher is configured");
	r = kds->fetch(url, &buf, &len, kds->userdata, err);
	if (r < 0)
		return sb_err_wrap(err, "fetch %s", url);
	if (len == 0 || len > KDS_DOC_MAX)
		return sb_err_set(err, EBADMSG, "fetch %s: %zu bytes", url, len);
	if (path) {
		r = mkdir_parents(path, err);
		if (r < 0)
			return r;
		r = write_atomic(path, buf, len, err);
		if (r < 0)
			return r;
	}
	*ret_buf = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int attest_kds_get_vcek(const struct attest_kds *kds, const struct attest_report *r, enum attest_product p,
			X509 **ret, sb_err **err)
{
	_cleanup_free_ char *url = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	enum attest_product rp = attest_report_product(r);
	struct attest_tcb tcb;
	size_t len;
	int rc;

	if (rp != ATTEST_PRODUCT_UNKNOWN)
		p = rp;
	if (r->signing_key != ATTEST_SIGNER_VCEK)
		return sb_err_set(err, EINVAL, "report is not VCEK-signed: KDS serves no per-chip certificate for it");
	if (r->mask_chip_key)
		return sb_err_set(err, EINVAL, "report has MASK_CHIP_KEY set: no CHIP_ID to look the VCEK up by");
	tcb = attest_tcb_decode(r->reported_tcb, p);
	rc = attest_kds_vcek_url(kds->base, p, r->chip_id, sizeof(r->chip_id), &tcb, &url, err);
	if (rc < 0)
		return rc;
	rc = attest_kds_get(kds, url, &buf, &len, err);
	if (rc < 0)
		return rc;
	rc = attest_cert_from_der(buf, len, ret, err);
	return rc < 0 ? sb_err_wrap(err, "%s", url) : 0;
}

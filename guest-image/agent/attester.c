/* SPDX-License-Identifier: Apache-2.0 */
/* Attester backends. configfs-tsm is the kernel's generic report interface
 * (Linux >= 6.7); /dev/sev-guest the older SNP ioctl; none in dev mode. */
#include <fcntl.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

#define TSM_DIR "/sys/kernel/config/tsm/report"
#define SNP_REPORT_LEN 1184

static bool tsm_available(void)
{
	return access(TSM_DIR, W_OK) == 0;
}

static int write_file(const char *path, const void *buf, size_t len, sb_err **err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return sb_err_sys(err, errno, "%s", path);
	if (write(fd, buf, len) != (ssize_t)len)
		return sb_err_sys(err, errno, "%s", path);
	return 0;
}

static int tsm_report(const uint8_t report_data[64], uint8_t **ret_report, size_t *ret_len, sb_err **err)
{
	char dir[128], path[192];
	_cleanup_free_ uint8_t *buf = malloc(16384);
	_cleanup_close_ int fd = -1;
	ssize_t n = -1;
	int r;

	if (!buf)
		return sb_err_set(err, ENOMEM, "out of memory");
	snprintf(dir, sizeof(dir), TSM_DIR "/snpbuild-%d", getpid());
	if (mkdir(dir, 0700) < 0)
		return sb_err_sys(err, errno, "%s", dir);
	snprintf(path, sizeof(path), "%s/inblob", dir);
	r = write_file(path, report_data, 64, err);
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/outblob", dir);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd < 0 ? -1 : read(fd, buf, 16384);
		if (n < (ssize_t)SNP_REPORT_LEN)
			r = sb_err_sys(err, n < 0 ? errno : EIO, "%s", path);
	}
	rmdir(dir);
	if (r < 0)
		return r;
	*ret_report = TAKE_PTR(buf);
	*ret_len = (size_t)n;
	return 0;
}

/* Linux uapi <linux/sev-guest.h>, SNP_GET_REPORT. */
struct snp_report_req {
	__u8 user_data[64];
	__u32 vmpl;
	__u8 rsvd[28];
};
struct snp_report_resp {
	__u8 data[4000];
};
struct snp_guest_request_ioctl {
	__u8 msg_version;
	__u64 req_data;
	__u64 resp_data;
	__u64 exitinfo2;
};
#define SNP_GUEST_REQ_IOC_TYPE 'S'
#define SNP_GET_REPORT _IOWR(SNP_GUEST_REQ_IOC_TYPE, 0x0, struct snp_guest_request_ioctl)

static bool sev_guest_available(void)
{
	return access("/dev/sev-guest", R_OK | W_OK) == 0;
}

static int sev_guest_report(const uint8_t report_data[64], uint8_t **ret_report, size_t *ret_len, sb_err **err)
{
	struct snp_report_req req = { 0 };
	_cleanup_free_ struct snp_report_resp *resp = calloc(1, sizeof(*resp));
	struct snp_guest_request_ioctl io = { .msg_version = 1 };
	_cleanup_close_ int fd = open("/dev/sev-guest", O_RDWR | O_CLOEXEC);
	uint8_t *out;

	if (fd < 0 || !resp)
		return sb_err_sys(err, errno, "/dev/sev-guest");
	memcpy(req.user_data, report_data, 64);
	io.req_data = (__u64)(uintptr_t)&req;
	io.resp_data = (__u64)(uintptr_t)resp;
	if (ioctl(fd, SNP_GET_REPORT, &io) < 0)
		return sb_err_sys(err, errno, "SNP_GET_REPORT (fw error 0x%llx)", (unsigned long long)io.exitinfo2);
	/* MSG_REPORT_RSP: status (4), report_size (4), reserved (24), report. */
	uint32_t status, size;
	memcpy(&status, resp->data, 4);
	memcpy(&size, resp->data + 4, 4);
	if (status != 0 || size < SNP_REPORT_LEN || size > sizeof(resp->data) - 32)
		return sb_err_set(err, EIO, "SNP_GET_REPORT: status %u, size %u", status, size);
	out = malloc(size);
	if (!out)
		return sb_err_set(err, ENOMEM, "out of memory");
	memcpy(out, resp->data + 32, size);
	*ret_report = out;
	*ret_len = size;
	return 0;
}

static bool none_available(void)
{
	return true;
}

static int none_report(const uint8_t report_data[64], uint8_t **ret_report, size_t *ret_len, sb_err **err)
{
	(void)report_data;
	(void)ret_report;
	(void)ret_len;
	return sb_err_set(err, ENOTSUP, "no SEV-SNP in this VM (insecure development mode): no attestation report");
}

const agent_attester agent_attester_tsm = { "configfs-tsm", tsm_available, tsm_report };
const agent_attester agent_attester_sev_guest = { "sev-guest", sev_guest_available, sev_guest_report };
const agent_attester agent_attester_none = { "none", none_available, none_report };

const agent_attester *agent_attester_pick(void)
{
	if (agent_attester_tsm.available())
		return &agent_attester_tsm;
	if (agent_attester_sev_guest.available())
		return &agent_attester_sev_guest;
	return &agent_attester_none;
}

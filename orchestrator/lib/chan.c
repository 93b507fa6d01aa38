/* SPDX-License-Identifier: Apache-2.0 */
#include "chan.h"

#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static int serial_connect(const chan_target *t, int *ret_fd, sb_err **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (strlen(t->socket_path) >= sizeof(sa.sun_path))
		return sb_err_set(err, ENAMETOOLONG, "channel socket path %s is too long", t->socket_path);
	strcpy(sa.sun_path, t->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sb_err_sys(err, errno, "channel socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			return -EAGAIN;
		return sb_err_sys(err, errno, "connecting to %s", t->socket_path);
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int vsock_connect(const chan_target *t, int *ret_fd, sb_err **err)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = t->cid, .svm_port = t->port };
	_cleanup_close_ int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return sb_err_sys(err, errno, "vsock socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		/* The agent listens only once the guest has booted. */
		if (errno == ECONNRESET || errno == ECONNREFUSED || errno == ETIMEDOUT || errno == ENODEV)
			return -EAGAIN;
		return sb_err_sys(err, errno, "vsock connect to CID %u port %u", t->cid, t->port);
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

const chan_transport chan_vsock = { .name = "vsock", .try_connect = vsock_connect };
const chan_transport chan_virtio_serial = { .name = "virtio-serial", .try_connect = serial_connect };

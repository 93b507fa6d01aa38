/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "agent.h"

/* The port is found by name: there is no udev to make /dev/virtio-ports links. */
static int serial_open(int *ret_fd, sb_err **err)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *de;
	char path[512], name[128], dev[300];

	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		_cleanup_fclose_ FILE *f = NULL;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
		f = fopen(path, "re");
		if (!f || !fgets(name, sizeof(name), f))
			continue;
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, WIRE_SERIAL_PORT_NAME))
			continue;
		snprintf(dev, sizeof(dev), "/dev/%s", de->d_name);
		closedir(d);
		int fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return sb_err_sys(err, errno, "%s", dev);
		*ret_fd = fd;
		return 0;
	}
	closedir(d);
	return -ENOENT;
}

/* The host connects to us: the guest's CID is libvirt's to assign. */
static int vsock_open(int *ret_fd, sb_err **err)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = WIRE_VSOCK_PORT };
	struct sockaddr_vm peer;
	socklen_t plen = sizeof(peer);
	_cleanup_close_ int ls = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int fd;

	if (ls < 0)
		return errno == EAFNOSUPPORT ? -ENOENT : sb_err_sys(err, errno, "vsock socket");
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return errno == EADDRNOTAVAIL || errno == ENODEV ? -ENOENT : sb_err_sys(err, errno, "vsock bind");
	if (listen(ls, 1) < 0)
		return sb_err_sys(err, errno, "vsock listen");
	for (;;) {
		fd = accept4(ls, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0)
			return sb_err_sys(err, errno, "vsock accept");
		if (peer.svm_cid == VMADDR_CID_HOST)
			break;
		close(fd); /* only the host may drive the agent */
	}
	*ret_fd = fd;
	return 0;
}

const agent_transport agent_virtio_serial = { .name = "virtio-serial", .open = serial_open };
const agent_transport agent_vsock = { .name = "vsock", .open = vsock_open };

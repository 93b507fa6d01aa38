/* SPDX-License-Identifier: Apache-2.0 */
/* Host end of the host-guest channel. Transports are a small vtable:
 * vsock (production), virtio-serial (fallback), and a socketpair in tests. */
#pragma once

#include "err.h"

typedef struct chan_target {
	const char *socket_path; /* virtio-serial: QEMU's listening unix socket */
	unsigned cid;            /* vsock: the guest's CID */
	unsigned port;           /* vsock: the agent's port */
} chan_target;

typedef struct chan_transport {
	const char *name;
	/* One connection attempt: 0 and a connected fd, -EAGAIN when the other
	 * end is not there yet, another negative errno on failure. */
	int (*try_connect)(const chan_target *t, int *ret_fd, sb_err **err);
} chan_transport;

extern const chan_transport chan_vsock;
extern const chan_transport chan_virtio_serial;

/* SPDX-License-Identifier: Apache-2.0 */
/* The VM driver: libvirt's C API, for real, in tests too. */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>

#include "err.h"

#define VM_DEFAULT_URI "qemu:///system"

DEFINE_TRIVIAL_CLEANUP_FUNC(virConnectPtr, virConnectClose)
DEFINE_TRIVIAL_CLEANUP_FUNC(virDomainPtr, virDomainFree)

/* Opens a libvirt connection; libvirt's own stderr printing is silenced, its
 * messages come back through err. */
int vm_connect(const char *uri, virConnectPtr *ret, sb_err **err);
/* Starts a transient domain that libvirt destroys when this connection closes. */
int vm_start(virConnectPtr conn, const char *xml, virDomainPtr *ret, sb_err **err);
/* 1 running, 0 gone or shut off, <0 on a libvirt error. */
int vm_is_active(virDomainPtr dom);
/* Destroys the domain if it still runs. */
int vm_destroy(virDomainPtr dom, sb_err **err);
/* The guest CID libvirt assigned to the domain's vsock device. */
int vm_vsock_cid(virDomainPtr dom, unsigned *ret_cid, sb_err **err);
/* Destroys a leftover domain by name; 0 if there was none. */
int vm_destroy_by_name(virConnectPtr conn, const char *name, sb_err **err);
/* libvirt's last error message, or a fallback. */
const char *vm_last_error(void);

/* SPDX-License-Identifier: Apache-2.0 */
#include "vm.h"

#include <libvirt/virterror.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmlq.h"

static void quiet_errors(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

const char *vm_last_error(void)
{
	const char *m = virGetLastErrorMessage();
	return m ? m : "unknown libvirt error";
}

int vm_connect(const char *uri, virConnectPtr *ret, sb_err **err)
{
	virConnectPtr c;

	virSetErrorFunc(NULL, quiet_errors);
	c = virConnectOpen(uri ? uri : VM_DEFAULT_URI);
	if (!c)
		return sb_err_set(err, ECONNREFUSED, "libvirt %s: %s (is libvirtd running? scripts/libvirtd.sh start)",
				  uri ? uri : VM_DEFAULT_URI, vm_last_error());
	*ret = c;
	return 0;
}

int vm_start(virConnectPtr conn, const char *xml, virDomainPtr *ret, sb_err **err)
{
	virDomainPtr d = virDomainCreateXML(conn, xml, VIR_DOMAIN_START_AUTODESTROY);
	if (!d)
		return sb_err_set(err, EIO, "libvirt: starting the domain: %s", vm_last_error());
	*ret = d;
	return 0;
}

int vm_is_active(virDomainPtr dom)
{
	int r = virDomainIsActive(dom);
	if (r < 0) {
		virErrorPtr e = virGetLastError();
		if (e && e->code == VIR_ERR_NO_DOMAIN)
			return 0; /* a transient domain is gone once it stops */
	}
	return r;
}

int vm_destroy(virDomainPtr dom, sb_err **err)
{
	if (vm_is_active(dom) <= 0)
		return 0;
	if (virDomainDestroy(dom) < 0 && vm_is_active(dom) > 0)
		return sb_err_set(err, EIO, "libvirt: destroying %s: %s", virDomainGetName(dom), vm_last_error());
	return 0;
}

int vm_destroy_by_name(virConnectPtr conn, const char *name, sb_err **err)
{
	_cleanup_(virDomainFreep) virDomainPtr d = virDomainLookupByName(conn, name);
	if (!d)
		return 0;
	return vm_destroy(d, err) < 0 ? -EIO : 1;
}

int vm_vsock_cid(virDomainPtr dom, unsigned *ret_cid, sb_err **err)
{
	_cleanup_free_ char *xml = virDomainGetXMLDesc(dom, 0);
	_cleanup_xmlq_ xmlq *q = NULL;
	unsigned cid;

	if (!xml)
		return sb_err_set(err, EIO, "libvirt: domain XML: %s", vm_last_error());
	q = xmlq_parse(xml);
	if (!q || !xmlq_uint(q, "string(/domain/devices/vsock/cid/@address)", &cid))
		return sb_err_set(err, ENOENT, "libvirt assigned no vsock CID");
	if (cid < 3 || cid == UINT32_MAX)
		return sb_err_set(err, ERANGE, "libvirt reported an invalid vsock CID %u", cid);
	*ret_cid = cid;
	return 0;
}

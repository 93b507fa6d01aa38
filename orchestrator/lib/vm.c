/* SPDX-License-Identifier: Apache-2.0 */
#include "vm.h"

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <stdlib.h>
#include <string.h>

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

static char *xpath_string(const char *xml, const char *expr)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
											  XML_PARSE_NOWARNING);
	xmlXPathContextPtr ctx = NULL;
	xmlXPathObjectPtr obj = NULL;
	char *out = NULL;

	if (!doc)
		return NULL;
	ctx = xmlXPathNewContext(doc);
	if (ctx)
		obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	if (obj) {
		xmlChar *s = xmlXPathCastToString(obj);
		if (s && *s)
			out = strdup((const char *)s);
		xmlFree(s);
	}
	xmlXPathFreeObject(obj);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return out;
}

int vm_vsock_cid(virDomainPtr dom, unsigned *ret_cid, sb_err **err)
{
	_cleanup_free_ char *xml = virDomainGetXMLDesc(dom, 0);
	_cleanup_free_ char *cid = NULL;
	char *end;
	unsigned long v;

	if (!xml)
		return sb_err_set(err, EIO, "libvirt: domain XML: %s", vm_last_error());
	cid = xpath_string(xml, "string(/domain/devices/vsock/cid/@address)");
	if (!cid)
		return sb_err_set(err, ENOENT, "libvirt assigned no vsock CID");
	errno = 0;
	v = strtoul(cid, &end, 10);
	if (errno || *end || v < 3 || v > 0xfffffffeul)
		return sb_err_set(err, ERANGE, "libvirt reported an invalid vsock CID '%s'", cid);
	*ret_cid = (unsigned)v;
	return 0;
}

int vm_host_has_snp(virConnectPtr conn, const char *domain_type, char **ret_reason, sb_err **err)
{
	_cleanup_free_ char *caps = virConnectGetDomainCapabilities(conn, NULL, "x86_64", "q35", domain_type, 0);
	_cleanup_free_ char *sectypes = NULL;

	if (!caps)
		return sb_err_set(err, EIO, "libvirt: domain capabilities: %s", vm_last_error());
	sectypes = xpath_string(caps, "string(/domainCapabilities/features/launchSecurity[@supported='yes']"
				      "/enum[@name='sectype']/value[text()='sev-snp'])");
	if (sectypes) {
		*ret_reason = NULL;
		return 1;
	}
	*ret_reason = strdup("libvirt's domain capabilities list no 'sev-snp' launch security on this host "
			     "(no SEV-SNP hardware, firmware or kernel support)");
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
#include "disk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm.h"

static int xml_safe(const char *s)
{
	return !strpbrk(s, "<>&'\"");
}

int disk_create(virConnectPtr conn, const char *pool_name, const char *dir, const char *file, uint64_t bytes,
		disk **ret, sb_err **err)
{
	_cleanup_free_ char *pool_xml = NULL, *vol_xml = NULL;
	disk *d;

	if (!xml_safe(pool_name) || !xml_safe(dir) || !xml_safe(file))
		return sb_err_set(err, EINVAL, "disk: names must not contain XML metacharacters");
	if (asprintf(&pool_xml, "<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>", pool_name,
		     dir) < 0 ||
	    asprintf(&vol_xml,
		     "<volume><name>%s</name><capacity unit='bytes'>%llu</capacity>"
		     "<allocation unit='bytes'>0</allocation><target><format type='qcow2'/></target></volume>",
		     file, (unsigned long long)bytes) < 0)
		return sb_err_set(err, ENOMEM, "out of memory");
	d = calloc(1, sizeof(*d));
	if (!d)
		return sb_err_set(err, ENOMEM, "out of memory");
	d->pool = virStoragePoolCreateXML(conn, pool_xml, 0);
	if (!d->pool) {
		disk_free(d);
		return sb_err_set(err, EIO, "libvirt: storage pool for %s: %s", dir, vm_last_error());
	}
	d->vol = virStorageVolCreateXML(d->pool, vol_xml, 0);
	if (!d->vol) {
		int r = sb_err_set(err, EIO, "libvirt: creating %s/%s: %s", dir, file, vm_last_error());
		disk_delete(d, NULL);
		disk_free(d);
		return r;
	}
	d->path = virStorageVolGetPath(d->vol);
	*ret = d;
	return 0;
}

int disk_delete(disk *d, sb_err **err)
{
	int r = 0;

	if (!d)
		return 0;
	if (d->vol) {
		if (virStorageVolDelete(d->vol, 0) < 0)
			r = sb_err_set(err, EIO, "libvirt: deleting %s: %s", d->path ? d->path : "scratch disk",
				       vm_last_error());
		virStorageVolFree(d->vol);
		d->vol = NULL;
	}
	/* Belt and braces: the file must not outlive the job. */
	if (d->path && access(d->path, F_OK) == 0 && unlink(d->path) < 0 && r == 0)
		r = sb_err_sys(err, errno, "deleting %s", d->path);
	if (d->pool) {
		virStoragePoolDestroy(d->pool); /* transient: gone once destroyed */
		virStoragePoolFree(d->pool);
		d->pool = NULL;
	}
	return r;
}

void disk_free(disk *d)
{
	if (!d)
		return;
	if (d->vol)
		virStorageVolFree(d->vol);
	if (d->pool)
		virStoragePoolFree(d->pool);
	free(d->path);
	free(d);
}

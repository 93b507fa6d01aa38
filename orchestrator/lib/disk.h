/* SPDX-License-Identifier: Apache-2.0 */
/* The job's ephemeral scratch disk: a sparse qcow2 made through libvirt's
 * storage API in a transient directory pool over the job's own folder. */
#pragma once

#include <libvirt/libvirt.h>
#include <stdint.h>

#include "err.h"

typedef struct disk {
	virStoragePoolPtr pool;
	virStorageVolPtr vol;
	char *path;
} disk;

int disk_create(virConnectPtr conn, const char *pool_name, const char *dir, const char *file, uint64_t bytes,
		disk **ret, sb_err **err);
/* Deletes the volume and the pool; safe on NULL and after partial creation. */
int disk_delete(disk *d, sb_err **err);
void disk_free(disk *d);

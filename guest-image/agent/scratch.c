/* SPDX-License-Identifier: Apache-2.0 */
/* The scratch disk is encrypted with a random key generated here and never
 * stored: the host sees only ciphertext, and the data dies with the VM. */
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "proc.h"

#define SCRATCH_TMP AGENT_BUILD_DIR "/tmp"
#define SCRATCH_HOME AGENT_BUILD_DIR "/home"

/* The build's temporary and home folders live on the scratch disk, not in
 * the tmpfs mounts /init made: a step filling RAM-backed tmpfs deadlocks the
 * guest on memory; filling the disk only fails the step. */
static const struct {
	const char *dir, *target;
} temp_binds[] = {
	{ SCRATCH_TMP, "/tmp" },
	{ SCRATCH_TMP, "/var/tmp" },
	{ SCRATCH_HOME, "/home/build" },
};

static int scratch_bind_temp(sb_err **err)
{
	if (mkdir(SCRATCH_TMP, 01777) < 0 || chmod(SCRATCH_TMP, 01777) < 0)
		return sb_err_sys(err, errno, "%s", SCRATCH_TMP);
	if (mkdir(SCRATCH_HOME, 0700) < 0 || chown(SCRATCH_HOME, AGENT_BUILD_UID, AGENT_BUILD_GID) < 0)
		return sb_err_sys(err, errno, "%s", SCRATCH_HOME);
	for (size_t i = 0; i < ELEMENTSOF(temp_binds); i++) {
		const char *dir = temp_binds[i].dir, *target = temp_binds[i].target;
		if (mount(dir, target, NULL, MS_BIND, NULL) < 0)
			return sb_err_sys(err, errno, "bind mount %s on %s", dir, target);
		if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_NODEV | MS_NOSUID, NULL) < 0)
			return sb_err_sys(err, errno, "remount %s nodev,nosuid", target);
	}
	return 0;
}

int agent_scratch_setup(sb_err **err)
{
	char *const open_argv[] = { "cryptsetup", "open", "--type", "plain", "--cipher", "aes-xts-plain64",
				    "--key-size", "512", "--key-file", "/dev/urandom", "--keyfile-size", "64",
				    AGENT_SCRATCH_DEV, AGENT_SCRATCH_DM, NULL };
	char *const mkfs_argv[] = { "mkfs.ext4", "-q", "-F", "-m", "0", "-E",
				    "lazy_itable_init=1,lazy_journal_init=1,nodiscard", "/dev/mapper/" AGENT_SCRATCH_DM,
				    NULL };
	int r;

	if ((r = proc_run(open_argv, err)) < 0)
		return sb_err_wrap(err, "scratch disk encryption");
	if ((r = proc_run(mkfs_argv, err)) < 0)
		return sb_err_wrap(err, "scratch disk filesystem");
	mkdir(AGENT_BUILD_DIR, 0755);
	if (mount("/dev/mapper/" AGENT_SCRATCH_DM, AGENT_BUILD_DIR, "ext4", MS_NODEV | MS_NOSUID,
		  "noinit_itable") < 0)
		return sb_err_sys(err, errno, "mount %s", AGENT_BUILD_DIR);
	return scratch_bind_temp(err);
}

void agent_scratch_teardown(void)
{
	char *const close_argv[] = { "cryptsetup", "close", AGENT_SCRATCH_DM, NULL };

	sync();
	/* the binds hold the file system: without them first, close finds it busy */
	for (size_t i = 0; i < ELEMENTSOF(temp_binds); i++)
		umount2(temp_binds[i].target, MNT_DETACH);
	if (umount2(AGENT_BUILD_DIR, MNT_DETACH) == 0)
		proc_run(close_argv, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The scratch disk is encrypted with a random key generated here and never
 * stored: the host sees only ciphertext, and the data dies with the VM. */
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

extern char **environ;

int agent_spawn(char *const argv[], sb_err **err)
{
	pid_t pid;
	int status, r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);

	if (r != 0)
		return sb_err_sys(err, r, "%s", argv[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return sb_err_sys(err, errno, "waitpid %s", argv[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return sb_err_set(err, EIO, "%s failed (status 0x%x)", argv[0], status);
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

	if ((r = agent_spawn(open_argv, err)) < 0)
		return sb_err_wrap(err, "scratch disk encryption");
	if ((r = agent_spawn(mkfs_argv, err)) < 0)
		return sb_err_wrap(err, "scratch disk filesystem");
	mkdir(AGENT_BUILD_DIR, 0755);
	if (mount("/dev/mapper/" AGENT_SCRATCH_DM, AGENT_BUILD_DIR, "ext4", MS_NODEV | MS_NOSUID,
		  "noinit_itable") < 0)
		return sb_err_sys(err, errno, "mount %s", AGENT_BUILD_DIR);
	return 0;
}

void agent_scratch_teardown(void)
{
	char *const close_argv[] = { "cryptsetup", "close", AGENT_SCRATCH_DM, NULL };

	sync();
	if (umount2(AGENT_BUILD_DIR, MNT_DETACH) == 0)
		agent_spawn(close_argv, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
#include "fileio.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int file_read_max(const char *path, size_t max, uint8_t **ret_data, size_t *ret_size, sb_err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	size_t got = 0;

	if (fd < 0)
		return sb_err_sys(err, errno, "%s", path);
	if (fstat(fd, &st) < 0)
		return sb_err_sys(err, errno, "%s", path);
	if (!S_ISREG(st.st_mode))
		return sb_err_set(err, EINVAL, "%s: not a regular file", path);
	if ((uint64_t)st.st_size > max)
		return sb_err_set(err, EFBIG, "%s: %lld bytes, more than the %zu allowed", path,
				  (long long)st.st_size, max);
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		return sb_err_set(err, ENOMEM, "%s: out of memory", path);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sb_err_sys(err, errno, "%s: read", path);
		if (n == 0)
			return sb_err_set(err, EIO, "%s: shrank while being read", path);
		got += (size_t)n;
	}
	*ret_data = TAKE_PTR(buf);
	*ret_size = got;
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Small process, I/O and time helpers both sides of the boundary use. */
#pragma once

#include <stddef.h>

#include "err.h"

/* Runs argv (no shell, PATH lookup) with an empty signal mask, so a caller
 * blocking SIGINT/SIGTERM for a signalfd does not pass that on; waits for
 * it; 0 when it exited 0. */
int proc_run(char *const argv[], sb_err **err);

/* write(2) until everything is written, retrying EINTR; -errno on failure. */
int proc_write_all(int fd, const void *buf, size_t len);

/* Seconds on the monotonic clock. */
double proc_now_s(void);

/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the job descriptor parser, as the guest runs it on host bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	job *j = NULL;
	sb_err *e = NULL;

	if (job_parse(data, size, "job.json", NULL, 0, &j, &e) == 0) {
		/* an accepted job is internally consistent */
		if (j->n_steps == 0 || j->n_artifacts == 0 || j->raw_len != size)
			abort();
		for (size_t i = 0; i < j->n_artifacts; i++)
			if (!job_artifact_path_valid(j->artifacts[i]))
				abort();
		job_free(j);
	} else if (!e || !e->msg || strncmp(e->msg, "job.json: ", 10)) {
		abort(); /* every rejection names the file and a path */
	}
	sb_err_free(e);
	free(job_json_path_at((const char *)data, size, size));
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
#include "jsonutil.h"

#include "hexutil.h"

json_t *json_hex(const void *buf, size_t len)
{
	char s[2 * 1024 + 1];

	if (len > 1024)
		return json_null();
	hex_encode(buf, len, s);
	return json_string(s);
}

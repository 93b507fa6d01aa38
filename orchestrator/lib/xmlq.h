/* SPDX-License-Identifier: Apache-2.0 */
/* XPath queries over XML that libvirt hands back (capabilities, live domain
 * XML), through libxml2. */
#pragma once

#include <stdbool.h>

typedef struct xmlq xmlq;

/* NULL when the text is not well-formed XML. */
xmlq *xmlq_parse(const char *xml);
void xmlq_free(xmlq *q);
void xmlq_freep(xmlq **q);
#define _cleanup_xmlq_ _cleanup_(xmlq_freep)

/* The string value of expr, or NULL when it is empty. */
char *xmlq_string(xmlq *q, const char *expr);
/* expr as a decimal unsigned int; false when absent or malformed. */
bool xmlq_uint(xmlq *q, const char *expr, unsigned *ret);

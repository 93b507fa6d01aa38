/* SPDX-License-Identifier: Apache-2.0 */
#include "xmlq.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

struct xmlq {
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
};

xmlq *xmlq_parse(const char *xml)
{
	xmlq *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->doc = xmlReadMemory(xml, (int)strlen(xml), "libvirt.xml", NULL,
			       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (q->doc)
		q->ctx = xmlXPathNewContext(q->doc);
	if (!q->ctx) {
		xmlq_free(q);
		return NULL;
	}
	return q;
}

void xmlq_free(xmlq *q)
{
	if (!q)
		return;
	xmlXPathFreeContext(q->ctx);
	xmlFreeDoc(q->doc);
	free(q);
}

void xmlq_freep(xmlq **q)
{
	xmlq_free(*q);
	*q = NULL;
}

char *xmlq_string(xmlq *q, const char *expr)
{
	xmlXPathObjectPtr obj = xmlXPathEvalExpression((const xmlChar *)expr, q->ctx);
	char *out = NULL;

	if (obj) {
		xmlChar *s = xmlXPathCastToString(obj);
		if (s && *s)
			out = strdup((const char *)s);
		xmlFree(s);
	}
	xmlXPathFreeObject(obj);
	return out;
}

bool xmlq_uint(xmlq *q, const char *expr, unsigned *ret)
{
	_cleanup_free_ char *s = xmlq_string(q, expr);
	char *end;
	unsigned long v;

	if (!s || *s == '-')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return false;
	*ret = (unsigned)v;
	return true;
}

/* A small JSON reader (json.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ops/json.h"

struct reader {
	const char *p;
	int depth;
};

static void skip_ws(struct reader *r)
{
	while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
		r->p++;
}

static int parse_value(struct reader *r, struct json *out);
static void json_clear(struct json *j);

static char *parse_string(struct reader *r)
{
	size_t cap = 16, n = 0;
	char *s = malloc(cap);

	if (s == NULL || *r->p++ != '"')
		goto fail;
	while (*r->p && *r->p != '"') {
		char c = *r->p++;
		if (c == '\\') {
			c = *r->p++;
			switch (c) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'r':
				c = '\r';
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'u': {
				unsigned v = 0;
				for (int i = 0; i < 4; i++, r->p++) {
					char h = *r->p;
					v = v * 16 + (unsigned)(h >= 'a'   ? h - 'a' + 10
								: h >= 'A' ? h - 'A' + 10
									   : h - '0');
				}
				c = v < 0x80 ? (char)v : '?';
				break;
			}
			case '\0':
				goto fail;
			default:
				break; /* \" \\ \/ */
			}
		}
		if (n + 2 > cap) {
			char *g = realloc(s, cap *= 2);
			if (g == NULL)
				goto fail;
			s = g;
		}
		s[n++] = c;
	}
	if (*r->p++ != '"')
		goto fail;
	s[n] = '\0';
	return s;
fail:
	free(s);
	return NULL;
}

static int add_kid(struct json *parent, struct json *kid)
{
	struct json *k = realloc(parent->kids, (parent->nkids + 1) * sizeof(*k));

	if (k == NULL)
		return -1;
	parent->kids = k;
	parent->kids[parent->nkids++] = *kid;
	return 0;
}

static int parse_container(struct reader *r, struct json *out, bool obj)
{
	char close = obj ? '}' : ']';

	out->type = obj ? JSON_OBJ : JSON_ARR;
	r->p++;
	skip_ws(r);
	if (*r->p == close) {
		r->p++;
		return 0;
	}
	for (;;) {
		struct json kid = {0};
		skip_ws(r);
		if (obj) {
			if (*r->p != '"' || (kid.key = parse_string(r)) == NULL)
				return -1;
			skip_ws(r);
			if (*r->p++ != ':') {
				free(kid.key);
				return -1;
			}
		}
		if (parse_value(r, &kid) < 0 || add_kid(out, &kid) < 0) {
			json_clear(&kid);
			return -1;
		}
		skip_ws(r);
		if (*r->p == ',') {
			r->p++;
			continue;
		}
		if (*r->p++ != close)
			return -1;
		return 0;
	}
}

static int parse_value(struct reader *r, struct json *out)
{
	char *end;

	skip_ws(r);
	if (*r->p == '{' || *r->p == '[') {
		int err;
		if (++r->depth > 32)
			return -1;
		err = parse_container(r, out, *r->p == '{');
		r->depth--;
		return err;
	}
	if (*r->p == '"') {
		out->type = JSON_STR;
		out->str = parse_string(r);
		return out->str ? 0 : -1;
	}
	if (strncmp(r->p, "null", 4) == 0) {
		out->type = JSON_NULL, r->p += 4;
		return 0;
	}
	if (strncmp(r->p, "true", 4) == 0 || strncmp(r->p, "false", 5) == 0) {
		out->type = JSON_BOOL;
		out->num = *r->p == 't';
		r->p += *r->p == 't' ? 4 : 5;
		return 0;
	}
	out->type = JSON_NUM;
	out->num = strtod(r->p, &end);
	if (end == r->p)
		return -1;
	r->p = end;
	return 0;
}

/* Frees what j holds (not j itself). */
static void json_clear(struct json *j)
{
	for (size_t i = 0; i < j->nkids; i++)
		json_clear(&j->kids[i]);
	free(j->kids);
	free(j->str);
	free(j->key);
}

struct json *json_parse(const char *text)
{
	struct reader r = {text, 0};
	struct json *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	if (parse_value(&r, j) < 0) {
		json_free(j);
		return NULL;
	}
	skip_ws(&r);
	if (*r.p != '\0') {
		json_free(j);
		return NULL;
	}
	return j;
}

void json_free(struct json *j)
{
	if (j == NULL)
		return;
	json_clear(j);
	free(j);
}

const struct json *json_get(const struct json *obj, const char *key)
{
	if (obj == NULL || obj->type != JSON_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->nkids; i++)
		if (strcmp(obj->kids[i].key, key) == 0)
			return &obj->kids[i];
	return NULL;
}

const char *json_get_str(const struct json *obj, const char *key)
{
	const struct json *v = json_get(obj, key);

	return v && v->type == JSON_STR ? v->str : "";
}

double json_get_num(const struct json *obj, const char *key)
{
	const struct json *v = json_get(obj, key);

	return v && (v->type == JSON_NUM || v->type == JSON_BOOL) ? v->num : 0;
}

/* A small JSON reader for herd's own replies (the control socket's): the
 * whole text into a tree of values. Enough for `herd status`; not a
 * general-purpose parser (numbers are doubles, \u escapes below 0x80
 * only, depth at most 32). */
#ifndef HERD_OPS_JSON_H
#define HERD_OPS_JSON_H

#include <stddef.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };

struct json {
	enum json_type type;
	double num; /* JSON_NUM; JSON_BOOL: 0 or 1 */
	char *str;  /* JSON_STR; in an object, each member's key is `key` */
	char *key;
	struct json *kids; /* JSON_ARR, JSON_OBJ: nkids values */
	size_t nkids;
};

/* NULL on a syntax error or no memory. */
struct json *json_parse(const char *text);
void json_free(struct json *j);

/* The member `key` of an object, or NULL. */
const struct json *json_get(const struct json *obj, const char *key);
/* Its string ("" when absent or not a string), its number (0 likewise). */
const char *json_get_str(const struct json *obj, const char *key);
double json_get_num(const struct json *obj, const char *key);

#endif

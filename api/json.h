/* json.h: a small JSON writer for ledgerctl's --json output (writing only; nothing is
 * parsed). Strings are escaped per RFC 8259; commas are placed by the writer. */
#ifndef API_JSON_H
#define API_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 16

typedef struct json_out {
	FILE *f;
	int depth;
	bool first[JSON_DEPTH_MAX]; /* no value written yet at this depth */
	bool after_key;
} json_out;

void json_begin(json_out *j, FILE *f);
void json_end(json_out *j); /* newline */
void json_obj_begin(json_out *j);
void json_obj_end(json_out *j);
void json_arr_begin(json_out *j);
void json_arr_end(json_out *j);
void json_key(json_out *j, const char *key);
void json_str(json_out *j, const char *s);
void json_u64(json_out *j, uint64_t v);
void json_bool(json_out *j, bool v);

/*
 * key: an array of the n values of items, each written by write(j, item), a function of
 * (json_out *, the item's type): JSON_ARRAY(j, "alerts", l->alerts, l->n_alerts, ctl_json_alert).
 * A macro, so that the item's type is checked against write's.
 */
#define JSON_ARRAY(j, key, items, n, write)                                                                            \
	do {                                                                                                           \
		json_key((j), (key)), json_arr_begin(j);                                                               \
		for (size_t json_item_ = 0; json_item_ < (size_t)(n); json_item_++)                                    \
			(write)((j), (items)[json_item_]);                                                             \
		json_arr_end(j);                                                                                       \
	} while (0)

#endif

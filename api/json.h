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

#endif

/* json.c: see json.h. */
#include "json.h"

#include <assert.h>

void json_begin(json_out *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->first[0] = true;
	j->after_key = false;
}

void json_end(json_out *j)
{
	fputc('\n', j->f);
}

/* Writes the separator a new value needs at the current depth. */
static void value_prefix(json_out *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
}

static void open(json_out *j, char c)
{
	value_prefix(j);
	fputc(c, j->f);
	assert(j->depth + 1 < JSON_DEPTH_MAX);
	j->first[++j->depth] = true;
}

static void close(json_out *j, char c)
{
	assert(j->depth > 0);
	j->depth--;
	fputc(c, j->f);
}

void json_obj_begin(json_out *j)
{
	open(j, '{');
}
void json_obj_end(json_out *j)
{
	close(j, '}');
}
void json_arr_begin(json_out *j)
{
	open(j, '[');
}
void json_arr_end(json_out *j)
{
	close(j, ']');
}

static void write_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void json_key(json_out *j, const char *key)
{
	value_prefix(j);
	write_string(j->f, key);
	fputc(':', j->f);
	j->after_key = true;
}

void json_str(json_out *j, const char *s)
{
	value_prefix(j);
	write_string(j->f, s);
}

void json_u64(json_out *j, uint64_t v)
{
	value_prefix(j);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_bool(json_out *j, bool v)
{
	value_prefix(j);
	fputs(v ? "true" : "false", j->f);
}

/*
 * xlsx.c: .xlsx workbooks. The zip entries are read through memory within the size, ratio and
 * entry limits; the XML parts are walked with libxml2's xmlReader within the depth, attribute
 * and node limits (no DTD, no entity); then the workbook and its relationships, the first
 * sheet's column A and the shared strings it refers to.
 */
#include "internal.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <freexl.h>
#include <iconv.h>
#include <libxml/xmlreader.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

/* ----- .xlsx: zip entries, read through memory with limits ----- */

#define XLSX_PATH_BYTES_MAX 200u

typedef struct xlsx {
	parse *p;
	zip_t *zip;
	uint64_t inflated_bytes; /* counted, over every entry read */
} xlsx;

/* Before reading anything: the entries' count, their declared total and each one's ratio. */
static import_err zip_check_declared(xlsx *x)
{
	zip_int64_t count = zip_get_num_entries(x->zip, 0);
	if (count < 0 || (uint64_t)count > IMPORT_XLSX_ENTRIES_MAX)
		return import_fail(x->p, IMPORT_ERR_ZIP_BOMB, "%lld entries in the archive, over the limit of %u",
		                   (long long)count, IMPORT_XLSX_ENTRIES_MAX);
	uint64_t total = 0;
	for (zip_int64_t i = 0; i < count; i++) {
		zip_stat_t st;
		if (zip_stat_index(x->zip, (zip_uint64_t)i, 0, &st) != 0 ||
		    (st.valid & (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE)) != (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE))
			return import_fail(x->p, IMPORT_ERR_MALFORMED, "entry %lld of the archive cannot be read",
			                   (long long)i);
		if (st.size > IMPORT_XLSX_UNCOMPRESSED_MAX - total)
			return import_fail(
			    x->p, IMPORT_ERR_ZIP_BOMB,
			    "entry %lld inflates to %llu bytes: the archive is over %u bytes uncompressed",
			    (long long)i, (unsigned long long)st.size, IMPORT_XLSX_UNCOMPRESSED_MAX);
		total += st.size;
		if (st.size > IMPORT_XLSX_RATIO_MIN_BYTES && st.size / IMPORT_XLSX_RATIO_MAX > st.comp_size)
			return import_fail(x->p, IMPORT_ERR_ZIP_BOMB,
			                   "entry %lld: %llu bytes from %llu, a ratio over %u", (long long)i,
			                   (unsigned long long)st.size, (unsigned long long)st.comp_size,
			                   IMPORT_XLSX_RATIO_MAX);
	}
	return IMPORT_OK;
}

/* Reads at most `capacity` bytes of f: one more than the entry declares, so that an entry
 * inflating past its header is caught without inflating it further. */
static import_err zip_read_bounded(xlsx *x, zip_file_t *f, const char *name, uint8_t *buf, size_t capacity, size_t *got)
{
	*got = 0;
	while (*got < capacity) {
		zip_uint64_t want = capacity - *got < 64 * 1024 ? capacity - *got : 64 * 1024;
		zip_int64_t r = zip_fread(f, buf + *got, want);
		if (r < 0)
			return import_fail(x->p, IMPORT_ERR_MALFORMED, "%s: %s", name, zip_file_strerror(f));
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	return IMPORT_OK;
}

static import_err zip_check_inflated(xlsx *x, const char *name, const zip_stat_t *st, size_t got)
{
	if (got > st->size)
		return import_fail(x->p, IMPORT_ERR_ZIP_BOMB, "%s inflates past the %llu bytes its header declares",
		                   name, (unsigned long long)st->size);
	if (got < st->size)
		return import_fail(x->p, IMPORT_ERR_MALFORMED, "%s: %zu bytes where the header declares %llu", name,
		                   got, (unsigned long long)st->size);
	if (got > IMPORT_XLSX_RATIO_MIN_BYTES && got / IMPORT_XLSX_RATIO_MAX > st->comp_size)
		return import_fail(x->p, IMPORT_ERR_ZIP_BOMB, "%s: a compression ratio over %u", name,
		                   IMPORT_XLSX_RATIO_MAX);
	x->inflated_bytes += got;
	return IMPORT_OK;
}

/* Inflates the entry `name` into *out (to free). A missing entry leaves *out NULL and is an
 * error only if `required`. */
static import_err zip_read_entry(xlsx *x, const char *name, bool required, uint8_t **out, size_t *out_n)
{
	*out = NULL;
	*out_n = 0;
	zip_int64_t index = zip_name_locate(x->zip, name, 0);
	if (index < 0)
		return required ? import_fail(x->p, IMPORT_ERR_MALFORMED, "%s is missing from the workbook", name)
		                : IMPORT_OK;
	zip_stat_t st;
	if (zip_stat_index(x->zip, (zip_uint64_t)index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
		return import_fail(x->p, IMPORT_ERR_MALFORMED, "%s cannot be read", name);
	if (st.size > IMPORT_XLSX_UNCOMPRESSED_MAX - x->inflated_bytes)
		return import_fail(x->p, IMPORT_ERR_ZIP_BOMB, "%s: %llu bytes uncompressed, over the limit of %u", name,
		                   (unsigned long long)st.size, IMPORT_XLSX_UNCOMPRESSED_MAX);
	zip_file_t *f = zip_fopen_index(x->zip, (zip_uint64_t)index, 0);
	if (!f)
		return import_fail(x->p, IMPORT_ERR_MALFORMED, "%s: %s", name, zip_strerror(x->zip));
	uint8_t *buf = malloc((size_t)st.size + 1);
	size_t got = 0;
	import_err err = buf ? zip_read_bounded(x, f, name, buf, (size_t)st.size + 1, &got)
	                     : import_fail(x->p, IMPORT_ERR_NOMEM, "out of memory reading %s", name);
	zip_fclose(f);
	if (!err)
		err = zip_check_inflated(x, name, &st, got);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*out_n = got;
	return IMPORT_OK;
}

/* ----- .xlsx: XML parts, walked with libxml2's xmlReader ----- */

typedef enum { WALK_CONTINUE, WALK_STOP } walk_next;
/* Called for each node; reports errors with import_fail() (the walk stops on p->err). */
typedef walk_next (*xml_visitor)(void *ctx, xmlTextReaderPtr r, int type);

typedef struct xml_errors {
	int count;
	char first[120];
} xml_errors;

#if LIBXML_VERSION >= 21200
static void xml_on_error(void *arg, const xmlError *e)
#else
static void xml_on_error(void *arg, xmlErrorPtr e)
#endif
{
	xml_errors *errors = arg;
	if (e->level < XML_ERR_ERROR || errors->count++ > 0)
		return;
	snprintf(errors->first, sizeof errors->first, "line %d: %s", e->line, e->message ? e->message : "?");
	errors->first[strcspn(errors->first, "\r\n")] = '\0';
}

/*
 * The largest number of attributes on one element of an XML part: '=' signs outside quoted
 * values, counted per tag in one pass. A bound checked before libxml2 runs (whose duplicate
 * attribute check is quadratic), not a parser: what it over-counts (an '=' in a comment)
 * only makes the bound stricter.
 */
static size_t xml_attributes_per_element_max(const uint8_t *xml, size_t n)
{
	size_t most = 0, count = 0;
	bool in_tag = false;
	uint8_t quote = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = xml[i];
		if (!in_tag) {
			if (c == '<') {
				in_tag = true;
				count = 0;
			}
		} else if (quote) {
			if (c == quote)
				quote = 0;
		} else if (c == '"' || c == '\'') {
			quote = c;
		} else if (c == '=') {
			if (++count > most)
				most = count;
		} else if (c == '>') {
			in_tag = false;
		}
	}
	return most;
}

/*
 * Walks an XML part node by node. OOXML forbids DTDs, so a <!DOCTYPE is refused before libxml2
 * sees it: no entity can be declared, let alone expanded (billion laughs, external entities).
 * The reader is also run without XML_PARSE_NOENT, DTDLOAD or HUGE, and with NONET.
 */
static import_err xml_walk(parse *p, const char *part, const uint8_t *xml, size_t n, xml_visitor visit, void *ctx)
{
	if (memmem(xml, n, "<!DOCTYPE", 9))
		return import_fail(p, IMPORT_ERR_MALFORMED, "%s: a DTD (<!DOCTYPE), which OOXML forbids", part);
	if (xml_attributes_per_element_max(xml, n) > IMPORT_XML_ATTRIBUTES_MAX)
		return import_fail(p, IMPORT_ERR_MALFORMED, "%s: an element with more than %u attributes", part,
		                   IMPORT_XML_ATTRIBUTES_MAX);
	int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
	xmlTextReaderPtr r = xmlReaderForMemory((const char *)xml, (int)n, NULL, "UTF-8", options);
	if (!r)
		return import_fail(p, IMPORT_ERR_NOMEM, "%s: cannot start the XML reader", part);
	xml_errors errors = {0};
	xmlTextReaderSetStructuredErrorHandler(r, xml_on_error, &errors);
	int rc;
	size_t nodes = 0;
	while (!p->err && (rc = xmlTextReaderRead(r)) == 1) {
		int type = xmlTextReaderNodeType(r), depth = xmlTextReaderDepth(r);
		if (++nodes > IMPORT_XML_NODES_MAX)
			import_fail(p, IMPORT_ERR_MALFORMED, "%s: more than %u XML nodes", part, IMPORT_XML_NODES_MAX);
		else if (depth < 0 || depth > (int)IMPORT_XML_DEPTH_MAX)
			import_fail(p, IMPORT_ERR_MALFORMED, "%s: elements nested deeper than %u", part,
			            IMPORT_XML_DEPTH_MAX);
		else if (type == XML_READER_TYPE_DOCUMENT_TYPE || type == XML_READER_TYPE_ENTITY_REFERENCE ||
		         type == XML_READER_TYPE_ENTITY)
			import_fail(p, IMPORT_ERR_MALFORMED, "%s: a DTD or an entity, which OOXML forbids", part);
		else if (visit(ctx, r, type) == WALK_STOP)
			break;
	}
	if (!p->err && (rc < 0 || errors.count > 0))
		import_fail(p, IMPORT_ERR_MALFORMED, "%s: not well-formed XML (%s)", part,
		            errors.count ? errors.first : "truncated?");
	xmlFreeTextReader(r);
	return p->err;
}

static const char *const SPREADSHEETML_NS[] = {
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main", /* transitional: what Excel writes */
    "http://purl.oclc.org/ooxml/spreadsheetml/main",             /* strict */
};
static const char *const RELATIONSHIPS_NS[] = {
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
};

/* Is the current node the start (or end) of SpreadsheetML element `local`? */
static bool is_sml(xmlTextReaderPtr r, const char *local)
{
	const char *name = (const char *)xmlTextReaderConstLocalName(r);
	const char *ns = (const char *)xmlTextReaderConstNamespaceUri(r);
	return name && ns && strcmp(name, local) == 0 &&
	       (strcmp(ns, SPREADSHEETML_NS[0]) == 0 || strcmp(ns, SPREADSHEETML_NS[1]) == 0);
}

/* Copies attribute `name` (namespace `ns`, or none) into buf. -1: absent; 1: too long. */
static int attr_copy(xmlTextReaderPtr r, const char *name, const char *ns, char *buf, size_t buf_bytes)
{
	xmlChar *value = ns ? xmlTextReaderGetAttributeNs(r, BAD_CAST name, BAD_CAST ns)
	                    : xmlTextReaderGetAttribute(r, BAD_CAST name);
	if (!value)
		return -1;
	size_t len = strlen((const char *)value);
	if (len < buf_bytes)
		memcpy(buf, value, len + 1);
	xmlFree(value);
	return len < buf_bytes ? 0 : 1;
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++)
		if (i >= 10 || (v = v * 10 + (uint64_t)(s[i] - '0')) > max)
			return false;
	*out = (uint32_t)v;
	return i > 0 && s[i] == '\0';
}

/* The column of a cell reference ("A12": 1, "AB3": 28): letters then digits; 0 if malformed. */
static uint32_t ref_column(const char *ref)
{
	uint32_t column = 0;
	size_t i = 0;
	for (; (ref[i] >= 'A' && ref[i] <= 'Z') || (ref[i] >= 'a' && ref[i] <= 'z'); i++) {
		if (i == 3)
			return 0;
		column = column * 26 + (uint32_t)((ref[i] | 0x20) - 'a' + 1);
	}
	uint32_t row;
	return i > 0 && parse_u32(ref + i, IMPORT_XLSX_ROW_NUMBER_MAX, &row) && row > 0 ? column : 0;
}

/* ----- .xlsx: workbook.xml and its relationships ----- */

typedef struct workbook {
	parse *p;
	char sheet_id[64];                    /* r:id of the first <sheet> */
	char sheet_path[XLSX_PATH_BYTES_MAX]; /* its part, from the relationships */
	char strings_path[XLSX_PATH_BYTES_MAX];
} workbook;

static walk_next workbook_visit(void *ctx, xmlTextReaderPtr r, int type)
{
	workbook *wb = ctx;
	if (type != XML_READER_TYPE_ELEMENT || !is_sml(r, "sheet"))
		return WALK_CONTINUE;
	int rc = attr_copy(r, "id", RELATIONSHIPS_NS[0], wb->sheet_id, sizeof wb->sheet_id);
	if (rc < 0)
		rc = attr_copy(r, "id", RELATIONSHIPS_NS[1], wb->sheet_id, sizeof wb->sheet_id);
	if (rc != 0)
		import_fail(wb->p, IMPORT_ERR_MALFORMED, "xl/workbook.xml: the first sheet has no valid r:id");
	return WALK_STOP;
}

/* A relationship's target, relative to xl/ or absolute in the package, as an entry name.
 * Only plain printable names: no "..", no backslash, nothing outside the package. */
static bool resolve_target(const char *target, char *out, size_t out_bytes)
{
	for (const char *c = target; *c; c++)
		if (*c <= ' ' || *c > '~' || *c == '\\')
			return false;
	if (strstr(target, "..") || strchr(target, ':') || target[0] == '\0')
		return false;
	int len =
	    target[0] == '/' ? snprintf(out, out_bytes, "%s", target + 1) : snprintf(out, out_bytes, "xl/%s", target);
	return len > 0 && (size_t)len < out_bytes;
}

static walk_next rels_visit(void *ctx, xmlTextReaderPtr r, int type)
{
	workbook *wb = ctx;
	const char *name = (const char *)xmlTextReaderConstLocalName(r);
	if (type != XML_READER_TYPE_ELEMENT || !name || strcmp(name, "Relationship") != 0)
		return WALK_CONTINUE;
	char id[64], kind[256], target[XLSX_PATH_BYTES_MAX], mode[16];
	if (attr_copy(r, "Id", NULL, id, sizeof id) != 0 || attr_copy(r, "Type", NULL, kind, sizeof kind) != 0 ||
	    attr_copy(r, "Target", NULL, target, sizeof target) != 0)
		return WALK_CONTINUE; /* not one we need */
	bool is_sheet = strcmp(id, wb->sheet_id) == 0;
	size_t kind_len = strlen(kind);
	bool is_strings = kind_len >= 14 && strcmp(kind + kind_len - 14, "/sharedStrings") == 0;
	if (!is_sheet && !is_strings)
		return WALK_CONTINUE;
	bool external = attr_copy(r, "TargetMode", NULL, mode, sizeof mode) != -1;
	char *out = is_sheet ? wb->sheet_path : wb->strings_path;
	if (external || !resolve_target(target, out, XLSX_PATH_BYTES_MAX))
		import_fail(wb->p, IMPORT_ERR_MALFORMED, "xl/_rels/workbook.xml.rels: relationship %s has a bad target",
		            is_sheet ? "of the first sheet" : "of the shared strings");
	return WALK_CONTINUE;
}

/* Finds the first sheet's part and the shared strings' part (xl/sharedStrings.xml if the
 * relationships do not name one). */
static import_err workbook_read(xlsx *x, workbook *wb)
{
	uint8_t *xml;
	size_t n;
	if (zip_name_locate(x->zip, "xl/workbook.xml", 0) < 0)
		return import_fail(x->p, IMPORT_ERR_TYPE,
		                   "a zip archive but not an Excel workbook (no xl/workbook.xml)");
	if (zip_read_entry(x, "xl/workbook.xml", true, &xml, &n))
		return x->p->err;
	xml_walk(x->p, "xl/workbook.xml", xml, n, workbook_visit, wb);
	free(xml);
	if (!x->p->err && wb->sheet_id[0] == '\0')
		return import_fail(x->p, IMPORT_ERR_MALFORMED, "xl/workbook.xml lists no sheet");
	if (x->p->err || zip_read_entry(x, "xl/_rels/workbook.xml.rels", true, &xml, &n))
		return x->p->err;
	xml_walk(x->p, "xl/_rels/workbook.xml.rels", xml, n, rels_visit, wb);
	free(xml);
	if (!x->p->err && wb->sheet_path[0] == '\0')
		return import_fail(x->p, IMPORT_ERR_MALFORMED,
		                   "xl/_rels/workbook.xml.rels: no part for the first sheet");
	if (wb->strings_path[0] == '\0')
		snprintf(wb->strings_path, sizeof wb->strings_path, "xl/sharedStrings.xml");
	return x->p->err;
}

/* ----- .xlsx: the first sheet's column A ----- */

/* A cell of column A as found in the sheet: its text, or the index of its shared string. */
typedef struct pending {
	uint32_t row;
	bool shared;
	uint32_t string_index;
	char *text; /* owned; filled in from the shared strings when `shared` */
} pending;

typedef struct pendings {
	pending *items;
	size_t count, capacity;
} pendings;

static void pendings_free(pendings *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i].text);
	free(list->items);
	*list = (pendings){0};
}

typedef struct cellbuf {
	char bytes[IMPORT_CELL_BYTES_MAX + 1];
	size_t len;
} cellbuf;

static bool cellbuf_append(cellbuf *b, const char *s, size_t n)
{
	if (n > IMPORT_CELL_BYTES_MAX - b->len)
		return false;
	memcpy(b->bytes + b->len, s, n);
	b->len += n;
	b->bytes[b->len] = '\0';
	return true;
}

typedef enum { VALUE_PLAIN, VALUE_SHARED, VALUE_INLINE } value_kind;

typedef struct sheet {
	parse *p;
	pendings cells;
	uint32_t row;     /* current row number; 0 before the first */
	uint32_t column;  /* column of the row's last cell */
	bool in_a;        /* inside the <c> of column A */
	bool a_seen;      /* the row's column-A cell was seen */
	bool has_value;   /* it has a <v> or inline <t> */
	bool in_text;     /* inside the <v> or <t> whose text is the value */
	bool in_phonetic; /* inside an <rPh> (a phonetic guide, not the text) */
	value_kind kind;
	cellbuf text;
} sheet;

static void pendings_push(parse *p, pendings *list, pending c)
{
	if (list->count == list->capacity) {
		size_t capacity = list->capacity ? 2 * list->capacity : 64;
		pending *items = realloc(list->items, capacity * sizeof *items);
		if (!items) {
			free(c.text);
			import_fail(p, IMPORT_ERR_NOMEM, "out of memory at row %u", c.row);
			return;
		}
		list->items = items;
		list->capacity = capacity;
	}
	list->items[list->count++] = c;
}

/* Keeps the cell of column A just read. Text cells empty after trimming are dropped now, shared
 * ones only once their string is known: at most IMPORT_ROWS_MAX + 1 (a header) are kept. */
static void sheet_keep(sheet *s)
{
	const char *text = s->text.bytes;
	size_t len = s->text.len;
	import_trim(&text, &len);
	bool shared = s->kind == VALUE_SHARED;
	if (!s->has_value || (!shared && len == 0))
		return;
	if (s->cells.count > IMPORT_ROWS_MAX) {
		import_fail(s->p, IMPORT_ERR_TOO_MANY_ROWS, "row %u: more than %u addresses in the sheet", s->row,
		            IMPORT_ROWS_MAX);
		return;
	}
	pending c = {.row = s->row, .shared = shared};
	if (shared) {
		char digits[16];
		bool ok = len < sizeof digits;
		if (ok) {
			memcpy(digits, text, len);
			digits[len] = '\0';
			ok = parse_u32(digits, UINT32_MAX - 1, &c.string_index);
		}
		if (!ok) {
			import_fail(s->p, IMPORT_ERR_MALFORMED, "cell A%u: a shared string index that is not a number",
			            s->row);
			return;
		}
	} else if (!(c.text = malloc(len + 1))) {
		import_fail(s->p, IMPORT_ERR_NOMEM, "out of memory at row %u", s->row);
		return;
	} else {
		memcpy(c.text, text, len);
		c.text[len] = '\0';
	}
	pendings_push(s->p, &s->cells, c);
}

/* <row r="N">: rows go up strictly; a row without r follows the previous one. */
static void sheet_row_start(sheet *s, xmlTextReaderPtr r)
{
	char value[16];
	uint32_t row = s->row + 1;
	int rc = attr_copy(r, "r", NULL, value, sizeof value);
	if (rc == 1 || (rc == 0 && !parse_u32(value, IMPORT_XLSX_ROW_NUMBER_MAX, &row)) || row <= s->row ||
	    row > IMPORT_XLSX_ROW_NUMBER_MAX) {
		import_fail(s->p, IMPORT_ERR_MALFORMED, "after row %u: a row number out of order or out of range",
		            s->row);
		return;
	}
	s->row = row;
	s->column = 0;
	s->a_seen = false;
}

/* <c r="A12" t="s">: a cell without r follows the previous one in its row. */
static void sheet_cell_start(sheet *s, xmlTextReaderPtr r)
{
	char ref[16], kind[16];
	if (s->row == 0) {
		import_fail(s->p, IMPORT_ERR_MALFORMED, "a cell outside any row");
		return;
	}
	int rc = attr_copy(r, "r", NULL, ref, sizeof ref);
	uint32_t column = rc == -1 ? s->column + 1 : rc == 0 ? ref_column(ref) : 0;
	if (column == 0 || column > 16384) {
		import_fail(s->p, IMPORT_ERR_MALFORMED, "row %u: a bad cell reference", s->row);
		return;
	}
	s->column = column;
	if (column != 1)
		return;
	if (s->a_seen) {
		import_fail(s->p, IMPORT_ERR_MALFORMED, "row %u: two cells in column A", s->row);
		return;
	}
	s->a_seen = true;
	rc = attr_copy(r, "t", NULL, kind, sizeof kind);
	s->kind = rc != 0                          ? VALUE_PLAIN
	          : strcmp(kind, "s") == 0         ? VALUE_SHARED
	          : strcmp(kind, "inlineStr") == 0 ? VALUE_INLINE
	                                           : VALUE_PLAIN;
	s->in_a = !xmlTextReaderIsEmptyElement(r);
	s->has_value = s->in_text = s->in_phonetic = false;
	s->text.len = 0;
	s->text.bytes[0] = '\0';
}

/* Inside column A's cell: the value is the text of <v>, or of the <t>s of an inline string
 * (rich text runs included, phonetic guides <rPh> excluded); a formula <f> is not read. */
static void sheet_value_start(sheet *s, xmlTextReaderPtr r)
{
	bool empty = xmlTextReaderIsEmptyElement(r);
	if (is_sml(r, "rPh")) {
		s->in_phonetic = !empty;
		return;
	}
	bool value = s->kind == VALUE_INLINE ? is_sml(r, "t") && !s->in_phonetic : is_sml(r, "v");
	if (value) {
		s->has_value = true;
		s->in_text = !empty;
	}
}

static void sheet_end(sheet *s, xmlTextReaderPtr r)
{
	if (!s->in_a)
		return;
	if (is_sml(r, "c")) {
		sheet_keep(s);
		s->in_a = false;
	} else if (is_sml(r, "rPh")) {
		s->in_phonetic = false;
	} else if (is_sml(r, "v") || is_sml(r, "t")) {
		s->in_text = false;
	}
}

static void sheet_text(sheet *s, xmlTextReaderPtr r)
{
	if (!s->in_a || !s->in_text)
		return;
	const char *value = (const char *)xmlTextReaderConstValue(r);
	if (value && !cellbuf_append(&s->text, value, strlen(value)))
		import_fail(s->p, IMPORT_ERR_CELL_TOO_LARGE, "row %u: the first cell has more than %u bytes", s->row,
		            IMPORT_CELL_BYTES_MAX);
}

static walk_next sheet_visit(void *ctx, xmlTextReaderPtr r, int type)
{
	sheet *s = ctx;
	switch (type) {
	case XML_READER_TYPE_ELEMENT:
		if ((is_sml(r, "row") || is_sml(r, "c")) && s->in_a)
			import_fail(s->p, IMPORT_ERR_MALFORMED, "row %u: a row or cell inside a cell", s->row);
		else if (is_sml(r, "row"))
			sheet_row_start(s, r);
		else if (is_sml(r, "c"))
			sheet_cell_start(s, r);
		else if (s->in_a)
			sheet_value_start(s, r);
		break;
	case XML_READER_TYPE_END_ELEMENT: sheet_end(s, r); break;
	case XML_READER_TYPE_TEXT:
	case XML_READER_TYPE_CDATA:
	case XML_READER_TYPE_WHITESPACE:
	case XML_READER_TYPE_SIGNIFICANT_WHITESPACE: sheet_text(s, r); break;
	default: break;
	}
	return WALK_CONTINUE;
}

static void sheet_read(xlsx *x, const workbook *wb, pendings *cells)
{
	uint8_t *xml;
	size_t n;
	if (zip_read_entry(x, wb->sheet_path, true, &xml, &n))
		return;
	sheet *s = calloc(1, sizeof *s);
	if (!s) {
		free(xml);
		import_fail(x->p, IMPORT_ERR_NOMEM, "out of memory");
		return;
	}
	s->p = x->p;
	xml_walk(x->p, wb->sheet_path, xml, n, sheet_visit, s);
	free(xml);
	*cells = s->cells;
	free(s);
}

/* ----- .xlsx: the shared strings column A refers to ----- */

/* A reference to a shared string, sorted by index so that one pass over the shared strings,
 * which come in index order, resolves them all and keeps only the strings column A uses. */
typedef struct string_ref {
	uint32_t string_index;
	size_t cell; /* in the pendings */
} string_ref;

static int string_ref_compare(const void *a, const void *b)
{
	const string_ref *x = a, *y = b;
	if (x->string_index != y->string_index)
		return x->string_index < y->string_index ? -1 : 1;
	return x->cell < y->cell ? -1 : x->cell > y->cell;
}

typedef struct strings {
	parse *p;
	pendings *cells;
	const string_ref *refs;
	size_t refs_count, next; /* refs[next..] are not resolved yet */
	uint32_t index;          /* of the current <si> */
	bool in_si, in_text, in_phonetic, wanted;
	cellbuf text;
} strings;

static walk_next strings_complete(strings *st)
{
	while (st->next < st->refs_count && st->refs[st->next].string_index == st->index) {
		pending *c = &st->cells->items[st->refs[st->next].cell];
		if (!(c->text = malloc(st->text.len + 1))) {
			import_fail(st->p, IMPORT_ERR_NOMEM, "out of memory");
			return WALK_STOP;
		}
		memcpy(c->text, st->text.bytes, st->text.len + 1);
		st->next++;
	}
	st->in_si = st->in_text = st->in_phonetic = false;
	st->index++;
	return st->next == st->refs_count ? WALK_STOP : WALK_CONTINUE;
}

static walk_next strings_element(strings *st, xmlTextReaderPtr r)
{
	bool empty = xmlTextReaderIsEmptyElement(r);
	if (is_sml(r, "si")) {
		if (st->in_si)
			return import_fail(st->p, IMPORT_ERR_MALFORMED, "shared string %u: <si> inside <si>",
			                   st->index),
			       WALK_STOP;
		st->in_si = true;
		st->wanted = st->next < st->refs_count && st->refs[st->next].string_index == st->index;
		st->text.len = 0;
		st->text.bytes[0] = '\0';
		return empty ? strings_complete(st) : WALK_CONTINUE;
	}
	if (st->in_si && is_sml(r, "rPh"))
		st->in_phonetic = !empty;
	else if (st->in_si && is_sml(r, "t") && !st->in_phonetic)
		st->in_text = !empty;
	return WALK_CONTINUE;
}

static walk_next strings_visit(void *ctx, xmlTextReaderPtr r, int type)
{
	strings *st = ctx;
	if (type == XML_READER_TYPE_ELEMENT)
		return strings_element(st, r);
	if (type == XML_READER_TYPE_END_ELEMENT) {
		if (st->in_si && is_sml(r, "si"))
			return strings_complete(st);
		if (is_sml(r, "t"))
			st->in_text = false;
		else if (is_sml(r, "rPh"))
			st->in_phonetic = false;
		return WALK_CONTINUE;
	}
	bool text = type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
	            type == XML_READER_TYPE_WHITESPACE || type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE;
	const char *value = text && st->in_text && st->wanted ? (const char *)xmlTextReaderConstValue(r) : NULL;
	if (value && !cellbuf_append(&st->text, value, strlen(value)))
		import_fail(st->p, IMPORT_ERR_CELL_TOO_LARGE, "row %u: the first cell has more than %u bytes",
		            st->cells->items[st->refs[st->next].cell].row, IMPORT_CELL_BYTES_MAX);
	return WALK_CONTINUE;
}

static void strings_resolve(xlsx *x, const workbook *wb, pendings *cells)
{
	size_t count = 0;
	for (size_t i = 0; i < cells->count; i++)
		count += cells->items[i].shared;
	if (count == 0)
		return;
	string_ref *refs = malloc(count * sizeof *refs);
	if (!refs) {
		import_fail(x->p, IMPORT_ERR_NOMEM, "out of memory");
		return;
	}
	for (size_t i = 0, k = 0; i < cells->count; i++)
		if (cells->items[i].shared)
			refs[k++] = (string_ref){.string_index = cells->items[i].string_index, .cell = i};
	qsort(refs, count, sizeof *refs, string_ref_compare);
	uint8_t *xml;
	size_t n;
	if (!zip_read_entry(x, wb->strings_path, true, &xml, &n)) {
		strings *st = calloc(1, sizeof *st);
		if (!st)
			import_fail(x->p, IMPORT_ERR_NOMEM, "out of memory");
		else {
			*st = (strings){.p = x->p, .cells = cells, .refs = refs, .refs_count = count};
			xml_walk(x->p, wb->strings_path, xml, n, strings_visit, st);
			if (!x->p->err && st->next < count)
				import_fail(x->p, IMPORT_ERR_MALFORMED, "row %u: shared string %u does not exist",
				            cells->items[refs[st->next].cell].row, refs[st->next].string_index);
			free(st);
		}
		free(xml);
	}
	free(refs);
}

/* ----- .xlsx: the archive ----- */

static zip_t *xlsx_open(parse *p, const uint8_t *bytes, size_t n)
{
	zip_error_t error;
	zip_error_init(&error);
	zip_t *zip = NULL;
	zip_source_t *src = zip_source_buffer_create(bytes, n, 0, &error);
	if (src && !(zip = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &error)))
		zip_source_free(src);
	if (!zip)
		import_fail(p, src ? IMPORT_ERR_MALFORMED : IMPORT_ERR_NOMEM,
		            "not a readable zip archive (truncated?): %s", zip_error_strerror(&error));
	zip_error_fini(&error);
	return zip;
}

/*
 * .xlsx: xl/workbook.xml names the first sheet, xl/_rels/workbook.xml.rels its part; column A
 * of that part is collected with shared strings as indices, then the shared strings part is
 * read for those indices only. Entries are inflated into memory, each checked against the
 * limits before and while inflating.
 */
void import_xlsx_read(parse *p, const uint8_t *bytes, size_t n)
{
	xmlInitParser();
	xlsx x = {.p = p, .zip = xlsx_open(p, bytes, n)};
	if (!x.zip)
		return;
	workbook wb = {.p = p};
	pendings cells = {0};
	if (!zip_check_declared(&x) && !workbook_read(&x, &wb)) {
		sheet_read(&x, &wb, &cells);
		if (!p->err)
			strings_resolve(&x, &wb, &cells);
	}
	for (size_t i = 0; !p->err && i < cells.count; i++) {
		const char *text = cells.items[i].text ? cells.items[i].text : "";
		import_add_cell(p, cells.items[i].row, text, strlen(text));
	}
	pendings_free(&cells);
	zip_discard(x.zip);
}

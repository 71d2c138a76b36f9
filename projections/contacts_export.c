/*
 * contacts_export.c: a firm's contacts base (its external signers) as CSV
 * (docs/platform.md#contacts).
 *
 * The projection holds one entry per external signer added (firm \0 signer id): events name
 * external signers by id only, so who they are is opened here from the sealed store
 * (signer_identity.c), and the entries of one email are merged into one row. An erased signer
 * does not open: their row shows the id and "effacé", and no email or phone.
 */
#include "commands.h"
#include "csv_cell.h"
#include "signer_identity.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTACTS_MAX 100000u

/* One row: a signer id's identity, opened; merged with the others of the same email. */
typedef struct contact_row {
	char *email, *name, *phone, *signer_id; /* in the arena; email "" once erased */
	uint32_t collections;
	int64_t last_at_us;
} contact_row;

typedef struct contacts_ctx {
	proj *p;
	MDB_txn *txn;
	proj_arena *arena;
	contact_row *rows;
	size_t count, cap;
	char *csv;
	size_t bytes, csv_cap;
	bool failed;
} contacts_ctx;

static bool csv_append(contacts_ctx *c, const char *field, bool last)
{
	size_t n = strlen(field);
	size_t need = PROJ_CSV_CELL_BYTES_MAX(n) + 2; /* the cell, a separator or CR LF */
	if (c->bytes + need > c->csv_cap) {
		size_t cap = c->csv_cap ? 2 * c->csv_cap : 4096;
		while (cap < c->bytes + need)
			cap *= 2;
		char *grown = realloc(c->csv, cap);
		if (!grown)
			return !(c->failed = true);
		c->csv = grown;
		c->csv_cap = cap;
	}
	c->bytes += proj_csv_cell(c->csv + c->bytes, field); /* quoted, formulas neutralised */
	c->csv[c->bytes++] = last ? '\r' : ',';
	if (last)
		c->csv[c->bytes++] = '\n';
	return true;
}

/* Opens one entry's identity into a new row. */
static bool contact_read(contacts_ctx *c, const MDB_val *v)
{
	Ledger__State__Contact *s = ledger__state__contact__unpack(NULL, v->mv_size, v->mv_data);
	if (!s)
		return false;
	Ledger__State__Signer as_signer = LEDGER__STATE__SIGNER__INIT;
	as_signer.signer = s->signer;
	as_signer.kind = LEDGER__EVENTS__SIGNER_KIND__SIGNER_EXTERNAL;
	as_signer.sealed_email = s->sealed_email;
	as_signer.sealed_name = s->sealed_name;
	proj_signer_identity who;
	char phone[64] = "", subject[PROJ_EMAIL_BYTES_MAX + 1];
	if (proj_signer_identity_of(c->p, c->txn, &as_signer, &who) && s->phone && s->phone->sha256.len == 32 &&
	    proj_signer_subject(c->p, c->txn, s->signer, subject) == LEDGER_OK)
		proj_personal_open(c->p, c->txn, subject, s->phone->sha256.data, phone, sizeof phone);
	contact_row *r = &c->rows[c->count];
	*r = (contact_row){.email = proj_arena_strdup(c->arena, who.email),
	                   .name = proj_arena_strdup(c->arena, who.name),
	                   .phone = proj_arena_strdup(c->arena, phone),
	                   .signer_id = proj_arena_strdup(c->arena, who.erased ? s->signer : ""),
	                   .collections = s->collections,
	                   .last_at_us = s->last_at_us};
	sodium_memzero(&who, sizeof who);
	sodium_memzero(phone, sizeof phone);
	ledger__state__contact__free_unpacked(s, NULL);
	c->count++;
	return r->email && r->name && r->phone && r->signer_id;
}

static ledger_err contacts_read(contacts_ctx *c, const char *firm_id)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(c->txn, c->p->contacts, &cur);
	if (rc)
		return ledger_mdb_err(rc);
	size_t prefix = strlen(firm_id) + 1;
	MDB_val k = {prefix, (void *)firm_id}, v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && c->count < CONTACTS_MAX;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < prefix || memcmp(k.mv_data, firm_id, prefix) != 0)
			break;
		if (c->count == c->cap) {
			size_t cap = c->cap ? 2 * c->cap : 64;
			contact_row *grown = realloc(c->rows, cap * sizeof *grown);
			if (!grown)
				break;
			c->rows = grown, c->cap = cap;
		}
		if (!contact_read(c, &v)) {
			c->failed = true;
			break;
		}
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? LEDGER_OK : ledger_mdb_err(rc);
}

/* Rows in email order; erased rows (no email) last, by id. */
static int row_order(const void *a, const void *b)
{
	const contact_row *x = a, *y = b;
	if (!x->email[0] || !y->email[0])
		return x->email[0] != y->email[0] ? (x->email[0] ? -1 : 1) : strcmp(x->signer_id, y->signer_id);
	return strcmp(x->email, y->email);
}

/* Merges the sorted rows of one email: their collections add up, the latest name and phone win. */
static size_t rows_merge(contact_row *rows, size_t n)
{
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		contact_row *last = out ? &rows[out - 1] : NULL;
		if (last && rows[i].email[0] && strcmp(last->email, rows[i].email) == 0) {
			last->collections += rows[i].collections;
			if (rows[i].last_at_us >= last->last_at_us) {
				last->name = rows[i].name, last->phone = rows[i].phone;
				last->last_at_us = rows[i].last_at_us;
			}
			continue;
		}
		rows[out++] = rows[i];
	}
	return out;
}

static bool contacts_write(contacts_ctx *c, size_t n)
{
	bool ok = csv_append(c, "email", false) && csv_append(c, "name", false) && csv_append(c, "phone", false) &&
	          csv_append(c, "collections", false) && csv_append(c, "last_used", false) &&
	          csv_append(c, "signer_id", true);
	for (size_t i = 0; ok && i < n; i++) {
		char collections[16], last[11];
		snprintf(collections, sizeof collections, "%u", c->rows[i].collections);
		proj_paris_date(c->rows[i].last_at_us, 0, last);
		ok = csv_append(c, c->rows[i].email, false) && csv_append(c, c->rows[i].name, false) &&
		     csv_append(c, c->rows[i].phone, false) && csv_append(c, collections, false) &&
		     csv_append(c, last, false) && csv_append(c, c->rows[i].signer_id, true);
	}
	return ok;
}

void proj_contacts_export(proj *p, MDB_txn *txn, const char *firm_id, Ledger__Api__Reply *reply, proj_arena *arena)
{
	contacts_ctx c = {.p = p, .txn = txn, .arena = arena};
	ledger_err err = contacts_read(&c, firm_id);
	size_t n = 0;
	if (!err && !c.failed) {
		if (c.count > 1)
			qsort(c.rows, c.count, sizeof *c.rows, row_order);
		n = rows_merge(c.rows, c.count);
		c.failed = !contacts_write(&c, n);
	}
	Ledger__Api__ContactsReply *r = proj_arena_alloc(arena, sizeof *r);
	uint8_t *bytes = proj_arena_alloc(arena, c.bytes + 1);
	free(c.rows);
	if (err || c.failed || !r || !bytes) {
		free(c.csv);
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__INTERNAL, NULL, "cannot export the contacts of %s",
		           firm_id);
		return;
	}
	memcpy(bytes, c.csv, c.bytes);
	free(c.csv);
	ledger__api__contacts_reply__init(r);
	r->csv = (ProtobufCBinaryData){c.bytes, bytes};
	r->contacts = (uint32_t)n;
	reply->result_case = LEDGER__API__REPLY__RESULT_CONTACTS;
	reply->contacts = r;
}

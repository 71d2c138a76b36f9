/*
 * collection_service.c: the service's side of collections, acted as actor "ledgerd": timers that
 * are due (expiries, automatic reminders) and the signatures the service owes (the signer
 * thread's queue, and recording what it produced or that it failed).
 */
#include "commands.h"
#include "signer_identity.h"

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Ledger__State__Collection collection;

/* ----- the service: timers ----- */

typedef struct timer {
	char kind;
	char firm_id[PROJ_FIRM_ID_BYTES_MAX + 1];
	char collection_id[32];
} timer;

/* A timers key after its instant: kind, firm \0 collection id. */
static bool take_timer(void *list, size_t i, const char *rest, size_t rest_bytes)
{
	if (rest_bytes < 4)
		return false;
	const char *firm = rest + 1;
	size_t firm_len = strnlen(firm, rest_bytes - 1);
	size_t id_len = rest_bytes - 2 - firm_len;
	timer *t = (timer *)list + i;
	if (firm_len > PROJ_FIRM_ID_BYTES_MAX || firm_len + 2 > rest_bytes || id_len >= sizeof t->collection_id)
		return false;
	t->kind = rest[0];
	memcpy(t->firm_id, firm, firm_len);
	t->firm_id[firm_len] = '\0';
	memcpy(t->collection_id, firm + firm_len + 1, id_len);
	t->collection_id[id_len] = '\0';
	return true;
}

ledger_err proj_collections_due(proj *p, ledger_txn *t, size_t max, size_t *count)
{
	*count = 0;
	timer *list = calloc(max ? max : 1, sizeof *list);
	if (!list)
		return LEDGER_ERR_NOMEM;
	size_t n = 0;
	ledger_err err = proj_due_each(ledger_txn_mdb(t), p->timers, ledger_txn_time_us(t), take_timer, list, max, &n);
	for (size_t i = 0; !err && i < n; i++) {
		uint64_t before = ledger_txn_next_seq(t);
		err = list[i].kind == 'E' ? proj_collection_expire(p, t, list[i].firm_id, list[i].collection_id)
		                          : proj_collection_remind(p, t, list[i].firm_id, list[i].collection_id);
		/* Counted only if it wrote: a reminder with nobody in turn (their signatures are being
		 * made) stays due and is looked at again, without making the scan look full. */
		if (!err && ledger_txn_next_seq(t) != before)
			(*count)++;
	}
	free(list);
	return err;
}

/* ----- the service: signatures owed ----- */

static bool fill_task(proj *p, MDB_txn *txn, const collection *c, const char *signer, proj_sign_task *task)
{
	bool seal = strncmp(signer, PROJ_SEAL_SIGNER_PREFIX, strlen(PROJ_SEAL_SIGNER_PREFIX)) == 0;
	ssize_t s = seal ? -1 : proj_collection_signer(c, signer);
	if (!seal && s < 0)
		return false;
	for (size_t i = 0; i < c->n_documents; i++) {
		const Ledger__State__Document *d = c->documents[i];
		bool done = false;
		for (size_t j = 0; j < d->n_signed_by; j++)
			done |= strcmp(d->signed_by[j], signer) == 0;
		if (done)
			continue;
		memset(task, 0, sizeof *task);
		snprintf(task->firm_id, sizeof task->firm_id, "%s", c->firm_id);
		snprintf(task->collection_id, sizeof task->collection_id, "%s", c->collection_id);
		snprintf(task->signer, sizeof task->signer, "%s", signer);
		task->seal = seal;
		Ledger__State__Firm *firm;
		if (proj_firm_get(p, txn, c->firm_id, &firm) == LEDGER_OK) {
			snprintf(task->firm_name, sizeof task->firm_name, "%s", firm->name);
			ledger__state__firm__free_unpacked(firm, NULL);
		}
		Ledger__State__Preferences prefs;
		if (proj_preferences_get(p, txn, c->firm_id, &prefs) == LEDGER_OK)
			task->signature_level = (int)prefs.signature_level;
		task->external = !seal && c->signers[s]->kind == LEDGER__EVENTS__SIGNER_KIND__SIGNER_EXTERNAL;
		if (seal)
			snprintf(task->signer_name, sizeof task->signer_name, "%s", task->firm_name);
		else {
			/* An external signer's certificate names them: opened from the sealed store (an
			 * erased signer's does not open, and their signature fails on the empty email). */
			proj_signer_identity who;
			proj_signer_identity_of(p, txn, c->signers[s], &who);
			snprintf(task->signer_name, sizeof task->signer_name, "%s", who.erased ? "" : who.name);
			snprintf(task->signer_email, sizeof task->signer_email, "%s", who.email);
			snprintf(task->signer_given_name, sizeof task->signer_given_name, "%s", who.given_name);
			snprintf(task->signer_surname, sizeof task->signer_surname, "%s", who.surname);
		}
		memcpy(task->original_sha256, d->sha256.data, LEDGER_HASH_BYTES);
		task->failure_recorded = d->failure && d->failure[0];
		memcpy(task->source_sha256, d->current_sha256.data, LEDGER_HASH_BYTES);
		for (size_t f = 0; !seal && f < c->signers[s]->n_fields; f++) {
			const Ledger__State__Field *field = c->signers[s]->fields[f];
			if (field->document_sha256.len == LEDGER_HASH_BYTES &&
			    memcmp(field->document_sha256.data, d->sha256.data, LEDGER_HASH_BYTES) == 0) {
				task->visible = true;
				task->page = field->page;
				task->x0 = field->x0, task->y0 = field->y0, task->x1 = field->x1, task->y1 = field->y1;
			}
		}
		return true;
	}
	return false;
}

typedef struct sign_scan {
	proj *p;
	MDB_txn *txn;
	const ProtobufCAllocator *alloc;
	bool (*skip)(void *ctx, const proj_sign_task *task);
	void *skip_ctx;
	proj_sign_task *task;
	bool found;
} sign_scan;

/* One sign_queue entry: firm \0 collection id \0 signer. */
static bool sign_visit(void *ctx, const void *k, size_t key_bytes, const void *val, size_t val_bytes)
{
	sign_scan *s = ctx;
	(void)val, (void)val_bytes;
	char key[PROJ_FIRM_ID_BYTES_MAX + 32 + PROJ_EMAIL_BYTES_MAX + 8];
	if (key_bytes >= sizeof key)
		return true;
	memcpy(key, k, key_bytes);
	key[key_bytes] = '\0';
	const char *firm = key, *id = firm + strlen(firm) + 1;
	if (id >= key + key_bytes)
		return true;
	const char *signer = id + strlen(id) + 1;
	if (signer >= key + key_bytes)
		return true;
	collection *c;
	s->found = proj_collection_get(s->p, s->txn, firm, id, s->alloc, &c) == LEDGER_OK &&
	           fill_task(s->p, s->txn, c, signer, s->task) && !(s->skip && s->skip(s->skip_ctx, s->task));
	return !s->found;
}

ledger_err proj_sign_next(proj *p, MDB_txn *txn, bool (*skip)(void *ctx, const proj_sign_task *task), void *skip_ctx,
                          proj_sign_task *task)
{
	proj_arena *arena = proj_arena_new();
	if (!arena)
		return LEDGER_ERR_NOMEM;
	ProtobufCAllocator alloc;
	proj_arena_allocator(arena, &alloc);
	sign_scan s = {.p = p, .txn = txn, .alloc = &alloc, .skip = skip, .skip_ctx = skip_ctx, .task = task};
	proj_kv kv = proj_kv_of_txn(txn);
	ledger_err err = proj_kv_scan(&kv, p->sign_queue, "", 0, sign_visit, &s);
	proj_arena_free(arena);
	if (err)
		return err;
	return s.found ? LEDGER_OK : LEDGER_END;
}

/* A hash of the task or the result, as an event's bytes field. */
static ProtobufCBinaryData hash_bytes(const uint8_t hash[LEDGER_HASH_BYTES])
{
	return (ProtobufCBinaryData){LEDGER_HASH_BYTES, (uint8_t *)hash};
}

ledger_err proj_sign_failed(proj *p, ledger_txn *t, const proj_sign_task *task, const char *reason, bool *stale)
{
	*stale = true;
	proj_arena *arena;
	collection *c;
	proj_sign_task now;
	ledger_err err =
	    proj_collection_get_arena(p, ledger_txn_mdb(t), task->firm_id, task->collection_id, &arena, &c);
	if (!err && c->state == LEDGER__EVENTS__COLLECTION_STATE__STATE_IN_PROGRESS &&
	    fill_task(p, ledger_txn_mdb(t), c, task->signer, &now) &&
	    memcmp(now.source_sha256, task->source_sha256, LEDGER_HASH_BYTES) == 0) {
		*stale = false;
		char text[PROJ_COMMENT_BYTES_MAX + 1];
		snprintf(text, sizeof text, "%s", reason); /* bounded: the event stays small */
		proj_utf8_repair(text);                    /* the cut may split a character: proto3 strings are UTF-8 */
		Ledger__Events__SignatureFailed f = LEDGER__EVENTS__SIGNATURE_FAILED__INIT;
		f.collection_id = c->collection_id;
		f.signer = (char *)task->signer;
		f.original_sha256 = hash_bytes(task->original_sha256);
		f.source_sha256 = hash_bytes(task->source_sha256);
		f.reason = text;
		Ledger__Events__Event ev = PROJ_EVENT(SIGNATURE_FAILED, signature_failed, &f);
		err = proj_emit(p, t, "ledgerd", "signer", c->firm_id, &ev, NULL, NULL);
	}
	proj_arena_free(arena);
	return err == LEDGER_END ? LEDGER_OK : err;
}

bool proj_collection_all_signed(const collection *c)
{
	if (c->kind == LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL) {
		for (size_t i = 0; i < c->n_documents; i++)
			if (c->documents[i]->n_signed_by == 0)
				return false;
		return c->n_documents > 0;
	}
	for (size_t i = 0; i < c->n_signers; i++)
		if (!c->signers[i]->signed_)
			return false;
	return c->n_signers > 0;
}

ledger_err proj_sign_record(proj *p, ledger_txn *t, const proj_sign_task *task, const proj_signed *result, bool *stale)
{
	*stale = true;
	MDB_txn *txn = ledger_txn_mdb(t);
	proj_arena *arena;
	collection *c;
	ledger_err err = proj_collection_get_arena(p, txn, task->firm_id, task->collection_id, &arena, &c);
	ssize_t d = err ? -1 : proj_collection_document(c, task->original_sha256, LEDGER_HASH_BYTES);
	proj_sign_task now;
	/* Still owed, and still over the same version? Else the task moved on: write nothing. */
	if (d < 0 || c->state != LEDGER__EVENTS__COLLECTION_STATE__STATE_IN_PROGRESS ||
	    !fill_task(p, txn, c, task->signer, &now) ||
	    memcmp(now.original_sha256, task->original_sha256, LEDGER_HASH_BYTES) != 0 ||
	    memcmp(now.source_sha256, task->source_sha256, LEDGER_HASH_BYTES) != 0) {
		proj_arena_free(arena);
		return err == LEDGER_END ? LEDGER_OK : err;
	}
	*stale = false;
	err = ledger_blob_put(t, result->sha256, result->bytes, result->bytes_count);
	/* The certificate's DER beside the log, like a document: the event keeps its SHA-256, and
	 * erasure of an external signer can remove this copy (docs/personal-data.md). */
	uint8_t certificate_sha256[LEDGER_HASH_BYTES];
	bool has_certificate = result->certificate_der_bytes > 0;
	if (has_certificate) {
		crypto_hash_sha256(certificate_sha256, result->certificate_der, result->certificate_der_bytes);
		if (!err)
			err = ledger_blob_put(t, certificate_sha256, result->certificate_der,
			                      result->certificate_der_bytes);
		if (!err && task->external)
			err = proj_signer_certificate_link(p, txn, task->signer, certificate_sha256);
	}
	Ledger__Events__DocumentSigned e = LEDGER__EVENTS__DOCUMENT_SIGNED__INIT;
	e.collection_id = c->collection_id;
	e.signer = (char *)task->signer;
	e.original_sha256 = hash_bytes(task->original_sha256);
	e.source_sha256 = hash_bytes(task->source_sha256);
	e.signed_sha256 = hash_bytes(result->sha256);
	e.bytes = result->bytes_count;
	e.seal = task->seal;
	e.certificate_serial = (char *)result->certificate_serial;
	/* An external signer's certificate subject names them: only the DER beside the log has it. */
	e.certificate_subject = (char *)(task->external ? "" : result->certificate_subject);
	if (has_certificate)
		e.certificate_sha256 = hash_bytes(certificate_sha256);
	e.level = (char *)(result->level ? result->level : "");
	ssize_t who = task->seal ? -1 : proj_collection_signer(c, task->signer);
	if (who >= 0) { /* the signer's consent (or internal signature), and the authentication it rests on */
		e.consent_seq = c->signers[who]->consent_seq;
		e.authentication_seq = c->signers[who]->consent_authentication_seq;
	}
	Ledger__Events__Event ev = PROJ_EVENT(DOCUMENT_SIGNED, document_signed, &e);
	if (!err)
		err = proj_emit(p, t, "ledgerd", "signer", c->firm_id, &ev, NULL, NULL);
	ProtobufCAllocator alloc; /* the collection as the signature left it, in the same arena */
	proj_arena_allocator(arena, &alloc);
	if (!err)
		err = proj_collection_get(p, txn, task->firm_id, task->collection_id, &alloc, &c);
	if (!err && proj_collection_all_signed(c))
		err = proj_collection_complete(p, t, c);
	proj_arena_free(arena);
	return err;
}

/*
 * certificate_commands.c: the certificates ledgerd issues and revokes (docs/signer.md#certificates).
 * A certificate is issued off the committer, by ledgerd's CA, before its command is decided
 * (api/certificates.c): the decision then records what was issued (proj_issued), never a serial
 * or a date chosen by a client. Revocation is a command like any other; the CA learns the
 * revoked set from the folded certificates table (proj_revoked_each).
 */
#include "commands.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* RFC 5280 5.3.1 CRLReason: the names a revocation may give, and their codes. */
static const struct {
	uint32_t code;
	const char *name;
} reasons[] = {
    {0, "unspecified"},          {1, "keyCompromise"},   {3, "affiliationChanged"}, {4, "superseded"},
    {5, "cessationOfOperation"}, {6, "certificateHold"}, {9, "privilegeWithdrawn"},
};
#define REASON_SUPERSEDED 4u
#define REASON_CESSATION  5u
#define COMMENT_BYTES_MAX 128u

const char *proj_revoke_reason_name(uint32_t code)
{
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (reasons[i].code == code)
			return reasons[i].name;
	return NULL;
}

static bool reason_parse(const char *name, uint32_t *code)
{
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (strcmp(reasons[i].name, name) == 0) {
			*code = reasons[i].code;
			return true;
		}
	return false;
}

void proj_date_of_s(int64_t s, char out[11])
{
	time_t t = (time_t)s;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || strftime(out, 11, "%Y-%m-%d", &tm) != 10)
		out[0] = '\0';
}

ledger_err proj_certificate_info(proj *p, MDB_txn *txn, const char *serial, proj_certificate *out)
{
	memset(out, 0, sizeof *out);
	Ledger__State__Certificate *c = NULL;
	proj_kv kv = proj_kv_of_txn(txn);
	ledger_err err = proj_certificate_get_kv(p, &kv, serial, &c);
	if (err)
		return err;
	snprintf(out->owner, sizeof out->owner, "%s", c->owner);
	snprintf(out->not_after, sizeof out->not_after, "%s", c->not_after);
	out->kind = (int)c->kind;
	out->revoked = c->revoked;
	out->revoked_at_us = c->revoked_at_us;
	out->reason_code = c->reason_code;
	out->destroyed = c->destroyed;
	ledger__state__certificate__free_unpacked(c, NULL);
	return LEDGER_OK;
}

/* A seal's subject: the firm's id and name, and "NTRFR-<SIREN>". */
static void seal_subject(proj_certificate_for *out, const char *firm_id, const char *name, const char *siren)
{
	out->seal = true;
	snprintf(out->id, sizeof out->id, "%s", firm_id);
	snprintf(out->name, sizeof out->name, "%s", name);
	snprintf(out->organization_identifier, sizeof out->organization_identifier, "NTRFR-%.9s", siren);
}

/* A person's subject: the given name and surname verified at their latest identity
 * verification, and the commonName "given surname". False if those are not on record. */
static bool person_subject(proj *p, MDB_txn *txn, const char *email, proj_certificate_for *out)
{
	Ledger__State__Registration *r = NULL;
	if (proj_registration_get(p, txn, email, &r) != LEDGER_OK)
		return false;
	proj_identity id;
	bool named = proj_identity_open(p, txn, r, &id) == LEDGER_OK && id.given_name[0] && id.surname[0];
	ledger__state__registration__free_unpacked(r, NULL);
	if (named) {
		snprintf(out->id, sizeof out->id, "%s", email);
		snprintf(out->given_name, sizeof out->given_name, "%s", id.given_name);
		snprintf(out->surname, sizeof out->surname, "%s", id.surname);
		snprintf(out->name, sizeof out->name, "%s %s", id.given_name, id.surname);
	}
	sodium_memzero(&id, sizeof id);
	return named;
}

bool proj_certificate_subject(proj *p, MDB_txn *txn, const Ledger__Api__Request *req, proj_certificate_for *out)
{
	const char *why;
	memset(out, 0, sizeof *out);
	if (req->body_case == LEDGER__API__REQUEST__BODY_FIRM_ADD) { /* a new firm: its seal comes with it */
		const Ledger__Api__FirmAdd *c = req->firm_add;
		Ledger__State__Firm *f = NULL;
		if (!proj_firm_id_valid(c->firm_id) || !proj_name_valid(c->name) ||
		    proj_siren_check(c->siren) != PROJ_SIREN_OK ||
		    proj_firm_get(p, txn, c->firm_id, &f) != LEDGER_END) {
			if (f)
				ledger__state__firm__free_unpacked(f, NULL);
			return false;
		}
		seal_subject(out, c->firm_id, c->name, c->siren);
		return true;
	}
	if (req->body_case == LEDGER__API__REQUEST__BODY_SEAL_ISSUE) {
		Ledger__State__Firm *f = NULL;
		if (!proj_firm_id_valid(req->seal_issue->firm_id) ||
		    proj_firm_get(p, txn, req->seal_issue->firm_id, &f) != LEDGER_OK)
			return false;
		bool has_siren = f->siren[0] != '\0'; /* else refused: proj_decide_seal_issue */
		if (has_siren)
			seal_subject(out, f->firm_id, f->name, f->siren);
		ledger__state__firm__free_unpacked(f, NULL);
		return has_siren;
	}
	char email[PROJ_EMAIL_BYTES_MAX + 1];
	Ledger__State__Account *a = NULL;
	if (req->body_case != LEDGER__API__REQUEST__BODY_REGISTRATION_RECORD ||
	    !proj_email_normalise(req->registration_record->subject, email, &why) ||
	    proj_account_get(p, txn, email, &a) != LEDGER_OK)
		return false;
	ledger__state__account__free_unpacked(a, NULL);
	return person_subject(p, txn, email, out);
}

typedef struct revoked_scan {
	proj_revoked_visit visit;
	void *ctx;
	ledger_err err;
	bool kept_only; /* only those whose key is not destroyed yet */
} revoked_scan;

static bool revoked_row(void *ctx, const void *key, size_t key_bytes, const void *val, size_t val_bytes)
{
	(void)key, (void)key_bytes;
	revoked_scan *s = ctx;
	Ledger__State__Certificate *c = ledger__state__certificate__unpack(NULL, val_bytes, val);
	if (!c) {
		s->err = LEDGER_ERR_CORRUPT;
		return false;
	}
	bool wanted = c->revoked && !(s->kept_only && c->destroyed);
	bool more = !wanted || s->visit(s->ctx, c->serial, c->revoked_at_us, c->reason_code);
	ledger__state__certificate__free_unpacked(c, NULL);
	return more;
}

ledger_err proj_revoked_each(proj *p, MDB_txn *txn, proj_revoked_visit visit, void *ctx)
{
	revoked_scan s = {visit, ctx, LEDGER_OK, false};
	proj_kv kv = proj_kv_of_txn(txn);
	ledger_err err = proj_kv_scan(&kv, p->certificates, "", 0, revoked_row, &s);
	return err ? err : s.err;
}

ledger_err proj_revoked_kept_each(proj *p, MDB_txn *txn, proj_revoked_visit visit, void *ctx)
{
	revoked_scan s = {visit, ctx, LEDGER_OK, true};
	proj_kv kv = proj_kv_of_txn(txn);
	ledger_err err = proj_kv_scan(&kv, p->certificates, "", 0, revoked_row, &s);
	return err ? err : s.err;
}

ledger_err proj_record_key_destroyed(proj *p, ledger_txn *t, const char *serial, const char *key_id, const char *reason)
{
	proj_certificate info;
	ledger_err err = proj_certificate_info(p, ledger_txn_mdb(t), serial, &info);
	if (err == LEDGER_END || (!err && info.destroyed))
		return LEDGER_OK; /* not ours to record, or recorded already */
	if (err)
		return err;
	char file_id[PROJ_SERIAL_BYTES + 8];
	snprintf(file_id, sizeof file_id, "file:%s", serial);
	Ledger__Events__KeyDestroyed e = LEDGER__EVENTS__KEY_DESTROYED__INIT;
	e.kind = (Ledger__Events__KeyKind)info.kind;
	e.key_id = key_id && key_id[0] ? (char *)key_id : file_id;
	e.certificate_serial = (char *)serial;
	e.reason = (char *)reason;
	e.owner = info.owner;
	Ledger__Events__Event ev = PROJ_EVENT(KEY_DESTROYED, key_destroyed, &e);
	return proj_emit(p, t, "ledgerd", "signer", info.kind == LEDGER__EVENTS__KEY_KIND__KEY_SEAL ? info.owner : NULL,
	                 &ev, NULL, NULL);
}

ledger_err proj_signing_serial(proj *p, MDB_txn *txn, const proj_sign_task *task, char serial[PROJ_SERIAL_BYTES])
{
	serial[0] = '\0';
	if (task->seal) {
		Ledger__State__Firm *f = NULL;
		ledger_err err = proj_firm_get(p, txn, task->firm_id, &f);
		if (err)
			return err;
		snprintf(serial, PROJ_SERIAL_BYTES, "%s", f->seal_serial);
		ledger__state__firm__free_unpacked(f, NULL);
	} else {
		Ledger__State__Registration *r = NULL;
		ledger_err err = proj_registration_get(p, txn, task->signer, &r);
		if (err)
			return err;
		snprintf(serial, PROJ_SERIAL_BYTES, "%s", r->certificate_serial);
		ledger__state__registration__free_unpacked(r, NULL);
	}
	return serial[0] ? LEDGER_OK : LEDGER_END;
}

/* Emits CertificateRevoked for serial (of owner) unless the table has it revoked already. */
static ledger_err revoke(proj *p, ledger_txn *t, const char *actor, const char *request_id, const char *firm_id,
                         const char *serial, const char *owner, uint32_t code, const char *comment, bool *revoked)
{
	proj_certificate info;
	ledger_err err = proj_certificate_info(p, ledger_txn_mdb(t), serial, &info);
	*revoked = false;
	if (err == LEDGER_OK && info.revoked)
		return LEDGER_OK;
	if (err && err != LEDGER_END) /* a serial of a log older than ledgerd's issuing is revoked too */
		return err;
	Ledger__Events__CertificateRevoked e = LEDGER__EVENTS__CERTIFICATE_REVOKED__INIT;
	e.serial = (char *)serial;
	e.reason = (char *)proj_revoke_reason_name(code);
	e.reason_code = code;
	e.owner = (char *)owner;
	e.comment = (char *)comment;
	Ledger__Events__Event ev = PROJ_EVENT(CERTIFICATE_REVOKED, certificate_revoked, &e);
	*revoked = true;
	return proj_emit(p, t, actor, request_id, firm_id, &ev, NULL, NULL);
}

ledger_err proj_revoke_subject(proj *p, ledger_txn *t, const char *actor, const char *request_id, const char *subject,
                               bool superseded)
{
	Ledger__State__Registration *r = NULL;
	ledger_err err = proj_registration_get(p, ledger_txn_mdb(t), subject, &r);
	if (err == LEDGER_END)
		return LEDGER_OK;
	if (err)
		return err;
	bool revoked = false;
	if (r->certificate_serial[0])
		err = revoke(p, t, actor, request_id, NULL, r->certificate_serial, subject,
		             superseded ? REASON_SUPERSEDED : REASON_CESSATION, superseded ? "superseded" : "erasure",
		             &revoked);
	ledger__state__registration__free_unpacked(r, NULL);
	return err;
}

ledger_err proj_record_issued(proj *p, ledger_txn *t, const char *actor, const char *request_id, const char *firm_id,
                              int kind, const char *owner, const proj_issued *issued)
{
	ledger_err err = issued->der ? ledger_blob_put(t, issued->sha256, issued->der, issued->der_bytes) : LEDGER_OK;
	if (err)
		return err;
	char key_id[PROJ_KEY_ID_BYTES], not_after[11];
	snprintf(key_id, sizeof key_id, "%s", issued->key_id);
	if (!key_id[0])
		snprintf(key_id, sizeof key_id, "file:%s", issued->serial);
	proj_date_of_s(issued->not_after_s, not_after);
	Ledger__Events__KeyCreated e = LEDGER__EVENTS__KEY_CREATED__INIT;
	e.kind = (Ledger__Events__KeyKind)kind;
	e.key_id = key_id;
	e.certificate_serial = (char *)issued->serial;
	if (issued->der)
		e.certificate_sha256 = (ProtobufCBinaryData){LEDGER_HASH_BYTES, (uint8_t *)issued->sha256};
	e.certificate_not_after = not_after;
	e.owner = (char *)owner;
	Ledger__Events__Event ev = PROJ_EVENT(KEY_CREATED, key_created, &e);
	return proj_emit(p, t, actor, request_id, firm_id, &ev, NULL, NULL);
}

ledger_err proj_record_one_shot(proj *p, ledger_txn *t, const char *firm_id, const proj_issued *issued, bool destroyed)
{
	ledger_err err =
	    proj_record_issued(p, t, "ledgerd", "signer", firm_id, LEDGER__EVENTS__KEY_KIND__KEY_ONE_SHOT, "", issued);
	if (err)
		return err;
	char key_id[PROJ_KEY_ID_BYTES];
	snprintf(key_id, sizeof key_id, "%s", issued->key_id);
	if (!key_id[0])
		snprintf(key_id, sizeof key_id, "file:%s", issued->serial);
	Ledger__Events__KeyDestroyed e = LEDGER__EVENTS__KEY_DESTROYED__INIT;
	e.kind = LEDGER__EVENTS__KEY_KIND__KEY_ONE_SHOT;
	e.key_id = key_id;
	e.certificate_serial = (char *)issued->serial;
	e.reason = destroyed ? "used once" : "used once; the key could not be destroyed";
	Ledger__Events__Event ev = PROJ_EVENT(KEY_DESTROYED, key_destroyed, &e);
	return proj_emit(p, t, "ledgerd", "signer", firm_id, &ev, NULL, NULL);
}

/* The command's reply names its last event (jobs.c completes it from the log's head). */
static ledger_err mark_last(proj_emitter *em)
{
	uint8_t *hash = proj_arena_alloc(em->arena, LEDGER_HASH_BYTES);
	if (!hash)
		return LEDGER_ERR_NOMEM;
	ledger_txn_head(em->t, &em->reply->seq, hash);
	em->reply->hash = (ProtobufCBinaryData){LEDGER_HASH_BYTES, hash};
	return LEDGER_OK;
}

/* Which certificate a CertificateRevoke names, and may the actor revoke it? The serial into
 * serial; false with the reply's error otherwise. */
static bool revoke_target(proj_emitter *em, const Ledger__Api__CertificateRevoke *c, char *owner,
                          char serial[PROJ_SERIAL_BYTES], ledger_err *err)
{
	MDB_txn *txn = ledger_txn_mdb(em->t);
	const char *why;
	*err = LEDGER_OK;
	if (!c->subject[0] == !c->firm_id[0])
		return proj_error(em->reply, em->arena, ERROR_CODE(INVALID_ARGUMENT), "subject",
		                  "name exactly one of subject (a person's certificate) and firm_id (a firm's seal)"),
		       false;
	if (c->firm_id[0]) {
		if (!em->actor->platform)
			return proj_error(em->reply, em->arena, ERROR_CODE(PERMISSION_DENIED), "firm_id",
			                  "a seal is revoked by the platform role; %s does not have it",
			                  em->actor->subject),
			       false;
		Ledger__State__Firm *f = NULL;
		if (!proj_firm_id_valid(c->firm_id) ||
		    (*err = proj_firm_get(em->p, txn, c->firm_id, &f)) != LEDGER_OK) {
			if (*err == LEDGER_END || *err == LEDGER_OK)
				*err = LEDGER_OK;
			return proj_error(em->reply, em->arena, ERROR_CODE(NOT_FOUND), "firm_id", "no firm %.64s",
			                  c->firm_id),
			       false;
		}
		snprintf(serial, PROJ_SERIAL_BYTES, "%s", f->seal_serial);
		snprintf(owner, PROJ_EMAIL_BYTES_MAX + 1, "%s", f->firm_id);
		ledger__state__firm__free_unpacked(f, NULL);
		if (!serial[0])
			return proj_error(em->reply, em->arena, ERROR_CODE(NOT_FOUND), "firm_id",
			                  "firm %s has no seal certificate", owner),
			       false;
		return true;
	}
	if (!proj_email_normalise(c->subject, owner, &why))
		return proj_error(em->reply, em->arena, ERROR_CODE(INVALID_ARGUMENT), "subject",
		                  "subject \"%.64s\": %s", c->subject, why),
		       false;
	if (!em->actor->platform && strcmp(owner, em->actor->subject) != 0)
		return proj_error(em->reply, em->arena, ERROR_CODE(PERMISSION_DENIED), "subject",
		                  "only %s and the platform may revoke this certificate", owner),
		       false;
	Ledger__State__Registration *r = NULL;
	*err = proj_registration_get(em->p, txn, owner, &r);
	if (*err && *err != LEDGER_END)
		return false;
	*err = LEDGER_OK;
	snprintf(serial, PROJ_SERIAL_BYTES, "%s", r ? r->certificate_serial : "");
	if (r)
		ledger__state__registration__free_unpacked(r, NULL);
	if (!serial[0])
		return proj_error(em->reply, em->arena, ERROR_CODE(NOT_FOUND), "subject", "%s has no certificate",
		                  owner),
		       false;
	return true;
}

ledger_err proj_decide_certificate_revoke(proj_emitter *em, const Ledger__Api__CertificateRevoke *c)
{
	uint32_t code = 0;
	if (!reason_parse(c->reason, &code))
		return proj_error(
		           em->reply, em->arena, ERROR_CODE(INVALID_ARGUMENT), "reason",
		           "reason \"%.48s\": an RFC 5280 reason: keyCompromise, affiliationChanged, superseded, "
		           "cessationOfOperation, certificateHold, privilegeWithdrawn or unspecified",
		           c->reason),
		       LEDGER_OK;
	if (c->comment[0] && !proj_text_valid(c->comment, COMMENT_BYTES_MAX))
		return proj_error(em->reply, em->arena, ERROR_CODE(INVALID_ARGUMENT), "comment",
		                  "comment: at most %u bytes of text", COMMENT_BYTES_MAX),
		       LEDGER_OK;
	char owner[PROJ_EMAIL_BYTES_MAX + 1], serial[PROJ_SERIAL_BYTES];
	ledger_err err;
	if (!revoke_target(em, c, owner, serial, &err))
		return err;
	bool revoked = false;
	err = revoke(em->p, em->t, em->actor->subject, em->request_id, c->firm_id[0] ? c->firm_id : NULL, serial, owner,
	             code, c->comment, &revoked);
	if (err)
		return err;
	if (!revoked)
		return proj_error(em->reply, em->arena, ERROR_CODE(FAILED_PRECONDITION), "subject",
		                  "certificate %s of %s is revoked already", serial, owner),
		       LEDGER_OK;
	return mark_last(em);
}

ledger_err proj_decide_seal_issue(proj_emitter *em, const Ledger__Api__SealIssue *c, const proj_issued *issued)
{
	if (!em->actor->platform)
		return proj_error(em->reply, em->arena, ERROR_CODE(PERMISSION_DENIED), NULL,
		                  "a seal is issued by the platform role; %s does not have it", em->actor->subject),
		       LEDGER_OK;
	Ledger__State__Firm *f = NULL;
	ledger_err err =
	    proj_firm_id_valid(c->firm_id) ? proj_firm_get(em->p, ledger_txn_mdb(em->t), c->firm_id, &f) : LEDGER_END;
	if (err == LEDGER_END)
		return proj_error(em->reply, em->arena, ERROR_CODE(NOT_FOUND), "firm_id", "no firm %.64s", c->firm_id),
		       LEDGER_OK;
	if (err)
		return err;
	char current[PROJ_SERIAL_BYTES];
	snprintf(current, sizeof current, "%s", f->seal_serial);
	bool has_siren = f->siren[0] != '\0';
	ledger__state__firm__free_unpacked(f, NULL);
	if (!has_siren) /* its seal's organizationIdentifier would not say who seals (EN 319 412-1) */
		return proj_error(em->reply, em->arena, ERROR_CODE(FAILED_PRECONDITION), "firm_id",
		                  "firm %s has no SIREN for its seal's organizationIdentifier: set it first "
		                  "(FirmSirenSet, ledgerctl firm set-siren)",
		                  c->firm_id),
		       LEDGER_OK;
	proj_certificate info;
	if (current[0] && proj_certificate_info(em->p, ledger_txn_mdb(em->t), current, &info) == LEDGER_OK &&
	    !info.revoked)
		return proj_error(em->reply, em->arena, ERROR_CODE(FAILED_PRECONDITION), "firm_id",
		                  "firm %s has seal certificate %s already: revoke it first", c->firm_id, current),
		       LEDGER_OK;
	if (!issued)
		return proj_error(em->reply, em->arena, ERROR_CODE(FAILED_PRECONDITION), "firm_id",
		                  "this service has no CA to issue a seal with"),
		       LEDGER_OK;
	err = proj_record_issued(em->p, em->t, em->actor->subject, em->request_id, c->firm_id,
	                         LEDGER__EVENTS__KEY_KIND__KEY_SEAL, c->firm_id, issued);
	if (err)
		return err;
	return mark_last(em);
}

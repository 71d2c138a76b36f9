/*
 * registration_commands.c: the registration commands (RegistrationRecord, SubjectErase) and the
 * registration status query (docs/personal-data.md). The steps' folds are registration.c's.
 */
#include "commands.h"
#include "signer_identity.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define FIELD_BYTES_MAX 128u

static bool field_ok(const char *s, bool required)
{
	size_t n = strlen(s);
	return n == 0 ? !required : n <= FIELD_BYTES_MAX && proj_name_valid(s);
}

/* "+33 6 12 34 56 78" -> "+33612345678": a plus and 8 to 15 digits. */
bool proj_phone_normalise(const char *in, char out[20])
{
	size_t n = 0;
	for (const char *c = in; *c; c++) {
		if (*c == ' ' || *c == '.' || *c == '-')
			continue;
		if (n >= 16 || !((*c == '+' && n == 0) || (*c >= '0' && *c <= '9')))
			return false;
		out[n++] = *c;
	}
	out[n] = '\0';
	return n >= 9 && out[0] == '+';
}

/* Checks the fields each step needs (and refuses personal data where it does not belong). */
static const char *step_fields_error(const Ledger__Api__RegistrationRecord *c, const char **field)
{
	bool identity = c->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED;
	bool terms = c->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_TERMS_ACCEPTED;
	bool subscription = c->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_SUBSCRIPTION_ACCEPTED;
	const struct {
		const char *name, *value;
		bool required, allowed;
	} fields[] = {
	    {"provider", c->provider, identity, identity},
	    {"provider_reference", c->provider_reference, identity, identity},
	    {"method", c->method, identity, identity},
	    {"phone", c->phone, identity, identity},
	    {"id_document_reference", c->id_document_reference, identity, identity},
	    {"terms_version", c->terms_version, terms, terms},
	    {"rgpd_version", c->rgpd_version, terms, terms},
	    {"subscription_version", c->subscription_version, subscription, subscription},
	};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		*field = fields[i].name;
		if (!fields[i].allowed && fields[i].value[0])
			return "is not part of this step";
		if (!field_ok(fields[i].value, fields[i].required))
			return fields[i].required ? "is required for this step (1 to 128 characters of text)"
			                          : "must be 1 to 128 characters of text";
	}
	/* The names the person's certificate will carry: checked now, so issuing cannot fail on them. */
	if (!identity && (c->given_name[0] || c->surname[0])) {
		*field = c->given_name[0] ? "given_name" : "surname";
		return "is not part of this step";
	}
	return identity ? proj_person_names_check(c->given_name, c->surname, field) : NULL;
}

/* The sealed identity datum: four lines, the phone, the ID document reference, the given name
 * and the surname (no field holds a control character). Registrations recorded before the names
 * were asked have the first two lines only. */
ledger_err proj_identity_open(proj *p, MDB_txn *txn, const Ledger__State__Registration *r, proj_identity *out)
{
	memset(out, 0, sizeof *out);
	ledger_record rec;
	if (r->erased || !r->identity_seq || !p->has_personal_key)
		return LEDGER_END;
	ledger_err err = ledger_get(p->l, txn, r->identity_seq, &rec);
	if (err)
		return err;
	Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
	if (!ev)
		return LEDGER_ERR_CORRUPT;
	err = LEDGER_END;
	char plain[PROJ_PERSONAL_SEALED_BYTES_MAX];
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_REGISTRATION_RECORDED &&
	    ev->registration_recorded->personal && ev->registration_recorded->personal->sha256.len == 32)
		err = proj_personal_open(p, txn, r->subject, ev->registration_recorded->personal->sha256.data, plain,
		                         sizeof plain);
	ledger__events__event__free_unpacked(ev, NULL);
	if (err)
		return err;
	struct {
		char *to;
		size_t bytes;
	} lines[] = {{out->phone, sizeof out->phone},
	             {out->id_document_reference, sizeof out->id_document_reference},
	             {out->given_name, sizeof out->given_name},
	             {out->surname, sizeof out->surname}};
	char *line = plain;
	for (size_t i = 0; line && i < sizeof lines / sizeof lines[0]; i++) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		snprintf(lines[i].to, lines[i].bytes, "%s", line);
		line = nl ? nl + 1 : NULL;
	}
	sodium_memzero(plain, sizeof plain);
	return out->id_document_reference[0] ? LEDGER_OK : LEDGER_ERR_CORRUPT;
}

/* May the certificate_issued step issue? The identity must be verified (and not erased), with
 * the given name and surname the certificate carries. Sets the reply's error if not. */
static bool certificate_allowed(proj *p, MDB_txn *txn, const char *subject, Ledger__Api__Reply *reply,
                                proj_arena *arena, ledger_err *err)
{
	Ledger__State__Registration *r = NULL;
	*err = proj_registration_get(p, txn, subject, &r);
	if (*err && *err != LEDGER_END)
		return false;
	*err = LEDGER_OK;
	bool identity_done =
	    r && (r->steps & (1u << (LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED - 1))) && !r->erased;
	proj_identity id;
	ledger_err opened = identity_done ? proj_identity_open(p, txn, r, &id) : LEDGER_END;
	if (r)
		ledger__state__registration__free_unpacked(r, NULL);
	if (!identity_done)
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__FAILED_PRECONDITION, "step",
		                  "a certificate is issued only after the identity of %s is verified", subject),
		       false;
	if (opened && opened != LEDGER_END)
		return *err = opened, false;
	bool named = !opened && id.given_name[0] && id.surname[0];
	sodium_memzero(&id, sizeof id);
	if (!named)
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__FAILED_PRECONDITION, "given_name",
		                  "the identity verification of %s on record has no given name and surname to put in "
		                  "the certificate (recorded before they were asked, or not readable by this service): "
		                  "record identity_verified again with given_name and surname",
		                  subject),
		       false;
	return true;
}

ledger_err proj_decide_registration(proj *p, ledger_txn *t, const proj_actor *actor, const char *request_id,
                                    const Ledger__Api__RegistrationRecord *c, const proj_issued *issued,
                                    Ledger__Api__Reply *reply, proj_arena *arena, uint64_t *seq,
                                    uint8_t hash[LEDGER_HASH_BYTES])
{
	MDB_txn *txn = ledger_txn_mdb(t);
	char subject[PROJ_EMAIL_BYTES_MAX + 1], phone[20];
	const char *why, *field;
	if (!actor->platform)
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__PERMISSION_DENIED, NULL,
		                  "registration steps are reported by the platform role; %s does not have it",
		                  actor->subject),
		       LEDGER_OK;
	if (!proj_email_normalise(c->subject, subject, &why))
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "subject",
		                  "subject \"%.64s\": %s", c->subject, why),
		       LEDGER_OK;
	if (!proj_step_name(c->step))
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "step",
		                  "unknown registration step %d", (int)c->step),
		       LEDGER_OK;
	if ((why = step_fields_error(c, &field)))
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, field, "%s %s", field, why),
		       LEDGER_OK;
	if (c->certificate_serial[0] || c->certificate_not_after[0])
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT,
		                  c->certificate_serial[0] ? "certificate_serial" : "certificate_not_after",
		                  "%s is not the client's to choose: ledgerd issues the certificate itself at the "
		                  "certificate_issued step",
		                  c->certificate_serial[0] ? "certificate_serial" : "certificate_not_after"),
		       LEDGER_OK;
	if (c->phone[0] && !proj_phone_normalise(c->phone, phone))
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "phone",
		                  "phone: an international number, + and 8 to 15 digits"),
		       LEDGER_OK;
	Ledger__State__Account *acc;
	ledger_err err = proj_account_get(p, txn, subject, &acc);
	if (err == LEDGER_END)
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__NOT_FOUND, "subject", "no account %s",
		                  subject),
		       LEDGER_OK;
	if (err)
		return err;
	ledger__state__account__free_unpacked(acc, NULL);
	bool certificate = c->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_CERTIFICATE_ISSUED;
	if (certificate && !certificate_allowed(p, txn, subject, reply, arena, &err))
		return err;
	if (certificate && (!issued || !issued->der))
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__FAILED_PRECONDITION, "step",
		                  "this service has no CA to issue the certificate of %s with", subject),
		       LEDGER_OK;
	if (c->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED && !p->has_personal_key)
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__FAILED_PRECONDITION, "phone",
		                  "this service has no personal-data key: it cannot keep personal data"),
		       LEDGER_OK;
	Ledger__Events__RegistrationRecorded e = LEDGER__EVENTS__REGISTRATION_RECORDED__INIT;
	Ledger__Events__SealedRef ref = LEDGER__EVENTS__SEALED_REF__INIT;
	uint8_t sealed_hash[32];
	e.subject = subject;
	e.step = c->step;
	e.provider = c->provider;
	e.provider_reference = c->provider_reference;
	e.method = c->method;
	e.terms_version = c->terms_version;
	e.rgpd_version = c->rgpd_version;
	e.subscription_version = c->subscription_version;
	char not_after[11] = "";
	if (certificate) {
		/* A new certificate supersedes the one before, which never signs again. */
		err = proj_revoke_subject(p, t, actor->subject, request_id, subject, true);
		if (!err)
			err = proj_record_issued(p, t, actor->subject, request_id, NULL,
			                         LEDGER__EVENTS__KEY_KIND__KEY_PERSON, subject, issued);
		if (err)
			return err;
		proj_date_of_s(issued->not_after_s, not_after);
		e.certificate_serial = (char *)issued->serial;
		e.certificate_sha256 = (ProtobufCBinaryData){LEDGER_HASH_BYTES, (uint8_t *)issued->sha256};
	}
	e.certificate_not_after = not_after;
	if (c->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED) {
		char personal[20 + FIELD_BYTES_MAX + 2 * PROJ_PERSON_NAME_BYTES_MAX + 4];
		/* Four lines (proj_identity_open): phone, ID document reference, given name, surname. */
		snprintf(personal, sizeof personal, "%s\n%s\n%s\n%s", phone, c->id_document_reference, c->given_name,
		         c->surname);
		err = proj_personal_seal(p, txn, subject, personal, &ref, sealed_hash);
		sodium_memzero(personal, sizeof personal);
		if (err)
			return err;
		e.personal = &ref;
	}
	Ledger__Events__Event ev = PROJ_EVENT(REGISTRATION_RECORDED, registration_recorded, &e);
	return proj_emit(p, t, actor->subject, request_id, NULL, &ev, seq, hash);
}

ledger_err proj_decide_erasure(proj *p, ledger_txn *t, const proj_actor *actor, const char *request_id,
                               const Ledger__Api__SubjectErase *c, Ledger__Api__Reply *reply, proj_arena *arena,
                               uint64_t *seq, uint8_t hash[LEDGER_HASH_BYTES])
{
	char subject[PROJ_EMAIL_BYTES_MAX + 1];
	const char *why;
	if (!actor->platform)
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__PERMISSION_DENIED, NULL,
		                  "erasure is ordered by the platform role; %s does not have it", actor->subject),
		       LEDGER_OK;
	if (!proj_email_normalise(c->subject, subject, &why))
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "subject",
		                  "subject \"%.64s\": %s", c->subject, why),
		       LEDGER_OK;
	if (!field_ok(c->reason, true))
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "reason",
		                  "reason: 1 to 128 characters, e.g. the request's reference"),
		       LEDGER_OK;
	/* An external signer's certificates beside the log go with their data (docs/personal-data.md). */
	MDB_txn *txn = ledger_txn_mdb(t);
	Ledger__Events__SubjectErased e = LEDGER__EVENTS__SUBJECT_ERASED__INIT;
	ledger_err err =
	    proj_signer_certificates(p, txn, subject, arena, &e.certificates_removed, &e.n_certificates_removed);
	for (size_t i = 0; !err && i < e.n_certificates_removed; i++)
		err = ledger_blob_remove(t, e.certificates_removed[i].data);
	if (!err)
		err = proj_personal_shred(p, txn, subject);
	if (!err) /* a registered person's certificate names them: it never signs again */
		err = proj_revoke_subject(p, t, actor->subject, request_id, subject, false);
	if (err)
		return err;
	/* A subject with no account is an external signer only: the event must not name them. */
	Ledger__State__Account *acc = NULL;
	err = proj_account_get(p, txn, subject, &acc);
	if (err && err != LEDGER_END)
		return err;
	e.subject = acc ? subject : "";
	if (acc)
		ledger__state__account__free_unpacked(acc, NULL);
	e.reason = c->reason;
	Ledger__Events__Event ev = PROJ_EVENT(SUBJECT_ERASED, subject_erased, &e);
	return proj_emit(p, t, actor->subject, request_id, NULL, &ev, seq, hash);
}

/* The personal data of the subject's latest identity verification, if still sealed. */
static void open_personal(proj *p, MDB_txn *txn, const Ledger__State__Registration *r,
                          Ledger__Api__RegistrationReply *out, proj_arena *arena)
{
	proj_identity id;
	if (proj_identity_open(p, txn, r, &id) != LEDGER_OK)
		return;
	out->phone = proj_arena_strdup(arena, id.phone);
	out->id_document_reference = proj_arena_strdup(arena, id.id_document_reference);
	out->given_name = proj_arena_strdup(arena, id.given_name);
	out->surname = proj_arena_strdup(arena, id.surname);
	sodium_memzero(&id, sizeof id);
}

void proj_query_registration(proj *p, MDB_txn *txn, const proj_actor *actor, const Ledger__Api__RegistrationStatus *q,
                             Ledger__Api__Reply *reply, proj_arena *arena)
{
	char subject[PROJ_EMAIL_BYTES_MAX + 1];
	if (!proj_query_subject(actor, q->subject, "subject", subject, reply, arena))
		return;
	if (!actor->platform && strcmp(subject, actor->subject) != 0) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__PERMISSION_DENIED, "subject",
		           "only %s and the platform see this registration", subject);
		return;
	}
	Ledger__State__Registration *r = NULL;
	(void)proj_registration_get(p, txn, subject, &r);
	Ledger__Api__RegistrationReply *out = proj_arena_alloc(arena, sizeof *out);
	Ledger__Events__RegistrationStep *done = proj_arena_alloc(arena, 5 * sizeof *done);
	Ledger__Events__RegistrationStep *missing = proj_arena_alloc(arena, 5 * sizeof *missing);
	if (!out || !done || !missing) {
		if (r)
			ledger__state__registration__free_unpacked(r, NULL);
		return;
	}
	ledger__api__registration_reply__init(out);
	out->subject = proj_arena_strdup(arena, subject);
	out->done = done;
	out->missing = missing;
	unsigned steps = r ? r->steps : 0;
	for (unsigned s = 1; s <= 5; s++) {
		if (steps & (1u << (s - 1)))
			done[out->n_done++] = (Ledger__Events__RegistrationStep)s;
		else
			missing[out->n_missing++] = (Ledger__Events__RegistrationStep)s;
	}
	out->complete = out->n_missing == 0;
	if (r) {
		out->terms_version = proj_arena_strdup(arena, r->terms_version);
		out->rgpd_version = proj_arena_strdup(arena, r->rgpd_version);
		out->certificate_serial = proj_arena_strdup(arena, r->certificate_serial);
		out->erased = r->erased;
		if (actor->platform || strcmp(subject, actor->subject) == 0)
			open_personal(p, txn, r, out, arena);
		ledger__state__registration__free_unpacked(r, NULL);
	}
	reply->result_case = LEDGER__API__REPLY__RESULT_REGISTRATION;
	reply->registration = out;
}

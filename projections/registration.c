/*
 * registration.c: the steps before any signature (the guide's "Enregistrement"), and the
 * personal data they carry, kept erasable.
 *
 * A phone number or an ID document reference must be erasable on request (RGPD) while the
 * log, append-only and hash-chained, keeps every event forever. So personal data never enters
 * an event: it is sealed (XChaCha20-Poly1305) under a key of its own subject, the sealed bytes
 * are stored beside the log in `sealed`, and the event keeps only their SHA-256. Subject keys
 * are stored wrapped (secretbox) under the service's personal-data key (DIR/keys/personal.key),
 * which is not in the data file: a copy of data.mdb given to an auditor opens no personal data.
 * Erasure destroys the subject's key and sealed data; the events that referred to them stay,
 * and the chain still verifies. docs/personal-data.md says the same for operators.
 */
#include "assertion.h"
#include "internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRAPPED_KEY_BYTES                                                                                              \
	(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
#define SEALED_BYTES_MAX 1024u
#define FIELD_BYTES_MAX  128u
#define ALL_STEPS        0x1fu

static const char *const step_names[] = {
    NULL, "information_confirmed", "identity_verified", "subscription_accepted", "terms_accepted", "certificate_issued",
};

const char *proj_step_name(Ledger__Events__RegistrationStep step)
{
	return (int)step > 0 && (size_t)step < sizeof step_names / sizeof step_names[0] ? step_names[step] : NULL;
}

Ledger__Events__RegistrationStep proj_step_parse(const char *name)
{
	for (size_t i = 1; i < sizeof step_names / sizeof step_names[0]; i++)
		if (strcmp(step_names[i], name) == 0)
			return (Ledger__Events__RegistrationStep)i;
	return LEDGER__EVENTS__REGISTRATION_STEP__STEP_UNSPECIFIED;
}

void proj_set_personal_key(proj *p, const uint8_t key[PROJ_PERSONAL_KEY_BYTES], proj_random_fill random_fill)
{
	LEDGER_ASSERT(random_fill != NULL);
	memcpy(p->personal_key, key, PROJ_PERSONAL_KEY_BYTES);
	p->random_fill = random_fill;
	p->has_personal_key = p->has_side_dbs;
}

static ledger_err registration_get(proj *p, proj_kv *kv, const char *subject, Ledger__State__Registration **out)
{
	return proj_kv_get_msg(kv, p->registrations, subject, strlen(subject), &ledger__state__registration__descriptor,
	                       (ProtobufCMessage **)out);
}

ledger_err proj_registration_get(proj *p, MDB_txn *txn, const char *subject, Ledger__State__Registration **out)
{
	proj_kv kv = proj_kv_of_txn(txn);
	return registration_get(p, &kv, subject, out);
}

/* ----- subject keys and sealed data ----- */

/* The subject's data key, unwrapped; created (and stored wrapped) if create and absent. */
static ledger_err subject_key(proj *p, MDB_txn *txn, const char *subject, bool create, uint8_t key[32])
{
	MDB_val k = {strlen(subject), (void *)subject}, v;
	int rc = mdb_get(txn, p->subject_keys, &k, &v);
	if (rc == 0) {
		const uint8_t *w = v.mv_data;
		if (v.mv_size != WRAPPED_KEY_BYTES ||
		    crypto_secretbox_open_easy(key, w + crypto_secretbox_NONCEBYTES,
		                               v.mv_size - crypto_secretbox_NONCEBYTES, w, p->personal_key) != 0)
			return LEDGER_ERR_CORRUPT;
		return LEDGER_OK;
	}
	if (rc != MDB_NOTFOUND || !create)
		return ledger_mdb_err(rc);
	uint8_t wrapped[WRAPPED_KEY_BYTES];
	LEDGER_ASSERT(p->has_personal_key && p->random_fill);
	p->random_fill(key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
	p->random_fill(wrapped, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(wrapped + crypto_secretbox_NONCEBYTES, key, 32, wrapped, p->personal_key);
	v = (MDB_val){sizeof wrapped, wrapped};
	return ledger_mdb_err(mdb_put(txn, p->subject_keys, &k, &v, 0));
}

/* Seals plain under the subject's key, stores it under (subject, sha256), fills ref. */
ledger_err proj_personal_seal(proj *p, MDB_txn *txn, const char *subject, const char *plain,
                              Ledger__Events__SealedRef *ref, uint8_t hash[32])
{
	uint8_t key[32], sealed[SEALED_BYTES_MAX];
	size_t n = strlen(plain);
	size_t total = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + n + crypto_aead_xchacha20poly1305_ietf_ABYTES;
	if (total > sizeof sealed)
		return LEDGER_ERR_TOO_LARGE;
	ledger_err err = subject_key(p, txn, subject, true, key);
	if (err)
		return err;
	p->random_fill(sealed, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	unsigned long long c;
	/* The subject is the associated data: sealed bytes cannot be moved to another subject. */
	crypto_aead_xchacha20poly1305_ietf_encrypt(sealed + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &c,
	                                           (const uint8_t *)plain, n, (const uint8_t *)subject, strlen(subject),
	                                           NULL, sealed, key);
	sodium_memzero(key, sizeof key);
	crypto_hash_sha256(hash, sealed, total);
	char k[PROJ_EMAIL_BYTES_MAX + 1 + 32];
	size_t kn = strlen(subject);
	memcpy(k, subject, kn + 1);
	memcpy(k + kn + 1, hash, 32);
	MDB_val key_val = {kn + 1 + 32, k}, v = {total, sealed};
	int rc = mdb_put(txn, p->sealed, &key_val, &v, 0);
	if (rc)
		return ledger_mdb_err(rc);
	ref->sha256.data = hash;
	ref->sha256.len = 32;
	ref->bytes = (uint32_t)total;
	return LEDGER_OK;
}

/* Opens the sealed data ref of subject into plain (plain_bytes). LEDGER_END once erased. */
ledger_err proj_personal_open(proj *p, MDB_txn *txn, const char *subject, const uint8_t hash[32], char *plain,
                              size_t plain_bytes)
{
	uint8_t key[32];
	ledger_err err = subject_key(p, txn, subject, false, key);
	if (err)
		return err;
	char k[PROJ_EMAIL_BYTES_MAX + 1 + 32];
	size_t kn = strlen(subject);
	memcpy(k, subject, kn + 1);
	memcpy(k + kn + 1, hash, 32);
	MDB_val key_val = {kn + 1 + 32, k}, v;
	int rc = mdb_get(txn, p->sealed, &key_val, &v);
	const size_t overhead =
	    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
	unsigned long long m;
	if (rc == 0 &&
	    (v.mv_size < overhead || v.mv_size - overhead >= plain_bytes ||
	     crypto_aead_xchacha20poly1305_ietf_decrypt(
	         (uint8_t *)plain, &m, NULL, (const uint8_t *)v.mv_data + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	         v.mv_size - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, (const uint8_t *)subject, strlen(subject),
	         v.mv_data, key) != 0))
		rc = MDB_CORRUPTED;
	sodium_memzero(key, sizeof key);
	if (rc)
		return ledger_mdb_err(rc);
	plain[m] = '\0';
	return LEDGER_OK;
}

/* Destroys the subject's key and every sealed datum of theirs. */
static ledger_err shred(proj *p, MDB_txn *txn, const char *subject)
{
	if (!p->has_side_dbs)
		return LEDGER_ERR_INVALID;
	MDB_val k = {strlen(subject), (void *)subject}, v;
	int rc = mdb_del(txn, p->subject_keys, &k, NULL);
	if (rc && rc != MDB_NOTFOUND)
		return ledger_mdb_err(rc);
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(txn, p->sealed, &cur)))
		return ledger_mdb_err(rc);
	size_t prefix = strlen(subject) + 1;
	k = (MDB_val){prefix, (void *)subject};
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < prefix || memcmp(k.mv_data, subject, prefix) != 0)
			break;
		if ((rc = mdb_cursor_del(cur, 0)))
			break;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? LEDGER_OK : ledger_mdb_err(rc);
}

/* ----- folds ----- */

/* Writes r as the subject's registration, then frees old (whose strings r may share). */
static ledger_err put_registration(proj *p, proj_kv *kv, const Ledger__State__Registration *r,
                                   Ledger__State__Registration *old)
{
	ledger_err err = proj_kv_put_msg(kv, p->registrations, r->subject, strlen(r->subject), &r->base);
	if (old)
		ledger__state__registration__free_unpacked(old, NULL);
	return err;
}

ledger_err proj_fold_registration(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__RegistrationRecorded *e)
{
	Ledger__State__Registration *old = NULL;
	ledger_err err = registration_get(p, kv, e->subject, &old);
	if (err && err != LEDGER_END)
		return err;
	Ledger__State__Registration r = LEDGER__STATE__REGISTRATION__INIT;
	if (old)
		r = *old;
	r.subject = e->subject;
	r.steps |= 1u << ((unsigned)e->step - 1);
	if (e->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_TERMS_ACCEPTED) {
		r.terms_version = e->terms_version;
		r.rgpd_version = e->rgpd_version;
	}
	if (e->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_CERTIFICATE_ISSUED) {
		r.certificate_serial = e->certificate_serial;
		r.certificate_not_after = e->certificate_not_after;
	}
	if (e->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED) {
		r.erased = false; /* new personal data, under a new key */
		r.identity_seq = seq;
	}
	r.last_seq = seq;
	return put_registration(p, kv, &r, old);
}

ledger_err proj_fold_erasure(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__SubjectErased *e)
{
	Ledger__State__Registration *old = NULL;
	ledger_err err = registration_get(p, kv, e->subject, &old);
	if (err && err != LEDGER_END)
		return err;
	Ledger__State__Registration r = LEDGER__STATE__REGISTRATION__INIT;
	if (old)
		r = *old;
	r.subject = e->subject;
	r.erased = true;
	r.last_seq = seq;
	return put_registration(p, kv, &r, old);
}

/* ----- rights ----- */

bool proj_registration_complete(proj *p, MDB_txn *txn, const char *subject, int64_t now_us, char *why, size_t why_bytes)
{
	Ledger__State__Registration *r = NULL;
	ledger_err err = proj_registration_get(p, txn, subject, &r);
	unsigned steps = err == LEDGER_OK ? r->steps : 0;
	bool ok = (steps & ALL_STEPS) == ALL_STEPS;
	if (!ok) {
		int n = snprintf(why, why_bytes, "registration incomplete, missing:");
		for (unsigned s = 1; s <= 5 && n > 0 && (size_t)n < why_bytes; s++)
			if (!(steps & (1u << (s - 1))))
				n += snprintf(why + n, why_bytes - (size_t)n, " %s", step_names[s]);
	} else {
		int64_t end_us;
		if (!proj_date_end_us(r->certificate_not_after, &end_us) || now_us >= end_us) {
			snprintf(why, why_bytes, "the signing certificate %s expired on %s", r->certificate_serial,
			         r->certificate_not_after);
			ok = false;
		}
	}
	if (r)
		ledger__state__registration__free_unpacked(r, NULL);
	return ok;
}

/* ----- decisions ----- */

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
	bool certificate = c->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_CERTIFICATE_ISSUED;
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
	    {"certificate_serial", c->certificate_serial, certificate, certificate},
	    {"certificate_not_after", c->certificate_not_after, certificate, certificate},
	};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		*field = fields[i].name;
		if (!fields[i].allowed && fields[i].value[0])
			return "is not part of this step";
		if (!field_ok(fields[i].value, fields[i].required))
			return fields[i].required ? "is required for this step (1 to 128 characters of text)"
			                          : "must be 1 to 128 characters of text";
	}
	return NULL;
}

ledger_err proj_decide_registration(proj *p, ledger_txn *t, const proj_actor *actor, const char *request_id,
                                    const Ledger__Api__RegistrationRecord *c, Ledger__Api__Reply *reply,
                                    proj_arena *arena, uint64_t *seq, uint8_t hash[LEDGER_HASH_BYTES])
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
	int64_t end_us;
	if (c->certificate_not_after[0] && !proj_date_end_us(c->certificate_not_after, &end_us))
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "certificate_not_after",
		                  "certificate_not_after is not a date YYYY-MM-DD"),
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
	Ledger__State__Registration *r = NULL;
	bool identity_done = proj_registration_get(p, txn, subject, &r) == LEDGER_OK &&
	                     (r->steps & (1u << (LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED - 1))) &&
	                     !r->erased;
	if (r)
		ledger__state__registration__free_unpacked(r, NULL);
	if (c->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_CERTIFICATE_ISSUED && !identity_done)
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__FAILED_PRECONDITION, "step",
		                  "a certificate is issued only after the identity of %s is verified", subject),
		       LEDGER_OK;
	if (c->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED && !p->has_personal_key)
		return proj_error(reply, arena, LEDGER__API__ERROR_CODE__FAILED_PRECONDITION, "phone",
		                  "this service has no personal-data key: it cannot keep personal data"),
		       LEDGER_OK;
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
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
	e.certificate_serial = c->certificate_serial;
	e.certificate_not_after = c->certificate_not_after;
	if (c->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED) {
		char personal[300];
		/* Two lines: the phone, then the ID document reference. */
		snprintf(personal, sizeof personal, "%s\n%s", phone, c->id_document_reference);
		err = proj_personal_seal(p, txn, subject, personal, &ref, sealed_hash);
		sodium_memzero(personal, sizeof personal);
		if (err)
			return err;
		e.personal = &ref;
	}
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_REGISTRATION_RECORDED;
	ev.registration_recorded = &e;
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
	ledger_err err = shred(p, ledger_txn_mdb(t), subject);
	if (err)
		return err;
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__SubjectErased e = LEDGER__EVENTS__SUBJECT_ERASED__INIT;
	e.subject = subject;
	e.reason = c->reason;
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_SUBJECT_ERASED;
	ev.subject_erased = &e;
	return proj_emit(p, t, actor->subject, request_id, NULL, &ev, seq, hash);
}

/* ----- query ----- */

/* The personal data of the subject's latest identity verification, if still sealed. */
static void open_personal(proj *p, MDB_txn *txn, const Ledger__State__Registration *r,
                          Ledger__Api__RegistrationReply *out, proj_arena *arena)
{
	ledger_record rec;
	if (r->erased || !p->has_personal_key || ledger_get(p->l, txn, r->identity_seq, &rec) != LEDGER_OK)
		return;
	Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
	if (ev && ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_REGISTRATION_RECORDED &&
	    ev->registration_recorded->personal && ev->registration_recorded->personal->sha256.len == 32) {
		char plain[SEALED_BYTES_MAX];
		if (proj_personal_open(p, txn, r->subject, ev->registration_recorded->personal->sha256.data, plain,
		                       sizeof plain) == LEDGER_OK) {
			char *nl = strchr(plain, '\n');
			if (nl) {
				*nl = '\0';
				out->phone = proj_arena_strdup(arena, plain);
				out->id_document_reference = proj_arena_strdup(arena, nl + 1);
			}
			sodium_memzero(plain, sizeof plain);
		}
	}
	if (ev)
		ledger__events__event__free_unpacked(ev, NULL);
}

void proj_query_registration(proj *p, MDB_txn *txn, const proj_actor *actor, const Ledger__Api__RegistrationStatus *q,
                             Ledger__Api__Reply *reply, proj_arena *arena)
{
	char subject[PROJ_EMAIL_BYTES_MAX + 1];
	const char *why;
	const char *asked = q->subject[0] ? q->subject : actor->subject;
	if (!proj_email_normalise(asked, subject, &why)) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "subject", "subject \"%.64s\": %s",
		           asked, why);
		return;
	}
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

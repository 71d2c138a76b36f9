/*
 * certificates.c: the certificates ledgerd issues for a command (a registration's
 * certificate_issued step, SealIssue), as an upload is inspected: off the committer, before the
 * command is decided. The key and its certificate exist (kept under their serial) before the
 * event that records them commits; if nothing records them (refused, replayed, the batch failed),
 * the key is destroyed again when the command is done. Also: giving the CA the revoked set
 * folded from the log (api_revocations_sync).
 */
#include "server_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* Who the certificate is for, from the projections; false if the command will be refused
 * anyway (no such account or firm, a person's verified names not on record, not the platform
 * role): then nothing is issued. */
static bool subject_of(worker *w, signer_subject *who, proj_certificate_for *f)
{
	MDB_txn *txn;
	if (!w->actor.platform || ledger_read_begin(w->s->l, &txn) != LEDGER_OK)
		return false;
	bool found = proj_certificate_subject(w->s->p, txn, w->req, f);
	ledger_read_end(w->s->l, txn);
	*who = f->seal ? (signer_subject){.kind = SIGNER_KIND_SEAL,
	                                  .id = f->id,
	                                  .display_name = f->name,
	                                  .organisation = f->name,
	                                  .organization_identifier = f->organization_identifier}
	               : (signer_subject){.kind = SIGNER_KIND_PERSON,
	                                  .id = f->id,
	                                  .display_name = f->name,
	                                  .organisation = "",
	                                  .given_name = f->given_name,
	                                  .surname = f->surname};
	return found;
}

/* Does this command record a certificate ledgerd issues for it? The client's own serial or
 * date is refused by the decision, before any issuing. */
static bool wants_certificate(const Ledger__Api__Request *req)
{
	if (req->body_case == LEDGER__API__REQUEST__BODY_SEAL_ISSUE ||
	    req->body_case == LEDGER__API__REQUEST__BODY_FIRM_ADD)
		return true;
	const Ledger__Api__RegistrationRecord *r = req->registration_record;
	return req->body_case == LEDGER__API__REQUEST__BODY_REGISTRATION_RECORD &&
	       r->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_CERTIFICATE_ISSUED && !r->certificate_serial[0] &&
	       !r->certificate_not_after[0];
}

bool certificates_issue_before(worker *w, int64_t now_us)
{
	signer_subject who;
	proj_certificate_for f;
	if (!w->s->ca || !wants_certificate(w->req) || !subject_of(w, &who, &f)) {
		sodium_memzero(&f, sizeof f);
		return true; /* decided without: refused with the reason */
	}
	signer_credential *cred = NULL;
	signer_err err = signer_issue_kept(w->s->ca, &who, now_us / 1000000, API_CERT_VALIDITY_DAYS, &cred);
	char id[sizeof f.id];
	snprintf(id, sizeof id, "%s", f.id);
	sodium_memzero(&f, sizeof f); /* a person's verified names: personal data */
	uint8_t *der = err ? NULL : proj_arena_alloc(w->arena, SIGNER_CERT_DER_BYTES_MAX);
	size_t der_bytes = 0;
	if (!err)
		err = der ? signer_credential_certificate(cred, der, SIGNER_CERT_DER_BYTES_MAX, &der_bytes)
		          : SIGNER_ERR_NOMEM;
	if (cred) {
		signer_credential_serial(cred, w->issued.serial);
		signer_credential_validity(cred, NULL, &w->issued.not_after_s);
		signer_kept_key_id(w->s->ca, w->issued.serial, w->issued.key_id);
	}
	signer_credential_free(cred);
	if (err && cred)
		signer_credential_destroy(w->s->ca, w->issued.serial);
	if (err && w->req->body_case == LEDGER__API__REQUEST__BODY_FIRM_ADD) {
		/* e.g. a firm name longer than a certificate's 64 characters: the firm is created, and
		 * its seals fail (on record) until `ledgerctl seal issue` succeeds. */
		fprintf(stderr, "ledgerd: no seal certificate for firm %s: %s (%s)\n", id, signer_strerror(err),
		        signer_last_error());
		return true;
	}
	if (err) {
		char m[400];
		snprintf(m, sizeof m, "cannot issue the certificate: %s (%s)", signer_strerror(err),
		         signer_last_error());
		worker_send_error(w, LEDGER__API__ERROR_CODE__INTERNAL, NULL, m);
		return false;
	}
	w->issued.der = der;
	w->issued.der_bytes = der_bytes;
	crypto_hash_sha256(w->issued.sha256, der, der_bytes);
	w->has_issued = true;
	return true;
}

/* Whether a committed command of this body may have revoked a certificate. */
static bool may_revoke(const worker *w)
{
	Ledger__Api__Request__BodyCase body = w->req->body_case;
	return w->has_issued || body == LEDGER__API__REQUEST__BODY_CERTIFICATE_REVOKE ||
	       body == LEDGER__API__REQUEST__BODY_SUBJECT_ERASE;
}

void certificates_after_commit(worker *w, ledger_err err)
{
	/* A revocation on record reaches the CA at once: its OCSP answers and CRLs, online
	 * (pki_http.c) and in the next /DSS, say what the log says. */
	if (!err && w->stored && !w->replayed && w->s->ca && may_revoke(w) &&
	    !api_revocations_sync(w->s->l, w->s->p, w->s->ca)) {
		atomic_store(&w->s->revocations_stale, true); /* the signer thread tries again first */
		fprintf(stderr, "ledgerd: cannot give the CA the revoked certificates after seq %llu\n",
		        (unsigned long long)w->reply.seq);
	}
	if (!w->has_issued)
		return;
	w->has_issued = false;
	if (!err && w->stored && !w->replayed)
		return; /* recorded: the key is the person's or the firm's now */
	signer_err destroyed = signer_credential_destroy(w->s->ca, w->issued.serial);
	if (destroyed)
		fprintf(stderr, "ledgerd: cannot destroy the unrecorded key of certificate %s: %s (%s)\n",
		        w->issued.serial, signer_strerror(destroyed), signer_last_error());
}

static bool revoke_one(void *ctx, const char *serial, int64_t revoked_at_us, uint32_t reason_code)
{
	signer_err err = signer_ca_revoke(ctx, serial, revoked_at_us / 1000000, (int)reason_code);
	if (err)
		fprintf(stderr, "ledgerd: the CA cannot list %s as revoked: %s (%s)\n", serial, signer_strerror(err),
		        signer_last_error());
	return true;
}

bool api_revocations_sync(ledger *l, proj *p, signer_ca *ca)
{
	MDB_txn *txn;
	if (!ca || ledger_read_begin(l, &txn) != LEDGER_OK)
		return false;
	ledger_err err = proj_revoked_each(p, txn, revoke_one, ca);
	ledger_read_end(l, txn);
	return err == LEDGER_OK;
}

typedef struct sweep {
	proj *p;
	MDB_txn *txn;
	signer_ca *ca;
	size_t destroyed;
} sweep;

static bool sweep_one(void *ctx, const char *serial)
{
	sweep *w = ctx;
	proj_certificate info;
	if (proj_certificate_info(w->p, w->txn, serial, &info) != LEDGER_END)
		return true; /* recorded (or unreadable: kept, to be safe) */
	if (signer_credential_destroy(w->ca, serial) == SIGNER_OK)
		w->destroyed++;
	else
		fprintf(stderr, "ledgerd: cannot destroy the unrecorded key %s: %s\n", serial, signer_last_error());
	return true;
}

bool api_unrecorded_keys_destroy(ledger *l, proj *p, signer_ca *ca)
{
	sweep w = {.p = p, .ca = ca};
	if (!ca || ledger_read_begin(l, &w.txn) != LEDGER_OK)
		return false;
	signer_err err = signer_kept_each(ca, sweep_one, &w);
	ledger_read_end(l, w.txn);
	if (w.destroyed)
		fprintf(stderr, "ledgerd: destroyed %zu key(s) no event records (issued before a crash)\n",
		        w.destroyed);
	return err == SIGNER_OK;
}

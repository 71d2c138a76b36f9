/*
 * keys_on_record.c: the keys ledgerd holds for itself, on record (docs/signer.md, "The keys on
 * record"). Run once at start, once the store and its projections are open and before the
 * committer, the signer thread and the sockets, as one batch (ledger_commit_one):
 *
 *   - a KeyCreated (actor "ledgerd", request id "start") for each authority key the CA has open
 *     (the root, the issuing CAs, the TSA unit, the OCSP responder: signer_authority_keys_each)
 *     whose certificate no event records yet, its DER kept beside the log. "Records" is the
 *     certificates table, folded from KeyCreated by serial: deterministic on replay, and a unit
 *     certificate re-issued for the same key (a new serial) gets its own KeyCreated;
 *   - the platform's seal, which seals evidence bundles: a credential kept in the token
 *     (signer_issue_kept, the seals' CA), issued at the first start, recorded as KeyCreated
 *     KEY_PLATFORM_SEAL (owner "platform"), re-issued only when it has less than
 *     API_PLATFORM_SEAL_RENEW_S left or cannot be opened: the new one's KeyCreated and the old
 *     one's KeyDestroyed ("superseded") commit together, then the old key is destroyed. The
 *     file signer_credential_get_or_issue() kept for it before (a key in the clear) is destroyed.
 *
 * While ledgerd serves, the expiry thread asks every second whether the seal nears its end
 * (api_platform_seal_due: a comparison with the end kept in memory, no token call) and renews it
 * as a start would (api_platform_seal_renew), the batch going through the committer, the only
 * writer by then: a service that runs for months does not let it expire.
 */
#include "keys_on_record.h"

#include "certificate.h"
#include "wake.h"

#include <openssl/x509.h>
#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define AUTHORITY_KEYS_MAX 8u /* root, three issuing CAs, TSA, OCSP responder, and room */

typedef struct authority {
	int kind; /* Ledger__Events__KeyKind */
	proj_issued issued;
	uint8_t der[SIGNER_CERT_DER_BYTES_MAX];
} authority;

typedef struct keys_batch {
	ledger_job job;
	proj *p;
	MDB_txn *txn;           /* the read transaction the visit looks the serials up in */
	const char *request_id; /* of the events: "start", or "renewal" while serving */
	authority authorities[AUTHORITY_KEYS_MAX];
	size_t count;
	bool failed;
	/* the platform's seal: a new one to record, and the one it replaces */
	bool seal_new;
	authority seal;
	char old_serial[PROJ_SERIAL_BYTES];
	char old_key_id[PROJ_KEY_ID_BYTES];
	ledger_err result;
	/* done() wakes whoever waits for the batch through the committer (while serving) */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool done;
} keys_batch;

static keys_batch *batch_new(proj *p, const char *request_id)
{
	keys_batch *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->p = p;
	b->request_id = request_id;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->wake, NULL);
	return b;
}

static void batch_free(keys_batch *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->wake);
	free(b);
}

static int kind_of(const char *authority_kind)
{
	static const struct {
		const char *name;
		int kind;
	} kinds[] = {
	    {"ca-root", LEDGER__EVENTS__KEY_KIND__KEY_CA},
	    {"ca-persons", LEDGER__EVENTS__KEY_KIND__KEY_CA_PERSONS},
	    {"ca-seals", LEDGER__EVENTS__KEY_KIND__KEY_CA_SEALS},
	    {"ca-tsa", LEDGER__EVENTS__KEY_KIND__KEY_CA_TSA},
	    {"tsa", LEDGER__EVENTS__KEY_KIND__KEY_TSA},
	    {"ocsp", LEDGER__EVENTS__KEY_KIND__KEY_OCSP},
	};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kinds[i].name, authority_kind) == 0)
			return kinds[i].kind;
	return LEDGER__EVENTS__KEY_KIND__KEY_UNSPECIFIED;
}

/* The certificate's notAfter, seconds since the epoch; false if it cannot be read. */
static bool not_after_of(const uint8_t *der, size_t der_bytes, int64_t *not_after_s)
{
	const unsigned char *at = der;
	X509 *x = d2i_X509(NULL, &at, (long)der_bytes);
	struct tm tm;
	bool ok = x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1;
	X509_free(x);
	if (ok)
		*not_after_s = (int64_t)timegm(&tm);
	return ok;
}

static bool authority_visit(void *ctx, const signer_authority_key *key)
{
	keys_batch *b = ctx;
	proj_certificate info;
	ledger_err err = proj_certificate_info(b->p, b->txn, key->serial, &info);
	if (err == LEDGER_OK)
		return true; /* on record already */
	authority *a = b->count < AUTHORITY_KEYS_MAX ? &b->authorities[b->count] : NULL;
	if (err != LEDGER_END || !a || key->certificate_der_bytes > sizeof a->der ||
	    kind_of(key->kind) == LEDGER__EVENTS__KEY_KIND__KEY_UNSPECIFIED) {
		fprintf(stderr, "ledgerd: cannot record the %s key (%s): %s\n", key->kind, key->key_id,
		        err != LEDGER_END ? ledger_strerror(err) : "too many keys, or an unknown kind or certificate");
		b->failed = true;
		return false;
	}
	a->kind = kind_of(key->kind);
	memcpy(a->der, key->certificate_der, key->certificate_der_bytes);
	a->issued.der = a->der;
	a->issued.der_bytes = key->certificate_der_bytes;
	crypto_hash_sha256(a->issued.sha256, a->der, a->issued.der_bytes);
	snprintf(a->issued.serial, sizeof a->issued.serial, "%s", key->serial);
	snprintf(a->issued.key_id, sizeof a->issued.key_id, "%s", key->key_id);
	if (!not_after_of(a->der, a->issued.der_bytes, &a->issued.not_after_s)) {
		fprintf(stderr, "ledgerd: the %s key's certificate cannot be read\n", key->kind);
		b->failed = true;
		return false;
	}
	b->count++;
	return true;
}

static const signer_subject platform = {
    .kind = SIGNER_KIND_SEAL, .id = EVIDENCE_SEAL_ID, .display_name = EVIDENCE_SEAL_NAME};

/* Issues a new platform seal into b->seal (kept in the token). */
static bool seal_issue(keys_batch *b, signer_ca *ca, int64_t now_s)
{
	signer_credential *cred = NULL;
	signer_err err = signer_issue_kept(ca, &platform, now_s, SIGNER_CERT_VALIDITY_DAYS_MAX, &cred);
	size_t der_bytes = 0;
	if (!err)
		err = signer_credential_certificate(cred, b->seal.der, sizeof b->seal.der, &der_bytes);
	if (cred) {
		signer_credential_serial(cred, b->seal.issued.serial);
		signer_credential_validity(cred, NULL, &b->seal.issued.not_after_s);
		signer_kept_key_id(ca, b->seal.issued.serial, b->seal.issued.key_id);
	}
	signer_credential_free(cred);
	if (err) {
		fprintf(stderr, "ledgerd: cannot issue the platform's seal: %s (%s)\n", signer_strerror(err),
		        signer_last_error());
		if (cred)
			signer_credential_destroy(ca, b->seal.issued.serial);
		return false;
	}
	b->seal.kind = LEDGER__EVENTS__KEY_KIND__KEY_PLATFORM_SEAL;
	b->seal.issued.der = b->seal.der;
	b->seal.issued.der_bytes = der_bytes;
	crypto_hash_sha256(b->seal.issued.sha256, b->seal.der, der_bytes);
	b->seal_new = true;
	return true;
}

/* The platform's seal on record, kept if it opens and has API_PLATFORM_SEAL_RENEW_S left;
 * otherwise a new one is issued and the old one (if any) is to be destroyed. seal receives the
 * serial and end of the one in use (its seq is found once the batch commits). */
static bool seal_check(keys_batch *b, signer_ca *ca, int64_t now_s, api_platform_seal *seal)
{
	char serial[PROJ_SERIAL_BYTES], not_after[11];
	ledger_err err = proj_platform_seal_current(b->p, b->txn, serial, not_after);
	if (err && err != LEDGER_END) {
		fprintf(stderr, "ledgerd: cannot read the platform's seal on record: %s\n", ledger_strerror(err));
		return false;
	}
	if (!err) {
		signer_credential *cred = NULL;
		signer_err opened = signer_credential_open(ca, serial, now_s, &cred);
		int64_t end_s = 0;
		if (!opened)
			signer_credential_validity(cred, NULL, &end_s);
		signer_credential_free(cred);
		if (!opened && end_s - now_s >= API_PLATFORM_SEAL_RENEW_S) {
			snprintf(seal->serial, sizeof seal->serial, "%s", serial);
			seal->not_after_s = end_s;
			return true;
		}
		fprintf(stderr, "ledgerd: the platform's seal %s is re-issued: %s\n", serial,
		        opened ? signer_last_error() : "it nears its end");
		snprintf(b->old_serial, sizeof b->old_serial, "%s", serial);
		signer_kept_key_id(ca, serial, b->old_key_id);
	}
	if (!seal_issue(b, ca, now_s))
		return false;
	snprintf(seal->serial, sizeof seal->serial, "%s", b->seal.issued.serial);
	seal->not_after_s = b->seal.issued.not_after_s;
	return true;
}

static ledger_err keys_apply(ledger_job *job, ledger_txn *t)
{
	keys_batch *b = (keys_batch *)job;
	ledger_err err = LEDGER_OK;
	for (size_t i = 0; i < b->count && !err; i++)
		err = proj_record_issued(b->p, t, "ledgerd", b->request_id, NULL, b->authorities[i].kind, "",
		                         &b->authorities[i].issued);
	if (!err && b->seal_new)
		err = proj_record_issued(b->p, t, "ledgerd", b->request_id, NULL, b->seal.kind, API_PLATFORM_SEAL_OWNER,
		                         &b->seal.issued);
	if (!err && b->old_serial[0])
		err = proj_record_key_destroyed(b->p, t, b->old_serial, b->old_key_id, "superseded");
	return err;
}

static void keys_done(ledger_job *job, ledger_err err)
{
	keys_batch *b = (keys_batch *)job;
	b->result = err;
	api_wake(&b->lock, &b->wake, &b->done);
}

/* After the batch: a new seal that nothing records is destroyed, and the old one once its
 * KeyDestroyed is committed (a seal is never destroyed while the log says it is in use). */
static void seal_keys_settle(signer_ca *ca, const keys_batch *b, bool committed)
{
	if (b->seal_new && !committed)
		signer_credential_destroy(ca, b->seal.issued.serial);
	signer_err destroyed = committed && b->old_serial[0] ? signer_credential_destroy(ca, b->old_serial) : SIGNER_OK;
	if (destroyed && destroyed != SIGNER_ERR_NOT_FOUND)
		fprintf(stderr, "ledgerd: cannot destroy the superseded platform seal %s: %s\n", b->old_serial,
		        signer_last_error());
}

/* The seq of the KeyCreated of the platform's seal of serial; 0 if the log has none. */
static uint64_t seal_seq_of(ledger *l, const char *serial)
{
	MDB_txn *txn;
	uint64_t seq = 0;
	char found[SIGNER_SERIAL_HEX_BYTES];
	if (ledger_read_begin(l, &txn) != LEDGER_OK)
		return 0;
	if (!evidence_seal_record_find(l, txn, serial, &seq, found))
		seq = 0;
	ledger_read_end(l, txn);
	return seq;
}

/* A seal just issued ends with its issuing CA, the seals' CA, when that ends first: one that
 * still has less than API_PLATFORM_SEAL_RENEW_S left would be re-issued every second, each no
 * longer-lived. It is kept to its end instead (a start re-issues it, as before). */
static void seal_renewal_bound(api_platform_seal *seal, int64_t now_s)
{
	if (seal->not_after_s - now_s >= API_PLATFORM_SEAL_RENEW_S)
		return;
	seal->retry_at_s = seal->not_after_s;
	fprintf(stderr,
	        "ledgerd: warning: the platform's seal %s ends in %lld day(s), with the seals' CA that issued it: "
	        "it is not renewed while ledgerd serves\n",
	        seal->serial, (long long)((seal->not_after_s - now_s) / 86400));
}

bool api_keys_on_record(ledger *l, proj *p, signer_ca *ca, int64_t now_us, api_platform_seal *seal)
{
	*seal = (api_platform_seal){0};
	keys_batch *b = batch_new(p, "start");
	if (!b || ledger_read_begin(l, &b->txn) != LEDGER_OK) {
		batch_free(b);
		return false;
	}
	b->job = (ledger_job){.apply = keys_apply, .done = keys_done};
	signer_err err = signer_authority_keys_each(ca, authority_visit, b);
	bool ok = !err && !b->failed && seal_check(b, ca, now_us / 1000000, seal);
	ledger_read_end(l, b->txn);
	if (err)
		fprintf(stderr, "ledgerd: cannot list the authorities' keys: %s\n", signer_last_error());
	ledger_err committed = LEDGER_OK;
	if (ok && (b->count || b->seal_new || b->old_serial[0])) {
		committed = ledger_commit_one(l, &b->job, now_us);
		if (!committed)
			committed = b->result;
	}
	if (committed) {
		fprintf(stderr, "ledgerd: cannot record the authorities' keys: %s\n", ledger_strerror(committed));
		ok = false;
	}
	seal_keys_settle(ca, b, ok);
	/* Keys directories from before the seal was kept in the token hold its key in the clear. */
	signer_err forgotten = ok ? signer_credential_forget(ca, &platform) : SIGNER_ERR_NOT_FOUND;
	if (!forgotten)
		fprintf(stderr, "ledgerd: destroyed the platform seal's former key file (a key in the clear)\n");
	else if (forgotten != SIGNER_ERR_NOT_FOUND)
		fprintf(stderr, "ledgerd: cannot destroy the platform seal's former key file: %s\n",
		        signer_last_error());
	if (ok && (b->count || b->seal_new))
		fprintf(stderr, "ledgerd: recorded %zu authority key(s)%s\n", b->count,
		        b->seal_new ? " and the platform's seal" : "");
	if (ok && !(seal->seq = seal_seq_of(l, seal->serial))) {
		fprintf(stderr, "ledgerd: the platform's seal %s has no KeyCreated in the log\n", seal->serial);
		ok = false;
	}
	if (ok)
		seal_renewal_bound(seal, now_us / 1000000);
	else
		*seal = (api_platform_seal){0};
	batch_free(b);
	return ok;
}

bool api_platform_seal_due(const api_platform_seal *seal, int64_t now_s)
{
	return seal->serial[0] && seal->not_after_s - now_s < API_PLATFORM_SEAL_RENEW_S && now_s >= seal->retry_at_s;
}

/* Commits b through the committer (ledgerd serves: it is the only writer) and waits for it. */
static ledger_err batch_commit(ledger_committer *c, keys_batch *b)
{
	ledger_committer_submit(c, &b->job);
	pthread_mutex_lock(&b->lock);
	while (!b->done)
		pthread_cond_wait(&b->wake, &b->lock);
	pthread_mutex_unlock(&b->lock);
	return b->result;
}

bool api_platform_seal_renew(ledger *l, proj *p, ledger_committer *c, signer_ca *ca, int64_t now_us,
                             api_platform_seal *seal)
{
	int64_t now_s = now_us / 1000000;
	keys_batch *b = batch_new(p, "renewal");
	bool ok = b != NULL;
	if (ok) {
		b->job = (ledger_job){.apply = keys_apply, .done = keys_done};
		fprintf(stderr, "ledgerd: the platform's seal %s is re-issued: it nears its end\n", seal->serial);
		snprintf(b->old_serial, sizeof b->old_serial, "%s", seal->serial);
		signer_kept_key_id(ca, seal->serial, b->old_key_id);
		ok = seal_issue(b, ca, now_s);
	}
	ledger_err committed = ok ? batch_commit(c, b) : LEDGER_OK;
	if (committed) {
		fprintf(stderr, "ledgerd: cannot record the platform's new seal: %s\n", ledger_strerror(committed));
		ok = false;
	}
	if (b)
		seal_keys_settle(ca, b, ok);
	if (ok) {
		*seal = (api_platform_seal){.not_after_s = b->seal.issued.not_after_s};
		snprintf(seal->serial, sizeof seal->serial, "%s", b->seal.issued.serial);
		seal->seq = seal_seq_of(l, seal->serial);
		fprintf(stderr, "ledgerd: recorded the platform's seal %s (record %llu)\n", seal->serial,
		        (unsigned long long)seal->seq);
		seal_renewal_bound(seal, now_s);
	} else {
		seal->retry_at_s = now_s + API_PLATFORM_SEAL_RETRY_S;
		fprintf(stderr, "ledgerd: the platform's seal %s is kept; its renewal is tried again in %lld s\n",
		        seal->serial, (long long)API_PLATFORM_SEAL_RETRY_S);
	}
	batch_free(b);
	return ok;
}

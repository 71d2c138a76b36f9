/*
 * signing.c: the signer thread. One signature at a time, in the queue's order: signatures of
 * one document are sequential by nature (each signs the previous version), and one thread
 * keeps the committer free. Each round: read what is owed and the document's current version
 * in a read transaction; sign outside any transaction; commit the result as a job that checks
 * the task still holds (a cancelled collection or a moved document makes it stale: nothing
 * is written). A crash between signing and committing loses nothing: the signature is still
 * owed, and is made again after the restart.
 */
#include "signing.h"
#include "wake.h"

#include <openssl/bn.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct api_signing {
	api_signing_options o;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool woken, stop;
	uint8_t failed[API_SIGNING_FAILED_MAX][32]; /* tasks not to retry in this process */
	size_t failed_count;
	uint64_t keys_checked_at_seq; /* the log's head when revoked keys were last looked for */
};

typedef struct sign_job {
	ledger_job job;
	api_signing *s;
	const proj_sign_task *task;
	const proj_signed *result; /* NULL: record the failure below instead */
	const char *failure;
	const proj_issued *one_shot; /* an external signer's key, created and destroyed: on record */
	bool one_shot_destroyed;
	bool stale, done;
	ledger_err err;
} sign_job;

static ledger_err sign_apply(ledger_job *job, ledger_txn *t)
{
	sign_job *j = (sign_job *)job;
	ledger_err err = j->one_shot
	                     ? proj_record_one_shot(j->s->o.p, t, j->task->firm_id, j->one_shot, j->one_shot_destroyed)
	                     : LEDGER_OK;
	if (err)
		return err;
	if (!j->result)
		return proj_sign_failed(j->s->o.p, t, j->task, j->failure, &j->stale);
	return proj_sign_record(j->s->o.p, t, j->task, j->result, &j->stale);
}

static void sign_done(ledger_job *job, ledger_err err)
{
	sign_job *j = (sign_job *)job;
	j->err = err;
	api_wake(&j->s->lock, &j->s->wake, &j->done);
}

/* A task's identity: who signs which version of which document. */
static void task_id(const proj_sign_task *t, uint8_t out[32])
{
	crypto_hash_sha256_state h;
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const uint8_t *)t->firm_id, strlen(t->firm_id) + 1);
	crypto_hash_sha256_update(&h, (const uint8_t *)t->collection_id, strlen(t->collection_id) + 1);
	crypto_hash_sha256_update(&h, (const uint8_t *)t->signer, strlen(t->signer) + 1);
	crypto_hash_sha256_update(&h, t->source_sha256, sizeof t->source_sha256);
	crypto_hash_sha256_final(&h, out);
}

static bool failed_before(const api_signing *s, const uint8_t id[32])
{
	for (size_t i = 0; i < s->failed_count; i++)
		if (memcmp(s->failed[i], id, 32) == 0)
			return true;
	return false;
}

/* What the event records of the certificate. */
typedef struct certificate_facts {
	char serial[80];   /* hex */
	char subject[256]; /* RFC 2253 */
	uint8_t der[SIGNER_CERT_DER_BYTES_MAX];
	size_t der_bytes;
} certificate_facts;

static void certificate_names(const signer_credential *cred, certificate_facts *f)
{
	char *serial = f->serial, *subject = f->subject;
	uint8_t *der = f->der;
	size_t n = 0;
	serial[0] = subject[0] = '\0';
	f->der_bytes = 0;
	if (signer_credential_certificate(cred, der, sizeof f->der, &n) != SIGNER_OK)
		return;
	f->der_bytes = n;
	const uint8_t *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)n);
	if (!x)
		return;
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	if (hex)
		snprintf(serial, sizeof f->serial, "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	BIO *bio = BIO_new(BIO_s_mem());
	if (bio && X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
		int len = BIO_read(bio, subject, (int)sizeof f->subject - 1);
		subject[len > 0 ? len : 0] = '\0';
	}
	BIO_free(bio);
	X509_free(x);
}

/* Signs the task's document; *out is malloc'd. Logs, fills why and returns false on failure. */
/* The name DocumentSigned records of a firm's level (0: the default, B-LTA). */
static const char *level_name(int level)
{
	switch (level) {
	case LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_B: return "B-B";
	case LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_T: return "B-T";
	case LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_LT: return "B-LT";
	default: return "B-LTA";
	}
}

_Static_assert(SIGNER_KEY_ID_BYTES == PROJ_KEY_ID_BYTES, "one key id, signer's and ledger's");
_Static_assert((int)SIGNER_LEVEL_B_B == (int)LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_B &&
                   (int)SIGNER_LEVEL_B_T == (int)LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_T &&
                   (int)SIGNER_LEVEL_B_LT == (int)LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_LT &&
                   (int)SIGNER_LEVEL_B_LTA == (int)LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_LTA,
               "a firm's signature level is passed to the signer as it is recorded");

/* The credential task signs with, into *cred: the registration's certificate of a person, the
 * firm's seal, both found by the serial the log recorded (serial, "" if none), never issued
 * here; or, for an external signer, a one-shot credential issued now (*one_shot filled), whose
 * key the caller destroys after the signature. Fills why and returns an error otherwise. */
static signer_err credential_for(api_signing *s, const proj_sign_task *task, const char *serial, int64_t now_s,
                                 signer_credential **cred, proj_issued *one_shot, char *why, size_t why_bytes)
{
	*cred = NULL;
	if (task->external && !task->seal) {
		/* GN, SN and CN "given surname" when SignerAdd gave the given name and surname; the
		 * name alone, as the commonName only, when the platform gave one string (docs/signer.md). */
		signer_subject who = {.kind = SIGNER_KIND_PERSON,
		                      .id = task->signer_email,
		                      .display_name = task->signer_name,
		                      .organisation = "",
		                      .given_name = task->signer_given_name,
		                      .surname = task->signer_surname};
		signer_err err = signer_issue_kept(s->o.ca, &who, now_s, API_ONE_SHOT_VALIDITY_DAYS, cred);
		if (!err) {
			signer_credential_serial(*cred, one_shot->serial);
			signer_credential_validity(*cred, NULL, &one_shot->not_after_s);
			signer_kept_key_id(s->o.ca, one_shot->serial, one_shot->key_id);
		}
		return err;
	}
	if (!serial[0]) {
		snprintf(why, why_bytes,
		         task->seal ? "no certificate: firm %s has no seal certificate (ledgerctl seal issue)"
		                    : "no certificate: %s has none from the registration's certificate_issued step",
		         task->seal ? task->firm_id : task->signer);
		return SIGNER_ERR_NOT_FOUND;
	}
	signer_err err = signer_credential_open(s->o.ca, serial, now_s, cred);
	if (err)
		snprintf(why, why_bytes, "%s: %s", signer_strerror(err), signer_last_error());
	return err;
}

static bool sign_document(api_signing *s, const proj_sign_task *task, const char *serial, const uint8_t *pdf,
                          size_t pdf_bytes, int64_t now_s, uint8_t **out, size_t *out_bytes, certificate_facts *facts,
                          proj_issued *one_shot, char *why, size_t why_bytes)
{
	signer_credential *cred = NULL;
	signer_err err = credential_for(s, task, serial, now_s, &cred, one_shot, why, why_bytes);
	if (!err)
		signer_credential_use_tsa(cred, s->o.tsa);
	signer_rect rect;
	signer_pdf_info *info = NULL;
	if (!err && task->visible) {
		/* The projections keep PDF's bottom-left frame; signer/ takes the displayed top-left one. */
		info = malloc(sizeof *info);
		err = info ? signer_pdf_inspect(pdf, pdf_bytes, s->o.document_bytes_max, info) : SIGNER_ERR_NOMEM;
		if (!err && task->page >= 1 && task->page <= info->page_count) {
			float h = info->pages[task->page - 1].height_pt;
			rect = (signer_rect){task->page - 1, task->x0, h - task->y1, task->x1, h - task->y0};
		}
	}
	char reason[SIGNER_TEXT_BYTES_MAX];
	snprintf(reason, sizeof reason,
	         task->seal ? "Cachet électronique de %.150s" : "Signature électronique avancée de %.150s",
	         task->seal ? task->firm_name : task->signer_name);
	/* The firm's level (docs/signer.md), B-LTA unless it chose less. */
	int level = task->signature_level ? task->signature_level : LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_LTA;
	signer_sign_options o = {.signing_time_s = now_s,
	                         .utc_offset_s = proj_paris_offset_s(now_s), /* the stamp in Paris time */
	                         .reason = reason,
	                         .location = "France",
	                         .visible = task->visible && info ? &rect : NULL,
	                         .pdf_bytes_max = s->o.document_bytes_max};
	if (!err)
		err =
		    signer_pades_sign_at_level(s->o.ca, cred, (signer_level)level, pdf, pdf_bytes, &o, out, out_bytes);
	if (!err)
		certificate_names(cred, facts);
	else {
		if (!why[0])
			snprintf(why, why_bytes, "%s: %s", signer_strerror(err), signer_last_error());
		fprintf(stderr, "ledgerd: cannot sign for %s in collection %s of %s: %s\n", task->signer,
		        task->collection_id, task->firm_id, why);
	}
	free(info);
	signer_credential_free(cred);
	return err == SIGNER_OK;
}

/* Commits a produced signature (or, result NULL, the failure to produce it) and waits for the
 * batch. */
static void record(api_signing *s, const proj_sign_task *task, const proj_signed *result, const char *failure,
                   const proj_issued *one_shot, bool one_shot_destroyed)
{
	sign_job j = {.job = {.apply = sign_apply, .done = sign_done},
	              .s = s,
	              .task = task,
	              .result = result,
	              .failure = failure,
	              .one_shot = one_shot,
	              .one_shot_destroyed = one_shot_destroyed};
	ledger_committer_submit(s->o.committer, &j.job);
	pthread_mutex_lock(&s->lock);
	while (!j.done)
		pthread_cond_wait(&s->wake, &s->lock);
	pthread_mutex_unlock(&s->lock);
	if (j.err && j.err != LEDGER_ERR_STOPPED)
		fprintf(stderr, "ledgerd: cannot record a signature of collection %s: %s\n", task->collection_id,
		        ledger_strerror(j.err));
}

/* Skipped: a task this process failed whose failure is still on record. A person's RETRY
 * (SignatureRetried) clears the record, and the task is tried again at once. */
static bool skip_failed(void *ctx, const proj_sign_task *task)
{
	if (!task->failure_recorded)
		return false;
	uint8_t id[32];
	task_id(task, id);
	return failed_before(ctx, id);
}

/* The keys of revoked certificates, destroyed (a revoked certificate never signs again: the CA
 * refuses it, and now its key is gone too) and recorded, at most API_REVOKED_KEYS_ROUND_MAX a
 * round. A key already gone (NOT_FOUND) is recorded as destroyed as well. */
typedef struct revoked_keys {
	api_signing *s;
	char serials[API_REVOKED_KEYS_ROUND_MAX][PROJ_SERIAL_BYTES];
	char key_ids[API_REVOKED_KEYS_ROUND_MAX][PROJ_KEY_ID_BYTES];
	size_t count;
} revoked_keys;

typedef struct keys_job {
	ledger_job job;
	revoked_keys *keys;
	bool done;
	ledger_err err;
} keys_job;

static bool revoked_key(void *ctx, const char *serial, int64_t revoked_at_us, uint32_t reason_code)
{
	(void)revoked_at_us, (void)reason_code;
	revoked_keys *k = ctx;
	signer_kept_key_id(k->s->o.ca, serial, k->key_ids[k->count]); /* before the file goes */
	signer_err err = signer_credential_destroy(k->s->o.ca, serial);
	if (err && err != SIGNER_ERR_NOT_FOUND)
		fprintf(stderr, "ledgerd: cannot destroy the key of revoked certificate %s: %s\n", serial,
		        signer_last_error());
	else
		snprintf(k->serials[k->count++], PROJ_SERIAL_BYTES, "%s", serial);
	return k->count < API_REVOKED_KEYS_ROUND_MAX;
}

static ledger_err keys_apply(ledger_job *job, ledger_txn *t)
{
	keys_job *j = (keys_job *)job;
	ledger_err err = LEDGER_OK;
	for (size_t i = 0; i < j->keys->count && !err; i++)
		err =
		    proj_record_key_destroyed(j->keys->s->o.p, t, j->keys->serials[i], j->keys->key_ids[i], "revoked");
	return err;
}

static void keys_done(ledger_job *job, ledger_err err)
{
	keys_job *j = (keys_job *)job;
	j->err = err;
	api_wake(&j->keys->s->lock, &j->keys->s->wake, &j->done);
}

static void destroy_revoked_keys(api_signing *s)
{
	uint64_t head = 0;
	ledger_head(s->o.l, &head, NULL);
	if (head == s->keys_checked_at_seq)
		return; /* nothing committed since: no new revocation (idle rounds do not scan) */
	s->keys_checked_at_seq = head;
	revoked_keys *k = calloc(1, sizeof *k);
	MDB_txn *txn;
	if (!k || ledger_read_begin(s->o.l, &txn) != LEDGER_OK) {
		free(k);
		return;
	}
	k->s = s;
	ledger_err err = proj_revoked_kept_each(s->o.p, txn, revoked_key, k);
	ledger_read_end(s->o.l, txn);
	if (!err && k->count) {
		keys_job j = {.job = {.apply = keys_apply, .done = keys_done}, .keys = k};
		ledger_committer_submit(s->o.committer, &j.job);
		pthread_mutex_lock(&s->lock);
		while (!j.done)
			pthread_cond_wait(&s->wake, &s->lock);
		pthread_mutex_unlock(&s->lock);
		if (j.err && j.err != LEDGER_ERR_STOPPED)
			fprintf(stderr, "ledgerd: cannot record the destroyed keys: %s\n", ledger_strerror(j.err));
	}
	free(k);
}

/* One round: true if a signature was made, false when nothing is owed or signing failed. */
static bool round_once(api_signing *s)
{
	destroy_revoked_keys(s);
	MDB_txn *txn;
	proj_sign_task task;
	if (ledger_read_begin(s->o.l, &txn) != LEDGER_OK)
		return false;
	ledger_err err = proj_sign_next(s->o.p, txn, skip_failed, s, &task);
	uint8_t id[32];
	const uint8_t *bytes = NULL;
	size_t n = 0;
	uint8_t *pdf = NULL;
	char serial[PROJ_SERIAL_BYTES] = "";
	if (!err && !(task.external && !task.seal)) {
		ledger_err found = proj_signing_serial(s->o.p, txn, &task, serial);
		if (found && found != LEDGER_END)
			err = found;
	}
	if (!err) {
		task_id(&task, id);
		if (ledger_blob_get(s->o.l, txn, task.source_sha256, &bytes, &n) != LEDGER_OK ||
		    !(pdf = malloc(n ? n : 1)))
			err = LEDGER_END;
		else
			memcpy(pdf, bytes, n);
	}
	ledger_read_end(s->o.l, txn);
	if (err)
		return false;
	uint8_t *out = NULL;
	size_t out_bytes = 0;
	certificate_facts facts;
	int64_t now_s = s->o.clock_us(s->o.clock_ctx) / 1000000;
	char why[512] = "";
	/* The CA states (and refuses) exactly the revocations on record before it signs: each
	 * revoking command gives them to it once durable, so the whole table is read again here only
	 * when that failed (a scan of every certificate is not a cost for each signature). */
	atomic_bool *stale = s->o.revocations_stale;
	if ((!stale || atomic_exchange(stale, false)) && !api_revocations_sync(s->o.l, s->o.p, s->o.ca)) {
		if (stale)
			atomic_store(stale, true);
		free(pdf);
		return false;
	}
	proj_issued one_shot = {0};
	bool signed_it =
	    sign_document(s, &task, serial, pdf, n, now_s, &out, &out_bytes, &facts, &one_shot, why, sizeof why);
	/* A one-shot key signs once: destroyed now, whatever happened, and both facts recorded. */
	bool one_shot_destroyed =
	    one_shot.serial[0] && signer_credential_destroy(s->o.ca, one_shot.serial) == SIGNER_OK;
	if (one_shot.serial[0] && !one_shot_destroyed)
		fprintf(stderr, "ledgerd: cannot destroy the one-shot key of %s: %s\n", one_shot.serial,
		        signer_last_error());
	const proj_issued *used = one_shot.serial[0] ? &one_shot : NULL;
	if (signed_it) {
		proj_signed result = {.bytes = out,
		                      .bytes_count = out_bytes,
		                      .certificate_serial = facts.serial,
		                      .certificate_subject = facts.subject,
		                      .certificate_der = facts.der,
		                      .certificate_der_bytes = facts.der_bytes,
		                      .level = level_name(task.signature_level)};
		crypto_hash_sha256(result.sha256, out, out_bytes);
		record(s, &task, &result, NULL, used, one_shot_destroyed);
	} else {
		/* On record, so the front-end sees it; not retried by this process. */
		record(s, &task, NULL, why, used, one_shot_destroyed);
		if (s->failed_count < API_SIGNING_FAILED_MAX)
			memcpy(s->failed[s->failed_count++], id, 32);
	}
	free(out);
	free(pdf);
	return signed_it; /* after a failure, pause before the next round rather than spin */
}

static void *signing_main(void *arg)
{
	api_signing *s = arg;
	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		s->woken = false;
		pthread_mutex_unlock(&s->lock);
		bool busy = round_once(s);
		pthread_mutex_lock(&s->lock);
		if (busy || s->woken || s->stop)
			continue;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += API_SIGNING_IDLE_MS / 1000;
		pthread_cond_timedwait(&s->wake, &s->lock, &until);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* What api_signing_start made, once no thread runs on it. */
static void signing_free(api_signing *s)
{
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	free(s);
}

api_signing *api_signing_start(const api_signing_options *o)
{
	api_signing *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->o = *o;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	if (pthread_create(&s->thread, NULL, signing_main, s) != 0) {
		signing_free(s);
		return NULL;
	}
	return s;
}

void api_signing_wake(api_signing *s)
{
	if (!s)
		return;
	api_wake(&s->lock, &s->wake, &s->woken);
}

void api_signing_stop(api_signing *s)
{
	if (!s)
		return;
	api_wake(&s->lock, &s->wake, &s->stop);
	pthread_join(s->thread, NULL);
	signing_free(s);
}

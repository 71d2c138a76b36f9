/*
 * signing.h: ledgerd's signer thread (docs/design.md §1, "the signer"). It reacts to the
 * signatures the projections say are owed (a signer who signed or consented, a seal asked
 * for), produces each PAdES signature with signer/, and records it as an event. It runs
 * beside the request workers, never on the committer's thread: a signature takes
 * milliseconds, a commit must not wait for one.
 */
#ifndef API_SIGNING_H
#define API_SIGNING_H

#include "ledger.h"
#include "projections.h"
#include "signer.h"

#include <stdatomic.h>
#include <stdint.h>

/* Days a certificate the internal CA issues to a signer stays valid. */
#define API_CERT_VALIDITY_DAYS 1095u /* a person's and a seal's certificate: 3 years, as the platform's */
/* An external signer's one-shot certificate: its key signs once and is destroyed at once, but a
 * validator checks the signature against the certificate's validity at the signing time (and
 * time-stamp), so a day covers any clock skew between the signature and its time-stamp. */
#define API_ONE_SHOT_VALIDITY_DAYS 1u
#define API_REVOKED_KEYS_ROUND_MAX 64u /* revoked certificates' keys destroyed per signer round */
/* How long the thread sleeps when nothing is owed (it is also woken after each commit). */
#define API_SIGNING_IDLE_MS 1000
/* Signatures that failed are not retried by this process (a restart retries them): at most. */
#define API_SIGNING_FAILED_MAX 256u

typedef struct api_signing api_signing;

typedef struct api_signing_options {
	ledger *l;
	proj *p;
	ledger_committer *committer;
	signer_ca *ca;
	const signer_tsa_remote *tsa;   /* an external time-stamping authority, or NULL: the CA's */
	int64_t (*clock_us)(void *ctx); /* the service's (injectable) clock */
	void *clock_ctx;
	size_t document_bytes_max; /* a document to sign, after earlier signatures */
	/* Set when a committed revocation could not be given to the CA (api/certificates.c): the
	 * thread then gives it the revoked set before its next signature. NULL: every time. */
	atomic_bool *revocations_stale;
} api_signing_options;

/* Gives ca the revoked certificates folded from the log (CertificateRevoked). False if the log
 * cannot be read. */
bool api_revocations_sync(ledger *l, proj *p, signer_ca *ca);

/* Destroys every key kept under a serial (keys/signers/<SERIAL>.pem) that no KeyCreated records:
 * issued for a command or a one-shot signature whose batch never committed (a crash between the
 * two). Run at start, before any request. False if the keys cannot be listed. */
bool api_unrecorded_keys_destroy(ledger *l, proj *p, signer_ca *ca);

/* Starts the thread. NULL if it cannot (no memory, no thread). */
api_signing *api_signing_start(const api_signing_options *o);
/* Something was committed: look for owed signatures now. Safe from any thread. */
void api_signing_wake(api_signing *s);
/* Stops the thread after the signature in progress (its job is committed or refused), frees. */
void api_signing_stop(api_signing *s);

#endif

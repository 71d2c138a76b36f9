/*
 * keys_on_record.h: the authorities' keys and the platform's seal on record at ledgerd's start,
 * and the seal renewed while it serves (keys_on_record.c, docs/signer.md "The keys on record").
 */
#ifndef API_KEYS_ON_RECORD_H
#define API_KEYS_ON_RECORD_H

#include "ledger.h"
#include "projections.h"
#include "signer.h"

#include <stdbool.h>
#include <stdint.h>

/* The platform's seal is re-issued when it has less than this left (90 days): at a start, and
 * while ledgerd serves, when the expiry thread finds it so (api_platform_seal_due, every
 * API_EXPIRY_INTERVAL_MS of the service clock), so that a service never restarted does not see it
 * expire. */
#define API_PLATFORM_SEAL_RENEW_S (90LL * 86400)
/* A renewal that failed while serving (the token full, the log unwritable) is tried again after
 * this much of the service clock, not every second. */
#define API_PLATFORM_SEAL_RETRY_S 3600LL

/* The owner its KeyCreated names. */
#define API_PLATFORM_SEAL_OWNER "platform"

/* The platform's seal in use. While serving, the expiry thread alone writes it (renewing it);
 * readers take the server's lock of it (server_internal.h). */
typedef struct api_platform_seal {
	char serial[PROJ_SERIAL_BYTES]; /* "" when none */
	uint64_t seq;                   /* of its KeyCreated: evidence bundles prove that record */
	int64_t not_after_s;            /* its certificate's end */
	int64_t retry_at_s;             /* no renewal before (service clock): after one that failed, or for a seal
	                                   that ends with its issuing CA (none would last longer) */
} api_platform_seal;

/*
 * Writes, in one batch committed at now_us on the calling thread (call before the committer
 * starts), a KeyCreated for each authority key of ca that no event records yet, and the
 * platform's seal's KeyCreated when it is issued (the first time, or re-issued near its end:
 * then the old one's KeyDestroyed too, and its key destroyed once that commits). seal receives
 * the platform's seal in use, with the seq of its KeyCreated (found once here, reading the log up
 * to it). False (the reason on stderr, seal zeroed) if the log cannot be read or written or the
 * seal cannot be issued: ledgerd does not serve.
 */
bool api_keys_on_record(ledger *l, proj *p, signer_ca *ca, int64_t now_us, api_platform_seal *seal);

/* Whether seal has less than API_PLATFORM_SEAL_RENEW_S left at now_s, and retry_at_s does not
 * ask to wait. False for no seal. */
bool api_platform_seal_due(const api_platform_seal *seal, int64_t now_s);

/*
 * While serving: re-issues the platform's seal as a start near its end does: a new one issued
 * (kept in the token), its KeyCreated (request id "renewal") and the old one's KeyDestroyed
 * ("superseded") in one job through committer, waited for, then the old key destroyed; seal then
 * names the new one. On failure (the reason on stderr) the new key is destroyed, seal is kept
 * and its retry_at_s set API_PLATFORM_SEAL_RETRY_S later; false. The caller holds seal's lock
 * for writing throughout, so that no bundle is sealed by a key being replaced.
 */
bool api_platform_seal_renew(ledger *l, proj *p, ledger_committer *c, signer_ca *ca, int64_t now_us,
                             api_platform_seal *seal);

#endif

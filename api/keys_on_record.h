/*
 * keys_on_record.h: the authorities' keys and the platform's seal on record at ledgerd's start
 * (keys_on_record.c, docs/signer.md "The keys on record").
 */
#ifndef API_KEYS_ON_RECORD_H
#define API_KEYS_ON_RECORD_H

#include "ledger.h"
#include "projections.h"
#include "signer.h"

#include <stdbool.h>
#include <stdint.h>

/* The platform's seal is re-issued at a start when it has less than this left (90 days): it is
 * checked at each start only, so a service restarted less often than that may see it expire
 * (evidence bundles are then refused until the next start). */
#define API_PLATFORM_SEAL_RENEW_S (90ll * 86400)

/* The owner its KeyCreated names. */
#define API_PLATFORM_SEAL_OWNER "platform"

/*
 * Writes, in one batch committed at now_us on the calling thread (call before the committer
 * starts), a KeyCreated for each authority key of ca that no event records yet, and the
 * platform's seal's KeyCreated when it is issued (the first time, or re-issued near its end:
 * then the old one's KeyDestroyed too, and its key destroyed once that commits). seal_serial
 * receives the serial of the platform's seal in use and *seal_seq the seq of its KeyCreated
 * (found once here, reading the log up to it: evidence bundles prove that record). False (the
 * reason on stderr, seal_serial "") if the log cannot be read or written or the seal cannot be
 * issued: ledgerd does not serve.
 */
bool api_keys_on_record(ledger *l, proj *p, signer_ca *ca, int64_t now_us, char seal_serial[PROJ_SERIAL_BYTES],
                        uint64_t *seal_seq);

#endif

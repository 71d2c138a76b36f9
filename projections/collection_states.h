/*
 * collection_states.h: what a collection's state allows (docs/collections.md): the one table of
 * legal state transitions, which the commands consult before they emit a transition and the
 * fold asserts when it applies one, and the questions the state answers. Private to
 * projections/; knows the state schema only.
 */
#ifndef PROJECTIONS_COLLECTION_STATES_H
#define PROJECTIONS_COLLECTION_STATES_H

#include "events.pb-c.h"
#include "state.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* True when the table allows a collection in state from to move to state to. */
bool proj_collection_transition_legal(Ledger__Events__CollectionState from, Ledger__Events__CollectionState to);
/* "draft", "pending_approval"...: the spelling of ledgerctl's --json and of Error.reason;
 * "unknown" for a value outside the enum. */
const char *proj_collection_state_name(Ledger__Events__CollectionState s);
/* Sent or in progress: signers are asked, timers run. */
bool proj_collection_running(Ledger__Events__CollectionState s);
/* Completed, declined, cancelled or expired: nothing moves it any more. */
bool proj_collection_ended(Ledger__Events__CollectionState s);

/* Who the collection waits for now: true for a signer whose turn it is. */
bool proj_signer_turn(const Ledger__State__Collection *c, size_t index);
/* Index of the signer (as events name them: an internal signer's email, an external signer's
 * id) or of the document (by its original SHA-256) in c, or -1. */
ssize_t proj_collection_signer(const Ledger__State__Collection *c, const char *signer);
ssize_t proj_collection_document(const Ledger__State__Collection *c, const uint8_t *sha256, size_t len);

#endif

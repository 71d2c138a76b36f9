/*
 * collection_states.c: the states of a collection and the one table of moves between them.
 *
 * A collection is created a draft. The table is the whole of its life cycle: a command refuses a
 * move the table does not list (INVALID_TRANSITION), and the fold of CollectionTransitioned
 * asserts that the move it applies is listed and starts from the state the collection is in.
 * An assertion that fires there means a command emitted a move it had not checked.
 */
#include "collection_states.h"

#include "ledger.h"

#include <string.h>

#define STATE(name)  LEDGER__EVENTS__COLLECTION_STATE__STATE_##name
#define STATES_COUNT (STATE(EXPIRED) + 1)

/* legal[from][to]. */
static const bool legal[STATES_COUNT][STATES_COUNT] = {
    [STATE(DRAFT)] = {[STATE(PENDING_APPROVAL)] = true,
                      [STATE(SENT)] = true,
                      [STATE(IN_PROGRESS)] = true /* a seal */,
                      [STATE(CANCELLED)] = true},
    [STATE(PENDING_APPROVAL)] = {[STATE(APPROVED)] = true, [STATE(REJECTED)] = true, [STATE(CANCELLED)] = true},
    [STATE(APPROVED)] = {[STATE(SENT)] = true, [STATE(CANCELLED)] = true},
    [STATE(REJECTED)] = {[STATE(DRAFT)] = true /* reopened by a change */,
                         [STATE(PENDING_APPROVAL)] = true,
                         [STATE(SENT)] = true,
                         [STATE(CANCELLED)] = true},
    [STATE(SENT)] = {[STATE(IN_PROGRESS)] = true,
                     [STATE(COMPLETED)] = true,
                     [STATE(DECLINED)] = true,
                     [STATE(CANCELLED)] = true,
                     [STATE(EXPIRED)] = true},
    [STATE(IN_PROGRESS)] = {[STATE(COMPLETED)] = true,
                            [STATE(DECLINED)] = true,
                            [STATE(CANCELLED)] = true,
                            [STATE(EXPIRED)] = true},
    /* COMPLETED, DECLINED, CANCELLED, EXPIRED: ended, no way out. */
};

bool proj_collection_transition_legal(Ledger__Events__CollectionState from, Ledger__Events__CollectionState to)
{
	return (unsigned)from < STATES_COUNT && (unsigned)to < STATES_COUNT && legal[from][to];
}

const char *proj_collection_state_name(Ledger__Events__CollectionState s)
{
	static const char *const names[] = {"unspecified", "draft",     "pending_approval", "approved",
	                                    "rejected",    "sent",      "in_progress",      "completed",
	                                    "declined",    "cancelled", "expired"};
	_Static_assert(sizeof names / sizeof names[0] == STATES_COUNT, "one name per state");
	return (unsigned)s < STATES_COUNT ? names[s] : "unknown";
}

bool proj_collection_running(Ledger__Events__CollectionState s)
{
	return s == STATE(SENT) || s == STATE(IN_PROGRESS);
}

bool proj_collection_ended(Ledger__Events__CollectionState s)
{
	return s == STATE(COMPLETED) || s == STATE(DECLINED) || s == STATE(CANCELLED) || s == STATE(EXPIRED);
}

bool proj_signer_turn(const Ledger__State__Collection *c, size_t index)
{
	const Ledger__State__Signer *s = c->signers[index];
	if (!proj_collection_running(c->state) || s->signed_ || s->requested ||
	    s->status == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_DECLINED)
		return false;
	if (c->order != LEDGER__EVENTS__SIGNING_ORDER__ORDER_SEQUENTIAL)
		return true;
	for (size_t i = 0; i < index; i++)
		if (!c->signers[i]->signed_)
			return false;
	return true;
}

ssize_t proj_collection_signer(const Ledger__State__Collection *c, const char *signer)
{
	for (size_t i = 0; i < c->n_signers; i++)
		if (strcmp(c->signers[i]->signer, signer) == 0)
			return (ssize_t)i;
	return -1;
}

static bool same_hash(const ProtobufCBinaryData *a, const uint8_t *b)
{
	return a->len == LEDGER_HASH_BYTES && memcmp(a->data, b, LEDGER_HASH_BYTES) == 0;
}

ssize_t proj_collection_document(const Ledger__State__Collection *c, const uint8_t *sha256, size_t len)
{
	for (size_t i = 0; i < c->n_documents; i++)
		if (len == LEDGER_HASH_BYTES && same_hash(&c->documents[i]->sha256, sha256))
			return (ssize_t)i;
	return -1;
}

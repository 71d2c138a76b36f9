/*
 * collection_commands.h: what the collection commands share (collection_commands.c,
 * collection_lifecycle.c). Private to projections/.
 */
#ifndef PROJECTIONS_COLLECTION_COMMANDS_H
#define PROJECTIONS_COLLECTION_COMMANDS_H

#include "commands.h"

/* Refuses the command: the reply's typed error, formatted once. */
#define collection_refuse(em, code, field, ...) proj_error((em)->reply, (em)->arena, (code), (field), __VA_ARGS__)

/* The loaded collection a command works on, allocated in the reply's arena. */
typedef struct collection_target {
	proj_emitter *em;
	MDB_txn *txn;
	ProtobufCAllocator alloc;
	Ledger__State__Collection *c;
	const char *firm_id;
} collection_target;

/*
 * Loads ref's collection and authorises the actor for the action its kind needs: signature_action
 * for a signature collection, seal_action for a seal collection (NULL: the command does not
 * apply to that kind). Checks expected_version. False, with the reply's error set, if any fails.
 */
bool collection_load(collection_target *tg, proj_emitter *em, const Ledger__Api__CollectionRef *ref,
                     const char *signature_action, const char *seal_action, ledger_err *err);
/* The index of the signer that name names in tg's collection: an email (of either kind of
 * signer) or an external signer's id; -1 if none. */
ssize_t collection_signer_named(collection_target *tg, const char *name);
/* True if the collection is in state a or b; else refuses (INVALID_TRANSITION). */
bool collection_require_state(collection_target *tg, const char *what, Ledger__Events__CollectionState a,
                              Ledger__Events__CollectionState b);
/* True if the transition table lets the collection move to `to`; else refuses
 * (INVALID_TRANSITION), naming what the command wanted to do and the state it found. */
bool collection_require_transition(collection_target *tg, const char *what, Ledger__Events__CollectionState to);
/* Drafts and rejected collections may change; the first change of a rejected one reopens it. */
bool collection_editable(collection_target *tg, const char *what);
ledger_err collection_reopen_if_rejected(collection_target *tg);
/* Emits CollectionTransitioned from -> to: a move the caller checked, which the table allows. */
ledger_err collection_emit_transition(proj_emitter *em, const Ledger__State__Collection *c,
                                      Ledger__Events__CollectionState from, Ledger__Events__CollectionState to,
                                      const char *comment, int64_t expires_at_us);
void collection_set_reason(proj_emitter *em, const char *reason);
/* May email sign for the firm (an account, registration complete)? *name gets the account's. */
bool collection_internal_signer_ok(collection_target *tg, const char *email, const char **name, ledger_err *err);

/* collection_lifecycle.c */
ledger_err collection_act(proj_emitter *em, const Ledger__Api__CollectionAct *a);
ledger_err collection_signer_report(proj_emitter *em, const Ledger__Api__SignerReport *r);

#endif

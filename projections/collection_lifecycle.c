/*
 * collection_lifecycle.c: the commands that move a collection through its life (docs/
 * collections.md): approval, sending (with its credits), reminders, signers' acts, seals,
 * classification, cancellation, what the front-end reports of signers, and the service's
 * expiries, reminders and completion. Every move is one of collection_states.c's table.
 */
#include "collection_commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----- lifecycle ----- */

/* What sending needs: documents, signers, and internal signers still allowed to sign. */
static bool ready_to_send(collection_target *tg, ledger_err *err)
{
	*err = LEDGER_OK;
	const Ledger__State__Collection *c = tg->c;
	if (c->n_documents == 0 || c->n_signers == 0) {
		collection_refuse(tg->em, ERROR_CODE(FAILED_PRECONDITION), NULL,
		                  "collection %s needs at least one document and one signer (it has %zu and %zu)",
		                  c->collection_id, c->n_documents, c->n_signers);
		return false;
	}
	for (size_t i = 0; i < c->n_signers; i++) {
		const char *name;
		if (c->signers[i]->kind == LEDGER__EVENTS__SIGNER_KIND__SIGNER_INTERNAL &&
		    !collection_internal_signer_ok(tg, c->signers[i]->signer, &name, err))
			return false;
	}
	return true;
}

static uint64_t credits_needed(const Ledger__State__Collection *c)
{
	uint64_t per_document = c->kind == LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL ? 1 : c->n_signers;
	return c->n_documents * per_document;
}

static bool credits_cover(collection_target *tg, uint64_t needed, ledger_err *err)
{
	Ledger__State__Credits *cr;
	*err = proj_credits_get(tg->em->p, tg->txn, tg->c->firm_id, &cr);
	if (*err)
		return false;
	uint64_t available = cr->available;
	ledger__state__credits__free_unpacked(cr, NULL);
	if (available >= needed)
		return true;
	collection_refuse(tg->em, ERROR_CODE(INSUFFICIENT_CREDITS), NULL,
	                  "collection %s needs %llu credits (documents x signers); firm %s has %llu available",
	                  tg->c->collection_id, (unsigned long long)needed, tg->c->firm_id,
	                  (unsigned long long)available);
	return false;
}

/* from -> (approved ->) sent, reserving the credits. */
static ledger_err send(collection_target *tg, bool approved, const char *comment)
{
	ledger_err err;
	uint64_t needed = credits_needed(tg->c);
	if (!ready_to_send(tg, &err) || !credits_cover(tg, needed, &err))
		return err;
	const Ledger__State__Collection *c = tg->c;
	Ledger__Events__CollectionState from = c->state;
	uint32_t days = c->expiry_days ? c->expiry_days : PROJ_COLLECTION_EXPIRY_DAYS_DEFAULT;
	int64_t expires_at_us = ledger_txn_time_us(tg->em->t) + (int64_t)days * PROJ_DAY_US;
	if (approved) {
		if ((err = collection_emit_transition(tg->em, c, from, COLLECTION_STATE(APPROVED), comment, 0)))
			return err;
		from = COLLECTION_STATE(APPROVED);
	}
	bool ok;
	if ((err = collection_emit_transition(tg->em, c, from, COLLECTION_STATE(SENT), approved ? "" : comment,
	                                      expires_at_us)) ||
	    (err = proj_credits_reserve(tg->em, c->firm_id, c->collection_id, needed, &ok)))
		return err;
	LEDGER_ASSERT(ok);
	return LEDGER_OK;
}

static ledger_err finish(collection_target *tg, Ledger__Events__CollectionState to, const char *comment)
{
	const Ledger__State__Collection *c = tg->c;
	ledger_err err = collection_emit_transition(tg->em, c, c->state, to, comment, 0);
	if (!err)
		err = proj_credits_release(tg->em, c, to);
	if (!err) {
		char occasion[64], message[256];
		snprintf(occasion, sizeof occasion, "collection:%s:%s", c->collection_id,
		         proj_collection_state_name(to));
		snprintf(message, sizeof message, "collection %s \"%.100s\" is %s", c->collection_id, c->title,
		         proj_collection_state_name(to));
		err = proj_alert_raise(tg->em->p, tg->em->t, tg->em->actor->subject, tg->em->request_id, c->firm_id,
		                       c->created_by, LEDGER__EVENTS__ALERT_KIND__ALERT_COLLECTION_FINISHED, occasion,
		                       message);
	}
	return err;
}

static bool valid_comment(proj_emitter *em, const char *comment, bool required)
{
	size_t n = strlen(comment);
	if ((n == 0 && !required) || (n > 0 && proj_text_valid(comment, PROJ_COMMENT_BYTES_MAX)))
		return true;
	collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "comment",
	                  required ? "a comment (1 to %u bytes of text) is required"
	                           : "comment must be at most %u bytes of text",
	                  PROJ_COMMENT_BYTES_MAX);
	return false;
}

static ledger_err remind(collection_target *tg, bool automatic, const char *actor, const char *request_id)
{
	const Ledger__State__Collection *c = tg->c;
	char **who = proj_arena_alloc(tg->em->arena, (c->n_signers + 1) * sizeof *who);
	if (!who)
		return LEDGER_ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < c->n_signers; i++)
		if (proj_signer_turn(c, i))
			who[n++] = c->signers[i]->signer;
	if (n == 0) {
		if (!automatic)
			collection_refuse(tg->em, ERROR_CODE(FAILED_PRECONDITION), NULL,
			                  "collection %s waits for no signer to remind", c->collection_id);
		return LEDGER_OK;
	}
	Ledger__Events__ReminderSent e = LEDGER__EVENTS__REMINDER_SENT__INIT;
	e.collection_id = c->collection_id;
	e.signers = who;
	e.n_signers = n;
	e.automatic = automatic;
	Ledger__Events__Event ev = PROJ_EVENT(REMINDER_SENT, reminder_sent, &e);
	if (!automatic)
		return proj_emitter_emit(tg->em, c->firm_id, &ev);
	return proj_emit(tg->em->p, tg->em->t, actor, request_id, c->firm_id, &ev, NULL, NULL);
}

/* Writes e (its collection is tg's) and what follows from it: the collection in progress at
 * the first act, declined at a refusal. */
static ledger_err signer_act(collection_target *tg, Ledger__Events__SignerActed *e)
{
	ledger_err err = LEDGER_OK;
	Ledger__Events__SignerAction action = e->action;
	bool acts = action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_AUTHENTICATED ||
	            action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED ||
	            action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_SIGNED;
	if (acts && tg->c->state == COLLECTION_STATE(SENT)) {
		if ((err = collection_emit_transition(tg->em, tg->c, COLLECTION_STATE(SENT),
		                                      COLLECTION_STATE(IN_PROGRESS), "", 0)))
			return err;
		tg->c->state = COLLECTION_STATE(IN_PROGRESS);
	}
	e->collection_id = tg->c->collection_id;
	Ledger__Events__Event ev = PROJ_EVENT(SIGNER_ACTED, signer_acted, e);
	if ((err = proj_emitter_emit(tg->em, tg->c->firm_id, &ev)))
		return err;
	return action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_DECLINED
	           ? finish(tg, COLLECTION_STATE(DECLINED), e->comment)
	           : LEDGER_OK;
}

static bool consent_valid(collection_target *tg, const Ledger__State__Signer *s, size_t n_hashes,
                          const ProtobufCBinaryData *hashes, const char *consent_text_version);

/* An internal signer signs on a fresh authentication and names what they sign, like an external
 * signer's consent (docs/collections.md#consent): their signature is that consent. */
static ledger_err act_sign(collection_target *tg, const Ledger__Api__CollectionAct *a)
{
	const Ledger__State__Collection *c = tg->c;
	ssize_t i = proj_collection_signer(c, tg->em->actor->subject);
	if (i < 0 || c->signers[i]->kind != LEDGER__EVENTS__SIGNER_KIND__SIGNER_INTERNAL) {
		collection_refuse(tg->em, ERROR_CODE(FAILED_PRECONDITION), NULL,
		                  "%s is not an internal signer of collection %s", tg->em->actor->subject,
		                  c->collection_id);
		return LEDGER_OK;
	}
	if (!proj_signer_turn(c, (size_t)i)) {
		collection_refuse(tg->em, ERROR_CODE(FAILED_PRECONDITION), NULL,
		                  "collection %s does not wait for %s's signature now (%s)", c->collection_id,
		                  tg->em->actor->subject,
		                  c->signers[i]->requested            ? "already signed"
		                  : proj_collection_running(c->state) ? "another signer comes first"
		                                                      : "it is not running");
		return LEDGER_OK;
	}
	if (!consent_valid(tg, c->signers[i], a->n_document_sha256, a->document_sha256, a->consent_text_version))
		return LEDGER_OK;
	Ledger__Events__SignerActed e = LEDGER__EVENTS__SIGNER_ACTED__INIT;
	e.signer = (char *)tg->em->actor->subject;
	e.action = LEDGER__EVENTS__SIGNER_ACTION__SIGNER_SIGNED;
	e.n_document_sha256 = a->n_document_sha256;
	e.document_sha256 = a->document_sha256;
	e.consent_text_version = a->consent_text_version;
	e.authentication_seq = c->signers[i]->authenticated_seq;
	return signer_act(tg, &e);
}

static ledger_err act_seal(collection_target *tg)
{
	ledger_err err;
	if (!collection_require_state(tg, "seal", COLLECTION_STATE(DRAFT), COLLECTION_STATE(DRAFT)))
		return LEDGER_OK;
	if (tg->c->n_documents == 0) {
		collection_refuse(tg->em, ERROR_CODE(FAILED_PRECONDITION), NULL,
		                  "collection %s holds no document to seal", tg->c->collection_id);
		return LEDGER_OK;
	}
	uint64_t needed = credits_needed(tg->c);
	bool ok;
	/* A seal expires like a sent collection: a sealing that keeps failing, left alone, does not
	 * hold the firm's credits for ever (docs/collections.md). */
	uint32_t days = tg->c->expiry_days ? tg->c->expiry_days : PROJ_COLLECTION_EXPIRY_DAYS_DEFAULT;
	int64_t expires_at_us = ledger_txn_time_us(tg->em->t) + (int64_t)days * PROJ_DAY_US;
	if (!credits_cover(tg, needed, &err) ||
	    (err = collection_emit_transition(tg->em, tg->c, COLLECTION_STATE(DRAFT), COLLECTION_STATE(IN_PROGRESS), "",
	                                      expires_at_us)) ||
	    (err = proj_credits_reserve(tg->em, tg->c->firm_id, tg->c->collection_id, needed, &ok)))
		return err;
	return LEDGER_OK;
}

static ledger_err act_classify(collection_target *tg, const char *folder)
{
	const Ledger__State__Collection *c = tg->c;
	if (!proj_collection_ended(c->state) || c->classified) {
		collection_refuse(tg->em, ERROR_CODE(INVALID_TRANSITION), NULL,
		                  "cannot classify collection %s: it is %s%s", c->collection_id,
		                  proj_collection_state_name(c->state), c->classified ? " and already classified" : "");
		collection_set_reason(tg->em, proj_collection_state_name(c->state));
		return LEDGER_OK;
	}
	if (folder[0] && !proj_name_valid(folder)) {
		collection_refuse(tg->em, ERROR_CODE(INVALID_ARGUMENT), "comment",
		                  "the folder must be 1 to %u bytes of text", PROJ_NAME_BYTES_MAX);
		return LEDGER_OK;
	}
	Ledger__Events__CollectionClassified e = LEDGER__EVENTS__COLLECTION_CLASSIFIED__INIT;
	e.collection_id = c->collection_id;
	e.folder = (char *)folder;
	Ledger__Events__Event ev = PROJ_EVENT(COLLECTION_CLASSIFIED, collection_classified, &e);
	return proj_emitter_emit(tg->em, c->firm_id, &ev);
}

static bool document_failed(const Ledger__State__Document *d)
{
	return d->failure && d->failure[0];
}

/*
 * Which document a RETRY names, or -1 for every failed one (sha256 empty). False, with the
 * reply's error set, when the name is malformed, not a document of the collection, or one
 * whose last signing attempt did not fail: there is nothing of it to try again.
 */
static bool retry_target(collection_target *tg, ProtobufCBinaryData sha256, ssize_t *at)
{
	const Ledger__State__Collection *c = tg->c;
	*at = -1;
	if (sha256.len == 0)
		return true;
	if (sha256.len != LEDGER_HASH_BYTES) {
		collection_refuse(tg->em, ERROR_CODE(INVALID_ARGUMENT), "sha256",
		                  "sha256 must be %u bytes (a document's original SHA-256), not %zu", LEDGER_HASH_BYTES,
		                  sha256.len);
		return false;
	}
	*at = proj_collection_document(c, sha256.data, sha256.len);
	if (*at < 0) {
		collection_refuse(tg->em, ERROR_CODE(NOT_FOUND), "sha256", "collection %s holds no such document",
		                  c->collection_id);
		return false;
	}
	if (!document_failed(c->documents[*at])) {
		collection_refuse(
		    tg->em, ERROR_CODE(FAILED_PRECONDITION), "sha256",
		    "the last signing attempt of document %s of collection %s did not fail: nothing to retry",
		    c->documents[*at]->filename, c->collection_id);
		return false;
	}
	return true;
}

/* Failed signatures tried again: their failures are cleared (one document's, when the command
 * names it), and the signer thread, woken by the commit, takes them up. Only in progress, and
 * only when one failed. */
static ledger_err act_retry(collection_target *tg, ProtobufCBinaryData sha256)
{
	const Ledger__State__Collection *c = tg->c;
	ssize_t at;
	if (!collection_require_state(tg, "retry the signatures of", COLLECTION_STATE(IN_PROGRESS),
	                              COLLECTION_STATE(IN_PROGRESS)) ||
	    !retry_target(tg, sha256, &at))
		return LEDGER_OK;
	bool failed = false;
	for (size_t i = 0; i < c->n_documents; i++)
		failed |= document_failed(c->documents[i]);
	if (!failed) {
		collection_refuse(tg->em, ERROR_CODE(FAILED_PRECONDITION), NULL,
		                  "no signature of collection %s has failed: nothing to retry", c->collection_id);
		return LEDGER_OK;
	}
	Ledger__Events__SignatureRetried e = LEDGER__EVENTS__SIGNATURE_RETRIED__INIT;
	e.collection_id = c->collection_id;
	if (at >= 0)
		e.original_sha256 = c->documents[at]->sha256;
	Ledger__Events__Event ev = PROJ_EVENT(SIGNATURE_RETRIED, signature_retried, &e);
	return proj_emitter_emit(tg->em, c->firm_id, &ev);
}

typedef struct act_rule {
	const char *signature_action, *seal_action;
} act_rule;

static const act_rule act_rules[] = {
    [LEDGER__API__COLLECTION_ACT__ACT__REQUEST_APPROVAL] = {"signature.request_approval", NULL},
    [LEDGER__API__COLLECTION_ACT__ACT__APPROVE] = {"signature.approve", NULL},
    [LEDGER__API__COLLECTION_ACT__ACT__REJECT] = {"signature.reject", NULL},
    [LEDGER__API__COLLECTION_ACT__ACT__SEND] = {"signature.send", NULL},
    [LEDGER__API__COLLECTION_ACT__ACT__CANCEL] = {"signature.cancel", "seal.modify"},
    [LEDGER__API__COLLECTION_ACT__ACT__CLASSIFY] = {"signature.classify", "seal.classify"},
    [LEDGER__API__COLLECTION_ACT__ACT__REMIND] = {"signature.remind", NULL},
    [LEDGER__API__COLLECTION_ACT__ACT__SIGN] = {"signature.sign", NULL},
    [LEDGER__API__COLLECTION_ACT__ACT__SEAL] = {NULL, "seal.seal"},
    /* Repairing a failed signature is for those who may end the collection. */
    [LEDGER__API__COLLECTION_ACT__ACT__RETRY] = {"signature.cancel", "seal.modify"},
};

ledger_err collection_act(proj_emitter *em, const Ledger__Api__CollectionAct *a)
{
	if (a->act <= 0 || (size_t)a->act >= sizeof act_rules / sizeof act_rules[0]) {
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "act", "unknown act %d", (int)a->act);
		return LEDGER_OK;
	}
	collection_target tg;
	ledger_err err;
	const act_rule *rule = &act_rules[a->act];
	if (!collection_load(&tg, em, a->ref, rule->signature_action, rule->seal_action, &err))
		return err;
	bool comment_required = a->act == LEDGER__API__COLLECTION_ACT__ACT__REJECT;
	if (!valid_comment(em, a->comment, comment_required))
		return LEDGER_OK;
	if (a->sha256.len && a->act != LEDGER__API__COLLECTION_ACT__ACT__RETRY) {
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "sha256", "only RETRY names a document");
		return LEDGER_OK;
	}
	switch (a->act) {
	case LEDGER__API__COLLECTION_ACT__ACT__REQUEST_APPROVAL:
		if (!collection_require_transition(&tg, "request approval for", COLLECTION_STATE(PENDING_APPROVAL)) ||
		    !ready_to_send(&tg, &err))
			return err;
		return collection_emit_transition(em, tg.c, tg.c->state, COLLECTION_STATE(PENDING_APPROVAL), a->comment,
		                                  0);
	case LEDGER__API__COLLECTION_ACT__ACT__APPROVE:
		if (!collection_require_transition(&tg, "approve", COLLECTION_STATE(APPROVED)))
			return LEDGER_OK;
		return send(&tg, true, a->comment);
	case LEDGER__API__COLLECTION_ACT__ACT__REJECT:
		if (!collection_require_transition(&tg, "reject", COLLECTION_STATE(REJECTED)))
			return LEDGER_OK;
		return collection_emit_transition(em, tg.c, tg.c->state, COLLECTION_STATE(REJECTED), a->comment, 0);
	case LEDGER__API__COLLECTION_ACT__ACT__SEND:
		if (!collection_require_state(&tg, "send", COLLECTION_STATE(DRAFT), COLLECTION_STATE(REJECTED)))
			return LEDGER_OK;
		return send(&tg, false, a->comment);
	case LEDGER__API__COLLECTION_ACT__ACT__CANCEL:
		if (!collection_require_transition(&tg, "cancel", COLLECTION_STATE(CANCELLED)))
			return LEDGER_OK;
		return finish(&tg, COLLECTION_STATE(CANCELLED), a->comment);
	case LEDGER__API__COLLECTION_ACT__ACT__CLASSIFY: return act_classify(&tg, a->comment);
	case LEDGER__API__COLLECTION_ACT__ACT__REMIND:
		if (!collection_require_state(&tg, "remind the signers of", COLLECTION_STATE(SENT),
		                              COLLECTION_STATE(IN_PROGRESS)))
			return LEDGER_OK;
		return remind(&tg, false, NULL, NULL);
	case LEDGER__API__COLLECTION_ACT__ACT__SIGN: return act_sign(&tg, a);
	case LEDGER__API__COLLECTION_ACT__ACT__SEAL: return act_seal(&tg);
	case LEDGER__API__COLLECTION_ACT__ACT__RETRY: return act_retry(&tg, a->sha256);
	default: return LEDGER_ERR_INVALID;
	}
}

/* ----- what the front-end reports of signers (platform role) ----- */

static bool load_as_platform(collection_target *tg, proj_emitter *em, const Ledger__Api__CollectionRef *ref,
                             ledger_err *err)
{
	*err = LEDGER_OK;
	tg->em = em;
	tg->txn = ledger_txn_mdb(em->t);
	proj_arena_allocator(em->arena, &tg->alloc);
	if (!em->actor->platform) {
		collection_refuse(em, ERROR_CODE(PERMISSION_DENIED), NULL,
		                  "signers' actions are reported by the platform; %s does not have its role",
		                  em->actor->subject);
		return false;
	}
	if (!ref || !proj_firm_id_valid(ref->firm_id)) {
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "ref.firm_id", "the command names no valid firm");
		return false;
	}
	*err = proj_collection_get(em->p, tg->txn, ref->firm_id, ref->collection_id, &tg->alloc, &tg->c);
	if (*err == LEDGER_END) {
		*err = LEDGER_OK;
		collection_refuse(em, ERROR_CODE(NOT_FOUND), "ref.collection_id", "no collection %.32s in firm %s",
		                  ref->collection_id, ref->firm_id);
		return false;
	}
	if (*err)
		return false;
	if (ref->expected_version && ref->expected_version != tg->c->version) {
		collection_refuse(em, ERROR_CODE(CONFLICT), "ref.expected_version",
		                  "collection %s is at version %llu, not %llu", tg->c->collection_id,
		                  (unsigned long long)tg->c->version, (unsigned long long)ref->expected_version);
		return false;
	}
	return true;
}

/* An authenticated report says where the one-time code went, masked, and when it was sent. */
static bool authentication_valid(proj_emitter *em, const Ledger__Api__SignerReport *r)
{
	int64_t now_us = ledger_txn_time_us(em->t);
	if (strcmp(r->method, "sms") != 0 && strcmp(r->method, "email") != 0)
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "method",
		                  "method must be sms or email (the one-time code's channel)");
	else if (!r->masked_destination[0] ||
	         !proj_text_valid(r->masked_destination, PROJ_MASKED_DESTINATION_BYTES_MAX) ||
	         !strchr(r->masked_destination, '*'))
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "masked_destination",
		                  "masked_destination must say where the code went, masked with '*' (\"+33 6** ** ** "
		                  "78\"), in at most %u bytes",
		                  PROJ_MASKED_DESTINATION_BYTES_MAX);
	else if (r->code_sent_at_us <= 0 || r->code_sent_at_us > now_us)
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "code_sent_at_us",
		                  "code_sent_at_us must be when the code was sent, before now");
	else
		return true;
	return false;
}

/*
 * A consent rests on an authentication of the last PROJ_CONSENT_AUTHENTICATION_AGE_US, names
 * the consent text's version, and names exactly the versions to be signed: one SHA-256 per
 * document, as uploaded or as last signed (an earlier signer's update keeps what was shown).
 * An external signer consents by a report; an internal signer's `signature.sign` is their
 * consent and carries the same.
 */
static bool consent_valid(collection_target *tg, const Ledger__State__Signer *s, size_t n_hashes,
                          const ProtobufCBinaryData *hashes, const char *consent_text_version)
{
	proj_emitter *em = tg->em;
	const Ledger__State__Collection *c = tg->c;
	int64_t now_us = ledger_txn_time_us(em->t);
	if (!s->authenticated_seq || now_us - s->authenticated_at_us > PROJ_CONSENT_AUTHENTICATION_AGE_US) {
		collection_refuse(em, ERROR_CODE(FAILED_PRECONDITION), "signer",
		                  "%s has no authentication of the last %d minutes on record: report authenticated "
		                  "first",
		                  s->signer, (int)(PROJ_CONSENT_AUTHENTICATION_AGE_US / 60000000));
		return false;
	}
	if (!consent_text_version[0] || !proj_text_valid(consent_text_version, PROJ_NAME_BYTES_MAX)) {
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "consent_text_version",
		                  "consent_text_version must name the version of the consent text shown");
		return false;
	}
	bool seen[PROJ_COLLECTION_DOCUMENTS_MAX] = {false};
	bool ok = n_hashes == c->n_documents && c->n_documents <= PROJ_COLLECTION_DOCUMENTS_MAX;
	for (size_t i = 0; ok && i < n_hashes; i++) {
		const ProtobufCBinaryData *h = &hashes[i];
		size_t d = 0;
		while (d < c->n_documents &&
		       (seen[d] || h->len != LEDGER_HASH_BYTES ||
		        (memcmp(h->data, c->documents[d]->sha256.data, LEDGER_HASH_BYTES) != 0 &&
		         memcmp(h->data, c->documents[d]->current_sha256.data, LEDGER_HASH_BYTES) != 0)))
			d++;
		ok = d < c->n_documents;
		if (ok)
			seen[d] = true;
	}
	if (!ok)
		collection_refuse(
		    em, ERROR_CODE(FAILED_PRECONDITION), "document_sha256",
		    "the consent's %zu versions are not the %zu documents of %s as they are to be signed (one "
		    "SHA-256 each, as uploaded or as last signed)",
		    n_hashes, c->n_documents, c->collection_id);
	return ok;
}

ledger_err collection_signer_report(proj_emitter *em, const Ledger__Api__SignerReport *r)
{
	collection_target tg;
	ledger_err err;
	if (!load_as_platform(&tg, em, r->ref, &err) ||
	    !collection_require_state(&tg, "report a signer's action in", COLLECTION_STATE(SENT),
	                              COLLECTION_STATE(IN_PROGRESS)))
		return err;
	/* The front-end names the signer by email (or id); events name them as SignerAdded did. */
	ssize_t i = collection_signer_named(&tg, r->signer);
	if (i < 0) {
		collection_refuse(em, ERROR_CODE(NOT_FOUND), "signer", "\"%.64s\" is not a signer of %s", r->signer,
		                  tg.c->collection_id);
		return LEDGER_OK;
	}
	const Ledger__State__Signer *s = tg.c->signers[i];
	const char *email = r->signer;
	bool turn = proj_signer_turn(tg.c, (size_t)i);
	switch (r->action) {
	case LEDGER__EVENTS__SIGNER_ACTION__SIGNER_INVITED:
	case LEDGER__EVENTS__SIGNER_ACTION__SIGNER_DECLINED:
		if (s->signed_ || s->requested) {
			collection_refuse(em, ERROR_CODE(FAILED_PRECONDITION), "signer", "%s has already signed %s",
			                  email, tg.c->collection_id);
			return LEDGER_OK;
		}
		break;
	case LEDGER__EVENTS__SIGNER_ACTION__SIGNER_AUTHENTICATED:
		if (!authentication_valid(em, r))
			return LEDGER_OK;
		break;
	case LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED:
		if (s->kind != LEDGER__EVENTS__SIGNER_KIND__SIGNER_EXTERNAL || !turn) {
			collection_refuse(em, ERROR_CODE(FAILED_PRECONDITION), "signer", "%s cannot consent now: %s",
			                  email,
			                  s->kind != LEDGER__EVENTS__SIGNER_KIND__SIGNER_EXTERNAL
			                      ? "internal signers sign with signature.sign"
			                      : "it is not their turn, or they have signed");
			return LEDGER_OK;
		}
		if (!consent_valid(&tg, s, r->n_document_sha256, r->document_sha256, r->consent_text_version))
			return LEDGER_OK;
		break;
	default:
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "action",
		                  "action must be invited, authenticated, consented or declined");
		return LEDGER_OK;
	}
	if (!proj_text_valid(r->provider_reference, PROJ_NAME_BYTES_MAX) || !valid_comment(em, r->comment, false)) {
		if (!em->reply->error)
			collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "provider_reference",
			                  "provider_reference must be short text");
		return LEDGER_OK;
	}
	Ledger__Events__SignerActed e = LEDGER__EVENTS__SIGNER_ACTED__INIT;
	e.signer = s->signer;
	e.action = r->action;
	e.method = r->method;
	e.provider_reference = r->provider_reference;
	e.comment = r->comment;
	if (r->action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_AUTHENTICATED) {
		e.masked_destination = r->masked_destination;
		e.code_sent_at_us = r->code_sent_at_us;
	}
	if (r->action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED) {
		e.n_document_sha256 = r->n_document_sha256;
		e.document_sha256 = r->document_sha256;
		e.consent_text_version = r->consent_text_version;
		e.authentication_seq = s->authenticated_seq;
	}
	return signer_act(&tg, &e);
}

/* ----- service: due expiries and reminders ----- */

/* A collection's timer, acted on by the service (actor "ledgerd"): nothing once it has ended. */
static ledger_err service_timer(proj *p, ledger_txn *t, const char *firm_id, const char *collection_id, bool expire)
{
	static const proj_actor service = {"ledgerd", false};
	Ledger__Api__Reply reply = LEDGER__API__REPLY__INIT;
	proj_arena *arena = proj_arena_new();
	if (!arena)
		return LEDGER_ERR_NOMEM;
	const char *request_id = expire ? "expiry" : "reminder";
	proj_emitter em = {p, t, &service, request_id, &reply, arena};
	collection_target tg = {.em = &em, .txn = ledger_txn_mdb(t)};
	proj_arena_allocator(arena, &tg.alloc);
	ledger_err err = proj_collection_get(p, tg.txn, firm_id, collection_id, &tg.alloc, &tg.c);
	if (!err && proj_collection_running(tg.c->state))
		err = expire ? finish(&tg, COLLECTION_STATE(EXPIRED), "")
		             : remind(&tg, true, service.subject, request_id);
	proj_arena_free(arena);
	return err == LEDGER_END ? LEDGER_ERR_CORRUPT : err;
}

ledger_err proj_collection_expire(proj *p, ledger_txn *t, const char *firm_id, const char *collection_id)
{
	return service_timer(p, t, firm_id, collection_id, true);
}

ledger_err proj_collection_remind(proj *p, ledger_txn *t, const char *firm_id, const char *collection_id)
{
	return service_timer(p, t, firm_id, collection_id, false);
}

ledger_err proj_collection_complete(proj *p, ledger_txn *t, Ledger__State__Collection *c)
{
	static const proj_actor service = {"ledgerd", false};
	Ledger__Api__Reply reply = LEDGER__API__REPLY__INIT;
	proj_arena *arena = proj_arena_new();
	if (!arena)
		return LEDGER_ERR_NOMEM;
	proj_emitter em = {p, t, &service, "signer", &reply, arena};
	collection_target tg = {.em = &em, .txn = ledger_txn_mdb(t), .c = c, .firm_id = c->firm_id};
	ledger_err err = finish(&tg, COLLECTION_STATE(COMPLETED), "");
	proj_arena_free(arena);
	return err;
}

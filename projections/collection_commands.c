/*
 * collection_commands.c: commands on collections to events (docs/collections.md). Each
 * command is authorised by the matrix for the collection's kind, checked against the
 * collection's state and version, validated whole, and only then emitted: a refused command
 * writes nothing.
 */
#include "collection_commands.h"
#include "signer_identity.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void collection_set_reason(proj_emitter *em, const char *reason)
{
	if (em->reply->error)
		em->reply->error->reason = proj_arena_strdup(em->arena, reason);
}

/*
 * Loads ref's collection and authorises the actor for the action its kind needs: signature_action
 * for a signature collection, seal_action for a seal collection (NULL: the command does not
 * apply to that kind). Checks expected_version. False, with the reply's error set, if any fails.
 */
bool collection_load(collection_target *tg, proj_emitter *em, const Ledger__Api__CollectionRef *ref,
                     const char *signature_action, const char *seal_action, ledger_err *err)
{
	*err = LEDGER_OK;
	tg->em = em;
	tg->txn = ledger_txn_mdb(em->t);
	proj_arena_allocator(em->arena, &tg->alloc);
	if (!ref) {
		collection_refuse(em, ERROR_CODE(MALFORMED_REQUEST), "ref",
		                  "the command names no collection (ref is missing)");
		return false;
	}
	tg->firm_id = ref->firm_id;
	if (!proj_firm_id_valid(ref->firm_id)) {
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "ref.firm_id", "firm id \"%.64s\" is not valid",
		                  ref->firm_id);
		return false;
	}
	*err = proj_collection_get(em->p, tg->txn, ref->firm_id, ref->collection_id, &tg->alloc, &tg->c);
	if (*err == LEDGER_END) {
		*err = LEDGER_OK;
		/* Authorise against the firm first: who may not look into a firm learns nothing of it. */
		if (proj_authorise(em, ref->firm_id, signature_action ? signature_action : seal_action, err))
			collection_refuse(em, ERROR_CODE(NOT_FOUND), "ref.collection_id",
			                  "no collection %.32s in firm %s", ref->collection_id, ref->firm_id);
		return false;
	}
	if (*err)
		return false;
	bool seal = tg->c->kind == LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL;
	const char *action = seal ? seal_action : signature_action;
	if (!action) {
		if (proj_authorise(em, ref->firm_id, seal ? "seal.modify" : "signature.modify", err))
			collection_refuse(em, ERROR_CODE(FAILED_PRECONDITION), NULL,
			                  "%s is a %s collection: this command does not apply to it",
			                  tg->c->collection_id, seal ? "seal" : "signature");
		return false;
	}
	if (!proj_authorise(em, ref->firm_id, action, err))
		return false;
	if (ref->expected_version && ref->expected_version != tg->c->version) {
		collection_refuse(em, ERROR_CODE(CONFLICT), "ref.expected_version",
		                  "collection %s is at version %llu, not %llu: it changed meanwhile",
		                  tg->c->collection_id, (unsigned long long)tg->c->version,
		                  (unsigned long long)ref->expected_version);
		return false;
	}
	return true;
}

bool collection_require_state(collection_target *tg, const char *what, Ledger__Events__CollectionState a,
                              Ledger__Events__CollectionState b)
{
	Ledger__Events__CollectionState s = tg->c->state;
	if (s == a || s == b)
		return true;
	collection_refuse(tg->em, ERROR_CODE(INVALID_TRANSITION), NULL, "cannot %s collection %s: it is %s", what,
	                  tg->c->collection_id, proj_collection_state_name(s));
	collection_set_reason(tg->em, proj_collection_state_name(s));
	return false;
}

bool collection_require_transition(collection_target *tg, const char *what, Ledger__Events__CollectionState to)
{
	Ledger__Events__CollectionState s = tg->c->state;
	if (proj_collection_transition_legal(s, to))
		return true;
	collection_refuse(tg->em, ERROR_CODE(INVALID_TRANSITION), NULL, "cannot %s collection %s: it is %s", what,
	                  tg->c->collection_id, proj_collection_state_name(s));
	collection_set_reason(tg->em, proj_collection_state_name(s));
	return false;
}

/* Drafts and rejected collections may change; the first change of a rejected one reopens it. */
bool collection_editable(collection_target *tg, const char *what)
{
	return collection_require_state(tg, what, COLLECTION_STATE(DRAFT), COLLECTION_STATE(REJECTED));
}

ledger_err collection_emit_transition(proj_emitter *em, const Ledger__State__Collection *c,
                                      Ledger__Events__CollectionState from, Ledger__Events__CollectionState to,
                                      const char *comment, int64_t expires_at_us)
{
	LEDGER_ASSERT_MSG(proj_collection_transition_legal(from, to), "collection %s: %s -> %s is not in the table",
	                  c->collection_id, proj_collection_state_name(from), proj_collection_state_name(to));
	Ledger__Events__CollectionTransitioned e = LEDGER__EVENTS__COLLECTION_TRANSITIONED__INIT;
	e.collection_id = c->collection_id;
	e.from = from;
	e.to = to;
	e.comment = (char *)(comment ? comment : "");
	e.expires_at_us = expires_at_us;
	Ledger__Events__Event ev = PROJ_EVENT(COLLECTION_TRANSITIONED, collection_transitioned, &e);
	return proj_emitter_emit(em, c->firm_id, &ev);
}

ledger_err collection_reopen_if_rejected(collection_target *tg)
{
	if (tg->c->state != COLLECTION_STATE(REJECTED))
		return LEDGER_OK;
	ledger_err err =
	    collection_emit_transition(tg->em, tg->c, COLLECTION_STATE(REJECTED), COLLECTION_STATE(DRAFT), "", 0);
	tg->c->state = COLLECTION_STATE(DRAFT);
	return err;
}

/* ----- create and modify ----- */

static bool valid_settings(proj_emitter *em, const char *title, const char *deadline, uint32_t expiry_days,
                           uint32_t reminder_days, Ledger__Events__SigningOrder order)
{
	int64_t end;
	if (title && !proj_name_valid(title))
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "title",
		                  "title must be 1 to %u bytes of UTF-8 text without control characters",
		                  PROJ_NAME_BYTES_MAX);
	else if (deadline && deadline[0] && (strlen(deadline) != 10 || !proj_date_end_us(deadline, &end)))
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "deadline_on",
		                  "deadline_on \"%.32s\" is not a date YYYY-MM-DD", deadline);
	else if (deadline && deadline[0] && end <= ledger_txn_time_us(em->t))
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "deadline_on",
		                  "deadline_on %s is already past (Paris time)", deadline);
	else if (expiry_days > PROJ_COLLECTION_EXPIRY_DAYS_MAX)
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "expiry_days", "expiry_days %u is over %u",
		                  expiry_days, PROJ_COLLECTION_EXPIRY_DAYS_MAX);
	else if (reminder_days > PROJ_REMINDER_EVERY_DAYS_MAX)
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "reminder_every_days",
		                  "reminder_every_days %u is over %u", reminder_days, PROJ_REMINDER_EVERY_DAYS_MAX);
	else if (order != LEDGER__EVENTS__SIGNING_ORDER__ORDER_UNSPECIFIED &&
	         order != LEDGER__EVENTS__SIGNING_ORDER__ORDER_SEQUENTIAL &&
	         order != LEDGER__EVENTS__SIGNING_ORDER__ORDER_PARALLEL)
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "order",
		                  "order %d is neither sequential nor parallel", (int)order);
	else
		return true;
	return false;
}

static ledger_err collection_create(proj_emitter *em, const Ledger__Api__CollectionCreate *c)
{
	bool seal = c->kind == LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL;
	if (!seal && c->kind != LEDGER__EVENTS__COLLECTION_KIND__KIND_SIGNATURE) {
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "kind", "kind must be signature or seal");
		return LEDGER_OK;
	}
	ledger_err err;
	if (!proj_authorise(em, c->firm_id, seal ? "seal.configure" : "signature.configure", &err))
		return err;
	if (!valid_settings(em, c->title, c->deadline_on, c->expiry_days, c->reminder_every_days, c->order))
		return LEDGER_OK;
	Ledger__State__Preferences prefs;
	if ((err = proj_preferences_get(em->p, ledger_txn_mdb(em->t), c->firm_id, &prefs)))
		return err;
	char id[PROJ_COLLECTION_ID_BYTES_MAX + 1];
	snprintf(id, sizeof id, "c%llu", (unsigned long long)ledger_txn_next_seq(em->t));
	Ledger__Events__CollectionCreated e = LEDGER__EVENTS__COLLECTION_CREATED__INIT;
	e.collection_id = id;
	e.kind = c->kind;
	e.title = c->title;
	e.deadline_on = c->deadline_on;
	e.order = c->order ? c->order : prefs.default_order;
	e.expiry_days = c->expiry_days ? c->expiry_days : prefs.collection_expiry_days;
	e.reminder_every_days = c->reminder_every_days ? c->reminder_every_days : prefs.reminder_every_days;
	if (seal)
		e.order = LEDGER__EVENTS__SIGNING_ORDER__ORDER_UNSPECIFIED, e.reminder_every_days = 0;
	Ledger__Events__Event ev = PROJ_EVENT(COLLECTION_CREATED, collection_created, &e);
	return proj_emitter_emit(em, c->firm_id, &ev);
}

ssize_t collection_signer_named(collection_target *tg, const char *name)
{
	ssize_t at = proj_collection_signer(tg->c, name);
	char email[PROJ_EMAIL_BYTES_MAX + 1];
	const char *why;
	if (at < 0 && proj_email_normalise(name, email, &why))
		at = proj_collection_signer_by_email(tg->em->p, tg->txn, tg->c, email);
	return at;
}

/* Checks a complete new signing order (every signer once) and fills mapped with the signers as
 * events name them. */
static bool valid_signer_order(collection_target *tg, char **order, size_t n, char **mapped)
{
	if (n != tg->c->n_signers) {
		collection_refuse(tg->em, ERROR_CODE(INVALID_ARGUMENT), "signer_order",
		                  "signer_order names %zu signers; the collection has %zu: name each once", n,
		                  tg->c->n_signers);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		ssize_t at = collection_signer_named(tg, order[i]);
		bool known = at >= 0;
		for (size_t j = 0; known && j < i; j++)
			known &= strcmp(tg->c->signers[at]->signer, mapped[j]) != 0;
		if (!known) {
			collection_refuse(tg->em, ERROR_CODE(INVALID_ARGUMENT), "signer_order",
			                  "signer_order: \"%.64s\" is not a signer of %s, or is named twice", order[i],
			                  tg->c->collection_id);
			return false;
		}
		mapped[i] = tg->c->signers[at]->signer;
	}
	return true;
}

static ledger_err collection_modify(proj_emitter *em, const Ledger__Api__CollectionModify *m)
{
	collection_target tg;
	ledger_err err;
	if (!collection_load(&tg, em, m->ref, "signature.modify", "seal.modify", &err))
		return err;
	Ledger__State__Collection *c = tg.c;
	/* The signing order may change while the collection runs; nothing else may. */
	bool order_only =
	    !m->title[0] && !m->deadline_on[0] && !m->clear_deadline && !m->expiry_days && !m->reminder_every_days;
	if (!(order_only && proj_collection_running(c->state)) && !collection_editable(&tg, "modify"))
		return LEDGER_OK;
	if (!valid_settings(em, m->title[0] ? m->title : NULL, m->deadline_on, m->expiry_days, m->reminder_every_days,
	                    m->order))
		return LEDGER_OK;
	char **order = proj_arena_alloc(em->arena, (c->n_signers + 1) * sizeof *order);
	if (!order)
		return LEDGER_ERR_NOMEM;
	if (m->n_signer_order && !valid_signer_order(&tg, m->signer_order, m->n_signer_order, order))
		return LEDGER_OK;
	Ledger__Events__CollectionModified e = LEDGER__EVENTS__COLLECTION_MODIFIED__INIT;
	e.collection_id = c->collection_id;
	e.title = m->title[0] ? m->title : c->title;
	e.deadline_on = m->clear_deadline ? "" : m->deadline_on[0] ? m->deadline_on : c->deadline_on;
	e.order = m->order ? m->order : c->order;
	e.expiry_days = m->expiry_days ? m->expiry_days : c->expiry_days;
	e.reminder_every_days = m->reminder_every_days ? m->reminder_every_days : c->reminder_every_days;
	for (size_t i = 0; !m->n_signer_order && i < c->n_signers; i++)
		order[i] = c->signers[i]->signer;
	e.signer_order = order;
	e.n_signer_order = c->n_signers;
	if ((err = collection_reopen_if_rejected(&tg)))
		return err;
	Ledger__Events__Event ev = PROJ_EVENT(COLLECTION_MODIFIED, collection_modified, &e);
	return proj_emitter_emit(em, c->firm_id, &ev);
}

/* ----- documents, signers, fields ----- */

static bool valid_filename(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= PROJ_NAME_BYTES_MAX && proj_name_valid(s) && !strchr(s, '/') && !strchr(s, '\\');
}

static ledger_err document_add(proj_emitter *em, const Ledger__Api__DocumentAdd *d, const proj_upload *up)
{
	collection_target tg;
	ledger_err err;
	if (!collection_load(&tg, em, d->ref, "signature.modify", "seal.modify", &err) ||
	    !collection_editable(&tg, "add a document to"))
		return err;
	if (!up) {
		/* The collection became editable for this actor between ledgerd's check and now. */
		collection_refuse(em, ERROR_CODE(UNAVAILABLE), "content",
		                  "collection %s changed while the upload was checked: retry", tg.c->collection_id);
		return LEDGER_OK;
	}
	if (!valid_filename(d->filename)) {
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "filename",
		                  "filename must be 1 to %u bytes of text without / or control characters",
		                  PROJ_NAME_BYTES_MAX);
		return LEDGER_OK;
	}
	if (tg.c->n_documents >= PROJ_COLLECTION_DOCUMENTS_MAX) {
		collection_refuse(em, ERROR_CODE(FAILED_PRECONDITION), "content",
		                  "collection %s already holds %u documents, the most it may", tg.c->collection_id,
		                  PROJ_COLLECTION_DOCUMENTS_MAX);
		return LEDGER_OK;
	}
	if (proj_collection_document(tg.c, up->sha256, LEDGER_HASH_BYTES) >= 0) {
		collection_refuse(em, ERROR_CODE(ALREADY_EXISTS), "content",
		                  "collection %s already holds this document", tg.c->collection_id);
		return LEDGER_OK;
	}
	if ((err = collection_reopen_if_rejected(&tg)) ||
	    (err = ledger_blob_put(em->t, up->sha256, d->content.data, d->content.len)))
		return err;
	Ledger__Events__PageSize *sizes = proj_arena_alloc(em->arena, (up->pages + 1) * sizeof *sizes);
	Ledger__Events__PageSize **pages = proj_arena_alloc(em->arena, (up->pages + 1) * sizeof *pages);
	if (!sizes || !pages)
		return LEDGER_ERR_NOMEM;
	for (uint32_t i = 0; i < up->pages; i++) {
		ledger__events__page_size__init(&sizes[i]);
		sizes[i].width = up->page_sizes[2 * i];
		sizes[i].height = up->page_sizes[2 * i + 1];
		pages[i] = &sizes[i];
	}
	Ledger__Events__DocumentAdded e = LEDGER__EVENTS__DOCUMENT_ADDED__INIT;
	e.collection_id = tg.c->collection_id;
	e.sha256 = (ProtobufCBinaryData){LEDGER_HASH_BYTES, (uint8_t *)up->sha256};
	e.bytes = d->content.len;
	e.filename = d->filename;
	e.n_pages = up->pages;
	e.pages = pages;
	Ledger__Events__Event ev = PROJ_EVENT(DOCUMENT_ADDED, document_added, &e);
	return proj_emitter_emit(em, tg.c->firm_id, &ev);
}

/*
 * An in-progress collection gives up a document whose signature failed (docs/collections.md):
 * the credits its unmade signatures reserved come back, and the collection completes if every
 * other document is signed. Not its last document: cancelling is the way to end it.
 */
static ledger_err document_remove_failed(collection_target *tg, const Ledger__Api__DocumentRemove *d, ssize_t at)
{
	Ledger__State__Collection *c = tg->c;
	const Ledger__State__Document *doc = c->documents[at];
	if (!doc->failure || !doc->failure[0]) {
		collection_refuse(tg->em, ERROR_CODE(FAILED_PRECONDITION), "sha256",
		                  "collection %s is in progress: only a document whose signature failed may be removed",
		                  c->collection_id);
		return LEDGER_OK;
	}
	if (c->n_documents == 1) {
		collection_refuse(tg->em, ERROR_CODE(FAILED_PRECONDITION), "sha256",
		                  "it is the only document of collection %s: cancel the collection instead",
		                  c->collection_id);
		return LEDGER_OK;
	}
	size_t owed = c->kind == LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL ? 1 : c->n_signers;
	uint64_t unspent = owed > doc->n_signed_by ? owed - doc->n_signed_by : 0;
	Ledger__Events__DocumentRemoved e = LEDGER__EVENTS__DOCUMENT_REMOVED__INIT;
	e.collection_id = c->collection_id;
	e.sha256 = d->sha256;
	Ledger__Events__Event ev = PROJ_EVENT(DOCUMENT_REMOVED, document_removed, &e);
	ledger_err err = proj_emitter_emit(tg->em, c->firm_id, &ev);
	if (!err && unspent) {
		Ledger__Events__CreditsReleased r = LEDGER__EVENTS__CREDITS_RELEASED__INIT;
		r.collection_id = c->collection_id;
		r.credits = unspent;
		r.reason = COLLECTION_STATE(IN_PROGRESS);
		Ledger__Events__Event rel = PROJ_EVENT(CREDITS_RELEASED, credits_released, &r);
		err = proj_emitter_emit(tg->em, c->firm_id, &rel);
	}
	Ledger__State__Collection *now;
	ProtobufCAllocator alloc;
	proj_arena_allocator(tg->em->arena, &alloc);
	if (!err)
		err = proj_collection_get(tg->em->p, tg->txn, c->firm_id, c->collection_id, &alloc, &now);
	if (!err && proj_collection_all_signed(now))
		err = proj_collection_complete(tg->em->p, tg->em->t, now);
	return err;
}

static ledger_err document_remove(proj_emitter *em, const Ledger__Api__DocumentRemove *d)
{
	collection_target tg;
	ledger_err err;
	if (!collection_load(&tg, em, d->ref, "signature.modify", "seal.modify", &err))
		return err;
	ssize_t at = proj_collection_document(tg.c, d->sha256.data, d->sha256.len);
	if (tg.c->state == COLLECTION_STATE(IN_PROGRESS) && at >= 0)
		return document_remove_failed(&tg, d, at);
	if (!collection_editable(&tg, "remove a document from"))
		return LEDGER_OK;
	if (at < 0) {
		collection_refuse(em, ERROR_CODE(NOT_FOUND), "sha256", "collection %s holds no such document",
		                  tg.c->collection_id);
		return LEDGER_OK;
	}
	if ((err = collection_reopen_if_rejected(&tg)))
		return err;
	Ledger__Events__DocumentRemoved e = LEDGER__EVENTS__DOCUMENT_REMOVED__INIT;
	e.collection_id = tg.c->collection_id;
	e.sha256 = d->sha256;
	Ledger__Events__Event ev = PROJ_EVENT(DOCUMENT_REMOVED, document_removed, &e);
	return proj_emitter_emit(em, tg.c->firm_id, &ev);
}

/* An internal signer must have an account and may sign in the firm: its EC, or holding `sign`. */
bool collection_internal_signer_ok(collection_target *tg, const char *email, const char **name, ledger_err *err)
{
	Ledger__State__Account *acc;
	*err = proj_account_get(tg->em->p, tg->txn, email, &acc);
	if (*err == LEDGER_END) {
		*err = LEDGER_OK;
		collection_refuse(tg->em, ERROR_CODE(NOT_FOUND), "email",
		                  "no account %s: an internal signer needs one (or add them as external)", email);
		return false;
	}
	if (*err)
		return false;
	*name = proj_arena_strdup(tg->em->arena, acc->name);
	ledger__state__account__free_unpacked(acc, NULL);
	Ledger__State__Firm *firm;
	if ((*err = proj_firm_get(tg->em->p, tg->txn, tg->c->firm_id, &firm)))
		return false;
	bool ec = strcmp(firm->ec_email, email) == 0;
	ledger__state__firm__free_unpacked(firm, NULL);
	char until[11];
	if (ec || proj_delegation_live(tg->em->p, tg->txn, tg->c->firm_id, email, PROJ_RIGHT_SIGN,
	                               ledger_txn_time_us(tg->em->t), until))
		return *name != NULL;
	collection_refuse(tg->em, ERROR_CODE(FAILED_PRECONDITION), "email",
	                  "%s does not hold the right to sign in firm %s", email, tg->c->firm_id);
	return false;
}

/* An external signer's sealed identity: the id events name them by, and the sealed phone, email
 * and name (refs point at hashes). */
typedef struct sealed_identity {
	char id[PROJ_SIGNER_ID_CHARS + 1];
	Ledger__Events__SealedRef refs[3];
	uint8_t hashes[3][32];
} sealed_identity;

/* What an external signer's sealed name datum holds: the name, or three lines, the name, the given
 * name and the surname (signer_identity.c opens it). */
#define EXTERNAL_NAMES_BYTES_MAX (PROJ_NAME_BYTES_MAX + 2 * (4 * PROJ_PERSON_NAME_CHARS_MAX + 1))
_Static_assert(EXTERNAL_NAMES_BYTES_MAX + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
                       crypto_aead_xchacha20poly1305_ietf_ABYTES <=
                   PROJ_PERSONAL_SEALED_BYTES_MAX,
               "the longest names seal in one datum");

/* An external signer's names into names (docs/signer.md#certificates): the name alone, which the
 * one-shot certificate carries as its commonName only; or given_name and surname, checked as a
 * registration's, with name "" or exactly "given surname". Else refuses and returns false. */
static bool external_signer_names(proj_emitter *em, const Ledger__Api__SignerAdd *a,
                                  char names[EXTERNAL_NAMES_BYTES_MAX + 1])
{
	if (!a->given_name[0] && !a->surname[0]) {
		if (proj_name_valid(a->name)) {
			snprintf(names, EXTERNAL_NAMES_BYTES_MAX + 1, "%s", a->name);
			return true;
		}
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "name",
		                  "an external signer needs a name (1 to %u bytes of text), or a given_name and "
		                  "surname",
		                  PROJ_NAME_BYTES_MAX);
		return false;
	}
	if (!a->given_name[0] || !a->surname[0]) {
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), a->given_name[0] ? "surname" : "given_name",
		                  "given_name and surname go together: the certificate carries both, or neither "
		                  "(name alone)");
		return false;
	}
	const char *field, *why = proj_person_names_check(a->given_name, a->surname, &field);
	if (why) {
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), field, "%s %s", field, why);
		return false;
	}
	char full[2 * 4 * PROJ_PERSON_NAME_CHARS_MAX + 2];
	snprintf(full, sizeof full, "%s %s", a->given_name, a->surname);
	if (a->name[0] && strcmp(a->name, full) != 0) {
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "name",
		                  "name \"%.64s\" is not \"%s\", the given name and surname: give it empty or equal "
		                  "(it is the certificate's commonName)",
		                  a->name, full);
		return false;
	}
	snprintf(names, EXTERNAL_NAMES_BYTES_MAX + 1, "%s\n%s\n%s", full, a->given_name, a->surname);
	return true;
}

/* An external signer's names (into names) and phone (normalised into phone); else refuses and
 * returns false. */
static bool external_signer_valid(proj_emitter *em, const Ledger__Api__SignerAdd *a,
                                  char names[EXTERNAL_NAMES_BYTES_MAX + 1], char phone[20])
{
	if (!external_signer_names(em, a, names))
		return false;
	if (!proj_phone_normalise(a->phone, phone)) {
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "phone",
		                  "an external signer needs a mobile phone for the one-time code, "
		                  "international form (+33612345678); got \"%.32s\"",
		                  a->phone);
		return false;
	}
	if (!em->p->has_personal_key) {
		collection_refuse(em, ERROR_CODE(FAILED_PRECONDITION), "phone",
		                  "ledgerd has no personal data key: it cannot keep an external signer's data");
		return false;
	}
	return true;
}

/* Draws the signer's id, seals their phone, email and names (external_signer_names) under their
 * data key (subject = the normalised email) and links the id to that subject, all beside the log
 * in tg's transaction. */
static ledger_err seal_external_signer(collection_target *tg, const char *email, const char *names, const char *phone,
                                       sealed_identity *out)
{
	proj *p = tg->em->p;
	const char *plain[3] = {phone, email, names};
	proj_signer_id_new(p, out->id);
	ledger_err err = LEDGER_OK;
	for (size_t i = 0; !err && i < 3; i++) {
		out->refs[i] = (Ledger__Events__SealedRef)LEDGER__EVENTS__SEALED_REF__INIT;
		err = proj_personal_seal(p, tg->txn, email, plain[i], &out->refs[i], out->hashes[i]);
	}
	return err ? err : proj_signer_link(p, tg->txn, email, out->id, tg->c->collection_id);
}

static ledger_err signer_add(proj_emitter *em, const Ledger__Api__SignerAdd *a)
{
	collection_target tg;
	ledger_err err;
	if (!collection_load(&tg, em, a->ref, "signature.add_signers", NULL, &err) ||
	    !collection_editable(&tg, "add a signer to"))
		return err;
	char email[PROJ_EMAIL_BYTES_MAX + 1], phone[20], names[EXTERNAL_NAMES_BYTES_MAX + 1];
	const char *why, *name = a->name;
	if (!proj_email_normalise(a->email, email, &why)) {
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "email", "email \"%.64s\": %s", a->email, why);
		return LEDGER_OK;
	}
	if (proj_collection_signer_by_email(em->p, tg.txn, tg.c, email) >= 0) {
		collection_refuse(em, ERROR_CODE(ALREADY_EXISTS), "email", "%s is already a signer of %s", email,
		                  tg.c->collection_id);
		return LEDGER_OK;
	}
	if (tg.c->n_signers >= PROJ_COLLECTION_SIGNERS_MAX) {
		collection_refuse(em, ERROR_CODE(FAILED_PRECONDITION), "email",
		                  "collection %s already has %u signers, the most it may", tg.c->collection_id,
		                  PROJ_COLLECTION_SIGNERS_MAX);
		return LEDGER_OK;
	}
	Ledger__Events__SignerAdded e = LEDGER__EVENTS__SIGNER_ADDED__INIT;
	e.collection_id = tg.c->collection_id;
	e.kind =
	    a->external ? LEDGER__EVENTS__SIGNER_KIND__SIGNER_EXTERNAL : LEDGER__EVENTS__SIGNER_KIND__SIGNER_INTERNAL;
	sealed_identity sealed;
	if (a->external) {
		if (!external_signer_valid(em, a, names, phone))
			return LEDGER_OK;
		if ((err = seal_external_signer(&tg, email, names, phone, &sealed)) ||
		    (err = collection_reopen_if_rejected(&tg)))
			return err;
		e.email = e.name = "";
		e.signer_id = sealed.id;
		e.phone = &sealed.refs[0];
		e.sealed_email = &sealed.refs[1];
		e.sealed_name = &sealed.refs[2];
	} else {
		if (a->phone[0]) {
			collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "phone",
			                  "an internal signer's phone comes from their registration: give none");
			return LEDGER_OK;
		}
		if (a->given_name[0] || a->surname[0]) {
			collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), a->given_name[0] ? "given_name" : "surname",
			                  "an internal signer's names come from their registration: give none");
			return LEDGER_OK;
		}
		if (!collection_internal_signer_ok(&tg, email, &name, &err) ||
		    (err = collection_reopen_if_rejected(&tg)))
			return err;
		e.email = email;
		e.name = (char *)name;
	}
	Ledger__Events__Event ev = PROJ_EVENT(SIGNER_ADDED, signer_added, &e);
	return proj_emitter_emit(em, tg.c->firm_id, &ev);
}

/* The signer of tg's collection that name (an email, or an external signer's id) names, as
 * events name them. Else refuses with NOT_FOUND on field and returns NULL. */
static const char *named_signer(collection_target *tg, const char *name, const char *field)
{
	ssize_t at = collection_signer_named(tg, name);
	if (at >= 0)
		return tg->c->signers[at]->signer;
	collection_refuse(tg->em, ERROR_CODE(NOT_FOUND), field, "\"%.64s\" is not a signer of %s", name,
	                  tg->c->collection_id);
	return NULL;
}

static ledger_err signer_remove(proj_emitter *em, const Ledger__Api__SignerRemove *r)
{
	collection_target tg;
	ledger_err err;
	if (!collection_load(&tg, em, r->ref, "signature.add_signers", NULL, &err) ||
	    !collection_editable(&tg, "remove a signer from"))
		return err;
	const char *signer = named_signer(&tg, r->email, "email");
	if (!signer)
		return LEDGER_OK;
	if ((err = collection_reopen_if_rejected(&tg)))
		return err;
	Ledger__Events__SignerRemoved e = LEDGER__EVENTS__SIGNER_REMOVED__INIT;
	e.collection_id = tg.c->collection_id;
	e.signer = (char *)signer;
	Ledger__Events__Event ev = PROJ_EVENT(SIGNER_REMOVED, signer_removed, &e);
	return proj_emitter_emit(em, tg.c->firm_id, &ev);
}

static bool rect_ok(const Ledger__Api__FieldSet *f, const Ledger__Events__PageSize *page)
{
	return f->x0 >= 0 && f->y0 >= 0 && f->x0 < f->x1 && f->y0 < f->y1 && f->x1 <= page->width &&
	       f->y1 <= page->height && f->x1 - f->x0 >= 10 && f->y1 - f->y0 >= 10;
}

static ledger_err field_set(proj_emitter *em, const Ledger__Api__FieldSet *f)
{
	collection_target tg;
	ledger_err err;
	if (!collection_load(&tg, em, f->ref, "signature.modify", NULL, &err) ||
	    !collection_editable(&tg, "place a signature field in"))
		return err;
	const char *signer = named_signer(&tg, f->signer, "signer");
	if (!signer)
		return LEDGER_OK;
	ssize_t d = proj_collection_document(tg.c, f->document_sha256.data, f->document_sha256.len);
	if (d < 0) {
		collection_refuse(em, ERROR_CODE(NOT_FOUND), "document_sha256", "collection %s holds no such document",
		                  tg.c->collection_id);
		return LEDGER_OK;
	}
	const Ledger__State__Document *doc = tg.c->documents[d];
	if (f->page < 1 || f->page > doc->n_pages) {
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "page", "page %u is not in %s (pages 1 to %zu)",
		                  f->page, doc->filename, doc->n_pages);
		return LEDGER_OK;
	}
	const Ledger__Events__PageSize *page = doc->pages[f->page - 1];
	if (!rect_ok(f, page)) {
		collection_refuse(em, ERROR_CODE(INVALID_ARGUMENT), "x0",
		                  "rectangle %.1f,%.1f,%.1f,%.1f is not inside page %u (%.1f x %.1f points) "
		                  "or is smaller than 10 x 10 points",
		                  (double)f->x0, (double)f->y0, (double)f->x1, (double)f->y1, f->page,
		                  (double)page->width, (double)page->height);
		return LEDGER_OK;
	}
	if ((err = collection_reopen_if_rejected(&tg)))
		return err;
	Ledger__Events__SignatureField e = LEDGER__EVENTS__SIGNATURE_FIELD__INIT;
	e.collection_id = tg.c->collection_id;
	e.signer = (char *)signer;
	e.document_sha256 = f->document_sha256;
	e.page = f->page;
	e.x0 = f->x0, e.y0 = f->y0, e.x1 = f->x1, e.y1 = f->y1;
	Ledger__Events__Event ev = PROJ_EVENT(FIELD_SET, field_set, &e);
	return proj_emitter_emit(em, tg.c->firm_id, &ev);
}

/* ----- dispatch ----- */

/* True if req is a command on an existing collection (every collection command but create);
 * *ref gets the collection it names, NULL if it names none. */
static bool command_ref(const Ledger__Api__Request *req, const Ledger__Api__CollectionRef **ref)
{
	switch (req->body_case) {
	case LEDGER__API__REQUEST__BODY_COLLECTION_MODIFY: *ref = req->collection_modify->ref; return true;
	case LEDGER__API__REQUEST__BODY_DOCUMENT_ADD: *ref = req->document_add->ref; return true;
	case LEDGER__API__REQUEST__BODY_DOCUMENT_REMOVE: *ref = req->document_remove->ref; return true;
	case LEDGER__API__REQUEST__BODY_SIGNER_ADD: *ref = req->signer_add->ref; return true;
	case LEDGER__API__REQUEST__BODY_SIGNER_REMOVE: *ref = req->signer_remove->ref; return true;
	case LEDGER__API__REQUEST__BODY_FIELD_SET: *ref = req->field_set->ref; return true;
	case LEDGER__API__REQUEST__BODY_COLLECTION_ACT: *ref = req->collection_act->ref; return true;
	case LEDGER__API__REQUEST__BODY_SIGNER_REPORT: *ref = req->signer_report->ref; return true;
	default: *ref = NULL; return false;
	}
}

bool proj_is_collection_command(const Ledger__Api__Request *req)
{
	const Ledger__Api__CollectionRef *ref;
	return req->body_case == LEDGER__API__REQUEST__BODY_COLLECTION_CREATE || command_ref(req, &ref);
}

static ledger_err decide(proj_emitter *em, const Ledger__Api__Request *req, const proj_upload *upload)
{
	switch (req->body_case) {
	case LEDGER__API__REQUEST__BODY_COLLECTION_CREATE: return collection_create(em, req->collection_create);
	case LEDGER__API__REQUEST__BODY_COLLECTION_MODIFY: return collection_modify(em, req->collection_modify);
	case LEDGER__API__REQUEST__BODY_DOCUMENT_ADD: return document_add(em, req->document_add, upload);
	case LEDGER__API__REQUEST__BODY_DOCUMENT_REMOVE: return document_remove(em, req->document_remove);
	case LEDGER__API__REQUEST__BODY_SIGNER_ADD: return signer_add(em, req->signer_add);
	case LEDGER__API__REQUEST__BODY_SIGNER_REMOVE: return signer_remove(em, req->signer_remove);
	case LEDGER__API__REQUEST__BODY_FIELD_SET: return field_set(em, req->field_set);
	case LEDGER__API__REQUEST__BODY_COLLECTION_ACT: return collection_act(em, req->collection_act);
	case LEDGER__API__REQUEST__BODY_SIGNER_REPORT: return collection_signer_report(em, req->signer_report);
	default: return LEDGER_ERR_INVALID;
	}
}

ledger_err proj_decide_collection(proj_emitter *em, const Ledger__Api__Request *req, const proj_upload *upload)
{
	const Ledger__Api__CollectionRef *ref;
	command_ref(req, &ref);
	if (ref == NULL && req->body_case != LEDGER__API__REQUEST__BODY_COLLECTION_CREATE) {
		collection_refuse(em, ERROR_CODE(MALFORMED_REQUEST), "ref",
		                  "the command names no collection (ref is missing)");
		return LEDGER_OK;
	}
	ledger_err err = decide(em, req, upload);
	if (err || em->reply->error)
		return err;
	/* The reply shows the collection as the command left it. */
	char id[PROJ_COLLECTION_ID_BYTES_MAX + 1];
	const char *firm_id;
	if (req->body_case == LEDGER__API__REQUEST__BODY_COLLECTION_CREATE) {
		snprintf(id, sizeof id, "c%llu", (unsigned long long)em->reply->seq);
		firm_id = req->collection_create->firm_id;
	} else {
		snprintf(id, sizeof id, "%s", ref->collection_id);
		firm_id = ref->firm_id;
	}
	ProtobufCAllocator alloc;
	proj_arena_allocator(em->arena, &alloc);
	Ledger__State__Collection *c;
	if ((err = proj_collection_get(em->p, ledger_txn_mdb(em->t), firm_id, id, &alloc, &c)))
		return err;
	Ledger__Api__CollectionReply *r = proj_arena_alloc(em->arena, sizeof *r);
	if (!r)
		return LEDGER_ERR_NOMEM;
	ledger__api__collection_reply__init(r);
	r->collection = proj_collection_view(em->p, ledger_txn_mdb(em->t), c, em->arena);
	em->reply->result_case = LEDGER__API__REPLY__RESULT_COLLECTION;
	em->reply->collection = r;
	return r->collection ? LEDGER_OK : LEDGER_ERR_NOMEM;
}

/*
 * collection_commands.c: commands on collections to events (docs/collections.md). Each
 * command is authorised by the matrix for the collection's kind, checked against the
 * collection's state and version, validated whole, and only then emitted: a refused command
 * writes nothing.
 */
#include "internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Ledger__State__Collection collection;
typedef Ledger__Events__CollectionState state;

#define S(name) LEDGER__EVENTS__COLLECTION_STATE__STATE_##name
#define E(code) LEDGER__API__ERROR_CODE__##code

/* "draft", "pending_approval"...: the spelling of ledgerctl's --json and of Error.reason. */
static const char *state_name(state s)
{
	static const char *const names[] = {"unspecified", "draft",     "pending_approval", "approved",
	                                    "rejected",    "sent",      "in_progress",      "completed",
	                                    "declined",    "cancelled", "expired"};
	return (size_t)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

/* Refuses the command: the reply's typed error, formatted once. */
#define fail(em, code, field, ...) proj_error((em)->reply, (em)->arena, (code), (field), __VA_ARGS__)

static void set_reason(proj_emitter *em, const char *reason)
{
	if (em->reply->error)
		em->reply->error->reason = proj_arena_strdup(em->arena, reason);
}

/* The loaded collection a command works on, allocated in the reply's arena. */
typedef struct target {
	proj_emitter *em;
	MDB_txn *txn;
	ProtobufCAllocator alloc;
	collection *c;
	const char *firm_id;
} target;

/*
 * Loads ref's collection and authorises the actor for the action its kind needs: signature_action
 * for a signature collection, seal_action for a seal collection (NULL: the command does not
 * apply to that kind). Checks expected_version. False, with the reply's error set, if any fails.
 */
static bool load(target *tg, proj_emitter *em, const Ledger__Api__CollectionRef *ref, const char *signature_action,
                 const char *seal_action, ledger_err *err)
{
	*err = LEDGER_OK;
	tg->em = em;
	tg->txn = ledger_txn_mdb(em->t);
	proj_arena_allocator(em->arena, &tg->alloc);
	if (!ref) {
		fail(em, E(MALFORMED_REQUEST), "ref", "the command names no collection (ref is missing)");
		return false;
	}
	tg->firm_id = ref->firm_id;
	if (!proj_firm_id_valid(ref->firm_id)) {
		fail(em, E(INVALID_ARGUMENT), "ref.firm_id", "firm id \"%.64s\" is not valid", ref->firm_id);
		return false;
	}
	*err = proj_collection_get(em->p, tg->txn, ref->firm_id, ref->collection_id, &tg->alloc, &tg->c);
	if (*err == LEDGER_END) {
		*err = LEDGER_OK;
		/* Authorise against the firm first: who may not look into a firm learns nothing of it. */
		if (proj_authorise(em, ref->firm_id, signature_action ? signature_action : seal_action, err))
			fail(em, E(NOT_FOUND), "ref.collection_id", "no collection %.32s in firm %s",
			     ref->collection_id, ref->firm_id);
		return false;
	}
	if (*err)
		return false;
	bool seal = tg->c->kind == LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL;
	const char *action = seal ? seal_action : signature_action;
	if (!action) {
		if (proj_authorise(em, ref->firm_id, seal ? "seal.modify" : "signature.modify", err))
			fail(em, E(FAILED_PRECONDITION), NULL,
			     "%s is a %s collection: this command does not apply to it", tg->c->collection_id,
			     seal ? "seal" : "signature");
		return false;
	}
	if (!proj_authorise(em, ref->firm_id, action, err))
		return false;
	if (ref->expected_version && ref->expected_version != tg->c->version) {
		fail(em, E(CONFLICT), "ref.expected_version",
		     "collection %s is at version %llu, not %llu: it changed meanwhile", tg->c->collection_id,
		     (unsigned long long)tg->c->version, (unsigned long long)ref->expected_version);
		return false;
	}
	return true;
}

static bool require_state(target *tg, const char *what, state a, state b)
{
	state s = tg->c->state;
	if (s == a || s == b)
		return true;
	fail(tg->em, E(INVALID_TRANSITION), NULL, "cannot %s collection %s: it is %s", what, tg->c->collection_id,
	     state_name(s));
	set_reason(tg->em, state_name(s));
	return false;
}

/* Drafts and rejected collections may change; the first change of a rejected one reopens it. */
static bool editable(target *tg, const char *what)
{
	return require_state(tg, what, S(DRAFT), S(REJECTED));
}

static ledger_err emit_transition(proj_emitter *em, const collection *c, state from, state to, const char *comment,
                                  int64_t expires_at_us)
{
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__CollectionTransitioned e = LEDGER__EVENTS__COLLECTION_TRANSITIONED__INIT;
	e.collection_id = c->collection_id;
	e.from = from;
	e.to = to;
	e.comment = (char *)(comment ? comment : "");
	e.expires_at_us = expires_at_us;
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_TRANSITIONED;
	ev.collection_transitioned = &e;
	return proj_emitter_emit(em, c->firm_id, &ev);
}

static ledger_err reopen_if_rejected(target *tg)
{
	if (tg->c->state != S(REJECTED))
		return LEDGER_OK;
	ledger_err err = emit_transition(tg->em, tg->c, S(REJECTED), S(DRAFT), "", 0);
	tg->c->state = S(DRAFT);
	return err;
}

/* ----- create and modify ----- */

static bool valid_settings(proj_emitter *em, const char *title, const char *deadline, uint32_t expiry_days,
                           uint32_t reminder_days, Ledger__Events__SigningOrder order)
{
	int64_t end;
	if (title && !proj_name_valid(title))
		fail(em, E(INVALID_ARGUMENT), "title",
		     "title must be 1 to %u bytes of UTF-8 text without control characters", PROJ_NAME_BYTES_MAX);
	else if (deadline && deadline[0] && (strlen(deadline) != 10 || !proj_date_end_us(deadline, &end)))
		fail(em, E(INVALID_ARGUMENT), "deadline_on", "deadline_on \"%.32s\" is not a date YYYY-MM-DD",
		     deadline);
	else if (deadline && deadline[0] && end <= ledger_txn_time_us(em->t))
		fail(em, E(INVALID_ARGUMENT), "deadline_on", "deadline_on %s is already past (Paris time)", deadline);
	else if (expiry_days > PROJ_COLLECTION_EXPIRY_DAYS_MAX)
		fail(em, E(INVALID_ARGUMENT), "expiry_days", "expiry_days %u is over %u", expiry_days,
		     PROJ_COLLECTION_EXPIRY_DAYS_MAX);
	else if (reminder_days > PROJ_REMINDER_EVERY_DAYS_MAX)
		fail(em, E(INVALID_ARGUMENT), "reminder_every_days", "reminder_every_days %u is over %u", reminder_days,
		     PROJ_REMINDER_EVERY_DAYS_MAX);
	else if (order != LEDGER__EVENTS__SIGNING_ORDER__ORDER_UNSPECIFIED &&
	         order != LEDGER__EVENTS__SIGNING_ORDER__ORDER_SEQUENTIAL &&
	         order != LEDGER__EVENTS__SIGNING_ORDER__ORDER_PARALLEL)
		fail(em, E(INVALID_ARGUMENT), "order", "order %d is neither sequential nor parallel", (int)order);
	else
		return true;
	return false;
}

static ledger_err collection_create(proj_emitter *em, const Ledger__Api__CollectionCreate *c)
{
	bool seal = c->kind == LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL;
	if (!seal && c->kind != LEDGER__EVENTS__COLLECTION_KIND__KIND_SIGNATURE) {
		fail(em, E(INVALID_ARGUMENT), "kind", "kind must be signature or seal");
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
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
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
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_CREATED;
	ev.collection_created = &e;
	return proj_emitter_emit(em, c->firm_id, &ev);
}

/* Checks a complete new signing order: every signer once. */
static bool valid_signer_order(target *tg, char **order, size_t n)
{
	if (n != tg->c->n_signers) {
		fail(tg->em, E(INVALID_ARGUMENT), "signer_order",
		     "signer_order names %zu signers; the collection has %zu: name each once", n, tg->c->n_signers);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		bool known = false;
		for (size_t j = 0; j < tg->c->n_signers; j++)
			known |= strcmp(order[i], tg->c->signers[j]->email) == 0;
		for (size_t j = 0; j < i; j++)
			known &= strcmp(order[i], order[j]) != 0;
		if (!known) {
			fail(tg->em, E(INVALID_ARGUMENT), "signer_order",
			     "signer_order: \"%.64s\" is not a signer of %s, or is named twice", order[i],
			     tg->c->collection_id);
			return false;
		}
	}
	return true;
}

static ledger_err collection_modify(proj_emitter *em, const Ledger__Api__CollectionModify *m)
{
	target tg;
	ledger_err err;
	if (!load(&tg, em, m->ref, "signature.modify", "seal.modify", &err))
		return err;
	collection *c = tg.c;
	/* The signing order may change while the collection runs; nothing else may. */
	bool order_only =
	    !m->title[0] && !m->deadline_on[0] && !m->clear_deadline && !m->expiry_days && !m->reminder_every_days;
	if (!(order_only && proj_collection_running(c->state)) && !editable(&tg, "modify"))
		return LEDGER_OK;
	if (!valid_settings(em, m->title[0] ? m->title : NULL, m->deadline_on, m->expiry_days, m->reminder_every_days,
	                    m->order))
		return LEDGER_OK;
	if (m->n_signer_order && !valid_signer_order(&tg, m->signer_order, m->n_signer_order))
		return LEDGER_OK;
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__CollectionModified e = LEDGER__EVENTS__COLLECTION_MODIFIED__INIT;
	e.collection_id = c->collection_id;
	e.title = m->title[0] ? m->title : c->title;
	e.deadline_on = m->clear_deadline ? "" : m->deadline_on[0] ? m->deadline_on : c->deadline_on;
	e.order = m->order ? m->order : c->order;
	e.expiry_days = m->expiry_days ? m->expiry_days : c->expiry_days;
	e.reminder_every_days = m->reminder_every_days ? m->reminder_every_days : c->reminder_every_days;
	char **order = proj_arena_alloc(em->arena, (c->n_signers + 1) * sizeof *order);
	if (!order)
		return LEDGER_ERR_NOMEM;
	for (size_t i = 0; i < c->n_signers; i++)
		order[i] = m->n_signer_order ? m->signer_order[i] : c->signers[i]->email;
	e.signer_order = order;
	e.n_signer_order = c->n_signers;
	if ((err = reopen_if_rejected(&tg)))
		return err;
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_MODIFIED;
	ev.collection_modified = &e;
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
	target tg;
	ledger_err err;
	if (!load(&tg, em, d->ref, "signature.modify", "seal.modify", &err) || !editable(&tg, "add a document to"))
		return err;
	if (!up) {
		/* The collection became editable for this actor between ledgerd's check and now. */
		fail(em, E(UNAVAILABLE), "content", "collection %s changed while the upload was checked: retry",
		     tg.c->collection_id);
		return LEDGER_OK;
	}
	if (!valid_filename(d->filename)) {
		fail(em, E(INVALID_ARGUMENT), "filename",
		     "filename must be 1 to %u bytes of text without / or control characters", PROJ_NAME_BYTES_MAX);
		return LEDGER_OK;
	}
	if (tg.c->n_documents >= PROJ_COLLECTION_DOCUMENTS_MAX) {
		fail(em, E(FAILED_PRECONDITION), "content", "collection %s already holds %u documents, the most it may",
		     tg.c->collection_id, PROJ_COLLECTION_DOCUMENTS_MAX);
		return LEDGER_OK;
	}
	if (proj_collection_document(tg.c, up->sha256, LEDGER_HASH_BYTES) >= 0) {
		fail(em, E(ALREADY_EXISTS), "content", "collection %s already holds this document",
		     tg.c->collection_id);
		return LEDGER_OK;
	}
	if ((err = reopen_if_rejected(&tg)) ||
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
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__DocumentAdded e = LEDGER__EVENTS__DOCUMENT_ADDED__INIT;
	e.collection_id = tg.c->collection_id;
	e.sha256 = (ProtobufCBinaryData){LEDGER_HASH_BYTES, (uint8_t *)up->sha256};
	e.bytes = d->content.len;
	e.filename = d->filename;
	e.n_pages = up->pages;
	e.pages = pages;
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_ADDED;
	ev.document_added = &e;
	return proj_emitter_emit(em, tg.c->firm_id, &ev);
}

static ledger_err document_remove(proj_emitter *em, const Ledger__Api__DocumentRemove *d)
{
	target tg;
	ledger_err err;
	if (!load(&tg, em, d->ref, "signature.modify", "seal.modify", &err) || !editable(&tg, "remove a document from"))
		return err;
	if (proj_collection_document(tg.c, d->sha256.data, d->sha256.len) < 0) {
		fail(em, E(NOT_FOUND), "sha256", "collection %s holds no such document", tg.c->collection_id);
		return LEDGER_OK;
	}
	if ((err = reopen_if_rejected(&tg)))
		return err;
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__DocumentRemoved e = LEDGER__EVENTS__DOCUMENT_REMOVED__INIT;
	e.collection_id = tg.c->collection_id;
	e.sha256 = d->sha256;
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_REMOVED;
	ev.document_removed = &e;
	return proj_emitter_emit(em, tg.c->firm_id, &ev);
}

/* An internal signer must have an account and may sign in the firm: its EC, or holding `sign`. */
static bool internal_signer_ok(target *tg, const char *email, const char **name, ledger_err *err)
{
	Ledger__State__Account *acc;
	*err = proj_account_get(tg->em->p, tg->txn, email, &acc);
	if (*err == LEDGER_END) {
		*err = LEDGER_OK;
		fail(tg->em, E(NOT_FOUND), "email",
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
	fail(tg->em, E(FAILED_PRECONDITION), "email", "%s does not hold the right to sign in firm %s", email,
	     tg->c->firm_id);
	return false;
}

static ledger_err signer_add(proj_emitter *em, const Ledger__Api__SignerAdd *a)
{
	target tg;
	ledger_err err;
	if (!load(&tg, em, a->ref, "signature.add_signers", NULL, &err) || !editable(&tg, "add a signer to"))
		return err;
	char email[PROJ_EMAIL_BYTES_MAX + 1], phone[20];
	const char *why, *name = a->name;
	if (!proj_email_normalise(a->email, email, &why)) {
		fail(em, E(INVALID_ARGUMENT), "email", "email \"%.64s\": %s", a->email, why);
		return LEDGER_OK;
	}
	if (proj_collection_signer(tg.c, email) >= 0) {
		fail(em, E(ALREADY_EXISTS), "email", "%s is already a signer of %s", email, tg.c->collection_id);
		return LEDGER_OK;
	}
	if (tg.c->n_signers >= PROJ_COLLECTION_SIGNERS_MAX) {
		fail(em, E(FAILED_PRECONDITION), "email", "collection %s already has %u signers, the most it may",
		     tg.c->collection_id, PROJ_COLLECTION_SIGNERS_MAX);
		return LEDGER_OK;
	}
	Ledger__Events__SignerAdded e = LEDGER__EVENTS__SIGNER_ADDED__INIT;
	Ledger__Events__SealedRef ref = LEDGER__EVENTS__SEALED_REF__INIT;
	uint8_t hash[32];
	if (a->external) {
		if (!proj_name_valid(a->name)) {
			fail(em, E(INVALID_ARGUMENT), "name", "an external signer needs a name (1 to %u bytes of text)",
			     PROJ_NAME_BYTES_MAX);
			return LEDGER_OK;
		}
		if (!proj_phone_normalise(a->phone, phone)) {
			fail(em, E(INVALID_ARGUMENT), "phone",
			     "an external signer needs a mobile phone for the one-time code, "
			     "international form (+33612345678); got \"%.32s\"",
			     a->phone);
			return LEDGER_OK;
		}
		if (!em->p->has_personal_key) {
			fail(em, E(FAILED_PRECONDITION), "phone",
			     "ledgerd has no personal data key: it cannot keep a phone number");
			return LEDGER_OK;
		}
		if ((err = proj_personal_seal(em->p, tg.txn, email, phone, &ref, hash)) ||
		    (err = reopen_if_rejected(&tg)))
			return err;
		e.phone = &ref;
	} else {
		if (a->phone[0]) {
			fail(em, E(INVALID_ARGUMENT), "phone",
			     "an internal signer's phone comes from their registration: give none");
			return LEDGER_OK;
		}
		if (!internal_signer_ok(&tg, email, &name, &err) || (err = reopen_if_rejected(&tg)))
			return err;
	}
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	e.collection_id = tg.c->collection_id;
	e.email = email;
	e.name = (char *)name;
	e.kind =
	    a->external ? LEDGER__EVENTS__SIGNER_KIND__SIGNER_EXTERNAL : LEDGER__EVENTS__SIGNER_KIND__SIGNER_INTERNAL;
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_ADDED;
	ev.signer_added = &e;
	return proj_emitter_emit(em, tg.c->firm_id, &ev);
}

static ledger_err signer_remove(proj_emitter *em, const Ledger__Api__SignerRemove *r)
{
	target tg;
	ledger_err err;
	if (!load(&tg, em, r->ref, "signature.add_signers", NULL, &err) || !editable(&tg, "remove a signer from"))
		return err;
	char email[PROJ_EMAIL_BYTES_MAX + 1];
	const char *why;
	if (!proj_email_normalise(r->email, email, &why) || proj_collection_signer(tg.c, email) < 0) {
		fail(em, E(NOT_FOUND), "email", "\"%.64s\" is not a signer of %s", r->email, tg.c->collection_id);
		return LEDGER_OK;
	}
	if ((err = reopen_if_rejected(&tg)))
		return err;
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__SignerRemoved e = LEDGER__EVENTS__SIGNER_REMOVED__INIT;
	e.collection_id = tg.c->collection_id;
	e.email = email;
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_REMOVED;
	ev.signer_removed = &e;
	return proj_emitter_emit(em, tg.c->firm_id, &ev);
}

static bool rect_ok(const Ledger__Api__FieldSet *f, const Ledger__Events__PageSize *page)
{
	return f->x0 >= 0 && f->y0 >= 0 && f->x0 < f->x1 && f->y0 < f->y1 && f->x1 <= page->width &&
	       f->y1 <= page->height && f->x1 - f->x0 >= 10 && f->y1 - f->y0 >= 10;
}

static ledger_err field_set(proj_emitter *em, const Ledger__Api__FieldSet *f)
{
	target tg;
	ledger_err err;
	if (!load(&tg, em, f->ref, "signature.modify", NULL, &err) || !editable(&tg, "place a signature field in"))
		return err;
	char email[PROJ_EMAIL_BYTES_MAX + 1];
	const char *why;
	if (!proj_email_normalise(f->signer, email, &why) || proj_collection_signer(tg.c, email) < 0) {
		fail(em, E(NOT_FOUND), "signer", "\"%.64s\" is not a signer of %s", f->signer, tg.c->collection_id);
		return LEDGER_OK;
	}
	ssize_t d = proj_collection_document(tg.c, f->document_sha256.data, f->document_sha256.len);
	if (d < 0) {
		fail(em, E(NOT_FOUND), "document_sha256", "collection %s holds no such document", tg.c->collection_id);
		return LEDGER_OK;
	}
	const Ledger__State__Document *doc = tg.c->documents[d];
	if (f->page < 1 || f->page > doc->n_pages) {
		fail(em, E(INVALID_ARGUMENT), "page", "page %u is not in %s (pages 1 to %zu)", f->page, doc->filename,
		     doc->n_pages);
		return LEDGER_OK;
	}
	const Ledger__Events__PageSize *page = doc->pages[f->page - 1];
	if (!rect_ok(f, page)) {
		fail(em, E(INVALID_ARGUMENT), "x0",
		     "rectangle %.1f,%.1f,%.1f,%.1f is not inside page %u (%.1f x %.1f points) "
		     "or is smaller than 10 x 10 points",
		     (double)f->x0, (double)f->y0, (double)f->x1, (double)f->y1, f->page, (double)page->width,
		     (double)page->height);
		return LEDGER_OK;
	}
	if ((err = reopen_if_rejected(&tg)))
		return err;
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__SignatureField e = LEDGER__EVENTS__SIGNATURE_FIELD__INIT;
	e.collection_id = tg.c->collection_id;
	e.signer = email;
	e.document_sha256 = f->document_sha256;
	e.page = f->page;
	e.x0 = f->x0, e.y0 = f->y0, e.x1 = f->x1, e.y1 = f->y1;
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_FIELD_SET;
	ev.field_set = &e;
	return proj_emitter_emit(em, tg.c->firm_id, &ev);
}

/* ----- lifecycle ----- */

/* What sending needs: documents, signers, and internal signers still allowed to sign. */
static bool ready_to_send(target *tg, ledger_err *err)
{
	*err = LEDGER_OK;
	const collection *c = tg->c;
	if (c->n_documents == 0 || c->n_signers == 0) {
		fail(tg->em, E(FAILED_PRECONDITION), NULL,
		     "collection %s needs at least one document and one signer (it has %zu and %zu)", c->collection_id,
		     c->n_documents, c->n_signers);
		return false;
	}
	for (size_t i = 0; i < c->n_signers; i++) {
		const char *name;
		if (c->signers[i]->kind == LEDGER__EVENTS__SIGNER_KIND__SIGNER_INTERNAL &&
		    !internal_signer_ok(tg, c->signers[i]->email, &name, err))
			return false;
	}
	return true;
}

static uint64_t credits_needed(const collection *c)
{
	uint64_t per_document = c->kind == LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL ? 1 : c->n_signers;
	return c->n_documents * per_document;
}

static bool credits_cover(target *tg, uint64_t needed, ledger_err *err)
{
	Ledger__State__Credits *cr;
	*err = proj_credits_get(tg->em->p, tg->txn, tg->c->firm_id, &cr);
	if (*err)
		return false;
	uint64_t available = cr->available;
	ledger__state__credits__free_unpacked(cr, NULL);
	if (available >= needed)
		return true;
	fail(tg->em, E(INSUFFICIENT_CREDITS), NULL,
	     "collection %s needs %llu credits (documents x signers); firm %s has %llu available", tg->c->collection_id,
	     (unsigned long long)needed, tg->c->firm_id, (unsigned long long)available);
	return false;
}

/* from -> (approved ->) sent, reserving the credits. */
static ledger_err send(target *tg, bool approved, const char *comment)
{
	ledger_err err;
	uint64_t needed = credits_needed(tg->c);
	if (!ready_to_send(tg, &err) || !credits_cover(tg, needed, &err))
		return err;
	const collection *c = tg->c;
	state from = c->state;
	uint32_t days = c->expiry_days ? c->expiry_days : PROJ_COLLECTION_EXPIRY_DAYS_DEFAULT;
	int64_t expires_at_us = ledger_txn_time_us(tg->em->t) + (int64_t)days * PROJ_DAY_US;
	if (approved) {
		if ((err = emit_transition(tg->em, c, from, S(APPROVED), comment, 0)))
			return err;
		from = S(APPROVED);
	}
	bool ok;
	if ((err = emit_transition(tg->em, c, from, S(SENT), approved ? "" : comment, expires_at_us)) ||
	    (err = proj_credits_reserve(tg->em, c->firm_id, c->collection_id, needed, &ok)))
		return err;
	assert(ok);
	return LEDGER_OK;
}

static ledger_err finish(target *tg, state to, const char *comment)
{
	const collection *c = tg->c;
	ledger_err err = emit_transition(tg->em, c, c->state, to, comment, 0);
	if (!err)
		err = proj_credits_release(tg->em, c, to);
	if (!err) {
		char occasion[64], message[256];
		snprintf(occasion, sizeof occasion, "collection:%s:%s", c->collection_id, state_name(to));
		snprintf(message, sizeof message, "collection %s \"%.100s\" is %s", c->collection_id, c->title,
		         state_name(to));
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
	fail(em, E(INVALID_ARGUMENT), "comment",
	     required ? "a comment (1 to %u bytes of text) is required" : "comment must be at most %u bytes of text",
	     PROJ_COMMENT_BYTES_MAX);
	return false;
}

static ledger_err remind(target *tg, bool automatic, const char *actor, const char *request_id)
{
	const collection *c = tg->c;
	char **who = proj_arena_alloc(tg->em->arena, (c->n_signers + 1) * sizeof *who);
	if (!who)
		return LEDGER_ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < c->n_signers; i++)
		if (proj_signer_turn(c, i))
			who[n++] = c->signers[i]->email;
	if (n == 0) {
		if (!automatic)
			fail(tg->em, E(FAILED_PRECONDITION), NULL, "collection %s waits for no signer to remind",
			     c->collection_id);
		return LEDGER_OK;
	}
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__ReminderSent e = LEDGER__EVENTS__REMINDER_SENT__INIT;
	e.collection_id = c->collection_id;
	e.signers = who;
	e.n_signers = n;
	e.automatic = automatic;
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_REMINDER_SENT;
	ev.reminder_sent = &e;
	if (!automatic)
		return proj_emitter_emit(tg->em, c->firm_id, &ev);
	return proj_emit(tg->em->p, tg->em->t, actor, request_id, c->firm_id, &ev, NULL, NULL);
}

static ledger_err signer_act(target *tg, const char *signer, Ledger__Events__SignerAction action, const char *method,
                             const char *reference, const char *comment)
{
	ledger_err err = LEDGER_OK;
	bool acts = action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_AUTHENTICATED ||
	            action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED ||
	            action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_SIGNED;
	if (acts && tg->c->state == S(SENT)) {
		if ((err = emit_transition(tg->em, tg->c, S(SENT), S(IN_PROGRESS), "", 0)))
			return err;
		tg->c->state = S(IN_PROGRESS);
	}
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__SignerActed e = LEDGER__EVENTS__SIGNER_ACTED__INIT;
	e.collection_id = tg->c->collection_id;
	e.signer = (char *)signer;
	e.action = action;
	e.method = (char *)method;
	e.provider_reference = (char *)reference;
	e.comment = (char *)comment;
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_ACTED;
	ev.signer_acted = &e;
	if ((err = proj_emitter_emit(tg->em, tg->c->firm_id, &ev)))
		return err;
	return action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_DECLINED ? finish(tg, S(DECLINED), comment) : LEDGER_OK;
}

static ledger_err act_sign(target *tg)
{
	const collection *c = tg->c;
	ssize_t i = proj_collection_signer(c, tg->em->actor->subject);
	if (i < 0 || c->signers[i]->kind != LEDGER__EVENTS__SIGNER_KIND__SIGNER_INTERNAL) {
		fail(tg->em, E(FAILED_PRECONDITION), NULL, "%s is not an internal signer of collection %s",
		     tg->em->actor->subject, c->collection_id);
		return LEDGER_OK;
	}
	if (!proj_signer_turn(c, (size_t)i)) {
		fail(tg->em, E(FAILED_PRECONDITION), NULL, "collection %s does not wait for %s's signature now (%s)",
		     c->collection_id, tg->em->actor->subject,
		     c->signers[i]->requested            ? "already signed"
		     : proj_collection_running(c->state) ? "another signer comes first"
		                                         : "it is not running");
		return LEDGER_OK;
	}
	return signer_act(tg, tg->em->actor->subject, LEDGER__EVENTS__SIGNER_ACTION__SIGNER_SIGNED, "", "", "");
}

static ledger_err act_seal(target *tg)
{
	ledger_err err;
	if (!require_state(tg, "seal", S(DRAFT), S(DRAFT)))
		return LEDGER_OK;
	if (tg->c->n_documents == 0) {
		fail(tg->em, E(FAILED_PRECONDITION), NULL, "collection %s holds no document to seal",
		     tg->c->collection_id);
		return LEDGER_OK;
	}
	uint64_t needed = credits_needed(tg->c);
	bool ok;
	if (!credits_cover(tg, needed, &err) ||
	    (err = emit_transition(tg->em, tg->c, S(DRAFT), S(IN_PROGRESS), "", 0)) ||
	    (err = proj_credits_reserve(tg->em, tg->c->firm_id, tg->c->collection_id, needed, &ok)))
		return err;
	return LEDGER_OK;
}

static ledger_err act_classify(target *tg, const char *folder)
{
	const collection *c = tg->c;
	if (!proj_collection_ended(c->state) || c->classified) {
		fail(tg->em, E(INVALID_TRANSITION), NULL, "cannot classify collection %s: it is %s%s", c->collection_id,
		     state_name(c->state), c->classified ? " and already classified" : "");
		set_reason(tg->em, state_name(c->state));
		return LEDGER_OK;
	}
	if (folder[0] && !proj_name_valid(folder)) {
		fail(tg->em, E(INVALID_ARGUMENT), "comment", "the folder must be 1 to %u bytes of text",
		     PROJ_NAME_BYTES_MAX);
		return LEDGER_OK;
	}
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__CollectionClassified e = LEDGER__EVENTS__COLLECTION_CLASSIFIED__INIT;
	e.collection_id = c->collection_id;
	e.folder = (char *)folder;
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_CLASSIFIED;
	ev.collection_classified = &e;
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
};

static ledger_err collection_act(proj_emitter *em, const Ledger__Api__CollectionAct *a)
{
	if (a->act <= 0 || (size_t)a->act >= sizeof act_rules / sizeof act_rules[0]) {
		fail(em, E(INVALID_ARGUMENT), "act", "unknown act %d", (int)a->act);
		return LEDGER_OK;
	}
	target tg;
	ledger_err err;
	const act_rule *rule = &act_rules[a->act];
	if (!load(&tg, em, a->ref, rule->signature_action, rule->seal_action, &err))
		return err;
	bool comment_required = a->act == LEDGER__API__COLLECTION_ACT__ACT__REJECT;
	if (!valid_comment(em, a->comment, comment_required))
		return LEDGER_OK;
	switch (a->act) {
	case LEDGER__API__COLLECTION_ACT__ACT__REQUEST_APPROVAL:
		if (!require_state(&tg, "request approval for", S(DRAFT), S(REJECTED)) || !ready_to_send(&tg, &err))
			return err;
		return emit_transition(em, tg.c, tg.c->state, S(PENDING_APPROVAL), a->comment, 0);
	case LEDGER__API__COLLECTION_ACT__ACT__APPROVE:
		if (!require_state(&tg, "approve", S(PENDING_APPROVAL), S(PENDING_APPROVAL)))
			return LEDGER_OK;
		return send(&tg, true, a->comment);
	case LEDGER__API__COLLECTION_ACT__ACT__REJECT:
		if (!require_state(&tg, "reject", S(PENDING_APPROVAL), S(PENDING_APPROVAL)))
			return LEDGER_OK;
		return emit_transition(em, tg.c, tg.c->state, S(REJECTED), a->comment, 0);
	case LEDGER__API__COLLECTION_ACT__ACT__SEND:
		if (!require_state(&tg, "send", S(DRAFT), S(REJECTED)))
			return LEDGER_OK;
		return send(&tg, false, a->comment);
	case LEDGER__API__COLLECTION_ACT__ACT__CANCEL:
		if (proj_collection_ended(tg.c->state)) {
			require_state(&tg, "cancel", S(UNSPECIFIED), S(UNSPECIFIED));
			return LEDGER_OK;
		}
		return finish(&tg, S(CANCELLED), a->comment);
	case LEDGER__API__COLLECTION_ACT__ACT__CLASSIFY: return act_classify(&tg, a->comment);
	case LEDGER__API__COLLECTION_ACT__ACT__REMIND:
		if (!require_state(&tg, "remind the signers of", S(SENT), S(IN_PROGRESS)))
			return LEDGER_OK;
		return remind(&tg, false, NULL, NULL);
	case LEDGER__API__COLLECTION_ACT__ACT__SIGN: return act_sign(&tg);
	case LEDGER__API__COLLECTION_ACT__ACT__SEAL: return act_seal(&tg);
	default: return LEDGER_ERR_INVALID;
	}
}

/* ----- what the front-end reports of signers (platform role) ----- */

static bool load_as_platform(target *tg, proj_emitter *em, const Ledger__Api__CollectionRef *ref, ledger_err *err)
{
	*err = LEDGER_OK;
	tg->em = em;
	tg->txn = ledger_txn_mdb(em->t);
	proj_arena_allocator(em->arena, &tg->alloc);
	if (!em->actor->platform) {
		fail(em, E(PERMISSION_DENIED), NULL,
		     "signers' actions are reported by the platform; %s does not have its role", em->actor->subject);
		return false;
	}
	if (!ref || !proj_firm_id_valid(ref->firm_id)) {
		fail(em, E(INVALID_ARGUMENT), "ref.firm_id", "the command names no valid firm");
		return false;
	}
	*err = proj_collection_get(em->p, tg->txn, ref->firm_id, ref->collection_id, &tg->alloc, &tg->c);
	if (*err == LEDGER_END) {
		*err = LEDGER_OK;
		fail(em, E(NOT_FOUND), "ref.collection_id", "no collection %.32s in firm %s", ref->collection_id,
		     ref->firm_id);
		return false;
	}
	if (*err)
		return false;
	if (ref->expected_version && ref->expected_version != tg->c->version) {
		fail(em, E(CONFLICT), "ref.expected_version", "collection %s is at version %llu, not %llu",
		     tg->c->collection_id, (unsigned long long)tg->c->version,
		     (unsigned long long)ref->expected_version);
		return false;
	}
	return true;
}

static ledger_err signer_report(proj_emitter *em, const Ledger__Api__SignerReport *r)
{
	target tg;
	ledger_err err;
	if (!load_as_platform(&tg, em, r->ref, &err) ||
	    !require_state(&tg, "report a signer's action in", S(SENT), S(IN_PROGRESS)))
		return err;
	char email[PROJ_EMAIL_BYTES_MAX + 1];
	const char *why;
	ssize_t i = proj_email_normalise(r->signer, email, &why) ? proj_collection_signer(tg.c, email) : -1;
	if (i < 0) {
		fail(em, E(NOT_FOUND), "signer", "\"%.64s\" is not a signer of %s", r->signer, tg.c->collection_id);
		return LEDGER_OK;
	}
	const Ledger__State__Signer *s = tg.c->signers[i];
	bool turn = proj_signer_turn(tg.c, (size_t)i);
	switch (r->action) {
	case LEDGER__EVENTS__SIGNER_ACTION__SIGNER_INVITED:
	case LEDGER__EVENTS__SIGNER_ACTION__SIGNER_DECLINED:
		if (s->signed_ || s->requested) {
			fail(em, E(FAILED_PRECONDITION), "signer", "%s has already signed %s", email,
			     tg.c->collection_id);
			return LEDGER_OK;
		}
		break;
	case LEDGER__EVENTS__SIGNER_ACTION__SIGNER_AUTHENTICATED:
		if (strcmp(r->method, "sms") != 0 && strcmp(r->method, "email") != 0) {
			fail(em, E(INVALID_ARGUMENT), "method",
			     "method must be sms or email (the one-time code's channel)");
			return LEDGER_OK;
		}
		break;
	case LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED:
		if (s->kind != LEDGER__EVENTS__SIGNER_KIND__SIGNER_EXTERNAL || !turn) {
			fail(em, E(FAILED_PRECONDITION), "signer", "%s cannot consent now: %s", email,
			     s->kind != LEDGER__EVENTS__SIGNER_KIND__SIGNER_EXTERNAL
			         ? "internal signers sign with signature.sign"
			         : "it is not their turn, or they have signed");
			return LEDGER_OK;
		}
		break;
	default:
		fail(em, E(INVALID_ARGUMENT), "action", "action must be invited, authenticated, consented or declined");
		return LEDGER_OK;
	}
	if (!proj_text_valid(r->provider_reference, PROJ_NAME_BYTES_MAX) || !valid_comment(em, r->comment, false)) {
		if (!em->reply->error)
			fail(em, E(INVALID_ARGUMENT), "provider_reference", "provider_reference must be short text");
		return LEDGER_OK;
	}
	return signer_act(&tg, email, r->action, r->method, r->provider_reference, r->comment);
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
	target tg = {.em = &em, .txn = ledger_txn_mdb(t)};
	proj_arena_allocator(arena, &tg.alloc);
	ledger_err err = proj_collection_get(p, tg.txn, firm_id, collection_id, &tg.alloc, &tg.c);
	if (!err && proj_collection_running(tg.c->state))
		err = expire ? finish(&tg, S(EXPIRED), "") : remind(&tg, true, service.subject, request_id);
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

/* ----- dispatch ----- */

bool proj_is_collection_command(const Ledger__Api__Request *req)
{
	switch (req->body_case) {
	case LEDGER__API__REQUEST__BODY_COLLECTION_CREATE:
	case LEDGER__API__REQUEST__BODY_COLLECTION_MODIFY:
	case LEDGER__API__REQUEST__BODY_DOCUMENT_ADD:
	case LEDGER__API__REQUEST__BODY_DOCUMENT_REMOVE:
	case LEDGER__API__REQUEST__BODY_SIGNER_ADD:
	case LEDGER__API__REQUEST__BODY_SIGNER_REMOVE:
	case LEDGER__API__REQUEST__BODY_FIELD_SET:
	case LEDGER__API__REQUEST__BODY_COLLECTION_ACT:
	case LEDGER__API__REQUEST__BODY_SIGNER_REPORT: return true;
	default: return false;
	}
}

static const Ledger__Api__CollectionRef *command_ref(const Ledger__Api__Request *req)
{
	switch (req->body_case) {
	case LEDGER__API__REQUEST__BODY_COLLECTION_MODIFY: return req->collection_modify->ref;
	case LEDGER__API__REQUEST__BODY_DOCUMENT_ADD: return req->document_add->ref;
	case LEDGER__API__REQUEST__BODY_DOCUMENT_REMOVE: return req->document_remove->ref;
	case LEDGER__API__REQUEST__BODY_SIGNER_ADD: return req->signer_add->ref;
	case LEDGER__API__REQUEST__BODY_SIGNER_REMOVE: return req->signer_remove->ref;
	case LEDGER__API__REQUEST__BODY_FIELD_SET: return req->field_set->ref;
	case LEDGER__API__REQUEST__BODY_COLLECTION_ACT: return req->collection_act->ref;
	case LEDGER__API__REQUEST__BODY_SIGNER_REPORT: return req->signer_report->ref;
	default: return NULL;
	}
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
	case LEDGER__API__REQUEST__BODY_SIGNER_REPORT: return signer_report(em, req->signer_report);
	default: return LEDGER_ERR_INVALID;
	}
}

ledger_err proj_decide_collection(proj_emitter *em, const Ledger__Api__Request *req, const proj_upload *upload)
{
	if (command_ref(req) == NULL && req->body_case != LEDGER__API__REQUEST__BODY_COLLECTION_CREATE) {
		fail(em, E(MALFORMED_REQUEST), "ref", "the command names no collection (ref is missing)");
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
		snprintf(id, sizeof id, "%s", command_ref(req)->collection_id);
		firm_id = command_ref(req)->firm_id;
	}
	ProtobufCAllocator alloc;
	proj_arena_allocator(em->arena, &alloc);
	collection *c;
	if ((err = proj_collection_get(em->p, ledger_txn_mdb(em->t), firm_id, id, &alloc, &c)))
		return err;
	Ledger__Api__CollectionReply *r = proj_arena_alloc(em->arena, sizeof *r);
	if (!r)
		return LEDGER_ERR_NOMEM;
	ledger__api__collection_reply__init(r);
	r->collection = proj_collection_view(c, em->arena);
	em->reply->result_case = LEDGER__API__REPLY__RESULT_COLLECTION;
	em->reply->collection = r;
	return r->collection ? LEDGER_OK : LEDGER_ERR_NOMEM;
}

ledger_err proj_collection_complete(proj *p, ledger_txn *t, Ledger__State__Collection *c)
{
	static const proj_actor service = {"ledgerd", false};
	Ledger__Api__Reply reply = LEDGER__API__REPLY__INIT;
	proj_arena *arena = proj_arena_new();
	if (!arena)
		return LEDGER_ERR_NOMEM;
	proj_emitter em = {p, t, &service, "signer", &reply, arena};
	target tg = {.em = &em, .txn = ledger_txn_mdb(t), .c = c, .firm_id = c->firm_id};
	ledger_err err = finish(&tg, S(COMPLETED), "");
	proj_arena_free(arena);
	return err;
}

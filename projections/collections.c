/*
 * collections.c: collections of documents to sign or seal, from creation to filing
 * (docs/collections.md). The folds keep one state.Collection per collection, plus three
 * indexes: timers (expiry, automatic reminders), the signer's queue (signatures the service
 * owes) and document references (which firm may read a stored document).
 *
 * Every change of a collection is an event and bumps its version, so a command may carry the
 * version it saw (expected_version) and fail with CONFLICT instead of overwriting a change it
 * did not see. Commands are decided on the committer's thread, one after the other: of two
 * commands that saw the same version, exactly one wins.
 */
#include "read_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Ledger__State__Collection collection;

/* ----- state access ----- */

static ledger_err put_collection(proj *p, proj_kv *kv, const collection *c)
{
	char key[PROJ_FIRM_ID_BYTES_MAX + PROJ_COLLECTION_ID_BYTES_MAX + 2];
	return proj_kv_put_msg(kv, p->collections, key, proj_key_pair(key, sizeof key, c->firm_id, c->collection_id),
	                       &c->base);
}

static bool has_string(char **list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static void seal_signer(const char *firm_id, char out[PROJ_FIRM_ID_BYTES_MAX + sizeof PROJ_SEAL_SIGNER_PREFIX])
{
	snprintf(out, PROJ_FIRM_ID_BYTES_MAX + sizeof PROJ_SEAL_SIGNER_PREFIX, PROJ_SEAL_SIGNER_PREFIX "%s", firm_id);
}

/* Has every document been signed by `who`? */
static bool signed_everything(const collection *c, const char *who)
{
	for (size_t i = 0; i < c->n_documents; i++)
		if (!has_string(c->documents[i]->signed_by, c->documents[i]->n_signed_by, who))
			return false;
	return c->n_documents > 0;
}

/* ----- arena-allocated edits of a collection's repeated fields ----- */

/* Appends item to the array *items of *n pointers, reallocating in the arena. */
static bool push(proj_arena *arena, void ***items, size_t *n, void *item)
{
	void **grown = proj_arena_alloc(arena, (*n + 1) * sizeof *grown);
	if (!grown)
		return false;
	if (*n)
		memcpy(grown, *items, *n * sizeof *grown);
	grown[(*n)++] = item;
	*items = grown;
	return true;
}

static void remove_at(void **items, size_t *n, size_t index)
{
	memmove(items + index, items + index + 1, (*n - index - 1) * sizeof *items);
	(*n)--;
}

/* ----- indexes ----- */

static size_t timer_key(uint8_t *buf, size_t cap, int64_t at_us, char kind, const char *firm_id, const char *id)
{
	ledger_put_u64_be(buf, (uint64_t)at_us);
	buf[8] = (uint8_t)kind;
	return 9 + proj_key_pair((char *)buf + 9, cap - 9, firm_id, id);
}

static ledger_err timer_set(proj *p, proj_kv *kv, int64_t at_us, char kind, const collection *c, bool on)
{
	uint8_t key[9 + PROJ_FIRM_ID_BYTES_MAX + PROJ_COLLECTION_ID_BYTES_MAX + 2];
	size_t n = timer_key(key, sizeof key, at_us, kind, c->firm_id, c->collection_id);
	return on ? proj_kv_put(kv, p->timers, key, n, "", 0) : proj_kv_del(kv, p->timers, key, n);
}

static size_t queue_key(char *buf, size_t cap, const collection *c, const char *signer)
{
	size_t n = proj_key_pair(buf, cap, c->firm_id, c->collection_id);
	size_t s = strlen(signer);
	if (n == 0 || n + 1 + s > cap)
		return 0;
	buf[n] = '\0';
	memcpy(buf + n + 1, signer, s);
	return n + 1 + s;
}

static ledger_err queue_set(proj *p, proj_kv *kv, const collection *c, const char *signer, bool on)
{
	char key[PROJ_FIRM_ID_BYTES_MAX + PROJ_COLLECTION_ID_BYTES_MAX + PROJ_EMAIL_BYTES_MAX + 8];
	size_t n = queue_key(key, sizeof key, c, signer);
	if (!n)
		return LEDGER_ERR_CORRUPT;
	return on ? proj_kv_put(kv, p->sign_queue, key, n, "", 0) : proj_kv_del(kv, p->sign_queue, key, n);
}

/* sha256 || firm -> the file name it was uploaded under: who may read it, and as what. */
static ledger_err doc_ref(proj *p, proj_kv *kv, const ProtobufCBinaryData *sha256, const char *firm_id,
                          const char *filename)
{
	char key[LEDGER_HASH_BYTES + PROJ_FIRM_ID_BYTES_MAX];
	size_t f = strlen(firm_id);
	if (sha256->len != LEDGER_HASH_BYTES || f > PROJ_FIRM_ID_BYTES_MAX)
		return LEDGER_ERR_CORRUPT;
	memcpy(key, sha256->data, LEDGER_HASH_BYTES);
	memcpy(key + LEDGER_HASH_BYTES, firm_id, f);
	return proj_kv_put(kv, p->doc_refs, key, LEDGER_HASH_BYTES + f, filename, strlen(filename));
}

/* An ended collection owes nothing and waits for nothing. */
static ledger_err clear_indexes(proj *p, proj_kv *kv, collection *c)
{
	ledger_err err = LEDGER_OK;
	if (c->expires_at_us)
		err = timer_set(p, kv, c->expires_at_us, 'E', c, false);
	if (!err && c->next_reminder_at_us)
		err = timer_set(p, kv, c->next_reminder_at_us, 'R', c, false);
	c->next_reminder_at_us = 0;
	for (size_t i = 0; !err && i < c->n_signers; i++)
		err = queue_set(p, kv, c, c->signers[i]->signer, false);
	if (!err && c->kind == LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL) {
		char seal[PROJ_FIRM_ID_BYTES_MAX + sizeof PROJ_SEAL_SIGNER_PREFIX];
		seal_signer(c->firm_id, seal);
		err = queue_set(p, kv, c, seal, false);
	}
	return err;
}

static ledger_err schedule_reminder(proj *p, proj_kv *kv, collection *c, int64_t from_us)
{
	ledger_err err = LEDGER_OK;
	if (c->next_reminder_at_us)
		err = timer_set(p, kv, c->next_reminder_at_us, 'R', c, false);
	c->next_reminder_at_us = 0;
	if (!err && c->reminder_every_days && proj_collection_running(c->state)) {
		c->next_reminder_at_us = from_us + (int64_t)c->reminder_every_days * PROJ_DAY_US;
		err = timer_set(p, kv, c->next_reminder_at_us, 'R', c, true);
	}
	return err;
}

/* ----- folds ----- */

static ledger_err fold_created(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__Event *ev)
{
	const Ledger__Events__CollectionCreated *e = ev->collection_created;
	collection c = LEDGER__STATE__COLLECTION__INIT;
	(void)seq;
	c.firm_id = ev->firm_id;
	c.collection_id = e->collection_id;
	c.kind = e->kind;
	c.title = e->title;
	c.state = LEDGER__EVENTS__COLLECTION_STATE__STATE_DRAFT;
	c.version = 1;
	c.created_by = ev->actor;
	c.created_at_us = ev->committed_at_us;
	c.updated_at_us = ev->committed_at_us;
	c.deadline_on = e->deadline_on;
	c.order = e->order;
	c.expiry_days = e->expiry_days;
	c.reminder_every_days = e->reminder_every_days;
	return put_collection(p, kv, &c);
}

static void fold_modified(collection *c, const Ledger__Events__CollectionModified *e, proj_arena *arena)
{
	c->title = e->title;
	c->deadline_on = e->deadline_on;
	c->order = e->order;
	c->expiry_days = e->expiry_days;
	c->reminder_every_days = e->reminder_every_days;
	if (e->n_signer_order != c->n_signers)
		return;
	Ledger__State__Signer **ordered = proj_arena_alloc(arena, (c->n_signers + 1) * sizeof *ordered);
	if (!ordered)
		return;
	for (size_t i = 0; i < e->n_signer_order; i++) {
		ssize_t at = proj_collection_signer(c, e->signer_order[i]);
		if (at < 0)
			return; /* decide.c checked it: a log that disagrees keeps the old order */
		ordered[i] = c->signers[at];
	}
	c->signers = ordered;
}

static ledger_err fold_document_added(proj *p, proj_kv *kv, collection *c, const Ledger__Events__DocumentAdded *e,
                                      proj_arena *arena)
{
	Ledger__State__Document *d = proj_arena_alloc(arena, sizeof *d);
	if (!d)
		return LEDGER_ERR_NOMEM;
	ledger__state__document__init(d);
	d->sha256 = e->sha256;
	d->current_sha256 = e->sha256;
	d->filename = e->filename;
	d->bytes = e->bytes;
	d->n_pages = e->n_pages;
	d->pages = e->pages;
	if (!push(arena, (void ***)&c->documents, &c->n_documents, d))
		return LEDGER_ERR_NOMEM;
	return doc_ref(p, kv, &e->sha256, c->firm_id, e->filename);
}

static void fold_document_removed(collection *c, const Ledger__Events__DocumentRemoved *e)
{
	ssize_t at = proj_collection_document(c, e->sha256.data, e->sha256.len);
	if (at < 0)
		return;
	remove_at((void **)c->documents, &c->n_documents, (size_t)at);
	for (size_t s = 0; s < c->n_signers; s++) {
		Ledger__State__Signer *signer = c->signers[s];
		for (size_t f = signer->n_fields; f-- > 0;)
			if (signer->fields[f]->document_sha256.len == e->sha256.len &&
			    memcmp(signer->fields[f]->document_sha256.data, e->sha256.data, e->sha256.len) == 0)
				remove_at((void **)signer->fields, &signer->n_fields, f);
	}
}

/*
 * A failed document removed from an in-progress collection (docs/collections.md): whoever had
 * signed every other document owes nothing more, and leaves the signing queue.
 */
static ledger_err owed_after_removal(proj *p, proj_kv *kv, collection *c)
{
	if (c->state != LEDGER__EVENTS__COLLECTION_STATE__STATE_IN_PROGRESS)
		return LEDGER_OK;
	ledger_err err = LEDGER_OK;
	for (size_t i = 0; !err && i < c->n_signers; i++) {
		Ledger__State__Signer *s = c->signers[i];
		if (!s->signed_ && s->requested && signed_everything(c, s->signer)) {
			s->signed_ = true;
			err = queue_set(p, kv, c, s->signer, false);
		}
	}
	if (!err && c->kind == LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL) {
		char seal[PROJ_FIRM_ID_BYTES_MAX + sizeof PROJ_SEAL_SIGNER_PREFIX];
		seal_signer(c->firm_id, seal);
		if (signed_everything(c, seal))
			err = queue_set(p, kv, c, seal, false);
	}
	return err;
}

/* The failures a person asked to retry are cleared: one document's when the event names it,
 * else every document's. A named document that is not there is a log the command could not
 * have written. */
static ledger_err fold_signature_retried(collection *c, const Ledger__Events__SignatureRetried *e)
{
	if (e->original_sha256.len == 0) {
		for (size_t i = 0; i < c->n_documents; i++)
			c->documents[i]->failure = (char *)"";
		return LEDGER_OK;
	}
	ssize_t at = proj_collection_document(c, e->original_sha256.data, e->original_sha256.len);
	if (at < 0)
		return LEDGER_ERR_CORRUPT;
	c->documents[at]->failure = (char *)"";
	return LEDGER_OK;
}

static ledger_err fold_signer_added(collection *c, const Ledger__Events__SignerAdded *e, proj_arena *arena)
{
	Ledger__State__Signer *s = proj_arena_alloc(arena, sizeof *s);
	if (!s)
		return LEDGER_ERR_NOMEM;
	ledger__state__signer__init(s);
	/* External signers are named by their id; their email and name stay sealed. */
	bool external = e->kind == LEDGER__EVENTS__SIGNER_KIND__SIGNER_EXTERNAL;
	s->signer = external ? e->signer_id : e->email;
	s->name = external ? (char *)"" : e->name;
	s->kind = e->kind;
	s->phone = e->phone;
	s->sealed_email = e->sealed_email;
	s->sealed_name = e->sealed_name;
	return push(arena, (void ***)&c->signers, &c->n_signers, s) ? LEDGER_OK : LEDGER_ERR_NOMEM;
}

static ledger_err fold_field(collection *c, const Ledger__Events__SignatureField *e, proj_arena *arena)
{
	ssize_t at = proj_collection_signer(c, e->signer);
	if (at < 0)
		return LEDGER_OK;
	Ledger__State__Signer *s = c->signers[at];
	Ledger__State__Field *f = proj_arena_alloc(arena, sizeof *f);
	if (!f)
		return LEDGER_ERR_NOMEM;
	ledger__state__field__init(f);
	f->document_sha256 = e->document_sha256;
	f->page = e->page;
	f->x0 = e->x0, f->y0 = e->y0, f->x1 = e->x1, f->y1 = e->y1;
	for (size_t i = 0; i < s->n_fields; i++)
		if (s->fields[i]->document_sha256.len == e->document_sha256.len &&
		    memcmp(s->fields[i]->document_sha256.data, e->document_sha256.data, e->document_sha256.len) == 0) {
			s->fields[i] = f; /* one field per signer and document: the latest */
			return LEDGER_OK;
		}
	return push(arena, (void ***)&s->fields, &s->n_fields, f) ? LEDGER_OK : LEDGER_ERR_NOMEM;
}

static ledger_err fold_transition(proj *p, proj_kv *kv, collection *c, const Ledger__Events__Event *ev)
{
	const Ledger__Events__CollectionTransitioned *e = ev->collection_transitioned;
	/* The commands checked the move against the table before emitting it: here it must hold. */
	LEDGER_ASSERT_MSG(e->from == c->state && proj_collection_transition_legal(e->from, e->to),
	                  "collection %s/%s: %s -> %s while it is %s", c->firm_id, c->collection_id,
	                  proj_collection_state_name(e->from), proj_collection_state_name(e->to),
	                  proj_collection_state_name(c->state));
	c->state = e->to;
	if (e->comment[0])
		c->comment = e->comment;
	ledger_err err = LEDGER_OK;
	if (e->to == LEDGER__EVENTS__COLLECTION_STATE__STATE_SENT) {
		c->sent_at_us = ev->committed_at_us;
		c->expires_at_us = e->expires_at_us;
		err = timer_set(p, kv, c->expires_at_us, 'E', c, true);
		if (!err)
			err = schedule_reminder(p, kv, c, c->sent_at_us);
	} else if (e->to == LEDGER__EVENTS__COLLECTION_STATE__STATE_IN_PROGRESS &&
	           c->kind == LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL) {
		char seal[PROJ_FIRM_ID_BYTES_MAX + sizeof PROJ_SEAL_SIGNER_PREFIX];
		seal_signer(c->firm_id, seal);
		c->seal_requested = true;
		err = queue_set(p, kv, c, seal, true);
		if (!err && e->expires_at_us) { /* logs written before seals expired carry none */
			c->expires_at_us = e->expires_at_us;
			err = timer_set(p, kv, c->expires_at_us, 'E', c, true);
		}
	} else if (proj_collection_ended(e->to)) {
		err = clear_indexes(p, kv, c);
	}
	LEDGER_ASSERT(c->state == e->to);
	return err;
}

static ledger_err fold_signer_acted(proj *p, proj_kv *kv, collection *c, uint64_t seq, const Ledger__Events__Event *ev)
{
	const Ledger__Events__SignerActed *e = ev->signer_acted;
	ssize_t at = proj_collection_signer(c, e->signer);
	if (at < 0)
		return LEDGER_OK;
	Ledger__State__Signer *s = c->signers[at];
	s->status = e->action;
	if (e->action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_AUTHENTICATED) {
		s->authenticated_seq = seq; /* what a consent rests on, while it is fresh */
		s->authenticated_at_us = ev->committed_at_us;
	}
	if (e->action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED ||
	    (e->action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_SIGNED && e->authentication_seq)) {
		s->consent_seq = seq; /* what the signature is made on, and what that rests on */
		s->consent_authentication_seq = e->authentication_seq;
	}
	if (e->action != LEDGER__EVENTS__SIGNER_ACTION__SIGNER_SIGNED &&
	    e->action != LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED)
		return LEDGER_OK;
	s->requested = true;
	return queue_set(p, kv, c, s->signer, true);
}

static ledger_err fold_document_signed(proj *p, proj_kv *kv, collection *c, const Ledger__Events__DocumentSigned *e,
                                       proj_arena *arena)
{
	ssize_t at = proj_collection_document(c, e->original_sha256.data, e->original_sha256.len);
	if (at < 0)
		return LEDGER_ERR_CORRUPT;
	Ledger__State__Document *d = c->documents[at];
	d->current_sha256 = e->signed_sha256;
	d->failure = (char *)"";
	if (!push(arena, (void ***)&d->signed_by, &d->n_signed_by, e->signer))
		return LEDGER_ERR_NOMEM;
	c->credits_used++;
	ledger_err err = doc_ref(p, kv, &e->signed_sha256, c->firm_id, d->filename);
	if (err || !signed_everything(c, e->signer))
		return err;
	ssize_t s = proj_collection_signer(c, e->signer);
	if (s >= 0)
		c->signers[s]->signed_ = true;
	return queue_set(p, kv, c, e->signer, false);
}

/* Archive renewal: the renewed version becomes the document's current one, readable by the
 * firm (DocumentGet) like every version. */
static ledger_err fold_timestamp_renewed(proj *p, proj_kv *kv, collection *c,
                                         const Ledger__Events__DocumentTimestampRenewed *e)
{
	ssize_t at = proj_collection_document(c, e->original_sha256.data, e->original_sha256.len);
	if (at < 0)
		return LEDGER_ERR_CORRUPT;
	Ledger__State__Document *d = c->documents[at];
	d->current_sha256 = e->renewed_sha256;
	return doc_ref(p, kv, &e->renewed_sha256, c->firm_id, d->filename);
}

/* The collection an event is about, and its id; NULL for events that concern none. */
static const char *event_collection(const Ledger__Events__Event *ev)
{
	switch (ev->payload_case) {
	case LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_MODIFIED: return ev->collection_modified->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_ADDED: return ev->document_added->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_REMOVED: return ev->document_removed->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_ADDED: return ev->signer_added->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_REMOVED: return ev->signer_removed->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_FIELD_SET: return ev->field_set->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_TRANSITIONED: return ev->collection_transitioned->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_ACTED: return ev->signer_acted->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_REMINDER_SENT: return ev->reminder_sent->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED: return ev->document_signed->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_CLASSIFIED: return ev->collection_classified->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_CREDITS_RESERVED: return ev->credits_reserved->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_CREDITS_RELEASED: return ev->credits_released->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_SIGNATURE_FAILED: return ev->signature_failed->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_SIGNATURE_RETRIED: return ev->signature_retried->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_TIMESTAMP_RENEWED:
		return ev->document_timestamp_renewed->collection_id;
	default: return NULL;
	}
}

static ledger_err fold_change(proj *p, proj_kv *kv, collection *c, uint64_t seq, const Ledger__Events__Event *ev,
                              proj_arena *arena)
{
	switch (ev->payload_case) {
	case LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_MODIFIED:
		fold_modified(c, ev->collection_modified, arena);
		return LEDGER_OK;
	case LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_ADDED:
		return fold_document_added(p, kv, c, ev->document_added, arena);
	case LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_REMOVED:
		fold_document_removed(c, ev->document_removed);
		return owed_after_removal(p, kv, c);
	case LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_ADDED: return fold_signer_added(c, ev->signer_added, arena);
	case LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_REMOVED: {
		ssize_t at = proj_collection_signer(c, ev->signer_removed->signer);
		if (at >= 0)
			remove_at((void **)c->signers, &c->n_signers, (size_t)at);
		return LEDGER_OK;
	}
	case LEDGER__EVENTS__EVENT__PAYLOAD_FIELD_SET: return fold_field(c, ev->field_set, arena);
	case LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_TRANSITIONED: return fold_transition(p, kv, c, ev);
	case LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_ACTED: return fold_signer_acted(p, kv, c, seq, ev);
	case LEDGER__EVENTS__EVENT__PAYLOAD_REMINDER_SENT:
		c->reminders++;
		return schedule_reminder(p, kv, c, ev->committed_at_us);
	case LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED:
		return fold_document_signed(p, kv, c, ev->document_signed, arena);
	case LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_CLASSIFIED:
		c->classified = true;
		c->folder = ev->collection_classified->folder;
		return LEDGER_OK;
	case LEDGER__EVENTS__EVENT__PAYLOAD_CREDITS_RESERVED:
		c->credits_reserved += ev->credits_reserved->credits;
		return LEDGER_OK;
	case LEDGER__EVENTS__EVENT__PAYLOAD_CREDITS_RELEASED:
		/* Released while it goes on (a failed document removed): what a later end releases is
		 * what remains. At the end itself, nothing is counted: nothing is released twice. */
		if (c->state == LEDGER__EVENTS__COLLECTION_STATE__STATE_IN_PROGRESS)
			c->credits_released += ev->credits_released->credits;
		return LEDGER_OK;
	case LEDGER__EVENTS__EVENT__PAYLOAD_SIGNATURE_RETRIED: return fold_signature_retried(c, ev->signature_retried);
	case LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_TIMESTAMP_RENEWED:
		return fold_timestamp_renewed(p, kv, c, ev->document_timestamp_renewed);
	case LEDGER__EVENTS__EVENT__PAYLOAD_SIGNATURE_FAILED: {
		const Ledger__Events__SignatureFailed *f = ev->signature_failed;
		ssize_t at = proj_collection_document(c, f->original_sha256.data, f->original_sha256.len);
		if (at >= 0)
			c->documents[at]->failure = f->reason;
		return LEDGER_OK;
	}
	default: return LEDGER_ERR_CORRUPT;
	}
}

ledger_err proj_fold_collection(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__Event *ev)
{
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_CREATED)
		return fold_created(p, kv, seq, ev);
	const char *id = event_collection(ev);
	if (!id)
		return LEDGER_OK;
	proj_arena *arena;
	collection *c;
	ledger_err err = proj_collection_get_arena_kv(p, kv, ev->firm_id, id, &arena, &c);
	if (err == LEDGER_END)
		err = LEDGER_ERR_CORRUPT; /* an event about a collection the log never created */
	if (!err)
		err = fold_change(p, kv, c, seq, ev, arena);
	if (!err) {
		c->version++;
		c->updated_at_us = ev->committed_at_us;
		err = put_collection(p, kv, c);
	}
	proj_arena_free(arena);
	return err;
}

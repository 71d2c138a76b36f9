/*
 * decide.c: commands to events. Each handler validates its input, authorises the actor
 * against the projections as they stand in the committer's transaction, and either refuses
 * (setting reply->error, writing nothing) or emits its events. Emitting appends the event's
 * bytes to the log and folds those same bytes (proj_apply), so live state is replayable.
 */
#include "commands.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Ledger__Api__Reply *proj_error(Ledger__Api__Reply *reply, proj_arena *arena, Ledger__Api__ErrorCode code,
                               const char *field, const char *fmt, ...)
{
	char message[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	proj_utf8_repair(message); /* it may quote a request's bytes, or end in a cut character */
	Ledger__Api__Error *e = proj_arena_alloc(arena, sizeof *e);
	if (!e)
		return reply;
	ledger__api__error__init(e);
	e->code = code;
	e->message = proj_arena_strdup(arena, message);
	e->field = proj_arena_strdup(arena, field ? field : "");
	if (!e->message || !e->field)
		return reply;
	reply->error = e;
	reply->result_case = LEDGER__API__REPLY__RESULT__NOT_SET;
	return reply;
}

bool proj_is_command(const Ledger__Api__Request *req)
{
	switch (req->body_case) {
	case LEDGER__API__REQUEST__BODY_ACCOUNT_ADD:
	case LEDGER__API__REQUEST__BODY_FIRM_ADD:
	case LEDGER__API__REQUEST__BODY_DELEGATION_GRANT:
	case LEDGER__API__REQUEST__BODY_DELEGATION_REVOKE:
	case LEDGER__API__REQUEST__BODY_REGISTRATION_RECORD:
	case LEDGER__API__REQUEST__BODY_SUBJECT_ERASE:
	case LEDGER__API__REQUEST__BODY_CERTIFICATE_REVOKE:
	case LEDGER__API__REQUEST__BODY_SEAL_ISSUE:
	case LEDGER__API__REQUEST__BODY_FIRM_SIREN_SET:
	case LEDGER__API__REQUEST__BODY_DELEGATION_IMPORT: return true; /* decided as the grant it becomes */
	default: return proj_is_collection_command(req) || proj_is_platform_command(req);
	}
}

typedef proj_emitter emitter;

ledger_err proj_emit(proj *p, ledger_txn *t, const char *actor, const char *request_id, const char *firm_id,
                     Ledger__Events__Event *ev, uint64_t *seq, uint8_t hash[LEDGER_HASH_BYTES])
{
	ev->committed_at_us = ledger_txn_time_us(t);
	ev->actor = (char *)actor;
	ev->firm_id = (char *)(firm_id ? firm_id : "");
	ev->request_id = (char *)request_id;
	size_t n = ledger__events__event__get_packed_size(ev);
	uint8_t stack[2048];
	uint8_t *buf = n <= sizeof stack ? stack : malloc(n);
	if (!buf)
		return LEDGER_ERR_NOMEM;
	size_t packed = ledger__events__event__pack(ev, buf);
	LEDGER_ASSERT_MSG(packed == n, "event packed to %zu bytes, %zu announced", packed, n);
	uint64_t s = 0, expected_seq = ledger_txn_next_seq(t);
	ledger_err err = ledger_append(t, buf, n, &s, hash);
	/* The folds see the very seq the log gave the bytes: the next one, in order. */
	LEDGER_ASSERT_MSG(err || s == expected_seq, "appended at seq %llu, expected %llu", (unsigned long long)s,
	                  (unsigned long long)expected_seq);
	if (!err)
		err = proj_apply(p, ledger_txn_mdb(t), s, buf, n);
	if (buf != stack)
		free(buf);
	if (!err && seq)
		*seq = s;
	return err;
}

/* Records the command's last event as the reply's seq and hash (not after a refusal). */
static ledger_err set_last(emitter *em, ledger_err err, uint64_t seq, const uint8_t hash[LEDGER_HASH_BYTES])
{
	if (err || em->reply->error)
		return err;
	uint8_t *h = proj_arena_alloc(em->arena, LEDGER_HASH_BYTES);
	if (!h)
		return LEDGER_ERR_NOMEM;
	memcpy(h, hash, LEDGER_HASH_BYTES);
	em->reply->seq = seq;
	em->reply->hash.data = h;
	em->reply->hash.len = LEDGER_HASH_BYTES;
	return LEDGER_OK;
}

ledger_err proj_emitter_emit(proj_emitter *em, const char *firm_id, Ledger__Events__Event *ev)
{
	uint64_t seq = 0;
	uint8_t hash[LEDGER_HASH_BYTES];
	ledger_err err = proj_emit(em->p, em->t, em->actor->subject, em->request_id, firm_id, ev, &seq, hash);
	return set_last(em, err, seq, hash);
}

static ledger_err emit(emitter *em, const char *firm_id, Ledger__Events__Event *ev)
{
	return proj_emitter_emit(em, firm_id, ev);
}

bool proj_query_subject(const proj_actor *actor, const char *asked, const char *field,
                        char subject[PROJ_EMAIL_BYTES_MAX + 1], Ledger__Api__Reply *reply, proj_arena *arena)
{
	const char *why;
	if (!asked[0])
		asked = actor->subject;
	if (proj_email_normalise(asked, subject, &why))
		return true;
	proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, field, "%s \"%.64s\": %s", field, asked,
	           why);
	return false;
}

bool proj_authorise_query(proj *p, MDB_txn *txn, const proj_actor *actor, const char *firm_id, const char *action,
                          int64_t now_us, Ledger__Api__Reply *reply, proj_arena *arena)
{
	if (!proj_firm_id_valid(firm_id)) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "firm_id",
		           "firm id \"%.64s\" must be 1 to %u characters among A-Z a-z 0-9 . _ -", firm_id,
		           PROJ_FIRM_ID_BYTES_MAX);
		return false;
	}
	int index = proj_action_find(action);
	LEDGER_ASSERT_MSG(index >= 0, "action %s is not in the matrix", action);
	char reason[256];
	proj_can_result r =
	    actor->platform ? PROJ_CAN_ALLOWED
	                    : proj_can(p, txn, firm_id, actor->subject, (size_t)index, now_us, reason, sizeof reason);
	if (actor->platform) {
		Ledger__State__Firm *firm;
		ledger_err e = proj_firm_get(p, txn, firm_id, &firm);
		if (e == LEDGER_OK)
			ledger__state__firm__free_unpacked(firm, NULL);
		r = e == LEDGER_OK ? PROJ_CAN_ALLOWED : e == LEDGER_END ? PROJ_CAN_NO_FIRM : PROJ_CAN_ERROR;
	}
	switch (r) {
	case PROJ_CAN_ALLOWED: return true;
	case PROJ_CAN_NO_FIRM:
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__NOT_FOUND, "firm_id", "unknown firm %.64s", firm_id);
		return false;
	case PROJ_CAN_DENIED:
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__PERMISSION_DENIED, NULL,
		           "%s may not %s in firm %s: %s", actor->subject, action, firm_id, reason);
		return false;
	default:
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__INTERNAL, NULL, "the rights check failed");
		return false;
	}
}

bool proj_authorise(proj_emitter *em, const char *firm_id, const char *action, ledger_err *err)
{
	*err = LEDGER_OK;
	if (em->actor->platform) {
		proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__PERMISSION_DENIED, NULL,
		           "%s is done by the firm's people, not by the platform role", action);
		return false;
	}
	bool ok = proj_authorise_query(em->p, ledger_txn_mdb(em->t), em->actor, firm_id, action,
	                               ledger_txn_time_us(em->t), em->reply, em->arena);
	if (!ok && em->reply->error && em->reply->error->code == LEDGER__API__ERROR_CODE__INTERNAL)
		*err = LEDGER_ERR_LMDB;
	return ok;
}

static bool require_platform(emitter *em, const char *what)
{
	if (em->actor->platform)
		return true;
	proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__PERMISSION_DENIED, NULL,
	           "%s needs the platform role; %s does not have it", what, em->actor->subject);
	return false;
}

static ledger_err account_add(emitter *em, const Ledger__Api__AccountAdd *c)
{
	if (!require_platform(em, "account add"))
		return LEDGER_OK;
	char email[PROJ_EMAIL_BYTES_MAX + 1];
	const char *why;
	if (!proj_email_normalise(c->email, email, &why)) {
		proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "email",
		           "email \"%.64s\": %s", c->email, why);
		return LEDGER_OK;
	}
	if (!proj_name_valid(c->name)) {
		proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "name",
		           "name must be 1 to %u bytes of UTF-8 text without control characters", PROJ_NAME_BYTES_MAX);
		return LEDGER_OK;
	}
	Ledger__State__Account *existing;
	ledger_err err = proj_account_get(em->p, ledger_txn_mdb(em->t), email, &existing);
	if (err == LEDGER_OK) {
		ledger__state__account__free_unpacked(existing, NULL);
		proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__ALREADY_EXISTS, "email",
		           "account %s already exists", email);
		return LEDGER_OK;
	}
	if (err != LEDGER_END)
		return err;
	Ledger__Events__AccountRegistered a = LEDGER__EVENTS__ACCOUNT_REGISTERED__INIT;
	a.email = email;
	a.name = c->name;
	a.is_ec = c->is_ec;
	Ledger__Events__Event ev = PROJ_EVENT(ACCOUNT_REGISTERED, account_registered, &a);
	return emit(em, NULL, &ev);
}

static ledger_err firm_add(emitter *em, const Ledger__Api__FirmAdd *c, const proj_issued *seal)
{
	if (!require_platform(em, "firm add"))
		return LEDGER_OK;
	Ledger__Api__Reply *r = em->reply;
	if (!proj_firm_id_valid(c->firm_id)) {
		proj_error(r, em->arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "firm_id",
		           "firm id \"%.64s\" must be 1 to %u characters among A-Z a-z 0-9 . _ -", c->firm_id,
		           PROJ_FIRM_ID_BYTES_MAX);
		return LEDGER_OK;
	}
	if (!proj_name_valid(c->name)) {
		proj_error(r, em->arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "name",
		           "name must be 1 to %u bytes of UTF-8 text without control characters", PROJ_NAME_BYTES_MAX);
		return LEDGER_OK;
	}
	proj_siren_status siren = proj_siren_check(c->siren);
	if (siren != PROJ_SIREN_OK) {
		proj_error(r, em->arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "siren", "siren \"%.32s\": %s",
		           c->siren, proj_siren_strerror(siren));
		return LEDGER_OK;
	}
	char ec[PROJ_EMAIL_BYTES_MAX + 1];
	const char *why;
	if (!proj_email_normalise(c->ec_email, ec, &why)) {
		proj_error(r, em->arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "ec_email",
		           "ec_email \"%.64s\": %s", c->ec_email, why);
		return LEDGER_OK;
	}
	MDB_txn *txn = ledger_txn_mdb(em->t);
	Ledger__State__Firm *firm;
	ledger_err err = proj_firm_get(em->p, txn, c->firm_id, &firm);
	if (err == LEDGER_OK) {
		ledger__state__firm__free_unpacked(firm, NULL);
		proj_error(r, em->arena, LEDGER__API__ERROR_CODE__ALREADY_EXISTS, "firm_id", "firm %s already exists",
		           c->firm_id);
		return LEDGER_OK;
	}
	if (err != LEDGER_END)
		return err;
	Ledger__State__Account *acc;
	err = proj_account_get(em->p, txn, ec, &acc);
	if (err == LEDGER_END) {
		proj_error(r, em->arena, LEDGER__API__ERROR_CODE__NOT_FOUND, "ec_email",
		           "no account %s: register it first", ec);
		return LEDGER_OK;
	}
	if (err)
		return err;
	bool is_ec = acc->is_ec;
	ledger__state__account__free_unpacked(acc, NULL);
	if (!is_ec) {
		proj_error(r, em->arena, LEDGER__API__ERROR_CODE__FAILED_PRECONDITION, "ec_email",
		           "account %s is not an expert-comptable: only an EC heads a firm", ec);
		return LEDGER_OK;
	}
	Ledger__Events__FirmCreated f = LEDGER__EVENTS__FIRM_CREATED__INIT;
	f.firm_id = c->firm_id;
	f.name = c->name;
	f.ec_email = ec;
	f.siren = c->siren;
	Ledger__Events__Event ev = PROJ_EVENT(FIRM_CREATED, firm_created, &f);
	err = emit(em, c->firm_id, &ev);
	/* The firm's seal certificate, issued by ledgerd's CA for this command (docs/signer.md). */
	if (!err && seal)
		err = proj_record_issued(em->p, em->t, em->actor->subject, em->request_id, c->firm_id,
		                         LEDGER__EVENTS__KEY_KIND__KEY_SEAL, c->firm_id, seal);
	return err;
}

/* The firm must exist and the actor must be its EC. Sets the error and returns false if not. */
static bool require_firm_ec(emitter *em, const char *firm_id, MDB_txn *txn, ledger_err *err)
{
	*err = LEDGER_OK;
	Ledger__State__Firm *firm;
	ledger_err e = proj_firm_get(em->p, txn, firm_id, &firm);
	if (e == LEDGER_END) {
		proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__NOT_FOUND, "firm_id", "unknown firm %.64s",
		           firm_id);
		return false;
	}
	if (e) {
		*err = e;
		return false;
	}
	bool ok = strcmp(firm->ec_email, em->actor->subject) == 0;
	ledger__state__firm__free_unpacked(firm, NULL);
	if (!ok)
		proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__PERMISSION_DENIED, "firm_id",
		           "only the EC of firm %s manages its delegations; %s is not", firm_id, em->actor->subject);
	return ok;
}

bool proj_may_import(proj *p, MDB_txn *txn, const proj_actor *actor, const char *firm_id)
{
	if (actor->platform || !proj_firm_id_valid(firm_id))
		return false;
	Ledger__State__Firm *firm;
	if (proj_firm_get(p, txn, firm_id, &firm) != LEDGER_OK)
		return false;
	bool ok = strcmp(firm->ec_email, actor->subject) == 0;
	ledger__state__firm__free_unpacked(firm, NULL);
	return ok;
}

/* Parses and de-duplicates a rights list into a bit mask; 0 with an error set when bad. */
static unsigned rights_mask(emitter *em, size_t n, const Ledger__Events__Right *rights, bool empty_is_all)
{
	if (n == 0) {
		if (empty_is_all)
			return PROJ_RIGHT_SIGN | PROJ_RIGHT_LAUNCH | PROJ_RIGHT_SEAL | PROJ_RIGHT_PREPARE;
		proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "rights",
		           "name at least one right among sign, launch, seal, prepare");
		return 0;
	}
	unsigned mask = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned bit = proj_right_bit_of(rights[i]);
		if (!bit) {
			proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "rights",
			           "unknown right %d: rights are sign, launch, seal, prepare", (int)rights[i]);
			return 0;
		}
		mask |= bit;
	}
	return mask;
}

/* Fills *expires_at_us from c->expires_on or the default (one year from today, Paris). */
static bool grant_expiry(emitter *em, const char *asked, char date[11], int64_t *expires_at_us)
{
	int64_t now = ledger_txn_time_us(em->t);
	if (asked[0] == '\0')
		proj_paris_date(now, 1, date);
	else
		snprintf(date, 11, "%.10s", asked);
	char latest[11];
	proj_paris_date(now, PROJ_EXPIRY_YEARS_MAX, latest);
	if (strlen(asked) > 10 || !proj_date_end_us(date, expires_at_us)) {
		proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "expires_on",
		           "expires_on \"%.32s\" is not a date YYYY-MM-DD", asked);
		return false;
	}
	if (*expires_at_us <= now || strcmp(date, latest) > 0) {
		char today[11];
		proj_paris_date(now, 0, today);
		proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "expires_on",
		           "expires_on %s must be between today (%s, Paris) and %s", date, today, latest);
		return false;
	}
	return true;
}

static Ledger__Api__GrantResult *grant_row(emitter *em, const char *who, uint32_t row,
                                           Ledger__Api__GrantResult__Status status, const char *message)
{
	Ledger__Api__GrantResult *g = proj_arena_alloc(em->arena, sizeof *g);
	if (!g)
		return NULL;
	ledger__api__grant_result__init(g);
	g->collaborator = proj_arena_strdup(em->arena, who);
	g->status = status;
	g->message = proj_arena_strdup(em->arena, message);
	g->row = row;
	return g->collaborator && g->message ? g : NULL;
}

/* Grants every right of mask to one (valid, distinct) collaborator. */
static ledger_err grant_one(emitter *em, const Ledger__Api__DelegationGrant *c, const char *who, unsigned mask,
                            const char *date, int64_t expires_at_us)
{
	MDB_txn *txn = ledger_txn_mdb(em->t);
	for (Ledger__Events__Right r = LEDGER__EVENTS__RIGHT__RIGHT_SIGN; r <= LEDGER__EVENTS__RIGHT__RIGHT_PREPARE;
	     r++) {
		if (!(mask & proj_right_bit_of(r)))
			continue;
		Ledger__State__Delegation *d;
		bool renewal = proj_delegation_get(em->p, txn, c->firm_id, who, r, &d) == LEDGER_OK;
		if (renewal) {
			renewal = ledger_txn_time_us(em->t) < d->expires_at_us;
			ledger__state__delegation__free_unpacked(d, NULL);
		}
		Ledger__Events__DelegationGranted g = LEDGER__EVENTS__DELEGATION_GRANTED__INIT;
		g.firm_id = c->firm_id;
		g.collaborator = (char *)who;
		g.right = r;
		g.expires_on = (char *)date;
		g.expires_at_us = expires_at_us;
		g.renewal = renewal;
		Ledger__Events__Event ev = PROJ_EVENT(DELEGATION_GRANTED, delegation_granted, &g);
		ledger_err err = emit(em, c->firm_id, &ev);
		if (err)
			return err;
	}
	return LEDGER_OK;
}

static ledger_err delegation_grant(emitter *em, const Ledger__Api__DelegationGrant *c)
{
	MDB_txn *txn = ledger_txn_mdb(em->t);
	ledger_err err;
	if (!require_firm_ec(em, c->firm_id, txn, &err))
		return err;
	if (c->n_collaborators == 0 || c->n_collaborators > PROJ_GRANT_COLLABORATORS_MAX) {
		proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "collaborators",
		           "name 1 to %u collaborators (got %zu)", PROJ_GRANT_COLLABORATORS_MAX, c->n_collaborators);
		return LEDGER_OK;
	}
	unsigned mask = rights_mask(em, c->n_rights, c->rights, false);
	char date[11];
	int64_t expires_at_us;
	if (!mask || !grant_expiry(em, c->expires_on, date, &expires_at_us))
		return LEDGER_OK;
	Ledger__Api__GrantReply *gr = proj_arena_alloc(em->arena, sizeof *gr);
	Ledger__Api__GrantResult **rows = proj_arena_alloc(em->arena, c->n_collaborators * sizeof *rows);
	char(*seen)[PROJ_EMAIL_BYTES_MAX + 1] = malloc(c->n_collaborators * sizeof *seen);
	if (!gr || !rows || !seen) {
		free(seen);
		return LEDGER_ERR_NOMEM;
	}
	ledger__api__grant_reply__init(gr);
	gr->results = rows;
	Ledger__State__Firm *firm = NULL;
	err = proj_firm_get(em->p, txn, c->firm_id, &firm);
	for (size_t i = 0; !err && i < c->n_collaborators; i++) {
		char *who = seen[i];
		const char *why;
		char message[160];
		Ledger__Api__GrantResult__Status status = LEDGER__API__GRANT_RESULT__STATUS__GRANTED;
		Ledger__State__Account *acc = NULL;
		who[0] = '\0';
		if (!proj_email_normalise(c->collaborators[i], who, &why)) {
			status = LEDGER__API__GRANT_RESULT__STATUS__INVALID_ADDRESS;
			snprintf(message, sizeof message, "invalid address: %s", why);
			snprintf(who, PROJ_EMAIL_BYTES_MAX + 1, "%s", c->collaborators[i]);
			proj_utf8_repair(who); /* shown as given, but a reply's strings must be UTF-8 */
		} else if (strcmp(who, firm->ec_email) == 0) {
			status = LEDGER__API__GRANT_RESULT__STATUS__IS_FIRM_EC;
			snprintf(message, sizeof message, "the EC of firm %s holds every right in it", c->firm_id);
		} else {
			for (size_t j = 0; j < i; j++)
				if (strcmp(seen[j], who) == 0)
					status = LEDGER__API__GRANT_RESULT__STATUS__DUPLICATE;
			if (status == LEDGER__API__GRANT_RESULT__STATUS__DUPLICATE) {
				snprintf(message, sizeof message, "duplicate of an earlier row");
			} else if ((err = proj_account_get(em->p, txn, who, &acc)) == LEDGER_END) {
				err = LEDGER_OK;
				status = LEDGER__API__GRANT_RESULT__STATUS__NO_ACCOUNT;
				snprintf(message, sizeof message, "no account: the collaborator must create one first");
			} else if (!err) {
				ledger__state__account__free_unpacked(acc, NULL);
				err = grant_one(em, c, who, mask, date, expires_at_us);
				snprintf(message, sizeof message, "granted until %s", date);
			}
		}
		uint32_t row = i < c->n_rows ? c->rows[i] : (uint32_t)(i + 1);
		if (!err && !(rows[gr->n_results++] = grant_row(em, who, row, status, message)))
			err = LEDGER_ERR_NOMEM;
	}
	if (firm)
		ledger__state__firm__free_unpacked(firm, NULL);
	free(seen);
	em->reply->result_case = LEDGER__API__REPLY__RESULT_GRANT;
	em->reply->grant = gr;
	return err;
}

static ledger_err delegation_revoke(emitter *em, const Ledger__Api__DelegationRevoke *c)
{
	MDB_txn *txn = ledger_txn_mdb(em->t);
	ledger_err err;
	if (!require_firm_ec(em, c->firm_id, txn, &err))
		return err;
	char who[PROJ_EMAIL_BYTES_MAX + 1];
	const char *why;
	if (!proj_email_normalise(c->collaborator, who, &why)) {
		proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "collaborator",
		           "collaborator \"%.64s\": %s", c->collaborator, why);
		return LEDGER_OK;
	}
	unsigned mask = rights_mask(em, c->n_rights, c->rights, true);
	if (!mask)
		return LEDGER_OK;
	Ledger__Api__RevokeReply *rr = proj_arena_alloc(em->arena, sizeof *rr);
	if (!rr)
		return LEDGER_ERR_NOMEM;
	ledger__api__revoke_reply__init(rr);
	for (Ledger__Events__Right r = LEDGER__EVENTS__RIGHT__RIGHT_SIGN; r <= LEDGER__EVENTS__RIGHT__RIGHT_PREPARE;
	     r++) {
		Ledger__State__Delegation *d;
		if (!(mask & proj_right_bit_of(r)) ||
		    proj_delegation_get(em->p, txn, c->firm_id, who, r, &d) != LEDGER_OK)
			continue;
		ledger__state__delegation__free_unpacked(d, NULL);
		Ledger__Events__DelegationRevoked e = LEDGER__EVENTS__DELEGATION_REVOKED__INIT;
		e.firm_id = c->firm_id;
		e.collaborator = who;
		e.right = r;
		Ledger__Events__Event ev = PROJ_EVENT(DELEGATION_REVOKED, delegation_revoked, &e);
		if ((err = emit(em, c->firm_id, &ev)))
			return err;
		rr->revoked++;
	}
	if (rr->revoked == 0) {
		proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__NOT_FOUND, "collaborator",
		           "%s holds none of those rights in firm %s", who, c->firm_id);
		return LEDGER_OK;
	}
	em->reply->result_case = LEDGER__API__REPLY__RESULT_REVOKE;
	em->reply->revoke = rr;
	return LEDGER_OK;
}

ledger_err proj_execute(proj *p, ledger_txn *t, const proj_actor *actor, const char *request_id,
                        const Ledger__Api__Request *req, Ledger__Api__Reply *reply, proj_arena *arena)
{
	return proj_execute_issued(p, t, actor, request_id, req, NULL, reply, arena);
}

ledger_err proj_execute_issued(proj *p, ledger_txn *t, const proj_actor *actor, const char *request_id,
                               const Ledger__Api__Request *req, const proj_issued *issued, Ledger__Api__Reply *reply,
                               proj_arena *arena)
{
	LEDGER_ASSERT(proj_is_command(req));
	emitter em = {p, t, actor, request_id, reply, arena};
	switch (req->body_case) {
	case LEDGER__API__REQUEST__BODY_ACCOUNT_ADD: return account_add(&em, req->account_add);
	case LEDGER__API__REQUEST__BODY_FIRM_ADD: return firm_add(&em, req->firm_add, issued);
	case LEDGER__API__REQUEST__BODY_DELEGATION_GRANT: return delegation_grant(&em, req->delegation_grant);
	case LEDGER__API__REQUEST__BODY_DELEGATION_REVOKE: return delegation_revoke(&em, req->delegation_revoke);
	case LEDGER__API__REQUEST__BODY_REGISTRATION_RECORD: {
		uint64_t seq = 0;
		uint8_t hash[LEDGER_HASH_BYTES];
		ledger_err err = proj_decide_registration(p, t, actor, request_id, req->registration_record, issued,
		                                          reply, arena, &seq, hash);
		return set_last(&em, err, seq, hash);
	}
	case LEDGER__API__REQUEST__BODY_SUBJECT_ERASE: {
		uint64_t seq = 0;
		uint8_t hash[LEDGER_HASH_BYTES];
		ledger_err err =
		    proj_decide_erasure(p, t, actor, request_id, req->subject_erase, reply, arena, &seq, hash);
		return set_last(&em, err, seq, hash);
	}
	case LEDGER__API__REQUEST__BODY_CERTIFICATE_REVOKE:
		return proj_decide_certificate_revoke(&em, req->certificate_revoke);
	case LEDGER__API__REQUEST__BODY_SEAL_ISSUE: return proj_decide_seal_issue(&em, req->seal_issue, issued);
	case LEDGER__API__REQUEST__BODY_FIRM_SIREN_SET: return proj_decide_firm_siren(&em, req->firm_siren_set);
	default:
		if (proj_is_collection_command(req))
			return proj_decide_collection(&em, req, NULL);
		if (proj_is_platform_command(req))
			return proj_decide_platform(&em, req);
		return LEDGER_ERR_INVALID;
	}
}

ledger_err proj_execute_upload(proj *p, ledger_txn *t, const proj_actor *actor, const char *request_id,
                               const Ledger__Api__Request *req, const proj_upload *upload, Ledger__Api__Reply *reply,
                               proj_arena *arena)
{
	LEDGER_ASSERT(req->body_case == LEDGER__API__REQUEST__BODY_DOCUMENT_ADD);
	emitter em = {p, t, actor, request_id, reply, arena};
	return proj_decide_collection(&em, req, upload);
}

/*
 * rights.c: the rights matrix of the guide (docs/rights.md, docs/design.md §4), and the check
 * that applies it to the delegations projection. The table below is the law of the system:
 * tests/unit/rights_test.c checks it cell by cell against the guide.
 */
#include "read_model.h"

#include <stdio.h>
#include <string.h>

#define ALL     (PROJ_RIGHT_SIGN | PROJ_RIGHT_LAUNCH | PROJ_RIGHT_SEAL | PROJ_RIGHT_PREPARE)
#define EC_ONLY 0u

static const struct action {
	const char *name;
	unsigned rights; /* any of these rights grants the action; EC_ONLY: none does */
} actions[] = {
    {"platform.stats", EC_ONLY},
    {"platform.credit", EC_ONLY},
    {"platform.firm_settings", EC_ONLY},
    {"platform.dashboard", ALL},
    {"platform.contacts_export", ALL},
    {"platform.alerts", ALL},
    {"signature.configure", ALL},
    {"signature.modify", ALL},
    {"signature.add_signers", ALL},
    {"signature.remind", ALL},
    {"signature.cancel", PROJ_RIGHT_SIGN | PROJ_RIGHT_LAUNCH},
    {"signature.send", PROJ_RIGHT_SIGN | PROJ_RIGHT_LAUNCH},
    {"signature.classify", ALL},
    {"signature.sign", PROJ_RIGHT_SIGN},
    {"seal.configure", ALL},
    {"seal.modify", ALL},
    {"seal.classify", ALL},
    {"seal.seal", PROJ_RIGHT_SIGN | PROJ_RIGHT_SEAL},
    /* The preparer's path to sending: ask the EC, who approves or rejects. */
    {"signature.request_approval", ALL},
    {"signature.approve", EC_ONLY},
    {"signature.reject", EC_ONLY},
};

#define ACTION_COUNT (sizeof actions / sizeof actions[0])

int proj_action_find(const char *name)
{
	for (size_t i = 0; i < ACTION_COUNT; i++)
		if (strcmp(actions[i].name, name) == 0)
			return (int)i;
	return -1;
}

size_t proj_action_count(void)
{
	return ACTION_COUNT;
}

const char *proj_action_name(size_t index)
{
	LEDGER_ASSERT(index < ACTION_COUNT);
	return actions[index].name;
}

unsigned proj_action_rights(size_t index)
{
	LEDGER_ASSERT(index < ACTION_COUNT);
	return actions[index].rights;
}

static const char *const right_names[] = {NULL, "sign", "launch", "seal", "prepare"};

const char *proj_right_name(Ledger__Events__Right right)
{
	if ((int)right <= 0 || (size_t)right >= sizeof right_names / sizeof right_names[0])
		return NULL;
	return right_names[right];
}

Ledger__Events__Right proj_right_parse(const char *name)
{
	for (size_t i = 1; i < sizeof right_names / sizeof right_names[0]; i++)
		if (strcmp(right_names[i], name) == 0)
			return (Ledger__Events__Right)i;
	return LEDGER__EVENTS__RIGHT__RIGHT_UNSPECIFIED;
}

unsigned proj_right_bit_of(Ledger__Events__Right right)
{
	return proj_right_name(right) ? 1u << ((unsigned)right - 1) : 0;
}

proj_can_result proj_can(proj *p, MDB_txn *txn, const char *firm_id, const char *who, size_t action_index,
                         int64_t now_us, char *reason, size_t reason_bytes)
{
	LEDGER_ASSERT(action_index < ACTION_COUNT);
	const struct action *a = &actions[action_index];
	Ledger__State__Firm *firm = NULL;
	ledger_err err = proj_firm_get(p, txn, firm_id, &firm);
	if (err == LEDGER_END) {
		snprintf(reason, reason_bytes, "unknown firm %s", firm_id);
		return PROJ_CAN_NO_FIRM;
	}
	if (err) {
		snprintf(reason, reason_bytes, "cannot read firm %s: %s", firm_id, ledger_strerror(err));
		return PROJ_CAN_ERROR;
	}
	bool is_ec = strcmp(firm->ec_email, who) == 0;
	ledger__state__firm__free_unpacked(firm, NULL);
	/* Registration (information, identity, subscription, terms, a valid certificate) comes
	 * before any signature, for the EC as for a collaborator holding `sign`. */
	if (strcmp(a->name, "signature.sign") == 0 &&
	    (is_ec || proj_delegation_live(p, txn, firm_id, who, PROJ_RIGHT_SIGN, now_us, NULL)) &&
	    !proj_registration_complete(p, txn, who, now_us, reason, reason_bytes))
		return PROJ_CAN_DENIED;
	if (is_ec) {
		snprintf(reason, reason_bytes, "EC of firm %s", firm_id);
		return PROJ_CAN_ALLOWED;
	}
	if (a->rights == EC_ONLY) {
		snprintf(reason, reason_bytes, "%s is reserved to the EC of firm %s", a->name, firm_id);
		return PROJ_CAN_DENIED;
	}
	for (Ledger__Events__Right r = LEDGER__EVENTS__RIGHT__RIGHT_SIGN; r <= LEDGER__EVENTS__RIGHT__RIGHT_PREPARE;
	     r++) {
		unsigned bit = proj_right_bit_of(r);
		char until[11];
		if ((a->rights & bit) && proj_delegation_live(p, txn, firm_id, who, bit, now_us, until)) {
			snprintf(reason, reason_bytes, "delegation %s in firm %s, valid through %s", proj_right_name(r),
			         firm_id, until);
			return PROJ_CAN_ALLOWED;
		}
	}
	char expired[11];
	unsigned held = proj_delegations_held(p, txn, firm_id, who, now_us, expired);
	if (held == 0 && expired[0])
		snprintf(reason, reason_bytes, "delegation in firm %s expired on %s", firm_id, expired);
	else if (held == 0)
		snprintf(reason, reason_bytes, "no delegation in firm %s", firm_id);
	else {
		char names[40] = "";
		for (Ledger__Events__Right r = LEDGER__EVENTS__RIGHT__RIGHT_SIGN;
		     r <= LEDGER__EVENTS__RIGHT__RIGHT_PREPARE; r++)
			if (a->rights & proj_right_bit_of(r))
				snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
				         names[0] ? ", " : "", proj_right_name(r));
		snprintf(reason, reason_bytes, "%s needs one of the rights %s in firm %s", a->name, names, firm_id);
	}
	return PROJ_CAN_DENIED;
}

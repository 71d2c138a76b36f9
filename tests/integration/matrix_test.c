/*
 * matrix_test: the guide's rights table over RPC, cell by cell. Five roles in firm F1 — its
 * EC and four collaborators holding one right each — ask `can` for each of the 21 actions
 * about themselves; the answers must be the guide's (signature.sign once the signer and the
 * EC are registered). Then firms are isolated (nothing in F2, another EC nothing in F1), and a
 * revoked right stops counting until it is granted again.
 */
#include "../check.h"
#include "harness.h"
#include "projections.h"
#include "rights_guide.h"

#include <sodium.h>
#include <string.h>

static harness h;
static fixture_sender to_ledgerd;

static const char *const people[] = {"signer@f1.fr", "launcher@f1.fr", "sealer@f1.fr", "preparer@f1.fr"};
static const Ledger__Events__Right rights[] = {LEDGER__EVENTS__RIGHT__RIGHT_SIGN, LEDGER__EVENTS__RIGHT__RIGHT_LAUNCH,
                                               LEDGER__EVENTS__RIGHT__RIGHT_SEAL, LEDGER__EVENTS__RIGHT__RIGHT_PREPARE};

static int account(const char *email, bool ec)
{
	return fixture_account(&to_ledgerd, email, "Someone", ec);
}

static int grant(const char *who, Ledger__Events__Right right)
{
	return fixture_grant(&to_ledgerd, "ec@f1.fr", "F1", who, right, "2027-12-31");
}

static void register_fully(const char *who)
{
	for (int step = 1; step <= 5; step++)
		CHECK(fixture_registration_step(&to_ledgerd, who, (Ledger__Events__RegistrationStep)step) == 0,
		      "registration step %d of %s", step, who);
}

/* 1 allowed, 0 denied, -1 error. */
static int can(const char *who, const char *firm_id, const char *action)
{
	return harness_can(&h, who, firm_id, NULL, action, NULL, 0);
}

static void test_every_cell(void)
{
	int cells = 0;
	for (size_t row = 0; row < RIGHTS_GUIDE_ROWS; row++) {
		const rights_guide_row *c = &rights_guide[row];
		CHECK(can("ec@f1.fr", "F1", c->action) == 1, "EC: %s", c->action);
		cells++;
		for (int col = 0; col < 4; col++, cells++) {
			int expected = c->rights[0] != 'E' && c->rights[col] == 'x';
			int got = can(people[col], "F1", c->action);
			CHECK(got == expected, "%s with right %s: expected %s, got %d", c->action,
			      proj_right_name(rights[col]), expected ? "allowed" : "denied", got);
			CHECK(can(people[col], "F2", c->action) == 0, "%s: nothing in F2 (%s)", people[col], c->action);
		}
		CHECK(can("ec@f2.fr", "F1", c->action) == 0, "F2's EC has nothing in F1 (%s)", c->action);
	}
	CHECK(cells == 105, "21 actions x 5 roles checked (%d)", cells);
}

static void test_revoke_and_renew(void)
{
	CHECK(fixture_revoke(&to_ledgerd, "ec@f1.fr", "F1", "preparer@f1.fr") == 0, "revoke");
	CHECK(can("preparer@f1.fr", "F1", "signature.configure") == 0, "revoked: denied");
	CHECK(grant("preparer@f1.fr", LEDGER__EVENTS__RIGHT__RIGHT_PREPARE) == 0, "grant again");
	CHECK(can("preparer@f1.fr", "F1", "signature.configure") == 1, "granted again: allowed");
	CHECK(can("preparer@f1.fr", "F1", "signature.send") == 0, "and still no launch");
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2, "usage: matrix_test BIN_DIR");
	REQUIRE(sodium_init() >= 0, "sodium");
	REQUIRE(harness_init(&h, argv[1], "2026-11-29T10:00:00Z"), "init");
	REQUIRE(harness_start(&h, NULL), "start");
	to_ledgerd = harness_sender(&h);
	CHECK(account("ec@f1.fr", true) == 0 && account("ec@f2.fr", true) == 0, "ECs");
	CHECK(fixture_firm(&to_ledgerd, "F1", "Firm", "ec@f1.fr") == 0 &&
	          fixture_firm(&to_ledgerd, "F2", "Firm", "ec@f2.fr") == 0,
	      "firms");
	for (int i = 0; i < 4; i++) {
		CHECK(account(people[i], false) == 0, "account %s", people[i]);
		CHECK(grant(people[i], rights[i]) == 0, "grant %s", people[i]);
	}
	/* signature.sign also needs a registration: give it to the signer and the EC only. */
	register_fully("signer@f1.fr");
	register_fully("ec@f1.fr");
	register_fully("sealer@f1.fr"); /* registered, but seal does not sign */
	test_every_cell();
	test_revoke_and_renew();
	CHECK(harness_stop(&h) == 0, "clean stop");
	harness_cleanup(&h);
	return check_report("matrix_test");
}

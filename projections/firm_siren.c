/*
 * firm_siren.c: FirmSirenSet, the SIREN of a firm created before firms had one (FirmAdd.siren).
 * A seal certificate's organizationIdentifier is "NTRFR-<SIREN>" (ETSI EN 319 412-1), and a
 * firm without a SIREN is refused a new seal (SealIssue) until this command gives it one. Once
 * only: a firm's SIREN is who it is, and certificates issued under it would no longer say who
 * sealed if it could change (a wrong one is a matter for the platform's operators and a new firm).
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

ledger_err proj_decide_firm_siren(proj_emitter *em, const Ledger__Api__FirmSirenSet *c)
{
	if (!em->actor->platform)
		return proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__PERMISSION_DENIED, NULL,
		                  "a firm's SIREN is set by the platform role; %s does not have it",
		                  em->actor->subject),
		       LEDGER_OK;
	proj_siren_status status = proj_siren_check(c->siren);
	if (status != PROJ_SIREN_OK)
		return proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "siren",
		                  "siren \"%.32s\": %s", c->siren, proj_siren_strerror(status)),
		       LEDGER_OK;
	Ledger__State__Firm *f = NULL;
	ledger_err err =
	    proj_firm_id_valid(c->firm_id) ? proj_firm_get(em->p, ledger_txn_mdb(em->t), c->firm_id, &f) : LEDGER_END;
	if (err == LEDGER_END)
		return proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__NOT_FOUND, "firm_id", "no firm %.64s",
		                  c->firm_id),
		       LEDGER_OK;
	if (err)
		return err;
	char current[PROJ_SIREN_DIGITS + 1];
	snprintf(current, sizeof current, "%s", f->siren);
	ledger__state__firm__free_unpacked(f, NULL);
	if (current[0])
		return proj_error(em->reply, em->arena, LEDGER__API__ERROR_CODE__FAILED_PRECONDITION, "siren",
		                  "firm %s has SIREN %s already: a firm's SIREN does not change", c->firm_id, current),
		       LEDGER_OK;
	Ledger__Events__FirmSirenRecorded e = LEDGER__EVENTS__FIRM_SIREN_RECORDED__INIT;
	e.firm_id = c->firm_id;
	e.siren = c->siren;
	Ledger__Events__Event ev = PROJ_EVENT(FIRM_SIREN_RECORDED, firm_siren_recorded, &e);
	return proj_emitter_emit(em, c->firm_id, &ev);
}

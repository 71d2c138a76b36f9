/*
 * registration.c: the steps before any signature (the guide's "Enregistrement"): their names
 * and their folds. The personal data they carry is personal_data.c's; the commands are
 * registration_commands.c's.
 */
#include "read_model.h"

#include <string.h>

static const char *const step_names[] = {
    NULL, "information_confirmed", "identity_verified", "subscription_accepted", "terms_accepted", "certificate_issued",
};

const char *proj_step_name(Ledger__Events__RegistrationStep step)
{
	return (int)step > 0 && (size_t)step < sizeof step_names / sizeof step_names[0] ? step_names[step] : NULL;
}

Ledger__Events__RegistrationStep proj_step_parse(const char *name)
{
	for (size_t i = 1; i < sizeof step_names / sizeof step_names[0]; i++)
		if (strcmp(step_names[i], name) == 0)
			return (Ledger__Events__RegistrationStep)i;
	return LEDGER__EVENTS__REGISTRATION_STEP__STEP_UNSPECIFIED;
}

/* ----- folds ----- */

/* Writes r as the subject's registration, then frees old (whose strings r may share). */
static ledger_err put_registration(proj *p, proj_kv *kv, const Ledger__State__Registration *r,
                                   Ledger__State__Registration *old)
{
	ledger_err err = proj_kv_put_msg(kv, p->registrations, r->subject, strlen(r->subject), &r->base);
	if (old)
		ledger__state__registration__free_unpacked(old, NULL);
	return err;
}

/* The subject's registration as it stands (empty if none) into *r, for a fold to change and
 * put_registration to write; *old is what r shares strings with. */
static ledger_err registration_to_change(proj *p, proj_kv *kv, char *subject, Ledger__State__Registration *r,
                                         Ledger__State__Registration **old)
{
	*old = NULL;
	ledger_err err = proj_registration_get_kv(p, kv, subject, old);
	if (err && err != LEDGER_END)
		return err;
	*r = (Ledger__State__Registration)LEDGER__STATE__REGISTRATION__INIT;
	if (*old)
		*r = **old;
	r->subject = subject;
	return LEDGER_OK;
}

ledger_err proj_fold_registration(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__RegistrationRecorded *e)
{
	Ledger__State__Registration r, *old;
	ledger_err err = registration_to_change(p, kv, e->subject, &r, &old);
	if (err)
		return err;
	r.steps |= 1u << ((unsigned)e->step - 1);
	if (e->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_TERMS_ACCEPTED) {
		r.terms_version = e->terms_version;
		r.rgpd_version = e->rgpd_version;
	}
	if (e->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_CERTIFICATE_ISSUED) {
		r.certificate_serial = e->certificate_serial;
		r.certificate_not_after = e->certificate_not_after;
		r.certificate_sha256 = e->certificate_sha256;
	}
	if (e->step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED) {
		r.erased = false; /* new personal data, under a new key */
		r.identity_seq = seq;
	}
	r.last_seq = seq;
	return put_registration(p, kv, &r, old);
}

ledger_err proj_fold_erasure(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__SubjectErased *e)
{
	if (!e->subject[0])
		return LEDGER_OK; /* an external signer's erasure: no registration, nothing folded */
	Ledger__State__Registration r, *old;
	ledger_err err = registration_to_change(p, kv, e->subject, &r, &old);
	if (err)
		return err;
	r.erased = true;
	r.last_seq = seq;
	return put_registration(p, kv, &r, old);
}

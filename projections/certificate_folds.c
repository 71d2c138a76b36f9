/*
 * certificate_folds.c: the folds of the certificates and keys ledgerd records (KeyCreated,
 * CertificateRevoked, KeyDestroyed; docs/signer.md#certificates) into the certificates table,
 * by serial. The revoked set the CA's CRL and OCSP responder state is this table's revoked
 * rows: folded from the log, so a replay gives it back exactly.
 */
#include "read_model.h"

#include <string.h>

ledger_err proj_certificate_get_kv(proj *p, proj_kv *kv, const char *serial, Ledger__State__Certificate **out)
{
	return proj_kv_get_msg(kv, p->certificates, serial, strlen(serial), &ledger__state__certificate__descriptor,
	                       (ProtobufCMessage **)out);
}

static ledger_err put_certificate(proj *p, proj_kv *kv, const Ledger__State__Certificate *c)
{
	return proj_kv_put_msg(kv, p->certificates, c->serial, strlen(c->serial), &c->base);
}

/* A seal's certificate becomes the firm's (replacing a revoked one). */
static ledger_err firm_seal(proj *p, proj_kv *kv, const char *firm_id, char *serial)
{
	Ledger__State__Firm *f = NULL;
	ledger_err err = proj_kv_get_msg(kv, p->firms, firm_id, strlen(firm_id), &ledger__state__firm__descriptor,
	                                 (ProtobufCMessage **)&f);
	if (err)
		return err == LEDGER_END ? LEDGER_ERR_CORRUPT : err; /* decided only for an existing firm */
	char *unpacked = f->seal_serial;                             /* the firm's earlier seal, freed with f */
	f->seal_serial = serial; /* borrowed until the put; the free below must not free it */
	err = proj_kv_put_msg(kv, p->firms, firm_id, strlen(firm_id), &f->base);
	f->seal_serial = unpacked;
	ledger__state__firm__free_unpacked(f, NULL);
	return err;
}

ledger_err proj_fold_key_created(proj *p, proj_kv *kv, const Ledger__Events__KeyCreated *e)
{
	if (!e->certificate_serial[0])
		return LEDGER_OK; /* the CA's units: nothing to look up by serial */
	Ledger__State__Certificate c = LEDGER__STATE__CERTIFICATE__INIT;
	c.serial = e->certificate_serial;
	c.owner = e->owner;
	c.kind = (uint32_t)e->kind;
	c.sha256 = e->certificate_sha256;
	c.not_after = e->certificate_not_after;
	ledger_err err = put_certificate(p, kv, &c);
	if (!err && e->kind == LEDGER__EVENTS__KEY_KIND__KEY_SEAL)
		err = firm_seal(p, kv, e->owner, e->certificate_serial);
	return err;
}

/* Marks the certificate of serial as change() says; one the table does not hold is left alone
 * (a one-shot key destroyed is recorded, not looked up). */
static ledger_err certificate_change(proj *p, proj_kv *kv, const char *serial,
                                     void (*change)(Ledger__State__Certificate *c, const void *ctx), const void *ctx)
{
	Ledger__State__Certificate *c = NULL;
	ledger_err err = proj_certificate_get_kv(p, kv, serial, &c);
	if (err == LEDGER_END)
		return LEDGER_OK;
	if (err)
		return err;
	change(c, ctx);
	err = put_certificate(p, kv, c);
	ledger__state__certificate__free_unpacked(c, NULL);
	return err;
}

static void mark_destroyed(Ledger__State__Certificate *c, const void *ctx)
{
	(void)ctx;
	c->destroyed = true;
}

ledger_err proj_fold_key_destroyed(proj *p, proj_kv *kv, const Ledger__Events__KeyDestroyed *e)
{
	return e->certificate_serial[0] ? certificate_change(p, kv, e->certificate_serial, mark_destroyed, NULL)
	                                : LEDGER_OK;
}

typedef struct revocation {
	int64_t at_us;
	uint32_t reason_code;
} revocation;

static void mark_revoked(Ledger__State__Certificate *c, const void *ctx)
{
	const revocation *r = ctx;
	if (c->revoked)
		return; /* the first revocation stands */
	c->revoked = true;
	c->revoked_at_us = r->at_us;
	c->reason_code = r->reason_code;
}

ledger_err proj_fold_certificate_revoked(proj *p, proj_kv *kv, int64_t at_us,
                                         const Ledger__Events__CertificateRevoked *e)
{
	revocation r = {at_us, e->reason_code};
	return certificate_change(p, kv, e->serial, mark_revoked, &r);
}

/*
 * level.c: a signature at a PAdES baseline level (ETSI EN 319 142-1), built on the CA's own
 * services: what each level adds to B-B (docs/signer.md, "Levels").
 */
#include "internal.h"

#include <stdlib.h>

signer_err signer_pades_sign_at_level(const signer_ca *ca, const signer_credential *credential, signer_level level,
                                      const uint8_t *pdf, size_t pdf_bytes, const signer_sign_options *o, uint8_t **out,
                                      size_t *out_bytes)
{
	if (out)
		*out = NULL;
	if (out_bytes)
		*out_bytes = 0;
	if (!ca || !credential || !o || !out || !out_bytes)
		return signer_fail(SIGNER_ERR_INVALID, "signer_pades_sign_at_level: a NULL argument");
	if (level < SIGNER_LEVEL_B_B || level > SIGNER_LEVEL_B_LTA)
		return signer_fail(SIGNER_ERR_INVALID, "signature level %d is not B-B (1) to B-LTA (4)", (int)level);
	char serial[SIGNER_SERIAL_HEX_BYTES];
	signer_credential_serial(credential, serial);
	if (signer_ca_is_revoked(ca, serial)) /* a revoked certificate never signs again */
		return signer_fail(SIGNER_ERR_REVOKED, "certificate %s is revoked", serial);
	bool long_term = level >= SIGNER_LEVEL_B_LT;
	uint8_t *crl = NULL, *issuer_crl = NULL, *ocsp[2] = {NULL, NULL};
	size_t crl_bytes = 0, issuer_crl_bytes = 0, ocsp_bytes[2] = {0, 0};
	signer_err err = SIGNER_OK;
	/* B-LT: the root's CRL and the signer's CA's as of the signing time, and the responder's
	 * answers for the signer's certificate and the TSA's, with the certificates, in the /DSS. */
	if (long_term)
		err = signer_ca_crl(ca, o->signing_time_s, &crl, &crl_bytes);
	if (!err && long_term)
		err = signer_credential_crl(ca, credential, o->signing_time_s, &issuer_crl, &issuer_crl_bytes);
	if (!err && long_term)
		err = signer_ca_ocsp(ca, credential, o->signing_time_s, &ocsp[0], &ocsp_bytes[0]);
	bool own_tsa = !credential->tsa_remote;
	if (!err && long_term && own_tsa)
		err = signer_ca_ocsp(ca, NULL, o->signing_time_s, &ocsp[1], &ocsp_bytes[1]);
	/* An external authority's CRLs, where its certificates say: when none can be had, the /DSS
	 * holds its certificates only (ledgerd says so at start, signer_tsa_remote_crls). */
	signer_tsa_crls tsa_crls = {0};
	if (!err && long_term && !own_tsa)
		(void)signer_tsa_remote_crls(credential->tsa_remote, &tsa_crls);
	const uint8_t *const ocsps[2] = {ocsp[0], ocsp[1]};
	signer_sign_options at = *o;
	at.timestamp = level >= SIGNER_LEVEL_B_T; /* B-T: the CA's time-stamping unit */
	at.crl_der = crl;
	at.crl_der_bytes = crl_bytes;
	at.issuer_crl_der = issuer_crl;
	at.issuer_crl_der_bytes = issuer_crl_bytes;
	at.ocsp_der = ocsps;
	at.ocsp_der_bytes = ocsp_bytes;
	at.ocsp_count = long_term ? (own_tsa ? 2 : 1) : 0;
	at.tsa_crls = &tsa_crls;
	at.document_timestamp = level >= SIGNER_LEVEL_B_LTA; /* B-LTA: a document time-stamp last */
	if (!err)
		err = signer_pades_sign(pdf, pdf_bytes, credential, &at, out, out_bytes);
	signer_tsa_crls_free(&tsa_crls);
	free(crl);
	free(issuer_crl);
	free(ocsp[0]);
	free(ocsp[1]);
	return err;
}

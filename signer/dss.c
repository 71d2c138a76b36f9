/*
 * dss.c: the document security store (ETSI EN 319 142-1 5.4), the validation data a PAdES B-LT
 * document carries so that a validator needs nothing online: the catalog's /DSS with /Certs,
 * /CRLs and /OCSPs (DER streams), and /VRI, one dictionary per signature or document
 * time-stamp saying which of those streams validate it.
 *
 * Each update adds to the /DSS an earlier update made; nothing is removed, so the signatures
 * before it keep covering exactly what they covered. A certificate already in /Certs is
 * referenced again rather than stored twice (the CA's and the TSA's come with every signature).
 *
 * Which signatures get a /VRI entry in an update: the CAdES signature just made (every item of
 * the update validates it: its certificate, the TSA's of its signature time-stamp, the CA's,
 * the CRL and the OCSP answers), and every document time-stamp that has none yet, with the
 * items that validate the time-stamping unit's chain. A document time-stamp's entry thus comes
 * with the next update after it: the next signer's, or the archive renewal's (archive.c).
 */
#include "internal.h"

#include <assert.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(SIGNER_VRI_KEY_BYTES == 2u * SHA_DIGEST_LENGTH + 1u, "a /VRI key is a hex SHA-1");
/* Signature fields looked at, and streams compared when looking for a certificate already there:
 * a document of ours has a few; the bound keeps a hostile one from costing more. */
#define DSS_FIELDS_MAX  10000
#define DSS_COMPARE_MAX 1000

/* The length of the DER value at the start of p (a /Contents string, zero-padded after it):
 * 0 if it is not a SEQUENCE whose encoded length fits in n. */
static size_t der_length(const uint8_t *p, size_t n)
{
	if (n < 2 || p[0] != 0x30)
		return 0;
	if (p[1] < 0x80)
		return (size_t)p[1] + 2 <= n ? (size_t)p[1] + 2 : 0;
	size_t octets = p[1] & 0x7fu;
	if (octets == 0 || octets > 4 || n < 2 + octets)
		return 0;
	size_t length = 0;
	for (size_t i = 0; i < octets; i++)
		length = length << 8 | p[2 + i];
	return length <= n - 2 - octets ? length + 2 + octets : 0;
}

void signer_vri_key(const uint8_t *cms, size_t cms_bytes, char key[SIGNER_VRI_KEY_BYTES])
{
	uint8_t digest[SHA_DIGEST_LENGTH];
	SHA1(cms, cms_bytes, digest);
	for (size_t i = 0; i < sizeof digest; i++)
		snprintf(key + 2 * i, 3, "%02X", digest[i]);
}

/* The /VRI key of signature dictionary v: false if its /Contents holds no DER value. */
static bool vri_key(fz_context *ctx, pdf_obj *v, char key[SIGNER_VRI_KEY_BYTES])
{
	size_t n = 0;
	const uint8_t *contents = (const uint8_t *)pdf_to_string(ctx, pdf_dict_get(ctx, v, PDF_NAME(Contents)), &n);
	size_t cms_bytes = der_length(contents, n);
	if (!cms_bytes)
		return false;
	signer_vri_key(contents, cms_bytes, key);
	return true;
}

static bool is_document_timestamp(fz_context *ctx, pdf_obj *v)
{
	return strcmp(pdf_to_name(ctx, pdf_dict_get(ctx, v, PDF_NAME(SubFilter))), "ETSI.RFC3161") == 0;
}

/* Where a signature's byte range ends: the later the signature, the further. */
static int64_t byte_range_end(fz_context *ctx, pdf_obj *v)
{
	pdf_obj *range = pdf_dict_get(ctx, v, PDF_NAME(ByteRange));
	return pdf_to_int64(ctx, pdf_array_get(ctx, range, 2)) + pdf_to_int64(ctx, pdf_array_get(ctx, range, 3));
}

pdf_obj *signer_dss_last_timestamp(fz_context *ctx, pdf_document *doc)
{
	pdf_obj *fields = pdf_dict_getp(ctx, pdf_trailer(ctx, doc), "Root/AcroForm/Fields");
	pdf_obj *last = NULL;
	int64_t last_end = -1;
	int count = pdf_array_len(ctx, fields);
	for (int i = 0; i < count && i < DSS_FIELDS_MAX; i++) {
		pdf_obj *v = pdf_dict_get(ctx, pdf_array_get(ctx, fields, i), PDF_NAME(V));
		if (pdf_is_dict(ctx, v) && is_document_timestamp(ctx, v) && byte_range_end(ctx, v) > last_end) {
			last = v;
			last_end = byte_range_end(ctx, v);
		}
	}
	return last;
}

/* parent's entry key, a dictionary or an array, made (indirect when asked) if absent. */
static pdf_obj *container_in(fz_context *ctx, pdf_document *doc, pdf_obj *parent, const char *key, bool array,
                             bool indirect)
{
	pdf_obj *found = pdf_dict_gets(ctx, parent, key);
	if (array ? pdf_is_array(ctx, found) : pdf_is_dict(ctx, found))
		return found;
	pdf_obj *made = array      ? pdf_new_array(ctx, doc, 4)
	                : indirect ? pdf_add_new_dict(ctx, doc, 4)
	                           : pdf_new_dict(ctx, doc, 4);
	pdf_dict_puts_drop(ctx, parent, key, made);
	return made;
}

/* An uncompressed stream object holding bytes; returns its indirect reference (the caller's). */
static pdf_obj *add_bytes_stream(fz_context *ctx, pdf_document *doc, const uint8_t *bytes, size_t n)
{
	fz_buffer *buf = fz_new_buffer_from_copied_data(ctx, bytes, n);
	pdf_obj *ref = NULL;
	fz_try(ctx) ref = pdf_add_stream(ctx, doc, buf, NULL, 0);
	fz_always(ctx) fz_drop_buffer(ctx, buf);
	fz_catch(ctx) fz_rethrow(ctx);
	return ref;
}

/* The stream of list holding exactly der (borrowed), or NULL. */
static pdf_obj *find_stream(fz_context *ctx, pdf_obj *list, const uint8_t *der, size_t n)
{
	int count = pdf_array_len(ctx, list);
	for (int i = 0; i < count && i < DSS_COMPARE_MAX; i++) {
		pdf_obj *ref = pdf_array_get(ctx, list, i);
		if (!pdf_is_stream(ctx, ref))
			continue;
		fz_buffer *buf = pdf_load_raw_stream(ctx, ref);
		unsigned char *data = NULL;
		size_t bytes = fz_buffer_storage(ctx, buf, &data);
		bool same = bytes == n && memcmp(data, der, n) == 0;
		fz_drop_buffer(ctx, buf);
		if (same)
			return ref;
	}
	return NULL;
}

/* The /VRI entry named key, unless there is one: references to the items (those
 * for_timestamps only, when asked) by their streams in added, and /TU. */
static void add_vri(fz_context *ctx, pdf_document *doc, pdf_obj *vri, const char *key, const signer_dss_update *u,
                    pdf_obj *added, bool timestamps_only)
{
	if (pdf_dict_gets(ctx, vri, key))
		return;
	static const char *const names[] = {
	    [SIGNER_DSS_CERT] = "Cert", [SIGNER_DSS_CRL] = "CRL", [SIGNER_DSS_OCSP] = "OCSP"};
	pdf_obj *entry = pdf_new_dict(ctx, doc, 4);
	fz_try(ctx)
	{
		for (size_t i = 0; i < u->item_count; i++)
			if (!timestamps_only || u->items[i].for_timestamps)
				pdf_array_push(ctx, container_in(ctx, doc, entry, names[u->items[i].kind], true, false),
				               pdf_array_get(ctx, added, (int)i));
		pdf_dict_put_date(ctx, entry, PDF_NAME(TU), u->time_s);
		pdf_dict_puts(ctx, vri, key, entry);
	}
	fz_always(ctx) pdf_drop_obj(ctx, entry);
	fz_catch(ctx) fz_rethrow(ctx);
}

/* u's changes to doc: the items in the /DSS lists (their streams pushed on added, in order),
 * then the /VRI entries. Throws. */
static void dss_update(fz_context *ctx, pdf_document *doc, const signer_dss_update *u, pdf_obj *added)
{
	static const char *const lists[] = {
	    [SIGNER_DSS_CERT] = "Certs", [SIGNER_DSS_CRL] = "CRLs", [SIGNER_DSS_OCSP] = "OCSPs"};
	pdf_obj *root = pdf_dict_get(ctx, pdf_trailer(ctx, doc), PDF_NAME(Root));
	/* mupdf 1.21 has no predefined names for these: looked up by string. */
	pdf_obj *dss = container_in(ctx, doc, root, "DSS", false, true);
	for (size_t i = 0; i < u->item_count; i++) {
		const signer_dss_item *item = &u->items[i];
		pdf_obj *list = container_in(ctx, doc, dss, lists[item->kind], true, false);
		pdf_obj *there =
		    item->kind == SIGNER_DSS_CERT ? find_stream(ctx, list, item->der, item->der_bytes) : NULL;
		if (there) {
			pdf_array_push(ctx, added, there);
			continue;
		}
		pdf_obj *ref = add_bytes_stream(ctx, doc, item->der, item->der_bytes);
		fz_try(ctx)
		{
			pdf_array_push(ctx, list, ref);
			pdf_array_push(ctx, added, ref);
		}
		fz_always(ctx) pdf_drop_obj(ctx, ref);
		fz_catch(ctx) fz_rethrow(ctx);
	}
	pdf_obj *vri = container_in(ctx, doc, dss, "VRI", false, false);
	pdf_obj *fields = pdf_dict_getp(ctx, root, "AcroForm/Fields");
	int count = pdf_array_len(ctx, fields);
	for (int i = 0; i < count && i < DSS_FIELDS_MAX; i++) {
		pdf_obj *v = pdf_dict_get(ctx, pdf_array_get(ctx, fields, i), PDF_NAME(V));
		/* the new signature is known without reading it, and is no document time-stamp */
		if (u->signature && pdf_is_indirect(ctx, v) && pdf_to_num(ctx, v) == u->signature->value_num)
			continue;
		char key[SIGNER_VRI_KEY_BYTES];
		if (pdf_is_dict(ctx, v) && is_document_timestamp(ctx, v) && vri_key(ctx, v, key))
			add_vri(ctx, doc, vri, key, u, added, true);
	}
	if (u->signature)
		add_vri(ctx, doc, vri, u->signature->vri_key, u, added, false);
}

void signer_dss_apply(fz_context *ctx, pdf_document *doc, const signer_dss_update *u)
{
	assert(u->item_count <= SIGNER_DSS_ITEMS_MAX);
	pdf_obj *added = pdf_new_array(ctx, doc, (int)u->item_count);
	fz_try(ctx) dss_update(ctx, doc, u, added);
	fz_always(ctx) pdf_drop_obj(ctx, added);
	fz_catch(ctx) fz_rethrow(ctx);
}

signer_err signer_dss_add(signer_fz *fz, const signer_dss_update *u, signer_document *d)
{
	fz_context *ctx = fz->ctx;
	pdf_document *doc = NULL;
	signer_err err = signer_document_open(fz, d, &doc);
	if (err)
		return err;
	fz_try(ctx) signer_dss_apply(ctx, doc, u);
	fz_catch(ctx) err = signer_fz_caught(fz, SIGNER_ERR_PDF_WRITE, "adding the document security store");
	size_t update_start = 0;
	if (!err)
		err = signer_document_append(fz, d, doc, &update_start);
	pdf_drop_document(ctx, doc);
	return err;
}

/* Appends x's DER to out. */
static bool push_certificate(X509 *x, bool for_timestamps, signer_dss_items *out)
{
	if (!x)
		return true;
	if (out->count >= SIGNER_DSS_ITEMS_MAX)
		return false;
	uint8_t *der = NULL;
	int bytes = i2d_X509(x, &der);
	if (bytes <= 0)
		return false;
	out->certificates[out->count] = der;
	out->items[out->count++] = (signer_dss_item){SIGNER_DSS_CERT, der, (size_t)bytes, for_timestamps};
	return true;
}

static bool push(signer_dss_items *out, signer_dss_kind kind, const uint8_t *der, size_t der_bytes, bool for_timestamps)
{
	if (out->count >= SIGNER_DSS_ITEMS_MAX)
		return false;
	out->items[out->count++] = (signer_dss_item){kind, der, der_bytes, for_timestamps};
	return true;
}

signer_err signer_dss_items_for_signature(const signer_credential *credential, const signer_sign_options *o,
                                          signer_dss_items *out)
{
	memset(out, 0, sizeof *out);
	/* The CA's certificate and CRL validate the time-stamps too when the unit is the CA's own. */
	bool own_tsa = !credential->tsa_remote;
	bool ok = push_certificate(credential->certificate, false, out);
	X509 *tsa;
	for (size_t i = 0; ok && (tsa = signer_tsa_dss_certificate(credential, i)) != NULL; i++)
		ok = push_certificate(tsa, true, out);
	/* the signer's issuing CA (when it is not the TSA's or the root), then the root */
	X509 *issuer = credential->ca_certificate, *root = credential->root_certificate;
	X509 *tsa_issuer = own_tsa ? credential->tsa_ca_certificate : NULL;
	if (ok && issuer && X509_cmp(issuer, root) != 0 && (!tsa_issuer || X509_cmp(issuer, tsa_issuer) != 0))
		ok = push_certificate(issuer, false, out);
	ok = ok && push_certificate(root, own_tsa, out);
	if (ok && o->crl_der) /* the root's: its issuing CAs are not revoked */
		ok = push(out, SIGNER_DSS_CRL, o->crl_der, o->crl_der_bytes, own_tsa);
	if (ok && o->issuer_crl_der) /* the signer's CA's */
		ok = push(out, SIGNER_DSS_CRL, o->issuer_crl_der, o->issuer_crl_der_bytes, false);
	for (size_t i = 0; ok && o->tsa_crls && i < o->tsa_crls->count; i++) /* an external authority's */
		ok = push(out, SIGNER_DSS_CRL, o->tsa_crls->der[i], o->tsa_crls->der_bytes[i], true);
	for (size_t i = 0; ok && i < o->ocsp_count;
	     i++) /* the second answer is the TSA's (signer_pades_sign_at_level) */
		ok = push(out, SIGNER_DSS_OCSP, o->ocsp_der[i], o->ocsp_der_bytes[i], i == 1);
	if (ok)
		return SIGNER_OK;
	signer_dss_items_free(out);
	return signer_fail(SIGNER_ERR_TOO_LARGE, "more than %u items of validation data for one /DSS update",
	                   SIGNER_DSS_ITEMS_MAX);
}

void signer_dss_items_free(signer_dss_items *items)
{
	for (size_t i = 0; i < items->count; i++)
		OPENSSL_free(items->certificates[i]);
	memset(items, 0, sizeof *items);
}

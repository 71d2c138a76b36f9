/*
 * pades.c: appending a PAdES signature to a PDF.
 *
 * mupdf does the PDF side: the signature field and its widget, the appearance, the signature
 * dictionary, the incremental update, the /ByteRange. When it writes the document it asks its
 * pdf_pkcs7_signer (ours, below) for the bytes of /Contents, handing it a stream of the byte
 * range; cms.c makes them.
 *
 * We write the signature dictionary ourselves rather than through pdf_sign_signature(): mupdf
 * 1.21's reads the clock, and writes /SubFilter /adbe.pkcs7.detached with a FieldMDP
 * /Reference and a /Lock on the field, none of which PAdES wants; and a dictionary changed
 * after mupdf has recorded the signature would be written again in a second update.
 */
#include "internal.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HASH_CHUNK_BYTES 16384u
#define FIELD_NAME_BYTES 32u
/* Signature<n>: n is tried from 1 up to this. */
#define FIELD_NUMBER_MAX      10000
#define APPEARANCE_TEXT_BYTES 1024u
#define COMMON_NAME_BYTES     (4u * SIGNER_DN_CHARS_MAX + 1u)
/* Year 9999, the last a PDF date can say. */
#define TIME_S_MAX 253402300799

/* ----- our pdf_pkcs7_signer ----- */

typedef struct pades_signer {
	pdf_pkcs7_signer base; /* first: mupdf hands us &base */
	int refs;              /* mupdf keeps one while the signature is unsaved */
	const signer_credential *credential;
	int64_t timestamp_s;     /* B-T: the signature time-stamp's time; -1: B-B */
	bool document_timestamp; /* B-LTA: /Contents is a time-stamp token over the byte range, not a CMS signature */
	char common_name[COMMON_NAME_BYTES];
	signer_err err; /* why create_digest failed: mupdf only learns "no digest" */
	char why[SIGNER_ERROR_BYTES_MAX];
} pades_signer;

static pdf_pkcs7_signer *pades_keep(fz_context *ctx, pdf_pkcs7_signer *base)
{
	(void)ctx;
	((pades_signer *)base)->refs++;
	return base;
}

static void pades_drop(fz_context *ctx, pdf_pkcs7_signer *base)
{
	(void)ctx;
	pades_signer *s = (pades_signer *)base;
	if (s && --s->refs == 0)
		free(s);
}

static pdf_pkcs7_distinguished_name *pades_name(fz_context *ctx, pdf_pkcs7_signer *base)
{
	pdf_pkcs7_distinguished_name *dn = fz_malloc_struct(ctx, pdf_pkcs7_distinguished_name);
	fz_try(ctx)
	{
		dn->cn = fz_strdup(ctx, ((pades_signer *)base)->common_name);
	}
	fz_catch(ctx)
	{
		fz_free(ctx, dn);
		fz_rethrow(ctx);
	}
	return dn;
}

static size_t pades_max_digest(fz_context *ctx, pdf_pkcs7_signer *base)
{
	(void)ctx, (void)base;
	return SIGNER_CMS_BYTES_MAX;
}

/* SHA-256 of what mupdf streams: the document minus /Contents. Throws if reading fails. */
static bool hash_stream(fz_context *ctx, fz_stream *in, uint8_t digest[SIGNER_SHA256_BYTES])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md)
		return false;
	unsigned char chunk[HASH_CHUNK_BYTES];
	int ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	fz_var(ok);
	fz_try(ctx)
	{
		size_t n;
		while (ok && (n = fz_read(ctx, in, chunk, sizeof chunk)) > 0)
			ok = EVP_DigestUpdate(md, chunk, n);
	}
	fz_catch(ctx)
	{
		EVP_MD_CTX_free(md);
		fz_rethrow(ctx);
	}
	ok = ok && EVP_DigestFinal_ex(md, digest, NULL);
	EVP_MD_CTX_free(md);
	return ok;
}

/* Returns the CMS length, or 0 (mupdf then fails the write) with the reason kept in s. */
static int pades_digest(fz_context *ctx, pdf_pkcs7_signer *base, fz_stream *in, unsigned char *out, size_t out_bytes)
{
	pades_signer *s = (pades_signer *)base;
	uint8_t digest[SIGNER_SHA256_BYTES], *der = NULL;
	size_t der_bytes = 0;
	signer_err err;
	if (!hash_stream(ctx, in, digest))
		err = signer_fail_openssl(SIGNER_ERR_CRYPTO, "SHA-256");
	else if (s->document_timestamp) /* B-LTA: the time-stamp token is the /Contents */
		err = signer_tsa_token(s->credential, digest, s->timestamp_s, &der, &der_bytes);
	else
		err = signer_cms_sign(s->credential, digest, s->timestamp_s, &der, &der_bytes);
	if (!err && der_bytes > out_bytes)
		err = signer_fail(SIGNER_ERR_TOO_LARGE, "the CMS takes %zu bytes, more than SIGNER_CMS_BYTES_MAX",
		                  der_bytes);
	if (err) {
		s->err = err;
		snprintf(s->why, sizeof s->why, "%s", signer_last_error());
		OPENSSL_free(der);
		return 0;
	}
	memcpy(out, der, der_bytes);
	OPENSSL_free(der);
	return (int)der_bytes;
}

/* The certificate's CN as UTF-8 ("" if it has none). */
static void common_name(X509 *certificate, char *out, size_t out_bytes)
{
	out[0] = '\0';
	X509_NAME *name = X509_get_subject_name(certificate);
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	int bytes = i < 0 ? -1 : ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (bytes > 0)
		snprintf(out, out_bytes, "%.*s", bytes, (const char *)utf8);
	OPENSSL_free(utf8);
}

static pades_signer *pades_signer_new(const signer_credential *credential, int64_t timestamp_s)
{
	pades_signer *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->base = (pdf_pkcs7_signer){pades_keep, pades_drop, pades_name, pades_max_digest, pades_digest};
	s->refs = 1;
	s->credential = credential;
	s->timestamp_s = timestamp_s;
	common_name(credential->certificate, s->common_name, sizeof s->common_name);
	return s;
}

/* ----- the output: a growable buffer mupdf can seek in and read back ----- */

/*
 * mupdf 1.21's buffer output cannot seek, and its writer seeks back to fill /ByteRange and
 * /Contents, reading the written bytes to hash them. This output keeps the document in one
 * malloc'd block that becomes the caller's. mupdf never writes while a stream from
 * as_stream() is open, so the stream may point into the block.
 */
typedef struct memory_output {
	signer_fz *fz;
	uint8_t *data;
	size_t bytes;    /* the end of what is written */
	size_t capacity; /* of data */
	size_t position; /* where the next write goes */
	size_t bytes_max;
} memory_output;

static void memory_write(fz_context *ctx, void *state, const void *data, size_t n)
{
	memory_output *m = state;
	if (n > m->bytes_max - m->position)
		signer_fz_limit(m->fz, "the signed document would grow by more than SIGNER_SIGNATURE_GROWTH_BYTES_MAX");
	if (m->position + n > m->capacity) {
		size_t capacity = m->capacity ? m->capacity : 65536;
		while (capacity < m->position + n)
			capacity *= 2;
		capacity = capacity < m->bytes_max ? capacity : m->bytes_max;
		uint8_t *grown = realloc(m->data, capacity);
		if (!grown)
			fz_throw(ctx, FZ_ERROR_MEMORY, "cannot grow the output to %zu bytes", capacity);
		m->data = grown;
		m->capacity = capacity;
	}
	memcpy(m->data + m->position, data, n);
	m->position += n;
	m->bytes = m->position > m->bytes ? m->position : m->bytes;
}

static void memory_seek(fz_context *ctx, void *state, int64_t offset, int whence)
{
	memory_output *m = state;
	int64_t base = whence == SEEK_CUR ? (int64_t)m->position : whence == SEEK_END ? (int64_t)m->bytes : 0;
	if (offset < -base || offset > (int64_t)m->bytes - base)
		fz_throw(ctx, FZ_ERROR_GENERIC, "seek outside the written document");
	m->position = (size_t)(base + offset);
}

static int64_t memory_tell(fz_context *ctx, void *state)
{
	(void)ctx;
	return (int64_t)((memory_output *)state)->position;
}

static fz_stream *memory_as_stream(fz_context *ctx, void *state)
{
	memory_output *m = state;
	return fz_open_memory(ctx, m->data, m->bytes);
}

static void memory_truncate(fz_context *ctx, void *state)
{
	(void)ctx;
	memory_output *m = state;
	m->bytes = m->position;
}

signer_err signer_pades_write_incremental(signer_fz *fz, pdf_document *doc, size_t input_bytes, uint8_t **out,
                                          size_t *out_bytes)
{
	fz_context *ctx = fz->ctx;
	memory_output m = {.fz = fz, .bytes_max = input_bytes + SIGNER_SIGNATURE_GROWTH_BYTES_MAX};
	pdf_write_options options = pdf_default_write_options;
	options.do_incremental = 1;
	fz_output *output = NULL;
	fz_var(output);
	fz->write_failed = true;
	fz_try(ctx)
	{
		output = fz_new_output(ctx, 0, &m, memory_write, NULL, NULL);
		output->seek = memory_seek;
		output->tell = memory_tell;
		output->as_stream = memory_as_stream;
		output->truncate = memory_truncate;
		pdf_write_document(ctx, doc, output, &options);
		fz_close_output(ctx, output);
	}
	fz_always(ctx)
	{
		fz_drop_output(ctx, output);
	}
	fz_catch(ctx)
	{
		free(m.data);
		return signer_fz_caught(fz, SIGNER_ERR_PDF_WRITE, "writing the signed document");
	}
	fz->write_failed = false;
	*out = m.data;
	*out_bytes = m.bytes;
	return SIGNER_OK;
}

/* ----- the signature field ----- */

static bool text_present(const char *s)
{
	return s && s[0];
}

/* The visible text, laid out by mupdf: the name on the left, the details on the right. */
static fz_display_list *appearance_new(fz_context *ctx, pdf_annot *widget, const signer_sign_options *o,
                                       const char *name, signer_kind kind)
{
	char text[APPEARANCE_TEXT_BYTES], when[64] = "", day[32] = "";
	/* The time as the reader lives it: local (o->utc_offset_s, e.g. Paris) with its offset. */
	time_t t = (time_t)(o->signing_time_s + o->utc_offset_s);
	struct tm tm;
	if (gmtime_r(&t, &tm) && strftime(day, sizeof day, "%d/%m/%Y %H:%M:%S", &tm))
		snprintf(when, sizeof when, "%s (UTC%c%02d:%02d)", day, o->utc_offset_s < 0 ? '-' : '+',
		         abs(o->utc_offset_s) / 3600, abs(o->utc_offset_s) % 3600 / 60);
	snprintf(text, sizeof text, "%s %s\n%s%s%s%s%s%sDate : %s",
	         kind == SIGNER_KIND_SEAL ? "Cacheté électroniquement par" : "Signé électroniquement par", name,
	         text_present(o->reason) ? "Motif : " : "", text_present(o->reason) ? o->reason : "",
	         text_present(o->reason) ? "\n" : "", text_present(o->location) ? "Lieu : " : "",
	         text_present(o->location) ? o->location : "", text_present(o->location) ? "\n" : "", when);
	return pdf_signature_appearance_signed(ctx, pdf_annot_rect(ctx, widget), pdf_annot_language(ctx, widget), NULL,
	                                       name, text, 0);
}

/* "Signature<n>" for the first n no field of the document has. Throws when none is free. */
static void field_name(fz_context *ctx, pdf_document *doc, char name[FIELD_NAME_BYTES])
{
	pdf_obj *fields = pdf_dict_getp(ctx, pdf_trailer(ctx, doc), "Root/AcroForm/Fields");
	for (int n = 1; n <= FIELD_NUMBER_MAX; n++) {
		snprintf(name, FIELD_NAME_BYTES, "Signature%d", n);
		if (!fields || !pdf_lookup_field(ctx, fields, name))
			return;
	}
	fz_throw(ctx, FZ_ERROR_GENERIC, "no free signature field name up to Signature%d", FIELD_NUMBER_MAX);
}

/* SignaturesExist | AppendOnly (PDF 32000-1 table 219): viewers must save incrementally. */
#define SIG_FLAGS 3

/*
 * Writes the signature dictionary /V of field, then hands the field to mupdf as an unsaved
 * signature: when the document is written, mupdf fills /ByteRange and asks s for /Contents.
 * It must be the last change to the document: mupdf opens a new incremental section for any
 * change made after a signature is stored, and the dictionary would be written twice.
 */
static void sign_field(fz_context *ctx, pdf_document *doc, pdf_obj *field, pades_signer *s,
                       const signer_sign_options *o, const char *name)
{
	pdf_obj *form = pdf_dict_getp(ctx, pdf_trailer(ctx, doc), "Root/AcroForm");
	pdf_dict_put_int(ctx, form, PDF_NAME(SigFlags), pdf_dict_get_int(ctx, form, PDF_NAME(SigFlags)) | SIG_FLAGS);
	int num = pdf_create_object(ctx, doc);
	pdf_obj *v = pdf_new_dict(ctx, doc, 12);
	char *zeros = NULL;
	fz_var(zeros);
	fz_try(ctx)
	{
		pdf_update_object(ctx, doc, num, v);
		pdf_dict_put_drop(ctx, field, PDF_NAME(V), pdf_new_indirect(ctx, doc, num, 0));
		/* /ByteRange, /Contents, /Filter first and in this order: mupdf's writer finds the
		 * place of the first two by looking for the three names. */
		pdf_dict_put_array(ctx, v, PDF_NAME(ByteRange), 4);
		zeros = fz_calloc(ctx, SIGNER_CMS_BYTES_MAX, 1);
		pdf_dict_put_string(ctx, v, PDF_NAME(Contents), zeros, SIGNER_CMS_BYTES_MAX);
		pdf_dict_put(ctx, v, PDF_NAME(Filter), PDF_NAME(Adobe_PPKLite));
		if (s->document_timestamp) {
			/* ETSI EN 319 142-1 5.5: a document time-stamp; its token carries the time, no /M. */
			pdf_dict_put_drop(ctx, v, PDF_NAME(SubFilter), pdf_new_name(ctx, "ETSI.RFC3161"));
			pdf_dict_put_drop(ctx, v, PDF_NAME(Type), pdf_new_name(ctx, "DocTimeStamp"));
		} else {
			pdf_dict_put_drop(ctx, v, PDF_NAME(SubFilter), pdf_new_name(ctx, "ETSI.CAdES.detached"));
			pdf_dict_put(ctx, v, PDF_NAME(Type), PDF_NAME(Sig));
			pdf_dict_put_date(ctx, v, PDF_NAME(M), o->signing_time_s);
			pdf_dict_put_text_string(ctx, v, PDF_NAME(Name), name);
			if (text_present(o->reason))
				pdf_dict_put_text_string(ctx, v, PDF_NAME(Reason), o->reason);
			if (text_present(o->location))
				pdf_dict_put_text_string(ctx, v, PDF_NAME(Location), o->location);
			if (text_present(o->contact))
				pdf_dict_put_text_string(ctx, v, PDF_NAME(ContactInfo), o->contact);
		}
		pdf_xref_store_unsaved_signature(ctx, doc, field, &s->base);
	}
	fz_always(ctx)
	{
		fz_free(ctx, zeros);
		pdf_drop_obj(ctx, v);
	}
	fz_catch(ctx)
	{
		fz_rethrow(ctx);
	}
}

/*
 * The appearance's /Matrix: viewers turn a widget with its page, so on a page with /Rotate the
 * appearance is turned back the other way to read upright, as the rectangle was given (in the
 * page as displayed).
 */
static fz_matrix upright(fz_context *ctx, pdf_page *page)
{
	int rotate = pdf_to_int(ctx, pdf_dict_get_inheritable(ctx, page->obj, PDF_NAME(Rotate)));
	rotate = ((rotate % 360) + 360) % 360;
	rotate = 90 * ((rotate + 45) / 90) % 360; /* as mupdf and viewers round it */
	return fz_rotate((float)rotate);
}

/* Adds the signature field on its page, with its appearance when visible, and signs it (the
 * CMS is made when the document is written). */
static signer_err add_signature(signer_fz *fz, pdf_document *doc, pades_signer *s, const signer_sign_options *o,
                                const char *name)
{
	fz_context *ctx = fz->ctx;
	pdf_page *page = NULL;
	pdf_annot *widget = NULL;
	fz_display_list *appearance = NULL;
	char field[FIELD_NAME_BYTES];
	fz_var(page);
	fz_var(widget);
	fz_var(appearance);
	fz_try(ctx)
	{
		page = pdf_load_page(ctx, doc, o->visible ? (int)o->visible->page_index : 0);
		field_name(ctx, doc, field);
		widget = pdf_create_signature_widget(ctx, page, field);
		pdf_obj *obj = pdf_annot_obj(ctx, widget);
		pdf_dict_del(ctx, obj, PDF_NAME(Lock)); /* locking other fields is not ours to decide */
		if (o->visible) {
			fz_rect box = pdf_bound_page(ctx, page);
			const signer_rect *r = o->visible;
			pdf_set_annot_rect(
			    ctx, widget, fz_make_rect(box.x0 + r->x0, box.y0 + r->y0, box.x0 + r->x1, box.y0 + r->y1));
			appearance = appearance_new(ctx, widget, o, name, s->credential->kind);
			pdf_set_annot_appearance_from_display_list(ctx, widget, "N", NULL, upright(ctx, page),
			                                           appearance);
		} else {
			pdf_dict_put_rect(ctx, obj, PDF_NAME(Rect), fz_make_rect(0, 0, 0, 0));
		}
		sign_field(ctx, doc, obj, s, o, name);
	}
	fz_always(ctx)
	{
		fz_drop_display_list(ctx, appearance);
		pdf_drop_annot(ctx, widget);
		fz_drop_page(ctx, page ? &page->super : NULL);
	}
	fz_catch(ctx)
	{
		return signer_fz_caught(fz, SIGNER_ERR_PDF_WRITE, "adding the signature field");
	}
	return SIGNER_OK;
}

static signer_err options_check(const signer_sign_options *o, const signer_credential *credential)
{
	if (o->signing_time_s < 0 || o->signing_time_s > TIME_S_MAX)
		return signer_fail(SIGNER_ERR_INVALID, "signing time %lld out of range", (long long)o->signing_time_s);
	const char *texts[] = {o->reason, o->location, o->contact, o->name};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		if (texts[i] && !signer_text_valid(texts[i], SIGNER_TEXT_BYTES_MAX))
			return signer_fail(SIGNER_ERR_INVALID,
			                   "a text option is over %u bytes, not UTF-8, or has a control character",
			                   SIGNER_TEXT_BYTES_MAX);
	if (o->signing_time_s < credential->not_before_s || o->signing_time_s > credential->not_after_s)
		return signer_fail(SIGNER_ERR_EXPIRED, "the certificate is valid from %lld to %lld, not at %lld",
		                   (long long)credential->not_before_s, (long long)credential->not_after_s,
		                   (long long)o->signing_time_s);
	return SIGNER_OK;
}

/* ----- B-LTA: the document time-stamp ----- */

/*
 * A third incremental update: an invisible field whose value is a /DocTimeStamp (SubFilter
 * ETSI.RFC3161) over everything before it, the signature and its /DSS included, by the CA's
 * time-stamping unit at the signing time (ETSI EN 319 142-1 5.5). What a re-time-stamping
 * renews later, before the TSA's certificate or SHA-256 weaken.
 */
signer_err signer_pades_add_document_timestamp(signer_fz *fz, const signer_credential *credential,
                                               const signer_sign_options *o, signer_pdf_info *info,
                                               uint8_t **signed_pdf, size_t *signed_bytes)
{
	pades_signer *t = pades_signer_new(credential, o->signing_time_s);
	if (!t)
		return signer_fail(SIGNER_ERR_NOMEM, "the document time-stamp");
	t->document_timestamp = true;
	signer_sign_options invisible = *o;
	invisible.visible = NULL;
	pdf_document *doc = NULL;
	uint8_t *out = NULL;
	size_t out_bytes = 0;
	signer_err err = signer_pdf_open_checked(fz, *signed_pdf, *signed_bytes, *signed_bytes, info, &doc);
	if (!err)
		err = add_signature(fz, doc, t, &invisible, "");
	if (!err)
		err = signer_pades_write_incremental(fz, doc, *signed_bytes, &out, &out_bytes);
	if (err && t->err)
		err = signer_fail(t->err, "%s", t->why);
	pdf_drop_document(fz->ctx, doc);
	pades_drop(fz->ctx, &t->base);
	if (err)
		return err;
	if (out_bytes <= *signed_bytes || memcmp(out, *signed_pdf, *signed_bytes) != 0) {
		free(out);
		return signer_fail(SIGNER_ERR_PDF_WRITE,
		                   "mupdf did not write the document time-stamp as an incremental update");
	}
	free(*signed_pdf);
	*signed_pdf = out;
	*signed_bytes = out_bytes;
	return SIGNER_OK;
}

/* Opens, checks, signs and writes, in one mupdf context. */
static signer_err sign_in_context(signer_fz *fz, const uint8_t *pdf, size_t pdf_bytes, pades_signer *s,
                                  const signer_sign_options *o, signer_pdf_info *info, uint8_t **out, size_t *out_bytes)
{
	const char *name = text_present(o->name) ? o->name : s->common_name;
	pdf_document *doc = NULL;
	signer_err err = signer_pdf_open_checked(
	    fz, pdf, pdf_bytes, o->pdf_bytes_max ? o->pdf_bytes_max : SIGNER_PDF_BYTES_MAX, info, &doc);
	if (!err && o->visible)
		err = signer_rect_check(info, o->visible);
	if (!err)
		err = add_signature(fz, doc, s, o, name);
	if (!err)
		err = signer_pades_write_incremental(fz, doc, pdf_bytes, out, out_bytes);
	if (err && s->err) /* the CMS failed: say why rather than mupdf's "no digest" */
		err = signer_fail(s->err, "%s", s->why);
	pdf_drop_document(fz->ctx, doc);
	if (!err && o->crl_der && o->crl_der_bytes)
		err = signer_dss_add_for_signature(fz, s->credential, o, out, out_bytes);
	if (!err && o->document_timestamp)
		err = signer_pades_add_document_timestamp(fz, s->credential, o, info, out, out_bytes);
	return err;
}

signer_err signer_pades_sign(const uint8_t *pdf, size_t pdf_bytes, const signer_credential *credential,
                             const signer_sign_options *o, uint8_t **out, size_t *out_bytes)
{
	if (!out || !out_bytes)
		return signer_fail(SIGNER_ERR_INVALID, "signer_pades_sign: NULL output");
	*out = NULL;
	*out_bytes = 0;
	if (!credential || !o || (!pdf && pdf_bytes > 0))
		return signer_fail(SIGNER_ERR_INVALID, "signer_pades_sign: NULL argument");
	signer_err err = options_check(o, credential);
	if (err)
		return err;
	signer_pdf_info *info = malloc(sizeof *info);
	pades_signer *s = pades_signer_new(credential, o->timestamp ? o->signing_time_s : -1);
	signer_fz fz = {0};
	err = info && s ? signer_fz_open(&fz, SIGNER_MUPDF_BYTES_MAX)
	                : signer_fail(SIGNER_ERR_NOMEM, "signer_pades_sign");
	if (!err)
		err = sign_in_context(&fz, pdf ? pdf : (const uint8_t *)"", pdf_bytes, s, o, info, out, out_bytes);
	pades_drop(fz.ctx, s ? &s->base : NULL);
	signer_fz_close(&fz);
	free(info);
	/* The promise to earlier signers: their bytes are a prefix of ours. */
	if (!err && (*out_bytes <= pdf_bytes || memcmp(*out, pdf, pdf_bytes) != 0))
		err = signer_fail(SIGNER_ERR_PDF_WRITE, "mupdf did not write an incremental update");
	if (err) {
		free(*out);
		*out = NULL;
		*out_bytes = 0;
	}
	return err;
}

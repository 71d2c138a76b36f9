/*
 * pades.c: appending a PAdES signature to a PDF.
 *
 * mupdf does the PDF side: the signature field and its widget, the appearance, the incremental
 * update. update.c appends the update to the document's buffer, then fills the signature's
 * /ByteRange and /Contents (cms.c makes the CMS, tsa.c a document time-stamp's token).
 *
 * We write the signature dictionary ourselves rather than through pdf_sign_signature(): mupdf
 * 1.21's reads the clock, and writes /SubFilter /adbe.pkcs7.detached with a FieldMDP
 * /Reference and a /Lock on the field, none of which PAdES wants. Nor do we hand it to mupdf as
 * an unsaved signature: its writer would hash the byte range through an fz_stream and write the
 * hex one fz_write_printf at a time, and it cannot carry a hash from one update to the next
 * (update.c says what that costs).
 */
#include "internal.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FIELD_NAME_BYTES 32u
/* Signature<n>: n is tried from 1 up to this. */
#define FIELD_NUMBER_MAX      10000
#define APPEARANCE_TEXT_BYTES 1024u
#define COMMON_NAME_BYTES     (4u * SIGNER_DN_CHARS_MAX + 1u)
/* Year 9999, the last a PDF date can say. */
#define TIME_S_MAX 253402300799

/* ----- what a signature's /Contents is made with ----- */

typedef struct pades_signer {
	const signer_credential *credential;
	int64_t timestamp_s;     /* B-T: the signature time-stamp's time; -1: B-B */
	bool document_timestamp; /* B-LTA: /Contents is a time-stamp token over the byte range, not a CMS signature */
	int value_num;           /* the object number of the signature dictionary, once sign_field made it */
	char common_name[COMMON_NAME_BYTES];
	signer_new_signature made; /* once the CMS is made: what the /DSS update names it by */
} pades_signer;

/* signer_contents_fn: the CMS, or the document time-stamp's token, for the byte range's digest. */
static signer_err pades_contents(void *state, const uint8_t digest[SIGNER_SHA256_BYTES], uint8_t **der,
                                 size_t *der_bytes)
{
	pades_signer *s = state;
	if (s->document_timestamp) /* B-LTA: the time-stamp token is the /Contents */
		return signer_tsa_token(s->credential, digest, s->timestamp_s, der, der_bytes);
	signer_err err = signer_cms_sign(s->credential, digest, s->timestamp_s, der, der_bytes);
	if (!err) {
		s->made.value_num = s->value_num;
		signer_vri_key(*der, *der_bytes, s->made.vri_key);
	}
	return err;
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

static void pades_signer_init(pades_signer *s, const signer_credential *credential, int64_t timestamp_s)
{
	*s = (pades_signer){.credential = credential, .timestamp_s = timestamp_s, .value_num = -1};
	common_name(credential->certificate, s->common_name, sizeof s->common_name);
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
 * Writes the signature dictionary /V of field, with a placeholder /ByteRange and /Contents that
 * signer_document_sign fills once the update is written; s->value_num is its object number.
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
		/* /ByteRange then /Contents first: signer_document_sign finds them so. */
		signer_document_placeholder(ctx, v);
		/* every byte of room is written as two hex digits by mupdf, one by one, and hashed */
		size_t room = s->document_timestamp && !s->credential->tsa_remote ? SIGNER_TIMESTAMP_BYTES_MAX
		                                                                  : SIGNER_CMS_BYTES_MAX;
		zeros = fz_calloc(ctx, room, 1);
		pdf_dict_put_string(ctx, v, PDF_NAME(Contents), zeros, room);
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
		s->value_num = num;
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

/*
 * An invisible signature's widget, made through mupdf's object API on page 1's object rather
 * than with pdf_create_signature_widget on a loaded page: loading a page synthesises an
 * appearance for every annotation without one (0.4 ms for an empty signature field), and the
 * update would then carry appearances for fields that are not ours to touch. What
 * pdf_create_signature_widget writes, less its /Lock and with an empty /Rect: a field that is
 * its own widget, on the page's /Annots and the AcroForm's /Fields. Returns the widget, owned
 * by the caller. Throws.
 */
static pdf_obj *invisible_widget_new(fz_context *ctx, pdf_document *doc, const char *field)
{
	pdf_obj *page = pdf_lookup_page_obj(ctx, doc, 0);
	pdf_obj *root = pdf_dict_get(ctx, pdf_trailer(ctx, doc), PDF_NAME(Root));
	pdf_obj *form = pdf_dict_get(ctx, root, PDF_NAME(AcroForm));
	if (!form)
		form = pdf_dict_put_dict(ctx, root, PDF_NAME(AcroForm), 1);
	pdf_obj *fields = pdf_dict_get(ctx, form, PDF_NAME(Fields));
	if (!fields)
		fields = pdf_dict_put_array(ctx, form, PDF_NAME(Fields), 1);
	pdf_obj *annots = pdf_dict_get(ctx, page, PDF_NAME(Annots));
	if (!annots)
		annots = pdf_dict_put_array(ctx, page, PDF_NAME(Annots), 1);
	pdf_obj *widget = pdf_add_new_dict(ctx, doc, 8);
	fz_try(ctx)
	{
		pdf_dict_put(ctx, widget, PDF_NAME(Type), PDF_NAME(Annot));
		pdf_dict_put(ctx, widget, PDF_NAME(Subtype), PDF_NAME(Widget));
		pdf_dict_put(ctx, widget, PDF_NAME(FT), PDF_NAME(Sig));
		pdf_dict_put_int(ctx, widget, PDF_NAME(F), PDF_ANNOT_IS_PRINT);
		pdf_dict_put_text_string(ctx, widget, PDF_NAME(T), field);
		pdf_dict_put_rect(ctx, widget, PDF_NAME(Rect), fz_make_rect(0, 0, 0, 0));
		pdf_dict_put(ctx, widget, PDF_NAME(P), page);
		pdf_array_push(ctx, annots, widget);
		pdf_array_push(ctx, fields, widget);
	}
	fz_catch(ctx)
	{
		pdf_drop_obj(ctx, widget);
		fz_rethrow(ctx);
	}
	return widget;
}

/* A visible signature's widget on its page, with the appearance mupdf lays out. Throws. */
static void add_visible_widget(fz_context *ctx, pdf_document *doc, pades_signer *s, const signer_sign_options *o,
                               const char *name, char *field)
{
	pdf_page *page = NULL;
	pdf_annot *widget = NULL;
	fz_display_list *appearance = NULL;
	fz_var(page);
	fz_var(widget);
	fz_var(appearance);
	fz_try(ctx)
	{
		page = pdf_load_page(ctx, doc, (int)o->visible->page_index);
		widget = pdf_create_signature_widget(ctx, page, field);
		pdf_obj *obj = pdf_annot_obj(ctx, widget);
		pdf_dict_del(ctx, obj, PDF_NAME(Lock)); /* locking other fields is not ours to decide */
		fz_rect box = pdf_bound_page(ctx, page);
		const signer_rect *r = o->visible;
		pdf_set_annot_rect(ctx, widget,
		                   fz_make_rect(box.x0 + r->x0, box.y0 + r->y0, box.x0 + r->x1, box.y0 + r->y1));
		appearance = appearance_new(ctx, widget, o, name, s->credential->kind);
		pdf_set_annot_appearance_from_display_list(ctx, widget, "N", NULL, upright(ctx, page), appearance);
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
		fz_rethrow(ctx);
	}
}

/* Adds the signature field, on its page with its appearance when visible, and signs it (the
 * CMS is made when the document is written). */
static signer_err add_signature(signer_fz *fz, pdf_document *doc, pades_signer *s, const signer_sign_options *o,
                                const char *name)
{
	fz_context *ctx = fz->ctx;
	pdf_obj *widget = NULL;
	char field[FIELD_NAME_BYTES];
	fz_var(widget);
	fz_try(ctx)
	{
		field_name(ctx, doc, field);
		if (o->visible) {
			add_visible_widget(ctx, doc, s, o, name, field);
		} else {
			widget = invisible_widget_new(ctx, doc, field);
			sign_field(ctx, doc, widget, s, o, name);
		}
	}
	fz_always(ctx)
	{
		pdf_drop_obj(ctx, widget);
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

/* ----- B-LT and B-LTA: the validation data and the document time-stamp ----- */

/*
 * A last incremental update: an invisible field whose value is a /DocTimeStamp (SubFilter
 * ETSI.RFC3161) over everything before it, by the CA's time-stamping unit at the signing time
 * (ETSI EN 319 142-1 5.5), and the /DSS additions when given. The time-stamp's byte range covers
 * the whole file but its own /Contents, so the validation data in the same update are covered
 * as they would be from an update before it. What an archive renewal renews later, before the
 * TSA's certificate or SHA-256 weaken.
 */
signer_err signer_pades_add_document_timestamp(signer_fz *fz, const signer_credential *credential,
                                               const signer_sign_options *o, const signer_dss_update *dss,
                                               signer_document *d)
{
	pades_signer t;
	pades_signer_init(&t, credential, o->signing_time_s);
	t.document_timestamp = true;
	signer_sign_options invisible = *o;
	invisible.visible = NULL;
	pdf_document *doc = NULL;
	size_t update_start = 0;
	/* checked when the call began, or written by it since */
	signer_err err = signer_document_open(fz, d, &doc);
	if (!err && dss) { /* first: the field below is no document time-stamp to give a /VRI entry yet */
		fz_try(fz->ctx) signer_dss_apply(fz->ctx, doc, dss);
		fz_catch(fz->ctx) err =
		    signer_fz_caught(fz, SIGNER_ERR_PDF_WRITE, "adding the document security store");
	}
	if (!err)
		err = add_signature(fz, doc, &t, &invisible, "");
	if (!err)
		err = signer_document_append(fz, d, doc, &update_start);
	pdf_drop_document(fz->ctx, doc);
	if (!err)
		err = signer_document_sign(d, update_start, t.value_num, pades_contents, &t);
	return err;
}

/* After the signature: B-LT's /DSS update, or with B-LTA the one update holding both. */
static signer_err add_levels(signer_fz *fz, const pades_signer *s, const signer_sign_options *o, signer_document *d)
{
	bool long_term = o->crl_der && o->crl_der_bytes;
	signer_dss_items items = {0};
	signer_err err = long_term ? signer_dss_items_for_signature(s->credential, o, &items) : SIGNER_OK;
	signer_dss_update dss = {items.items, items.count, &s->made, o->signing_time_s};
	if (!err && o->document_timestamp)
		err = signer_pades_add_document_timestamp(fz, s->credential, o, long_term ? &dss : NULL, d);
	else if (!err && long_term)
		err = signer_dss_add(fz, &dss, d);
	signer_dss_items_free(&items);
	return err;
}

/* Opens and checks pdf, signs it into d, and adds the levels' updates, in one mupdf context. */
static signer_err sign_in_context(signer_fz *fz, const uint8_t *pdf, size_t pdf_bytes, pades_signer *s,
                                  const signer_sign_options *o, signer_pdf_info *info, signer_document *d)
{
	const char *name = text_present(o->name) ? o->name : s->common_name;
	pdf_document *doc = NULL;
	size_t update_start = 0;
	signer_err err = signer_pdf_open_checked(
	    fz, pdf, pdf_bytes, o->pdf_bytes_max ? o->pdf_bytes_max : SIGNER_PDF_BYTES_MAX, info, &doc);
	if (!err && o->visible)
		err = signer_rect_check(info, o->visible);
	if (!err)
		err = add_signature(fz, doc, s, o, name);
	if (!err)
		err = signer_document_init(d, pdf, pdf_bytes);
	if (!err) /* mupdf copies pdf, which doc reads, into d, then appends */
		err = signer_document_append(fz, d, doc, &update_start);
	pdf_drop_document(fz->ctx, doc);
	if (!err)
		err = signer_document_sign(d, update_start, s->value_num, pades_contents, s);
	if (!err)
		err = add_levels(fz, s, o, d);
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
	pades_signer s;
	pades_signer_init(&s, credential, o->timestamp ? o->signing_time_s : -1);
	signer_document d = {0};
	signer_fz fz = {0};
	err = info ? signer_fz_open(&fz, SIGNER_MUPDF_BYTES_MAX) : signer_fail(SIGNER_ERR_NOMEM, "signer_pades_sign");
	if (!err)
		err = sign_in_context(&fz, pdf ? pdf : (const uint8_t *)"", pdf_bytes, &s, o, info, &d);
	signer_fz_close(&fz);
	free(info);
	/* The promise to earlier signers, that their bytes are a prefix of ours, is kept by d: the
	 * input is copied once and never written again (update.c). */
	if (err)
		signer_document_free(&d);
	else
		signer_document_take(&d, out, out_bytes);
	return err;
}

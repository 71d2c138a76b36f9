/*
 * certificate.c: the certificate of completion and the signers' attestations of an evidence
 * bundle (certificate.h, docs/evidence.md): French HTML from the collection's events, laid out
 * by mupdf (signer_pdf_from_html) and sealed by the platform at PAdES B-LTA; and their check.
 */
#include "certificate.h"

#include "audit.h"
#include "domain.h"
#include "tlog.h"

#include <limits.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ----- the facts ----- */

/* A name in the log (an event kind, a field) and what the documents call it. */
typedef struct french {
	const char *name, *label;
} french;

/* The French name of an event kind (audit_event_kind's names); NULL: the kind as recorded. */
static const char *label_of(const Ledger__Events__Event *ev, const char *kind)
{
	static const french labels[] = {
	    {"collection_created", "Collecte créée"},
	    {"collection_modified", "Collecte modifiée"},
	    {"document_added", "Document déposé"},
	    {"document_removed", "Document retiré"},
	    {"signer_added", "Signataire désigné"},
	    {"signer_removed", "Signataire retiré"},
	    {"field_set", "Emplacement de signature fixé"},
	    {"collection_transitioned", "Changement d'état de la collecte"},
	    {"reminder_sent", "Relance envoyée"},
	    {"collection_classified", "Collecte classée"},
	    {"credits_reserved", "Crédits réservés"},
	    {"credits_released", "Crédits libérés"},
	    {"signature_failed", "Échec de la signature"},
	    {"signature_retried", "Signature tentée à nouveau"},
	    {"document_timestamp_renewed", "Horodatage d'archivage renouvelé"},
	    {"access_denied", "Demande refusée"},
	    {"key_created", "Clé créée"},
	    {"key_destroyed", "Clé détruite"},
	    {"certificate_revoked", "Certificat révoqué"},
	};
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_SIGNED)
		return ev->document_signed->seal ? "Cachet apposé" : "Signature apposée";
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_ACTED) {
		switch (ev->signer_acted->action) {
		case LEDGER__EVENTS__SIGNER_ACTION__SIGNER_INVITED: return "Invitation envoyée";
		case LEDGER__EVENTS__SIGNER_ACTION__SIGNER_AUTHENTICATED: return "Signataire authentifié";
		case LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED: return "Consentement du signataire";
		case LEDGER__EVENTS__SIGNER_ACTION__SIGNER_DECLINED: return "Refus du signataire";
		case LEDGER__EVENTS__SIGNER_ACTION__SIGNER_SIGNED: return "Signature demandée par le signataire";
		default: return NULL;
		}
	}
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
		if (strcmp(labels[i].name, kind) == 0)
			return labels[i].label;
	return NULL;
}

/* The fields a line shows, with their French names, in this order. */
static const french detail_fields[] = {
    {"name", "nom"},
    {"filename", "fichier"},
    {"sha256", "SHA-256"},
    {"original_sha256", "SHA-256 d'origine"},
    {"signed_sha256", "SHA-256 signé"},
    {"level", "niveau"},
    {"certificate_subject", "certificat"},
    {"certificate_serial", "n° de série"},
    {"method", "méthode"},
    {"provider_reference", "référence"},
    {"masked_destination", "code envoyé à"},
    {"consent_text_version", "texte du consentement"},
    {"comment", "motif"},
    {"reason", "motif"},
    {"to", "nouvel état"},
};

/* Appends "label: value" for each detail field m has set. */
static void put_details(FILE *out, const ProtobufCMessage *m)
{
	const char *sep = "";
	for (size_t i = 0; i < sizeof detail_fields / sizeof detail_fields[0]; i++) {
		const ProtobufCFieldDescriptor *f =
		    protobuf_c_message_descriptor_get_field_by_name(m->descriptor, detail_fields[i].name);
		if (!f || f->label == PROTOBUF_C_LABEL_REPEATED)
			continue;
		const void *at = (const char *)m + f->offset;
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			const char *s = *(const char *const *)at;
			if (s && s[0])
				fprintf(out, "%s%s : %s", sep, detail_fields[i].label, s);
			else
				continue;
		} else if (f->type == PROTOBUF_C_TYPE_BYTES) {
			const ProtobufCBinaryData *b = at;
			if (b->len == 0)
				continue;
			fprintf(out, "%s%s : ", sep, detail_fields[i].label);
			/* in groups of 16 digits, so that a narrow column can wrap them */
			for (size_t k = 0; k < b->len; k++)
				fprintf(out, "%s%02x", k && k % 8 == 0 ? " " : "", b->data[k]);
		} else if (f->type == PROTOBUF_C_TYPE_ENUM) {
			const ProtobufCEnumValue *v =
			    protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)at);
			if (!v || *(const int *)at == 0)
				continue;
			fprintf(out, "%s%s : %s", sep, detail_fields[i].label, v->name);
		} else
			continue;
		sep = " ; ";
	}
}

/* The string field name of m, or "". */
static const char *string_field(const ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
	if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
		return "";
	const char *s = *(const char *const *)((const char *)m + f->offset);
	return s ? s : "";
}

void evidence_facts_add(evidence_facts *f, const Ledger__Events__Event *ev, const ProtobufCMessage *m)
{
	if (f->failed)
		return;
	if (f->count == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		evidence_line *lines = realloc(f->lines, cap * sizeof *lines);
		if (!lines) {
			f->failed = true;
			return;
		}
		f->lines = lines;
		f->cap = cap;
	}
	const char *kind = audit_event_kind(ev);
	const char *label = label_of(ev, kind);
	/* The signer an event is about: "signer" in most payloads; where one is added, "signer_id"
	 * (external) or "email" (internal). */
	const char *signer = string_field(m, "signer");
	if (!signer[0])
		signer = string_field(m, "signer_id"); /* an external signer added: named by their id */
	if (!signer[0])
		signer = string_field(m, "email");
	char *detail = NULL;
	size_t detail_bytes = 0;
	FILE *out = open_memstream(&detail, &detail_bytes);
	if (out) {
		put_details(out, m);
		fclose(out);
	}
	evidence_line *l = &f->lines[f->count];
	*l = (evidence_line){.at_us = ev->committed_at_us,
	                     .actor = strdup(ev->actor ? ev->actor : ""),
	                     .what = strdup(label ? label : kind),
	                     .signer = strdup(signer),
	                     .detail = detail};
	if (!out || !l->actor || !l->what || !l->signer || !l->detail) {
		free(l->actor);
		free(l->what);
		free(l->signer);
		free(l->detail);
		f->failed = true;
		return;
	}
	f->count++;
}

void evidence_facts_free(evidence_facts *f)
{
	for (size_t i = 0; i < f->count; i++) {
		free(f->lines[i].actor);
		free(f->lines[i].what);
		free(f->lines[i].signer);
		free(f->lines[i].detail);
	}
	free(f->lines);
	f->lines = NULL;
	f->count = f->cap = 0;
}

const char **evidence_signers(const evidence_facts *f, size_t *count)
{
	*count = 0;
	const char **out = calloc(f->count ? f->count : 1, sizeof *out);
	if (!out)
		return NULL;
	for (size_t i = 0; i < f->count; i++) {
		const evidence_line *l = &f->lines[i];
		if (strcmp(l->what, "Signataire désigné") != 0 || !l->signer[0])
			continue;
		bool seen = false;
		for (size_t k = 0; k < *count && !seen; k++)
			seen = strcmp(out[k], l->signer) == 0;
		if (!seen)
			out[(*count)++] = l->signer;
	}
	if (*count == 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* ----- the sealer ----- */

/* What a record says of the platform's seal: created (1), destroyed (-1), or nothing (0). */
static int seal_record(const ledger_record *rec, char serial[SIGNER_SERIAL_HEX_BYTES])
{
	Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, rec->event_bytes, rec->event);
	int says = 0;
	if (ev && ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_KEY_CREATED &&
	    ev->key_created->kind == LEDGER__EVENTS__KEY_KIND__KEY_PLATFORM_SEAL) {
		snprintf(serial, SIGNER_SERIAL_HEX_BYTES, "%s", ev->key_created->certificate_serial);
		says = 1;
	} else if (ev && ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_KEY_DESTROYED &&
	           ev->key_destroyed->kind == LEDGER__EVENTS__KEY_KIND__KEY_PLATFORM_SEAL) {
		snprintf(serial, SIGNER_SERIAL_HEX_BYTES, "%s", ev->key_destroyed->certificate_serial);
		says = -1;
	}
	ledger__events__event__free_unpacked(ev, NULL);
	return says;
}

bool evidence_seal_record_find(ledger *l, MDB_txn *txn, const char *serial, uint64_t *seq,
                               char serial_out[SIGNER_SERIAL_HEX_BYTES])
{
	*seq = 0;
	serial_out[0] = '\0';
	ledger_iter *it = NULL;
	ledger_record rec;
	if (ledger_iter_open(l, txn, 1, &it) != LEDGER_OK)
		return false;
	bool found = false;
	while (ledger_iter_next(it, &rec) == LEDGER_OK) {
		char named[SIGNER_SERIAL_HEX_BYTES];
		int says = seal_record(&rec, named);
		if (says == 1 && (!serial || strcasecmp(serial, named) == 0)) {
			*seq = rec.seq;
			snprintf(serial_out, SIGNER_SERIAL_HEX_BYTES, "%s", named);
			found = true;
			if (serial)
				break;
		} else if (says == -1 && found && strcmp(named, serial_out) == 0)
			found = false; /* the current one was destroyed */
	}
	ledger_iter_close(it);
	return found;
}

/* s->seal_serial's credential, opened from s->ca. */
static bool open_seal(evidence_sealer *s, char *why, size_t why_bytes)
{
	signer_err err = signer_credential_open(s->ca, s->seal_serial, s->now_s, &s->seal);
	if (err) {
		snprintf(why, why_bytes, "cannot open the platform's seal %s: %s: %s", s->seal_serial,
		         signer_strerror(err), signer_last_error());
		evidence_sealer_close(s);
		return false;
	}
	return true;
}

bool evidence_sealer_open(const char *dir, ledger *l, MDB_txn *txn, int64_t now_s, evidence_sealer *s, char *why,
                          size_t why_bytes)
{
	*s = (evidence_sealer){.now_s = now_s, .owns_ca = true};
	char keys[PATH_MAX];
	if ((size_t)snprintf(keys, sizeof keys, "%s/keys", dir) >= sizeof keys) {
		snprintf(why, why_bytes, "the data directory's path is too long");
		return false;
	}
	signer_err err = signer_ca_open(keys, &s->ca);
	if (!err) /* the tool writes no log: a key or certificate it made would be on no record */
		signer_ca_set_read_only(s->ca);
	if (!err)
		err = signer_tsa_enable(s->ca, keys, now_s);
	if (!err)
		err = signer_ocsp_enable(s->ca, keys, now_s);
	if (err) {
		snprintf(why, why_bytes, "cannot seal with the CA of %s: %s: %s", keys, signer_strerror(err),
		         signer_last_error());
		evidence_sealer_close(s);
		return false;
	}
	if (!evidence_seal_record_find(l, txn, NULL, &s->seal_seq, s->seal_serial)) {
		snprintf(why, why_bytes,
		         "the log records no platform seal (ledgerd issues and records it at its start)");
		evidence_sealer_close(s);
		return false;
	}
	return open_seal(s, why, why_bytes);
}

bool evidence_sealer_with(signer_ca *ca, const char *serial, uint64_t seq, int64_t now_s, evidence_sealer *s, char *why,
                          size_t why_bytes)
{
	*s = (evidence_sealer){.ca = ca, .seal_seq = seq, .now_s = now_s};
	if (!serial || !serial[0] || seq == 0) {
		snprintf(why, why_bytes, "this service has no platform seal on record");
		return false;
	}
	snprintf(s->seal_serial, sizeof s->seal_serial, "%s", serial);
	return open_seal(s, why, why_bytes);
}

void evidence_sealer_close(evidence_sealer *s)
{
	signer_credential_free(s->seal);
	if (s->owns_ca)
		signer_ca_free(s->ca);
	s->seal = NULL;
	s->ca = NULL;
}

/* ----- the documents ----- */

static void put_html(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default: fputc(*s, out);
		}
	}
}

static const char CSS[] = "body{font-family:sans-serif;font-size:9pt}"
                          "h1{font-size:16pt;margin-bottom:4pt}h2{font-size:11pt;margin-top:10pt}"
                          "p.e{margin:0 0 4pt 0}span.d{font-size:7pt;color:#333}p.h{font-size:8pt}";

/* Who an attestation names as the actor of a line: the signer, the platform, or the firm. */
static const char *attested_actor(const evidence_line *l, const char *signer)
{
	if (strcmp(l->actor, signer) == 0)
		return signer;
	if (strcmp(l->actor, "ledgerd") == 0 || strcmp(l->actor, "platform") == 0)
		return "la plateforme";
	return "le cabinet";
}

/* A signer as the documents show them: as events name them, and who that is when known. */
static void put_signer(FILE *out, const evidence_facts *f, const char *signer)
{
	char who[512];
	put_html(out, signer);
	if (f->identity && f->identity(f->identity_ctx, signer, who, sizeof who) && strcmp(who, signer) != 0) {
		fputs(" (", out);
		put_html(out, who);
		fputs(")", out);
	}
}

static void put_document_html(FILE *out, const evidence_facts *f, const char *signer)
{
	char made[AUDIT_PARIS_TIME_BYTES];
	audit_paris_time(f->made_at_us, "%d/%m/%Y %H:%M:%S", " ", made);
	fputs("<html><body><h1>", out);
	fputs(signer ? EVIDENCE_ATTESTATION_TITLE : EVIDENCE_CERTIFICATE_TITLE, out);
	fputs("</h1><p>Collecte <b>", out);
	put_html(out, f->collection);
	fputs("</b> du cabinet <b>", out);
	put_html(out, f->firm);
	fprintf(out, "</b>. Établi le %s par la plateforme " EVIDENCE_SEAL_NAME " et scellé par elle.</p>", made);
	if (signer) {
		fputs("<p>Signataire : <b>", out);
		put_signer(out, f, signer);
		fputs("</b></p><p>Cette attestation ne montre, du journal de la collecte, que ce qui concerne ce "
		      "signataire.</p>",
		      out);
	}
	fputs("<h2>Chronologie (heure de Paris)</h2>", out);
	for (size_t i = 0; i < f->count; i++) {
		const evidence_line *l = &f->lines[i];
		if (signer && strcmp(l->signer, signer) != 0)
			continue;
		char at[AUDIT_PARIS_TIME_BYTES];
		audit_paris_time(l->at_us, "%d/%m/%Y %H:%M:%S", " ", at);
		fprintf(out, "<p class=\"e\"><b>%s</b> : ", at);
		put_html(out, l->what);
		fputs(" ; par ", out);
		put_html(out, signer ? attested_actor(l, signer) : l->actor);
		if (!signer && l->signer[0]) {
			fputs(" ; signataire ", out);
			put_signer(out, f, l->signer);
		}
		if (l->detail[0]) {
			fputs("<br/><span class=\"d\">", out);
			put_html(out, l->detail);
			fputs("</span>", out);
		}
		fputs("</p>", out);
	}
	fputs("<h2>Vérification</h2><p class=\"h\">Ce document présente le dossier de preuve de la "
	      "collecte ; il ne le remplace pas. Font foi les enregistrements du journal ",
	      out);
	put_html(out, f->origin);
	fprintf(out,
	        " contenus dans le dossier, chacun avec sa preuve d'inclusion (C2SP tlog-proof) dans "
	        "l'arbre de Merkle du point de contrôle de %llu enregistrements, de racine SHA-256 :</p>"
	        "<p class=\"h\">%s</p><p class=\"h\">et le fichier evidence.json du dossier, de SHA-256 :</p>"
	        "<p class=\"h\">%s</p><p class=\"h\">Vérification hors ligne, avec la seule clé publique du "
	        "journal : ledger-audit verify-evidence DOSSIER.zip --log-key CLÉ.</p></body></html>",
	        (unsigned long long)f->checkpoint_size, f->root_hex, f->json_sha256_hex);
}

bool evidence_document(const evidence_facts *f, const char *signer, const evidence_sealer *s, uint8_t **pdf,
                       size_t *pdf_bytes, char *why, size_t why_bytes)
{
	*pdf = NULL;
	*pdf_bytes = 0;
	char *html = NULL;
	size_t html_bytes = 0;
	FILE *out = open_memstream(&html, &html_bytes);
	if (!out) {
		snprintf(why, why_bytes, "out of memory");
		return false;
	}
	put_document_html(out, f, signer);
	if (fclose(out) != 0) {
		free(html);
		snprintf(why, why_bytes, "out of memory");
		return false;
	}
	uint8_t *plain = NULL;
	size_t plain_bytes = 0;
	signer_err err = signer_pdf_from_html(html, CSS, &plain, &plain_bytes);
	free(html);
	char reason[SIGNER_TEXT_BYTES_MAX];
	snprintf(reason, sizeof reason, "%s de la collecte %.64s", signer ? "Attestation" : "Certificat de preuve",
	         f->collection);
	signer_sign_options o = {.signing_time_s = s->now_s,
	                         .utc_offset_s = proj_paris_offset_s(s->now_s),
	                         .reason = reason,
	                         .location = "France"};
	if (!err)
		err = signer_pades_sign_at_level(s->ca, s->seal, SIGNER_LEVEL_B_LTA, plain, plain_bytes, &o, pdf,
		                                 pdf_bytes);
	free(plain);
	if (err) {
		snprintf(why, why_bytes, "cannot make the %s: %s: %s", signer ? "attestation" : "certificate",
		         signer_strerror(err), signer_last_error());
		return false;
	}
	return true;
}

/* True if certificate (DER) is the platform's seal the log recorded: organizationIdentifier
 * EVIDENCE_SEAL_ID, and its SHA-256 is the KeyCreated's. */
static bool is_platform_seal(const uint8_t *der, size_t bytes, const uint8_t seal_sha256[32])
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)bytes);
	if (!x)
		return false;
	char id[128] = "";
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationIdentifier, id, sizeof id);
	X509_free(x);
	uint8_t h[32];
	tlog_sha256(&(const tlog_bytes){der, bytes}, 1, h);
	return strcmp(id, EVIDENCE_SEAL_ID) == 0 && memcmp(h, seal_sha256, sizeof h) == 0;
}

bool evidence_document_check(const uint8_t *pdf, size_t pdf_bytes, const uint8_t *ca_der, size_t ca_der_bytes,
                             const uint8_t seal_sha256[32], const char *json_sha256_hex, const char *const *says,
                             size_t says_count, char *why, size_t why_bytes)
{
	signer_verified *v = malloc(sizeof *v);
	if (!v) {
		snprintf(why, why_bytes, "out of memory");
		return false;
	}
	signer_err err = signer_pdf_verify(pdf, pdf_bytes, ca_der, ca_der_bytes, v);
	bool ok = false;
	char *text = NULL;
	size_t text_bytes = 0;
	if (err)
		snprintf(why, why_bytes, "its seal does not verify: %s: %s", signer_strerror(err), signer_last_error());
	else if (v->signatures == 0 || v->signature_timestamps == 0 || v->timestamps == 0)
		snprintf(why, why_bytes,
		         "it is not sealed at B-LTA (%u signatures, %u signature time-stamps, %u document "
		         "time-stamps)",
		         v->signatures, v->signature_timestamps, v->timestamps);
	else if (!is_platform_seal(v->last_signer_certificate, v->last_signer_certificate_bytes, seal_sha256))
		snprintf(why, why_bytes,
		         "its last signature is not the platform's seal the log records (%s, the certificate of its "
		         "KeyCreated)",
		         EVIDENCE_SEAL_ID);
	else if ((err = signer_pdf_text(pdf, pdf_bytes, &text, &text_bytes)) != SIGNER_OK)
		snprintf(why, why_bytes, "its text cannot be read: %s: %s", signer_strerror(err), signer_last_error());
	else if (!strstr(text, json_sha256_hex))
		snprintf(why, why_bytes, "it does not name this bundle's evidence.json (SHA-256 %s)", json_sha256_hex);
	else
		ok = true;
	for (size_t i = 0; ok && i < says_count; i++)
		if (says[i] && !strstr(text, says[i])) {
			snprintf(why, why_bytes, "it does not say \"%s\"", says[i]);
			ok = false;
		}
	free(text);
	free(v);
	return ok;
}

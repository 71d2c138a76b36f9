/*
 * ledgerctl_documents.c: ledgerctl's commands that fetch files: a document's bytes (document
 * get) and a collection's evidence bundle (collection evidence).
 */
#include "ledgerctl_common.h"
#include "json.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The bytes must be those asked for: their SHA-256 is the one given on the command line. */
static int document_verify(const Ledger__Api__DocumentReply *d, const uint8_t asked[CTL_SHA256_BYTES])
{
	uint8_t got[CTL_SHA256_BYTES];
	crypto_hash_sha256(got, d->content.data, d->content.len);
	if (sodium_memcmp(got, asked, sizeof got) == 0)
		return CTL_EXIT_OK;
	char hex[CTL_SHA256_HEX];
	ctl_hex_sha256((ProtobufCBinaryData){sizeof got, got}, hex);
	fprintf(stderr, "ledgerctl: the bytes received have SHA-256 %s, not the one asked for: nothing written\n", hex);
	return CTL_EXIT_REFUSED;
}

static void document_json(const Ledger__Api__DocumentReply *d, const char *hex, const char *output)
{
	json_out j;
	ctl_json_begin(&j, true);
	json_key(&j, "sha256"), json_str(&j, hex);
	json_key(&j, "filename"), json_str(&j, d->filename);
	json_key(&j, "bytes"), json_u64(&j, d->content.len);
	json_key(&j, "output"), json_str(&j, output ? output : "");
	if (!output) {
		size_t b64_bytes = sodium_base64_ENCODED_LEN(d->content.len, sodium_base64_VARIANT_ORIGINAL);
		char *b64 = malloc(b64_bytes);
		if (b64)
			sodium_bin2base64(b64, b64_bytes, d->content.data, d->content.len,
			                  sodium_base64_VARIANT_ORIGINAL);
		json_key(&j, "content_base64"), json_str(&j, b64 ? b64 : "");
		free(b64);
	}
	ctl_json_end(&j);
}

static int run_document_get(const ctl_args *a, char **pos)
{
	uint8_t sha[CTL_SHA256_BYTES];
	int rc = ctl_need_firm(a);
	if (!rc)
		rc = ctl_parse_sha256("SHA256", pos[0], sha);
	if (rc)
		return rc;
	const char *output = ctl_output_path(a);
	if (!output && !a->json && isatty(STDOUT_FILENO))
		return ctl_usage_errorf(a, "document get will not write a PDF's bytes to a terminal: give -o FILE");
	Ledger__Api__DocumentGet q = LEDGER__API__DOCUMENT_GET__INIT;
	q.firm_id = (char *)a->firm;
	q.sha256 = (ProtobufCBinaryData){sizeof sha, sha};
	Ledger__Api__Reply *r =
	    ctl_send(a, LEDGER__API__REQUEST__BODY_DOCUMENT_GET, &q.base, LEDGER__API__REPLY__RESULT_DOCUMENT, &rc);
	if (!r)
		return rc;
	const Ledger__Api__DocumentReply *d = r->document;
	rc = document_verify(d, sha);
	if (rc == CTL_EXIT_OK)
		rc = ctl_output_bytes(a, output, d->content.data, d->content.len);
	if (rc == CTL_EXIT_OK && a->json)
		document_json(d, pos[0], output);
	else if (rc == CTL_EXIT_OK && output)
		printf("%s: %zu bytes written (%s)\n", output, d->content.len, ctl_dash(d->filename));
	ledger__api__reply__free_unpacked(r, NULL);
	return rc;
}

static int run_evidence(const ctl_args *a, char **pos)
{
	int rc = ctl_need_firm(a);
	if (rc)
		return rc;
	if (!a->output || strcmp(a->output, "-") == 0)
		return ctl_usage_errorf(a, "collection evidence writes a zip: give -o FILE.zip");
	Ledger__Api__CollectionEvidence q = LEDGER__API__COLLECTION_EVIDENCE__INIT;
	q.firm_id = (char *)a->firm;
	q.collection_id = pos[0];
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	req.body_case = LEDGER__API__REQUEST__BODY_COLLECTION_EVIDENCE;
	req.collection_evidence = &q;
	Ledger__Api__Reply *r = ctl_call_ok(a, &req, LEDGER__API__REPLY__RESULT_EVIDENCE, &rc);
	if (!r)
		return rc;
	const Ledger__Api__EvidenceReply *e = r->evidence;
	rc = ctl_write_file(a->output, e->zip.data, e->zip.len);
	if (rc == CTL_EXIT_OK && a->json) {
		json_out j;
		json_begin(&j, stdout);
		json_obj_begin(&j);
		json_key(&j, "output");
		json_str(&j, a->output);
		json_key(&j, "bytes");
		json_u64(&j, e->zip.len);
		json_key(&j, "events");
		json_u64(&j, e->events);
		json_key(&j, "documents");
		json_u64(&j, e->documents);
		json_key(&j, "checkpoint_size");
		json_u64(&j, e->checkpoint_size);
		json_obj_end(&j);
		json_end(&j);
	} else if (rc == CTL_EXIT_OK)
		printf("%s: the evidence of %s/%s, %zu bytes: %llu events with their proofs against the checkpoint of "
		       "%llu records, %llu documents (check it: ledger-audit verify-evidence %s --log-key VKEY)\n",
		       a->output, a->firm, pos[0], e->zip.len, (unsigned long long)e->events,
		       (unsigned long long)e->checkpoint_size, (unsigned long long)e->documents, a->output);
	ledger__api__reply__free_unpacked(r, NULL);
	return rc;
}

const ctl_command ctl_document_commands[] = {
    {"collection evidence", 1, "firm output",
     "ledgerctl collection evidence --firm FIRM ID -o FILE.zip\n"
     "  Writes the collection's evidence bundle (dossier de preuve, docs/evidence.md): its events'\n"
     "  records each with a tlog-proof against one checkpoint, every document version, the log\n"
     "  key, evidence.json, and the certificate of completion and one attestation per signer,\n"
     "  sealed by the platform now. For whoever may see the collection (any right in FIRM).\n"
     "  Check it offline with the log key alone: ledger-audit verify-evidence FILE.zip --log-key\n"
     "  VKEY. A bundle over 60 MiB is refused (FAILED_PRECONDITION): make it with ledger-audit\n"
     "  evidence on the server.\n"
     "  --firm FIRM               the collection's firm\n"
     "  -o, --output FILE.zip     where to write it\n"
     "  example: ledgerctl --as ec@cab.fr --data DIR collection evidence --firm CAB c42 -o c42.zip\n",
     run_evidence, 0},
    {"document get", 1, "firm output",
     "ledgerctl document get --firm FIRM SHA256 [-o FILE]\n"
     "  Fetches one of FIRM's documents by its SHA-256 (as uploaded, or a signed version) and\n"
     "  writes its bytes to FILE, or to stdout unless stdout is a terminal. The bytes are checked\n"
     "  against the SHA-256 before anything is written. --json prints the file name and size, and\n"
     "  the bytes in base64 (content_base64) when there is no -o.\n"
     "  --firm FIRM               the firm whose collection holds it\n"
     "  SHA256                    64 hex digits, as `collection show` lists them\n"
     "  -o, --output FILE         where to write the bytes (\"-\": stdout)\n"
     "  example: ledgerctl --as prep@cab.fr --data DIR document get --firm CAB \"$sha\" -o signed.pdf\n",
     run_document_get, 0},
    {NULL, 0, NULL, NULL, NULL, 0},
};

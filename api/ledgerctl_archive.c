/*
 * ledgerctl_archive.c: PAdES B-LTA archive renewal (docs/signer.md#archive-renewal): one
 * document re-time-stamped (document renew-timestamp), or every document of a firm's completed
 * collections whose last time-stamp's certificate ends before a date (document renew-due, for
 * an operator's cron: docs/operations.md#archive-renewal).
 */
#include "json.h"
#include "ledgerctl_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --due-before YYYY-MM-DD as seconds since the epoch (midnight UTC), 0 when absent. */
static int due_before(const ctl_args *a, int64_t *out)
{
	*out = 0;
	if (!a->due_before)
		return 0;
	int rc = ctl_parse_date("--due-before", a->due_before);
	if (rc)
		return rc;
	struct tm tm = {0}; /* ctl_parse_date checked the digits and their ranges */
	tm.tm_year = (int)strtol(a->due_before, NULL, 10) - 1900;
	tm.tm_mon = (int)strtol(a->due_before + 5, NULL, 10) - 1;
	tm.tm_mday = (int)strtol(a->due_before + 8, NULL, 10);
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* One DocumentTimestampRenew; prints its outcome (a JSON object, or a line). */
static int renew_one(const ctl_args *a, const char *collection_id, const ProtobufCBinaryData *original,
                     int64_t due_before_s, bool *renewed)
{
	Ledger__Api__DocumentTimestampRenew q = LEDGER__API__DOCUMENT_TIMESTAMP_RENEW__INIT;
	q.firm_id = (char *)a->firm;
	q.collection_id = (char *)collection_id;
	if (original)
		q.original_sha256 = *original;
	q.due_before_s = due_before_s;
	int rc = 0;
	Ledger__Api__Reply *r = ctl_send(a, LEDGER__API__REQUEST__BODY_DOCUMENT_TIMESTAMP_RENEW, &q.base,
	                                 LEDGER__API__REPLY__RESULT_RENEWAL, &rc);
	if (!r)
		return rc;
	const Ledger__Api__RenewalReply *e = r->renewal;
	*renewed = e->renewed;
	char source[CTL_SHA256_HEX], produced[CTL_SHA256_HEX] = "", original_hex[CTL_SHA256_HEX];
	ctl_hex_sha256(e->original_sha256, original_hex);
	ctl_hex_sha256(e->source_sha256, source);
	if (e->renewed)
		ctl_hex_sha256(e->renewed_sha256, produced);
	char until[CTL_TIME_BYTES], at[CTL_TIME_BYTES] = "";
	ctl_time_iso(e->tsa_not_after_s * 1000000, until);
	if (e->renewed)
		ctl_time_iso(e->timestamp_time_s * 1000000, at);
	if (a->json) {
		json_out j;
		ctl_json_begin(&j, true);
		json_key(&j, "collection"), json_str(&j, collection_id);
		json_key(&j, "renewed"), json_bool(&j, e->renewed);
		json_key(&j, "original_sha256"), json_str(&j, original_hex);
		json_key(&j, "source_sha256"), json_str(&j, source);
		json_key(&j, "renewed_sha256"), json_str(&j, produced);
		json_key(&j, "timestamp_time"), json_str(&j, at);
		json_key(&j, "tsa_certificate_serial"), json_str(&j, e->tsa_certificate_serial);
		json_key(&j, "tsa_not_after"), json_str(&j, until);
		json_key(&j, "seq"), json_u64(&j, r->seq);
		ctl_json_end(&j);
	} else if (e->renewed)
		printf(
		    "%s: document %.16s... re-time-stamped at %s (certificate %s, until %s): version %s (seq %llu)\n",
		    collection_id, original_hex, at, e->tsa_certificate_serial, until, produced,
		    (unsigned long long)r->seq);
	else
		printf("%s: document %.16s... not due: its time-stamp's certificate runs until %s\n", collection_id,
		       original_hex, until);
	ledger__api__reply__free_unpacked(r, NULL);
	return CTL_EXIT_OK;
}

static int run_renew(const ctl_args *a, char **pos)
{
	int64_t due_s = 0;
	uint8_t sha[CTL_SHA256_BYTES];
	int rc = ctl_need_firm(a);
	if (!rc)
		rc = due_before(a, &due_s);
	if (!rc && a->document)
		rc = ctl_parse_sha256("--document", a->document, sha);
	if (rc)
		return rc;
	ProtobufCBinaryData original = {sizeof sha, sha};
	bool renewed = false;
	return renew_one(a, pos[0], a->document ? &original : NULL, due_s, &renewed);
}

/* Every document of one collection, renewed when due. */
static int renew_collection(const ctl_args *a, const char *collection_id, int64_t due_s, uint64_t *renewed_count)
{
	Ledger__Api__CollectionShow q = LEDGER__API__COLLECTION_SHOW__INIT;
	q.firm_id = (char *)a->firm;
	q.collection_id = (char *)collection_id;
	int rc = 0;
	Ledger__Api__Reply *r = ctl_send(a, LEDGER__API__REQUEST__BODY_COLLECTION_SHOW, &q.base,
	                                 LEDGER__API__REPLY__RESULT_COLLECTION, &rc);
	if (!r)
		return rc;
	const Ledger__Api__CollectionView *v = r->collection->collection;
	for (size_t i = 0; v && i < v->n_documents; i++) {
		bool renewed = false;
		int one = renew_one(a, collection_id, &v->documents[i]->sha256, due_s, &renewed);
		*renewed_count += renewed;
		rc = rc ? rc : one; /* go on with the others: one failure must not stop the archive's renewal */
	}
	ledger__api__reply__free_unpacked(r, NULL);
	return rc;
}

static int run_renew_due(const ctl_args *a, char **pos)
{
	(void)pos;
	int64_t due_s = 0;
	int rc = ctl_need_firm(a);
	if (!rc && !a->due_before)
		rc = ctl_usage_errorf(a, "document renew-due needs --due-before YYYY-MM-DD");
	/* one request id names one command: a second document under it would be IDEMPOTENCY_MISMATCH */
	if (!rc && a->request_id)
		rc = ctl_usage_errorf(a, "document renew-due sends one request per document: leave --request-id out");
	if (!rc)
		rc = due_before(a, &due_s);
	if (rc)
		return rc;
	Ledger__Api__CollectionList q = LEDGER__API__COLLECTION_LIST__INIT;
	q.firm_id = (char *)a->firm;
	q.state = LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED;
	q.include_classified = true;
	Ledger__Api__Reply *r = ctl_send(a, LEDGER__API__REQUEST__BODY_COLLECTION_LIST, &q.base,
	                                 LEDGER__API__REPLY__RESULT_COLLECTIONS, &rc);
	if (!r)
		return rc;
	uint64_t renewed = 0;
	for (size_t i = 0; i < r->collections->n_rows; i++) {
		int one = renew_collection(a, r->collections->rows[i]->collection_id, due_s, &renewed);
		rc = rc ? rc : one;
	}
	if (r->collections->truncated) {
		fprintf(stderr, "ledgerctl: the firm's list of collections was truncated: run it again once these are "
		                "renewed\n");
		rc = rc ? rc : CTL_EXIT_REFUSED;
	}
	if (!a->json)
		printf("%llu document(s) re-time-stamped in %zu completed collection(s) of %s\n",
		       (unsigned long long)renewed, r->collections->n_rows, a->firm);
	ledger__api__reply__free_unpacked(r, NULL);
	return rc;
}

const ctl_command ctl_archive_commands[] = {
    {"document renew-timestamp", 1, "firm document due-before",
     "ledgerctl document renew-timestamp --firm FIRM COLLECTION [--document SHA256] [--due-before DATE]\n"
     "  PAdES B-LTA archive renewal of a completed collection's document (docs/signer.md): a /DSS\n"
     "  update with fresh validation data for its last document time-stamp, then a new document\n"
     "  time-stamp over the whole, stored as the document's new version and recorded as\n"
     "  DocumentTimestampRenewed. Every earlier signature and time-stamp stays valid. For the\n"
     "  firm's EC or the platform. Refused for a document without a document time-stamp (signed\n"
     "  below B-LTA) and a collection that is not completed. --json prints the outcome.\n"
     "  --firm FIRM               the collection's firm\n"
     "  --document SHA256         the document as uploaded (default: the collection's only one)\n"
     "  --due-before DATE         renew only if the last time-stamp's certificate ends before\n"
     "                            DATE (YYYY-MM-DD, midnight UTC); otherwise nothing is written\n"
     "  example: ledgerctl --as ec@cab.fr --data DIR document renew-timestamp --firm CAB c42\n",
     run_renew, 0},
    {"document renew-due", 0, "firm due-before",
     "ledgerctl document renew-due --firm FIRM --due-before DATE\n"
     "  Renews, as renew-timestamp does, every document of FIRM's completed collections whose last\n"
     "  document time-stamp's certificate ends before DATE (YYYY-MM-DD); the others are listed as\n"
     "  not due. For a cron job (docs/operations.md). Goes on past a failure and exits 1 if any.\n"
     "  Each document's request has an id of its own (--request-id is refused); a run again after\n"
     "  a failure renews only what is still due.\n"
     "  --firm FIRM               the firm\n"
     "  --due-before DATE         the date the time-stamps must outlive\n"
     "  example: ledgerctl --platform --data DIR document renew-due --firm CAB --due-before 2031-01-01\n",
     run_renew_due, 0},
    {NULL, 0, NULL, NULL, NULL, 0},
};

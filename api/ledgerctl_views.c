/* ledgerctl_views.c: see ledgerctl_views.h. Spellings are those of docs/cli.md. */
#include "ledgerctl_views.h"

#include "projections.h"

#include <inttypes.h>

/* ----- one collection ----- */

void ctl_json_time(json_out *j, const char *key, int64_t us)
{
	char t[CTL_TIME_BYTES];
	ctl_time_iso(us, t);
	json_key(j, key), json_str(j, t);
}

static void json_document(json_out *j, const Ledger__Api__DocumentView *d)
{
	char hex[CTL_SHA256_HEX];
	json_obj_begin(j);
	ctl_hex_sha256(d->sha256, hex);
	json_key(j, "sha256"), json_str(j, hex);
	ctl_hex_sha256(d->current_sha256, hex);
	json_key(j, "current_sha256"), json_str(j, hex);
	json_key(j, "filename"), json_str(j, d->filename);
	json_key(j, "bytes"), json_u64(j, d->bytes);
	json_key(j, "pages"), json_u64(j, d->pages);
	JSON_ARRAY(j, "signed_by", d->signed_by, d->n_signed_by, json_str);
	json_key(j, "failure"), json_str(j, d->failure);
	json_key(j, "fields"), json_arr_begin(j);
	for (size_t i = 0; i < d->n_fields; i++) {
		const Ledger__Api__FieldView *f = d->fields[i];
		json_obj_begin(j);
		json_key(j, "signer"), json_str(j, f->signer);
		json_key(j, "page"), json_u64(j, f->page);
		json_key(j, "rect"), json_arr_begin(j);
		ctl_json_real(j, f->x0), ctl_json_real(j, f->y0), ctl_json_real(j, f->x1), ctl_json_real(j, f->y1);
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

static void json_signer(json_out *j, const Ledger__Api__SignerView *s)
{
	json_obj_begin(j);
	json_key(j, "email"), json_str(j, s->email);
	json_key(j, "name"), json_str(j, s->name);
	json_key(j, "signer_id"), json_str(j, s->signer_id);
	json_key(j, "kind"), json_str(j, ctl_enum_name(&ctl_enum_signer_kind, s->kind, '_').s);
	json_key(j, "position"), json_u64(j, s->position);
	json_key(j, "status"), json_str(j, ctl_enum_name(&ctl_enum_signer_action, s->status, '_').s);
	json_key(j, "signed"), json_bool(j, s->signed_);
	json_key(j, "turn"), json_bool(j, s->turn);
	json_obj_end(j);
}

/* The first keys of a collection's object, whole (a CollectionView) or as a list row (a
 * CollectionSummary): the two messages share these fields. */
static void json_collection_keys(json_out *j, const char *firm, const char *collection_id, int kind, const char *title,
                                 int state, uint64_t version, const char *created_by)
{
	json_key(j, "firm"), json_str(j, firm);
	json_key(j, "collection_id"), json_str(j, collection_id);
	json_key(j, "kind"), json_str(j, ctl_enum_name(&ctl_enum_kind, kind, '_').s);
	json_key(j, "title"), json_str(j, title);
	json_key(j, "state"), json_str(j, ctl_enum_name(&ctl_enum_state, state, '_').s);
	json_key(j, "version"), json_u64(j, version);
	json_key(j, "created_by"), json_str(j, created_by);
}

void ctl_json_collection(json_out *j, const Ledger__Api__CollectionView *v)
{
	json_obj_begin(j);
	json_collection_keys(j, v->firm_id, v->collection_id, v->kind, v->title, v->state, v->version, v->created_by);
	ctl_json_time(j, "created_at", v->created_at_us);
	ctl_json_time(j, "updated_at", v->updated_at_us);
	json_key(j, "deadline_on"), json_str(j, v->deadline_on);
	json_key(j, "order"), json_str(j, ctl_enum_name(&ctl_enum_order, v->order, '_').s);
	json_key(j, "expiry_days"), json_u64(j, v->expiry_days);
	json_key(j, "reminder_every_days"), json_u64(j, v->reminder_every_days);
	json_key(j, "reminders"), json_u64(j, v->reminders);
	ctl_json_time(j, "sent_at", v->sent_at_us);
	ctl_json_time(j, "expires_at", v->expires_at_us);
	json_key(j, "classified"), json_bool(j, v->classified);
	json_key(j, "folder"), json_str(j, v->folder);
	json_key(j, "credits_reserved"), json_u64(j, v->credits_reserved);
	json_key(j, "credits_used"), json_u64(j, v->credits_used);
	json_key(j, "comment"), json_str(j, v->comment);
	JSON_ARRAY(j, "documents", v->documents, v->n_documents, json_document);
	JSON_ARRAY(j, "signers", v->signers, v->n_signers, json_signer);
	json_obj_end(j);
}

static void print_document(const Ledger__Api__DocumentView *d)
{
	char hex[CTL_SHA256_HEX];
	printf("  %s, %" PRIu64 " bytes, %u page(s)\n", ctl_dash(d->filename), d->bytes, d->pages);
	ctl_hex_sha256(d->sha256, hex);
	printf("    sha256     %s\n", ctl_dash(hex));
	ctl_hex_sha256(d->current_sha256, hex);
	printf("    current    %s\n", ctl_dash(hex));
	for (size_t i = 0; i < d->n_signed_by; i++)
		printf("    signed by  %s\n", d->signed_by[i]);
	if (d->failure[0])
		printf("    FAILED     the service could not sign it: %s\n", d->failure);
	for (size_t i = 0; i < d->n_fields; i++) {
		const Ledger__Api__FieldView *f = d->fields[i];
		printf("    field      %s, page %u, rect %g,%g,%g,%g\n", f->signer, f->page, f->x0, f->y0, f->x1,
		       f->y1);
	}
}

static void print_signers(const Ledger__Api__CollectionView *v)
{
	printf("signers (%zu):\n", v->n_signers);
	if (v->n_signers == 0)
		return;
	printf("  %-3s %-32s %-24s %-8s %-13s %-6s %-4s %s\n", "#", "EMAIL", "NAME", "KIND", "STATUS", "SIGNED", "TURN",
	       "SIGNER ID");
	for (size_t i = 0; i < v->n_signers; i++) {
		const Ledger__Api__SignerView *s = v->signers[i];
		printf("  %-3u %-32s %-24s %-8s %-13s %-6s %-4s %s\n", s->position, ctl_dash(s->email),
		       ctl_dash(s->name), ctl_dash(ctl_enum_name(&ctl_enum_signer_kind, s->kind, '-').s),
		       ctl_dash(ctl_enum_name(&ctl_enum_signer_action, s->status, '-').s), s->signed_ ? "yes" : "no",
		       s->turn ? "yes" : "no", ctl_dash(s->signer_id));
	}
}

void ctl_print_collection(const Ledger__Api__CollectionView *v)
{
	char created[CTL_TIME_BYTES], updated[CTL_TIME_BYTES], sent[CTL_TIME_BYTES], expires[CTL_TIME_BYTES];
	ctl_time_iso(v->created_at_us, created);
	ctl_time_iso(v->updated_at_us, updated);
	ctl_time_iso(v->sent_at_us, sent);
	ctl_time_iso(v->expires_at_us, expires);
	printf("collection %s in firm %s: \"%s\"\n", v->collection_id, v->firm_id, v->title);
	printf("  kind       %s\n", ctl_dash(ctl_enum_name(&ctl_enum_kind, v->kind, '-').s));
	printf("  state      %s%s\n", ctl_dash(ctl_enum_name(&ctl_enum_state, v->state, '-').s),
	       v->classified ? " (classified)" : "");
	printf("  version    %" PRIu64 "\n", v->version);
	printf("  created    %s by %s, updated %s\n", ctl_dash(created), ctl_dash(v->created_by), ctl_dash(updated));
	printf("  order      %s\n", ctl_dash(ctl_enum_name(&ctl_enum_order, v->order, '-').s));
	printf("  deadline   %s\n", ctl_dash(v->deadline_on));
	printf("  expiry     %u days after sending; sent %s, expires %s\n", v->expiry_days, ctl_dash(sent),
	       ctl_dash(expires));
	if (v->reminder_every_days)
		printf("  reminders  every %u days, %u sent\n", v->reminder_every_days, v->reminders);
	else
		printf("  reminders  none automatic, %u sent\n", v->reminders);
	printf("  credits    %" PRIu64 " reserved, %" PRIu64 " used\n", v->credits_reserved, v->credits_used);
	if (v->folder[0])
		printf("  folder     %s\n", v->folder);
	if (v->comment[0])
		printf("  comment    %s\n", v->comment);
	printf("documents (%zu):\n", v->n_documents);
	for (size_t i = 0; i < v->n_documents; i++)
		print_document(v->documents[i]);
	print_signers(v);
}

/* ----- list rows ----- */

void ctl_json_summary(json_out *j, const Ledger__Api__CollectionSummary *s)
{
	json_obj_begin(j);
	json_collection_keys(j, s->firm_id, s->collection_id, s->kind, s->title, s->state, s->version, s->created_by);
	ctl_json_time(j, "expires_at", s->expires_at_us);
	json_key(j, "documents"), json_u64(j, s->documents);
	json_key(j, "signers"), json_u64(j, s->signers);
	json_key(j, "signed"), json_u64(j, s->signed_);
	json_key(j, "classified"), json_bool(j, s->classified);
	json_obj_end(j);
}

void ctl_print_summary_header(const char *indent)
{
	printf("%s%-12s %-9s %-16s %7s %4s %6s %-20s %-24s %s\n", indent, "ID", "KIND", "STATE", "VERSION", "DOCS",
	       "SIGNED", "EXPIRES", "CREATED BY", "TITLE");
}

void ctl_print_summary(const char *indent, const Ledger__Api__CollectionSummary *s)
{
	char expires[CTL_TIME_BYTES], signed_[24];
	ctl_time_iso(s->expires_at_us, expires);
	snprintf(signed_, sizeof signed_, "%u/%u", s->signed_, s->signers);
	char state[64];
	snprintf(state, sizeof state, "%s%s", ctl_enum_name(&ctl_enum_state, s->state, '-').s,
	         s->classified ? "*" : "");
	printf("%s%-12s %-9s %-16s %7" PRIu64 " %4u %6s %-20s %-24s %s\n", indent, s->collection_id,
	       ctl_dash(ctl_enum_name(&ctl_enum_kind, s->kind, '-').s), ctl_dash(state), s->version, s->documents,
	       signed_, ctl_dash(expires), ctl_dash(s->created_by), s->title);
}

/* ----- delegations and alerts ----- */

void ctl_json_delegation(json_out *j, const Ledger__Api__DelegationRow *d)
{
	const char *right = proj_right_name(d->right);
	json_obj_begin(j);
	json_key(j, "firm"), json_str(j, d->firm_id);
	json_key(j, "firm_name"), json_str(j, d->firm_name);
	json_key(j, "collaborator"), json_str(j, d->collaborator);
	json_key(j, "granted_by"), json_str(j, d->granted_by);
	json_key(j, "right"), json_str(j, right ? right : "?");
	json_key(j, "expires_on"), json_str(j, d->expires_on);
	json_key(j, "expired"), json_bool(j, d->expired);
	json_obj_end(j);
}

void ctl_json_alert(json_out *j, const Ledger__Api__AlertView *v)
{
	json_obj_begin(j);
	json_key(j, "seq"), json_u64(j, v->seq);
	ctl_json_time(j, "at", v->at_us);
	json_key(j, "kind"), json_str(j, ctl_enum_name(&ctl_enum_alert_kind, v->kind, '_').s);
	json_key(j, "occasion"), json_str(j, v->occasion);
	json_key(j, "message"), json_str(j, v->message);
	json_obj_end(j);
}

void ctl_print_alert(const char *indent, const Ledger__Api__AlertView *v)
{
	char at[CTL_TIME_BYTES];
	ctl_time_iso(v->at_us, at);
	printf("%s%-20s %-20s %s\n", indent, ctl_dash(at),
	       ctl_dash(ctl_enum_name(&ctl_enum_alert_kind, v->kind, '-').s), v->message);
}

/*
 * ledgerctl_platform.c: the firm-level commands of the platform (docs/cli.md#platform):
 * credits, preferences, statistics, the dashboard, the contacts export and alerts.
 */
#include "ledgerctl_common.h"
#include "ledgerctl_views.h"

#include "assertion.h"
#include "projections.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Alert windows, in days (proto/api.proto AlertSubscribe.days). */
#define ALERT_DAYS_MIN 1u
#define ALERT_DAYS_MAX 365u
/* Credits moved by one command, and thresholds: a bound far above any firm's needs. */
#define CREDITS_MAX UINT32_MAX

/* A command's JSON object: the ack, then (when ledgerd returned it) the result under key. */
typedef void (*result_json)(json_out *j, const Ledger__Api__Reply *r);

static void json_command(const Ledger__Api__Reply *r, const char *key, result_json write)
{
	json_out j;
	ctl_json_begin(&j, true);
	ctl_json_ack(&j, r);
	if (write)
		json_key(&j, key), write(&j, r);
	ctl_json_end(&j);
}

/* A query's JSON object: "ok" and the result's keys, written by write. */
static void json_query(const Ledger__Api__Reply *r, result_json write)
{
	json_out j;
	ctl_json_begin(&j, true);
	write(&j, r);
	ctl_json_end(&j);
}

static void print_done(const Ledger__Api__Reply *r, const char *human)
{
	printf("%s (seq %llu%s)\n", human, (unsigned long long)r->seq, r->replayed ? ", replayed: already done" : "");
}

/* A result shown to people; a->firm is the firm the command named. */
typedef void (*result_print)(const ctl_args *a, const Ledger__Api__Reply *r);

/* Sends a query and shows its `want` result: "ok" and keys in JSON, or print's lines. */
static int query_show(const ctl_args *a, Ledger__Api__Request__BodyCase body_case, ProtobufCMessage *body,
                      Ledger__Api__Reply__ResultCase want, result_json keys, result_print print)
{
	int rc;
	Ledger__Api__Reply *r = ctl_send(a, body_case, body, want, &rc);
	if (!r)
		return rc;
	if (a->json)
		json_query(r, keys);
	else
		print(a, r);
	ledger__api__reply__free_unpacked(r, NULL);
	return CTL_EXIT_OK;
}

/*
 * A command's outcome: "HUMAN (seq N)", then print's view of its result when ledgerd returned
 * one (print not NULL); in JSON the ack, then that result under key (object not NULL).
 * Frees r.
 */
static int command_show(const ctl_args *a, Ledger__Api__Reply *r, const char *human, const char *key,
                        result_json object, result_print print)
{
	if (a->json)
		json_command(r, key, object);
	else
		print_done(r, human);
	if (!a->json && print)
		print(a, r);
	ledger__api__reply__free_unpacked(r, NULL);
	return CTL_EXIT_OK;
}

/* ----- credits ----- */

static void json_credit_entry(json_out *j, const Ledger__Api__CreditEntry *e)
{
	json_obj_begin(j);
	json_key(j, "seq"), json_u64(j, e->seq);
	ctl_json_time(j, "at", e->at_us);
	json_key(j, "kind"), json_str(j, e->kind);
	json_key(j, "credits"), ctl_json_i64(j, e->credits);
	json_key(j, "collection_id"), json_str(j, e->collection_id);
	json_key(j, "actor"), json_str(j, e->actor);
	json_key(j, "reference"), json_str(j, e->reference);
	json_obj_end(j);
}

static void credits_keys(json_out *j, const Ledger__Api__Reply *r)
{
	const Ledger__Api__CreditsReply *c = r->credits;
	json_key(j, "available"), json_u64(j, c->available);
	json_key(j, "reserved"), json_u64(j, c->reserved);
	json_key(j, "used"), json_u64(j, c->used);
	json_key(j, "added"), json_u64(j, c->added);
	json_key(j, "truncated"), json_bool(j, c->truncated);
	JSON_ARRAY(j, "history", c->history, c->n_history, json_credit_entry);
}

static void credits_object(json_out *j, const Ledger__Api__Reply *r)
{
	json_obj_begin(j);
	credits_keys(j, r);
	json_obj_end(j);
}

static void print_credits(const ctl_args *a, const Ledger__Api__Reply *r)
{
	const char *firm = a->firm;
	const Ledger__Api__CreditsReply *c = r->credits;
	printf("firm %s: %" PRIu64 " credits available, %" PRIu64 " reserved, %" PRIu64 " used, %" PRIu64
	       " added in all\n",
	       firm, c->available, c->reserved, c->used, c->added);
	if (c->n_history == 0)
		return;
	printf("%-8s %-20s %-9s %8s %-12s %-32s %s\n", "SEQ", "AT", "KIND", "CREDITS", "COLLECTION", "ACTOR",
	       "REFERENCE");
	for (size_t i = 0; i < c->n_history; i++) {
		const Ledger__Api__CreditEntry *e = c->history[i];
		char at[CTL_TIME_BYTES];
		ctl_time_iso(e->at_us, at);
		printf("%-8" PRIu64 " %-20s %-9s %+8" PRId64 " %-12s %-32s %s\n", e->seq, ctl_dash(at),
		       ctl_dash(e->kind), e->credits, ctl_dash(e->collection_id), ctl_dash(e->actor),
		       ctl_dash(e->reference));
	}
	if (c->truncated)
		printf("(older entries not shown: raise --history)\n");
}

static int run_credits_add(const ctl_args *a, char **pos)
{
	(void)pos;
	Ledger__Api__CreditsAdd c = LEDGER__API__CREDITS_ADD__INIT;
	int rc = ctl_need_firm(a);
	if (!rc && !a->credits)
		rc = ctl_usage_errorf(a, "credits add needs --credits N");
	if (!rc)
		rc = ctl_parse_u64("--credits", a->credits, 1, CREDITS_MAX, &c.credits);
	if (rc)
		return rc;
	c.firm_id = (char *)a->firm;
	if (a->reference)
		c.reference = (char *)a->reference;
	Ledger__Api__Reply *r =
	    ctl_send(a, LEDGER__API__REQUEST__BODY_CREDITS_ADD, &c.base, LEDGER__API__REPLY__RESULT__NOT_SET, &rc);
	if (!r)
		return rc;
	bool has = r->result_case == LEDGER__API__REPLY__RESULT_CREDITS && r->credits;
	char human[200];
	if (has)
		snprintf(human, sizeof human, "%" PRIu64 " credits added to firm %s, %" PRIu64 " available", c.credits,
		         a->firm, r->credits->available);
	else
		snprintf(human, sizeof human, "%" PRIu64 " credits added to firm %s", c.credits, a->firm);
	return command_show(a, r, human, "credits", has ? credits_object : NULL, NULL);
}

static int run_credits_show(const ctl_args *a, char **pos)
{
	(void)pos;
	Ledger__Api__CreditsShow q = LEDGER__API__CREDITS_SHOW__INIT;
	int rc = ctl_need_firm(a);
	if (!rc && a->history)
		rc = ctl_parse_u32("--history", a->history, 1, PROJ_LIST_ROWS_MAX, &q.history_rows);
	if (rc)
		return rc;
	q.firm_id = (char *)a->firm;
	return query_show(a, LEDGER__API__REQUEST__BODY_CREDITS_SHOW, &q.base, LEDGER__API__REPLY__RESULT_CREDITS,
	                  credits_keys, print_credits);
}

/* ----- preferences ----- */

/* The PAdES level's name (docs/signer.md); LEVEL_DEFAULT is B-LTA. */
static const char *level_name(Ledger__Events__SignatureLevel level)
{
	switch (level) {
	case LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_B: return "B-B";
	case LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_T: return "B-T";
	case LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_LT: return "B-LT";
	default: return "B-LTA";
	}
}

static void preferences_object(json_out *j, const Ledger__Api__Reply *r)
{
	const Ledger__Api__PreferencesReply *p = r->preferences;
	json_obj_begin(j);
	json_key(j, "firm"), json_str(j, p->firm_id);
	json_key(j, "collection_expiry_days"), json_u64(j, p->collection_expiry_days);
	json_key(j, "reminder_every_days"), json_u64(j, p->reminder_every_days);
	json_key(j, "default_order"), json_str(j, ctl_enum_name(&ctl_enum_order, p->default_order, '_').s);
	json_key(j, "credits_low_threshold"), json_u64(j, p->credits_low_threshold);
	json_key(j, "sender_name"), json_str(j, p->sender_name);
	json_key(j, "signature_level"), json_str(j, level_name(p->signature_level));
	json_obj_end(j);
}

static void preferences_keys(json_out *j, const Ledger__Api__Reply *r)
{
	json_key(j, "preferences"), preferences_object(j, r);
}

static void print_preferences(const ctl_args *a, const Ledger__Api__Reply *r)
{
	(void)a;
	const Ledger__Api__PreferencesReply *p = r->preferences;
	printf("preferences of firm %s:\n", p->firm_id);
	printf("  collection expiry   %u days after sending\n", p->collection_expiry_days);
	if (p->reminder_every_days)
		printf("  reminders           every %u days\n", p->reminder_every_days);
	else
		printf("  reminders           none automatic\n");
	printf("  default order       %s\n", ctl_dash(ctl_enum_name(&ctl_enum_order, p->default_order, '-').s));
	printf("  credits low below   %" PRIu64 "\n", p->credits_low_threshold);
	printf("  sender name         %s\n", ctl_dash(p->sender_name));
	printf("  signature level     PAdES %s\n", level_name(p->signature_level));
}

static int preferences_parse(const ctl_args *a, Ledger__Api__PreferencesUpdate *c)
{
	if (!a->expiry_days && !a->reminder_days && !a->no_reminders && !a->order && !a->credits_low &&
	    !a->sender_name && !a->signature_level)
		return ctl_usage_errorf(a, "preferences set: nothing to change");
	if (a->reminder_days && a->no_reminders)
		return ctl_usage_errorf(a, "--reminder-days and --no-reminders exclude each other");
	int order = 0, rc = 0;
	if (a->expiry_days)
		rc = ctl_parse_u32("--expiry-days", a->expiry_days, 1, UINT32_MAX, &c->collection_expiry_days);
	if (!rc && a->reminder_days)
		rc = ctl_parse_u32("--reminder-days", a->reminder_days, 1, UINT32_MAX, &c->reminder_every_days);
	if (!rc && a->order)
		rc = ctl_enum_parse(&ctl_enum_order, "--order", a->order, &order);
	if (!rc && a->credits_low)
		rc = ctl_parse_u64("--credits-low", a->credits_low, 1, CREDITS_MAX, &c->credits_low_threshold);
	if (!rc && a->sender_name && !a->sender_name[0])
		rc = ctl_usage_errorf(a, "--sender-name: not empty");
	if (!rc && a->signature_level) {
		static const char *const names[] = {"B-B", "B-T", "B-LT", "B-LTA"};
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			if (strcmp(a->signature_level, names[i]) == 0)
				c->signature_level = (Ledger__Events__SignatureLevel)(i + 1);
		if (!c->signature_level)
			rc = ctl_usage_errorf(a, "--signature-level %s: B-B, B-T, B-LT or B-LTA", a->signature_level);
	}
	c->firm_id = (char *)a->firm;
	c->default_order = (Ledger__Events__SigningOrder)order;
	c->clear_reminders = a->no_reminders;
	if (a->sender_name)
		c->sender_name = (char *)a->sender_name;
	return rc;
}

static int run_preferences_set(const ctl_args *a, char **pos)
{
	(void)pos;
	Ledger__Api__PreferencesUpdate c = LEDGER__API__PREFERENCES_UPDATE__INIT;
	int rc = ctl_need_firm(a);
	if (!rc)
		rc = preferences_parse(a, &c);
	if (rc)
		return rc;
	Ledger__Api__Reply *r = ctl_send(a, LEDGER__API__REQUEST__BODY_PREFERENCES_UPDATE, &c.base,
	                                 LEDGER__API__REPLY__RESULT__NOT_SET, &rc);
	if (!r)
		return rc;
	bool has = r->result_case == LEDGER__API__REPLY__RESULT_PREFERENCES && r->preferences;
	char human[200];
	snprintf(human, sizeof human, "preferences of firm %s updated", a->firm);
	return command_show(a, r, human, "preferences", has ? preferences_object : NULL,
	                    has ? print_preferences : NULL);
}

/* ----- statistics ----- */

static void json_stats_row(json_out *j, const Ledger__Api__StatsRow *s)
{
	json_obj_begin(j);
	json_key(j, "month"), json_str(j, s->month);
	json_key(j, "collaborator"), json_str(j, s->collaborator);
	json_key(j, "kind"), json_str(j, ctl_enum_name(&ctl_enum_kind, s->kind, '_').s);
	json_key(j, "created"), json_u64(j, s->created);
	json_key(j, "sent"), json_u64(j, s->sent);
	json_key(j, "completed"), json_u64(j, s->completed);
	json_key(j, "signatures"), json_u64(j, s->signatures);
	json_key(j, "seals"), json_u64(j, s->seals);
	json_key(j, "credits_used"), json_u64(j, s->credits_used);
	json_obj_end(j);
}

static void stats_keys(json_out *j, const Ledger__Api__Reply *r)
{
	const Ledger__Api__StatsReply *s = r->stats;
	json_key(j, "truncated"), json_bool(j, s->truncated);
	JSON_ARRAY(j, "by_month", s->by_month, s->n_by_month, json_stats_row);
	JSON_ARRAY(j, "by_collaborator", s->by_collaborator, s->n_by_collaborator, json_stats_row);
	JSON_ARRAY(j, "by_kind", s->by_kind, s->n_by_kind, json_stats_row);
	JSON_ARRAY(j, "rows", s->rows, s->n_rows, json_stats_row);
}

typedef enum { STATS_BY_MONTH, STATS_BY_COLLABORATOR, STATS_BY_KIND } stats_key;

static void print_stats_table(stats_key key, Ledger__Api__StatsRow **rows, size_t n)
{
	static const char *const titles[] = {"MONTH", "COLLABORATOR", "KIND"};
	static const char *const names[] = {"by month", "by collaborator", "by kind"};
	printf("%s:\n", names[key]);
	if (n == 0) {
		printf("  (nothing)\n");
		return;
	}
	printf("  %-32s %8s %8s %9s %10s %6s %8s\n", titles[key], "CREATED", "SENT", "COMPLETED", "SIGNATURES", "SEALS",
	       "CREDITS");
	for (size_t i = 0; i < n; i++) {
		const Ledger__Api__StatsRow *s = rows[i];
		ctl_name kind = ctl_enum_name(&ctl_enum_kind, s->kind, '-');
		const char *label = key == STATS_BY_MONTH          ? s->month
		                    : key == STATS_BY_COLLABORATOR ? s->collaborator
		                                                   : kind.s;
		printf("  %-32s %8" PRIu64 " %8" PRIu64 " %9" PRIu64 " %10" PRIu64 " %6" PRIu64 " %8" PRIu64 "\n",
		       ctl_dash(label), s->created, s->sent, s->completed, s->signatures, s->seals, s->credits_used);
	}
}

static void print_stats(const ctl_args *a, const Ledger__Api__Reply *r)
{
	(void)a;
	const Ledger__Api__StatsReply *s = r->stats;
	print_stats_table(STATS_BY_MONTH, s->by_month, s->n_by_month);
	print_stats_table(STATS_BY_COLLABORATOR, s->by_collaborator, s->n_by_collaborator);
	print_stats_table(STATS_BY_KIND, s->by_kind, s->n_by_kind);
	if (s->truncated)
		printf("(truncated: narrow with --from and --to)\n");
}

static int run_stats(const ctl_args *a, char **pos)
{
	(void)pos;
	int rc = ctl_need_firm(a);
	if (!rc && a->from)
		rc = ctl_parse_month("--from", a->from);
	if (!rc && a->to)
		rc = ctl_parse_month("--to", a->to);
	if (!rc && a->from && a->to && strcmp(a->from, a->to) > 0)
		rc = ctl_usage_errorf(a, "--from %s is after --to %s", a->from, a->to);
	if (rc)
		return rc;
	Ledger__Api__StatsQuery q = LEDGER__API__STATS_QUERY__INIT;
	q.firm_id = (char *)a->firm;
	if (a->from)
		q.from_month = (char *)a->from;
	if (a->to)
		q.to_month = (char *)a->to;
	return query_show(a, LEDGER__API__REQUEST__BODY_STATS, &q.base, LEDGER__API__REPLY__RESULT_STATS, stats_keys,
	                  print_stats);
}

/* ----- dashboard ----- */

static void dashboard_keys(json_out *j, const Ledger__Api__Reply *r)
{
	const Ledger__Api__DashboardReply *d = r->dashboard;
	json_key(j, "firm"), json_str(j, d->firm_id);
	json_key(j, "credits_available"), json_u64(j, d->credits_available);
	json_key(j, "states"), json_arr_begin(j);
	for (size_t i = 0; i < d->n_states; i++) {
		json_obj_begin(j);
		json_key(j, "state"), json_str(j, ctl_enum_name(&ctl_enum_state, d->states[i]->state, '_').s);
		json_key(j, "count"), json_u64(j, d->states[i]->count);
		json_obj_end(j);
	}
	json_arr_end(j);
	JSON_ARRAY(j, "mine", d->mine, d->n_mine, ctl_json_summary);
	JSON_ARRAY(j, "waiting_for_me", d->waiting_for_me, d->n_waiting_for_me, ctl_json_summary);
	JSON_ARRAY(j, "expiring_soon", d->expiring_soon, d->n_expiring_soon, ctl_json_summary);
	JSON_ARRAY(j, "my_delegations", d->my_delegations, d->n_my_delegations, ctl_json_delegation);
	JSON_ARRAY(j, "alerts", d->alerts, d->n_alerts, ctl_json_alert);
}

static void print_summaries(const char *title, Ledger__Api__CollectionSummary **rows, size_t n)
{
	printf("%s (%zu):\n", title, n);
	if (n > 0)
		ctl_print_summary_header("  ");
	for (size_t i = 0; i < n; i++)
		ctl_print_summary("  ", rows[i]);
}

static void print_dashboard(const ctl_args *a, const Ledger__Api__Reply *r)
{
	(void)a;
	const Ledger__Api__DashboardReply *d = r->dashboard;
	printf("firm %s: %" PRIu64 " credits available\n", d->firm_id, d->credits_available);
	printf("collections by state:");
	for (size_t i = 0; i < d->n_states; i++)
		printf(" %s %u%s", ctl_enum_name(&ctl_enum_state, d->states[i]->state, '-').s, d->states[i]->count,
		       i + 1 < d->n_states ? "," : "");
	printf("%s\n", d->n_states ? "" : " none");
	print_summaries("mine, running", d->mine, d->n_mine);
	print_summaries("waiting for me", d->waiting_for_me, d->n_waiting_for_me);
	print_summaries("expiring within 3 days", d->expiring_soon, d->n_expiring_soon);
	printf("my delegations (%zu):\n", d->n_my_delegations);
	for (size_t i = 0; i < d->n_my_delegations; i++) {
		const Ledger__Api__DelegationRow *g = d->my_delegations[i];
		const char *right = proj_right_name(g->right);
		printf("  %-8s %s %s\n", right ? right : "?", g->expired ? "expired on" : "expires on", g->expires_on);
	}
	printf("alerts (%zu):\n", d->n_alerts);
	for (size_t i = 0; i < d->n_alerts; i++)
		ctl_print_alert("  ", d->alerts[i]);
}

/* ----- contacts ----- */

static int contacts_json(const Ledger__Api__ContactsReply *c, const char *output)
{
	char *csv = output ? NULL : malloc(c->csv.len + 1);
	if (!output && !csv) {
		fprintf(stderr, "ledgerctl: out of memory\n");
		return CTL_EXIT_REFUSED;
	}
	if (csv) {
		memcpy(csv, c->csv.data, c->csv.len);
		csv[c->csv.len] = '\0';
	}
	json_out j;
	ctl_json_begin(&j, true);
	json_key(&j, "contacts"), json_u64(&j, c->contacts);
	json_key(&j, "bytes"), json_u64(&j, c->csv.len);
	json_key(&j, "output"), json_str(&j, output ? output : "");
	if (csv)
		json_key(&j, "csv"), json_str(&j, csv);
	ctl_json_end(&j);
	free(csv);
	return CTL_EXIT_OK;
}

static int run_contacts_export(const ctl_args *a, char **pos)
{
	(void)pos;
	int rc = ctl_need_firm(a);
	if (rc)
		return rc;
	Ledger__Api__ContactsExport q = LEDGER__API__CONTACTS_EXPORT__INIT;
	q.firm_id = (char *)a->firm;
	Ledger__Api__Reply *r =
	    ctl_send(a, LEDGER__API__REQUEST__BODY_CONTACTS_EXPORT, &q.base, LEDGER__API__REPLY__RESULT_CONTACTS, &rc);
	if (!r)
		return rc;
	const Ledger__Api__ContactsReply *c = r->contacts;
	const char *output = ctl_output_path(a);
	rc = ctl_output_bytes(a, output, c->csv.data, c->csv.len);
	if (rc == CTL_EXIT_OK && a->json)
		rc = contacts_json(c, output);
	else if (rc == CTL_EXIT_OK && output)
		printf("%s: %u contacts written\n", output, c->contacts);
	ledger__api__reply__free_unpacked(r, NULL);
	return rc;
}

/* ----- alerts ----- */

static int subscribe_parse(const ctl_args *a, Ledger__Api__AlertSubscribe *c)
{
	int kind, rc = ctl_enum_parse(&ctl_enum_alert_kind, "--kind", a->kind, &kind);
	if (rc)
		return rc;
	bool wants_days = kind == LEDGER__EVENTS__ALERT_KIND__ALERT_DELEGATION_EXPIRING ||
	                  kind == LEDGER__EVENTS__ALERT_KIND__ALERT_COLLECTION_EXPIRING;
	bool takes_credits = kind == LEDGER__EVENTS__ALERT_KIND__ALERT_CREDITS_LOW;
	if (wants_days != (a->days != NULL))
		return ctl_usage_errorf(a, wants_days ? "--kind %s needs --days N" : "--kind %s takes no --days",
		                        a->kind);
	if (!takes_credits && a->credits)
		return ctl_usage_errorf(a, "--credits goes only with --kind credits-low");
	if (a->days)
		rc = ctl_parse_u32("--days", a->days, ALERT_DAYS_MIN, ALERT_DAYS_MAX, &c->days);
	if (!rc && a->credits)
		rc = ctl_parse_u64("--credits", a->credits, 1, CREDITS_MAX, &c->credits);
	c->firm_id = (char *)a->firm;
	c->kind = (Ledger__Events__AlertKind)kind;
	return rc;
}

static int run_alerts_subscribe(const ctl_args *a, char **pos)
{
	(void)pos;
	Ledger__Api__AlertSubscribe c = LEDGER__API__ALERT_SUBSCRIBE__INIT;
	int rc = ctl_need_firm(a);
	if (!rc && !a->kind)
		rc = ctl_usage_errorf(a, "alerts subscribe needs --kind KIND");
	if (!rc)
		rc = subscribe_parse(a, &c);
	if (rc)
		return rc;
	char human[200];
	snprintf(human, sizeof human, "subscribed to %s alerts in firm %s",
	         ctl_enum_name(&ctl_enum_alert_kind, c.kind, '-').s, a->firm);
	return ctl_send_command(a, LEDGER__API__REQUEST__BODY_ALERT_SUBSCRIBE, &c.base, human);
}

static int run_alerts_unsubscribe(const ctl_args *a, char **pos)
{
	(void)pos;
	int kind = 0, rc = ctl_need_firm(a);
	if (!rc && !a->kind)
		rc = ctl_usage_errorf(a, "alerts unsubscribe needs --kind KIND");
	if (!rc)
		rc = ctl_enum_parse(&ctl_enum_alert_kind, "--kind", a->kind, &kind);
	if (rc)
		return rc;
	Ledger__Api__AlertUnsubscribe c = LEDGER__API__ALERT_UNSUBSCRIBE__INIT;
	c.firm_id = (char *)a->firm;
	c.kind = (Ledger__Events__AlertKind)kind;
	char human[200];
	snprintf(human, sizeof human, "unsubscribed from %s alerts in firm %s",
	         ctl_enum_name(&ctl_enum_alert_kind, kind, '-').s, a->firm);
	return ctl_send_command(a, LEDGER__API__REQUEST__BODY_ALERT_UNSUBSCRIBE, &c.base, human);
}

static void alerts_keys(json_out *j, const Ledger__Api__Reply *r)
{
	const Ledger__Api__AlertsReply *l = r->alerts;
	json_key(j, "subscriptions"), json_arr_begin(j);
	for (size_t i = 0; i < l->n_subscriptions; i++) {
		json_obj_begin(j);
		json_key(j, "kind"), json_str(j, ctl_enum_name(&ctl_enum_alert_kind, l->subscriptions[i]->kind, '_').s);
		json_key(j, "days"), json_u64(j, l->subscriptions[i]->days);
		json_key(j, "credits"), json_u64(j, l->subscriptions[i]->credits);
		json_obj_end(j);
	}
	json_arr_end(j);
	JSON_ARRAY(j, "alerts", l->alerts, l->n_alerts, ctl_json_alert);
}

static void print_alerts(const ctl_args *a, const Ledger__Api__Reply *r)
{
	(void)a;
	const Ledger__Api__AlertsReply *l = r->alerts;
	printf("subscriptions (%zu):\n", l->n_subscriptions);
	for (size_t i = 0; i < l->n_subscriptions; i++) {
		const Ledger__Api__AlertSubscription *s = l->subscriptions[i];
		printf("  %-20s", ctl_enum_name(&ctl_enum_alert_kind, s->kind, '-').s);
		if (s->days)
			printf(" within %u days", s->days);
		if (s->kind == LEDGER__EVENTS__ALERT_KIND__ALERT_CREDITS_LOW && s->credits)
			printf(" below %" PRIu64 " credits", s->credits);
		else if (s->kind == LEDGER__EVENTS__ALERT_KIND__ALERT_CREDITS_LOW)
			printf(" below the firm's threshold");
		printf("\n");
	}
	printf("alerts (%zu, newest first):\n", l->n_alerts);
	for (size_t i = 0; i < l->n_alerts; i++)
		ctl_print_alert("  ", l->alerts[i]);
}

/* ----- the firm's views: queries that name the firm alone ----- */

typedef struct firm_view {
	Ledger__Api__Request__BodyCase body_case; /* its message's one field: firm_id */
	Ledger__Api__Reply__ResultCase want;
	result_json keys;
	result_print print;
} firm_view;

enum { VIEW_PREFERENCES, VIEW_DASHBOARD, VIEW_ALERTS };

static const firm_view firm_views[] = {
    [VIEW_PREFERENCES] = {LEDGER__API__REQUEST__BODY_PREFERENCES_SHOW, LEDGER__API__REPLY__RESULT_PREFERENCES,
                          preferences_keys, print_preferences},
    [VIEW_DASHBOARD] = {LEDGER__API__REQUEST__BODY_DASHBOARD, LEDGER__API__REPLY__RESULT_DASHBOARD, dashboard_keys,
                        print_dashboard},
    [VIEW_ALERTS] = {LEDGER__API__REQUEST__BODY_ALERTS_LIST, LEDGER__API__REPLY__RESULT_ALERTS, alerts_keys,
                     print_alerts},
};

/* `preferences show`, `dashboard`, `alerts list`: the command's tag names its view. The query's
 * message is made from its descriptor, as ctl_send finds it in the Request. */
static int run_firm_view(const ctl_args *a, char **pos)
{
	(void)pos;
	LEDGER_ASSERT(a->cmd->tag >= 0 && (size_t)a->cmd->tag < sizeof firm_views / sizeof firm_views[0]);
	const firm_view *v = &firm_views[a->cmd->tag];
	int rc = ctl_need_firm(a);
	if (rc)
		return rc;
	const ProtobufCMessageDescriptor *d =
	    protobuf_c_message_descriptor_get_field(&ledger__api__request__descriptor, (unsigned)v->body_case)
	        ->descriptor;
	const ProtobufCFieldDescriptor *firm = protobuf_c_message_descriptor_get_field_by_name(d, "firm_id");
	LEDGER_ASSERT(d->n_fields == 1 && firm && firm->type == PROTOBUF_C_TYPE_STRING);
	ProtobufCMessage *q = calloc(1, d->sizeof_message);
	if (!q) {
		fprintf(stderr, "ledgerctl: out of memory\n");
		return CTL_EXIT_REFUSED;
	}
	protobuf_c_message_init(d, q);
	const char *firm_id = a->firm;
	memcpy((char *)q + firm->offset, &firm_id, sizeof firm_id);
	rc = query_show(a, v->body_case, q, v->want, v->keys, v->print);
	free(q);
	return rc;
}

/* ----- the table ----- */

#define OPT_FIRM "  --firm FIRM               the firm\n"

const ctl_command ctl_platform_commands[] = {
    {"credits add", 0, "firm credits reference",
     "ledgerctl credits add --firm FIRM --credits N [--reference REF]\n"
     "  Credits the firm's account with N signature/seal credits (platform.credit: the firm's\n"
     "  EC). Sending a collection reserves credits; signatures and seals use them.\n" OPT_FIRM
     "  --credits N               how many, from 1 to 4294967295\n"
     "  --reference REF           e.g. the order or invoice number\n"
     "  example: ledgerctl --as ec@cab.fr --data DIR credits add --firm CAB --credits 100 --reference FA-2026-001\n",
     run_credits_add, 0},
    {"credits show", 0, "firm history",
     "ledgerctl credits show --firm FIRM [--history N]\n"
     "  The firm's credits: available, reserved by running collections, used, added in all, and\n"
     "  the latest movements, newest first (added, reserved, released, with their signed amount).\n"
     "  Needs platform.credit (the firm's EC).\n" OPT_FIRM
     "  --history N               how many movements, from 1 to 10000 (default 100)\n"
     "  example: ledgerctl --as ec@cab.fr --data DIR credits show --firm CAB --history 20\n",
     run_credits_show, 0},
    {"preferences set", 0, "firm expiry-days reminder-days no-reminders order credits-low sender-name signature-level",
     "ledgerctl preferences set --firm FIRM [--expiry-days N] [--reminder-days N | --no-reminders]\n"
     "                          [--order sequential|parallel] [--credits-low N] [--sender-name NAME]\n"
     "                          [--signature-level B-B|B-T|B-LT|B-LTA]\n"
     "  Changes the firm's defaults for new collections (platform.firm_settings: the firm's EC);\n"
     "  what is not given keeps its value.\n" OPT_FIRM "  --expiry-days N           days a collection runs once sent\n"
     "  --reminder-days N         an automatic reminder every N days\n"
     "  --no-reminders            no automatic reminders\n"
     "  --order sequential|parallel  the default signing order\n"
     "  --credits-low N           the credits-low alerts' default threshold\n"
     "  --sender-name NAME        the name invitations come from\n"
     "  --signature-level LEVEL   the PAdES level of the firm's signatures and seals (default\n"
     "                            B-LTA: time-stamped, validation data, document time-stamp)\n"
     "  example: ledgerctl --as ec@cab.fr --data DIR preferences set --firm CAB --expiry-days 30 \\\n"
     "             --reminder-days 3 --order parallel --sender-name \"Cabinet Dupont\"\n",
     run_preferences_set, 0},
    {"preferences show", 0, "firm",
     "ledgerctl preferences show --firm FIRM\n"
     "  The firm's defaults: expiry, reminders, signing order, credits-low threshold, sender name.\n"
     "  Anyone holding a right in the firm may read them.\n" OPT_FIRM
     "  example: ledgerctl --as ec@cab.fr --data DIR preferences show --firm CAB\n",
     run_firm_view, VIEW_PREFERENCES},
    {"stats", 0, "firm from to",
     "ledgerctl stats --firm FIRM [--from YYYY-MM] [--to YYYY-MM]\n"
     "  The firm's statistics (platform.stats: the firm's EC), by month (Paris time), by\n"
     "  collaborator and by kind: collections created, sent, completed; signatures, seals,\n"
     "  credits used. --json adds the detailed rows (month x collaborator x kind).\n" OPT_FIRM
     "  --from YYYY-MM            the first month (default: the first there is)\n"
     "  --to YYYY-MM              the last month, included (default: the last there is)\n"
     "  example: ledgerctl --as ec@cab.fr --data DIR stats --firm CAB --from 2026-01 --to 2026-06\n",
     run_stats, 0},
    {"dashboard", 0, "firm",
     "ledgerctl dashboard --firm FIRM\n"
     "  The caller's dashboard in FIRM: credits available, collections by state, my running\n"
     "  collections, those waiting for me (my turn to sign; approvals, for the EC), those expiring\n"
     "  within 3 days, my delegations and my latest alerts.\n" OPT_FIRM
     "  example: ledgerctl --as prep@cab.fr --data DIR dashboard --firm CAB\n",
     run_firm_view, VIEW_DASHBOARD},
    {"contacts export", 0, "firm output",
     "ledgerctl contacts export --firm FIRM [-o FILE.csv]\n"
     "  Downloads the firm's contacts base (the signers of its collections) as CSV (RFC 4180,\n"
     "  UTF-8, a header row) to FILE or stdout. --json: the count, and the CSV text without -o.\n" OPT_FIRM
     "  -o, --output FILE         where to write the CSV (\"-\": stdout)\n"
     "  example: ledgerctl --as prep@cab.fr --data DIR contacts export --firm CAB -o contacts.csv\n",
     run_contacts_export, 0},
    {"alerts subscribe", 0, "firm kind days credits",
     "ledgerctl alerts subscribe --firm FIRM --kind KIND [--days N] [--credits N]\n"
     "  Subscribes the caller to one kind of alert in FIRM (subscribing again changes it).\n" OPT_FIRM
     "  --kind KIND               delegation-expiring (needs --days): one of my delegations expires\n"
     "                            credits-low (--credits, default the firm's threshold)\n"
     "                            collection-expiring (needs --days): a collection I created\n"
     "                            collection-finished: a collection I created completed, was\n"
     "                            declined or expired\n"
     "  --days N                  how long before, from 1 to 365 days\n"
     "  --credits N               below how many available credits\n"
     "  example: ledgerctl --as prep@cab.fr --data DIR alerts subscribe --firm CAB \\\n"
     "             --kind collection-expiring --days 3\n",
     run_alerts_subscribe, 0},
    {"alerts unsubscribe", 0, "firm kind",
     "ledgerctl alerts unsubscribe --firm FIRM --kind KIND\n"
     "  Ends the caller's subscription to one kind of alert in FIRM.\n" OPT_FIRM
     "  --kind KIND               delegation-expiring, credits-low, collection-expiring or\n"
     "                            collection-finished\n"
     "  example: ledgerctl --as prep@cab.fr --data DIR alerts unsubscribe --firm CAB --kind credits-low\n",
     run_alerts_unsubscribe, 0},
    {"alerts list", 0, "firm",
     "ledgerctl alerts list --firm FIRM\n"
     "  The caller's subscriptions in FIRM and the latest alerts raised for them (newest first,\n"
     "  at most 100).\n" OPT_FIRM "  example: ledgerctl --as prep@cab.fr --data DIR --json alerts list --firm CAB\n",
     run_firm_view, VIEW_ALERTS},
    {NULL, 0, NULL, NULL, NULL, 0},
};

/*
 * ledgerctl_common.h: what the source files of ledgerctl share (private to the executable;
 * prefix ctl_). ledgerctl.c parses the command line into a ctl_args and finds the command in
 * the tables; each command builds one Request, sends it with ctl_call and prints the Reply.
 *
 * Conventions every command keeps (docs/cli.md):
 *  - exit status CTL_EXIT_OK, CTL_EXIT_REFUSED (a typed error, a transport failure, a refusal
 *    such as `can` denied) or CTL_EXIT_USAGE (detected before anything is sent);
 *  - --json: one JSON object on stdout, enum values spelled as in ctl_enum_name(.., '_');
 *  - human output on stdout, errors on stderr as "ledgerctl: CODE: message".
 */
#ifndef API_LEDGERCTL_COMMON_H
#define API_LEDGERCTL_COMMON_H

#include "api.pb-c.h"
#include "json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_EXIT_OK      0
#define CTL_EXIT_REFUSED 1
#define CTL_EXIT_USAGE   2

#define CTL_SHA256_BYTES 32u
#define CTL_SHA256_HEX   (2u * CTL_SHA256_BYTES + 1u) /* with its NUL */
/* "2026-03-01T12:00:00Z" and its NUL, with room for years past 9999. */
#define CTL_TIME_BYTES 32u
/* How many options the command line knows (ledgerctl.c's table must fit). */
#define CTL_OPTIONS_MAX 96u

struct ctl_command;

/* The command line, as given: every option's text, parsed by the command that takes it. */
typedef struct ctl_args {
	/* global options */
	const char *server, *token, *as, *data, *request_id, *timeout, *ttl;
	const char *tls_ca, *tls_server_name, *tls_cert, *tls_key; /* for a tls+tcp:// server */
	bool platform, json, help;
	/* tokens, accounts, delegations, registration (ledgerctl.c) */
	const char *sub, *name, *firm, *to, *rights, *expires, *actor, *ec_email, *import_file;
	const char *step, *provider, *provider_ref, *method, *phone, *id_ref, *terms_version, *rgpd_version,
	    *subscription_version, *reason;
	const char *siren, *given_name, *surname; /* ETSI EN 319 412 subject fields */
	bool ec;
	/* collections and documents (ledgerctl_collections.c) */
	const char *kind, *title, *deadline, *order, *expiry_days, *reminder_days, *state, *email, *signers, *signer,
	    *document, *page, *rect, *comment, *folder, *action, *expected_version, *output, *masked_destination,
	    *code_sent_at, *documents, *consent_version;
	bool all, external, no_deadline, sequential, parallel;
	/* credits, preferences, stats, alerts (ledgerctl_platform.c) */
	const char *credits, *reference, *history, *credits_low, *sender_name, *from, *days;
	bool no_reminders;
	/* the transparency log (ledgerctl_log.c) */
	const char *log_key, *key_file;
	const char *signature_level; /* preferences set */
	const char *due_before;      /* document renew-timestamp, renew-due (ledgerctl_archive.c) */
	/* derived by ledgerctl.c before the command runs */
	long ttl_s;
	int timeout_ms;
	const struct ctl_command *cmd; /* the command being run */
} ctl_args;

typedef struct ctl_command {
	const char *name;    /* its words: "collection show" */
	int positional;      /* arguments after the words */
	const char *options; /* the non-global options it takes, space-separated; any other is a usage error */
	const char *usage;   /* --help: first line the synopsis, then what it does, options, an example */
	int (*run)(const ctl_args *a, char **positional);
	int tag; /* for commands sharing one run function: e.g. the act of `collection approve` */
} ctl_command;

/* The command tables, each ended by an entry whose name is NULL. */
extern const ctl_command ctl_account_commands[];
extern const ctl_command ctl_collection_commands[];
extern const ctl_command ctl_document_commands[];
extern const ctl_command ctl_platform_commands[];
extern const ctl_command ctl_log_commands[];
extern const ctl_command ctl_archive_commands[];

/* ----- requests and replies (ledgerctl_common.c) ----- */

/* Mints a token for sub, valid ttl_s seconds, from DIR/keys/idp.sk into out
 * (API_TOKEN_BYTES_MAX bytes). False, with a message, if it cannot. */
bool ctl_mint(const char *data, const char *sub, bool platform, long ttl_s, char *out);

/* Prints "ledgerctl: WHAT (see ledgerctl --help)" on stderr; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const char *what);
/* Same, formatted; names the command whose --help to read. */
int ctl_usage_errorf(const ctl_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Sends req (filling its token and request id from a) and returns the reply, the caller's to
 * free (ledger__api__reply__free_unpacked). NULL, with *exit_code set and the reason printed,
 * when there is no server or no credentials (usage) or no reply (refused).
 */
Ledger__Api__Reply *ctl_call(const ctl_args *a, Ledger__Api__Request *req, int *exit_code);

/*
 * ctl_call, then: a reply with an error is printed (ctl_print_error) and freed; so is one
 * without the `want` result (unless want is LEDGER__API__REPLY__RESULT__NOT_SET). NULL then,
 * with *exit_code set; otherwise the successful reply, the caller's.
 */
Ledger__Api__Reply *ctl_call_ok(const ctl_args *a, Ledger__Api__Request *req, Ledger__Api__Reply__ResultCase want,
                                int *exit_code);

/*
 * ctl_call_ok of a Request whose body is `body`, the message of the oneof case body_case (a
 * Ledger__Api__Can for LEDGER__API__REQUEST__BODY_CAN: a mismatch is a bug, and asserted). The
 * one place a command's message is put in a Request.
 */
Ledger__Api__Reply *ctl_send(const ctl_args *a, Ledger__Api__Request__BodyCase body_case, ProtobufCMessage *body,
                             Ledger__Api__Reply__ResultCase want, int *exit_code);

/* ctl_send of a command without a result to show, finished as ctl_finish_command does with
 * human. Returns the exit status. */
int ctl_send_command(const ctl_args *a, Ledger__Api__Request__BodyCase body_case, ProtobufCMessage *body,
                     const char *human);

/* Prints a typed error (human on stderr, JSON on stdout); returns CTL_EXIT_REFUSED. */
int ctl_print_error(const ctl_args *a, const Ledger__Api__Reply *r);

/* A reply's JSON object on stdout (--json), on one line: ctl_json_begin opens it with its "ok"
 * key, ctl_json_end closes it and the line. */
void ctl_json_begin(json_out *j, bool ok);
void ctl_json_end(json_out *j);

/* Writes the keys every command's JSON object has after "ok": seq, hash, replayed, request_id. */
void ctl_json_ack(json_out *j, const Ledger__Api__Reply *r);

/*
 * The common tail of a command without a result to show: the error, or "HUMAN (seq N)" /
 * the ack in JSON. Frees r. Returns the exit status.
 */
int ctl_finish_command(const ctl_args *a, Ledger__Api__Reply *r, const char *human);

/* ----- input (ledgerctl_common.c) ----- */

/* Reads a whole file of at most max bytes, the caller's to free. NULL, with a message naming
 * `option` and path, if it cannot. */
uint8_t *ctl_read_file(const char *option, const char *path, size_t max, size_t *n);

/* 0 when --firm is given; else "COMMAND needs --firm FIRM" and CTL_EXIT_USAGE. */
int ctl_need_firm(const ctl_args *a);

/* Strict parses; each prints "ledgerctl: OPTION VALUE: what is expected" and returns
 * CTL_EXIT_USAGE on bad input, 0 when *out is set. */
int ctl_parse_u64(const char *option, const char *text, uint64_t min, uint64_t max, uint64_t *out);
int ctl_parse_u32(const char *option, const char *text, uint32_t min, uint32_t max, uint32_t *out);
/* Exactly 64 hex digits (either case). */
int ctl_parse_sha256(const char *option, const char *text, uint8_t out[CTL_SHA256_BYTES]);
/* YYYY-MM-DD with a month 01-12 and a day 01-31 (ledgerd checks that the date exists). */
int ctl_parse_date(const char *option, const char *text);
/* YYYY-MM with a month 01-12. */
int ctl_parse_month(const char *option, const char *text);

/* Splits a comma-separated list in place into items (at most max); empty items are skipped.
 * Returns the count, or -1 if there are more than max. */
int ctl_split_list(char *s, char **items, int max);

/* The file -o names for a command's bytes; NULL for none or "-" (stdout). */
const char *ctl_output_path(const ctl_args *a);

/* A command's bytes: into output (ctl_output_path), or on stdout unless --json, whose object
 * carries them itself. ctl_write_file's status; CTL_EXIT_OK when nothing is written. */
int ctl_output_bytes(const ctl_args *a, const char *output, const void *data, size_t n);

/* Writes n bytes to path (created or truncated; "-" is stdout). CTL_EXIT_REFUSED, with a
 * message, if it cannot (a partial file is removed). */
int ctl_write_file(const char *path, const void *data, size_t n);

/* ----- enums: one spelling for people and one for JSON ----- */

/*
 * A protobuf enum as ledgerctl spells it: the value's proto name without `prefix`, in lower
 * case ("STATE_PENDING_APPROVAL" -> "pending-approval" on the command line,
 * "pending_approval" in --json, as rights and registration steps are). The value 0 (the
 * "unspecified" one) is "" and never parses. `hidden` values (a bit per value) are printed
 * but not accepted on the command line.
 */
typedef struct ctl_enum {
	const ProtobufCEnumDescriptor *descriptor;
	const char *prefix;
	unsigned hidden;
} ctl_enum;

typedef struct ctl_name {
	char s[48];
} ctl_name;

extern const ctl_enum ctl_enum_kind, ctl_enum_state, ctl_enum_order, ctl_enum_signer_action, ctl_enum_signer_kind,
    ctl_enum_alert_kind;

/* The value's name with separator sep ('-' for people, '_' for JSON); "" for 0; "unknown-N"
 * for a value this build does not know. */
ctl_name ctl_enum_name(const ctl_enum *e, int value, char sep);
/* Parses text (dashes or underscores, lower case) into *value; on failure prints
 * "OPTION TEXT: one of a, b, c" and returns CTL_EXIT_USAGE. */
int ctl_enum_parse(const ctl_enum *e, const char *option, const char *text, int *value);

/* ----- output helpers ----- */

/* 64 lower-case hex digits of a 32-byte hash; "" when h is not 32 bytes long. */
void ctl_hex_sha256(ProtobufCBinaryData h, char out[CTL_SHA256_HEX]);
/* "YYYY-MM-DDTHH:MM:SSZ" (UTC) of microseconds since the epoch; "" for 0. */
void ctl_time_iso(int64_t us, char out[CTL_TIME_BYTES]);
/* "-" for an empty string: human columns never collapse. */
const char *ctl_dash(const char *s);

/* JSON values json.c does not write: a signed integer, a real number (null when not finite). */
void ctl_json_i64(json_out *j, int64_t v);
void ctl_json_real(json_out *j, double v);

#endif

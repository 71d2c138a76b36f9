/*
 * ledgerctl: the command-line client of ledgerd. One subcommand per command or query, each
 * with --help; --json for scripts; exit 0 ok, 1 refused or failed, 2 usage (docs/cli.md).
 *
 * This file is the command-line machinery: global options, finding the command, its options
 * and --help, usage. The commands are in ledgerctl_accounts.c (accounts, firms, delegations,
 * registration), ledgerctl_collections.c and ledgerctl_platform.c; ledgerctl_common.c holds
 * what they share (connection, credentials, output).
 */
#include "ledgerctl_common.h"

#include "ledger.h"
#include "projections.h"
#include "token.h"

#include <assert.h>
#include <getopt.h>
#include <nng/nng.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every command, table by table, in the order `ledgerctl --help` lists them. */
static const ctl_command *const command_tables[] = {ctl_account_commands,  ctl_collection_commands,
                                                    ctl_document_commands, ctl_archive_commands,
                                                    ctl_platform_commands, ctl_log_commands};
#define TABLE_COUNT (sizeof command_tables / sizeof command_tables[0])

static const char global_usage[] =
    "global options (before or after the command):\n"
    "  --server URL       ledgerd's address (default: $LEDGER_SERVER, else ipc://DIR/ledgerd.sock\n"
    "                     with --data DIR)\n"
    "  --token TOKEN      bearer token (default: $LEDGER_TOKEN)\n"
    "  --as EMAIL --data DIR   mint a short-lived token for EMAIL from DIR's identity-provider key\n"
    "  --platform --data DIR   mint a token with the platform role\n"
    "  --json             machine-readable output on stdout\n"
    "  --request-id ID    the command's request id (default: random); reuse it to retry safely\n"
    "  --timeout MS       how long to wait for a reply (default 10000)\n"
    "  --tls-ca FILE      for a tls+tcp://HOST:PORT server: the PEM CA certificate(s) its certificate\n"
    "                     must chain to (default: $LEDGER_TLS_CA; required for such a server)\n"
    "  --tls-server-name NAME  the name the server's certificate must carry (default: HOST)\n"
    "  --tls-cert FILE --tls-key FILE  this client's PEM certificate and key, for a server that\n"
    "                     requires one (mutual TLS); the key must be mode 0600 or stricter\n"
    "exit status: 0 ok, 1 refused or failed (the message says why), 2 usage error\n";

/* ----- the command line ----- */

/* One option: its text goes to a field of ctl_args (a const char * for an option taking a
 * value, a bool for a flag). Global options are taken by every command. */
typedef struct option_spec {
	const char *name;
	int has_arg;
	size_t offset;
	bool global;
} option_spec;

#define VALUE(name, field)                                                                                             \
	{                                                                                                              \
		name, required_argument, offsetof(ctl_args, field), false                                              \
	}
#define FLAG(name, field)                                                                                              \
	{                                                                                                              \
		name, no_argument, offsetof(ctl_args, field), false                                                    \
	}
#define GLOBAL(name, field)                                                                                            \
	{                                                                                                              \
		name, required_argument, offsetof(ctl_args, field), true                                               \
	}

static const option_spec option_specs[] = {
    GLOBAL("server", server),
    GLOBAL("token", token),
    GLOBAL("as", as),
    GLOBAL("data", data),
    {"platform", no_argument, offsetof(ctl_args, platform), true},
    {"json", no_argument, offsetof(ctl_args, json), true},
    {"help", no_argument, offsetof(ctl_args, help), true},
    GLOBAL("request-id", request_id),
    GLOBAL("timeout", timeout),
    GLOBAL("tls-ca", tls_ca),
    GLOBAL("tls-server-name", tls_server_name),
    GLOBAL("tls-cert", tls_cert),
    GLOBAL("tls-key", tls_key),
    /* --ec alone: the account is an EC (account add); --ec EMAIL: the firm's EC (firm add). */
    {"ec", optional_argument, offsetof(ctl_args, ec_email), false},
    VALUE("sub", sub),
    VALUE("ttl", ttl),
    VALUE("name", name),
    VALUE("firm", firm),
    VALUE("to", to),
    VALUE("rights", rights),
    VALUE("expires", expires),
    VALUE("actor", actor),
    VALUE("import", import_file),
    VALUE("step", step),
    VALUE("provider", provider),
    VALUE("provider-ref", provider_ref),
    VALUE("masked-destination", masked_destination),
    VALUE("code-sent-at", code_sent_at),
    VALUE("documents", documents),
    VALUE("consent-version", consent_version),
    VALUE("method", method),
    VALUE("phone", phone),
    VALUE("id-ref", id_ref),
    VALUE("terms-version", terms_version),
    VALUE("rgpd-version", rgpd_version),
    VALUE("subscription-version", subscription_version),
    VALUE("siren", siren),
    VALUE("given-name", given_name),
    VALUE("surname", surname),
    VALUE("reason", reason),
    VALUE("kind", kind),
    VALUE("title", title),
    VALUE("deadline", deadline),
    FLAG("no-deadline", no_deadline),
    VALUE("order", order),
    VALUE("expiry-days", expiry_days),
    VALUE("reminder-days", reminder_days),
    FLAG("no-reminders", no_reminders),
    VALUE("state", state),
    FLAG("all", all),
    VALUE("email", email),
    FLAG("external", external),
    FLAG("sequential", sequential),
    FLAG("parallel", parallel),
    VALUE("signers", signers),
    VALUE("signer", signer),
    VALUE("document", document),
    VALUE("page", page),
    VALUE("rect", rect),
    VALUE("comment", comment),
    VALUE("folder", folder),
    VALUE("action", action),
    VALUE("expected-version", expected_version),
    VALUE("output", output),
    VALUE("credits", credits),
    VALUE("reference", reference),
    VALUE("history", history),
    VALUE("credits-low", credits_low),
    VALUE("sender-name", sender_name),
    VALUE("from", from),
    VALUE("days", days),
    VALUE("log-key", log_key),
    VALUE("key-file", key_file),
    VALUE("signature-level", signature_level),
    VALUE("due-before", due_before),
};
#define OPTION_COUNT    (sizeof option_specs / sizeof option_specs[0])
#define OPTION_VAL_BASE 256 /* getopt_long's value for option_specs[i]: above every short option */
_Static_assert(OPTION_COUNT <= CTL_OPTIONS_MAX, "raise CTL_OPTIONS_MAX");

static int option_find(const char *name)
{
	for (size_t i = 0; i < OPTION_COUNT; i++)
		if (strcmp(option_specs[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Stores one option found by getopt_long into a. */
static void option_set(ctl_args *a, const option_spec *o, int argc, char **argv)
{
	char *field = (char *)a + o->offset;
	if (o->has_arg == required_argument) {
		*(const char **)field = optarg;
		return;
	}
	if (o->has_arg == no_argument) {
		*(bool *)field = true;
		return;
	}
	assert(o->has_arg == optional_argument && strcmp(o->name, "ec") == 0);
	if (optarg) { /* --ec=EMAIL */
		a->ec_email = optarg;
	} else if (optind < argc && strchr(argv[optind], '@') && argv[optind][0] != '-') {
		a->ec_email = argv[optind++]; /* --ec EMAIL */
	} else {
		a->ec = true;
	}
}

/* Parses every option into a (and marks it in seen). CTL_EXIT_USAGE on an unknown one. */
static int options_parse(int argc, char **argv, ctl_args *a, bool seen[CTL_OPTIONS_MAX])
{
	struct option longs[OPTION_COUNT + 1];
	for (size_t i = 0; i < OPTION_COUNT; i++)
		longs[i] =
		    (struct option){option_specs[i].name, option_specs[i].has_arg, NULL, OPTION_VAL_BASE + (int)i};
	longs[OPTION_COUNT] = (struct option){NULL, 0, NULL, 0};
	int c;
	while ((c = getopt_long(argc, argv, "ho:", longs, NULL)) != -1) {
		int i = c == 'h' ? option_find("help") : c == 'o' ? option_find("output") : c - OPTION_VAL_BASE;
		if (i < 0 || (size_t)i >= OPTION_COUNT)
			return ctl_usage_error("bad option");
		seen[i] = true;
		option_set(a, &option_specs[i], argc, argv);
	}
	char *end;
	if (a->timeout) {
		long ms = strtol(a->timeout, &end, 10);
		if (*end || ms < 1 || ms > 24L * 3600 * 1000)
			return ctl_usage_error("--timeout: milliseconds, from 1 to 86400000");
		a->timeout_ms = (int)ms;
	}
	if (a->ttl) {
		a->ttl_s = strtol(a->ttl, &end, 10);
		if (*end || !a->ttl[0])
			return ctl_usage_error("--ttl: seconds");
	}
	return 0;
}

/* True if the space-separated list holds word. */
static bool list_has(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; *p;) {
		size_t w = strcspn(p, " ");
		if (w == n && strncmp(p, word, n) == 0)
			return true;
		p += w;
		p += strspn(p, " ");
	}
	return false;
}

/* An option the command does not take is a usage error, not silently ignored. */
static int options_check(const ctl_command *cmd, const bool seen[CTL_OPTIONS_MAX])
{
	for (size_t i = 0; i < OPTION_COUNT; i++) {
		if (!seen[i] || option_specs[i].global || list_has(cmd->options, option_specs[i].name))
			continue;
		fprintf(stderr, "ledgerctl: %s does not take --%s\nusage: %s", cmd->name, option_specs[i].name,
		        cmd->usage);
		return CTL_EXIT_USAGE;
	}
	return 0;
}

/* The command whose words the arguments start with (*words of them); NULL if none. */
static const ctl_command *command_find(char **rest, int nrest, int *words)
{
	for (size_t t = 0; t < TABLE_COUNT; t++) {
		for (const ctl_command *cmd = command_tables[t]; cmd->name; cmd++) {
			int n = 0;
			const char *p = cmd->name;
			while (*p && n < nrest) {
				size_t w = strcspn(p, " ");
				if (strlen(rest[n]) != w || strncmp(rest[n], p, w) != 0)
					break;
				n++;
				p += w;
				p += *p == ' ';
			}
			if (*p == '\0' && n > 0) {
				*words = n;
				return cmd;
			}
		}
	}
	return NULL;
}

/* Prints the synopsis of every command (whose first word is group, when not NULL) on f, or
 * only counts them when f is NULL. Returns the count. */
static size_t print_synopses(FILE *f, const char *group)
{
	size_t listed = 0, n = group ? strlen(group) : 0;
	for (size_t t = 0; t < TABLE_COUNT; t++) {
		for (const ctl_command *cmd = command_tables[t]; cmd->name; cmd++) {
			if (group && (strncmp(cmd->name, group, n) != 0 || cmd->name[n] != ' '))
				continue;
			if (f)
				fprintf(f, "  %.*s\n", (int)strcspn(cmd->usage, "\n"), cmd->usage);
			listed++;
		}
	}
	return listed;
}

static void print_usage(FILE *f)
{
	fprintf(f, "usage: ledgerctl [global options] COMMAND [options]\n\ncommands:\n");
	print_synopses(f, NULL);
	fprintf(f, "\n%s", global_usage);
	fprintf(f, "`ledgerctl COMMAND --help` details one command.\n");
}

/* No command matched. A group's word ("collection") lists the group's commands. */
static int no_command(const ctl_args *a, char **rest, int nrest)
{
	if (print_synopses(NULL, rest[0]) == 0) {
		fprintf(stderr, "ledgerctl: unknown command \"%s\"\n", rest[0]);
		print_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	FILE *f = a->help ? stdout : stderr;
	if (a->help)
		fprintf(f, "ledgerctl %s commands:\n", rest[0]);
	else if (nrest > 1)
		fprintf(f, "ledgerctl: unknown command \"%s %s\"; the %s commands are:\n", rest[0], rest[1], rest[0]);
	else
		fprintf(f, "ledgerctl: %s needs a subcommand:\n", rest[0]);
	print_synopses(f, rest[0]);
	fprintf(f, "`ledgerctl %s SUBCOMMAND --help` details one.\n", rest[0]);
	return a->help ? CTL_EXIT_OK : CTL_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	ctl_args a = {.ttl_s = 3600, .timeout_ms = 10000};
	bool seen[CTL_OPTIONS_MAX] = {false};
	int rc = options_parse(argc, argv, &a, seen);
	if (rc)
		return rc;
	char **rest = argv + optind;
	int nrest = argc - optind, words = 0;
	if (nrest == 0) {
		print_usage(a.help ? stdout : stderr);
		return a.help ? CTL_EXIT_OK : CTL_EXIT_USAGE;
	}
	const ctl_command *cmd = command_find(rest, nrest, &words);
	if (!cmd)
		return no_command(&a, rest, nrest);
	a.cmd = cmd;
	if (a.help) {
		printf("%s\n%s", cmd->usage, global_usage);
		return CTL_EXIT_OK;
	}
	rc = options_check(cmd, seen);
	if (rc)
		return rc;
	char *moved[2];
	if (strcmp(cmd->name, "account add") == 0 && a.ec_email && nrest == words) {
		/* `account add --ec EMAIL ...`: the address was taken as --ec's value. */
		moved[0] = (char *)a.ec_email;
		moved[1] = NULL;
		a.ec = true;
		a.ec_email = NULL;
		rest = moved;
		words = 0;
		nrest = 1;
	}
	if (nrest - words != cmd->positional) {
		fprintf(stderr, "ledgerctl: %s takes %d argument(s)\nusage: %s", cmd->name, cmd->positional,
		        cmd->usage);
		return CTL_EXIT_USAGE;
	}
	if (sodium_init() < 0)
		return CTL_EXIT_REFUSED;
	return cmd->run(&a, rest + words);
}

/*
 * ledgerd: the ledger daemon. `init` creates a data directory, `serve` serves it.
 */
#include "import.h"
#include "pki_http.h"
#include "ledger.h"
#include "projections.h"
#include "server.h"
#include "signer.h"
#include "tlog.h"
#include "token.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef LEDGER_TEST_CLOCK
#define CLOCK_FILE_USAGE " [--clock-file FILE]"
#define CLOCK_FILE_HELP                                                                                                \
	"  --clock-file FILE   read the time (YYYY-MM-DDTHH:MM:SSZ) from FILE (init takes it too: the\n"               \
	"                      log's first event is dated by it). Only in ledgerd-test-clock, the\n"                   \
	"                      tests' build: the production ledgerd always dates by the system clock\n"
#else
#define CLOCK_FILE_USAGE ""
#define CLOCK_FILE_HELP  ""
#endif

#define STRINGIFY_VALUE(x) #x
#define STRINGIFY(x)       STRINGIFY_VALUE(x)

/* The help text is laid out as it prints. */
/* clang-format off */
static const char usage[] =
    "usage: ledgerd init  --data DIR [--log-origin NAME] [--pki-url URL] [--organization-identifier ID]\n"
    "                     [HSM options]" CLOCK_FILE_USAGE "\n"
    "       ledgerd serve --data DIR [--listen URL]... [--pub URL] [options]\n"
    "\n"
    "init   creates DIR: the LMDB store (data.mdb), the embedded identity provider's key\n"
    "       pair (keys/idp.sk, keys/idp.pk), the service key pair (keys/service.*),\n"
    "       the personal-data key (keys/personal.key), and the log key that signs the\n"
    "       checkpoints (keys/log.key, secret; keys/log.vkey, its C2SP verifier key, printed\n"
    "       for auditors and witnesses), and the PKCS #11 token of the signer's private keys:\n"
    "       an embedded SoftHSM2 token (keys/softhsm2.conf, keys/tokens/, its PIN in\n"
    "       keys/token.pin) unless HSM options name another, written in keys/pkcs11.conf.\n"
    "       The first serve generates the signer's root CA key in that token and writes its\n"
    "       certificate (keys/signer-ca.pem: the trust anchor of the signatures), then the\n"
    "       issuing CAs' (persons, seals, tsa: keys/signer-ca-NAME.pem), dated by the\n"
    "       service's clock.\n"
    "       Secret keys are 0600 in a 0700 directory. Refuses a directory that has a store.\n"
    "  --log-origin NAME   the log's name in its checkpoints and key (default\n"
    "                      jse-ledger/LOG-ID), e.g. signature.example.fr/ledger\n"
    "  --pki-url URL       where relying parties reach the OCSP responder and each CA's\n"
    "                      CRL and certificate (URL/ocsp, URL/crl/CA.crl, URL/ca/CA.crt),\n"
    "                      written in every certificate; http://HOST[:PORT][/PATH] (default\n"
    "                      " API_PKI_URL_DEFAULT "), kept in DIR/" API_PKI_URL_FILE " (docs/operations.md#pki)\n"
    "  --organization-identifier ID  the platform's organizationIdentifier in the CAs'\n"
    "                      names, ETSI EN 319 412-1 form (NTRFR-<SIREN>); default\n"
    "                      " SIGNER_ORGANIZATION_IDENTIFIER_DEFAULT ", a placeholder; kept in DIR/" API_ORGANIZATION_IDENTIFIER_FILE "\n"
    "HSM options of init (docs/operations.md#hsm): a token initialised beforehand\n"
    "  --pkcs11-module PATH    its PKCS #11 module (absolute path)\n"
    "  --pkcs11-token LABEL    its label\n"
    "  --pkcs11-pin-file FILE  a file (absolute path, no access for group or others)\n"
    "                          holding the user PIN; or\n"
    "  --pkcs11-pin-env NAME   the environment variable holding it, set for init and serve\n"
    "serve  serves DIR until SIGTERM or SIGINT (then drains: every queued command is\n"
    "       committed and answered before exit).\n"
    "\n"
    "options of serve:\n"
    "  --listen URL        where requests are taken (repeatable, up to " STRINGIFY(API_LISTEN_URLS_COUNT_MAX) "): ipc://PATH,\n"
    "                      tcp://HOST:PORT or tls+tcp://HOST:PORT (TLS: needs --tls-cert\n"
    "                      and --tls-key). Default: ipc://DIR/ledgerd.sock\n"
    "  --pub URL           where committed events are published (nng pub/sub); may be\n"
    "                      tls+tcp:// too. Default: ipc://DIR/ledgerd-events.sock\n"
    "  --tls-cert FILE     the server's PEM certificate chain, for the tls+tcp:// URLs\n"
    "  --tls-key FILE      its PEM private key, unencrypted; refused if group or others\n"
    "                      have any access to it (chmod 600)\n"
    "  --tls-ca FILE       PEM certificates of the CA that signs client certificates\n"
    "  --tls-client-auth   mutual TLS: refuse clients without a certificate signed by\n"
    "                      --tls-ca (tokens still name the actor: docs/rpc.md#tls)\n"
    "  --witness VKEY      a witness whose cosignatures of the checkpoints are kept and\n"
    "                      served (its C2SP cosignature/v1 verifier key file; repeatable,\n"
    "                      up to " STRINGIFY(API_WITNESSES_MAX) ")\n"
    "  --tsa-url URL       time-stamps (PAdES B-T, B-LTA) from this external RFC 3161\n"
    "                      authority (HTTP POST application/timestamp-query) instead of\n"
    "                      the CA's own; needs --tsa-ca. A signature is refused when its\n"
    "                      time and the service's clock are further apart than\n"
    "                      --tsa-tolerance, or when it cannot answer (docs/signer.md)\n"
    "  --tsa-ca FILE       PEM certificates the authority's tokens must chain to\n"
    "  --tsa-tolerance S   the largest gap allowed, in seconds (default " STRINGIFY(API_TSA_TOLERANCE_S_DEFAULT) ", at most " STRINGIFY(SIGNER_TSA_TOLERANCE_S_MAX) ")\n"
    "  --tsa-timeout-ms MS how long one time-stamp request may take (default " STRINGIFY(API_TSA_TIMEOUT_MS_DEFAULT) ")\n"
    "  --tsa-renew-days N  re-issue the CA's own time-stamping unit's and OCSP responder's\n"
    "                      certificates at start when they have fewer than N days left\n"
    "                      (default 365, at most 1460)\n"
    "  --pki-listen HOST:PORT  where the PKI endpoint (OCSP, CRL, CA certificate over HTTP)\n"
    "                      listens; default: the host and port of DIR/" API_PKI_URL_FILE " (a reverse\n"
    "                      proxy in front: docs/operations.md#pki)\n"
    "  --workers N         requests served concurrently (default " STRINGIFY(API_WORKERS_DEFAULT) ", at most " STRINGIFY(API_WORKERS_MAX) ")\n"
    "  --map-size BYTES    initial LMDB map size (default 64 MiB; suffixes K M G)\n"
    "  --map-size-max BYTES  the map doubles when full up to this (default 64 GiB); past it\n"
    "                      commands fail with STORAGE_FULL and nothing is written\n"
    "  --document-max-bytes BYTES  largest PDF accepted in a collection (default 10 MiB, at\n"
    "                      most 64 MiB; suffixes K M G); requests may be 1 MiB larger\n"
    CLOCK_FILE_HELP
    "  --ready-fd FD       write \"ready\\n\" to FD once listening (for supervisors, tests)\n"
    "  -h, --help          this help\n"
    "\n"
    "exit status: 0 clean stop, 1 failure (the message names it), 2 usage error, 3 store\n"
    "damaged: restore it from a backup\n";
/* clang-format on */

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "ledgerd: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(see ledgerd --help)\n");
	return 2;
}

/* Decimal digits only (no sign, no space), min to max. */
static bool parse_decimal(const char *s, long min, long max, long *out)
{
	if (*s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* A descriptor number as the supervisor passed it. */
static bool parse_fd(const char *s, int *out)
{
	long v;
	if (!parse_decimal(s, 0, API_READY_FD_MAX, &v))
		return false;
	*out = (int)v;
	return true;
}

static bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	long v;
	if (!parse_decimal(s, (long)min, (long)max, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_bytes(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10, end++;
	else if (*end == 'M' || *end == 'm')
		shift = 20, end++;
	else if (*end == 'G' || *end == 'g')
		shift = 30, end++;
	if (*end || v > (~0ull >> shift))
		return false;
	*out = (size_t)(v << shift);
	return true;
}

/* The TLS options and the tls+tcp:// URLs go together: one without the other is a mistake
 * (a listener that cannot start, or a certificate that protects nothing). */
static int check_tls_options(const char *cmd, const api_server_options *o)
{
	const api_tls_options *t = &o->tls;
	bool given = t->cert_file || t->key_file || t->ca_file || t->client_auth;
	const char *tls_url = api_tls_url(o->pub_url) ? o->pub_url : NULL;
	for (size_t i = 0; !tls_url && o->listen[i]; i++)
		if (api_tls_url(o->listen[i]))
			tls_url = o->listen[i];
	if (given && strcmp(cmd, "serve") != 0)
		return usage_error("%s takes no --tls-* option", cmd);
	if (given && !tls_url)
		return usage_error("%s", "--tls-* options need a tls+tcp:// --listen or --pub URL");
	if (tls_url && (!t->cert_file || !t->key_file))
		return usage_error("%s needs --tls-cert FILE and --tls-key FILE", tls_url);
	if (t->client_auth && !t->ca_file)
		return usage_error("%s", "--tls-client-auth needs --tls-ca FILE (the CA of the client certificates)");
	if (t->ca_file && !t->client_auth)
		return usage_error("--tls-ca %s is the CA of client certificates: give --tls-client-auth too",
		                   t->ca_file);
	return 0;
}

/* The HSM options go together, with init only; the PIN never comes from the command line. */
static int check_hsm_options(const char *cmd, const signer_token_config *hsm)
{
	bool given = hsm->module_path || hsm->token_label || hsm->pin_file || hsm->pin_env;
	if (given && strcmp(cmd, "init") != 0)
		return usage_error("%s takes no --pkcs11-* option: serve reads keys/pkcs11.conf", cmd);
	if (given && (!hsm->module_path || !hsm->token_label || !hsm->pin_file == !hsm->pin_env))
		return usage_error("%s", "a token needs --pkcs11-module, --pkcs11-token and one of --pkcs11-pin-file "
		                         "and --pkcs11-pin-env");
	if (hsm->module_path && hsm->module_path[0] != '/')
		return usage_error("--pkcs11-module %s: an absolute path", hsm->module_path);
	if (hsm->pin_file && hsm->pin_file[0] != '/')
		return usage_error("--pkcs11-pin-file %s: an absolute path", hsm->pin_file);
	return 0;
}

/* The first event of every log: names it (16 random bytes) and its format. */
typedef struct init_job {
	ledger_job job;
	uint8_t log_id[16];
	ledger_err result;
} init_job;

static ledger_err init_apply(ledger_job *job, ledger_txn *t)
{
	init_job *j = (init_job *)job;
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__LogCreated lc = LEDGER__EVENTS__LOG_CREATED__INIT;
	lc.log_id.data = j->log_id;
	lc.log_id.len = sizeof j->log_id;
	lc.format = (char *)LEDGER_FORMAT_NAME;
	lc.partition = (char *)"";
	ev.committed_at_us = ledger_txn_time_us(t);
	ev.actor = (char *)"ledgerd";
	ev.request_id = (char *)"init";
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_LOG_CREATED;
	ev.log_created = &lc;
	uint8_t buf[256];
	size_t n = ledger__events__event__get_packed_size(&ev);
	if (n > sizeof buf)
		return LEDGER_ERR_TOO_LARGE;
	ledger__events__event__pack(&ev, buf);
	return ledger_append(t, buf, n, NULL, NULL);
}

static void init_done(ledger_job *job, ledger_err err)
{
	((init_job *)job)->result = err;
}

/* The token of the signer's keys: the one the HSM options name, or a new embedded one. */
static bool signer_token_create(const char *dir, const signer_token_config *hsm)
{
	char keys[PATH_MAX];
	if (snprintf(keys, sizeof keys, "%s/keys", dir) >= (int)sizeof keys) {
		fprintf(stderr, "ledgerd init: %s: path too long\n", dir);
		return false;
	}
	signer_err err = hsm->module_path ? signer_token_configure(keys, hsm) : signer_token_embedded_create(keys);
	if (err)
		fprintf(stderr, "ledgerd init: %s: the signer's token: %s (%s)\n", keys, signer_strerror(err),
		        signer_last_error());
	return err == SIGNER_OK;
}

static int cmd_init(const char *dir, const char *clock_file, const char *log_origin, const signer_token_config *hsm,
                    const char *pki_url, const char *organization_identifier)
{
	if (sodium_init() < 0) {
		fputs("ledgerd init: libsodium failed to initialise\n", stderr);
		return 1;
	}
	init_job j = {.job = {.apply = init_apply, .done = init_done}};
	randombytes_buf(j.log_id, sizeof j.log_id);
	char id[33], origin[TLOG_ORIGIN_BYTES_MAX + 1];
	ledger_hex(j.log_id, sizeof j.log_id, id);
	if (log_origin && strlen(log_origin) > TLOG_ORIGIN_BYTES_MAX)
		return usage_error("--log-origin %s: at most " STRINGIFY(TLOG_ORIGIN_BYTES_MAX) " bytes", log_origin);
	snprintf(origin, sizeof origin, "%s%s", log_origin ? log_origin : "jse-ledger/", log_origin ? "" : id);
	char vkey[TLOG_VKEY_BYTES_MAX + 1];
	uint8_t probe[TLOG_KEY_ID_BYTES], zero[TLOG_PUBLIC_KEY_BYTES] = {0};
	if (tlog_key_id(origin, TLOG_TYPE_ED25519, zero, probe) != TLOG_OK)
		return usage_error("--log-origin %s: not a key name (UTF-8, no spaces, no '+')", origin);
	if (ledger_create(dir, NULL) != LEDGER_OK) {
		fprintf(stderr, "ledgerd init: %s\n", ledger_last_error());
		return 1;
	}
	const char *why;
	if (!api_keys_create(dir, &why)) {
		fprintf(stderr, "ledgerd init: %s/keys: %s\n", dir, why);
		return 1;
	}
	if (!api_pki_url_write(dir, pki_url ? pki_url : API_PKI_URL_DEFAULT, &why)) {
		fprintf(stderr, "ledgerd init: %s/%s: %s\n", dir, API_PKI_URL_FILE, why);
		return 1;
	}
	if (organization_identifier && !api_organization_identifier_write(dir, organization_identifier, &why)) {
		fprintf(stderr, "ledgerd init: %s/%s: %s\n", dir, API_ORGANIZATION_IDENTIFIER_FILE, why);
		return 1;
	}
	if (!signer_token_create(dir, hsm))
		return 1;
	tlog_signer *log_key = calloc(1, sizeof *log_key);
	if (!log_key || !api_log_key_create(dir, origin, vkey, sizeof vkey, &why) ||
	    !api_log_key_load(dir, log_key, &why)) {
		fprintf(stderr, "ledgerd init: %s/keys: %s\n", dir, log_key ? why : "out of memory");
		free(log_key);
		return 1;
	}
	ledger *l;
	ledger_options lo = {.checkpoint_signer = log_key};
	if (ledger_open(dir, &lo, &l) != LEDGER_OK) {
		fprintf(stderr, "ledgerd init: %s\n", ledger_last_error());
		return 1;
	}
	proj *p = NULL;
	ledger_err err = proj_open(l, 0, &p); /* creates the projection databases (nothing to rebuild) */
	if (!err)
		err =
		    ledger_commit_one(l, &j.job, api_clock_us(clock_file)); /* LogCreated: the first time of the log */
	if (!err)
		err = j.result;
	proj_close(p);
	ledger_close(l);
	tlog_signer_wipe(log_key);
	free(log_key);
	if (err) {
		fprintf(stderr, "ledgerd init: %s: %s\n", ledger_strerror(err), ledger_last_error());
		return 1;
	}
	printf("initialised %s (log id %s)\n", dir, id);
	printf("log key (give it to auditors and witnesses; also in %s/keys/log.vkey):\n  %s\n", dir, vkey);
	printf("serve it with: ledgerd serve --data %s\n", dir);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "init") != 0 && strcmp(cmd, "serve") != 0)
		return usage_error("unknown command %s", cmd);
	import_init(); /* libxml2, before any thread */
	api_server_options o = {.ready_fd = -1};
	size_t listens = 0;
	const char *log_origin = NULL, *pki_url = NULL, *organization_identifier = NULL;
	signer_token_config hsm = {0};
	size_t witnesses = 0;
	static const struct option options[] = {
	    {"data", required_argument, NULL, 'd'},
	    {"listen", required_argument, NULL, 'l'},
	    {"pub", required_argument, NULL, 'p'},
	    {"workers", required_argument, NULL, 'w'},
	    {"map-size", required_argument, NULL, 'm'},
	    {"map-size-max", required_argument, NULL, 'M'},
#ifdef LEDGER_TEST_CLOCK
	    {"clock-file", required_argument, NULL, 'c'},
#endif
	    {"ready-fd", required_argument, NULL, 'r'},
	    {"document-max-bytes", required_argument, NULL, 'D'},
	    {"tls-cert", required_argument, NULL, 'C'},
	    {"tls-key", required_argument, NULL, 'K'},
	    {"tls-ca", required_argument, NULL, 'A'},
	    {"tls-client-auth", no_argument, NULL, 'a'},
	    {"log-origin", required_argument, NULL, 'o'},
	    {"witness", required_argument, NULL, 'W'},
	    {"pkcs11-module", required_argument, NULL, 'P'},
	    {"pkcs11-token", required_argument, NULL, 'T'},
	    {"pkcs11-pin-file", required_argument, NULL, 'F'},
	    {"pkcs11-pin-env", required_argument, NULL, 'E'},
	    {"tsa-url", required_argument, NULL, 'V'},
	    {"tsa-ca", required_argument, NULL, 'U'},
	    {"tsa-tolerance", required_argument, NULL, 'X'},
	    {"tsa-timeout-ms", required_argument, NULL, 'Y'},
	    {"pki-url", required_argument, NULL, 'u'},
	    {"organization-identifier", required_argument, NULL, 'I'},
	    {"tsa-renew-days", required_argument, NULL, 'R'},
	    {"pki-listen", required_argument, NULL, 'L'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	optind = 2;
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'd': o.data_dir = optarg; break;
		case 'l':
			if (listens == API_LISTEN_URLS_COUNT_MAX)
				return usage_error(
				    "at most " STRINGIFY(API_LISTEN_URLS_COUNT_MAX) " --listen URLs (%s)", optarg);
			o.listen[listens++] = optarg;
			break;
		case 'p': o.pub_url = optarg; break;
		case 'w': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > (long)API_WORKERS_MAX)
				return usage_error("--workers %s: a number from 1 to " STRINGIFY(API_WORKERS_MAX),
				                   optarg);
			o.workers = (unsigned)v;
			break;
		}
		case 'm':
			if (!parse_bytes(optarg, &o.map_bytes_initial))
				return usage_error("--map-size %s: a size in bytes (K, M, G suffixes)", optarg);
			break;
		case 'M':
			if (!parse_bytes(optarg, &o.map_bytes_max))
				return usage_error("--map-size-max %s: a size in bytes (K, M, G suffixes)", optarg);
			break;
		case 'D':
			if (!parse_bytes(optarg, &o.document_bytes_max) || o.document_bytes_max < 1024 ||
			    o.document_bytes_max > API_DOCUMENT_BYTES_MAX)
				return usage_error("--document-max-bytes %s: a size from 1K to 64M", optarg);
			break;
#ifdef LEDGER_TEST_CLOCK
		case 'c': o.clock_file = optarg; break;
#endif
		case 'C': o.tls.cert_file = optarg; break;
		case 'K': o.tls.key_file = optarg; break;
		case 'A': o.tls.ca_file = optarg; break;
		case 'a': o.tls.client_auth = true; break;
		case 'r':
			if (!parse_fd(optarg, &o.ready_fd))
				return usage_error(
				    "--ready-fd %s: an open file descriptor number, 0 to " STRINGIFY(API_READY_FD_MAX),
				    optarg);
			break;
		case 'o': log_origin = optarg; break;
		case 'W':
			if (witnesses == API_WITNESSES_MAX)
				return usage_error("at most " STRINGIFY(API_WITNESSES_MAX) " --witness keys (%s)",
				                   optarg);
			o.witness_files[witnesses++] = optarg;
			break;
		case 'P': hsm.module_path = optarg; break;
		case 'T': hsm.token_label = optarg; break;
		case 'F': hsm.pin_file = optarg; break;
		case 'E': hsm.pin_env = optarg; break;
		case 'V': o.tsa_url = optarg; break;
		case 'U': o.tsa_ca_file = optarg; break;
		case 'X':
			if (!parse_u32(optarg, 1, SIGNER_TSA_TOLERANCE_S_MAX, &o.tsa_tolerance_s))
				return usage_error(
				    "--tsa-tolerance %s: seconds, 1 to " STRINGIFY(SIGNER_TSA_TOLERANCE_S_MAX), optarg);
			break;
		case 'Y':
			if (!parse_u32(optarg, 1, SIGNER_TSA_TIMEOUT_MS_MAX, &o.tsa_timeout_ms))
				return usage_error(
				    "--tsa-timeout-ms %s: milliseconds, 1 to " STRINGIFY(SIGNER_TSA_TIMEOUT_MS_MAX),
				    optarg);
			break;
		case 'u':
			if (signer_pki_url_check(optarg) != SIGNER_OK)
				return usage_error("--pki-url: %s", signer_last_error());
			pki_url = optarg;
			break;
		case 'I':
			if (signer_organization_identifier_check(optarg) != SIGNER_OK)
				return usage_error("--organization-identifier: %s", signer_last_error());
			organization_identifier = optarg;
			break;
		case 'R': {
			char *end = NULL;
			long days = strtol(optarg, &end, 10);
			if (!end || *end || end == optarg || days < 0 || days > API_TSA_RENEW_DAYS_MAX)
				return usage_error("--tsa-renew-days %s: days, 0 to " STRINGIFY(API_TSA_RENEW_DAYS_MAX),
				                   optarg);
			o.tsa_renew_days = (int32_t)days;
			o.tsa_renew_days_set = true;
			break;
		}
		case 'L':
			if (!api_pki_listen_check(optarg))
				return usage_error(
				    "--pki-listen %s: HOST:PORT (a name or an IPv4 address, a port 1-65535)", optarg);
			o.pki_listen = optarg;
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: return usage_error("%s", "bad option");
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument %s", argv[optind]);
	if (!o.data_dir)
		return usage_error("%s needs --data DIR", cmd);
	int rc = check_tls_options(cmd, &o);
	if (rc)
		return rc;
	if (o.clock_file && api_clock_us(o.clock_file) < 0) {
		fprintf(stderr, "ledgerd: --clock-file %s: cannot read a time YYYY-MM-DDTHH:MM:SSZ from it\n",
		        o.clock_file);
		return 1;
	}
	if ((o.tsa_url || o.tsa_ca_file || o.tsa_tolerance_s || o.tsa_timeout_ms) && strcmp(cmd, "serve") != 0)
		return usage_error("%s", "the --tsa-* options are for serve");
	if (!o.tsa_url != !o.tsa_ca_file)
		return usage_error("%s",
		                   "--tsa-url and --tsa-ca go together: the authority and what its tokens chain to");
	if ((o.tsa_tolerance_s || o.tsa_timeout_ms) && !o.tsa_url)
		return usage_error("%s", "--tsa-tolerance and --tsa-timeout-ms need --tsa-url");
	if (log_origin && strcmp(cmd, "init") != 0)
		return usage_error("--log-origin %s: only init takes it", log_origin);
	if (pki_url && strcmp(cmd, "init") != 0)
		return usage_error("--pki-url %s: only init takes it (serve reads the data directory's)", pki_url);
	if (organization_identifier && strcmp(cmd, "init") != 0)
		return usage_error("--organization-identifier %s: only init takes it (the CAs keep it)",
		                   organization_identifier);
	if (o.tsa_renew_days_set && strcmp(cmd, "serve") != 0)
		return usage_error("%s", "--tsa-renew-days: only serve takes it");
	if (o.pki_listen && strcmp(cmd, "serve") != 0)
		return usage_error("--pki-listen %s: only serve takes it", o.pki_listen);
	rc = check_hsm_options(cmd, &hsm);
	if (rc)
		return rc;
	if (strcmp(cmd, "init") == 0)
		return cmd_init(o.data_dir, o.clock_file, log_origin, &hsm, pki_url, organization_identifier);
	return api_server_run(&o);
}

/* ledgerctl_common.c: see ledgerctl_common.h. */
#include "ledgerctl_common.h"

/* A request reset under ledgerctl is sent again, same request id, up to this many times. */
#define CTL_CALL_ATTEMPTS_MAX 10 /* about 2 s of backing off in all */

#include "client.h"
#include "ledger.h"
#include "token.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ctl_usage_error(const char *what)
{
	fprintf(stderr, "ledgerctl: %s (see ledgerctl --help)\n", what);
	return CTL_EXIT_USAGE;
}

int ctl_usage_errorf(const ctl_args *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ledgerctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see ledgerctl %s --help)\n", a->cmd ? a->cmd->name : "");
	return CTL_EXIT_USAGE;
}

/* ----- connection and credentials ----- */

bool ctl_mint(const char *data, const char *sub, bool platform, long ttl_s, char *out)
{
	const char *why;
	if (!api_token_mint_from_dir(data, sub, platform, (int64_t)time(NULL), ttl_s, NULL, out, &why)) {
		fprintf(stderr, "ledgerctl: cannot mint a token for \"%.64s\" from %s/keys/idp.sk: %s\n", sub, data,
		        why);
		return false;
	}
	return true;
}

/* The server's URL: --server, $LEDGER_SERVER, or the socket in --data DIR. NULL (printed) if none. */
static const char *server_url(const ctl_args *a, char *url, size_t url_bytes, int *exit_code)
{
	const char *server = a->server ? a->server : getenv("LEDGER_SERVER");
	if (!server && a->data) {
		char abs[PATH_MAX];
		if (!realpath(a->data, abs)) {
			fprintf(stderr, "ledgerctl: --data %s: %s\n", a->data, strerror(errno));
			*exit_code = CTL_EXIT_REFUSED;
			return NULL;
		}
		snprintf(url, url_bytes, "ipc://%s/ledgerd.sock", abs);
		server = url;
	}
	if (!server)
		*exit_code = ctl_usage_error("no server: give --server URL, $LEDGER_SERVER or --data DIR");
	return server;
}

/* The TLS options for server: NULL (none needed) unless it is a tls+tcp:// URL. A TLS server
 * without a trust anchor, or half a client certificate, is a usage error (NULL, *exit_code). */
static const api_tls_options *tls_options(const ctl_args *a, const char *server, api_tls_options *tls, int *exit_code)
{
	*exit_code = CTL_EXIT_OK;
	if (!api_tls_url(server)) {
		if (a->tls_ca || a->tls_server_name || a->tls_cert || a->tls_key)
			*exit_code = ctl_usage_error("--tls-* options are for a tls+tcp:// --server");
		return NULL;
	}
	*tls = (api_tls_options){.ca_file = a->tls_ca ? a->tls_ca : getenv("LEDGER_TLS_CA"),
	                         .server_name = a->tls_server_name,
	                         .cert_file = a->tls_cert,
	                         .key_file = a->tls_key};
	if (!tls->ca_file || !tls->ca_file[0]) {
		char what[PATH_MAX + 128];
		snprintf(what, sizeof what, "%s is a TLS server: give --tls-ca FILE or $LEDGER_TLS_CA (its CA)",
		         server);
		*exit_code = ctl_usage_error(what);
	} else if (!tls->cert_file != !tls->key_file) {
		*exit_code = ctl_usage_error("--tls-cert and --tls-key go together (mutual TLS)");
	}
	return *exit_code ? NULL : tls;
}

/* The bearer token: --token, $LEDGER_TOKEN, or one minted for --as / --platform. */
static const char *bearer_token(const ctl_args *a, int *exit_code)
{
	static char token[API_TOKEN_BYTES_MAX];
	const char *tok = a->token ? a->token : getenv("LEDGER_TOKEN");
	if (!tok && (a->as || a->platform) && a->data) {
		if (!ctl_mint(a->data, a->as ? a->as : "platform", a->platform, 300, token)) {
			*exit_code = CTL_EXIT_REFUSED;
			return NULL;
		}
		tok = token;
	}
	if (!tok)
		*exit_code = ctl_usage_error(
		    "no credentials: give --token, $LEDGER_TOKEN, --as EMAIL --data DIR or --platform --data DIR");
	return tok;
}

Ledger__Api__Reply *ctl_call(const ctl_args *a, Ledger__Api__Request *req, int *exit_code)
{
	char url[PATH_MAX + 32], rid[33];
	const char *server = server_url(a, url, sizeof url, exit_code);
	if (!server)
		return NULL;
	api_tls_options tls_storage;
	const api_tls_options *tls = tls_options(a, server, &tls_storage, exit_code);
	if (*exit_code)
		return NULL;
	const char *tok = bearer_token(a, exit_code);
	if (!tok)
		return NULL;
	req->token = (char *)tok;
	if (a->request_id) {
		req->request_id = (char *)a->request_id;
	} else {
		api_request_id(rid);
		req->request_id = rid;
	}
	const char *why;
	*exit_code = CTL_EXIT_REFUSED;
	api_client *c = api_client_open_tls(server, a->timeout_ms, tls, &why);
	if (!c) {
		fprintf(stderr, "ledgerctl: cannot connect to %s: %s\n", server, why);
		return NULL;
	}
	api_client_retry_on_reset(c, CTL_CALL_ATTEMPTS_MAX);
	Ledger__Api__Reply *reply = NULL;
	bool ok = api_client_call(c, req, &reply, &why);
	api_client_close(c);
	req->token = NULL;
	req->request_id = NULL;
	if (!ok) {
		fprintf(stderr, "ledgerctl: %s: %s\n", server, why);
		return NULL;
	}
	*exit_code = CTL_EXIT_OK;
	return reply;
}

static const char *result_name(Ledger__Api__Reply__ResultCase want)
{
	for (unsigned i = 0; i < ledger__api__reply__descriptor.n_fields; i++)
		if (ledger__api__reply__descriptor.fields[i].id == (uint32_t)want)
			return ledger__api__reply__descriptor.fields[i].name;
	return "?";
}

Ledger__Api__Reply *ctl_call_ok(const ctl_args *a, Ledger__Api__Request *req, Ledger__Api__Reply__ResultCase want,
                                int *exit_code)
{
	Ledger__Api__Reply *r = ctl_call(a, req, exit_code);
	if (!r)
		return NULL;
	if (r->error) {
		*exit_code = ctl_print_error(a, r);
	} else if (want != LEDGER__API__REPLY__RESULT__NOT_SET && r->result_case != want) {
		fprintf(stderr, "ledgerctl: ledgerd's reply has no %s result (is ledgerd older than ledgerctl?)\n",
		        result_name(want));
		*exit_code = CTL_EXIT_REFUSED;
	} else {
		return r;
	}
	ledger__api__reply__free_unpacked(r, NULL);
	return NULL;
}

Ledger__Api__Reply *ctl_send(const ctl_args *a, Ledger__Api__Request__BodyCase body_case, ProtobufCMessage *body,
                             Ledger__Api__Reply__ResultCase want, int *exit_code)
{
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	api_request_set_body(&req, body_case, body);
	return ctl_call_ok(a, &req, want, exit_code);
}

static const char *error_code_name(Ledger__Api__ErrorCode code)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value(&ledger__api__error_code__descriptor, (int)code);
	return v ? v->name : "UNKNOWN";
}

int ctl_print_error(const ctl_args *a, const Ledger__Api__Reply *r)
{
	const Ledger__Api__Error *e = r->error;
	assert(e);
	if (a->json) {
		json_out j;
		ctl_json_begin(&j, false);
		json_key(&j, "error"), json_obj_begin(&j);
		json_key(&j, "code"), json_str(&j, error_code_name(e->code));
		json_key(&j, "message"), json_str(&j, e->message);
		json_key(&j, "field"), json_str(&j, e->field);
		json_key(&j, "reason"), json_str(&j, e->reason);
		json_obj_end(&j);
		ctl_json_end(&j);
	} else if (e->reason && e->reason[0]) {
		fprintf(stderr, "ledgerctl: %s: %s (reason: %s)\n", error_code_name(e->code), e->message, e->reason);
	} else {
		fprintf(stderr, "ledgerctl: %s: %s\n", error_code_name(e->code), e->message);
	}
	return CTL_EXIT_REFUSED;
}

void ctl_json_ack(json_out *j, const Ledger__Api__Reply *r)
{
	char hash[CTL_SHA256_HEX];
	ctl_hex_sha256(r->hash, hash);
	json_key(j, "seq"), json_u64(j, r->seq);
	json_key(j, "hash"), json_str(j, hash);
	json_key(j, "replayed"), json_bool(j, r->replayed);
	json_key(j, "request_id"), json_str(j, r->request_id);
}

int ctl_finish_command(const ctl_args *a, Ledger__Api__Reply *r, const char *human)
{
	int rc = CTL_EXIT_OK;
	if (r->error) {
		rc = ctl_print_error(a, r);
	} else if (a->json) {
		json_out j;
		ctl_json_begin(&j, true);
		ctl_json_ack(&j, r);
		if (r->result_case == LEDGER__API__REPLY__RESULT_REVOKE)
			json_key(&j, "revoked"), json_u64(&j, r->revoke->revoked);
		ctl_json_end(&j);
	} else {
		printf("%s (seq %llu%s)\n", human, (unsigned long long)r->seq,
		       r->replayed ? ", replayed: already done" : "");
	}
	ledger__api__reply__free_unpacked(r, NULL);
	return rc;
}

int ctl_send_command(const ctl_args *a, Ledger__Api__Request__BodyCase body_case, ProtobufCMessage *body,
                     const char *human)
{
	int rc;
	Ledger__Api__Reply *r = ctl_send(a, body_case, body, LEDGER__API__REPLY__RESULT__NOT_SET, &rc);
	return r ? ctl_finish_command(a, r, human) : rc;
}

/* ----- input ----- */

uint8_t *ctl_read_file(const char *option, const char *path, size_t max, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "ledgerctl: %s %s: %s\n", option, path, strerror(errno));
		return NULL;
	}
	uint8_t *buf = malloc(max + 1);
	*n = buf ? fread(buf, 1, max + 1, f) : 0;
	bool bad = !buf || ferror(f) || *n > max;
	fclose(f);
	if (bad) {
		if (!buf)
			fprintf(stderr, "ledgerctl: %s %s: out of memory\n", option, path);
		else
			fprintf(stderr, "ledgerctl: %s %s: larger than %zu bytes, the limit\n", option, path, max);
		free(buf);
		return NULL;
	}
	return buf;
}

int ctl_write_file(const char *path, const void *data, size_t n)
{
	bool to_stdout = strcmp(path, "-") == 0;
	FILE *f = to_stdout ? stdout : fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "ledgerctl: -o %s: %s\n", path, strerror(errno));
		return CTL_EXIT_REFUSED;
	}
	errno = 0;
	bool ok = fwrite(data, 1, n, f) == n;
	ok = (to_stdout ? fflush(f) == 0 : fclose(f) == 0) && ok;
	if (!ok) {
		fprintf(stderr, "ledgerctl: -o %s: %s\n", path, errno ? strerror(errno) : "write failed");
		if (!to_stdout)
			remove(path);
		return CTL_EXIT_REFUSED;
	}
	return CTL_EXIT_OK;
}

int ctl_parse_u64(const char *option, const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	assert(min <= max);
	bool digits = text[0] != '\0' && strspn(text, "0123456789") == strlen(text);
	errno = 0;
	unsigned long long v = digits ? strtoull(text, NULL, 10) : 0;
	if (!digits || errno == ERANGE || v < min || v > max) {
		fprintf(stderr, "ledgerctl: %s %s: a whole number from %llu to %llu\n", option, text,
		        (unsigned long long)min, (unsigned long long)max);
		return CTL_EXIT_USAGE;
	}
	*out = v;
	return 0;
}

int ctl_parse_u32(const char *option, const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int rc = ctl_parse_u64(option, text, min, max, &v);
	if (rc == 0)
		*out = (uint32_t)v;
	return rc;
}

int ctl_parse_sha256(const char *option, const char *text, uint8_t out[CTL_SHA256_BYTES])
{
	static const char hex[] = "0123456789abcdefABCDEF";
	if (strlen(text) != 2 * CTL_SHA256_BYTES || strspn(text, hex) != 2 * CTL_SHA256_BYTES) {
		fprintf(stderr, "ledgerctl: %s \"%.80s\": a SHA-256 is exactly 64 hexadecimal digits\n", option, text);
		return CTL_EXIT_USAGE;
	}
	for (size_t i = 0; i < CTL_SHA256_BYTES; i++) {
		char pair[3] = {text[2 * i], text[2 * i + 1], '\0'};
		out[i] = (uint8_t)strtoul(pair, NULL, 16);
	}
	return 0;
}

/* True if text is `digits` digits then (when sep) sep, and the numeric value is within [lo, hi]. */
static bool field_ok(const char *text, size_t digits, int lo, int hi)
{
	int v = 0;
	for (size_t i = 0; i < digits; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		v = v * 10 + (text[i] - '0');
	}
	return v >= lo && v <= hi;
}

int ctl_parse_date(const char *option, const char *text)
{
	if (strlen(text) != 10 || text[4] != '-' || text[7] != '-' || !field_ok(text, 4, 1, 9999) ||
	    !field_ok(text + 5, 2, 1, 12) || !field_ok(text + 8, 2, 1, 31)) {
		fprintf(stderr, "ledgerctl: %s %s: a date YYYY-MM-DD\n", option, text);
		return CTL_EXIT_USAGE;
	}
	return 0;
}

int ctl_parse_month(const char *option, const char *text)
{
	if (strlen(text) != 7 || text[4] != '-' || !field_ok(text, 4, 1, 9999) || !field_ok(text + 5, 2, 1, 12)) {
		fprintf(stderr, "ledgerctl: %s %s: a month YYYY-MM\n", option, text);
		return CTL_EXIT_USAGE;
	}
	return 0;
}

int ctl_split_list(char *s, char **items, int max)
{
	int n = 0;
	for (char *save = NULL, *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == max)
			return -1;
		items[n++] = tok;
	}
	return n;
}

/* ----- enums ----- */

const ctl_enum ctl_enum_kind = {&ledger__events__collection_kind__descriptor, "KIND_", 0};
const ctl_enum ctl_enum_state = {&ledger__events__collection_state__descriptor, "STATE_", 0};
const ctl_enum ctl_enum_order = {&ledger__events__signing_order__descriptor, "ORDER_", 0};
/* SIGNER_SIGNED is `collection sign`, never a report. */
const ctl_enum ctl_enum_signer_action = {&ledger__events__signer_action__descriptor, "SIGNER_",
                                         1u << LEDGER__EVENTS__SIGNER_ACTION__SIGNER_SIGNED};
const ctl_enum ctl_enum_signer_kind = {&ledger__events__signer_kind__descriptor, "SIGNER_", 0};
const ctl_enum ctl_enum_alert_kind = {&ledger__events__alert_kind__descriptor, "ALERT_", 0};

ctl_name ctl_enum_name(const ctl_enum *e, int value, char sep)
{
	assert(e && e->descriptor && e->prefix);
	ctl_name n = {""};
	if (value == 0)
		return n;
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(e->descriptor, value);
	size_t skip = strlen(e->prefix);
	if (!v || strncmp(v->name, e->prefix, skip) != 0) {
		snprintf(n.s, sizeof n.s, "unknown%c%d", sep, value);
		return n;
	}
	size_t i = 0;
	for (const char *p = v->name + skip; *p && i + 1 < sizeof n.s; p++)
		n.s[i++] = (char)(*p == '_' ? sep : (*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p));
	n.s[i] = '\0';
	return n;
}

/* True if text equals name, a dash or an underscore matching either. */
static bool same_name(const char *text, const char *name)
{
	for (; *text && *name; text++, name++)
		if (*text != *name && !((*text == '-' || *text == '_') && *name == '-'))
			return false;
	return *text == *name;
}

int ctl_enum_parse(const ctl_enum *e, const char *option, const char *text, int *value)
{
	char choices[256] = "";
	for (unsigned i = 0; i < e->descriptor->n_values; i++) {
		int v = e->descriptor->values[i].value;
		if (v <= 0 || v >= 32 || (e->hidden & (1u << v)))
			continue;
		ctl_name n = ctl_enum_name(e, v, '-');
		if (same_name(text, n.s)) {
			*value = v;
			return 0;
		}
		size_t used = strlen(choices);
		snprintf(choices + used, sizeof choices - used, "%s%s", used ? ", " : "", n.s);
	}
	fprintf(stderr, "ledgerctl: %s \"%.64s\": one of %s\n", option, text, choices);
	return CTL_EXIT_USAGE;
}

/* ----- output ----- */

void ctl_hex_sha256(ProtobufCBinaryData h, char out[CTL_SHA256_HEX])
{
	out[0] = '\0';
	if (h.len == CTL_SHA256_BYTES)
		ledger_hex(h.data, h.len, out);
}

void ctl_time_iso(int64_t us, char out[CTL_TIME_BYTES])
{
	out[0] = '\0';
	if (us == 0)
		return;
	time_t s = (time_t)(us / 1000000);
	if (us < 0 && us % 1000000)
		s--;
	struct tm tm;
	if (gmtime_r(&s, &tm))
		strftime(out, CTL_TIME_BYTES, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *ctl_dash(const char *s)
{
	return s && s[0] ? s : "-";
}

/* json.c writes the separators itself; a value it cannot write takes the same steps (json.h
 * documents the fields: first[depth] "no value written yet", after_key). */
static void json_raw(json_out *j, const char *text)
{
	assert(j->depth > 0 || j->first[0]); /* one value at the top level */
	if (j->after_key) {
		j->after_key = false;
	} else {
		if (!j->first[j->depth])
			fputc(',', j->f);
		j->first[j->depth] = false;
	}
	fputs(text, j->f);
}

void ctl_json_i64(json_out *j, int64_t v)
{
	char text[24];
	snprintf(text, sizeof text, "%lld", (long long)v);
	json_raw(j, text);
}

void ctl_json_real(json_out *j, double v)
{
	char text[40] = "null";
	if (isfinite(v))
		snprintf(text, sizeof text, "%.7g", v); /* a float's precision */
	json_raw(j, text);
}

const char *ctl_output_path(const ctl_args *a)
{
	return a->output && strcmp(a->output, "-") != 0 ? a->output : NULL;
}

int ctl_output_bytes(const ctl_args *a, const char *output, const void *data, size_t n)
{
	return output || !a->json ? ctl_write_file(output ? output : "-", data, n) : CTL_EXIT_OK;
}

int ctl_need_firm(const ctl_args *a)
{
	return a->firm ? 0 : ctl_usage_errorf(a, "%s needs --firm FIRM", a->cmd->name);
}

void ctl_json_begin(json_out *j, bool ok)
{
	json_begin(j, stdout);
	json_obj_begin(j);
	json_key(j, "ok"), json_bool(j, ok);
}

void ctl_json_end(json_out *j)
{
	json_obj_end(j);
	json_end(j);
}

/*
 * bench-sign: what a signature costs, at each PAdES level, beside the limit measured in the
 * same run and beside other ways of signing the same file (docs/benchmarks.md, "bench-sign").
 *
 * For a PDF of about 100 KB and one of about 5 MB (tests/support/make_pdf.py, random
 * content-stream padding, one empty signature field), signatures per CPU-second (openssl speed
 * measures the limit in CPU time; the wall time is printed after each row) with
 * signer_pades_sign:
 *   - in memory: a credential whose key is a PEM file read into memory (as every person's and
 *     firm's key is today), at B-B, B-T, B-LT and B-LTA;
 *   - PKCS#11: every private key in a SoftHSM2 token set up in the scratch directory exactly as
 *     `ledgerd init` sets one up (signer_token_embedded_create): the CA's, its TSA's and OCSP
 *     responder's as in production, and the signer's, generated there; every signature and
 *     time-stamp goes through libp11 to C_Sign; at B-B and B-LTA;
 *   - mutool sign: mupdf-tools' `mutool sign -s` on the same file, a process per signature,
 *     with the in-memory credential as PKCS#12 (P-256) and with an RSA-2048 one. mupdf 1.21
 *     sometimes leaves /Contents all zero with a P-256 key and still exits 0: every output is
 *     checked for that (outside the time measured) and the count printed.
 * Beside them, the limit of one signature: hashing the bytes (`openssl speed -bytes 16384
 * sha256`) plus one signature (`openssl speed ecdsap256`, and `rsa2048` for mutool's row).
 * The last output of each kind is checked with pdfsig, so that no row counts signatures that
 * are not there. Then the targets of issue 7, as information (a benchmark asserts no timing).
 *
 * With --signer-process, the PKCS#11 side's token is reached as ledgerd serve reaches it: through
 * its signer process (ledger-signer, beside this program; docs/signer.md#the-signer-process). The
 * CPU figures then leave out the signer process's share: read the wall times.
 *
 * A run on a shared machine sees bursts of other work, which slow some cases and not others and
 * skew the ratios between levels. So the in-memory and PKCS#11 cases run in R rounds (--rounds,
 * default 3), each case S/R seconds per round, the cases of a file in turn within each round, and
 * each row gives the median of its rounds, with the spread (lowest to highest).
 *
 * usage: bench-sign [--seconds S] [--rounds R] [--dir DIR] [--signer-process]
 *        (S per case, default 2)
 */
#include "common.h"
#include "internal.h"
#include "pkcs11_token.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SIGN_LEVELS       4
#define SIGN_P12_PASSWORD "bench"
#define SIGN_P12_PASSOUT  "pass:bench" /* SIGN_P12_PASSWORD, as openssl pkcs12 -passout takes it */
#define SIGN_TOKEN_KEY    "bench-signer"
#define SIGN_MUTOOL       "/usr/bin/mutool"
#define SIGN_FIELD_OBJECT "6" /* make_pdf.py --signature-field */
#define SIGN_TARGET_LTA_X 2.0 /* B-LTA within 2x of B-B */
#define SIGN_TARGET_SHARE 0.7 /* the 5 MB document at >= 70 % of the limit */
#define SIGN_ROUNDS_MAX   15

static const char *const level_names[SIGN_LEVELS] = {"B-B", "B-T", "B-LT", "B-LTA"};

/* A way of signing with signer_pades_sign: a credential, its CA's CRL and OCSP responses. */
typedef struct sign_key {
	const char *name;
	const signer_credential *credential;
	uint8_t *crl;
	size_t crl_bytes;
	uint8_t *issuer_crl; /* the signer's issuing CA's, as signer_pades_sign_at_level puts in the /DSS */
	size_t issuer_crl_bytes;
	uint8_t *ocsp[2]; /* the credential's, the TSA's */
	size_t ocsp_bytes[2];
	double ms[2][SIGN_LEVELS]; /* per file and level; 0: not measured */
} sign_key;

/* What every signature of the run shares. */
typedef struct sign_run {
	char dir[512];
	double seconds;
	int rounds; /* the in-memory and PKCS#11 cases, in turn, each for seconds / rounds a round */
	int64_t now_s;
	double sha_kb_s, ecdsa_sign_s, rsa_sign_s;
	bool signer_process; /* the token through ledger-signer, as ledgerd serve uses it */
} sign_run;

/* dir/name, in one of 16 buffers used in turn: keep no result across more than 15 calls. */
static char *path_in(const sign_run *r, const char *name)
{
	static char paths[16][640];
	static int next;
	char *p = paths[next++ % 16];
	snprintf(p, sizeof paths[0], "%s/%s", r->dir, name);
	return p;
}

/* Runs argv with its output thrown away; true if it exited 0. */
static bool run_quiet(char *const argv[])
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	pid_t pid = bench_spawn("bench-sign", argv, null, null);
	if (null >= 0)
		close(null);
	return pid > 0 && bench_wait_exit(pid) == 0;
}

/* pdfsig's verdict on the last signature of path: true if it says "Signature is Valid". */
static bool pdfsig_valid(const char *path)
{
	static char out[65536];
	char *argv[] = {"pdfsig", (char *)path, NULL};
	bench_run_capture(argv, out, sizeof out);
	const char *last = strstr(out, "Signature #");
	for (const char *next = last; next; next = strstr(next + 1, "Signature #"))
		last = next;
	return last && strstr(last, "Signature is Valid.");
}

/* True if the first /Contents hex string of path holds only zeros (a signature never written). */
static bool contents_all_zero(const char *path)
{
	size_t n = 0;
	uint8_t *pdf = bench_read_file(path, &n);
	if (!pdf)
		return false;
	bool zero = false;
	for (size_t i = 0; i + 10 < n && !zero; i++) {
		if (memcmp(pdf + i, "/Contents<", 10) != 0)
			continue;
		size_t j = i + 10;
		while (j < n && pdf[j] == '0')
			j++;
		zero = j < n && pdf[j] == '>' && j > i + 10;
	}
	free(pdf);
	return zero;
}

/* Signs pdf at level with k for r->seconds / r->rounds; CPU ms per signature (0 on failure), and
 * the wall ms in *wall_ms. With out, the last signed document is written there. */
static double time_pades(const sign_run *r, const uint8_t *pdf, size_t n, const sign_key *k, int level, const char *out,
                         double *wall_ms)
{
	const uint8_t *const ocsps[2] = {k->ocsp[0], k->ocsp[1]};
	signer_sign_options o = {.signing_time_s = r->now_s,
	                         .reason = "Banc d'essai",
	                         .timestamp = level >= 1,
	                         .crl_der = level >= 2 ? k->crl : NULL,
	                         .crl_der_bytes = level >= 2 ? k->crl_bytes : 0,
	                         .issuer_crl_der = level >= 2 ? k->issuer_crl : NULL,
	                         .issuer_crl_der_bytes = level >= 2 ? k->issuer_crl_bytes : 0,
	                         .ocsp_der = ocsps,
	                         .ocsp_der_bytes = k->ocsp_bytes,
	                         .ocsp_count = level >= 2 ? 2 : 0,
	                         .document_timestamp = level >= 3};
	int count = 0;
	int64_t cpu_start = bench_self_cpu_ns();
	double start = bench_now_s(), elapsed = 0, seconds = r->seconds / r->rounds;
	while (elapsed < seconds) {
		uint8_t *signed_pdf = NULL;
		size_t signed_bytes = 0;
		if (signer_pades_sign(pdf, n, k->credential, &o, &signed_pdf, &signed_bytes) != SIGNER_OK) {
			fprintf(stderr, "bench-sign: %s %s: %s\n", k->name, level_names[level], signer_last_error());
			return 0;
		}
		elapsed = bench_now_s() - start;
		count++;
		FILE *f = out && elapsed >= seconds ? fopen(out, "we") : NULL;
		if (f) {
			fwrite(signed_pdf, 1, signed_bytes, f);
			fclose(f);
		}
		free(signed_pdf);
	}
	*wall_ms = elapsed / count * 1000;
	return (double)(bench_self_cpu_ns() - cpu_start) / 1e6 / count;
}

/* The CPU time of our waited-for children, in ns. */
static int64_t children_cpu_ns(void)
{
	struct rusage u;
	if (getrusage(RUSAGE_CHILDREN, &u) != 0)
		return 0;
	return ((int64_t)u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000000 +
	       ((int64_t)u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1000;
}

/* `mutool sign` of in into out with p12, a process each, for r->seconds of its processes' wall
 * time; their CPU ms per signature (0 on failure), the wall ms in *wall_ms. *unsigned_count counts
 * the outputs whose /Contents mutool left all zero (checked outside the time measured). */
static double time_mutool(const sign_run *r, const char *p12, const char *in, const char *out, int *count,
                          int *unsigned_count, double *wall_ms)
{
	char *argv[] = {SIGN_MUTOOL, "sign",      "-s",       (char *)p12,       "-P", SIGN_P12_PASSWORD,
	                "-o",        (char *)out, (char *)in, SIGN_FIELD_OBJECT, NULL};
	*count = *unsigned_count = 0;
	double elapsed = 0;
	int64_t cpu_ns = 0;
	while (elapsed < r->seconds) {
		double start = bench_now_s();
		int64_t cpu_start = children_cpu_ns();
		bool ok = run_quiet(argv);
		cpu_ns += children_cpu_ns() - cpu_start;
		elapsed += bench_now_s() - start;
		if (!ok) {
			fprintf(stderr, "bench-sign: mutool sign %s failed\n", in);
			return 0;
		}
		(*count)++;
		*unsigned_count += contents_all_zero(out);
	}
	*wall_ms = elapsed / *count * 1000;
	return (double)cpu_ns / 1e6 / *count;
}

/* One bare ECDSA signature of a SHA-256 digest with key, for r->seconds / 4: CPU µs each (0 on
 * failure; SoftHSM2 signs in this process). What the PKCS#11 path adds to a signature, without
 * mupdf around it. */
static double time_key_sign(const sign_run *r, EVP_PKEY *key)
{
	unsigned char digest[32] = {1}, signature[128];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	if (!ctx || EVP_PKEY_sign_init(ctx) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return 0;
	}
	int count = 0;
	int64_t cpu_start = bench_self_cpu_ns();
	double start = bench_now_s(), elapsed = 0;
	while (elapsed < r->seconds / 4) {
		size_t bytes = sizeof signature;
		if (EVP_PKEY_sign(ctx, signature, &bytes, digest, sizeof digest) != 1) {
			EVP_PKEY_CTX_free(ctx);
			return 0;
		}
		count++;
		elapsed = bench_now_s() - start;
	}
	EVP_PKEY_CTX_free(ctx);
	return (double)(bench_self_cpu_ns() - cpu_start) / 1e3 / count;
}

/* The CA (PEM keys), its TSA and OCSP responder, the in-memory credential, the CRL. */
static bool setup_ca(const sign_run *r, const signer_subject *who, signer_ca **ca, signer_credential **cred,
                     sign_key *memory)
{
	const char *keys = path_in(r, "keys");
	if (signer_ca_init(keys, r->now_s) || signer_ca_open(keys, ca) || signer_tsa_enable(*ca, keys, r->now_s) ||
	    signer_ocsp_enable(*ca, keys, r->now_s) ||
	    signer_credential_get_or_issue(*ca, who, r->now_s, 365, cred, NULL) ||
	    signer_ca_crl(*ca, r->now_s, &memory->crl, &memory->crl_bytes) ||
	    signer_credential_crl(*ca, *cred, r->now_s, &memory->issuer_crl, &memory->issuer_crl_bytes) ||
	    signer_ca_ocsp(*ca, *cred, r->now_s, &memory->ocsp[0], &memory->ocsp_bytes[0]) ||
	    signer_ca_ocsp(*ca, NULL, r->now_s, &memory->ocsp[1], &memory->ocsp_bytes[1])) {
		fprintf(stderr, "bench-sign: setting up the CA: %s\n", signer_last_error());
		return false;
	}
	memory->credential = *cred;
	return true;
}

/* A certificate like model's (same subject and issuer), for key, with a serial and subject key
 * identifier of its own, signed with ca_key. */
static X509 *certificate_for(const X509 *model, EVP_PKEY *key, EVP_PKEY *ca_key)
{
	X509 *cert = X509_dup(model);
	BIGNUM *serial = BN_new();
	bool ok = cert && serial && BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
	          BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) && X509_set_pubkey(cert, key) == 1;
	int at = ok ? X509_get_ext_by_NID(cert, NID_subject_key_identifier, -1) : -1;
	if (at >= 0)
		X509_EXTENSION_free(X509_delete_ext(cert, at));
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, NULL, cert, NULL, NULL, 0);
	X509_EXTENSION *ski = ok ? X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash") : NULL;
	ok = ok && ski && X509_add_ext(cert, ski, -1) == 1 && X509_sign(cert, ca_key, EVP_sha256()) > 0;
	X509_EXTENSION_free(ski);
	BN_free(serial);
	if (!ok) {
		X509_free(cert);
		return NULL;
	}
	return cert;
}

/* The PKCS#11 side: a CA whose keys (its own, its TSA's, its OCSP responder's) are in a SoftHSM2
 * token set up as `ledgerd init` sets one up, as in production, and a credential whose key is
 * generated in the same token (persons' keys are files today: issue 7 moves them). */
typedef struct token_side {
	signer_ca *ca;
	signer_credential *issued; /* by the CA, with a file key: its certificate is the model */
	signer_credential credential;
	token *t;
} token_side;

static bool setup_token(const sign_run *r, const signer_subject *who, token_side *side, sign_key *k)
{
	const char *keys = path_in(r, "token-keys");
	token_config config;
	EVP_PKEY *key = NULL, *ca_key = NULL;
	if (signer_token_embedded_create(keys) || (r->signer_process && signer_process_start(keys)) ||
	    signer_ca_init(keys, r->now_s) || signer_ca_open(keys, &side->ca) ||
	    signer_tsa_enable(side->ca, keys, r->now_s) || signer_ocsp_enable(side->ca, keys, r->now_s) ||
	    signer_credential_get_or_issue(side->ca, who, r->now_s, 365, &side->issued, NULL) ||
	    token_config_read(keys, &config) || token_open(&config, &side->t) ||
	    token_key_generate(side->t, SIGN_TOKEN_KEY) || token_key_load(side->t, SIGN_TOKEN_KEY, &key) ||
	    token_key_load(side->t, SIGNER_CA_KEY_LABEL, &ca_key)) {
		fprintf(stderr, "bench-sign: setting up the token: %s\n", signer_last_error());
		EVP_PKEY_free(key);
		return false;
	}
	side->credential = *side->issued;
	side->credential.key = key;
	side->credential.certificate = certificate_for(side->issued->certificate, key, ca_key);
	EVP_PKEY_free(ca_key);
	k->credential = &side->credential;
	if (!side->credential.certificate || signer_ca_crl(side->ca, r->now_s, &k->crl, &k->crl_bytes) ||
	    signer_credential_crl(side->ca, side->issued, r->now_s, &k->issuer_crl, &k->issuer_crl_bytes) ||
	    signer_ca_ocsp(side->ca, &side->credential, r->now_s, &k->ocsp[0], &k->ocsp_bytes[0]) ||
	    signer_ca_ocsp(side->ca, NULL, r->now_s, &k->ocsp[1], &k->ocsp_bytes[1])) {
		fprintf(stderr, "bench-sign: the token key's certificate: %s\n", signer_last_error());
		return false;
	}
	return true;
}

/* mutool's credentials: the in-memory credential's key and certificate as PKCS#12 (p256.p12), and an
 * RSA-2048 key with a self-signed certificate (rsa.p12). */
static bool setup_mutool(const sign_run *r, const signer_subject *who)
{
	char name[SIGNER_CREDENTIAL_FILE_BYTES], credential[700];
	if (signer_credential_file(who, name))
		return false;
	snprintf(credential, sizeof credential, "%s/keys/signers/%s", r->dir, name);
	char *p256[] = {"openssl",
	                "pkcs12",
	                "-export",
	                "-in",
	                credential,
	                "-passout",
	                SIGN_P12_PASSOUT,
	                "-out",
	                path_in(r, "p256.p12"),
	                NULL};
	char *rsa_key[] = {"openssl",  "req",
	                   "-x509",    "-newkey",
	                   "rsa:2048", "-nodes",
	                   "-keyout",  path_in(r, "rsa.key"),
	                   "-out",     path_in(r, "rsa.pem"),
	                   "-subj",    "/CN=Bench Signataire",
	                   "-days",    "30",
	                   NULL};
	char *rsa[] = {"openssl",
	               "pkcs12",
	               "-export",
	               "-inkey",
	               path_in(r, "rsa.key"),
	               "-in",
	               path_in(r, "rsa.pem"),
	               "-passout",
	               SIGN_P12_PASSOUT,
	               "-out",
	               path_in(r, "rsa.p12"),
	               NULL};
	char out[4096];
	return bench_run_capture(p256, out, sizeof out) == 0 && bench_run_capture(rsa_key, out, sizeof out) == 0 &&
	       bench_run_capture(rsa, out, sizeof out) == 0;
}

static void measure_limits(sign_run *r)
{
	static char out[65536];
	char *speed_sha[] = {"openssl", "speed", "-seconds", "1", "-bytes", "16384", "sha256", NULL};
	char *speed_ec[] = {"openssl", "speed", "-seconds", "1", "ecdsap256", NULL};
	char *speed_rsa[] = {"openssl", "speed", "-seconds", "1", "rsa2048", NULL};
	r->sha_kb_s = bench_run_capture(speed_sha, out, sizeof out) == 0 ? bench_speed_figure(out, "sha256", 0) : 0;
	r->ecdsa_sign_s = bench_run_capture(speed_ec, out, sizeof out) == 0
	                      ? bench_speed_figure(out, " 256 bits ecdsa (nistp256)", 2)
	                      : 0;
	r->rsa_sign_s =
	    bench_run_capture(speed_rsa, out, sizeof out) == 0 ? bench_speed_figure(out, "rsa 2048 bits", 2) : 0;
}

/* A row: signatures per CPU-second and CPU ms each (what the limit, openssl speed's CPU time, compares
 * with), then the wall time (the same on a quiet machine). */
static void print_row(const char *level, const char *how, double ms, double wall_ms, double limit_ms)
{
	if (ms > 0)
		printf("    %-5s %-10s %7.1f signatures/s, %7.2f ms each (%5.1fx the limit); wall %7.2f ms\n", level,
		       how, 1000 / ms, ms, limit_ms > 0 ? ms / limit_ms : 0, wall_ms);
	else
		printf("    %-5s %-10s failed\n", level, how);
}

static int double_order(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median of n figures (sorted in place); 0 if any is 0 (a failed round). */
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, double_order);
	if (n == 0 || v[0] <= 0)
		return 0;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One case of measure_file: a key at a level, its rounds' figures. */
typedef struct sign_case {
	int key, level;
	double ms[SIGN_ROUNDS_MAX], wall_ms[SIGN_ROUNDS_MAX];
} sign_case;

/* One file: every row, and the checks of one output of each kind with pdfsig. */
static bool measure_file(const sign_run *r, int f, const char *file, sign_key *keys[2], bool mutool)
{
	size_t n = 0;
	uint8_t *pdf = bench_read_file(file, &n);
	if (!pdf) {
		fprintf(stderr, "bench-sign: cannot read %s\n", file);
		return false;
	}
	double hash_ms = r->sha_kb_s > 0 ? (double)n / (r->sha_kb_s * 1000) * 1000 : 0;
	double limit_ms = hash_ms + (r->ecdsa_sign_s > 0 ? 1000 / r->ecdsa_sign_s : 0);
	double rsa_limit_ms = hash_ms + (r->rsa_sign_s > 0 ? 1000 / r->rsa_sign_s : 0);
	printf("  %s, %zu bytes: limit %.2f ms (ECDSA P-256), %.2f ms (RSA-2048)\n", f ? "5 MB" : "100 KB", n, limit_ms,
	       rsa_limit_ms);
	bool ok = true;
	sign_case cases[2 * SIGN_LEVELS];
	int case_count = 0;
	for (int k = 0; k < 2; k++)
		for (int level = 0; level < SIGN_LEVELS; level++)
			if (k == 0 || level == 0 || level == 3) /* the token's rows: B-B and B-LTA */
				cases[case_count++] = (sign_case){.key = k, .level = level};
	for (int round = 0; round < r->rounds; round++)
		for (int c = 0; c < case_count; c++) {
			sign_case *x = &cases[c];
			bool last = round == r->rounds - 1;
			const char *out =
			    last && x->level == 0 ? path_in(r, x->key ? "token-b-b.pdf" : "memory-b-b.pdf") : NULL;
			x->ms[round] = time_pades(r, pdf, n, keys[x->key], x->level, out, &x->wall_ms[round]);
		}
	for (int c = 0; c < case_count; c++) {
		sign_case *x = &cases[c];
		sign_key *k = keys[x->key];
		double low = x->ms[0], high = x->ms[0];
		for (int round = 1; round < r->rounds; round++) {
			low = x->ms[round] < low ? x->ms[round] : low;
			high = x->ms[round] > high ? x->ms[round] : high;
		}
		k->ms[f][x->level] = median(x->ms, r->rounds);
		print_row(level_names[x->level], k->name, k->ms[f][x->level], median(x->wall_ms, r->rounds), limit_ms);
		if (r->rounds > 1 && k->ms[f][x->level] > 0)
			printf("          rounds: %.2f to %.2f ms\n", low, high);
		ok = ok && k->ms[f][x->level] > 0;
		if (x->level == 0 && k->ms[f][0] > 0 &&
		    !pdfsig_valid(path_in(r, x->key ? "token-b-b.pdf" : "memory-b-b.pdf"))) {
			printf("      pdfsig does not find the %s B-B signature valid\n", k->name);
			ok = false;
		}
	}
	free(pdf);
	if (!mutool)
		return ok;
	const char *credentials[2] = {"p256.p12", "rsa.p12"}, *names[2] = {"mutool EC", "mutool RSA"};
	for (int c = 0; c < 2; c++) {
		int count = 0, unsigned_count = 0;
		char *out = path_in(r, "mutool.pdf");
		double wall_ms = 0;
		double ms = time_mutool(r, path_in(r, credentials[c]), file, out, &count, &unsigned_count, &wall_ms);
		print_row("B-B", names[c], ms, wall_ms, c ? rsa_limit_ms : limit_ms);
		if (unsigned_count)
			printf("      %d of %d outputs have an all-zero /Contents: exit 0, but no signature\n",
			       unsigned_count, count);
		if (ms > 0 && !contents_all_zero(out) && !pdfsig_valid(out)) {
			printf("      pdfsig does not find mutool's last signature valid\n");
			ok = false;
		}
		ok = ok && ms > 0;
	}
	return ok;
}

static void print_targets(const sign_key *memory, const sign_key *pkcs11, const sign_run *r, size_t large_bytes)
{
	for (int f = 0; f < 2; f++)
		for (int level = 0; level < SIGN_LEVELS; level += 3)
			if (memory->ms[f][level] > 0 && pkcs11->ms[f][level] > 0)
				printf("PKCS#11 beside in memory, %s %s: %+.3f ms per signature (%.2fx)\n",
				       f ? "5 MB" : "100 KB", level_names[level],
				       pkcs11->ms[f][level] - memory->ms[f][level],
				       pkcs11->ms[f][level] / memory->ms[f][level]);
	printf("targets (information, not assertions)\n");
	for (int f = 0; f < 2; f++) {
		double x = memory->ms[f][0] > 0 ? memory->ms[f][3] / memory->ms[f][0] : 0;
		printf("  %s: B-LTA %.2f ms / B-B %.2f ms = %.2fx   [target <= %.1fx: %s]\n", f ? "5 MB" : "100 KB",
		       memory->ms[f][3], memory->ms[f][0], x, SIGN_TARGET_LTA_X,
		       x > 0 && x <= SIGN_TARGET_LTA_X ? "met" : "not met");
	}
	double limit_ms = (r->sha_kb_s > 0 ? (double)large_bytes / (r->sha_kb_s * 1000) * 1000 : 0) +
	                  (r->ecdsa_sign_s > 0 ? 1000 / r->ecdsa_sign_s : 0);
	for (int level = 0; level < SIGN_LEVELS; level += 3) {
		double share = memory->ms[1][level] > 0 ? limit_ms / memory->ms[1][level] : 0;
		printf("  5 MB %s at %.0f%% of the limit's rate   [target >= %.0f%%: %s]\n", level_names[level],
		       share * 100, SIGN_TARGET_SHARE * 100, share >= SIGN_TARGET_SHARE ? "met" : "not met");
	}
}

int main(int argc, char **argv)
{
	sign_run r = {.seconds = 2, .rounds = 3, .now_s = (int64_t)time(NULL)};
	const char *base = "/tmp";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			r.seconds = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			r.rounds = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			base = argv[++i];
		else if (strcmp(argv[i], "--signer-process") == 0)
			r.signer_process = true;
		else {
			fprintf(stderr,
			        "usage: bench-sign [--seconds S] [--rounds R] [--dir DIR] [--signer-process]\n");
			return 2;
		}
	}
	if (r.seconds <= 0 || r.seconds > 600) {
		fprintf(stderr, "bench-sign: --seconds from 0 to 600\n");
		return 2;
	}
	if (r.rounds < 1 || r.rounds > SIGN_ROUNDS_MAX) {
		fprintf(stderr, "bench-sign: --rounds from 1 to %d\n", SIGN_ROUNDS_MAX);
		return 2;
	}
	snprintf(r.dir, sizeof r.dir, "%s/bench-sign-XXXXXX", base);
	if (!mkdtemp(r.dir)) {
		fprintf(stderr, "bench-sign: %s: %s\n", r.dir, strerror(errno));
		return 1;
	}
	char files[2][640];
	snprintf(files[0], sizeof files[0], "%s", path_in(&r, "100k.pdf"));
	snprintf(files[1], sizeof files[1], "%s", path_in(&r, "5m.pdf"));
	char *make_small[] = {"python3",           MAKE_PDF, files[0], "--padding-kib", "100", "--seed", "1",
	                      "--signature-field", NULL};
	char *make_large[] = {"python3",           MAKE_PDF, files[1], "--padding-kib", "5000", "--seed", "2",
	                      "--signature-field", NULL};
	signer_subject who = {.kind = SIGNER_KIND_PERSON,
	                      .id = "bench@cabinet.fr",
	                      .display_name = "Bench Signataire",
	                      .organisation = "Cabinet Bench"};
	signer_ca *ca = NULL;
	signer_credential *cred = NULL;
	token_side side = {0};
	sign_key memory = {.name = "in memory"}, pkcs11 = {.name = "PKCS#11"};
	char out[4096];
	bool mutool = access(SIGN_MUTOOL, X_OK) == 0;
	if (bench_run_capture(make_small, out, sizeof out) != 0 ||
	    bench_run_capture(make_large, out, sizeof out) != 0 || !setup_ca(&r, &who, &ca, &cred, &memory) ||
	    !setup_token(&r, &who, &side, &pkcs11) || (mutool && !setup_mutool(&r, &who)))
		return 1;
	double load_before = bench_load_average(); /* other work on the machine skews every figure */
	bench_machine_sample before;
	bench_machine_sample_take(&before);
	measure_limits(&r);
	printf("bench-sign: %.1f s per case in %d round%s (medians); figures in CPU time, as openssl speed's; limit = "
	       "SHA-256 of the file (openssl speed: %.0f MB/s) + one signature (openssl speed: ECDSA P-256 %.0f/s, "
	       "RSA-2048 %.0f/s)\n",
	       r.seconds, r.rounds, r.rounds > 1 ? "s" : "", r.sha_kb_s / 1000, r.ecdsa_sign_s, r.rsa_sign_s);
	if (!mutool)
		printf("  (no %s: install mupdf-tools for the mutool sign row)\n", SIGN_MUTOOL);
	if (r.signer_process)
		printf("  PKCS#11 rows through the signer process (pid %ld): its CPU is not counted, read the wall "
		       "times\n",
		       signer_process_pid());
	printf("  one ECDSA P-256 signature of a digest (EVP_PKEY_sign): in memory %.1f µs, PKCS#11 %.1f µs (CPU)\n",
	       time_key_sign(&r, cred->key), time_key_sign(&r, side.credential.key));
	sign_key *keys[2] = {&memory, &pkcs11};
	bool small_ok = measure_file(&r, 0, files[0], keys, mutool);
	bool large_ok = measure_file(&r, 1, files[1], keys, mutool);
	bench_machine_use use = bench_machine_use_since(&before);
	if (use.known)
		printf(
		    "machine: load average %.2f before the run; during its %.0f s, %.1f CPU-s went to other processes "
		    "and kernel threads, %.1f s stolen by the hypervisor\n",
		    load_before, use.wall_s, use.others_cpu_s, use.steal_s);
	struct stat st;
	print_targets(&memory, &pkcs11, &r, stat(files[1], &st) == 0 ? (size_t)st.st_size : 0);
	for (int i = 0; i < 2; i++) {
		free(memory.ocsp[i]);
		free(pkcs11.ocsp[i]);
	}
	free(memory.crl);
	free(pkcs11.crl);
	free(memory.issuer_crl);
	free(pkcs11.issuer_crl);
	EVP_PKEY_free(side.credential.key);
	X509_free(side.credential.certificate);
	signer_credential_free(side.issued);
	signer_ca_free(side.ca);
	token_close(side.t);
	signer_credential_free(cred);
	signer_ca_free(ca);
	bench_remove_tree(NULL, r.dir);
	return small_ok && large_ok ? 0 : 1;
}

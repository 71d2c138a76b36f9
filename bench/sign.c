/*
 * bench-sign: what a signature costs, at each PAdES level, beside the limit measured in the
 * same run (docs/benchmarks.md, "bench-sign").
 *
 * For a PDF of about 100 KB and one of about 5 MB (tests/support/make_pdf.py, random
 * content-stream padding), signatures per second with signer_pades_sign at B-B, B-T, B-LT and
 * B-LTA (the CA, its time-stamping unit and OCSP responder in a scratch keys directory, the
 * CRL and OCSP responses made once), beside the limit of one signature: hashing the bytes
 * (`openssl speed -bytes 16384 sha256`) plus one ECDSA P-256 signature (`openssl speed
 * ecdsap256`), and the B-LTA cost of its three time-stamp/OCSP signatures.
 *
 * usage: bench-sign [--seconds S] [--dir DIR]    (S per case, default 2)
 */
#include "signer.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	double seconds = 2;
	const char *base = "/tmp";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			base = argv[++i];
		else {
			fprintf(stderr, "usage: bench-sign [--seconds S] [--dir DIR]\n");
			return 2;
		}
	}
	if (seconds <= 0 || seconds > 600) {
		fprintf(stderr, "bench-sign: --seconds from 0 to 600\n");
		return 2;
	}
	char dir[512], keys[600], small[600], large[600];
	snprintf(dir, sizeof dir, "%s/bench-sign-XXXXXX", base);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "bench-sign: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(keys, sizeof keys, "%s/keys", dir);
	snprintf(small, sizeof small, "%s/100k.pdf", dir);
	snprintf(large, sizeof large, "%s/5m.pdf", dir);
	char out[65536];
	char *make_small[] = {"python3", MAKE_PDF, small, "--padding-kib", "100", "--seed", "1", NULL};
	char *make_large[] = {"python3", MAKE_PDF, large, "--padding-kib", "5000", "--seed", "2", NULL};
	int64_t t = (int64_t)time(NULL);
	signer_ca *ca = NULL;
	signer_credential *cred = NULL;
	uint8_t *crl = NULL, *ocsp[2] = {NULL, NULL};
	size_t crl_bytes = 0, ocsp_bytes[2] = {0, 0};
	signer_subject who = {.kind = SIGNER_KIND_PERSON,
	                      .id = "bench@cabinet.fr",
	                      .display_name = "Bench Signataire",
	                      .organisation = "Cabinet Bench"};
	if (bench_run_capture(make_small, out, sizeof out) != 0 ||
	    bench_run_capture(make_large, out, sizeof out) != 0 || signer_ca_init(keys, t) ||
	    signer_ca_open(keys, &ca) || signer_tsa_enable(ca, keys, t) || signer_ocsp_enable(ca, keys, t) ||
	    signer_credential_get_or_issue(ca, &who, t, 365, &cred, NULL) || signer_ca_crl(ca, t, &crl, &crl_bytes) ||
	    signer_ca_ocsp(ca, cred, t, &ocsp[0], &ocsp_bytes[0]) ||
	    signer_ca_ocsp(ca, NULL, t, &ocsp[1], &ocsp_bytes[1])) {
		fprintf(stderr, "bench-sign: setting up: %s\n", signer_last_error());
		return 1;
	}
	const uint8_t *const ocsps[2] = {ocsp[0], ocsp[1]};
	char *speed_sha[] = {"openssl", "speed", "-seconds", "1", "-bytes", "16384", "sha256", NULL};
	char *speed_ec[] = {"openssl", "speed", "-seconds", "1", "ecdsap256", NULL};
	double sha_kb_s = bench_run_capture(speed_sha, out, sizeof out) == 0 ? bench_speed_figure(out, "sha256", 0) : 0;
	double ecdsa_sign_s = bench_run_capture(speed_ec, out, sizeof out) == 0
	                          ? bench_speed_figure(out, " 256 bits ecdsa (nistp256)", 2)
	                          : 0;
	printf("bench-sign: signer_pades_sign, %.0f s per case; limit = SHA-256 of the file (openssl speed: %.0f MB/s) "
	       "+ one ECDSA P-256 signature (%.0f/s)\n",
	       seconds, sha_kb_s / 1000, ecdsa_sign_s);
	const char *files[] = {small, large};
	const char *levels[] = {"B-B", "B-T", "B-LT", "B-LTA"};
	int failed = 0;
	for (int f = 0; f < 2; f++) {
		size_t n = 0;
		uint8_t *pdf = bench_read_file(files[f], &n);
		if (!pdf) {
			fprintf(stderr, "bench-sign: cannot read %s\n", files[f]);
			return 1;
		}
		double limit_ms = (sha_kb_s > 0 ? (double)n / (sha_kb_s * 1000) * 1000 : 0) +
		                  (ecdsa_sign_s > 0 ? 1000 / ecdsa_sign_s : 0);
		printf("  %s, %zu bytes: limit %.2f ms\n", f ? "5 MB" : "100 KB", n, limit_ms);
		for (int level = 0; level < 4; level++) {
			signer_sign_options o = {.signing_time_s = t,
			                         .reason = "Banc d'essai",
			                         .timestamp = level >= 1,
			                         .crl_der = level >= 2 ? crl : NULL,
			                         .crl_der_bytes = level >= 2 ? crl_bytes : 0,
			                         .ocsp_der = ocsps,
			                         .ocsp_der_bytes = ocsp_bytes,
			                         .ocsp_count = level >= 2 ? 2 : 0,
			                         .document_timestamp = level >= 3};
			int count = 0;
			double start = bench_now_s(), elapsed = 0;
			while (elapsed < seconds) {
				uint8_t *signed_pdf = NULL;
				size_t signed_bytes = 0;
				if (signer_pades_sign(pdf, n, cred, &o, &signed_pdf, &signed_bytes) != SIGNER_OK) {
					fprintf(stderr, "bench-sign: %s: %s\n", levels[level], signer_last_error());
					failed = 1;
					break;
				}
				free(signed_pdf);
				count++;
				elapsed = bench_now_s() - start;
			}
			if (count)
				printf("    %-5s %6.1f signatures/s, %7.2f ms each (%.1fx the limit)\n", levels[level],
				       count / elapsed, elapsed / count * 1000,
				       limit_ms > 0 ? elapsed / count * 1000 / limit_ms : 0);
		}
		free(pdf);
	}
	free(crl);
	free(ocsp[0]);
	free(ocsp[1]);
	signer_credential_free(cred);
	signer_ca_free(ca);
	bench_remove_tree(NULL, dir);
	return failed;
}

/*
 * pki_http_test: the PKI endpoint's bounds (api/pki_http.c), in process, over real HTTP (curl).
 * While the endpoint's thread is held (its clock does not return), requests queue up to
 * API_PKI_QUEUE_MAX and the rest are answered 503 at once, not left waiting; once the thread
 * goes on, every queued request is answered 200. Stopping answers what is queued first. The
 * data directory's PKI URL file: written once, read back, the default when absent, a bad URL
 * refused.
 */
#include "../check.h"
#include "../support/scratch.h"
#include "harness.h"
#include "pki_http.h"
#include "signer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQUESTS (API_PKI_QUEUE_MAX + 16u)
#define WAIT_MS  20000
#define COMMAND  2048

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_open = PTHREAD_COND_INITIALIZER;
static bool gate_is_open;

/* The endpoint's clock: held shut until the test opens the gate. */
static int64_t gated_clock_us(void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&gate_lock);
	while (!gate_is_open)
		pthread_cond_wait(&gate_open, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	return (int64_t)time(NULL) * 1000000;
}

static void gate_set(bool open)
{
	pthread_mutex_lock(&gate_lock);
	gate_is_open = open;
	pthread_cond_broadcast(&gate_open);
	pthread_mutex_unlock(&gate_lock);
}

/* How many lines of path hold exactly code; *lines the number of lines. */
static unsigned count_code(const char *path, const char *code, unsigned *lines)
{
	FILE *f = fopen(path, "r");
	char line[64];
	unsigned n = 0;
	*lines = 0;
	while (f && fgets(line, sizeof line, f)) {
		(*lines)++;
		n += strncmp(line, code, strlen(code)) == 0;
	}
	if (f)
		fclose(f);
	return n;
}

/* Waits until path has at least want lines; false after WAIT_MS. */
static bool wait_lines(const char *path, unsigned want)
{
	unsigned lines = 0;
	for (int waited = 0; waited < WAIT_MS; waited += 20) {
		count_code(path, "", &lines);
		if (lines >= want)
			return true;
		usleep(20 * 1000);
	}
	return false;
}

static void test_queue_bound(const signer_ca *ca, const char *root)
{
	char url[64], codes[600], command[COMMAND];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", harness_free_port());
	snprintf(codes, sizeof codes, "%s/codes", root);
	gate_set(false);
	const char *why = NULL;
	api_pki_http *pki = api_pki_http_start(ca, url, NULL, gated_clock_us, NULL, &why);
	REQUIRE_VOID(pki != NULL);
	/* every request at once; each prints its status on a line of its own */
	snprintf(command, sizeof command,
	         "seq 1 %u | xargs -P %u -I{} curl -s -m 30 -o /dev/null -w '%%{http_code}\\n' %s/ca.crt >> '%s' &",
	         REQUESTS, REQUESTS, url, codes);
	REQUIRE_VOID(system(command) == 0);
	/* the thread holds one, the queue API_PKI_QUEUE_MAX: the rest are refused without waiting */
	unsigned refused = REQUESTS - API_PKI_QUEUE_MAX - 1, lines = 0;
	CHECK(wait_lines(codes, refused), "the requests past the queue are answered at once");
	usleep(300 * 1000); /* would any more be answered while the thread is held? */
	CHECK(count_code(codes, "503", &lines) == refused && lines == refused,
	      "%u answered 503 while the thread is held, none other (%u lines)", refused, lines);
	gate_set(true);
	CHECK(wait_lines(codes, REQUESTS), "every request answered once the thread goes on");
	CHECK(count_code(codes, "200", &lines) == API_PKI_QUEUE_MAX + 1 && lines == REQUESTS,
	      "the %u queued are answered 200 (%u lines)", API_PKI_QUEUE_MAX + 1, lines);
	api_pki_http_stop(pki);
	snprintf(command, sizeof command, "curl -s -m 5 -o /dev/null %s/ca.crt", url);
	CHECK(system(command) != 0, "a stopped endpoint accepts nothing");
}

/* Stopping while requests wait: they are answered before the endpoint goes. */
static void *stop_later(void *arg)
{
	usleep(500 * 1000);
	gate_set(true);
	(void)arg;
	return NULL;
}

static void test_stop_drains(const signer_ca *ca, const char *root)
{
	char url[64], codes[600], command[COMMAND];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", harness_free_port());
	snprintf(codes, sizeof codes, "%s/drain", root);
	gate_set(false);
	const char *why = NULL;
	api_pki_http *pki = api_pki_http_start(ca, url, NULL, gated_clock_us, NULL, &why);
	REQUIRE_VOID(pki != NULL);
	snprintf(command, sizeof command,
	         "seq 1 8 | xargs -P 8 -I{} curl -s -m 30 -o /dev/null -w '%%{http_code}\\n' %s/crl >> '%s' &", url,
	         codes);
	REQUIRE_VOID(system(command) == 0);
	/* all eight in: the thread holds one, seven wait (under load curl may take seconds to start,
	 * and a fixed sleep let one arrive after the stop, answered 503) */
	for (int i = 0; i < 600 && api_pki_http_waiting(pki) < 7; i++)
		usleep(50 * 1000);
	CHECK(api_pki_http_waiting(pki) == 7, "seven requests wait behind the held one (%zu)",
	      api_pki_http_waiting(pki));
	pthread_t opener;
	REQUIRE_VOID(pthread_create(&opener, NULL, stop_later, NULL) == 0);
	api_pki_http_stop(pki); /* waits for the thread, which answers the eight first */
	pthread_join(opener, NULL);
	unsigned lines = 0;
	CHECK(wait_lines(codes, 8) && count_code(codes, "200", &lines) == 8, "the 8 queued were answered 200 (%u)",
	      lines);
}

static void test_url_file(const char *root)
{
	char dir[600], url[SIGNER_PKI_URL_BYTES_MAX + 1];
	const char *why = NULL;
	snprintf(dir, sizeof dir, "%s/data", root);
	REQUIRE_VOID(mkdir(dir, 0700) == 0);
	CHECK(api_pki_url_read(dir, url, &why) && strcmp(url, API_PKI_URL_DEFAULT) == 0, "no file: the default");
	CHECK(!api_pki_url_write(dir, "https://pki.example.fr", &why), "https refused");
	CHECK(api_pki_url_write(dir, "http://pki.example.fr/ledger", &why), "written: %s", why ? why : "");
	CHECK(!api_pki_url_write(dir, "http://other.example.fr", &why), "written once");
	CHECK(api_pki_url_read(dir, url, &why) && strcmp(url, "http://pki.example.fr/ledger") == 0, "read back: %s",
	      url);
	char path[700];
	snprintf(path, sizeof path, "%s/%s", dir, API_PKI_URL_FILE);
	REQUIRE_VOID(write_file(path, "http://a,b\n", 11));
	CHECK(!api_pki_url_read(dir, url, &why), "a bad URL in the file is refused");
	CHECK(api_pki_listen_check("0.0.0.0:8079") && api_pki_listen_check("localhost:1") &&
	          !api_pki_listen_check("127.0.0.1") && !api_pki_listen_check(":80") &&
	          !api_pki_listen_check("127.0.0.1:65536") && !api_pki_listen_check("a b:80"),
	      "--pki-listen HOST:PORT");
}

int main(void)
{
	char *root = scratch_dir("pki-http");
	REQUIRE(root, "scratch directory");
	char keys[600];
	snprintf(keys, sizeof keys, "%s/keys", root);
	int64_t now_s = (int64_t)time(NULL);
	signer_ca *ca = NULL;
	REQUIRE(signer_ca_init(keys, now_s - 86400) == SIGNER_OK && signer_ca_open(keys, &ca) == SIGNER_OK &&
	            signer_ocsp_enable(ca, keys, now_s) == SIGNER_OK,
	        "CA: %s", signer_last_error());
	test_queue_bound(ca, root);
	test_stop_drains(ca, root);
	test_url_file(root);
	signer_ca_free(ca);
	remove_dir(root);
	free(root);
	return check_report(__FILE__);
}

/*
 * signer_process_test: the signer process (signer/token_remote.c, token_server.c,
 * ledger_signer.c; docs/signer.md#the-signer-process) against a real SoftHSM2 token set up in a
 * scratch directory. Proves that, once signer_process_start() has run, this process's token is
 * the signer process's: a key generated there signs through OpenSSL (the signature verifies in
 * software with the public key alone), from several threads at once; its protection attributes
 * and object count come back; destroyed, it is gone and a key loaded before signs nothing; the
 * CA, its TSA's and OCSP responder's keys are made there and sign certificates that verify.
 * That killing the signer process (SIGKILL) makes the next signature fail with a typed error
 * naming it, and the one after succeed, from a new process; killed between requests, it is reaped
 * by signer_process_reap() (no zombie) and the next signature fails likewise; and that a signer process that stops
 * answering (SIGSTOP) fails the request after SIGNER_PROCESS_REPLY_MS_MAX and is replaced. That ledger-signer, sent
 * malformed requests directly (short, long, of another version or type, bad labels, a digest of 31 or 33 bytes, random
 * bytes), answers each with a typed error and keeps serving, and drops unanswered a request from a process forked from
 * its parent. And that stopping it reaps it and leaves the keys unable to sign.
 */
#include "signer_util.h"

#include "signer.h"
#include "token_remote.h"
#include "token_server.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <time.h>

#define MESSAGE         "Approbation des comptes 2026"
#define THREADS         4
#define SIGNATURES_EACH 16
#define GARBAGE_ROUNDS  2000
#define NOW_S           1767225600 /* 2026-01-01T00:00:00Z */

extern char **environ;

/* ECDSA-SHA256 of MESSAGE with key into sig; its length, 0 on failure (OpenSSL's reason in why). */
static size_t sign(EVP_PKEY *key, unsigned char *sig, size_t sig_max, char *why, size_t why_bytes)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t bytes = sig_max;
	bool ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	          EVP_DigestSign(md, sig, &bytes, (const unsigned char *)MESSAGE, strlen(MESSAGE)) == 1;
	EVP_MD_CTX_free(md);
	if (why) {
		why[0] = '\0';
		unsigned long e;
		const char *data = NULL;
		int flags = 0;
		/* the first reason queued is the signer process's */
		while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0)
			if (!why[0])
				snprintf(why, why_bytes, "%s",
				         data && (flags & ERR_TXT_STRING) ? data : ERR_reason_error_string(e));
	}
	ERR_clear_error();
	return ok ? bytes : 0;
}

/* Whether sig is a signature of MESSAGE by key's public half, checked in software. */
static bool verifies(EVP_PKEY *key, const unsigned char *sig, size_t sig_bytes)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der);
	const unsigned char *at = der;
	EVP_PKEY *pub = n > 0 ? d2i_PUBKEY(NULL, &at, n) : NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = pub && md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 &&
	          EVP_DigestVerify(md, sig, sig_bytes, (const unsigned char *)MESSAGE, strlen(MESSAGE)) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pub);
	OPENSSL_free(der);
	ERR_clear_error();
	return ok;
}

typedef struct signing_thread {
	EVP_PKEY *key;
	int verified;
} signing_thread;

static void *sign_many(void *arg)
{
	signing_thread *s = arg;
	for (int i = 0; i < SIGNATURES_EACH; i++) {
		unsigned char sig[128];
		size_t n = sign(s->key, sig, sizeof sig, NULL, 0);
		s->verified += n > 0 && verifies(s->key, sig, n);
	}
	return NULL;
}

static void test_key(token *t)
{
	CHECK(token_key_generate(t, "remote-key") == SIGNER_OK, "generate: %s", signer_last_error());
	CHECK(token_key_generate(t, "remote-key") == SIGNER_ERR_EXISTS, "the same label again: %s",
	      signer_last_error());
	CHECK(token_key_generate(t, "a label") == SIGNER_ERR_INVALID, "a label with a space is refused before sending");
	EVP_PKEY *key = NULL;
	REQUIRE_VOID(token_key_load(t, "remote-key", &key) == SIGNER_OK);
	unsigned char sig[128];
	size_t n = sign(key, sig, sizeof sig, NULL, 0);
	CHECK(n > 0 && verifies(key, sig, n), "a signature by the signer process verifies in software");
	signing_thread threads[THREADS];
	for (int i = 0; i < THREADS; i++)
		threads[i] = (signing_thread){key, 0};
	REQUIRE_VOID(run_threads(sign_many, threads, sizeof threads[0], THREADS));
	for (int i = 0; i < THREADS; i++)
		CHECK(threads[i].verified == SIGNATURES_EACH, "thread %d: %d of %d signatures verify", i,
		      threads[i].verified, SIGNATURES_EACH);
	bool sensitive = false, extractable = true;
	CHECK(token_key_protection(t, "remote-key", &sensitive, &extractable) == SIGNER_OK && sensitive && !extractable,
	      "sensitive and never extractable, as the token says: %s", signer_last_error());
	size_t objects = 0;
	CHECK(token_objects_count(t, "remote-key", &objects) == SIGNER_OK && objects == 2,
	      "a private and a public key: %zu", objects);
	CHECK(token_key_destroy(t, "remote-key") == SIGNER_OK, "destroy: %s", signer_last_error());
	EVP_PKEY *gone = NULL;
	CHECK(token_key_load(t, "remote-key", &gone) == SIGNER_ERR_NOT_FOUND && !gone, "load after destroy: %s",
	      signer_last_error());
	CHECK(token_objects_count(t, "remote-key", &objects) == SIGNER_OK && objects == 0, "nothing left: %zu",
	      objects);
	char why[SIGNER_ERROR_BYTES_MAX];
	CHECK(sign(key, sig, sizeof sig, why, sizeof why) == 0, "a key loaded before its destruction signs nothing");
	CHECK(strstr(why, "no key labelled") != NULL, "and the reason says so: %s", why);
	EVP_PKEY_free(key);
}

/* cert's signature verifies under issuer's public key. */
static bool signed_by(X509 *cert, X509 *issuer)
{
	EVP_PKEY *pub = X509_get0_pubkey(issuer);
	bool ok = cert && pub && X509_verify(cert, pub) == 1;
	ERR_clear_error();
	return ok;
}

static X509 *pem_certificate(const char *keys, const char *name)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", keys, name);
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	return x;
}

static void test_ca(const char *keys)
{
	REQUIRE_VOID(signer_ca_init(keys, NOW_S) == SIGNER_OK);
	signer_ca *ca = NULL;
	REQUIRE_VOID(signer_ca_open(keys, &ca) == SIGNER_OK);
	CHECK(signer_tsa_enable(ca, keys, NOW_S) == SIGNER_OK, "TSA: %s", signer_last_error());
	CHECK(signer_ocsp_enable(ca, keys, NOW_S) == SIGNER_OK, "OCSP: %s", signer_last_error());
	signer_ca_free(ca);
	X509 *root = pem_certificate(keys, SIGNER_CA_CERT_FILE);
	X509 *tsa = pem_certificate(keys, SIGNER_TSA_CERT_FILE);
	X509 *ocsp = pem_certificate(keys, SIGNER_OCSP_CERT_FILE);
	CHECK(signed_by(root, root), "the CA certificate, signed by the signer process, verifies");
	CHECK(signed_by(tsa, root) && signed_by(ocsp, root), "the TSA's and OCSP responder's certificates verify");
	X509_free(root);
	X509_free(tsa);
	X509_free(ocsp);
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", keys, SIGNER_CA_KEY_FILE);
	CHECK(access(path, F_OK) != 0, "no CA key file: the key is in the token");
	CHECK(signer_ca_open(keys, &ca) == SIGNER_OK, "opened again, its key found through the signer process: %s",
	      signer_last_error());
	signer_ca_free(ca);
}

/* The state letter of /proc/pid/stat ('Z' for a zombie), or '-' when there is no such process. */
static char process_state(long pid)
{
	char path[64], state = '-';
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "re");
	if (f && fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
		state = '-';
	if (f)
		fclose(f);
	return state;
}

/* Killed between requests: signer_process_reap() waits for it (no zombie is left), and the next
 * signature fails all the same, saying how it ended, and starts a new process. */
static void test_reaped(EVP_PKEY *key)
{
	char why[SIGNER_PROCESS_WHY_BYTES];
	CHECK(signer_process_reap(why) == 0 && why[0] == '\0', "a live signer process is not reaped");
	long before = signer_process_pid();
	REQUIRE_VOID(before > 0 && kill((pid_t)before, SIGKILL) == 0);
	long reaped = 0;
	for (int waited_ms = 0; !reaped && waited_ms < 5000; waited_ms += 10) {
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
		reaped = signer_process_reap(why);
	}
	CHECK(reaped == before && strstr(why, "signal 9"), "the killed one is reaped: pid %ld (was %ld), %s", reaped,
	      before, why);
	char state = process_state(before);
	CHECK(state != 'Z', "no zombie of it is left (state %c)", state);
	CHECK(signer_process_pid() == 0 && signer_process_reap(why) == 0, "reaped once, and no pid is kept for it");
	unsigned char sig[128];
	char reason[SIGNER_ERROR_BYTES_MAX];
	CHECK(sign(key, sig, sizeof sig, reason, sizeof reason) == 0, "the next signature fails");
	CHECK(strstr(reason, "signal 9") && strstr(reason, "started again"),
	      "its reason says how the process ended and that it was started again: %s", reason);
	size_t n = sign(key, sig, sizeof sig, NULL, 0);
	long after = signer_process_pid();
	CHECK(after > 0 && n > 0 && verifies(key, sig, n), "and the one after is made, by a new process (%ld)", after);
}

static void test_killed(token *t)
{
	REQUIRE_VOID(token_key_generate(t, "kill-key") == SIGNER_OK);
	EVP_PKEY *key = NULL;
	REQUIRE_VOID(token_key_load(t, "kill-key", &key) == SIGNER_OK);
	long before = signer_process_pid();
	REQUIRE_VOID(before > 0 && kill((pid_t)before, SIGKILL) == 0);
	unsigned char sig[128];
	char why[SIGNER_ERROR_BYTES_MAX];
	CHECK(sign(key, sig, sizeof sig, why, sizeof why) == 0, "the signature after the kill fails");
	CHECK(strstr(why, "signer process") && strstr(why, "signal 9") && strstr(why, "started again"),
	      "its reason names the signer process, the signal and the restart: %s", why);
	long after = signer_process_pid();
	CHECK(after > 0 && after != before, "a new signer process: %ld (was %ld)", after, before);
	size_t n = sign(key, sig, sizeof sig, NULL, 0);
	CHECK(n > 0 && verifies(key, sig, n), "the next signature is made, by the new process");
	test_reaped(key);
	/* Stopped (SIGSTOP) rather than killed: the request waits SIGNER_PROCESS_REPLY_MS_MAX, fails,
	 * and the process is killed and replaced. */
	before = signer_process_pid();
	REQUIRE_VOID(kill((pid_t)before, SIGSTOP) == 0);
	time_t start = time(NULL);
	CHECK(sign(key, sig, sizeof sig, why, sizeof why) == 0, "a signature from a stopped signer process fails");
	time_t waited = time(NULL) - start;
	CHECK(strstr(why, "did not answer within") && waited >= SIGNER_PROCESS_REPLY_MS_MAX / 1000 - 1 &&
	          waited <= SIGNER_PROCESS_REPLY_MS_MAX / 1000 + 5,
	      "after about %d s (%ld s), saying so: %s", SIGNER_PROCESS_REPLY_MS_MAX / 1000, (long)waited, why);
	after = signer_process_pid();
	CHECK(after > 0 && after != before && kill((pid_t)before, 0) != 0, "the stopped one is gone, a new one runs");
	n = sign(key, sig, sizeof sig, NULL, 0);
	CHECK(n > 0 && verifies(key, sig, n), "and the next signature is made");
	CHECK(token_key_destroy(t, "kill-key") == SIGNER_OK, "destroy: %s", signer_last_error());
	EVP_PKEY_free(key);
}

/* ----- ledger-signer spoken to directly ----- */

/* ledger-signer beside this test, on keys, with fd as its descriptor 3; its pid, or -1. */
static pid_t signer_spawn(const char *keys, int *fd)
{
	char self[1024], program[1100];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(program, sizeof program, "%s/%s", self, SIGNER_PROCESS_PROGRAM);
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
		return -1;
	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	int child_end = fcntl(pair[1], F_DUPFD_CLOEXEC, 10);
	posix_spawn_file_actions_adddup2(&actions, child_end, TOKEN_SERVER_FD);
	char *argv[] = {program, "--keys", (char *)keys, NULL};
	pid_t pid = -1;
	if (posix_spawn(&pid, program, &actions, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&actions);
	close(pair[1]);
	close(child_end);
	*fd = pair[0];
	return pid;
}

/* Sends bytes as one packet; the reply's status, or -1 when none came or it is malformed. */
static int status_of(int fd, const uint8_t *bytes, size_t n)
{
	uint8_t in[TOKEN_WIRE_REPLY_BYTES_MAX + 1];
	if (send(fd, bytes, n, MSG_NOSIGNAL) != (ssize_t)n)
		return -1;
	ssize_t got = recv(fd, in, sizeof in, 0);
	return got >= (ssize_t)TOKEN_WIRE_HEADER_BYTES && got <= (ssize_t)TOKEN_WIRE_REPLY_BYTES_MAX &&
	               in[0] == TOKEN_WIRE_VERSION
	           ? in[2]
	           : -1;
}

static void test_malformed(const char *keys)
{
	int fd = -1;
	pid_t pid = signer_spawn(keys, &fd);
	REQUIRE_VOID(pid > 0);
	struct timeval tv = {.tv_sec = 30};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	uint8_t hello[TOKEN_WIRE_REPLY_BYTES_MAX];
	CHECK(recv(fd, hello, sizeof hello, 0) == TOKEN_WIRE_HEADER_BYTES && hello[2] == SIGNER_OK,
	      "ledger-signer greets with a login that worked");
	uint8_t sign_31[3 + 9 + 31] = {1, TOKEN_WIRE_SIGN, 9, 's', 'i', 'g', 'n', 'e', 'r', '-', 'c', 'a'};
	uint8_t sign_33[3 + 9 + 33] = {1, TOKEN_WIRE_SIGN, 9, 's', 'i', 'g', 'n', 'e', 'r', '-', 'c', 'a'};
	uint8_t long_label[3 + 65] = {1, TOKEN_WIRE_LOAD, 65};
	memset(long_label + 3, 'a', 65);
	uint8_t too_long[200] = {1, TOKEN_WIRE_LOAD, 2, 'a', 'b'};
	uint8_t load_digest[3 + 9 + 32] = {1, TOKEN_WIRE_LOAD, 9, 's', 'i', 'g', 'n', 'e', 'r', '-', 'c', 'a'};
	struct {
		const char *what;
		const uint8_t *bytes;
		size_t n;
		int status;
	} cases[] = {
	    {"an empty packet", (const uint8_t *)"", 0, SIGNER_ERR_INVALID},
	    {"one byte", (const uint8_t[]){1}, 1, SIGNER_ERR_INVALID},
	    {"another version", (const uint8_t[]){2, TOKEN_WIRE_LOAD, 1, 'a'}, 4, SIGNER_ERR_INVALID},
	    {"type 0", (const uint8_t[]){1, 0, 1, 'a'}, 4, SIGNER_ERR_INVALID},
	    {"an unknown type", (const uint8_t[]){1, 99, 1, 'a'}, 4, SIGNER_ERR_INVALID},
	    {"an empty label", (const uint8_t[]){1, TOKEN_WIRE_LOAD, 0}, 3, SIGNER_ERR_INVALID},
	    {"a label of 65 bytes", long_label, sizeof long_label, SIGNER_ERR_INVALID},
	    {"a label shorter than it says", (const uint8_t[]){1, TOKEN_WIRE_LOAD, 5, 'a'}, 4, SIGNER_ERR_INVALID},
	    {"a label with a NUL", (const uint8_t[]){1, TOKEN_WIRE_LOAD, 2, 'a', 0}, 5, SIGNER_ERR_INVALID},
	    {"a label with a slash", (const uint8_t[]){1, TOKEN_WIRE_LOAD, 2, '.', '/'}, 5, SIGNER_ERR_INVALID},
	    {"a digest of 31 bytes", sign_31, sizeof sign_31, SIGNER_ERR_INVALID},
	    {"a digest of 33 bytes", sign_33, sizeof sign_33, SIGNER_ERR_INVALID},
	    {"a load with a digest", load_digest, sizeof load_digest, SIGNER_ERR_INVALID},
	    {"a packet of 200 bytes", too_long, sizeof too_long, SIGNER_ERR_TOO_LARGE},
	    {"a key that is not there", (const uint8_t[]){1, TOKEN_WIRE_LOAD, 4, 'n', 'o', 'n', 'e'}, 7,
	     SIGNER_ERR_NOT_FOUND},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int status = status_of(fd, cases[i].bytes, cases[i].n);
		CHECK(status == cases[i].status, "%s: status %d, expected %d", cases[i].what, status, cases[i].status);
	}
	int refused = 0;
	for (int i = 0; i < GARBAGE_ROUNDS; i++) {
		uint8_t garbage[TOKEN_WIRE_REQUEST_BYTES_MAX + 8];
		size_t n = (size_t)(i % (int)sizeof garbage) + 1;
		RAND_bytes(garbage, (int)n);
		if (i % 2)
			garbage[0] = TOKEN_WIRE_VERSION; /* past the version check, into the rest */
		int status = status_of(fd, garbage, n);
		refused += status > 0;
	}
	CHECK(refused == GARBAGE_ROUNDS, "%d random requests of %d refused with a typed error", refused,
	      GARBAGE_ROUNDS);
	uint8_t count[] = {1, TOKEN_WIRE_COUNT, 9, 's', 'i', 'g', 'n', 'e', 'r', '-', 'c', 'a'};
	CHECK(status_of(fd, count, sizeof count) == SIGNER_OK, "and it still serves a good request");
	/* A process forked from its parent without exec (as ledgerd's .xls reader is) holds a copy of
	 * the socket: its request is dropped, unanswered, and the parent's next reply is its own. */
	uint8_t sign_zero[3 + 9 + 32] = {1, TOKEN_WIRE_SIGN, 9, 's', 'i', 'g', 'n', 'e', 'r', '-', 'c', 'a'};
	pid_t child = fork();
	if (child == 0)
		_exit(send(fd, sign_zero, sizeof sign_zero, MSG_NOSIGNAL) == (ssize_t)sizeof sign_zero ? 0 : 1);
	int child_status = -1;
	CHECK(child > 0 && waitpid(child, &child_status, 0) == child && WIFEXITED(child_status) &&
	          WEXITSTATUS(child_status) == 0,
	      "a forked child sent a signature request");
	uint8_t reply[TOKEN_WIRE_REPLY_BYTES_MAX];
	CHECK(send(fd, count, sizeof count, MSG_NOSIGNAL) == (ssize_t)sizeof count &&
	          recv(fd, reply, sizeof reply, 0) == (ssize_t)TOKEN_WIRE_HEADER_BYTES + 4 &&
	          reply[1] == TOKEN_WIRE_COUNT,
	      "the parent's next reply answers its own request, not the child's");
	CHECK(recv(fd, reply, sizeof reply, MSG_DONTWAIT) < 0 && errno == EAGAIN,
	      "and nothing else came: no signature");
	CHECK(kill(pid, 0) == 0, "ledger-signer still runs");
	close(fd);
	int status = -1;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "its socket closed, ledger-signer exits with 0 (status %d)", status);
}

static void test_wire(void)
{
	token_wire_request r = {.type = TOKEN_WIRE_SIGN, .label = "cred-0A"}, back;
	memset(r.digest, 0xab, sizeof r.digest);
	uint8_t out[TOKEN_WIRE_REQUEST_BYTES_MAX];
	size_t n = 0;
	CHECK(token_wire_request_encode(&r, out, &n) == SIGNER_OK && n == 3 + 7 + 32, "a signature request: %zu bytes",
	      n);
	CHECK(token_wire_request_decode(out, n, &back) == SIGNER_OK && back.type == r.type &&
	          strcmp(back.label, r.label) == 0 && memcmp(back.digest, r.digest, sizeof r.digest) == 0,
	      "decoded as it was encoded");
	r.type = TOKEN_WIRE_HELLO;
	CHECK(token_wire_request_encode(&r, out, &n) == SIGNER_ERR_INVALID, "the greeting is no request");
	uint8_t reply[TOKEN_WIRE_REPLY_BYTES_MAX];
	token_wire_reply decoded;
	size_t bytes = token_wire_reply_encode(TOKEN_WIRE_COUNT, SIGNER_OK, (const uint8_t *)"abc", 3, NULL, reply);
	CHECK(token_wire_reply_decode(reply, bytes, TOKEN_WIRE_COUNT, &decoded) == SIGNER_ERR_CRYPTO,
	      "a count of 3 bytes is refused by ledgerd's end");
	bytes = token_wire_reply_encode(TOKEN_WIRE_LOAD, SIGNER_OK, NULL, 0, NULL, reply);
	CHECK(token_wire_reply_decode(reply, bytes, TOKEN_WIRE_SIGN, &decoded) == SIGNER_ERR_CRYPTO,
	      "a reply of another type is refused");
}

int main(void)
{
	test_wire();
	char *root = scratch_dir("signer-process");
	REQUIRE(root, "scratch directory");
	char keys[512];
	snprintf(keys, sizeof keys, "%s/keys", root);
	CHECK(signer_process_start(keys) == SIGNER_ERR_NOT_FOUND && signer_process_pid() == 0,
	      "no token named: no signer process (%s)", signer_last_error());
	REQUIRE(signer_token_embedded_create(keys) == SIGNER_OK, "embedded token: %s", signer_last_error());
	REQUIRE(signer_process_start(keys) == SIGNER_OK, "start: %s", signer_last_error());
	CHECK(signer_process_start(keys) == SIGNER_ERR_EXISTS, "a second start");
	long pid = signer_process_pid();
	CHECK(pid > 0, "its pid: %ld", pid);
	token_config c = {0}; /* the remote token is the signer process's whatever the configuration */
	token *t = NULL;
	REQUIRE(token_open(&c, &t) == SIGNER_OK && t, "the remote token: %s", signer_last_error());
	test_key(t);
	test_ca(keys);
	test_killed(t);
	pid = signer_process_pid();
	signer_process_stop();
	CHECK(signer_process_pid() == 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH, "stopped and reaped");
	CHECK(!token_remote_active(), "no remote token once stopped");
	token_close(t);
	test_malformed(keys); /* after the stop: one signer process per token at a time (signer.lock) */
	remove_dir(root);
	free(root);
	return check_report(__FILE__);
}

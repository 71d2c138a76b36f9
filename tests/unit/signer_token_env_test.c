/*
 * signer_token_env_test: the embedded token's SOFTHSM2_CONF is never written beside another
 * thread (signer/pkcs11_token.c, softhsm2_conf_set). setenv() may move the environment while
 * another thread's getenv() reads it, which is why ledgerd opens its CA before starting any
 * thread. Proves, in a process of its own (the module is loaded once per process), that:
 *   - with another thread running and SOFTHSM2_CONF unset, opening the token is refused
 *     (SIGNER_ERR_KEYS, saying why) and the environment is left as it was;
 *   - with the variable already holding the token's configuration, the same open succeeds
 *     beside the thread: nothing needs writing;
 *   - a process with one thread sets the variable itself (the token made in a child process
 *     by signer_token_embedded_create, as `ledgerd init` does).
 */
#include "signer_util.h"

#include "pkcs11_token.h"
#include "signer.h"

#include <pthread.h>

/* A thread that waits until its pipe is closed: "another thread", doing nothing. */
static void *wait_for_close(void *arg)
{
	int fd = *(int *)arg;
	char byte;
	while (read(fd, &byte, 1) > 0) {
	}
	return NULL;
}

/* signer_token_embedded_create(keys) in a child process; true if it succeeded there. */
static bool create_in_child(const char *keys)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(signer_token_embedded_create(keys) == SIGNER_OK ? 0 : 1);
	int status = 0;
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Opens keys' token with a thread running: refused while SOFTHSM2_CONF must be written. */
static void test_beside_a_thread(const token_config *c)
{
	int fds[2];
	pthread_t thread;
	REQUIRE_VOID(pipe(fds) == 0);
	REQUIRE_VOID(pthread_create(&thread, NULL, wait_for_close, &fds[0]) == 0);
	token *t = NULL;
	CHECK(token_open(c, &t) == SIGNER_ERR_KEYS && !t, "opened beside a thread, SOFTHSM2_CONF unset: %s",
	      signer_last_error());
	CHECK(strstr(signer_last_error(), "before any thread starts") != NULL, "the reason: %s", signer_last_error());
	CHECK(getenv("SOFTHSM2_CONF") == NULL, "the environment was written: %s", getenv("SOFTHSM2_CONF"));
	/* The variable set beforehand (as an operator's environment would): nothing to write. */
	REQUIRE_VOID(setenv("SOFTHSM2_CONF", c->softhsm2_conf, 1) == 0);
	CHECK(token_open(c, &t) == SIGNER_OK && t, "opened beside a thread, SOFTHSM2_CONF set: %s",
	      signer_last_error());
	token_close(t);
	close(fds[1]);
	pthread_join(thread, NULL);
	close(fds[0]);
}

int main(void)
{
	char *root = scratch_dir("signer-token-env");
	REQUIRE(root, "scratch directory");
	char keys[512];
	snprintf(keys, sizeof keys, "%s/keys", root);
	unsetenv("SOFTHSM2_CONF");
	REQUIRE(create_in_child(keys), "the embedded token, made in a child process");
	token_config c;
	REQUIRE(token_config_read(keys, &c) == SIGNER_OK, "config: %s", signer_last_error());
	REQUIRE(c.softhsm2_conf[0], "the embedded token names its SoftHSM2 configuration");
	test_beside_a_thread(&c);
	remove_dir(root);
	free(root);
	return check_report(__FILE__);
}

/*
 * expirer.c: the thread that submits expiry scans (DelegationExpired and the collections'
 * timers) at start, then every API_EXPIRY_INTERVAL_MS. At the same pace it waits for a signer
 * process that died between requests (signer_process_reap), which would otherwise stay a zombie
 * until the next request: no SIGCHLD handler, which would reap children meant for others; and it
 * renews the platform's seal when it nears its end (keys_on_record.h), which a start alone would
 * leave to expire in a service that runs for months.
 */
#include "server_internal.h"
#include "wake.h"

#include <stdio.h>
#include <time.h>

typedef struct expiry_job {
	ledger_job job;
	server *s;
	size_t count;
	ledger_err result;
	bool done;
} expiry_job;

static ledger_err expiry_apply(ledger_job *job, ledger_txn *t)
{
	expiry_job *j = (expiry_job *)job;
	return proj_expire_due(j->s->p, t, PROJ_EXPIRE_BATCH_MAX, &j->count);
}

static void expiry_done(ledger_job *job, ledger_err err)
{
	expiry_job *j = (expiry_job *)job;
	j->result = err;
	api_wake(&j->s->expirer_lock, &j->s->expirer_wake, &j->done);
}

/* Says when the signer process died between requests and was waited for. */
static void signer_process_check(void)
{
	char why[SIGNER_PROCESS_WHY_BYTES];
	long pid = signer_process_reap(why);
	if (pid)
		fprintf(
		    stderr,
		    "ledgerd: the signer process (pid %ld) %s; reaped, the next request fails and starts a new one\n",
		    pid, why);
}

/* Renews the platform's seal when it nears its end at the service's clock. Only this thread
 * writes the seal once serving: it reads it unlocked, and writes it under the lock evidence
 * bundles are sealed under. */
static void platform_seal_check(server *s)
{
	int64_t now_us = server_clock(s);
	if (!s->ca || !api_platform_seal_due(&s->platform_seal, now_us / 1000000))
		return;
	pthread_rwlock_wrlock(&s->platform_seal_lock);
	api_platform_seal_renew(s->l, s->p, s->committer, s->ca, now_us, &s->platform_seal);
	pthread_rwlock_unlock(&s->platform_seal_lock);
}

/* Submits an expiry scan at start (catching up what a stopped service missed), then every
 * API_EXPIRY_INTERVAL_MS, and at once again while scans come back full. */
static void *expirer_main(void *arg)
{
	server *s = arg;
	pthread_mutex_lock(&s->expirer_lock);
	while (!s->expirer_stop) {
		expiry_job j = {.job = {expiry_apply, expiry_done, NULL}, .s = s};
		pthread_mutex_unlock(&s->expirer_lock);
		ledger_committer_submit(s->committer, &j.job);
		pthread_mutex_lock(&s->expirer_lock);
		while (!j.done)
			pthread_cond_wait(&s->expirer_wake, &s->expirer_lock);
		if (j.result && j.result != LEDGER_ERR_STOPPED)
			fprintf(stderr, "ledgerd: expiry scan failed: %s\n", ledger_strerror(j.result));
		pthread_mutex_unlock(&s->expirer_lock); /* a renewal waits for the committer and the token */
		signer_process_check();
		platform_seal_check(s);
		pthread_mutex_lock(&s->expirer_lock);
		if (j.result == LEDGER_OK && j.count == PROJ_EXPIRE_BATCH_MAX)
			continue;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += API_EXPIRY_INTERVAL_MS / 1000;
		until.tv_nsec += (API_EXPIRY_INTERVAL_MS % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (!s->expirer_stop)
			pthread_cond_timedwait(&s->expirer_wake, &s->expirer_lock, &until);
	}
	pthread_mutex_unlock(&s->expirer_lock);
	return NULL;
}

bool expirer_start(server *s)
{
	pthread_mutex_init(&s->expirer_lock, NULL);
	pthread_cond_init(&s->expirer_wake, NULL);
	if (pthread_create(&s->expirer, NULL, expirer_main, s) != 0)
		return false;
	s->expirer_started = true;
	return true;
}

void expirer_stop(server *s)
{
	if (!s->expirer_started)
		return;
	api_wake(&s->expirer_lock, &s->expirer_wake, &s->expirer_stop);
	pthread_join(s->expirer, NULL);
	s->expirer_started = false;
}

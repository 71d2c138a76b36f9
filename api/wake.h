/*
 * wake.h: how one of ledgerd's threads tells another, waiting on a condition variable, that
 * what it waits for is now true: a job done, a stop asked, more work. Private to api/.
 */
#ifndef API_WAKE_H
#define API_WAKE_H

#include <pthread.h>
#include <stdbool.h>

/* Sets *flag to true under lock and wakes every thread waiting on wake. What the caller wrote
 * before (a job's result) is seen by a waiter that sees the flag: the unlock publishes both. */
void api_wake(pthread_mutex_t *lock, pthread_cond_t *wake, bool *flag);

#endif

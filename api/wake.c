/*
 * wake.c: the flag and the broadcast of wake.h.
 */
#include "wake.h"

void api_wake(pthread_mutex_t *lock, pthread_cond_t *wake, bool *flag)
{
	pthread_mutex_lock(lock);
	*flag = true;
	pthread_cond_broadcast(wake);
	pthread_mutex_unlock(lock);
}

/*
 * domain.h: the domain in a unit test's own process, as ledgerd runs it: one command at a time
 * through proj_execute (proj_execute_upload for an upload) in a ledger job of its own, on a
 * real ledger with its projections, at a fixed time. And a digest of every projection, to show
 * that a replay or a rebuild gives back the same bytes.
 */
#ifndef TESTS_SUPPORT_DOMAIN_H
#define TESTS_SUPPORT_DOMAIN_H

#include "fixtures.h"
#include "ledger.h"
#include "projections.h"

#include <stdint.h>

/* Borrowed: the ledger and its projections stay the caller's. */
typedef struct domain {
	ledger *l;
	proj *p;
	int64_t now_us; /* the commit time of every command */
} domain;

/* One command of `actor` (platform when actor is "platform"), committed alone. The reply is
 * in reply, allocated in arena: valid until domain_command_free. */
typedef struct domain_command {
	ledger_job job;
	proj *p;
	proj_actor actor;
	const Ledger__Api__Request *req;
	const proj_upload *upload; /* NULL but for DocumentAdd */
	Ledger__Api__Reply reply;
	proj_arena *arena;
	ledger_err result;
} domain_command;

/* Commits req (upload: NULL, or what ledgerd learned of the uploaded PDF) as actor; c holds its
 * reply until domain_command_free(c). LEDGER_OK when the job ran (accepted or refused: see
 * c->reply.error), else the ledger's error. */
ledger_err domain_command_run(const domain *d, const char *actor, const Ledger__Api__Request *req,
                              const proj_upload *upload, domain_command *c);
void domain_command_free(domain_command *c);

/* domain_command_run, the reply freed: 0 when accepted, its error code when refused (the
 * message printed), -1 when the ledger failed. */
int domain_run(const domain *d, const char *actor, const Ledger__Api__Request *req, const proj_upload *upload);

/* A fixture_sender (fixtures.h) that sends with domain_run, no upload. */
fixture_sender domain_sender(domain *d);

/* SHA-256 over every projection database's name, keys and values, in order. */
void domain_projections_digest(ledger *l, uint8_t out[32]);

#endif

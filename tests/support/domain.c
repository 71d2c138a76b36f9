/* domain.c: see domain.h. */
#include "domain.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static ledger_err command_apply(ledger_job *job, ledger_txn *t)
{
	domain_command *c = (domain_command *)job;
	ledger__api__reply__init(&c->reply);
	if (c->upload)
		return proj_execute_upload(c->p, t, &c->actor, "test", c->req, c->upload, &c->reply, c->arena);
	return proj_execute(c->p, t, &c->actor, "test", c->req, &c->reply, c->arena);
}

static void command_done(ledger_job *job, ledger_err err)
{
	((domain_command *)job)->result = err;
}

ledger_err domain_command_run(const domain *d, const char *actor, const Ledger__Api__Request *req,
                              const proj_upload *upload, domain_command *c)
{
	*c = (domain_command){.job = {command_apply, command_done, NULL},
	                      .p = d->p,
	                      .actor = {actor, strcmp(actor, "platform") == 0},
	                      .req = req,
	                      .upload = upload};
	ledger__api__reply__init(&c->reply);
	c->arena = proj_arena_new();
	if (!c->arena)
		return LEDGER_ERR_NOMEM;
	ledger_err err = ledger_commit_one(d->l, &c->job, d->now_us);
	return err ? err : c->result;
}

void domain_command_free(domain_command *c)
{
	proj_arena_free(c->arena);
	c->arena = NULL;
}

int domain_run(const domain *d, const char *actor, const Ledger__Api__Request *req, const proj_upload *upload)
{
	domain_command c;
	ledger_err err = domain_command_run(d, actor, req, upload, &c);
	int code = err ? -1 : c.reply.error ? (int)c.reply.error->code : 0;
	if (code > 0)
		fprintf(stderr, "  (refused: %s)\n", c.reply.error->message);
	domain_command_free(&c);
	return code;
}

static int domain_send(void *ctx, const char *as, Ledger__Api__Request *req)
{
	return domain_run(ctx, as, req, NULL);
}

fixture_sender domain_sender(domain *d)
{
	return (fixture_sender){domain_send, d};
}

void domain_projections_digest(ledger *l, uint8_t out[32])
{
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	for (size_t i = 0; proj_db_names[i]; i++) {
		MDB_dbi dbi;
		MDB_txn *txn;
		MDB_cursor *cur;
		MDB_val k, v;
		if (ledger_dbi_open(l, proj_db_names[i], 0, &dbi) || ledger_read_begin(l, &txn))
			continue;
		crypto_hash_sha256_update(&st, (const uint8_t *)proj_db_names[i], strlen(proj_db_names[i]) + 1);
		if (mdb_cursor_open(txn, dbi, &cur) == 0) {
			for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
			     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
				uint8_t sizes[16];
				ledger_put_u64_be(sizes, k.mv_size);
				ledger_put_u64_be(sizes + 8, v.mv_size);
				crypto_hash_sha256_update(&st, sizes, sizeof sizes);
				crypto_hash_sha256_update(&st, k.mv_data, k.mv_size);
				crypto_hash_sha256_update(&st, v.mv_data, v.mv_size);
			}
			mdb_cursor_close(cur);
		}
		ledger_read_end(l, txn);
	}
	crypto_hash_sha256_final(&st, out);
}

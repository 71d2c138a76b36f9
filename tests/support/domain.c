/* domain.c: see domain.h. */
#include "domain.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* In process there is no CA: a registration's certificate_issued step records a stand-in for the
 * certificate ledgerd's CA would issue (api/certificates.c), named after the subject, so that the
 * domain's tests can complete a registration. Its "DER" is text: nothing here parses it. */
static bool stand_in_certificate(const Ledger__Api__Request *req, int64_t now_us, proj_issued *issued, char *der,
                                 size_t der_bytes)
{
	if (req->body_case != LEDGER__API__REQUEST__BODY_REGISTRATION_RECORD ||
	    req->registration_record->step != LEDGER__EVENTS__REGISTRATION_STEP__STEP_CERTIFICATE_ISSUED)
		return false;
	uint8_t id[32];
	crypto_hash_sha256(id, (const uint8_t *)req->registration_record->subject,
	                   strlen(req->registration_record->subject));
	*issued = (proj_issued){.not_after_s = now_us / 1000000 + 1095LL * 86400};
	for (size_t i = 0; i < 16; i++)
		snprintf(issued->serial + 2 * i, 3, "%02X", i == 0 ? (id[i] & 0x7f) | 0x40 : id[i]);
	int n = snprintf(der, der_bytes, "stand-in certificate %s", issued->serial);
	issued->der = (const uint8_t *)der;
	issued->der_bytes = (size_t)n;
	crypto_hash_sha256(issued->sha256, issued->der, issued->der_bytes);
	return true;
}

static ledger_err command_apply(ledger_job *job, ledger_txn *t)
{
	domain_command *c = (domain_command *)job;
	ledger__api__reply__init(&c->reply);
	if (c->upload)
		return proj_execute_upload(c->p, t, &c->actor, "test", c->req, c->upload, &c->reply, c->arena);
	proj_issued issued;
	char der[64];
	bool certificate = stand_in_certificate(c->req, ledger_txn_time_us(t), &issued, der, sizeof der);
	return proj_execute_issued(c->p, t, &c->actor, "test", c->req, certificate ? &issued : NULL, &c->reply,
	                           c->arena);
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

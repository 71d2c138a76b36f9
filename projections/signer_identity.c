/*
 * signer_identity.c: external signers named by a pseudonym, their identity sealed and erasable.
 *
 * An external signer (a client of the firm) is named in every event by a signer id: 16 random
 * bytes from the commands' injected random source, printed "s-" and 26 base32 characters. The
 * id is not derived from the email, so once the links below are gone nothing recomputes it.
 * Their email and name are sealed under their data key (subject = the normalised email), like
 * the phone (personal_data.c).
 *
 * The link between an email and its signer ids lives beside the log, in the `sealed` database,
 * never in a projection: replay does not need it, and erasure (proj_personal_shred) destroys it
 * with the subject's key and sealed data. Two entries per link:
 *   subject \0 signer id (28 bytes) -> collection id   (what erasure walks, by the subject)
 *   \0 signer id                    -> subject         (what views and commands look up)
 *   subject \0 'C' SHA-256          -> ""              (a certificate of theirs beside the log)
 * No email starts with a NUL byte, and sealed data's keys end in a 32-byte hash, so neither
 * kind of link is mistaken for the other or for sealed data.
 */
#include "commands.h"
#include "signer_identity.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define SIGNER_ID_RANDOM_BYTES 16u

static const char base32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

void proj_signer_id_new(proj *p, char out[PROJ_SIGNER_ID_CHARS + 1])
{
	LEDGER_ASSERT(p->random_fill != NULL);
	uint8_t raw[SIGNER_ID_RANDOM_BYTES];
	p->random_fill(raw, sizeof raw);
	out[0] = 's', out[1] = '-';
	size_t o = 2;
	uint32_t bits = 0, held = 0;
	for (size_t i = 0; i < sizeof raw; i++) {
		bits = (bits << 8) | raw[i];
		held += 8;
		while (held >= 5) {
			out[o++] = base32_alphabet[(bits >> (held - 5)) & 31u];
			held -= 5;
		}
	}
	if (held > 0) /* 128 bits: 25 full characters and 3 bits left */
		out[o++] = base32_alphabet[(bits << (5 - held)) & 31u];
	LEDGER_ASSERT(o == PROJ_SIGNER_ID_CHARS);
	out[o] = '\0';
}

bool proj_signer_id_valid(const char *id)
{
	if (strlen(id) != PROJ_SIGNER_ID_CHARS || id[0] != 's' || id[1] != '-')
		return false;
	for (size_t i = 2; i < PROJ_SIGNER_ID_CHARS; i++)
		if (!strchr(base32_alphabet, id[i]) || id[i] == '\0')
			return false;
	return true;
}

/* The reverse link's key: \0 and the id. */
static MDB_val reverse_key(const char *id, char buf[PROJ_SIGNER_ID_CHARS + 1])
{
	buf[0] = '\0';
	memcpy(buf + 1, id, PROJ_SIGNER_ID_CHARS);
	return (MDB_val){PROJ_SIGNER_ID_CHARS + 1, buf};
}

ledger_err proj_signer_link(proj *p, MDB_txn *txn, const char *subject, const char *id, const char *collection_id)
{
	LEDGER_ASSERT(proj_signer_id_valid(id));
	if (!p->has_side_dbs)
		return LEDGER_ERR_INVALID;
	size_t n = strlen(subject);
	if (n == 0 || n > PROJ_EMAIL_BYTES_MAX)
		return LEDGER_ERR_INVALID;
	char forward[PROJ_EMAIL_BYTES_MAX + 1 + PROJ_SIGNER_ID_CHARS], back[PROJ_SIGNER_ID_CHARS + 1];
	memcpy(forward, subject, n + 1);
	memcpy(forward + n + 1, id, PROJ_SIGNER_ID_CHARS);
	MDB_val k = {n + 1 + PROJ_SIGNER_ID_CHARS, forward}, v = {strlen(collection_id), (void *)collection_id};
	int rc = mdb_put(txn, p->sealed, &k, &v, 0);
	if (rc)
		return ledger_mdb_err(rc);
	k = reverse_key(id, back);
	v = (MDB_val){n, (void *)subject};
	return ledger_mdb_err(mdb_put(txn, p->sealed, &k, &v, 0));
}

ledger_err proj_signer_subject(proj *p, MDB_txn *txn, const char *id, char out[PROJ_EMAIL_BYTES_MAX + 1])
{
	out[0] = '\0';
	if (!p->has_side_dbs || !proj_signer_id_valid(id))
		return LEDGER_END;
	char back[PROJ_SIGNER_ID_CHARS + 1];
	MDB_val k = reverse_key(id, back), v;
	int rc = mdb_get(txn, p->sealed, &k, &v);
	if (rc == MDB_NOTFOUND)
		return LEDGER_END;
	if (rc)
		return ledger_mdb_err(rc);
	if (v.mv_size == 0 || v.mv_size > PROJ_EMAIL_BYTES_MAX)
		return LEDGER_ERR_CORRUPT;
	memcpy(out, v.mv_data, v.mv_size);
	out[v.mv_size] = '\0';
	return LEDGER_OK;
}

/* Unlinks up to PROJ_SIGNER_LINKS_PER_PASS links of subject; *unlinked says how many. */
static ledger_err unlink_pass(proj *p, MDB_txn *txn, const char *subject, size_t *unlinked)
{
	*unlinked = 0;
	size_t prefix = strlen(subject) + 1;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, p->sealed, &cur);
	if (rc)
		return ledger_mdb_err(rc);
	/* Collected first, deleted after: the reverse links sort before the cursor's range. */
	char ids[PROJ_SIGNER_LINKS_PER_PASS][PROJ_SIGNER_ID_CHARS];
	size_t n = 0;
	MDB_val k = {prefix, (void *)subject}, v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && n < PROJ_SIGNER_LINKS_PER_PASS;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < prefix || memcmp(k.mv_data, subject, prefix) != 0)
			break;
		if (k.mv_size == prefix + PROJ_SIGNER_ID_CHARS)
			memcpy(ids[n++], (const char *)k.mv_data + prefix, PROJ_SIGNER_ID_CHARS);
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return ledger_mdb_err(rc);
	for (size_t i = 0; i < n; i++) {
		char id[PROJ_SIGNER_ID_CHARS + 1], back[PROJ_SIGNER_ID_CHARS + 1];
		memcpy(id, ids[i], PROJ_SIGNER_ID_CHARS);
		id[PROJ_SIGNER_ID_CHARS] = '\0';
		MDB_val key = reverse_key(id, back);
		rc = mdb_del(txn, p->sealed, &key, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return ledger_mdb_err(rc);
		char forward[PROJ_EMAIL_BYTES_MAX + 1 + PROJ_SIGNER_ID_CHARS];
		memcpy(forward, subject, prefix);
		memcpy(forward + prefix, ids[i], PROJ_SIGNER_ID_CHARS);
		key = (MDB_val){prefix + PROJ_SIGNER_ID_CHARS, forward};
		rc = mdb_del(txn, p->sealed, &key, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return ledger_mdb_err(rc);
	}
	*unlinked = n;
	return LEDGER_OK;
}

ledger_err proj_signer_unlink_all(proj *p, MDB_txn *txn, const char *subject)
{
	size_t n;
	ledger_err err;
	/* A subject with more links than one pass holds: the next pass takes the rest. */
	do
		err = unlink_pass(p, txn, subject, &n);
	while (!err && n == PROJ_SIGNER_LINKS_PER_PASS);
	return err;
}

ledger_err proj_signer_certificate_link(proj *p, MDB_txn *txn, const char *id, const uint8_t sha256[32])
{
	char subject[PROJ_EMAIL_BYTES_MAX + 1];
	ledger_err err = proj_signer_subject(p, txn, id, subject);
	if (err)
		return err == LEDGER_END ? LEDGER_OK : err; /* erased meanwhile: nothing to link it to */
	size_t n = strlen(subject);
	char key[PROJ_EMAIL_BYTES_MAX + 2 + 32];
	memcpy(key, subject, n + 1);
	key[n + 1] = 'C';
	memcpy(key + n + 2, sha256, 32);
	MDB_val k = {n + 2 + 32, key}, v = {0, ""};
	return ledger_mdb_err(mdb_put(txn, p->sealed, &k, &v, 0));
}

ledger_err proj_signer_certificates(proj *p, MDB_txn *txn, const char *subject, proj_arena *arena,
                                    ProtobufCBinaryData **out, size_t *count)
{
	*out = NULL;
	*count = 0;
	if (!p->has_side_dbs)
		return LEDGER_OK;
	size_t prefix = strlen(subject) + 1, cap = 0;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, p->sealed, &cur);
	if (rc)
		return ledger_mdb_err(rc);
	MDB_val k = {prefix, (void *)subject}, v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const char *key = k.mv_data;
		if (k.mv_size < prefix || memcmp(key, subject, prefix) != 0)
			break;
		if (k.mv_size != prefix + 1 + 32 || key[prefix] != 'C')
			continue;
		if (*count == cap) {
			cap = cap ? 2 * cap : 8;
			ProtobufCBinaryData *grown = proj_arena_alloc(arena, cap * sizeof *grown);
			uint8_t *hashes = proj_arena_alloc(arena, cap * 32);
			if (!grown || !hashes) {
				mdb_cursor_close(cur);
				return LEDGER_ERR_NOMEM;
			}
			for (size_t i = 0; i < *count; i++) {
				memcpy(hashes + 32 * i, (*out)[i].data, 32);
				grown[i] = (ProtobufCBinaryData){32, hashes + 32 * i};
			}
			for (size_t i = *count; i < cap; i++)
				grown[i] = (ProtobufCBinaryData){32, hashes + 32 * i};
			*out = grown;
		}
		memcpy((*out)[*count].data, key + prefix + 1, 32);
		(*count)++;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? LEDGER_OK : ledger_mdb_err(rc);
}

/* Opens ref of subject into out (out_bytes); false if it does not open (erased, or none). */
static bool open_ref(proj *p, MDB_txn *txn, const char *subject, const Ledger__Events__SealedRef *ref, char *out,
                     size_t out_bytes)
{
	out[0] = '\0';
	return ref && ref->sha256.len == 32 &&
	       proj_personal_open(p, txn, subject, ref->sha256.data, out, out_bytes) == LEDGER_OK;
}

/* The sealed name datum into out: the name, or three lines (collection_commands.c seals them
 * when SignerAdd gave the given name and surname): the name, the given name, the surname. False
 * if it has another shape or a part does not fit. */
static bool names_split(const char *names, proj_signer_identity *out)
{
	const char *given = strchr(names, '\n'), *surname = given ? strchr(given + 1, '\n') : NULL;
	if (!given)
		return snprintf(out->name, sizeof out->name, "%s", names) < (int)sizeof out->name;
	if (!surname || strchr(surname + 1, '\n'))
		return false;
	return snprintf(out->name, sizeof out->name, "%.*s", (int)(given - names), names) < (int)sizeof out->name &&
	       snprintf(out->given_name, sizeof out->given_name, "%.*s", (int)(surname - given - 1), given + 1) <
	           (int)sizeof out->given_name &&
	       snprintf(out->surname, sizeof out->surname, "%s", surname + 1) < (int)sizeof out->surname;
}

bool proj_signer_identity_of(proj *p, MDB_txn *txn, const Ledger__State__Signer *s, proj_signer_identity *out)
{
	memset(out, 0, sizeof *out);
	if (s->kind != LEDGER__EVENTS__SIGNER_KIND__SIGNER_EXTERNAL) {
		snprintf(out->email, sizeof out->email, "%s", s->signer);
		snprintf(out->name, sizeof out->name, "%s", s->name);
		return true;
	}
	snprintf(out->signer_id, sizeof out->signer_id, "%s", s->signer);
	char subject[PROJ_EMAIL_BYTES_MAX + 1], names[sizeof out->name + sizeof out->given_name + sizeof out->surname];
	bool opened = proj_signer_subject(p, txn, s->signer, subject) == LEDGER_OK &&
	              open_ref(p, txn, subject, s->sealed_email, out->email, sizeof out->email) &&
	              open_ref(p, txn, subject, s->sealed_name, names, sizeof names) && names_split(names, out);
	sodium_memzero(names, sizeof names);
	if (opened)
		return true;
	out->erased = true;
	out->given_name[0] = out->surname[0] = '\0';
	out->email[0] = '\0';
	snprintf(out->name, sizeof out->name, "%s", PROJ_ERASED_NAME);
	return false;
}

ssize_t proj_collection_signer_by_email(proj *p, MDB_txn *txn, const Ledger__State__Collection *c, const char *email)
{
	for (size_t i = 0; i < c->n_signers; i++) {
		const Ledger__State__Signer *s = c->signers[i];
		if (s->kind != LEDGER__EVENTS__SIGNER_KIND__SIGNER_EXTERNAL) {
			if (strcmp(s->signer, email) == 0)
				return (ssize_t)i;
			continue;
		}
		char subject[PROJ_EMAIL_BYTES_MAX + 1];
		if (proj_signer_subject(p, txn, s->signer, subject) == LEDGER_OK && strcmp(subject, email) == 0)
			return (ssize_t)i;
	}
	return -1;
}

const char *proj_signer_display(proj *p, MDB_txn *txn, const Ledger__State__Collection *c, const char *signer,
                                proj_arena *arena)
{
	ssize_t i = proj_collection_signer(c, signer);
	if (i < 0 || c->signers[i]->kind != LEDGER__EVENTS__SIGNER_KIND__SIGNER_EXTERNAL)
		return signer;
	proj_signer_identity who;
	if (!proj_signer_identity_of(p, txn, c->signers[i], &who))
		return signer;
	const char *email = proj_arena_strdup(arena, who.email);
	return email ? email : signer;
}

bool proj_signer_describe(proj *p, MDB_txn *txn, const char *firm_id, const char *collection_id, const char *signer,
                          char *out, size_t out_bytes)
{
	out[0] = '\0';
	proj_arena *arena = proj_arena_new();
	if (!arena)
		return false;
	ProtobufCAllocator alloc;
	proj_arena_allocator(arena, &alloc);
	Ledger__State__Collection *c;
	ssize_t i = proj_collection_get(p, txn, firm_id, collection_id, &alloc, &c) == LEDGER_OK
	                ? proj_collection_signer(c, signer)
	                : -1;
	if (i >= 0) {
		proj_signer_identity who;
		if (proj_signer_identity_of(p, txn, c->signers[i], &who))
			snprintf(out, out_bytes, "%s <%s>", who.name, who.email);
		else
			snprintf(out, out_bytes, "%s", PROJ_ERASED_NAME);
		sodium_memzero(&who, sizeof who);
	}
	proj_arena_free(arena);
	return i >= 0;
}

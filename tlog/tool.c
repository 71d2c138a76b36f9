/*
 * tool.c: tlog-tool, a small command line over tlog/ that prints its artefacts (verifier keys,
 * signed checkpoints, cosignatures, proofs) for the independent verifier of the tests
 * (tests/tools/tlog_verify.py) and for anyone checking docs/tlog.md by hand. Not installed.
 *
 *   tlog-tool vkey --name NAME --seed HEX [--cosigner]
 *   tlog-tool checkpoint --name ORIGIN --seed HEX --entries FILE [--size N]
 *   tlog-tool cosign --name NAME --seed HEX --time T --log-vkey VKEY < CHECKPOINT
 *   tlog-tool inclusion --entries FILE --size N --index I
 *   tlog-tool consistency --entries FILE --old M --new N
 *   tlog-tool proofs --entries FILE        every inclusion and consistency proof up to its size
 *
 * FILE holds one entry per line (the line without its '\n' is the entry's bytes, any byte but '\n'). Keys are
 * 32-byte Ed25519 seeds in hex: test keys, never real ones. Exit status: 0 done, 1 refused
 * (a note that does not verify), 2 usage, 3 unreadable input.
 */
#include "tlog.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENTRIES_MAX     (1u << 20)
#define ENTRY_BYTES_MAX (64u * 1024u)
#define PROOFS_SIZE_MAX 512u /* `proofs` prints O(n^2) proofs: keep it small */

typedef struct options {
	const char *command, *name, *seed, *entries, *log_vkey;
	bool cosigner;
	bool has_size, has_index, has_old, has_new, has_time;
	uint64_t size, index, old_size, new_size, time;
} options;

static int usage(const char *why)
{
	fprintf(stderr, "tlog-tool: %s\nusage: see the header of tlog/tool.c or docs/tlog.md\n", why);
	return 2;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!s || *s < '0' || *s > '9')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static int parse_options(int argc, char **argv, options *o)
{
	memset(o, 0, sizeof *o);
	if (argc < 2)
		return usage("no command");
	o->command = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok = true, takes_value = true;
		if (strcmp(a, "--cosigner") == 0)
			o->cosigner = true, takes_value = false;
		else if (strcmp(a, "--name") == 0)
			o->name = v;
		else if (strcmp(a, "--seed") == 0)
			o->seed = v;
		else if (strcmp(a, "--entries") == 0)
			o->entries = v;
		else if (strcmp(a, "--log-vkey") == 0)
			o->log_vkey = v;
		else if (strcmp(a, "--size") == 0)
			ok = o->has_size = parse_u64(v, &o->size);
		else if (strcmp(a, "--index") == 0)
			ok = o->has_index = parse_u64(v, &o->index);
		else if (strcmp(a, "--old") == 0)
			ok = o->has_old = parse_u64(v, &o->old_size);
		else if (strcmp(a, "--new") == 0)
			ok = o->has_new = parse_u64(v, &o->new_size);
		else if (strcmp(a, "--time") == 0)
			ok = o->has_time = parse_u64(v, &o->time);
		else
			return usage(a);
		if (!ok || (takes_value && !v))
			return usage(a);
		i += takes_value;
	}
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A seed: exactly 64 hex digits. */
static bool parse_seed(const char *hex, uint8_t seed[TLOG_SEED_BYTES])
{
	if (!hex || strlen(hex) != 2 * TLOG_SEED_BYTES)
		return false;
	for (int i = 0; i < TLOG_SEED_BYTES; i++) {
		int high = hex_digit(hex[2 * i]), low = hex_digit(hex[2 * i + 1]);
		if (high < 0 || low < 0)
			return false;
		seed[i] = (uint8_t)(high << 4 | low);
	}
	return true;
}

/* Appends every line of the entries file to a tree kept in `mem`. Lines are read with their
 * length, so an entry may hold any byte but '\n' (NUL included). */
static int load_entries(const char *path, tlog_mem_store *mem, tlog_tree *tree)
{
	FILE *f = path ? fopen(path, "rb") : NULL;
	if (!f) {
		fprintf(stderr, "tlog-tool: cannot read entries file %s: %s\n", path ? path : "(none)",
		        strerror(errno));
		return 3;
	}
	tlog_subtree_store store = tlog_mem_store_interface(mem);
	char *line = NULL;
	size_t line_cap = 0;
	ssize_t n;
	int status = 0;
	while (status == 0 && (n = getline(&line, &line_cap, f)) > 0) {
		if (line[n - 1] != '\n' || (size_t)n > ENTRY_BYTES_MAX + 1 || tree->size == ENTRIES_MAX) {
			fprintf(stderr,
			        "tlog-tool: %s: entry %" PRIu64 " too long, one too many, or not ended by a newline\n",
			        path, tree->size);
			status = 3;
			break;
		}
		uint8_t leaf[TLOG_HASH_BYTES];
		tlog_leaf_hash((const uint8_t *)line, (size_t)n - 1, leaf);
		if (tlog_tree_append(tree, leaf, &store) != TLOG_OK)
			status = 3;
	}
	free(line);
	fclose(f);
	return status;
}

static void print_proof(const char *kind, uint64_t a, uint64_t b, const tlog_proof *p)
{
	printf("%s %" PRIu64 " %" PRIu64, kind, a, b);
	for (size_t i = 0; i < p->count; i++) {
		char b64[45];
		tlog_base64_encode(p->hashes[i], TLOG_HASH_BYTES, b64, sizeof b64);
		printf(" %s", b64);
	}
	putchar('\n');
}

static int fail(const char *what, tlog_err err)
{
	fprintf(stderr, "tlog-tool: %s: %s: %s\n", what, tlog_strerror(err), tlog_last_error());
	return err == TLOG_ERR_BAD_SIGNATURE || err == TLOG_ERR_NO_SIGNATURE || err == TLOG_ERR_MALFORMED ||
	               err == TLOG_ERR_DUPLICATE_SIGNATURE
	           ? 1
	           : 3;
}

static int command_vkey(const options *o)
{
	uint8_t seed[TLOG_SEED_BYTES];
	if (!o->name || !parse_seed(o->seed, seed))
		return usage("vkey needs --name and --seed (64 hex digits)");
	tlog_signer s;
	tlog_err err = tlog_signer_init(&s, o->name, o->cosigner ? TLOG_TYPE_COSIGNATURE_V1 : TLOG_TYPE_ED25519, seed);
	if (err)
		return fail("key", err);
	char vkey[TLOG_VKEY_BYTES_MAX + 1];
	err = tlog_vkey_format(&s.verifier, vkey, sizeof vkey);
	tlog_signer_wipe(&s);
	if (err)
		return fail("vkey", err);
	puts(vkey);
	return 0;
}

static int command_checkpoint(const options *o, tlog_mem_store *mem, tlog_tree *tree)
{
	uint8_t seed[TLOG_SEED_BYTES];
	if (!o->name || !parse_seed(o->seed, seed))
		return usage("checkpoint needs --name, --seed and --entries");
	tlog_checkpoint c = {.size = o->has_size ? o->size : tree->size};
	if (strlen(o->name) > TLOG_ORIGIN_BYTES_MAX)
		return usage("--name too long");
	strcpy(c.origin, o->name);
	tlog_subtree_store store = tlog_mem_store_interface(mem);
	tlog_err err = tlog_root_at(&store, c.size, c.root);
	if (err)
		return fail("root", err);
	char text[TLOG_CHECKPOINT_TEXT_BYTES_MAX + 1], note[TLOG_CHECKPOINT_TEXT_BYTES_MAX + 512];
	size_t text_bytes = 0, note_bytes = 0;
	tlog_signer s;
	if ((err = tlog_checkpoint_format(&c, text, sizeof text, &text_bytes)) ||
	    (err = tlog_signer_init(&s, o->name, TLOG_TYPE_ED25519, seed)))
		return fail("checkpoint", err);
	err = tlog_note_sign(text, text_bytes, &s, 0, note, sizeof note, &note_bytes);
	tlog_signer_wipe(&s);
	if (err)
		return fail("sign", err);
	fwrite(note, 1, note_bytes, stdout);
	return 0;
}

/* A witness: verifies the log's signature on the checkpoint read from stdin, then cosigns. */
static int command_cosign(const options *o)
{
	uint8_t seed[TLOG_SEED_BYTES];
	tlog_verifier log_key;
	if (!o->name || !parse_seed(o->seed, seed) || !o->has_time || !o->log_vkey)
		return usage("cosign needs --name, --seed, --time and --log-vkey");
	tlog_err err = tlog_vkey_parse(o->log_vkey, &log_key);
	if (err)
		return fail("--log-vkey", err);
	static char note[TLOG_NOTE_BYTES_MAX + 1], out[TLOG_NOTE_BYTES_MAX + 512];
	size_t note_bytes = fread(note, 1, sizeof note, stdin), out_bytes = 0;
	tlog_checkpoint c;
	tlog_note_result r;
	if ((err = tlog_checkpoint_open(note, note_bytes, &log_key, NULL, 0, &c, &r)))
		return fail("checkpoint", err);
	tlog_signer s;
	if ((err = tlog_signer_init(&s, o->name, TLOG_TYPE_COSIGNATURE_V1, seed)))
		return fail("key", err);
	err = tlog_note_add_signature(note, note_bytes, &s, o->time, out, sizeof out, &out_bytes);
	tlog_signer_wipe(&s);
	if (err)
		return fail("cosign", err);
	fwrite(out, 1, out_bytes, stdout);
	return 0;
}

/* Proves (a, b) and prints the proof: the inclusion of leaf a in the tree of size b, or the
 * consistency of the tree of size a with that of size b. */
static int prove_print(const tlog_subtree_store *store, bool inclusion, uint64_t a, uint64_t b)
{
	const char *kind = inclusion ? "inclusion" : "consistency";
	tlog_proof p;
	tlog_err err = inclusion ? tlog_prove_inclusion(store, a, b, &p) : tlog_prove_consistency(store, a, b, &p);
	if (err)
		return fail(kind, err);
	print_proof(kind, a, b, &p);
	return 0;
}

static int command_proofs(const options *o, tlog_mem_store *mem, tlog_tree *tree)
{
	tlog_subtree_store store = tlog_mem_store_interface(mem);
	if (strcmp(o->command, "inclusion") == 0) {
		if (!o->has_size || !o->has_index)
			return usage("inclusion needs --size and --index");
		return prove_print(&store, true, o->index, o->size);
	}
	if (strcmp(o->command, "consistency") == 0) {
		if (!o->has_old || !o->has_new)
			return usage("consistency needs --old and --new");
		return prove_print(&store, false, o->old_size, o->new_size);
	}
	if (tree->size > PROOFS_SIZE_MAX)
		return usage("proofs: more entries than 512");
	int status = 0;
	for (uint64_t n = 0; n <= tree->size && !status; n++) {
		for (uint64_t m = 0; m < n && !status; m++)
			status = prove_print(&store, true, m, n);
		for (uint64_t m = 0; m <= n && !status; m++)
			status = prove_print(&store, false, m, n);
	}
	return status;
}

int main(int argc, char **argv)
{
	options o;
	int status = parse_options(argc, argv, &o);
	if (status)
		return status;
	if (strcmp(o.command, "vkey") == 0)
		return command_vkey(&o);
	if (strcmp(o.command, "cosign") == 0)
		return command_cosign(&o);
	bool needs_entries = strcmp(o.command, "checkpoint") == 0 || strcmp(o.command, "inclusion") == 0 ||
	                     strcmp(o.command, "consistency") == 0 || strcmp(o.command, "proofs") == 0;
	if (!needs_entries)
		return usage("unknown command");
	tlog_mem_store mem;
	tlog_tree tree;
	tlog_mem_store_init(&mem);
	tlog_tree_init(&tree);
	status = load_entries(o.entries, &mem, &tree);
	if (status == 0)
		status = strcmp(o.command, "checkpoint") == 0 ? command_checkpoint(&o, &mem, &tree)
		                                              : command_proofs(&o, &mem, &tree);
	tlog_mem_store_free(&mem);
	return status;
}

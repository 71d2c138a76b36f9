/*
 * request_fuzz.c: the libFuzzer target of ledgerd's whole request path, in process.
 *
 * An input is what a client sends: the bytes of an Envelope (a token and a packed Request).
 * worker_handle_request (api/handle.c) takes them through everything ledgerd does with a
 * received message (the size limit, budgeted decoding, the token, authorisation, the query or
 * the command), and a command is committed by a real group committer, so the store's state
 * evolves from input to input. No socket: the worker's replies come to reply_received.
 *
 * The store is a scratch LMDB store (no fsync) in a temporary directory, made as `ledgerd init`
 * makes one and seeded through the same path with the first REQUEST_CORPUS_SEEDING requests of
 * request_corpus.c (accounts, a firm, its EC, a collaborator with every right, credits, a
 * collection with a document and signers), so that inputs reach deep code. The identity
 * provider's key and the clock are fixed (request_corpus.h): the corpus's tokens are valid
 * against every store made here. Every REQUEST_FUZZ_RESET_INPUTS inputs the store is made
 * again, which keeps a run's size bounded. The directory is removed at exit; a run that
 * aborts (a finding) leaves it in $TMPDIR, as request_fuzz.XXXXXX.
 *
 * Besides what ASan and UBSan catch, every input is checked against the path's contract, and
 * the run aborts if it is broken: exactly one reply per request, a ledger.api.Reply protobuf
 * (the checkpoint a command's reply carries included) whose strings are all UTF-8, and never
 * INTERNAL; and once answered, none of the shared decoding budget still held
 * (request_budget.h).
 */
#include "../support/scratch.h"
#include "../support/utf8.h"
#include "import.h"
#include "request_corpus.h"
#include "server_internal.h"
#include "tlog.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sanitizer/lsan_interface.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* Inputs between two fresh stores. */
#define REQUEST_FUZZ_RESET_INPUTS 2000u
/* The scratch store's map: what REQUEST_FUZZ_RESET_INPUTS commands need, with a margin; past it
 * a command is answered STORAGE_FULL, which is a path worth reaching too. */
#define REQUEST_FUZZ_MAP_BYTES (64u * 1024u * 1024u)

static struct {
	char dir[PATH_MAX];
	api_server_options options;
	server s;
	tlog_signer log_key;
	worker w;
	pthread_mutex_t lock;
	pthread_cond_t replied;
	bool awaiting;             /* an input was handed over and its reply has not come */
	bool replied_by_committer; /* the reply came from the committer's thread (a command) */
	bool barrier_passed;
	pthread_t fuzzing_thread;
	uint8_t *reply;
	size_t reply_bytes;
	unsigned inputs; /* since the store was made */
	bool verbose;    /* REQUEST_FUZZ_VERBOSE set: each reply's outcome on stderr */
} fuzz = {.lock = PTHREAD_MUTEX_INITIALIZER, .replied = PTHREAD_COND_INITIALIZER};

/* handle.c's time, and the committer's: fixed, so that the corpus's tokens stay valid. Defined
 * here since server.c (ledgerd's lifecycle, with the sockets) is not part of this target. */
int64_t server_clock(void *server_ctx)
{
	(void)server_ctx;
	return REQUEST_CORPUS_NOW_S * 1000000;
}

static _Noreturn void fail(const char *what, const char *why)
{
	fprintf(stderr, "request_fuzz: %s: %s\n", what, why);
	abort();
}

/* The worker's reply sink: on the fuzzing thread, or the committer's for a command. */
static void reply_received(worker *w, uint8_t *reply, size_t reply_bytes)
{
	(void)w;
	pthread_mutex_lock(&fuzz.lock);
	if (!fuzz.awaiting)
		fail("reply", "a second reply to one request");
	fuzz.awaiting = false;
	fuzz.replied_by_committer = !pthread_equal(pthread_self(), fuzz.fuzzing_thread);
	fuzz.reply = reply;
	fuzz.reply_bytes = reply_bytes;
	pthread_cond_signal(&fuzz.replied);
	pthread_mutex_unlock(&fuzz.lock);
}

/* Whether field of m is set (a oneof's member only if it is the chosen one). */
static bool field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *field)
{
	if (!(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return true;
	const uint32_t *chosen = (const uint32_t *)((const uint8_t *)m + field->quantifier_offset);
	return *chosen == field->id;
}

/* Every string of m and of the messages in it is UTF-8, as proto3 requires of a string field:
 * other implementations (Python's, Go's) refuse to decode a reply that breaks it. The depth is
 * the schema's (a Reply holds no recursive message), not the input's. */
static bool strings_valid(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if ((f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE) || !field_present(m, f))
			continue;
		const uint8_t *at = (const uint8_t *)m + f->offset;
		size_t count = 1;
		void *const *items = (void *const *)at;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			count = *(const size_t *)((const uint8_t *)m + f->quantifier_offset);
			items = *(void *const *const *)at;
		}
		for (size_t k = 0; k < count; k++) {
			if (!items[k])
				continue;
			bool ok = f->type == PROTOBUF_C_TYPE_STRING ? utf8_valid(items[k], strlen(items[k]))
			                                            : strings_valid(items[k]);
			if (!ok) {
				fprintf(stderr, "request_fuzz: %s.%s is not UTF-8\n", d->name, f->name);
				return false;
			}
		}
	}
	return true;
}

static ledger_err barrier_apply(ledger_job *job, ledger_txn *t)
{
	(void)job, (void)t;
	return LEDGER_OK; /* writes nothing */
}

static void barrier_done(ledger_job *job, ledger_err err)
{
	(void)job, (void)err;
	pthread_mutex_lock(&fuzz.lock);
	fuzz.barrier_passed = true;
	pthread_cond_signal(&fuzz.replied);
	pthread_mutex_unlock(&fuzz.lock);
}

/* Waits until the committer has finished the batch that answered (its done() goes on after
 * the reply, freeing what it sent): a job of its own, run after that batch. libFuzzer's leak
 * check between inputs then finds the committer idle, not holding memory only its stack
 * refers to (which the check, while the thread runs, may report as leaked). */
static void committer_wait_idle(void)
{
	static ledger_job barrier = {.apply = barrier_apply, .done = barrier_done};
	fuzz.barrier_passed = false;
	ledger_committer_submit(fuzz.s.committer, &barrier);
	while (!fuzz.barrier_passed)
		pthread_cond_wait(&fuzz.replied, &fuzz.lock);
}

/* Hands bytes to the worker and waits for the reply (no time limit: libFuzzer's -timeout
 * reports a request that is never answered). Returns the reply, decoded (free it). */
static Ledger__Api__Reply *request(const uint8_t *bytes, size_t n)
{
	pthread_mutex_lock(&fuzz.lock);
	fuzz.awaiting = true;
	pthread_mutex_unlock(&fuzz.lock);
	worker_handle_request(&fuzz.w, bytes, n);
	pthread_mutex_lock(&fuzz.lock);
	while (fuzz.awaiting)
		pthread_cond_wait(&fuzz.replied, &fuzz.lock);
	if (fuzz.replied_by_committer)
		committer_wait_idle();
	Ledger__Api__Reply *reply = fuzz.reply ? ledger__api__reply__unpack(NULL, fuzz.reply_bytes, fuzz.reply) : NULL;
	bool decoded = reply != NULL || fuzz.reply == NULL; /* NULL: out of memory, no reply sent */
	free(fuzz.reply);
	fuzz.reply = NULL;
	pthread_mutex_unlock(&fuzz.lock);
	if (!decoded)
		fail("reply", "not a ledger.api.Reply protobuf");
	if (atomic_load(&fuzz.s.decode_bytes_used) != 0)
		fail("decoding budget", "still held after the reply");
	/* Here the store is sound and memory plenty: INTERNAL can only be a request the code did
	 * not expect, which must get a typed error instead. */
	if (reply && reply->error && reply->error->code == LEDGER__API__ERROR_CODE__INTERNAL)
		fail("reply INTERNAL", reply->error->message);
	if (reply && !strings_valid(&reply->base))
		fail("reply", "a string that is not UTF-8");
	return reply;
}

/*
 * LeakSanitizer's suppressions, read at start. The EVP context each thread keeps for SHA-256
 * (tlog/sha256.c) lives in a pthread key and is freed when the thread ends. Once in a 5-minute
 * session, the leak check libFuzzer runs between inputs, while the committer thread is still
 * running, reported a new committer thread's context as leaked (a false report of the kind of
 * google/sanitizers#757: thread-local data scanned while its thread runs); nothing leaks at
 * exit, and 120 s with the store remade every 100 inputs and no suppression reported nothing.
 * committer_wait_idle now keeps the committer idle during that check, which should end such
 * reports; until a long session shows it, only that allocation is suppressed.
 */
const char *__lsan_default_suppressions(void) /* NOLINT(bugprone-reserved-identifier): LSan's hook */
{
	return "leak:tlog_sha256\n";
}

/* ----- the store ----- */

/* The first event of the log, as `ledgerd init` writes it. */
typedef struct init_job {
	ledger_job job;
	ledger_err result;
} init_job;

static ledger_err init_apply(ledger_job *job, ledger_txn *t)
{
	(void)job;
	static const uint8_t log_id[16] = "request_fuzz log";
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__LogCreated lc = LEDGER__EVENTS__LOG_CREATED__INIT;
	lc.log_id.data = (uint8_t *)log_id;
	lc.log_id.len = sizeof log_id;
	lc.format = (char *)LEDGER_FORMAT_NAME;
	lc.partition = (char *)"";
	ev.committed_at_us = ledger_txn_time_us(t);
	ev.actor = (char *)"ledgerd";
	ev.request_id = (char *)"init";
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_LOG_CREATED;
	ev.log_created = &lc;
	uint8_t buf[256];
	size_t n = ledger__events__event__get_packed_size(&ev);
	if (n > sizeof buf)
		return LEDGER_ERR_TOO_LARGE;
	ledger__events__event__pack(&ev, buf);
	return ledger_append(t, buf, n, NULL, NULL);
}

static void init_done(ledger_job *job, ledger_err err)
{
	((init_job *)job)->result = err;
}

/* ledgerd init's store, keys and first event, in fuzz.dir (which must not exist yet). */
static void store_create(void)
{
	const char *why = "";
	if (ledger_create(fuzz.dir, NULL) != LEDGER_OK)
		fail(fuzz.dir, ledger_last_error());
	char vkey[TLOG_VKEY_BYTES_MAX + 1];
	if (!api_keys_create(fuzz.dir, &why) ||
	    !api_log_key_create(fuzz.dir, "jse-ledger/request-fuzz", vkey, sizeof vkey, &why) ||
	    !api_log_key_load(fuzz.dir, &fuzz.log_key, &why))
		fail(fuzz.dir, why);
}

/* Opens the store as ledgerd serve does: ledger, projections, personal-data key, committer. */
static void store_open(void)
{
	ledger_options lo = {.map_bytes_initial = REQUEST_FUZZ_MAP_BYTES,
	                     .map_bytes_max = REQUEST_FUZZ_MAP_BYTES,
	                     .scratch = true,
	                     .checkpoint_signer = &fuzz.log_key};
	server *s = &fuzz.s;
	if (ledger_open(fuzz.dir, &lo, &s->l) != LEDGER_OK)
		fail(fuzz.dir, ledger_last_error());
	ledger_err err = proj_open(s->l, 0, &s->p);
	init_job j = {.job = {.apply = init_apply, .done = init_done}};
	if (!err)
		err = ledger_commit_one(s->l, &j.job, server_clock(s));
	if (!err)
		err = j.result;
	ledger_committer_options co = {.clock_us = server_clock, .clock_ctx = s};
	if (!err)
		err = ledger_committer_start(s->l, &co, &s->committer);
	if (err)
		fail(ledger_strerror(err), ledger_last_error());
	static const uint8_t personal[PROJ_PERSONAL_KEY_BYTES] = "request_fuzz personal data key!";
	proj_set_personal_key(s->p, personal, randombytes_buf);
}

/* Sends the seeding requests of the corpus: each must succeed. */
static void store_seed(void)
{
	for (size_t i = 0; i < REQUEST_CORPUS_SEEDING; i++) {
		size_t n;
		const char *name;
		uint8_t *bytes = request_corpus_envelope(i, &n, &name);
		if (!bytes)
			fail("seeding", "out of memory");
		Ledger__Api__Reply *reply = request(bytes, n);
		free(bytes);
		if (!reply || reply->error)
			fail(name, reply ? reply->error->message : "no reply");
		const Ledger__Api__CollectionView *view =
		    reply->result_case == LEDGER__API__REPLY__RESULT_COLLECTION ? reply->collection->collection : NULL;
		if (view && strcmp(view->collection_id, REQUEST_CORPUS_COLLECTION_ID) != 0) {
			char why[128];
			snprintf(why, sizeof why,
			         "the collection is %.32s, not REQUEST_CORPUS_COLLECTION_ID: update it",
			         view->collection_id);
			fail(name, why);
		}
		ledger__api__reply__free_unpacked(reply, NULL);
	}
}

static void store_close(void)
{
	server *s = &fuzz.s;
	ledger_committer_free(s->committer);
	proj_close(s->p);
	ledger_close(s->l);
	s->committer = NULL, s->p = NULL, s->l = NULL;
	tlog_signer_wipe(&fuzz.log_key);
}

/* Removes dir and what it holds (the store's files and keys/), if it exists. */
static void remove_tree(const char *dir)
{
	if (!remove_dir(dir))
		fail(dir, "cannot remove it");
}

/* A fresh store, seeded. */
static void store_make(void)
{
	remove_tree(fuzz.dir);
	store_create();
	store_open();
	memset(fuzz.s.denials, 0, sizeof fuzz.s.denials); /* refusals are recorded as in a fresh ledgerd */
	store_seed();
	fuzz.inputs = 0;
}

static void at_exit(void)
{
	store_close();
	remove_tree(fuzz.dir);
}

/* ----- the mutator ----- */

/* Valid tokens of each role, for the mutator to put on a request. */
static const char *const token_actors[] = {REQUEST_CORPUS_PLATFORM, REQUEST_CORPUS_EC, REQUEST_CORPUS_COLLABORATOR,
                                           REQUEST_CORPUS_STRANGER};
#define TOKEN_ACTORS_COUNT (sizeof token_actors / sizeof token_actors[0])
static char tokens[TOKEN_ACTORS_COUNT][API_TOKEN_BYTES_MAX];

/* Most mutants of a command keep its request id, which the store has already seen with
 * another body: answered IDEMPOTENCY_MISMATCH, they would never reach the decision. Three
 * times in four a request that decodes gets an id of its own (repacked in place if it fits). */
static size_t request_id_renew(uint8_t *request, size_t n, size_t room, unsigned int seed)
{
	Ledger__Api__Request *r = seed % 4 == 3 ? NULL : ledger__api__request__unpack(NULL, n, request);
	if (!r)
		return n;
	char id[16];
	snprintf(id, sizeof id, "m%08x", seed);
	char *kept = r->request_id;
	r->request_id = id;
	if (ledger__api__request__get_packed_size(r) <= room)
		n = ledger__api__request__pack(r, request);
	r->request_id = kept;
	ledger__api__request__free_unpacked(r, NULL);
	return n;
}

/* Mutates only the request inside a well-formed envelope, keeping its token (or putting a
 * valid token of another role on it): byte mutations of the whole input almost always break
 * the envelope or the token's signature, and never reach authorisation. One mutation in
 * eight still takes the whole input, so the envelope and the token are fuzzed too. Returns
 * 0 if the input is no envelope or the result would not fit. */
static size_t mutate_request(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	Ledger__Api__Envelope *envelope = ledger__api__envelope__unpack(NULL, size, data);
	if (!envelope)
		return 0;
	const char *token = seed % 16 == 1 ? tokens[(seed >> 4) % TOKEN_ACTORS_COUNT] : envelope->token;
	size_t token_bytes = strlen(token), room = max_size > token_bytes + 16 ? max_size - token_bytes - 16 : 0;
	uint8_t *request = room ? malloc(room) : NULL;
	size_t n = 0;
	if (request && envelope->request.len <= room) {
		size_t request_bytes = envelope->request.len;
		if (request_bytes)
			memcpy(request, envelope->request.data, request_bytes);
		else
			request[request_bytes++] = (uint8_t)seed; /* something to mutate */
		request_bytes = LLVMFuzzerMutate(request, request_bytes, room);
		request_bytes = request_id_renew(request, request_bytes, room, seed);
		Ledger__Api__Envelope mutated = LEDGER__API__ENVELOPE__INIT;
		mutated.token = (char *)token;
		mutated.request.data = request;
		mutated.request.len = request_bytes;
		n = ledger__api__envelope__get_packed_size(&mutated);
		n = n <= max_size ? ledger__api__envelope__pack(&mutated, data) : 0;
	}
	free(request);
	ledger__api__envelope__free_unpacked(envelope, NULL);
	return n;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	size_t n = seed % 8 == 0 ? 0 : mutate_request(data, size, max_size, seed);
	return n ? n : LLVMFuzzerMutate(data, size, max_size);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if (sodium_init() < 0)
		fail("libsodium", "cannot initialise");
	import_init();
	const char *tmp = getenv("TMPDIR");
	snprintf(fuzz.dir, sizeof fuzz.dir, "%s/request_fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fuzz.dir))
		fail(fuzz.dir, "cannot create it");
	uint8_t idp_sk[crypto_sign_SECRETKEYBYTES];
	request_corpus_idp_keys(fuzz.s.idp_pk, idp_sk);
	sodium_memzero(idp_sk, sizeof idp_sk);
	server *s = &fuzz.s;
	s->o = &fuzz.options;
	s->lock_fd = -1;
	pthread_rwlock_init(&s->platform_seal_lock, NULL);
	atomic_init(&s->stopping, false);
	atomic_init(&s->in_flight, 0);
	atomic_init(&s->imports_parsing, 0);
	atomic_init(&s->decode_bytes_used, 0);
	s->tokens = api_token_cache_new();
	s->document_bytes_max = API_DOCUMENT_BYTES_DEFAULT;
	s->request_bytes_max = s->document_bytes_max + API_ENVELOPE_BYTES_MAX;
	s->log_key = &fuzz.log_key;
	s->witnesses = calloc(API_WITNESSES_MAX, sizeof *s->witnesses);
	if (!s->tokens || !s->witnesses)
		fail("init", "out of memory");
	for (size_t i = 0; i < TOKEN_ACTORS_COUNT; i++)
		if (!request_corpus_token(token_actors[i], tokens[i]))
			fail(token_actors[i], "cannot mint a token");
	fuzz.verbose = getenv("REQUEST_FUZZ_VERBOSE") != NULL;
	fuzz.fuzzing_thread = pthread_self();
	fuzz.w.s = s;
	fuzz.w.reply_sink = reply_received;
	ledger__api__reply__init(&fuzz.w.reply);
	store_make();
	atexit(at_exit);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz.inputs++ == REQUEST_FUZZ_RESET_INPUTS) {
		store_close();
		store_make();
	}
	Ledger__Api__Reply *reply = request(data, size);
	if (fuzz.verbose)
		fprintf(stderr, "request_fuzz: %zu bytes: %s%s%s\n", size,
		        !reply         ? "no reply"
		        : reply->error ? protobuf_c_enum_descriptor_get_value(&ledger__api__error_code__descriptor,
		                                                              (int)reply->error->code)
		                             ->name
		                       : "ok",
		        reply && reply->error ? ": " : "", reply && reply->error ? reply->error->message : "");
	if (reply)
		ledger__api__reply__free_unpacked(reply, NULL);
	return 0;
}

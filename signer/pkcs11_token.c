/*
 * pkcs11_token.c: private keys in a PKCS #11 token, through libp11 (pkcs11_token.h says what
 * and why).
 *
 * Two libraries share the work, each for what only it does well:
 *   - libp11 (Debian's libp11-3) loads the module, finds the token, logs in, and turns a key
 *     of the token into an EVP_PKEY whose ECDSA method calls C_Sign: OpenSSL then signs
 *     certificates, CMS, time-stamps and OCSP responses with it as with any key;
 *   - the module's own function list, called directly, for what libp11 0.4.12 cannot do: generate
 *     an EC key pair with the attributes we require (its PKCS11_generate_key makes RSA keys
 *     only), destroy both halves of a pair, read a key's protection attributes.
 * Both talk to one instance of the module: dlopen() of the path libp11 loaded returns the same
 * library, and PKCS #11 keeps one login state per application, so the sessions we open here see
 * the login libp11 made.
 *
 * A module stays loaded for the life of the process once loaded. PKCS #11 allows one
 * C_Initialize per process and module, whoever the callers; and every EVP_PKEY given out calls
 * into the module for as long as OpenSSL holds it, which may be longer than any handle of ours.
 * SoftHSM2 reads its configuration file from the environment (SOFTHSM2_CONF) when it is
 * initialised, so a process serves one embedded token configuration: asking for another is
 * refused rather than silently served by the first (a configuration that names none, a real
 * HSM's, takes the module as it is loaded). The variable is set only while the process has one
 * thread (softhsm2_conf_set says why).
 */
#include "pkcs11_token.h"

#include "token_remote.h"

#include <assert.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libp11.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_MODULES_MAX      4u    /* distinct modules one process loads */
#define TOKEN_FOUND_MAX        2u    /* objects a lookup by label fetches: a second one is an error */
#define TOKEN_KEY_ID_BYTES_MAX 64u   /* a CKA_ID we read back */
#define TOKEN_KEYS_CACHED_MAX  4096u /* keys a token handle keeps loaded (token_key_load) */

/* DER of the OID prime256v1 (1.2.840.10045.3.1.7): CKA_EC_PARAMS of a P-256 key. */
static const CK_BYTE p256_params[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

/* ----- modules: loaded once per process ----- */

typedef struct token_module {
	char path[PATH_MAX];
	char softhsm2_conf[PATH_MAX];
	PKCS11_CTX *ctx; /* libp11's handle, which called C_Initialize */
	void *library;   /* our dlopen() of the same module */
	CK_FUNCTION_LIST_PTR functions;
} token_module;

static token_module modules[TOKEN_MODULES_MAX];
static size_t modules_loaded;
static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;

/* The threads of this process (the entries of /proc/self/task); 0 when they cannot be counted. */
static size_t process_threads(void)
{
	DIR *tasks = opendir("/proc/self/task");
	if (!tasks)
		return 0;
	size_t count = 0;
	for (struct dirent *e = readdir(tasks); e; e = readdir(tasks))
		count += e->d_name[0] != '.';
	closedir(tasks);
	return count;
}

/*
 * Makes SOFTHSM2_CONF path, which SoftHSM2 reads with getenv() when it is initialised. setenv()
 * may move the environment while another thread's getenv() reads it (POSIX leaves the pair
 * unsafe, and glibc's localtime(), OpenSSL's and libcurl's initialisation all call getenv()), so
 * the variable is written only while the process has a single thread: a caller with threads
 * running gets SIGNER_ERR_KEYS instead of a race (ledgerd opens its CA before starting any).
 * When the variable holds path already, nothing is written and any thread may call.
 */
static signer_err softhsm2_conf_set(const char *path)
{
	const char *current = getenv("SOFTHSM2_CONF");
	if (current && strcmp(current, path) == 0)
		return SIGNER_OK;
	size_t threads = process_threads();
	if (threads != 1)
		return signer_fail(SIGNER_ERR_KEYS,
		                   "SOFTHSM2_CONF=%s must be set before any thread starts (%s): open the token "
		                   "before starting threads, or set the variable in the environment",
		                   path, threads ? "this process has other threads" : "/proc/self/task cannot be read");
	if (setenv("SOFTHSM2_CONF", path, 1) != 0)
		return signer_fail(SIGNER_ERR_NOMEM, "setenv SOFTHSM2_CONF");
	return SIGNER_OK;
}

/* Loads path with libp11, then takes its function list; under modules_lock. */
static signer_err module_load(token_module *m, const token_config *c)
{
	signer_err err = c->softhsm2_conf[0] ? softhsm2_conf_set(c->softhsm2_conf) : SIGNER_OK;
	if (err)
		return err;
	m->ctx = PKCS11_CTX_new();
	if (!m->ctx)
		return signer_fail(SIGNER_ERR_NOMEM, "PKCS11_CTX_new");
	if (PKCS11_CTX_load(m->ctx, c->module_path) != 0) {
		PKCS11_CTX_free(m->ctx);
		m->ctx = NULL;
		return signer_fail_openssl(SIGNER_ERR_KEYS, c->module_path);
	}
	m->library = dlopen(c->module_path, RTLD_NOW | RTLD_LOCAL);
	CK_C_GetFunctionList get_list = NULL;
	if (m->library)
		*(void **)&get_list = dlsym(m->library, "C_GetFunctionList");
	if (!get_list || get_list(&m->functions) != CKR_OK || !m->functions) {
		PKCS11_CTX_unload(m->ctx);
		PKCS11_CTX_free(m->ctx);
		m->ctx = NULL;
		if (m->library)
			dlclose(m->library);
		m->library = NULL;
		return signer_fail(SIGNER_ERR_KEYS, "%s: no PKCS #11 function list", c->module_path);
	}
	snprintf(m->path, sizeof m->path, "%s", c->module_path);
	snprintf(m->softhsm2_conf, sizeof m->softhsm2_conf, "%s", c->softhsm2_conf);
	return SIGNER_OK;
}

/* The loaded module of c, loading it the first time. */
static signer_err module_get(const token_config *c, token_module **out)
{
	pthread_mutex_lock(&modules_lock);
	signer_err err = SIGNER_OK;
	token_module *m = NULL;
	for (size_t i = 0; i < modules_loaded && !m; i++)
		if (strcmp(modules[i].path, c->module_path) == 0)
			m = &modules[i];
	if (m && c->softhsm2_conf[0] && strcmp(m->softhsm2_conf, c->softhsm2_conf) != 0)
		err = signer_fail(SIGNER_ERR_KEYS, "%s is loaded already with SOFTHSM2_CONF=%s: one per process",
		                  c->module_path, m->softhsm2_conf);
	else if (!m && modules_loaded == TOKEN_MODULES_MAX)
		err = signer_fail(SIGNER_ERR_KEYS, "more than %u PKCS #11 modules in one process", TOKEN_MODULES_MAX);
	else if (!m && (err = module_load(&modules[modules_loaded], c)) == SIGNER_OK)
		m = &modules[modules_loaded++];
	pthread_mutex_unlock(&modules_lock);
	*out = err ? NULL : m;
	return err;
}

/* ----- the token ----- */

/*
 * One handle per token and process, shared by every token_open() of it. Not for economy: when
 * libp11 releases a slot it calls C_CloseAllSessions, and PKCS #11 logs the application out
 * when its last session on a token closes, so closing one private handle would log every
 * other one out. The shared handle is released when its last user closes it (and the last
 * EVP_PKEY from it is freed: those hold the slot).
 */
struct token {
	bool remote; /* the signer process's token (token_remote.h): none of the rest is used */
	token_module *module;
	char label[TOKEN_LABEL_BYTES_MAX + 1];
	PKCS11_SLOT *slots; /* libp11's enumeration, which holds slot */
	unsigned int slot_count;
	PKCS11_SLOT *slot;
	CK_SLOT_ID slot_id;
	pthread_mutex_t lock;                        /* key operations */
	size_t users;                                /* token_open() calls not yet closed; under tokens_lock */
	unsigned char pin_hash[SIGNER_SHA256_BYTES]; /* of the PIN that logged in: later opens must match */
	/* The keys loaded (token_key_load), by label, under lock: finding a key in the token costs
	 * time linear in the keys it holds (docs/benchmarks.md#token-lookup), loading it again
	 * nothing. token_key_destroy drops its entry; all are dropped when the cache is full. */
	struct {
		char label[TOKEN_KEY_LABEL_BYTES_MAX + 1];
		EVP_PKEY *key;
	} * cached;
	size_t cached_count;
};

#define TOKENS_OPEN_MAX 8u

/* What token_open() returns in a process that has a signer process: every operation is a request. */
static token remote_token = {.remote = true};

static token *tokens_open[TOKENS_OPEN_MAX];
static pthread_mutex_t tokens_lock = PTHREAD_MUTEX_INITIALIZER;

static void token_free(token *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cached_count; i++)
		EVP_PKEY_free(t->cached[i].key);
	free(t->cached);
	if (t->slots)
		PKCS11_release_all_slots(t->module->ctx, t->slots, t->slot_count);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* The slot whose initialised token is labelled label, or NULL. */
static PKCS11_SLOT *slot_of(PKCS11_SLOT *slots, unsigned int count, const char *label)
{
	for (unsigned int i = 0; i < count; i++)
		if (slots[i].token && slots[i].token->initialized && strcmp(slots[i].token->label, label) == 0)
			return &slots[i];
	return NULL;
}

/* A token handle on config's token, not logged in. */
static signer_err token_find(const token_config *config, token **out)
{
	*out = NULL;
	token_module *m = NULL;
	signer_err err = module_get(config, &m);
	if (err)
		return err;
	token *t = calloc(1, sizeof *t);
	if (!t)
		return signer_fail(SIGNER_ERR_NOMEM, "token_open");
	t->module = m;
	snprintf(t->label, sizeof t->label, "%s", config->token_label);
	pthread_mutex_init(&t->lock, NULL);
	if (PKCS11_enumerate_slots(m->ctx, &t->slots, &t->slot_count) != 0) {
		t->slots = NULL;
		token_free(t);
		return signer_fail_openssl(SIGNER_ERR_KEYS, "enumerating the slots");
	}
	t->slot = slot_of(t->slots, t->slot_count, config->token_label);
	if (!t->slot) {
		token_free(t);
		return signer_fail(SIGNER_ERR_NOT_FOUND, "%s: no token labelled \"%s\"", config->module_path,
		                   config->token_label);
	}
	t->slot_id = PKCS11_get_slotid_from_slot(t->slot);
	*out = t;
	return SIGNER_OK;
}

static bool pin_hash(const char *pin, unsigned char hash[SIGNER_SHA256_BYTES])
{
	return EVP_Digest(pin, strlen(pin), hash, NULL, EVP_sha256(), NULL) == 1;
}

/* The open handle of config's token, or a free place for one (*free_place). Under tokens_lock. */
static token *token_shared(const token_config *config, size_t *free_place)
{
	*free_place = TOKENS_OPEN_MAX;
	for (size_t i = 0; i < TOKENS_OPEN_MAX; i++) {
		token *t = tokens_open[i];
		if (t && strcmp(t->module->path, config->module_path) == 0 &&
		    strcmp(t->label, config->token_label) == 0)
			return t;
		if (!t && *free_place == TOKENS_OPEN_MAX)
			*free_place = i;
	}
	return NULL;
}

/* A new shared handle of config's token, logged in with pin, at tokens_open[place]. */
static signer_err token_login(const token_config *config, const char *pin, size_t place, token **out)
{
	signer_err err = place < TOKENS_OPEN_MAX
	                     ? token_find(config, out)
	                     : signer_fail(SIGNER_ERR_KEYS, "more than %u tokens open at once", TOKENS_OPEN_MAX);
	if (!err && PKCS11_login((*out)->slot, 0, pin) != 0)
		err = signer_fail_openssl(SIGNER_ERR_KEYS, "logging in to the token (is the PIN right?)");
	if (!err && !pin_hash(pin, (*out)->pin_hash))
		err = signer_fail_openssl(SIGNER_ERR_CRYPTO, "hashing the PIN");
	if (err) {
		token_free(*out);
		*out = NULL;
		return err;
	}
	(*out)->users = 1;
	tokens_open[place] = *out;
	return SIGNER_OK;
}

signer_err token_open(const token_config *config, token **out)
{
	if (!config || !out)
		return signer_fail(SIGNER_ERR_INVALID, "token_open: NULL argument");
	*out = NULL;
	if (token_remote_active()) { /* before the PIN is read: this process never reads it */
		*out = &remote_token;
		return SIGNER_OK;
	}
	char pin[TOKEN_PIN_BYTES_MAX + 1];
	signer_err err = token_pin_read(config, pin);
	if (err)
		return err;
	pthread_mutex_lock(&tokens_lock);
	size_t place;
	token *t = token_shared(config, &place);
	unsigned char hash[SIGNER_SHA256_BYTES];
	if (!t)
		err = token_login(config, pin, place, out);
	else if (!pin_hash(pin, hash) || CRYPTO_memcmp(hash, t->pin_hash, sizeof hash) != 0)
		err = signer_fail(SIGNER_ERR_KEYS, "not the PIN the token was opened with in this process");
	else {
		t->users++;
		*out = t;
	}
	pthread_mutex_unlock(&tokens_lock);
	OPENSSL_cleanse(pin, sizeof pin);
	return err;
}

void token_close(token *t)
{
	if (!t || t->remote)
		return;
	pthread_mutex_lock(&tokens_lock);
	assert(t->users > 0);
	bool last = --t->users == 0;
	for (size_t i = 0; last && i < TOKENS_OPEN_MAX; i++)
		if (tokens_open[i] == t)
			tokens_open[i] = NULL;
	pthread_mutex_unlock(&tokens_lock);
	if (last)
		token_free(t);
}

/* ----- raw PKCS #11: what libp11 does not do ----- */

static signer_err pkcs11_fail(signer_err err, const char *what, CK_RV rv)
{
	return signer_fail(err, "%s: PKCS #11 error 0x%lx", what, (unsigned long)rv);
}

static signer_err session_open(token *t, CK_SESSION_HANDLE *session)
{
	CK_RV rv =
	    t->module->functions->C_OpenSession(t->slot_id, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, session);
	return rv == CKR_OK ? SIGNER_OK : pkcs11_fail(SIGNER_ERR_CRYPTO, "C_OpenSession", rv);
}

/* The objects of class labelled label: up to TOKEN_FOUND_MAX handles into found. */
static signer_err find_labelled(token *t, CK_SESSION_HANDLE session, CK_OBJECT_CLASS class, const char *label,
                                CK_OBJECT_HANDLE found[TOKEN_FOUND_MAX], CK_ULONG *count)
{
	CK_ATTRIBUTE query[] = {
	    {CKA_CLASS, &class, sizeof class},
	    {CKA_LABEL, (void *)label, strlen(label)},
	};
	CK_FUNCTION_LIST_PTR f = t->module->functions;
	*count = 0;
	CK_RV rv = f->C_FindObjectsInit(session, query, sizeof query / sizeof query[0]);
	if (rv == CKR_OK) {
		rv = f->C_FindObjects(session, found, TOKEN_FOUND_MAX, count);
		CK_RV final = f->C_FindObjectsFinal(session);
		rv = rv == CKR_OK ? final : rv;
	}
	return rv == CKR_OK ? SIGNER_OK : pkcs11_fail(SIGNER_ERR_CRYPTO, "C_FindObjects", rv);
}

/* The one private key labelled label. */
static signer_err find_private_key(token *t, CK_SESSION_HANDLE session, const char *label, CK_OBJECT_HANDLE *key)
{
	CK_OBJECT_HANDLE found[TOKEN_FOUND_MAX];
	CK_ULONG count = 0;
	signer_err err = find_labelled(t, session, CKO_PRIVATE_KEY, label, found, &count);
	if (!err && count == 0)
		err = signer_fail(SIGNER_ERR_NOT_FOUND, "no key labelled \"%s\" in the token", label);
	if (!err && count > 1)
		err = signer_fail(SIGNER_ERR_KEYS, "more than one key labelled \"%s\" in the token", label);
	*key = err ? CK_INVALID_HANDLE : found[0];
	return err;
}

static bool label_valid(const char *label)
{
	return label && label[0] && strnlen(label, TOKEN_KEY_LABEL_BYTES_MAX + 1) <= TOKEN_KEY_LABEL_BYTES_MAX;
}

signer_err token_key_generate(token *t, const char *label)
{
	if (!t || !label_valid(label))
		return signer_fail(SIGNER_ERR_INVALID, "token_key_generate: no token or a bad label");
	if (t->remote)
		return token_remote_key_generate(label);
	CK_BYTE id[TOKEN_KEY_ID_BYTES];
	if (RAND_bytes(id, sizeof id) != 1)
		return signer_fail_openssl(SIGNER_ERR_CRYPTO, "a key id");
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG label_bytes = strlen(label);
	/* A signing key and nothing else: no decryption, wrapping, unwrapping or derivation, which
	 * tokens (SoftHSM2 among them) would otherwise allow by default. */
	CK_ATTRIBUTE public_template[] = {
	    {CKA_TOKEN, &yes, sizeof yes},
	    {CKA_PRIVATE, &no, sizeof no},
	    {CKA_VERIFY, &yes, sizeof yes},
	    {CKA_ENCRYPT, &no, sizeof no},
	    {CKA_WRAP, &no, sizeof no},
	    {CKA_DERIVE, &no, sizeof no},
	    {CKA_EC_PARAMS, (void *)p256_params, sizeof p256_params},
	    {CKA_LABEL, (void *)label, label_bytes},
	    {CKA_ID, id, sizeof id},
	};
	CK_ATTRIBUTE private_template[] = {
	    {CKA_TOKEN, &yes, sizeof yes},     {CKA_PRIVATE, &yes, sizeof yes}, {CKA_SENSITIVE, &yes, sizeof yes},
	    {CKA_EXTRACTABLE, &no, sizeof no}, {CKA_SIGN, &yes, sizeof yes},    {CKA_DECRYPT, &no, sizeof no},
	    {CKA_UNWRAP, &no, sizeof no},      {CKA_DERIVE, &no, sizeof no},    {CKA_LABEL, (void *)label, label_bytes},
	    {CKA_ID, id, sizeof id},
	};
	CK_MECHANISM mechanism = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	pthread_mutex_lock(&t->lock);
	CK_SESSION_HANDLE session;
	signer_err err = session_open(t, &session);
	if (!err) {
		CK_OBJECT_HANDLE found[TOKEN_FOUND_MAX], public_key, private_key;
		CK_ULONG count = 0;
		err = find_labelled(t, session, CKO_PRIVATE_KEY, label, found, &count);
		if (!err && count > 0)
			err = signer_fail(SIGNER_ERR_EXISTS, "a key labelled \"%s\" is in the token already", label);
		CK_RV rv = err ? CKR_OK
		               : t->module->functions->C_GenerateKeyPair(
		                     session, &mechanism, public_template,
		                     sizeof public_template / sizeof public_template[0], private_template,
		                     sizeof private_template / sizeof private_template[0], &public_key, &private_key);
		if (rv != CKR_OK)
			err = pkcs11_fail(SIGNER_ERR_CRYPTO, "C_GenerateKeyPair", rv);
		t->module->functions->C_CloseSession(session);
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

/* The CKA_ID of key into id. */
static signer_err key_id(token *t, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key, CK_BYTE id[TOKEN_KEY_ID_BYTES_MAX],
                         size_t *id_bytes)
{
	CK_ATTRIBUTE attribute = {CKA_ID, id, TOKEN_KEY_ID_BYTES_MAX};
	CK_RV rv = t->module->functions->C_GetAttributeValue(session, key, &attribute, 1);
	if (rv != CKR_OK || attribute.ulValueLen == 0 || attribute.ulValueLen > TOKEN_KEY_ID_BYTES_MAX)
		return pkcs11_fail(SIGNER_ERR_KEYS, "reading a key's CKA_ID", rv);
	*id_bytes = attribute.ulValueLen;
	return SIGNER_OK;
}

/* libp11's private key of that id and label, as an EVP_PKEY. */
static signer_err wrap_key(token *t, const char *label, const CK_BYTE *id, size_t id_bytes, EVP_PKEY **out)
{
	PKCS11_KEY *keys = NULL;
	unsigned int count = 0;
	if (PKCS11_enumerate_keys(t->slot->token, &keys, &count) != 0)
		return signer_fail_openssl(SIGNER_ERR_KEYS, "listing the token's keys");
	for (unsigned int i = 0; i < count; i++) {
		if (keys[i].id_len != id_bytes || memcmp(keys[i].id, id, id_bytes) != 0 || !keys[i].label ||
		    strcmp(keys[i].label, label) != 0)
			continue;
		*out = PKCS11_get_private_key(&keys[i]);
		return *out ? SIGNER_OK : signer_fail_openssl(SIGNER_ERR_KEYS, "libp11 cannot use the key");
	}
	return signer_fail(SIGNER_ERR_KEYS, "libp11 does not list the key labelled \"%s\"", label);
}

/* The cached entry of label, or cached_count; under t->lock. */
static size_t cached_find(const token *t, const char *label)
{
	size_t i = 0;
	while (i < t->cached_count && strcmp(t->cached[i].label, label) != 0)
		i++;
	return i;
}

/* Keeps key (a reference of its own) as label's; under t->lock. Nothing if memory is short. */
static void cached_add(token *t, const char *label, EVP_PKEY *key)
{
	if (t->cached_count == TOKEN_KEYS_CACHED_MAX) {
		for (size_t i = 0; i < t->cached_count; i++)
			EVP_PKEY_free(t->cached[i].key);
		t->cached_count = 0;
	}
	if (!t->cached && !(t->cached = calloc(TOKEN_KEYS_CACHED_MAX, sizeof *t->cached)))
		return;
	if (EVP_PKEY_up_ref(key) != 1)
		return;
	snprintf(t->cached[t->cached_count].label, sizeof t->cached[0].label, "%s", label);
	t->cached[t->cached_count++].key = key;
}

/* Drops label's entry; under t->lock. */
static void cached_drop(token *t, const char *label)
{
	size_t i = cached_find(t, label);
	if (i == t->cached_count)
		return;
	EVP_PKEY_free(t->cached[i].key);
	t->cached[i] = t->cached[--t->cached_count];
}

/* The CKA_ID of the private key labelled label, in session. */
static signer_err labelled_key_id(token *t, CK_SESSION_HANDLE session, const char *label,
                                  CK_BYTE id[TOKEN_KEY_ID_BYTES_MAX], size_t *id_bytes)
{
	CK_OBJECT_HANDLE handle;
	signer_err err = find_private_key(t, session, label, &handle);
	return err ? err : key_id(t, session, handle, id, id_bytes);
}

signer_err token_key_load(token *t, const char *label, EVP_PKEY **key)
{
	if (!t || !label_valid(label) || !key)
		return signer_fail(SIGNER_ERR_INVALID, "token_key_load: NULL argument or a bad label");
	*key = NULL;
	if (t->remote)
		return token_remote_key_load(label, key);
	pthread_mutex_lock(&t->lock);
	size_t hit = cached_find(t, label);
	if (hit < t->cached_count && EVP_PKEY_up_ref(t->cached[hit].key) == 1) {
		*key = t->cached[hit].key;
		pthread_mutex_unlock(&t->lock);
		return SIGNER_OK;
	}
	CK_SESSION_HANDLE session;
	CK_BYTE id[TOKEN_KEY_ID_BYTES_MAX];
	size_t id_bytes = 0;
	signer_err err = session_open(t, &session);
	if (!err) {
		err = labelled_key_id(t, session, label, id, &id_bytes);
		t->module->functions->C_CloseSession(session);
	}
	if (!err)
		err = wrap_key(t, label, id, id_bytes, key);
	if (!err)
		cached_add(t, label, *key);
	pthread_mutex_unlock(&t->lock);
	return err;
}

/* Destroys the objects of class labelled label whose CKA_ID is id. */
static signer_err destroy_matching(token *t, CK_SESSION_HANDLE session, CK_OBJECT_CLASS class, const char *label,
                                   const CK_BYTE *id, size_t id_bytes)
{
	CK_OBJECT_HANDLE found[TOKEN_FOUND_MAX];
	CK_ULONG count = 0;
	signer_err err = find_labelled(t, session, class, label, found, &count);
	for (CK_ULONG i = 0; i < count && !err; i++) {
		CK_BYTE other[TOKEN_KEY_ID_BYTES_MAX];
		size_t other_bytes = 0;
		if (key_id(t, session, found[i], other, &other_bytes) != SIGNER_OK || other_bytes != id_bytes ||
		    memcmp(other, id, id_bytes) != 0)
			continue;
		CK_RV rv = t->module->functions->C_DestroyObject(session, found[i]);
		if (rv != CKR_OK)
			err = pkcs11_fail(SIGNER_ERR_CRYPTO, "C_DestroyObject", rv);
	}
	return err;
}

signer_err token_key_destroy(token *t, const char *label)
{
	if (!t || !label_valid(label))
		return signer_fail(SIGNER_ERR_INVALID, "token_key_destroy: no token or a bad label");
	if (t->remote)
		return token_remote_key_destroy(label);
	pthread_mutex_lock(&t->lock);
	cached_drop(t, label); /* first: even if the token refuses, the key is not handed out again */
	CK_SESSION_HANDLE session;
	CK_BYTE id[TOKEN_KEY_ID_BYTES_MAX];
	size_t id_bytes = 0;
	signer_err err = session_open(t, &session);
	if (!err) {
		err = labelled_key_id(t, session, label, id, &id_bytes);
		/* The private half first: once it is gone the key can sign nothing, whatever follows. */
		if (!err)
			err = destroy_matching(t, session, CKO_PRIVATE_KEY, label, id, id_bytes);
		if (!err)
			err = destroy_matching(t, session, CKO_PUBLIC_KEY, label, id, id_bytes);
		t->module->functions->C_CloseSession(session);
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

signer_err token_objects_count(token *t, const char *label, size_t *count)
{
	if (!t || !label_valid(label) || !count)
		return signer_fail(SIGNER_ERR_INVALID, "token_objects_count: NULL argument or a bad label");
	*count = 0;
	if (t->remote)
		return token_remote_objects_count(label, count);
	CK_ATTRIBUTE query[] = {{CKA_LABEL, (void *)label, strlen(label)}};
	CK_FUNCTION_LIST_PTR f = t->module->functions;
	pthread_mutex_lock(&t->lock);
	CK_SESSION_HANDLE session;
	signer_err err = session_open(t, &session);
	if (!err) {
		CK_RV rv = f->C_FindObjectsInit(session, query, 1);
		for (CK_ULONG found = 1; rv == CKR_OK && found > 0;) {
			CK_OBJECT_HANDLE handle;
			rv = f->C_FindObjects(session, &handle, 1, &found);
			*count += rv == CKR_OK ? found : 0;
		}
		CK_RV final = f->C_FindObjectsFinal(session);
		rv = rv == CKR_OK ? final : rv;
		if (rv != CKR_OK)
			err = pkcs11_fail(SIGNER_ERR_CRYPTO, "C_FindObjects", rv);
		f->C_CloseSession(session);
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

signer_err token_key_protection(token *t, const char *label, bool *sensitive, bool *extractable)
{
	if (!t || !label_valid(label) || !sensitive || !extractable)
		return signer_fail(SIGNER_ERR_INVALID, "token_key_protection: NULL argument or a bad label");
	if (t->remote)
		return token_remote_key_protection(label, sensitive, extractable);
	CK_BBOOL is_sensitive = CK_FALSE, always_sensitive = CK_FALSE, is_extractable = CK_TRUE,
	         never_extractable = CK_FALSE;
	CK_ATTRIBUTE attributes[] = {
	    {CKA_SENSITIVE, &is_sensitive, sizeof is_sensitive},
	    {CKA_ALWAYS_SENSITIVE, &always_sensitive, sizeof always_sensitive},
	    {CKA_EXTRACTABLE, &is_extractable, sizeof is_extractable},
	    {CKA_NEVER_EXTRACTABLE, &never_extractable, sizeof never_extractable},
	};
	pthread_mutex_lock(&t->lock);
	CK_SESSION_HANDLE session;
	CK_OBJECT_HANDLE handle;
	signer_err err = session_open(t, &session);
	if (!err) {
		err = find_private_key(t, session, label, &handle);
		CK_RV rv = err ? CKR_OK
		               : t->module->functions->C_GetAttributeValue(session, handle, attributes,
		                                                           sizeof attributes / sizeof attributes[0]);
		if (rv != CKR_OK)
			err = pkcs11_fail(SIGNER_ERR_CRYPTO, "C_GetAttributeValue", rv);
		t->module->functions->C_CloseSession(session);
	}
	pthread_mutex_unlock(&t->lock);
	*sensitive = !err && is_sensitive && always_sensitive;
	*extractable = err || is_extractable || !never_extractable;
	return err;
}

/* ----- setting a token up (the rest is pkcs11_setup.c) ----- */

/* pkcs11_token.h. Initialises the first uninitialised token of c's module with label, the SO PIN so_pin, and
 * the user PIN pin. */
signer_err token_initialise(const token_config *c, const char *so_pin, const char *pin)
{
	token_module *m = NULL;
	signer_err err = module_get(c, &m);
	PKCS11_SLOT *slots = NULL;
	unsigned int count = 0;
	if (!err && PKCS11_enumerate_slots(m->ctx, &slots, &count) != 0)
		err = signer_fail_openssl(SIGNER_ERR_KEYS, "enumerating the slots");
	PKCS11_SLOT *free_slot = NULL;
	for (unsigned int i = 0; !err && i < count && !free_slot; i++)
		if (slots[i].token && !slots[i].token->initialized)
			free_slot = &slots[i];
	if (!err && !free_slot)
		err = signer_fail(SIGNER_ERR_KEYS, "%s: no free slot for a new token", c->module_path);
	if (!err && PKCS11_init_token(free_slot->token, so_pin, c->token_label) != 0)
		err = signer_fail_openssl(SIGNER_ERR_KEYS, "initialising the token");
	if (slots)
		PKCS11_release_all_slots(m->ctx, slots, count);
	/* A token initialised may move to another slot (SoftHSM2 numbers slots by token): find it again. */
	token *t = NULL;
	if (!err)
		err = token_find(c, &t);
	if (!err && (PKCS11_open_session(t->slot, 1) != 0 || PKCS11_login(t->slot, 1, so_pin) != 0 ||
	             PKCS11_init_pin(t->slot->token, pin) != 0 || PKCS11_logout(t->slot) != 0))
		err = signer_fail_openssl(SIGNER_ERR_KEYS, "setting the token's user PIN");
	token_free(t);
	return err;
}

/*
 * signer.h: PAdES signatures and seals of PDF documents, and the internal CA that certifies
 * the signers (docs/design.md §1, "the signer"). docs/signer.md describes the profile
 * produced, the key layout and what a validator sees.
 *
 * Three parts:
 *   - inspection: signer_pdf_inspect() opens untrusted bytes with mupdf and says, with a typed
 *     error, whether they are a PDF we accept to sign, and how large its pages are;
 *   - the CA: signer_ca_init()/signer_ca_open() keep an ECDSA P-256 CA in a keys directory,
 *     and signer_credential_get_or_issue() gives each person or firm a key and certificate;
 *   - signing: signer_pades_sign() appends a PAdES baseline B-B signature (ETSI.CAdES.detached)
 *     to a PDF as an incremental update, so earlier signatures stay valid.
 *
 * Threads: every call that reads a PDF creates its own mupdf context (with its own memory cap)
 * and drops it before returning; nothing of mupdf is shared between calls, so any number of
 * threads may inspect and sign at once without locks. A signer_ca is read-only once open and
 * may be shared by threads; a signer_credential too. Worst-case memory is therefore the number
 * of concurrent calls times SIGNER_MUPDF_BYTES_MAX, plus the documents themselves.
 *
 * Time is always an argument (seconds since the Unix epoch, UTC); nothing reads the clock.
 * Randomness (keys, certificate serials, ECDSA nonces) comes from OpenSSL, so two signatures of
 * the same document are not byte-identical: the ledger records the hash of the document it
 * produced, not a recipe to produce it again.
 *
 * Errors are returned as signer_err; signer_strerror() names them and signer_last_error()
 * gives the last failure's detail in this thread. Nothing here prints or calls exit().
 */
#ifndef SIGNER_SIGNER_H
#define SIGNER_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ----- limits (docs/signer.md#limits) ----- */
#define SIGNER_PDF_BYTES_MAX (64u * 1024u * 1024u) /* a document to sign */
#define SIGNER_PAGES_MAX     2000u                 /* pages of a document */
/* What mupdf may allocate during one call: a decompression bomb fails here, cleanly. */
#define SIGNER_MUPDF_BYTES_MAX (256u * 1024u * 1024u)
/* Page content decoded by an inspection (every page's content streams, summed). */
#define SIGNER_CONTENT_BYTES_MAX (256u * 1024u * 1024u)
/* What one signing call may add to a document, all its updates together (signature, /DSS and
 * document time-stamp: dictionaries, field, appearance, validation data, xrefs). */
#define SIGNER_SIGNATURE_GROWTH_BYTES_MAX (4u * 1024u * 1024u)
#define SIGNER_CMS_BYTES_MAX              8192u /* room reserved in /Contents for the CMS SignedData */
/* Room for a document time-stamp's token from the CA's own unit (about 1.6 KiB: the unit's
 * certificate and its CA's); an external authority's get SIGNER_CMS_BYTES_MAX. */
#define SIGNER_TIMESTAMP_BYTES_MAX    4096u
#define SIGNER_TEXT_BYTES_MAX         256u  /* reason, location, contact info, name (UTF-8) */
#define SIGNER_DN_CHARS_MAX           64u   /* names in a certificate (RFC 5280 ub-common-name) */
#define SIGNER_EMAIL_BYTES_MAX        128u  /* a person's email (PKCS #9 ub-emailaddress) */
#define SIGNER_FIRM_ID_BYTES_MAX      64u   /* a firm's id */
#define SIGNER_CA_VALIDITY_DAYS       7305u /* the root's life: 20 years, two issuing CAs' lives */
#define SIGNER_CERT_VALIDITY_DAYS_MAX 1095u
#define SIGNER_CERT_BACKDATE_S        3600  /* notBefore = now - this: validators' clocks lag */
#define SIGNER_CERT_RENEW_BEFORE_S    86400 /* a certificate this close to expiry is replaced */
#define SIGNER_RECT_SIDE_PT_MIN       1.0f  /* a visible signature's smallest width and height */
#define SIGNER_CERT_DER_BYTES_MAX     4096u /* a certificate we issue, DER */
#define SIGNER_ERROR_BYTES_MAX        256u  /* signer_last_error()'s message */

/* The files of a keys directory (docs/signer.md#keys). The *_KEY_FILEs are used only in a keys
 * directory that names no token (made before the token existed): see SIGNER_TOKEN_CONFIG_FILE. */
#define SIGNER_CA_KEY_FILE        "signer-ca.key"  /* the CA's private key, PKCS #8 PEM, 0600 */
#define SIGNER_CA_CERT_FILE       "signer-ca.pem"  /* the CA's certificate, PEM, 0644: the trust anchor */
#define SIGNER_CREDENTIALS_DIR    "signers"        /* <hex SHA-256 of kind and subject>.pem, 0600 */
#define SIGNER_TSA_KEY_FILE       "signer-tsa.key" /* the time-stamping unit's private key, 0600 */
#define SIGNER_TSA_CERT_FILE      "signer-tsa.pem" /* its certificate, issued by the CA, 0644 */
#define SIGNER_TSA_NAME           "JeSignExpert Horodatage"
#define SIGNER_OCSP_KEY_FILE      "signer-ocsp.key" /* the OCSP responder's private key, 0600 */
#define SIGNER_OCSP_CERT_FILE     "signer-ocsp.pem" /* its certificate, issued by the CA, 0644 */
#define SIGNER_OCSP_NAME          "JeSignExpert OCSP"
#define SIGNER_UNIT_VALIDITY_DAYS 1825u /* the TSA's and the OCSP responder's: 5 years, within the CA's */
#define SIGNER_CRL_VALIDITY_DAYS  7u    /* a CRL's nextUpdate */
/* The TSA's policy (TSTInfo.policy): an OID under 2.25 (ITU-T X.667, from a UUID, no registry). */
#define SIGNER_TSA_POLICY_OID "2.25.255447016286374935616187049429582350657"
/* The root's common name (a root made before the hierarchy: "JeSignExpert ledger internal CA"). */
#define SIGNER_CA_NAME "JeSignExpert Root CA"
/* The platform's own organizationIdentifier (ETSI EN 319 412-1: NTRFR-<SIREN>) in the CAs' names,
 * when ledgerd init is given none: a placeholder SIREN that says it is one. */
#define SIGNER_ORGANIZATION_IDENTIFIER_DEFAULT   "NTRFR-000000000"
#define SIGNER_ORGANIZATION_IDENTIFIER_BYTES_MAX 64u
/* The issuing CAs' files: signer-ca-<name>.pem (0644), their keys signer-ca-<name> in the token
 * (signer-ca-<name>.key without one), the responder's certificate from each signer-ocsp-<name>.pem. */
#define SIGNER_ISSUING_CERT_FORMAT  "signer-ca-%s.pem"
#define SIGNER_ISSUING_KEY_FORMAT   "signer-ca-%s.key"
#define SIGNER_ISSUING_LABEL_FORMAT "signer-ca-%s"
#define SIGNER_ISSUING_OCSP_FORMAT  "signer-ocsp-%s.pem"
#define SIGNER_TSA_RENEW_MARGIN_S   (365 * 86400LL) /* the TSA's certificate is re-issued this close to its end */

/* The token that holds the private keys (docs/signer.md#token), named in the keys directory. */
#define SIGNER_TOKEN_CONFIG_FILE  "pkcs11.conf"   /* where the token is: module, label, PIN source; 0644 */
#define SIGNER_TOKEN_PIN_FILE     "token.pin"     /* the embedded token's user PIN, 0600 */
#define SIGNER_SOFTHSM2_CONF_FILE "softhsm2.conf" /* the embedded token's SoftHSM2 configuration, 0600 */
#define SIGNER_SOFTHSM2_TOKEN_DIR "tokens"        /* the embedded token's objects, 0700 */
#define SIGNER_SOFTHSM2_MODULE    "/usr/lib/softhsm/libsofthsm2.so" /* Debian 12's softhsm2 */
#define SIGNER_TOKEN_LABEL        "ledgerd"                         /* the embedded token's label */
/* The labels (CKA_LABEL) of the keys in the token. */
#define SIGNER_CA_KEY_LABEL   "signer-ca"
#define SIGNER_TSA_KEY_LABEL  "signer-tsa"
#define SIGNER_OCSP_KEY_LABEL "signer-ocsp"

typedef enum {
	SIGNER_OK = 0,
	SIGNER_ERR_INVALID,   /* a bad argument: NULL, over a text limit, not UTF-8 (a caller's bug) */
	SIGNER_ERR_TOO_LARGE, /* over a limit: bytes, pages, decoded content, mupdf's memory */
	SIGNER_ERR_NOT_PDF,   /* no %PDF- header, or mupdf cannot open it as a PDF at all */
	SIGNER_ERR_ENCRYPTED, /* encrypted, with or without a user password */
	SIGNER_ERR_CORRUPT,   /* a PDF mupdf had to repair, or whose pages cannot be loaded */
	SIGNER_ERR_RECT,      /* a visible rectangle off the page, empty, or on a page not there */
	SIGNER_ERR_EXISTS,    /* signer_ca_init() on a directory that holds a CA already */
	SIGNER_ERR_NOT_FOUND, /* signer_ca_open() on a directory without a CA */
	SIGNER_ERR_KEYS,      /* a key or certificate file that is unreadable or inconsistent */
	SIGNER_ERR_EXPIRED,   /* a credential not valid at the signing time */
	SIGNER_ERR_IO,        /* the file system refused: errno is in the message */
	SIGNER_ERR_CRYPTO,    /* OpenSSL failed: its reason is in the message */
	SIGNER_ERR_PDF_WRITE, /* mupdf failed to write the signed document */
	SIGNER_ERR_NOMEM,
	SIGNER_ERR_TSA, /* the external time-stamping authority cannot be reached, or its reply is not a valid token */
	SIGNER_ERR_CLOCK,        /* the time-stamping authority's time and the service's clock disagree */
	SIGNER_ERR_NO_TIMESTAMP, /* a document without a document time-stamp (B-B to B-LT): nothing to renew */
	SIGNER_ERR_REVOKED,      /* a certificate the CA has revoked (signer_ca_revoke) */
} signer_err;

/* A static string naming err. Never NULL. */
const char *signer_strerror(signer_err err);

/* The detail of the last failure in this thread ("" if none yet). Valid until the thread's next
 * call into this module. */
const char *signer_last_error(void);

/* ----- inspection (signer/inspect.c) ----- */

/* A page as a user sees it, in PDF points (1/72 inch): the visible box (the CropBox clipped to
 * the MediaBox, the MediaBox when there is no CropBox), after /Rotate and /UserUnit. */
typedef struct signer_page_size {
	float width_pt;
	float height_pt;
} signer_page_size;

/* 16 KiB: allocate it, do not put it on a small stack. */
typedef struct signer_pdf_info {
	uint32_t page_count;      /* 1..SIGNER_PAGES_MAX */
	uint32_t signature_count; /* signed signature fields already in the document */
	signer_page_size pages[SIGNER_PAGES_MAX];
} signer_pdf_info;

/*
 * Opens pdf (pdf_bytes long) with mupdf, from memory, and checks it is a document we accept to
 * sign. Returns, checking in this order:
 *   SIGNER_ERR_INVALID    pdf or info NULL (pdf may be NULL when pdf_bytes is 0);
 *   SIGNER_ERR_TOO_LARGE  pdf_bytes > pdf_bytes_max (checked before anything is opened), more
 *                         than SIGNER_PAGES_MAX pages, more than SIGNER_CONTENT_BYTES_MAX of
 *                         decoded page content, or mupdf needing over SIGNER_MUPDF_BYTES_MAX;
 *   SIGNER_ERR_NOT_PDF    the bytes do not start with "%PDF-" (a PNG, a Word file, nothing);
 *   SIGNER_ERR_ENCRYPTED  the trailer has /Encrypt (even with an empty user password);
 *   SIGNER_ERR_CORRUPT    they start with "%PDF-" but mupdf cannot open them, or had to repair
 *                         them (a broken xref, a truncated file: refused, because a repaired
 *                         file cannot take an incremental update that keeps its bytes, and what
 *                         a viewer shows of it is a guess), or there is no page, or a page or
 *                         its content cannot be loaded (a page object mupdf reads as null, nested past
 *                         its parser's limit, is one: signing adds its widget to that object);
 *   SIGNER_OK             info holds the page count and sizes.
 * On an error, info is zeroed and signer_last_error() says why. mupdf prints nothing.
 */
signer_err signer_pdf_inspect(const uint8_t *pdf, size_t pdf_bytes, size_t pdf_bytes_max, signer_pdf_info *info);

/* Where a visible signature goes: page_index from 0, the rectangle in points with the origin
 * at the top-left corner of the page as displayed (x to the right, y downwards), the same frame
 * as signer_page_size. */
typedef struct signer_rect {
	uint32_t page_index;
	float x0, y0, x1, y1;
} signer_rect;

/*
 * Checks rect against an inspected document: the page exists, every coordinate is finite, the
 * rectangle is at least SIGNER_RECT_SIDE_PT_MIN wide and high, and it lies inside the page.
 * SIGNER_OK, SIGNER_ERR_RECT (signer_last_error() says which rule) or SIGNER_ERR_INVALID (NULL).
 */
signer_err signer_rect_check(const signer_pdf_info *info, const signer_rect *rect);

/* ----- the token of the private keys (signer/pkcs11_token.c, docs/signer.md#token) ----- */

/*
 * Sets up keys_dir's embedded token: a SoftHSM2 configuration (SIGNER_SOFTHSM2_CONF_FILE, 0600)
 * whose token directory is keys_dir/SIGNER_SOFTHSM2_TOKEN_DIR (0700, named by absolute path), a
 * random user PIN in SIGNER_TOKEN_PIN_FILE (0600), a token labelled SIGNER_TOKEN_LABEL
 * initialised with that PIN (its security officer PIN is random and forgotten), and, written
 * last, SIGNER_TOKEN_CONFIG_FILE naming them. From then on signer_ca_init() and the units
 * (signer_tsa_enable, signer_ocsp_enable) of keys_dir generate their keys in the token.
 * Loads SoftHSM2 with SOFTHSM2_CONF set in this process's environment: call it before other
 * threads run. SIGNER_ERR_EXISTS if keys_dir has a SIGNER_TOKEN_CONFIG_FILE already,
 * SIGNER_ERR_KEYS if SoftHSM2 cannot be loaded or refuses, SIGNER_ERR_IO.
 */
signer_err signer_token_embedded_create(const char *keys_dir);

/* A token initialised beforehand: a real HSM (docs/operations.md#hsm). */
typedef struct signer_token_config {
	const char *module_path; /* its PKCS #11 module, an absolute path */
	const char *token_label; /* the token's label, 1..32 bytes */
	const char *pin_file;    /* a file (absolute path) no group or other may access, holding the PIN; */
	const char *pin_env;     /* or the name of an environment variable holding it: one of two */
} signer_token_config;

/*
 * Names config's token in keys_dir/SIGNER_TOKEN_CONFIG_FILE, after checking that the token is
 * there and the PIN opens it (the PIN itself is not copied). SIGNER_ERR_INVALID for a config
 * without a module, a label or exactly one PIN source; SIGNER_ERR_NOT_FOUND for no token with
 * that label; SIGNER_ERR_KEYS for a module that cannot be loaded or a PIN refused;
 * SIGNER_ERR_EXISTS if keys_dir names a token already; SIGNER_ERR_IO.
 */
signer_err signer_token_configure(const char *keys_dir, const signer_token_config *config);

/* ----- the signer process (signer/token_remote.c, docs/signer.md#the-signer-process) ----- */

#define SIGNER_PROCESS_PROGRAM      "ledger-signer" /* installed beside the program that starts it */
#define SIGNER_PROCESS_START_MS_MAX 30000         /* its start and login: a PKCS #11 login may be slow, not that slow */
#define SIGNER_PROCESS_REPLY_MS_MAX 10000         /* one request: longer, the process is taken for hung and restarted */
#define SIGNER_PROCESS_LOCK_FILE    "signer.lock" /* in the keys directory: one signer process per token at a time */

/*
 * Starts the signer process of keys_dir's token (SIGNER_PROCESS_PROGRAM, found in the directory of
 * this process's executable) and waits for it to log in. From then on this process never opens a
 * token itself: every token keys_dir's CA opens is the signer process's, and a key loaded from it
 * is an EVP_PKEY whose signatures the signer process makes (it signs SHA-256 digests only). Call
 * it before signer_ca_open() and before any thread runs (once per process). When the process
 * dies, the request that finds it so fails (SIGNER_ERR_CRYPTO) and it is started again for the
 * next. SIGNER_ERR_NOT_FOUND, starting nothing, when keys_dir names no token (its keys are PEM
 * files); SIGNER_ERR_KEYS when it cannot log in (its reason: the PIN refused, its file's mode, no
 * token), SIGNER_ERR_IO when it cannot be started, SIGNER_ERR_EXISTS if one runs already.
 */
signer_err signer_process_start(const char *keys_dir);

/* Stops the signer process: closes its socket (it exits), waits for it, kills it if it lingers.
 * Keys loaded from it sign nothing afterwards. Nothing if none runs. */
void signer_process_stop(void);

#define SIGNER_PROCESS_WHY_BYTES 128u /* "was killed by signal 9", with its NUL */

/*
 * Waits for the signer process if it has died (killed, crashed) since the last request, without
 * blocking and for its pid only (never any other child: waitpid(pid, WNOHANG)), so that it does
 * not stay a zombie until the next request. It is not started again here: the next request
 * still fails (SIGNER_ERR_CRYPTO, saying how it ended) and starts a new one, as
 * signer_process_start() says. Returns the pid it waited for, with how it ended in why; 0 (why
 * "") if it runs, none runs, or a request holds it (that request reaps what it finds dead).
 * Call it periodically (ledgerd's expiry thread does, every second).
 */
long signer_process_reap(char why[SIGNER_PROCESS_WHY_BYTES]);

/* The process id of the signer process, 0 when none runs (nor once reaped dead). */
long signer_process_pid(void);

/* ----- the CA and the credentials (signer/ca.c) ----- */

typedef struct signer_ca signer_ca;

/* A certificate serial in upper-case hex, as the ledger records it: 1..40 digits and the NUL. */
#define SIGNER_SERIAL_HEX_BYTES 41u
/* A key's name in KeyCreated/KeyDestroyed ("token:<label>", "file:<name>"), with its NUL. */
#define SIGNER_KEY_ID_BYTES 64u

/* The issuing CAs of the hierarchy (docs/signer.md#hierarchy), each certified by the root. */
typedef enum {
	SIGNER_ISSUING_PERSONS = 0,      /* natural persons: persons' and one-shot certificates */
	SIGNER_ISSUING_SEALS = 1,        /* legal persons: the firms' seals */
	SIGNER_ISSUING_TIMESTAMPING = 2, /* the time-stamping unit */
} signer_issuing;
#define SIGNER_ISSUING_CAS 3u

/* The short name of an issuing CA in file names and URLs ("persons", "seals", "tsa"); NULL for
 * another value. */
const char *signer_issuing_name(signer_issuing which);

/* SIGNER_ERR_INVALID unless s is an organizationIdentifier of ETSI EN 319 412-1's form: three
 * upper-case letters (the scheme: NTR, VAT...), two (the country), '-', then 1 to 58 letters
 * or digits, e.g. "NTRFR-123456789". */
signer_err signer_organization_identifier_check(const char *s);

/*
 * Creates the CA of keys_dir (created 0700 if absent): a fresh ECDSA P-256 key, generated in
 * the token keys_dir names (label SIGNER_CA_KEY_LABEL) or, when it names none, written to
 * SIGNER_CA_KEY_FILE (0600), and a self-signed certificate "CN=SIGNER_CA_NAME, O=JeSignExpert,
 * C=FR" valid SIGNER_CA_VALIDITY_DAYS from now_s in SIGNER_CA_CERT_FILE (0644). Keys and files
 * are created exclusively: SIGNER_ERR_EXISTS if either exists (nothing is overwritten).
 * SIGNER_ERR_KEYS if the token cannot be opened, SIGNER_ERR_IO, SIGNER_ERR_CRYPTO otherwise.
 */
signer_err signer_ca_init(const char *keys_dir, int64_t now_s);
/* The same with the platform's organizationIdentifier in the root's name (signer_ca_init uses
 * SIGNER_ORGANIZATION_IDENTIFIER_DEFAULT); SIGNER_ERR_INVALID as
 * signer_organization_identifier_check(). The issuing CAs take the root's. */
signer_err signer_ca_init_as(const char *keys_dir, int64_t now_s, const char *organization_identifier);

/* The organizationIdentifier in the root's name, which the issuing CAs and the units take
 * (SIGNER_ORGANIZATION_IDENTIFIER_DEFAULT for a root made without one). */
void signer_ca_organization_identifier(const signer_ca *ca, char out[SIGNER_ORGANIZATION_IDENTIFIER_BYTES_MAX + 1]);

/*
 * The hierarchy (signer/hierarchy.c): makes ca the root of issuing CAs, one per signer_issuing,
 * each an ECDSA P-256 key in the token (SIGNER_ISSUING_LABEL_FORMAT, or a key file without one)
 * and a certificate from the root (SIGNER_ISSUING_CERT_FORMAT): basicConstraints CA with
 * pathLenConstraint 0, keyUsage keyCertSign and cRLSign, certificatePolicies, and, once the PKI URL
 * is set, the root's CRL and certificate as CDP and caIssuers. Issued at now_s the first time (a
 * keys directory made before the hierarchy gets it at its first start), read and checked after.
 * From then on the root issues nothing but them: persons' and one-shot credentials come from
 * the persons' CA, seals from the seals', the TSA's certificate from the time-stamping CA.
 * Call before signer_tsa_enable and signer_ocsp_enable, before threads share ca.
 * SIGNER_ERR_KEYS for a key without its certificate or the reverse, or a certificate the root
 * did not issue; SIGNER_ERR_EXPIRED when the root cannot issue at now_s.
 */
signer_err signer_hierarchy_enable(signer_ca *ca, const char *keys_dir, int64_t now_s);

/* An issuing CA's certificate (DER), as signer_ca_certificate(). SIGNER_ERR_NOT_FOUND without a
 * hierarchy, SIGNER_ERR_INVALID for another which. */
signer_err signer_issuing_certificate(const signer_ca *ca, signer_issuing which, uint8_t *der, size_t der_bytes_max,
                                      size_t *der_bytes);

/* An issuing CA's CRL at now_s, as signer_ca_crl() but signed by it, listing the revoked serials
 * it issued. SIGNER_ERR_NOT_FOUND without a hierarchy. */
signer_err signer_issuing_crl(const signer_ca *ca, signer_issuing which, int64_t now_s, uint8_t **der,
                              size_t *der_bytes);

/* One of the authorities' keys (the root, the issuing CAs, the TSA, the OCSP responder), for
 * KeyCreated records: kind is "ca-root", "ca-persons", "ca-seals", "ca-tsa", "tsa" or "ocsp";
 * key_id "token:<label>" or "file:<name>"; the certificate certifying it (the responder's: the
 * first one, from the persons' CA) and its serial. Borrowed for the visit's duration. */
typedef struct signer_authority_key {
	const char *kind;
	char key_id[SIGNER_KEY_ID_BYTES];
	char serial[SIGNER_SERIAL_HEX_BYTES];
	const uint8_t *certificate_der;
	size_t certificate_der_bytes;
} signer_authority_key;

/* Visits every authority key ca has open (the root's always; the others once enabled), in the
 * order above, until visit returns false. SIGNER_ERR_INVALID, SIGNER_ERR_CRYPTO. */
signer_err signer_authority_keys_each(const signer_ca *ca, bool (*visit)(void *ctx, const signer_authority_key *key),
                                      void *ctx);

/*
 * For the offline tools (ledger-audit), which write no log to record a key or certificate in:
 * signer_tsa_enable and signer_ocsp_enable then neither generate a key nor issue or re-issue a
 * certificate, and use what keys_dir holds as it is (a certificate within the renewal margin
 * included; an expired one is SIGNER_ERR_EXPIRED naming its end). A missing key or certificate is
 * SIGNER_ERR_NOT_FOUND: ledgerd serve makes them at its start. Nothing in keys_dir or its token
 * changes. Call before them.
 */
void signer_ca_set_read_only(signer_ca *ca);

/* How close to its end the TSA's certificate is re-issued by signer_tsa_enable, and the OCSP
 * responder's by signer_ocsp_enable (default SIGNER_TSA_RENEW_MARGIN_S), with the hierarchy.
 * SIGNER_ERR_INVALID for a negative margin or more than 4 years. */
signer_err signer_tsa_set_renew_margin(signer_ca *ca, int64_t margin_s);

/*
 * Opens the CA of keys_dir, its key from the token keys_dir names if it names one.
 * SIGNER_ERR_NOT_FOUND if it has none, SIGNER_ERR_KEYS if the token cannot be opened, the files
 * are unreadable, a key or a certificate is there without the other, or the key does not match
 * the certificate. On success *out is the caller's:
 * signer_ca_free() it. The CA keeps a copy of keys_dir for the credentials it stores.
 */
signer_err signer_ca_open(const char *keys_dir, signer_ca **out);
void signer_ca_free(signer_ca *ca);

/* The CA's (the root's) certificate, DER, into der (der_bytes_max long); *der_bytes its length.
 * SIGNER_ERR_TOO_LARGE if it does not fit. */
signer_err signer_ca_certificate(const signer_ca *ca, uint8_t *der, size_t der_bytes_max, size_t *der_bytes);

/*
 * The CA's RFC 3161 time-stamping unit: its key in the CA's token (SIGNER_TSA_KEY_LABEL), or
 * keys_dir's SIGNER_TSA_KEY_FILE without a token, and keys_dir's SIGNER_TSA_CERT_FILE,
 * issued at now_s the first time (extendedKeyUsage critical, timeStamping only) by the
 * time-stamping CA (by the CA itself without a hierarchy), read and checked afterwards; with the
 * hierarchy, re-issued for the same key when it is not that CA's or has less than the renewal
 * margin left (signer_tsa_set_renew_margin). Credentials issued or read from ca afterwards can time-stamp their
 * signatures (signer_sign_options.timestamp: PAdES B-T). SIGNER_ERR_KEYS for a key and
 * certificate that do not match or a certificate the CA did not issue, SIGNER_ERR_EXPIRED.
 */
signer_err signer_tsa_enable(signer_ca *ca, const char *keys_dir, int64_t now_s);

/* The OCSP responder (RFC 6960): one key, SIGNER_OCSP_KEY_LABEL (or _FILE), and a certificate
 * (extendedKeyUsage critical OCSPSigning, id-pkix-ocsp-nocheck) from each issuing CA
 * (SIGNER_ISSUING_OCSP_FORMAT) and, where the root issued end entities, from the root
 * (SIGNER_OCSP_CERT_FILE), each issued the first time, read and checked afterwards, and with the
 * hierarchy re-issued for the same key within the renewal margin (signer_tsa_set_renew_margin)
 * when a new one would end later. Call after signer_hierarchy_enable. */
signer_err signer_ocsp_enable(signer_ca *ca, const char *keys_dir, int64_t now_s);

/* A successful OCSP response (DER), signed by the responder at now_s, that credential's
 * certificate (NULL: the TSA's) is good: what B-LT puts in the /DSS. *der is the caller's
 * (free()). SIGNER_ERR_KEYS without a responder (or a TSA, for NULL). */
struct signer_credential;
signer_err signer_ca_ocsp(const signer_ca *ca, const struct signer_credential *credential, int64_t now_s, uint8_t **der,
                          size_t *der_bytes);

/* The root's CRL at now_s (DER, v2, thisUpdate now_s, nextUpdate SIGNER_CRL_VALIDITY_DAYS later,
 * a CRL number, the authority key identifier): every revoked serial where the root issued end
 * entities itself (no hierarchy, or one made under a CA that did), none otherwise (no issuing CA
 * is revoked by the ledger). *der is the caller's (free()). SIGNER_ERR_CRYPTO. */
signer_err signer_ca_crl(const signer_ca *ca, int64_t now_s, uint8_t **der, size_t *der_bytes);

typedef enum {
	SIGNER_KIND_PERSON = 1, /* an advanced signature of a person */
	SIGNER_KIND_SEAL = 2,   /* a firm's seal */
} signer_kind;

/* Who a certificate is for. Strings are UTF-8, NUL-terminated, without control characters. */
typedef struct signer_subject {
	signer_kind kind;
	/* PERSON: the email (at most SIGNER_EMAIL_BYTES_MAX, printable ASCII with one '@');
	 * SEAL: the firm id (at most SIGNER_FIRM_ID_BYTES_MAX). Taken as given: normalise first. */
	const char *id;
	/* PERSON: the person's name; SEAL: the firm's name. 1..SIGNER_DN_CHARS_MAX characters. */
	const char *display_name;
	/* PERSON: the firm's name, or NULL/"" for none; SEAL: ignored (display_name is used). */
	const char *organisation;
	/* PERSON: the given name(s) and the surname (ETSI EN 319 412-2), both or neither (NULL or
	 * ""), each 1..SIGNER_DN_CHARS_MAX characters; SEAL: must be NULL or "". */
	const char *given_name;
	const char *surname;
	/* SEAL: the organizationIdentifier (ETSI EN 319 412-1: "NTRFR-" and the SIREN), or NULL/""
	 * to use id, as before firms had a SIREN; 1..SIGNER_DN_CHARS_MAX characters. PERSON: NULL/"". */
	const char *organization_identifier;
} signer_subject;

/*
 * A private key with its certificate and the CA certificate: what signer_pades_sign() needs.
 * The certificate's subject is, for a PERSON: C=FR, O=organisation (if any), SN=surname and
 * GN=given_name (if given), CN=display_name, emailAddress=id, with id as an rfc822Name
 * subjectAltName; for a SEAL: C=FR, O=display_name, organizationIdentifier (or id), CN=display_name.
 * Every name is a UTF8String. keyUsage is digitalSignature and nonRepudiation (critical).
 */
typedef struct signer_credential signer_credential;

/*
 * Issues a fresh credential: a new P-256 key and a certificate from the CA valid from
 * now_s - SIGNER_CERT_BACKDATE_S to now_s + validity_days (1..SIGNER_CERT_VALIDITY_DAYS_MAX),
 * or to the CA's own end if that comes first, stored as keys_dir/SIGNER_CREDENTIALS_DIR/<hex>.pem (0600: the key
 * then the certificate), where <hex> is the SHA-256 of the kind and id, so that paths name
 * nobody. An existing file is replaced atomically (rename). SIGNER_ERR_INVALID for a bad
 * subject or validity, SIGNER_ERR_EXPIRED if the CA is not valid at now_s, SIGNER_ERR_IO,
 * SIGNER_ERR_CRYPTO. On success *out is the caller's: signer_credential_free() it.
 */
signer_err signer_issue(signer_ca *ca, const signer_subject *subject, int64_t now_s, uint32_t validity_days,
                        signer_credential **out);

/*
 * Returns the stored credential of subject when it can be re-used: the key matches the
 * certificate, the certificate was issued by this CA, its subject is the one subject asks for
 * now (a changed name gets a new certificate), it is valid at now_s and for at least
 * SIGNER_CERT_RENEW_BEFORE_S more. Otherwise (none, damaged, stale) issues one as
 * signer_issue() does. *issued (may be NULL) tells which happened. Two threads asking at once
 * for the same subject may both issue: each gets a valid credential, the last one stays stored.
 */
signer_err signer_credential_get_or_issue(signer_ca *ca, const signer_subject *subject, int64_t now_s,
                                          uint32_t validity_days, signer_credential **out, bool *issued);
void signer_credential_free(signer_credential *credential);

/* Destroys the file signer_credential_get_or_issue() keeps for subject (overwritten with zeros,
 * synced, removed): a key in the clear that is no longer used. SIGNER_ERR_NOT_FOUND if there is
 * none, SIGNER_ERR_INVALID for a bad subject, SIGNER_ERR_IO. */
signer_err signer_credential_forget(signer_ca *ca, const signer_subject *subject);

/* The credential's certificate, DER (what the ledger records), as signer_ca_certificate(). */
signer_err signer_credential_certificate(const signer_credential *credential, uint8_t *der, size_t der_bytes_max,
                                         size_t *der_bytes);

/* The certificate's validity, seconds since the epoch. */
void signer_credential_validity(const signer_credential *credential, int64_t *not_before_s, int64_t *not_after_s);

/* ----- credentials kept by serial, and revocation (signer/ca.c, signer/revocation.c) ----- */

/* How many revoked certificates one CA keeps in memory (and its CRL lists). */
#define SIGNER_REVOKED_MAX 100000u

/*
 * Issues a credential as signer_issue() does, but kept under its certificate's serial:
 * keys_dir/SIGNER_CREDENTIALS_DIR/<SERIAL>.pem (0600), created exclusively, never replaced; when
 * keys_dir names a token, the key is generated there (label "cred-" and 32 random hex digits)
 * and the file holds that label and the certificate only (signer/kept_key.h). This
 * is the credential the ledger records (registration, seal, one-shot): it is found again by
 * signer_credential_open() and ends with signer_credential_destroy(). Errors as signer_issue().
 */
signer_err signer_issue_kept(signer_ca *ca, const signer_subject *subject, int64_t now_s, uint32_t validity_days,
                             signer_credential **out);

/*
 * The credential kept under serial (upper- or lower-case hex). SIGNER_ERR_INVALID for a serial
 * that is not hex, SIGNER_ERR_NOT_FOUND if there is none (destroyed, or never issued here),
 * SIGNER_ERR_KEYS if its key does not match its certificate or the CA did not issue it,
 * SIGNER_ERR_REVOKED if the CA has it revoked (signer_ca_revoke), SIGNER_ERR_EXPIRED if it is not
 * valid at now_s. Never issues. *out is the caller's.
 */
signer_err signer_credential_open(signer_ca *ca, const char *serial, int64_t now_s, signer_credential **out);

/*
 * Destroys the key kept under serial: its token objects (private, then public), then its file,
 * overwritten with zeros, synced and removed. A credential already open keeps a software key's
 * copy until freed; a token key's signs nothing afterwards (SIGNER_ERR_CRYPTO when signing).
 * SIGNER_ERR_INVALID, SIGNER_ERR_NOT_FOUND, SIGNER_ERR_IO, SIGNER_ERR_CRYPTO, SIGNER_ERR_KEYS (a
 * file naming a token key in a keys directory that names no token).
 */
signer_err signer_credential_destroy(signer_ca *ca, const char *serial);

/* Calls visit for the serial of every credential kept under its serial (signer_issue_kept), in
 * no particular order, until it returns false. SIGNER_ERR_IO if the directory cannot be read (a
 * keys directory without credentials has none: SIGNER_OK). */
signer_err signer_kept_each(signer_ca *ca, bool (*visit)(void *ctx, const char *serial), void *ctx);

/* Where the key kept under serial lives, as the ledger's KeyCreated/KeyDestroyed name it:
 * "token:<label>" in the CA's token, "file:<SERIAL>" a PEM file (keys_dir/signers/<SERIAL>.pem).
 * On an error (SIGNER_ERR_INVALID, SIGNER_ERR_NOT_FOUND: no file, SIGNER_ERR_IO, SIGNER_ERR_KEYS)
 * out still holds "file:<SERIAL>" for a hex serial. */
signer_err signer_kept_key_id(signer_ca *ca, const char *serial, char out[SIGNER_KEY_ID_BYTES]);

/* The credential's certificate serial, upper-case hex. */
void signer_credential_serial(const signer_credential *credential, char out[SIGNER_SERIAL_HEX_BYTES]);

/* RFC 5280 5.3.1 CRLReason codes that a revocation may give (7 is not used by RFC 5280). */
typedef enum {
	SIGNER_REVOKE_UNSPECIFIED = 0,
	SIGNER_REVOKE_KEY_COMPROMISE = 1,
	SIGNER_REVOKE_AFFILIATION_CHANGED = 3,
	SIGNER_REVOKE_SUPERSEDED = 4,
	SIGNER_REVOKE_CESSATION_OF_OPERATION = 5,
	SIGNER_REVOKE_CERTIFICATE_HOLD = 6,
	SIGNER_REVOKE_PRIVILEGE_WITHDRAWN = 9,
} signer_revoke_reason;

/* The reason's RFC 5280 name ("keyCompromise"), or NULL for a code not in the enum. */
const char *signer_revoke_reason_name(int reason);
/* The code of an RFC 5280 name, or -1. */
int signer_revoke_reason_parse(const char *name);

/*
 * Marks serial revoked at time_s for reason: from now on the CA's CRL lists it, its OCSP
 * responder answers "revoked", signer_credential_open() and signer_pades_sign_at_level() refuse
 * it. Revoking a serial again changes nothing (the first time and reason stay). The set is
 * not stored by the signer: the caller (ledgerd, from its log) gives it again after each open.
 * Safe to call while other threads sign. SIGNER_ERR_INVALID for a bad serial or reason,
 * SIGNER_ERR_TOO_LARGE past SIGNER_REVOKED_MAX, SIGNER_ERR_NOMEM.
 */
signer_err signer_ca_revoke(signer_ca *ca, const char *serial, int64_t time_s, int reason);

/* Whether the CA has serial revoked. */
bool signer_ca_is_revoked(const signer_ca *ca, const char *serial);

/* ----- the PKI served online: what issued certificates point to (signer/profile.c) and the
 * OCSP responder answering requests (signer/ocsp_responder.c); docs/signer.md#pki ----- */

/* The base URL of the CA's HTTP endpoint (ledgerd init --pki-url): http://HOST[:PORT][/PATH]. */
#define SIGNER_PKI_URL_BYTES_MAX 200u
/* This CA's certificate policy (an OID under 2.25, from a UUID: no registry), and the ETSI EN 319
 * 411-1 policy it follows: NCP, the normalized certificate policy (docs/signer.md#pki). */
#define SIGNER_POLICY_OID   "2.25.52427988936121441470245907161855456535"
#define SIGNER_ETSI_NCP_OID "0.4.0.2042.1.1"
/* An OCSP request the responder reads (RFC 6960: a few CertIDs, an optional signature). */
#define SIGNER_OCSP_REQUEST_BYTES_MAX (16u * 1024u)
#define SIGNER_OCSP_REQUEST_CERTS_MAX 16u
/* An online answer's nextUpdate: how long a relying party may cache it. */
#define SIGNER_OCSP_RESPONSE_VALIDITY_S 3600

/*
 * Checks url as a PKI base URL: http:// (RFC 5280 4.2.2.1 and RFC 6960: the revocation data is
 * signed, and https would need revocation checking of its own), a host of letters, digits, dots
 * and hyphens, an optional port 1..65535 and an optional path of [A-Za-z0-9._~/-] not ending in
 * '/', at most SIGNER_PKI_URL_BYTES_MAX bytes. SIGNER_ERR_INVALID naming the rule broken.
 */
signer_err signer_pki_url_check(const char *url);

/*
 * From now on the certificates ca issues (credentials, and the TSA's and OCSP responder's when
 * first issued) point to url: authorityInfoAccess (OCSP url/ocsp, caIssuers url/ca.crt) and
 * cRLDistributionPoints (url/crl), except the OCSP responder's (id-pkix-ocsp-nocheck, no AIA);
 * credentials also carry certificatePolicies SIGNER_POLICY_OID and SIGNER_ETSI_NCP_OID. Call it
 * once, before threads use ca. SIGNER_ERR_INVALID as signer_pki_url_check().
 */
signer_err signer_ca_set_pki_url(signer_ca *ca, const char *url);

/* What one OCSP request was answered (for logs and tests). */
typedef struct signer_ocsp_answer {
	bool malformed; /* answered malformedRequest */
	uint32_t good, revoked, unknown;
} signer_ocsp_answer;

/*
 * Answers a DER OCSPRequest (RFC 6960) as the CA's responder at now_s: for each CertID, "good"
 * if its issuer is this CA (name and key hashes, in whichever hash the request uses) and the
 * serial is not revoked, "revoked" with the time and reason of signer_ca_revoke, "unknown" for
 * another issuer or a hash algorithm OpenSSL does not know; the request's nonce is echoed;
 * thisUpdate now_s, nextUpdate SIGNER_OCSP_RESPONSE_VALIDITY_S later; signed by the responder
 * (signer_ocsp_enable) with its certificate attached. A request that does not parse (or has
 * trailing bytes), is over SIGNER_OCSP_REQUEST_BYTES_MAX or asks for no or more than
 * SIGNER_OCSP_REQUEST_CERTS_MAX certificates gets a malformedRequest response: that is an
 * answer too (SIGNER_OK). *der is the caller's (free()); answer may be NULL.
 * SIGNER_ERR_INVALID (NULL), SIGNER_ERR_KEYS (no responder), SIGNER_ERR_CRYPTO, SIGNER_ERR_NOMEM.
 * Safe to call from any thread while others sign or revoke.
 */
signer_err signer_ocsp_respond(const signer_ca *ca, const uint8_t *request, size_t request_bytes, int64_t now_s,
                               uint8_t **der, size_t *der_bytes, signer_ocsp_answer *answer);

/* How many certificates ca has revoked: a CRL made since with as many is still current. */
size_t signer_ca_revoked_count(const signer_ca *ca);

/* ----- an external time-stamping authority (signer/tsa_remote.c) ----- */

/* Limits of one exchange with an external TSA. */
#define SIGNER_TSA_REPLY_BYTES_MAX (64u * 1024u) /* a TimeStampResp: a token and a few certificates */
#define SIGNER_TSA_TIMEOUT_MS_MAX  60000u
#define SIGNER_TSA_TOLERANCE_S_MAX 3600u

typedef struct signer_tsa_remote signer_tsa_remote;

/*
 * An RFC 3161 time-stamping authority reached over HTTP(S) at url (POST
 * application/timestamp-query, RFC 3161 section 3.4, through libcurl), whose tokens must chain
 * to the certificates of the PEM file anchors (the authority's CA), be within tolerance_s of the
 * service's clock (1..SIGNER_TSA_TOLERANCE_S_MAX), and come within timeout_ms
 * (1..SIGNER_TSA_TIMEOUT_MS_MAX). Nothing is sent until a signature needs a token. Call it
 * before threads start (it initialises libcurl). SIGNER_ERR_INVALID for a bad url or limit,
 * SIGNER_ERR_KEYS for an anchors file without a certificate.
 */
signer_err signer_tsa_remote_new(const char *url, const char *anchors, uint32_t tolerance_s, uint32_t timeout_ms,
                                 signer_tsa_remote **out);
void signer_tsa_remote_free(signer_tsa_remote *tsa);

/*
 * From now on credential's time-stamps (B-T, B-LTA) come from tsa (NULL: the CA's own unit
 * again), which must outlive the credential. A /DSS then holds tsa's anchors, and no OCSP
 * response for the authority's certificate (its revocation data is the authority's to give).
 */
void signer_credential_use_tsa(signer_credential *credential, const signer_tsa_remote *tsa);

/* The external authority's revocation data (signer/tsa_revocation.c): the CRLs that the HTTP
 * CRL distribution points of its anchors' certificates name, at most SIGNER_TSA_CRLS_MAX, each
 * at most SIGNER_TSA_CRL_BYTES_MAX, fetched within the authority's timeout. */
#define SIGNER_TSA_CRLS_MAX      4u
#define SIGNER_TSA_CRL_BYTES_MAX (1024u * 1024u)

typedef struct signer_tsa_crls {
	uint8_t *der[SIGNER_TSA_CRLS_MAX]; /* malloc'd, DER */
	size_t der_bytes[SIGNER_TSA_CRLS_MAX];
	size_t count;
} signer_tsa_crls;

/*
 * Fetches now (libcurl: http only, no redirects, tsa's timeout, SIGNER_TSA_CRL_BYTES_MAX) the
 * CRLs named by the http:// CRL distribution points of tsa's anchors, and keeps those that are
 * CRLs (DER or PEM) signed by the anchor they name as issuer. SIGNER_OK with out->count >= 1;
 * SIGNER_ERR_NOT_FOUND when no anchor names an http distribution point; SIGNER_ERR_TSA when none
 * could be fetched or none verifies (signer_last_error() names the first failure). *out is the
 * caller's (signer_tsa_crls_free), also on an error.
 */
signer_err signer_tsa_remote_crls(const signer_tsa_remote *tsa, signer_tsa_crls *out);
void signer_tsa_crls_free(signer_tsa_crls *crls);

/* ----- signing (signer/pades.c) ----- */

typedef struct signer_sign_options {
	int64_t signing_time_s; /* the claimed signing time: /M and the appearance; 0..year 9999 */
	const char *reason;     /* /Reason, e.g. "Approbation des comptes"; NULL or "" for none */
	const char *location;   /* /Location; NULL or "" for none */
	const char *contact;    /* /ContactInfo; NULL or "" for none */
	const char *name;       /* /Name; NULL or "": the certificate's common name */
	int32_t utc_offset_s;   /* the visible stamp shows the time at this offset (Paris: 3600 or 7200) */
	bool timestamp;         /* PAdES B-T: a signature time-stamp by the CA's TSA (signer_tsa_enable) */
	/* PAdES B-LT: with a CRL of the CA (signer_ca_crl), the catalog's /DSS receives the signer's,
	 * the TSA's and the CA's certificates and that CRL, in a second incremental update. */
	const uint8_t *crl_der;
	size_t crl_der_bytes;
	/* and, with the hierarchy, the CRL of the signer's issuing CA (signer_issuing_crl), or NULL */
	const uint8_t *issuer_crl_der;
	size_t issuer_crl_der_bytes;
	/* and OCSP responses (signer_ca_ocsp: the signer's certificate, the TSA's) in its /OCSPs */
	const uint8_t *const *ocsp_der;
	const size_t *ocsp_der_bytes;
	size_t ocsp_count;
	/* and an external authority's CRLs (signer_tsa_remote_crls), for its time-stamps' chain */
	const signer_tsa_crls *tsa_crls;
	/* PAdES B-LTA: then a document time-stamp (/DocTimeStamp, ETSI.RFC3161) by the CA's TSA at
	 * signing_time_s over the whole file, in a third incremental update. */
	bool document_timestamp;
	const signer_rect *visible; /* where the signature shows; NULL: an invisible signature */
	size_t pdf_bytes_max;       /* the input's limit; 0: SIGNER_PDF_BYTES_MAX */
} signer_sign_options;

/*
 * Signs pdf with credential and returns the signed document in *out (*out_bytes long): the
 * input bytes unchanged followed by an incremental update holding a new signature field (named
 * "Signature<n>") whose value is a PAdES baseline B-B signature: /Filter /Adobe.PPKLite,
 * /SubFilter /ETSI.CAdES.detached, /M the signing time, /Contents a DER CMS SignedData
 * (detached, SHA-256, ECDSA) over the /ByteRange with the signed attributes contentType,
 * messageDigest and ESS signing-certificate-v2 and no signingTime, carrying the signer's and
 * the CA's certificates. A visible signature shows the name, reason, location and time (UTC)
 * in o->visible; otherwise the widget has an empty /Rect on the first page.
 *
 * Errors, in the order they are checked: SIGNER_ERR_INVALID for a NULL argument or bad options
 * (a text over SIGNER_TEXT_BYTES_MAX, not UTF-8 or with a control character, a time out of
 * range); SIGNER_ERR_EXPIRED if the certificate is not valid at o->signing_time_s; then the
 * input as signer_pdf_inspect() checks it (same errors, with o->pdf_bytes_max); the rectangle as
 * signer_rect_check(); then SIGNER_ERR_CRYPTO, SIGNER_ERR_PDF_WRITE, or SIGNER_ERR_TOO_LARGE if
 * the updates would pass SIGNER_SIGNATURE_GROWTH_BYTES_MAX.
 * Signing an already signed document keeps its signatures valid (they cover a prefix).
 *
 * *out is allocated with malloc() and belongs to the caller, who free()s it; on an error *out
 * is NULL and *out_bytes 0. Not byte-deterministic (see the top of this file).
 */
signer_err signer_pades_sign(const uint8_t *pdf, size_t pdf_bytes, const signer_credential *credential,
                             const signer_sign_options *o, uint8_t **out, size_t *out_bytes);

/* The PAdES baseline levels (ETSI EN 319 142-1), each adding to the one before. */
typedef enum {
	SIGNER_LEVEL_B_B = 1,   /* the CAdES signature */
	SIGNER_LEVEL_B_T = 2,   /* and a signature time-stamp by the CA's TSA */
	SIGNER_LEVEL_B_LT = 3,  /* and a /DSS: the certificates, the CA's CRL and OCSP responses */
	SIGNER_LEVEL_B_LTA = 4, /* and a document time-stamp over the whole file */
} signer_level;

/*
 * signer_pades_sign() at level (signer/level.c): o gives the texts, the appearance and the
 * signing time; the time-stamps, the CRL and the OCSP responses (all at o->signing_time_s, from
 * ca, which must have its TSA and, from B-LT, its OCSP responder enabled) are set from level,
 * whatever o says of them. Errors as signer_pades_sign(), and those of signer_ca_crl() and
 * signer_ca_ocsp(); SIGNER_ERR_INVALID for a level out of range.
 */
signer_err signer_pades_sign_at_level(const signer_ca *ca, const signer_credential *credential, signer_level level,
                                      const uint8_t *pdf, size_t pdf_bytes, const signer_sign_options *o, uint8_t **out,
                                      size_t *out_bytes);

/* ----- archive renewal (signer/archive.c, docs/signer.md#archive-renewal) ----- */

/* A document time-stamp, as read from a document. */
typedef struct signer_timestamp_facts {
	int64_t time_s;          /* the token's genTime */
	char tsa_serial[80];     /* the serial of the certificate that signed it, upper-case hex */
	int64_t tsa_not_after_s; /* that certificate's notAfter: renew before it */
} signer_timestamp_facts;

/*
 * The last document time-stamp of pdf (the one whose byte range ends last). pdf is checked as
 * signer_pdf_inspect() checks it (same errors, with pdf_bytes_max); then SIGNER_ERR_NO_TIMESTAMP
 * if it has none, SIGNER_ERR_CRYPTO if its /Contents is not a time-stamp token carrying the
 * certificate that signed it.
 */
signer_err signer_pdf_last_timestamp(const uint8_t *pdf, size_t pdf_bytes, size_t pdf_bytes_max,
                                     signer_timestamp_facts *out);

/*
 * PAdES B-LTA renewal (ETSI EN 319 142-1 5.5): appends to pdf, which must have a document
 * time-stamp, a /DSS update with fresh validation data for the last document time-stamp's
 * chain (the TSA's and the CA's certificates; with the CA's own unit, the CA's CRL and the
 * responder's answer for the TSA's certificate, at time_s) and its /VRI entry, then a new
 * document time-stamp over the whole, by ca's time-stamping unit or, tsa not NULL, the external
 * authority. Every earlier signature and time-stamp keeps covering what it covered. *out is the
 * caller's (free()); *renewed (may be NULL) describes the new time-stamp. Errors: those of
 * signer_pdf_last_timestamp(), SIGNER_ERR_KEYS (ca without a TSA or responder), those of the
 * authority (SIGNER_ERR_TSA, SIGNER_ERR_CLOCK), SIGNER_ERR_PDF_WRITE, SIGNER_ERR_TOO_LARGE.
 */
signer_err signer_pades_renew_timestamp(const signer_ca *ca, const signer_tsa_remote *tsa, const uint8_t *pdf,
                                        size_t pdf_bytes, size_t pdf_bytes_max, int64_t time_s, uint8_t **out,
                                        size_t *out_bytes, signer_timestamp_facts *renewed);

/* ----- documents the platform writes (signer/layout.c) ----- */

/*
 * Lays html (UTF-8, with css: NULL for none) out on A4 pages with mupdf's story engine and
 * writes them as a PDF (fonts embedded) into *pdf (the caller's, free()). SIGNER_ERR_INVALID,
 * SIGNER_ERR_TOO_LARGE past 500 pages or SIGNER_MUPDF_BYTES_MAX, SIGNER_ERR_PDF_WRITE.
 */
signer_err signer_pdf_from_html(const char *html, const char *css, uint8_t **pdf, size_t *pdf_bytes);

/*
 * The text of every page of pdf, as mupdf extracts it (UTF-8, lines as laid out), into *text
 * (NUL-terminated, the caller's, free()). The input is checked as signer_pdf_inspect() does
 * (same errors).
 */
signer_err signer_pdf_text(const uint8_t *pdf, size_t pdf_bytes, char **text, size_t *text_bytes);

/* ----- verifying (signer/verify.c) ----- */

typedef struct signer_verified {
	uint32_t signatures;           /* CAdES signatures that verify over their byte ranges */
	uint32_t signature_timestamps; /* of those, signature time-stamps that verify (B-T) */
	uint32_t timestamps;           /* document time-stamps that verify (B-LTA) */
	uint8_t last_signer_certificate[SIGNER_CERT_DER_BYTES_MAX]; /* DER, of the last signature */
	size_t last_signer_certificate_bytes;
} signer_verified;

/*
 * Verifies every signature field of pdf: a CAdES signature (and its time-stamp) or a document
 * time-stamp, each over exactly its byte range, chaining to the CA certificate ca_der (DER),
 * certificates' validity periods not checked against now (the time-stamps date them).
 * SIGNER_ERR_CRYPTO naming the first that does not verify; SIGNER_ERR_CORRUPT for a PDF mupdf
 * cannot read; SIGNER_ERR_KEYS for an unusable CA certificate.
 */
signer_err signer_pdf_verify(const uint8_t *pdf, size_t pdf_bytes, const uint8_t *ca_der, size_t ca_der_bytes,
                             signer_verified *out);

#endif

/*
 * keystore.c: the files of a keys directory. A file is written whole under a temporary name
 * in its final directory, synced, then put in place in one step: link() when it must not
 * replace anything (the CA, created once), rename() when it replaces an older version (a
 * signer's credential). A reader therefore never sees half a key, and a crash leaves at worst
 * a stray temporary file.
 */
#include "keystore.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

signer_err keystore_path(char *path, size_t path_bytes, const char *dir, const char *name)
{
	int n = snprintf(path, path_bytes, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= path_bytes)
		return signer_fail(SIGNER_ERR_INVALID, "path too long: %s/%s", dir, name);
	return SIGNER_OK;
}

signer_err keystore_mkdir(const char *dir)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return signer_fail(SIGNER_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
	return SIGNER_OK;
}

/* Writes data into a new temporary file of dir, synced; its name into tmp. */
static signer_err write_temporary(const char *dir, const void *data, size_t bytes, mode_t mode, char *tmp,
                                  size_t tmp_bytes)
{
	signer_err err = keystore_path(tmp, tmp_bytes, dir, ".tmp-XXXXXX");
	if (err)
		return err;
	int fd = mkostemp(tmp, O_CLOEXEC); /* 0600 */
	if (fd < 0)
		return signer_fail(SIGNER_ERR_IO, "cannot create a file in %s: %s", dir, strerror(errno));
	const uint8_t *p = data;
	size_t done = 0;
	while (done < bytes) {
		ssize_t n = write(fd, p + done, bytes - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	bool ok = done == bytes && fchmod(fd, mode) == 0 && fsync(fd) == 0;
	int saved = errno;
	ok = close(fd) == 0 && ok;
	if (!ok) {
		unlink(tmp);
		return signer_fail(SIGNER_ERR_IO, "cannot write %s: %s", tmp, strerror(saved));
	}
	return SIGNER_OK;
}

/* Makes a rename or link in dir durable. */
static signer_err sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return signer_fail(SIGNER_ERR_IO, "cannot open %s: %s", dir, strerror(errno));
	bool ok = fsync(fd) == 0;
	int saved = errno;
	close(fd);
	return ok ? SIGNER_OK : signer_fail(SIGNER_ERR_IO, "cannot sync %s: %s", dir, strerror(saved));
}

signer_err keystore_write(const char *dir, const char *name, const void *data, size_t bytes, mode_t mode, bool replace)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	signer_err err = keystore_path(path, sizeof path, dir, name);
	if (!err)
		err = write_temporary(dir, data, bytes, mode, tmp, sizeof tmp);
	if (err)
		return err;
	int rc = replace ? rename(tmp, path) : link(tmp, path);
	int saved = errno;
	if (!replace || rc != 0)
		unlink(tmp);
	if (rc != 0 && saved == EEXIST)
		return signer_fail(SIGNER_ERR_EXISTS, "%s exists already: it is never overwritten", path);
	if (rc != 0)
		return signer_fail(SIGNER_ERR_IO, "cannot create %s: %s", path, strerror(saved));
	return sync_dir(dir);
}

signer_err keystore_read(const char *dir, const char *name, uint8_t *data, size_t bytes_max, size_t *bytes)
{
	char path[PATH_MAX];
	signer_err err = keystore_path(path, sizeof path, dir, name);
	if (err)
		return err;
	*bytes = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return signer_fail(SIGNER_ERR_NOT_FOUND, "%s does not exist", path);
	if (fd < 0)
		return signer_fail(SIGNER_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	size_t done = 0;
	int saved = 0;
	bool too_large = false;
	for (;;) {
		char extra;
		ssize_t n = done < bytes_max ? read(fd, data + done, bytes_max - done) : read(fd, &extra, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			saved = errno;
		if (n > 0 && done == bytes_max)
			too_large = true;
		if (n <= 0 || too_large)
			break;
		done += (size_t)n;
	}
	close(fd);
	if (saved)
		return signer_fail(SIGNER_ERR_IO, "cannot read %s: %s", path, strerror(saved));
	if (too_large)
		return signer_fail(SIGNER_ERR_KEYS, "%s is larger than %zu bytes: not ours", path, bytes_max);
	*bytes = done;
	return SIGNER_OK;
}

/* Never asks for a passphrase: our keys have none, and a prompt would block a daemon. */
static int no_passphrase(char *buf, int size, int rwflag, void *user)
{
	(void)buf, (void)size, (void)rwflag, (void)user;
	return -1;
}

signer_err keystore_pem_parse(const uint8_t *pem, size_t bytes, EVP_PKEY **key, X509 **certificate)
{
	if (bytes > INT32_MAX)
		return signer_fail(SIGNER_ERR_KEYS, "PEM too large");
	BIO *bio = BIO_new_mem_buf(pem, (int)bytes);
	if (!bio)
		return signer_fail_openssl(SIGNER_ERR_NOMEM, "BIO_new_mem_buf");
	signer_err err = SIGNER_OK;
	if (key && !(*key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)))
		err = signer_fail_openssl(SIGNER_ERR_KEYS, "no private key in the PEM file");
	if (!err && certificate && !(*certificate = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)))
		err = signer_fail_openssl(SIGNER_ERR_KEYS, "no certificate in the PEM file");
	BIO_free(bio);
	if (err && key) {
		EVP_PKEY_free(*key);
		*key = NULL;
	}
	return err;
}

signer_err keystore_pem_write(const char *dir, const char *name, EVP_PKEY *key, X509 *certificate, mode_t mode,
                              bool replace)
{
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio)
		return signer_fail_openssl(SIGNER_ERR_NOMEM, "BIO_new");
	signer_err err = SIGNER_OK;
	if ((key && !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) ||
	    (certificate && !PEM_write_bio_X509(bio, certificate)))
		err = signer_fail_openssl(SIGNER_ERR_CRYPTO, "PEM encoding");
	char *data = NULL;
	long bytes = BIO_get_mem_data(bio, &data);
	if (!err && bytes > 0)
		err = keystore_write(dir, name, data, (size_t)bytes, mode, replace);
	if (data && bytes > 0)
		OPENSSL_cleanse(data, (size_t)bytes); /* the private key's PEM */
	BIO_free(bio);
	return err;
}

signer_err keystore_shred(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return signer_fail(SIGNER_ERR_NOT_FOUND, "%s does not exist", path);
	if (fd < 0)
		return signer_fail(SIGNER_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	struct stat st;
	static const uint8_t zeros[4096];
	bool ok = fstat(fd, &st) == 0 && st.st_size >= 0 && st.st_size <= (off_t)KEYSTORE_FILE_BYTES_MAX;
	for (off_t done = 0; ok && done < st.st_size;) {
		size_t n = (size_t)(st.st_size - done) < sizeof zeros ? (size_t)(st.st_size - done) : sizeof zeros;
		ssize_t w = write(fd, zeros, n);
		ok = w > 0;
		done += ok ? w : 0;
	}
	ok = ok && fsync(fd) == 0;
	int saved = errno;
	close(fd);
	if (!ok)
		return signer_fail(SIGNER_ERR_IO, "cannot overwrite %s: %s", path, strerror(saved));
	if (unlink(path) != 0)
		return signer_fail(SIGNER_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	return slash ? sync_dir(dir) : SIGNER_OK;
}

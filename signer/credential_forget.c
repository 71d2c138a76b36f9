/*
 * credential_forget.c: signer_credential_forget (signer.h), which destroys the file
 * signer_credential_get_or_issue() keeps for a subject: its key in the clear. ledgerd calls it
 * for the platform's seal that keys directories made before the seal was kept in the token
 * still hold (api/keys_on_record.c).
 */
#include "internal.h"
#include "keystore.h"

#include <limits.h>

signer_err signer_credential_forget(signer_ca *ca, const signer_subject *subject)
{
	if (!ca || !subject)
		return signer_fail(SIGNER_ERR_INVALID, "signer_credential_forget: NULL argument");
	char file[SIGNER_CREDENTIAL_FILE_BYTES], path[PATH_MAX];
	signer_err err = signer_subject_check(subject);
	if (!err)
		err = signer_credential_file(subject, file);
	if (!err)
		err = keystore_path(path, sizeof path, ca->credentials_dir, file);
	return err ? err : keystore_shred(path);
}

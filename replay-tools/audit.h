/* audit.h: what the files of ledger-audit share. Private to replay-tools/. */
#ifndef REPLAY_TOOLS_AUDIT_H
#define REPLAY_TOOLS_AUDIT_H

#include "ledger.h"
#include "projections.h"

#include <stdbool.h>
#include <stdint.h>

#define AUDIT_EXIT_BAD        1
#define AUDIT_EXIT_USAGE      2
#define AUDIT_EXIT_UNREADABLE 3

/* The payload's field name in events.proto ("document_signed", ...). */
const char *audit_event_kind(const Ledger__Events__Event *ev);

/* `prove`: exactly one of document (hex SHA-256), file (a path to hash) or seq (not 0). The
 * chain is verified from event 1 to the head first. Returns an exit status. */
int audit_prove(const char *dir, bool json, const char *document, const char *file, uint64_t seq);

/* `export`: the collections' events of firm (NULL: every firm) committed in [from_us, to_us],
 * as CSV into path (NULL: stdout). Returns an exit status. */
int audit_export(const char *dir, const char *firm, int64_t from_us, int64_t to_us, const char *path);

#endif

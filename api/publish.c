/*
 * publish.c: every record of a durable batch on the pub0 socket, topic per firm.
 */
#include "server_internal.h"

#include <stdio.h>
#include <string.h>

/* Publishes each record of a durable batch as topic || '\0' || stored record bytes, where
 * topic is "firm:<id>" or "platform", so a front-end subscribes to "firm:<id>\0". */
void server_publish(void *ctx, uint64_t first, uint64_t last)
{
	server *s = ctx;
	if (first == 0)
		return;
	MDB_txn *txn;
	if (ledger_read_begin(s->l, &txn) != LEDGER_OK)
		return;
	for (uint64_t seq = first; seq <= last; seq++) {
		ledger_record rec;
		if (ledger_get(s->l, txn, seq, &rec) != LEDGER_OK)
			break;
		Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
		char topic[PROJ_FIRM_ID_BYTES_MAX + 8];
		snprintf(topic, sizeof topic, "%s%s", ev && ev->firm_id[0] ? "firm:" : "platform",
		         ev ? ev->firm_id : "");
		if (ev)
			ledger__events__event__free_unpacked(ev, NULL);
		size_t topic_bytes = strlen(topic) + 1;
		size_t record_bytes = LEDGER_RECORD_HEADER_BYTES + rec.event_bytes;
		nng_msg *msg;
		if (nng_msg_alloc(&msg, topic_bytes + record_bytes) != 0)
			break;
		memcpy(nng_msg_body(msg), topic, topic_bytes);
		/* The record is contiguous in the page: header fields precede the event bytes. */
		memcpy((uint8_t *)nng_msg_body(msg) + topic_bytes, rec.event - LEDGER_RECORD_HEADER_BYTES,
		       record_bytes);
		if (nng_sendmsg(s->pub, msg, NNG_FLAG_NONBLOCK) != 0)
			nng_msg_free(msg);
	}
	ledger_read_end(s->l, txn);
	api_signing_wake(s->signing); /* a commit may owe a signature */
}

/*
 * security.c: refused commands as security events. The log records who tried what, where,
 * and why it was refused; the domain state does not change.
 */
#include "commands.h"

#include <string.h>

const char *proj_request_firm(const Ledger__Api__Request *req)
{
	switch (req->body_case) {
	case LEDGER__API__REQUEST__BODY_FIRM_ADD: return req->firm_add->firm_id;
	case LEDGER__API__REQUEST__BODY_DELEGATION_GRANT: return req->delegation_grant->firm_id;
	case LEDGER__API__REQUEST__BODY_DELEGATION_REVOKE: return req->delegation_revoke->firm_id;
	case LEDGER__API__REQUEST__BODY_DELEGATION_IMPORT: return req->delegation_import->firm_id;
	case LEDGER__API__REQUEST__BODY_DELEGATIONS_GIVEN: return req->delegations_given->firm_id;
	case LEDGER__API__REQUEST__BODY_CAN: return req->can->firm_id;
	default: return "";
	}
}

ledger_err proj_record_denial(proj *p, ledger_txn *t, const proj_actor *actor, const char *request_id,
                              const Ledger__Api__Request *req, const Ledger__Api__Error *error, uint32_t suppressed)
{
	const ProtobufCFieldDescriptor *field =
	    protobuf_c_message_descriptor_get_field(&ledger__api__request__descriptor, (unsigned)req->body_case);
	const ProtobufCEnumValue *code =
	    protobuf_c_enum_descriptor_get_value(&ledger__api__error_code__descriptor, (int)error->code);
	/* A firm id that failed validation is not filed under: it may be anything. */
	const char *firm = proj_request_firm(req);
	if (!proj_firm_id_valid(firm))
		firm = "";
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__AccessDenied d = LEDGER__EVENTS__ACCESS_DENIED__INIT;
	d.command = (char *)(field ? field->name : "unknown");
	d.code = (char *)(code ? code->name : "UNKNOWN");
	d.reason = error->message;
	d.suppressed = suppressed;
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_ACCESS_DENIED;
	ev.access_denied = &d;
	return proj_emit(p, t, actor->subject, request_id, firm, &ev, NULL, NULL);
}

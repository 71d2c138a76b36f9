/*
 * security.c: refused commands as security events. The log records who tried what, where,
 * and why it was refused; the domain state does not change.
 */
#include "commands.h"

#include <string.h>

/* The string field firm_id of m, or of its CollectionRef `ref`; NULL if it has neither. */
static const char *firm_of(const ProtobufCMessage *m)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "firm_id");
	if (f && f->type == PROTOBUF_C_TYPE_STRING && f->label != PROTOBUF_C_LABEL_REPEATED)
		return *(const char *const *)((const char *)m + f->offset);
	f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "ref");
	if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED) {
		const ProtobufCMessage *ref = *(const ProtobufCMessage *const *)((const char *)m + f->offset);
		return ref ? firm_of(ref) : NULL;
	}
	return NULL;
}

/*
 * The firm a request concerns: its body's firm_id, or its collection reference's. Found by the
 * field's name through protobuf-c's descriptors, so that every command (those of collections,
 * credits, preferences, alerts, and any added later) files its refusals under its firm, and
 * firm-filtered views and exports include them.
 */
const char *proj_request_firm(const Ledger__Api__Request *req)
{
	const ProtobufCFieldDescriptor *body =
	    protobuf_c_message_descriptor_get_field(&ledger__api__request__descriptor, (unsigned)req->body_case);
	if (!body || body->type != PROTOBUF_C_TYPE_MESSAGE)
		return "";
	const ProtobufCMessage *m = *(const ProtobufCMessage *const *)((const char *)req + body->offset);
	const char *firm = m ? firm_of(m) : NULL;
	return firm ? firm : "";
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
	Ledger__Events__AccessDenied d = LEDGER__EVENTS__ACCESS_DENIED__INIT;
	d.command = (char *)(field ? field->name : "unknown");
	d.code = (char *)(code ? code->name : "UNKNOWN");
	d.reason = error->message;
	d.suppressed = suppressed;
	Ledger__Events__Event ev = PROJ_EVENT(ACCESS_DENIED, access_denied, &d);
	return proj_emit(p, t, actor->subject, request_id, firm, &ev, NULL, NULL);
}

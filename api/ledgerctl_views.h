/*
 * ledgerctl_views.h: how ledgerctl shows the collection-side results that several commands
 * return (a collection, a list row, a delegation, an alert), for people and in JSON. The JSON
 * writers write one value (an object) where a value is expected; the human printers write
 * whole lines on stdout.
 */
#ifndef API_LEDGERCTL_VIEWS_H
#define API_LEDGERCTL_VIEWS_H

#include "ledgerctl_common.h"

/* key: the time us as ctl_time_iso writes it ("" for 0). */
void ctl_json_time(json_out *j, const char *key, int64_t us);

void ctl_json_collection(json_out *j, const Ledger__Api__CollectionView *v);
void ctl_print_collection(const Ledger__Api__CollectionView *v);

/* Lists: a header line, then one line per row. */
void ctl_json_summary(json_out *j, const Ledger__Api__CollectionSummary *s);
void ctl_print_summary_header(const char *indent);
void ctl_print_summary(const char *indent, const Ledger__Api__CollectionSummary *s);

void ctl_json_delegation(json_out *j, const Ledger__Api__DelegationRow *d);
void ctl_json_alert(json_out *j, const Ledger__Api__AlertView *v);
void ctl_print_alert(const char *indent, const Ledger__Api__AlertView *v);

#endif

# token.sh: what a data directory's embedded token holds, seen by OpenSC's pkcs11-tool, which
# shares no code with ledgerd (sourced by tests/integration/*_test.sh).

# token_labels DATA: the labels of the objects in DATA's token, one a line (a key pair: twice).
token_labels() {
	local keys=$1/keys
	SOFTHSM2_CONF=$keys/softhsm2.conf pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so \
		--token-label "$(sed -n 's/^token = //p' "$keys/pkcs11.conf")" --login --pin "$(cat "$keys/token.pin")" \
		--list-objects 2>/dev/null | sed -n 's/^ *label: *//p'
}

# token_count DATA LABEL: how many objects of DATA's token bear LABEL.
token_count() {
	token_labels "$1" | grep -cx "$2"
}

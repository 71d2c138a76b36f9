/* rights_guide.c: see rights_guide.h. */
#include "rights_guide.h"

const rights_guide_row rights_guide[RIGHTS_GUIDE_ROWS] = {
    {"platform.stats", "E"},
    {"platform.credit", "E"},
    {"platform.firm_settings", "E"},
    {"platform.dashboard", "xxxx"},
    {"platform.contacts_export", "xxxx"},
    {"platform.alerts", "xxxx"},
    {"signature.configure", "xxxx"},
    {"signature.modify", "xxxx"},
    {"signature.add_signers", "xxxx"},
    {"signature.remind", "xxxx"},
    {"signature.cancel", "xx.."},
    {"signature.send", "xx.."},
    {"signature.classify", "xxxx"},
    {"signature.sign", "x..."},
    {"seal.configure", "xxxx"},
    {"seal.modify", "xxxx"},
    {"seal.classify", "xxxx"},
    {"seal.seal", "x.x."},
    {"signature.request_approval", "xxxx"},
    {"signature.approve", "E"},
    {"signature.reject", "E"},
};

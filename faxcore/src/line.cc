#include <faxgw/faxcore/line.h>

namespace faxgw::faxcore {

Attempt attempt_of(const OutgoingCall& call, const PartyReport& party, double line_seconds) {
    Attempt a;
    a.number = call.attempt;
    a.started_at = call.started_at;
    a.first_page = call.first_page;
    a.pages_confirmed = party.pages_confirmed;
    a.line_seconds = line_seconds;
    a.bit_rate = party.bit_rate;
    a.ecm = party.ecm;
    a.compression = party.compression;
    a.remote_csid = party.remote_ident;
    a.t30_code = party.completion_code < 0 ? 0 : party.completion_code;
    a.t30_text = party.completion_text;
    return a;
}

}  // namespace faxgw::faxcore

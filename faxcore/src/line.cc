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

InboundFax inbound_fax_of(const PartyReport& receiver, std::string did, std::string caller,
                          double line_seconds, std::int64_t received_at,
                          std::filesystem::path tiff) {
    InboundFax fax;
    fax.did = std::move(did);
    fax.caller = std::move(caller);
    fax.remote_csid = receiver.remote_ident;
    fax.pages = receiver.pages_received;
    fax.complete = receiver.ended && receiver.completion_code == 0;
    fax.t30_text = receiver.completion_text;
    fax.line_seconds = line_seconds;
    fax.bit_rate = receiver.bit_rate;
    fax.received_at = received_at;
    fax.tiff = std::move(tiff);
    return fax;
}

}  // namespace faxgw::faxcore

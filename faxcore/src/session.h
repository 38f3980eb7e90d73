// A real T.30 fax call between two fax parties (t30.h) connected back to
// back, over 8 kHz audio or over T.38 IFP packets, driven by a sample clock
// (never by sleep()), as fast as the CPU allows unless paced. The simulated
// telephone network uses it both for calls to virtual remote fax machines
// and for calls into the gateway's own inbound side.
#pragma once

#include <faxgw/faxcore/t30.h>

#include <string>

namespace faxgw::faxcore {

struct CallLimits {
    double watchdog_seconds = 60;    // no T.30 progress this long (line time): hang up
    double max_call_seconds = 3600;  // no call lasts longer (line time)
    double speed = 0;                // 0 = as fast as possible; 1 = real time; 10 = 10x
    FaxParty::Medium medium = FaxParty::Medium::audio;
    ModemOptions sender_modem;  // the sender's rung of the retry ladder
};

struct CallReport {
    Outcome outcome = Outcome::protocol_error;
    int pages_confirmed = 0;  // pages of this call the receiver confirmed (MCF)
    int pages_received = 0;   // pages the receiver wrote
    double line_seconds = 0;
    int bit_rate = 0;
    bool ecm = false;
    std::string compression;
    std::string remote_csid;  // as the sender saw it
    std::string caller_tsi;   // as the receiver saw it
    int t30_code = 0;         // the sender's T.30 completion code
    std::string t30_text;
    bool receiver_complete = false;
    bool sent_narrow = false;  // the receiver offered no B4: the narrow copy went
    std::string detail;
    PartyReport sender, receiver;  // each party's own report, whole
};

CallReport run_back_to_back_call(const SendSpec& send, const ReceiveSpec& receive,
                                 const CallLimits& limits, const PageConfirmed& on_page);

}  // namespace faxgw::faxcore

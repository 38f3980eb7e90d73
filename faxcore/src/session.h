// A real T.30 fax call between two spandsp fax terminals connected back to
// back over 8 kHz audio, driven by a sample clock (never by sleep()), as fast
// as the CPU allows unless paced. The simulated telephone network uses it both
// for calls to virtual remote fax machines and for calls into the gateway's
// own inbound side.
#pragma once

#include <faxgw/faxcore.h>

#include <filesystem>
#include <functional>
#include <string>

namespace faxgw::faxcore {

struct SendSpec {
    std::filesystem::path tiff;
    int first_page = 1;  // 1-based, inclusive
    int last_page = 0;   // 1-based, inclusive; 0 = to the end
    std::string ident;   // our station ID (TSI), at most 20 characters
    // The same pages at most 1728 pixels wide (Submission::narrow_document):
    // sent instead of `tiff` when the receiver's DIS does not offer 255 mm
    // paper. Empty: `tiff` goes to every receiver.
    std::filesystem::path narrow_tiff = {};
};

struct ReceiveSpec {
    std::filesystem::path tiff;  // where the received pages are written
    std::string ident;           // the answering station's ID (CSID)
    int hangup_after_pages = 0;  // drop the call once this many pages are confirmed; 0 = never
    bool accepts_b4 = true;      // offers 255 mm (2048-pixel) pages besides 215 mm
};

struct CallLimits {
    double watchdog_seconds = 60;    // no T.30 progress this long (line time): hang up
    double max_call_seconds = 3600;  // no call lasts longer (line time)
    double speed = 0;                // 0 = as fast as possible; 1 = real time; 10 = 10x
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
};

// Called on the line's thread each time the far end confirms another page;
// the argument counts pages confirmed in this call.
using PageConfirmed = std::function<void(int pages_confirmed)>;

CallReport run_back_to_back_call(const SendSpec& send, const ReceiveSpec& receive,
                                 const CallLimits& limits, const PageConfirmed& on_page);

}  // namespace faxgw::faxcore

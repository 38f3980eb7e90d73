// The SIP line backend: faxgw's lines are calls over SIP trunks (or to a
// PBX such as Asterisk or FreeSWITCH that points at faxgw as a SIP peer).
// A call starts as G.711 audio (PCMU/PCMA over RTP) and switches to T.38
// (IFP over UDPTL with redundancy) when both ends agree by re-INVITE; the
// fax itself is a spandsp T.30 party (faxcore/t30.h) either way.
//
// Signalling is libre (Debian's libre-dev; baresip's stack): its sipsess
// handles INVITE/re-INVITE/BYE/CANCEL and digest authentication, sipreg
// REGISTER with refresh, its sdp module offer/answer, its rtp module RTP,
// all on its own event loop, one thread for every call. It was chosen over
// sofia-sip for that single-threaded loop (media timers and signalling in
// one place, no locks around call state) and a C API small enough to keep
// behind one file. UDPTL is written here: neither libre nor spandsp has it.
#pragma once

#include <faxgw/faxcore/caller_id.h>
#include <faxgw/faxcore/line.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace faxgw::sip {

struct Trunk {
    std::string name;                  // for logs, e.g. "carrier"
    std::string proxy;                 // "host:port" that INVITEs (and REGISTERs) go to
    std::string domain;                // host part of the Request-URI and To; empty = proxy's host
    std::string user;                  // digest user and From user; empty = the station's number
    std::string password;              // empty = answer no challenge
    bool register_with_proxy = false;  // REGISTER, refreshed before it expires
    int register_seconds = 600;
    // Dial strings (digits) this trunk takes, by prefix; empty = every number.
    std::vector<std::string> prefixes;
    // How signalling reaches the proxy: over UDP, or over TCP (one
    // connection that libre opens and keeps). Media is RTP/UDPTL either way.
    bool tcp = false;
    // T.38 on this trunk's calls (either end's re-INVITE); false keeps them
    // on G.711 (a carrier whose T.38 is known broken).
    bool t38 = true;
};

// How an incoming call is answered. By default the gateway takes calls to
// its DIDs and refuses other numbers with 404; the demo's far-end fax
// machines answer by number instead (busy, ringing out, hanging up).
struct Answer {
    int refuse = 0;              // SIP status to refuse the call with (486, 404...); 0 = take it
    bool ring_forever = false;   // 180 Ringing, never answered: the caller gives up
    int hangup_after_pages = 0;  // BYE once this many pages are received; 0 = never
    std::string csid;            // our CSID on this call; empty = station_id
    bool b4 = true;              // offer 255 mm (B4) paper
};
using AnswerPolicy = std::function<Answer(const std::string& number)>;

// The caller ID of outgoing calls per sender or domain goes into From (user
// and display name, the station ID when the rule names none) and
// P-Asserted-Identity; a job no rule matches calls as the trunk does
// (Settings::caller_id, else the trunk's user).
using faxcore::CallerIdRule;
using faxcore::SenderOf;

struct Settings {
    // Our SIP address, on UDP and TCP.
    std::string listen = "127.0.0.1:5060";
    // Address written into SDP for media; empty = listen's address. Behind
    // NAT, the public address; media sockets still bind to listen's address.
    std::string media_address;
    int media_port_min = 20000;  // RTP and UDPTL ports
    int media_port_max = 20999;
    std::vector<Trunk> trunks;  // tried in order: a 503 or timeout moves to the next
    bool t38 = true;            // accept a T.38 re-INVITE from the far end
    bool t38_request = false;   // re-INVITE to T.38 ourselves once the call is answered
    int t38_redundancy = 3;     // earlier IFPs carried in each UDPTL packet
    // G.711: received audio plays this long after its first frame, so that
    // the far end (or this gateway) may fall that far behind without a gap.
    int playout_delay_ms = 200;
    double ring_seconds = 60;  // unanswered this long: CANCEL, "no answer"
    // Re-INVITE with the current SDP this often during a call (a session
    // refresh, as session timers do); 0 = never. Either way the far end's
    // refreshes are answered without disturbing the fax.
    double session_refresh_seconds = 0;
    std::string caller_id;                 // From user of outgoing calls; empty = trunk user
    std::vector<CallerIdRule> caller_ids;  // per sender or domain; first match wins
    SenderOf sender_of;                    // for caller_ids; empty = no job has a sender
    std::string user_agent = "faxgw";
    AnswerPolicy answer;  // empty: the DIDs below

    // From the gateway's settings.
    int lines = 4;
    std::vector<std::string> dids;  // numbers we answer (Request-URI or To user)
    std::string station_id = "faxgw";
    double watchdog_seconds = 60;
    double max_call_seconds = 3600;
};

// Media figures summed over the calls a SIP backend has ended.
struct MediaTotals {
    long calls = 0;
    long late_ticks = 0;  // 20 ms ticks that ran more than a period late
    long rtp_lost = 0, rtp_late = 0;
    long audio_underruns = 0;    // audio slots played as silence: their frame was late
    long worst_lateness_ms = 0;  // the latest any tick ran
    long udptl_recovered = 0, udptl_lost = 0;
};
// Zero for a backend that is not SIP.
MediaTotals media_totals(const faxcore::LineBackend& lines);

// A port on 127.0.0.1 that was free for UDP and for TCP a moment ago (SIP
// listens on both): for the demo's and the tests' gateways. Throws
// std::runtime_error when none is found.
int free_loopback_sip_port();

// Binds `listen` and starts the SIP stack's thread; throws std::runtime_error
// when the address cannot be bound.
std::unique_ptr<faxcore::LineBackend> make_lines(const Settings& settings);

}  // namespace faxgw::sip

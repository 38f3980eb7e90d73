// The AudioSocket line backend: faxgw's lines are calls of an Asterisk PBX
// that carries their audio to faxgw over AudioSocket (8 kHz signed-linear
// frames on one TCP connection per call). faxgw is the AudioSocket server:
//
//  * Outbound, faxgw asks Asterisk for a call over AMI (Originate with
//    Application AudioSocket and a fresh lower-case UUID in Data); the
//    channel's AudioSocket connection is matched to the job by that UUID.
//    OriginateResponse's Reason says how a call that never connected ended
//    (busy, no answer, congestion...), whether it comes before or after
//    the connection.
//  * Inbound, AudioSocket carries no called number: either each DID has a
//    listener of its own, or the dialplan tells faxgw the DID of a UUID
//    with a UserEvent over AMI before it runs AudioSocket() (conf/asterisk/).
//
// The fax itself is a spandsp T.30 party (faxcore/t30.h) fed 160 samples at
// a time. Asterisk paces nothing it is sent, so faxgw answers each 20 ms
// frame it receives with one frame of its own: its clock is the far end's.
// Every call and the AMI session run on one Boost.Asio event loop thread.
#pragma once

#include <faxgw/faxcore/caller_id.h>
#include <faxgw/faxcore/line.h>

#include <memory>
#include <string>
#include <vector>

namespace faxgw::audiosocket {

// The Asterisk Manager Interface session outbound calls are asked for on.
struct Ami {
    std::string host = "127.0.0.1";
    int port = 5038;
    std::string user = "faxgw";
    std::string secret;
    // Originate's Channel; "{dial}" becomes the number's dial string
    // (digits), e.g. "PJSIP/{dial}@trunk" or "Local/{dial}@fax-out".
    std::string channel = "PJSIP/{dial}@trunk";
    double ring_seconds = 60;  // Originate's Timeout: how long the channel may ring
    std::string caller_id;     // Originate's CallerID; empty = Asterisk's default
    // Per sender or domain, first match wins: CallerID "name" <number>
    // (name: the station ID when the rule names none); no match: caller_id.
    std::vector<faxcore::CallerIdRule> caller_ids;
    faxcore::SenderOf sender_of;  // for caller_ids; empty = no job has a sender
    // The UserEvent a dialplan sends to tell the DID (and caller) of a UUID.
    std::string did_event = "FaxgwCall";
};

// A listener whose every call is for one DID.
struct DidListener {
    std::string listen;  // "IP:port"
    std::string did;     // E.164
};

struct Settings {
    std::string listen = "127.0.0.1:9092";  // outbound calls and UUIDs mapped over AMI
    // Where Asterisk reaches `listen`, as written into Originate's Data;
    // empty = listen itself (a wildcard address needs this set).
    std::string address;
    std::vector<DidListener> listeners;
    Ami ami;

    // From the gateway's settings.
    int lines = 4;
    std::vector<std::string> dids;  // the first is where unmapped calls on `listen` go
    std::string station_id = "faxgw";
    double watchdog_seconds = 60;
    double max_call_seconds = 3600;
};

// Binds every listener and starts the event loop's thread (which logs in
// to AMI and keeps that session up); throws std::runtime_error when an
// address cannot be bound.
std::unique_ptr<faxcore::LineBackend> make_lines(const Settings& settings);

}  // namespace faxgw::audiosocket

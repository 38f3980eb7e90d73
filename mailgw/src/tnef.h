// Outlook's winmail.dat: an application/ms-tnef part (Transport Neutral
// Encapsulation Format, [MS-OXTNEF]) that carries the attachments of a mail
// sent from Outlook in "Rich Text" format. Read with libytnef.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "faxgw/render.h"

namespace faxgw::mailgw {

struct TnefAttachment {
    std::string filename;  // the long file name, UTF-8; the short one without it
    std::string type;      // the MIME tag Outlook stored, lower case; "" if none
    std::string content;   // the file's bytes; empty for embedded messages and OLE objects
};

class TnefError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

bool is_tnef_type(std::string_view type);  // application/ms-tnef, application/vnd.ms-tnef

// The attachments in a TNEF stream, in their order. The message body in it
// (RTF) is not returned: Outlook sends the text beside winmail.dat too.
// libytnef runs in render's isolated child (render::run_isolated_bytes:
// its messages to stdout would end up in the MTA's bounce text, a damaged
// stream must not crash the caller, and it sees no file of the gateway).
// Throws TnefError when the bytes are not a readable TNEF stream (also when
// the reader crashes or runs out of memory or processor time on them), and
// render::ResourceError when the gateway could not read them (the reader
// took longer than its wall-clock limit, could not be started).
std::vector<TnefAttachment> tnef_attachments(std::string_view bytes);

// The limits of that child, whatever the stream does: wall-clock and
// processor time no longer than a renderer's by default, and memory.
render::Options tnef_child_limits();

}  // namespace faxgw::mailgw

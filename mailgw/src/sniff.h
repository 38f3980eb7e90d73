// What a part's bytes really are, whatever its Content-Type says. Mail
// clients, scanners and scripts label PDFs application/octet-stream, leave
// the type out (which means text/plain) or call them text/plain outright;
// mailgw must know the real type to tell a text body from an attachment
// and to name it in refusals.
#pragma once

#include <string>
#include <string_view>

namespace faxgw::mailgw {

// The MIME type libmagic reads from the bytes ("application/pdf",
// "image/jpeg", "application/zip", ...), "application/octet-stream" for
// data it does not know, "" when libmagic cannot be used.
std::string sniff_type(std::string_view bytes);

// Whether bytes are text (libmagic's encoding is not "binary").
bool sniff_is_text(std::string_view bytes);

// The type to use for a part: `declared` is the sender's (lower case, no
// parameters; "" when there was no Content-Type). The sniffed type wins
//   - when the declared type says nothing (application/octet-stream and the
//     like, or missing) and libmagic knows better;
//   - when a text/* part is really binary (a PDF, a picture, anything that
//     is not text): it must not be laid out as text;
//   - when the bytes are a PDF, PostScript or a picture (what a fax can
//     show) and the declared type says something else.
// Otherwise the declared type stands, so a refusal names what the sender
// wrote (a .docx stays application/vnd.openxmlformats-...). A text/* part
// that is plain UTF-8 text without a '%' (a PDF's or PostScript's header)
// in its first kilobyte is taken as declared without asking libmagic.
std::string real_type(std::string_view declared, std::string_view bytes);

// A declared type that tells nothing about the content.
bool is_generic_type(std::string_view type);

}  // namespace faxgw::mailgw

// Private pieces of the notification writer, for tests.
#pragma once

#include <faxgw/faxcore.h>

#include <string>

namespace faxgw::mailgw {

// Maildir file name of a report: the same for the same batch and kind, so
// writing it again after a crash replaces the first copy.
std::string notification_file_name(const std::string& batch, faxcore::ReportKind kind);

}  // namespace faxgw::mailgw

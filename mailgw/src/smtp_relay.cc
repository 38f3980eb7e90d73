// send_by_smtp(): one mail to the relay with libcurl's SMTP client, which
// does the dialogue, STARTTLS, AUTH (PLAIN, LOGIN, ...), dot-stuffing and
// certificate checks.
#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "faxgw/outbox.h"

namespace faxgw::mailgw {
namespace {

// libcurl wants its global set-up once, before any thread uses it.
void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Upload {
    const std::string& data;
    std::size_t sent = 0;
};

std::size_t read_message(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* upload = static_cast<Upload*>(user);
    const std::size_t n = std::min(size * count, upload->data.size() - upload->sent);
    std::memcpy(buffer, upload->data.data() + upload->sent, n);
    upload->sent += n;
    return n;
}

// "<a@b>": libcurl sends MAIL FROM and RCPT TO as given.
std::string angle(const std::string& address) { return "<" + address + ">"; }

class CurlList {
public:
    CurlList() = default;
    ~CurlList() { curl_slist_free_all(list_); }
    CurlList(const CurlList&) = delete;
    CurlList& operator=(const CurlList&) = delete;
    void add(const std::string& s) { list_ = curl_slist_append(list_, s.c_str()); }
    curl_slist* get() const { return list_; }

private:
    curl_slist* list_ = nullptr;
};

// One line, whatever the relay or libcurl said.
std::string one_line(std::string s) {
    std::replace_if(
        s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

RelayOutcome outcome_of(CURLcode code, long reply, const char* error) {
    std::string text = one_line(*error ? error : curl_easy_strerror(code));
    if (code == CURLE_OK)
        return {RelayOutcome::Kind::sent, "accepted (" + std::to_string(reply) + ")"};
    // The last reply explains the failure only when it was a refusal (a
    // failed TLS handshake follows the relay's "220 ready to start TLS").
    if (reply >= 400) text = "relay answered " + std::to_string(reply) + ": " + text;
    // Only the relay's own 5xx is final; a wrong password (535) is the
    // gateway's configuration, to be fixed while the mail waits.
    const bool permanent = reply >= 500 && reply < 600 && reply != 535 && reply != 530;
    return {permanent ? RelayOutcome::Kind::permanent : RelayOutcome::Kind::temporary, text};
}

}  // namespace

RelayOutcome send_by_smtp(const RelaySettings& relay, const std::string& sender,
                          const std::vector<std::string>& recipients, const std::string& message) {
    init_curl_once();
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return {RelayOutcome::Kind::temporary, "libcurl cannot start a transfer"};
    CURL* c = curl.get();
    char error[CURL_ERROR_SIZE] = "";
    CurlList rcpt;
    for (const auto& r : recipients) rcpt.add(angle(r));
    Upload upload{message};
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_URL, relay.url.c_str());
    // The URL comes from the configuration: SMTP and nothing else.
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_USE_SSL,
                     relay.tls == "none" ? static_cast<long>(CURLUSESSL_NONE)
                                         : static_cast<long>(CURLUSESSL_ALL));
    if (!relay.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, relay.ca_file.c_str());
    if (!relay.user.empty()) {
        curl_easy_setopt(c, CURLOPT_USERNAME, relay.user.c_str());
        curl_easy_setopt(c, CURLOPT_PASSWORD, relay.password.c_str());
    }
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, angle(sender).c_str());
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(c, CURLOPT_READDATA, &upload);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // a thread of a daemon: no SIGALRM
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(relay.timeout_seconds));
    curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(relay.timeout_seconds));
    const CURLcode code = curl_easy_perform(c);
    long reply = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply);
    return outcome_of(code, reply, error);
}

}  // namespace faxgw::mailgw

// The IMAP connection through libetpan's low-level API (mailimap_*).
#include "session.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libetpan/libetpan.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

namespace faxgw::imap {
namespace {

constexpr time_t network_timeout_seconds = 60;

bool is_ip_literal(const std::string& host) {
    in6_addr a{};
    return inet_pton(AF_INET, host.c_str(), &a) == 1 || inet_pton(AF_INET6, host.c_str(), &a) == 1;
}

// Called by libetpan before the TLS handshake: names the server (SNI), so
// that a server with several names presents the right certificate.
void set_server_name(mailstream_ssl_context* context, void* data) {
    auto* host = static_cast<std::string*>(data);
    if (!is_ip_literal(*host)) mailstream_ssl_set_server_name(context, host->data());
}

// A TCP connection to host:port, made here rather than by libetpan so that
// the socket is known before the server's greeting is read (a stop request
// shuts it down). Waits at most network_timeout_seconds, and no longer once
// `stop` is requested.
int connect_tcp(const std::string& host, std::uint16_t port, const std::stop_token& stop,
                const std::string& what) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int r = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); r != 0)
        throw ConnectionError(what + ": connection failed: " + ::gai_strerror(r));
    const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
    std::string why = "no address";
    for (const addrinfo* a = found; a && !stop.stop_requested(); a = a->ai_next) {
        const int fd =
            ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            why = std::strerror(errno);
            continue;
        }
        int error = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
        const auto end =
            std::chrono::steady_clock::now() + std::chrono::seconds(network_timeout_seconds);
        while (error == EINPROGRESS && !stop.stop_requested()) {
            if (std::chrono::steady_clock::now() >= end) {
                error = ETIMEDOUT;
                break;
            }
            pollfd p{fd, POLLOUT, 0};
            if (::poll(&p, 1, 1000) > 0) {
                socklen_t length = sizeof error;
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
            }
        }
        if (error == 0) {
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            return fd;
        }
        why = std::strerror(error);
        ::close(fd);
    }
    if (stop.stop_requested()) throw ConnectionError(what + ": stopped while connecting");
    throw ConnectionError(what + ": connection failed: " + why);
}

template <typename T, void (*Free)(T*)>
struct Freer {
    void operator()(T* p) const {
        if (p) Free(p);
    }
};
template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, Freer<T, Free>>;

using Set = Owned<mailimap_set, mailimap_set_free>;
using List = Owned<clist, clist_free>;

}  // namespace

// Why the check is ours: libetpan's gnutls build makes the TLS session with
// no trust store at all and never looks at the server's certificate (its
// callback only gets an opaque context, and the gnutls session it builds is
// private), so any certificate would do. After the handshake, and before
// anything secret is sent, we take the chain the server presented
// (mailstream_get_certificate_chain) and check it ourselves with gnutls:
// signed by a CA of ca_file or of the system store, valid now, and issued
// for the host of the URL (DNS name or IP address).
void verify_server_certificate(mailimap* imap, const std::string& host,
                               const std::filesystem::path& ca_file) {
    using Chain = Owned<carray, mailstream_certificate_chain_free>;
    Chain chain(mailstream_get_certificate_chain(imap->imap_stream));
    if (!chain || carray_count(chain.get()) == 0)
        throw ConnectionError("TLS: " + host + " presented no certificate");

    std::vector<gnutls_x509_crt_t> certs;
    struct CertsFree {
        std::vector<gnutls_x509_crt_t>& c;
        ~CertsFree() {
            for (auto* x : c) gnutls_x509_crt_deinit(x);
        }
    } certs_free{certs};
    for (unsigned i = 0; i < carray_count(chain.get()); ++i) {
        auto* der = static_cast<MMAPString*>(carray_get(chain.get(), i));
        gnutls_x509_crt_t crt = nullptr;
        if (gnutls_x509_crt_init(&crt) < 0) throw ConnectionError("TLS: out of memory");
        certs.push_back(crt);
        gnutls_datum_t datum{reinterpret_cast<unsigned char*>(der->str),
                             static_cast<unsigned>(der->len)};
        if (gnutls_x509_crt_import(crt, &datum, GNUTLS_X509_FMT_DER) < 0)
            throw ConnectionError("TLS: " + host + " presented a certificate that cannot be read");
    }

    gnutls_x509_trust_list_t trust = nullptr;
    if (gnutls_x509_trust_list_init(&trust, 0) < 0) throw ConnectionError("TLS: out of memory");
    struct TrustFree {
        gnutls_x509_trust_list_t t;
        ~TrustFree() { gnutls_x509_trust_list_deinit(t, 1); }
    } trust_free{trust};
    int added = ca_file.empty() ? gnutls_x509_trust_list_add_system_trust(trust, 0, 0)
                                : gnutls_x509_trust_list_add_trust_file(
                                      trust, ca_file.c_str(), nullptr, GNUTLS_X509_FMT_PEM, 0, 0);
    if (added <= 0)
        throw ConnectionError(ca_file.empty()
                                  ? std::string("TLS: the system has no trusted CA certificates")
                                  : "TLS: no CA certificate in ca_file " + ca_file.string());

    unsigned status = 0;
    int r =
        gnutls_x509_trust_list_verify_crt(trust, certs.data(), certs.size(), 0, &status, nullptr);
    if (r < 0 || status != 0) {
        std::string why = gnutls_strerror(r);
        gnutls_datum_t text{};
        if (r >= 0 &&
            gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) >= 0) {
            why.assign(reinterpret_cast<char*>(text.data), text.size);
            gnutls_free(text.data);
        }
        throw ConnectionError("TLS: the certificate of " + host + " is not trusted (" +
                              (ca_file.empty() ? "system CAs" : "ca_file " + ca_file.string()) +
                              "): " + why);
    }
    // A textual IP address is matched against the certificate's IP
    // addresses, a name against its DNS names.
    if (!gnutls_x509_crt_check_hostname2(certs[0], host.c_str(), 0))
        throw ConnectionError("TLS: the certificate of " + host + " is issued for another name");
}

Session::Session(const Account& account, const std::string& password, std::stop_token stop)
    : stop_(std::move(stop)) {
    const ServerAddress server = parse_url(account.url);
    what_ = account.user + " at " + account.url;
    imap_ = mailimap_new(0, nullptr);
    if (!imap_) throw ConnectionError("out of memory");
    mailimap_set_timeout(imap_, network_timeout_seconds);
    try {
        connect(account, server);
        int r = mailimap_login(imap_, account.user.c_str(), password.c_str());
        if (r == MAILIMAP_ERROR_LOGIN) throw LoginRefused(last_response());
        if (r != MAILIMAP_NO_ERROR) fail("LOGIN", r);
        read_capabilities();  // they may change after LOGIN
    } catch (...) {
        // A server that failed us gets its LOGOUT, but no wait for the answer.
        if (socket_ >= 0) ::shutdown(socket_, SHUT_RD);
        free_connection();
        throw;
    }
}

Session::~Session() { free_connection(); }

void Session::free_connection() {
    if (imap_) mailimap_free(imap_);  // LOGOUT, which a stop request cuts short
    imap_ = nullptr;
    on_stop_.reset();  // waits for a running callback, so the copy is closed after it
    if (socket_ >= 0) ::close(socket_);
    socket_ = -1;
}

// The TCP connection, then (imaps://) TLS, then the server's greeting.
void Session::open_stream(const ServerAddress& server, std::string& host) {
    const int fd = connect_tcp(host, server.port, stop_, what_);
    // A stop request shuts the reading side down: every wait for the server
    // ends at once, and what is still written (libetpan's LOGOUT) raises no
    // SIGPIPE, as a full shutdown would. On a copy of our own: libetpan
    // closes its descriptor when it likes, and the number could then name
    // another file.
    socket_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (socket_ < 0) {
        ::close(fd);
        throw ConnectionError(what_ + ": connection failed: " + std::strerror(errno));
    }
    on_stop_.emplace(stop_, [copy = socket_] { ::shutdown(copy, SHUT_RD); });
    mailstream* stream = server.implicit_tls
                             ? mailstream_ssl_open_with_callback_timeout(
                                   fd, network_timeout_seconds, set_server_name, &host)
                             : mailstream_socket_open_timeout(fd, network_timeout_seconds);
    if (!stream) {
        ::close(fd);
        throw ConnectionError(
            what_ + (server.implicit_tls ? ": TLS handshake failed" : ": connection failed"));
    }
    const int r = mailimap_connect(imap_, stream);
    if (r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED)
        fail(server.implicit_tls ? "TLS connection" : "connection", r);
}

void Session::connect(const Account& account, const ServerAddress& server) {
    std::string host = server.host;
    open_stream(server, host);
    if (server.implicit_tls) {
        verify_server_certificate(imap_, host, account.ca_file);
        read_capabilities();
        return;
    }
    read_capabilities();
    if (account.tls == "none") return;
    if (!mailimap_has_extension(imap_, const_cast<char*>("STARTTLS")))
        throw ConnectionError(what_ +
                              ": the server offers no STARTTLS, and the password must not "
                              "cross the network in clear (set tls = \"none\" to allow it)");
    int r = mailimap_socket_starttls_with_callback(imap_, set_server_name, &host);
    if (r != MAILIMAP_NO_ERROR) fail("STARTTLS", r);
    verify_server_certificate(imap_, host, account.ca_file);
    read_capabilities();  // anything said before TLS is forgotten (RFC 3501 6.2.1)
}

void Session::read_capabilities() {
    mailimap_capability_data* caps = nullptr;
    int r = mailimap_capability(imap_, &caps);
    if (r != MAILIMAP_NO_ERROR) fail("CAPABILITY", r);
    mailimap_capability_data_free(caps);
    move_ = mailimap_has_extension(imap_, const_cast<char*>("MOVE"));
    idle_ = mailimap_has_idle(imap_);
    uidplus_ = mailimap_has_uidplus(imap_);
}

std::string Session::last_response() const {
    return imap_ && imap_->imap_response ? imap_->imap_response : "(no answer)";
}

void Session::fail(const std::string& command, int code) const {
    std::string what = what_ + ": " + command + " failed";
    if (code == MAILIMAP_ERROR_STREAM || code == MAILIMAP_ERROR_CONNECTION_REFUSED)
        throw ConnectionError(what + ": connection lost or refused");
    if (code == MAILIMAP_ERROR_SSL) throw ConnectionError(what + ": TLS handshake failed");
    if (code == MAILIMAP_ERROR_PARSE) throw ConnectionError(what + ": unreadable answer");
    throw ConnectionError(what + ": " + last_response());
}

void Session::ensure_folder(const std::string& folder) {
    clist* found = nullptr;
    int r = mailimap_list(imap_, "", folder.c_str(), &found);
    if (r != MAILIMAP_NO_ERROR) fail("LIST " + folder, r);
    const bool exists = clist_count(found) > 0;
    mailimap_list_result_free(found);
    if (exists) return;
    r = mailimap_create(imap_, folder.c_str());
    if (r != MAILIMAP_NO_ERROR) fail("CREATE " + folder, r);
}

std::uint32_t Session::select(const std::string& folder) {
    int r = mailimap_select(imap_, folder.c_str());
    if (r != MAILIMAP_NO_ERROR) fail("SELECT " + folder, r);
    const std::uint32_t validity =
        imap_->imap_selection_info ? imap_->imap_selection_info->sel_uidvalidity : 0;
    // Without UIDVALIDITY a UID names nothing durable (RFC 3501 2.3.1.1).
    if (validity == 0) throw ConnectionError(what_ + ": SELECT " + folder + " gave no UIDVALIDITY");
    return validity;
}

std::vector<std::uint32_t> Session::all_uids() {
    Owned<mailimap_search_key, mailimap_search_key_free> key(mailimap_search_key_new_all());
    clist* found = nullptr;
    int r = mailimap_uid_search(imap_, nullptr, key.get(), &found);
    if (r != MAILIMAP_NO_ERROR) fail("UID SEARCH", r);
    std::vector<std::uint32_t> uids;
    for (clistiter* i = clist_begin(found); i; i = clist_next(i))
        uids.push_back(*static_cast<std::uint32_t*>(clist_content(i)));
    mailimap_search_result_free(found);
    std::sort(uids.begin(), uids.end());
    return uids;
}

std::string Session::fetch(std::uint32_t uid) {
    Set set(mailimap_set_new_single(uid));
    Owned<mailimap_fetch_type, mailimap_fetch_type_free> type(
        mailimap_fetch_type_new_fetch_att_list_empty());
    mailimap_fetch_type_new_fetch_att_list_add(type.get(), mailimap_fetch_att_new_uid());
    mailimap_fetch_type_new_fetch_att_list_add(
        type.get(), mailimap_fetch_att_new_body_peek_section(mailimap_section_new(nullptr)));
    clist* answer = nullptr;
    int r = mailimap_uid_fetch(imap_, set.get(), type.get(), &answer);
    if (r != MAILIMAP_NO_ERROR) fail("UID FETCH " + std::to_string(uid), r);
    std::optional<std::string> body;
    for (clistiter* i = clist_begin(answer); i; i = clist_next(i)) {
        auto* message = static_cast<mailimap_msg_att*>(clist_content(i));
        std::uint32_t got_uid = 0;
        const mailimap_msg_att_body_section* section = nullptr;
        for (clistiter* j = clist_begin(message->att_list); j; j = clist_next(j)) {
            auto* item = static_cast<mailimap_msg_att_item*>(clist_content(j));
            if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC) continue;
            auto* s = item->att_data.att_static;
            if (s->att_type == MAILIMAP_MSG_ATT_UID) got_uid = s->att_data.att_uid;
            if (s->att_type == MAILIMAP_MSG_ATT_BODY_SECTION)
                section = s->att_data.att_body_section;
        }
        if (got_uid == uid && section && section->sec_body_part)
            body.emplace(section->sec_body_part, section->sec_length);
    }
    mailimap_fetch_list_free(answer);
    if (!body)
        throw ConnectionError(what_ + ": UID FETCH " + std::to_string(uid) +
                              " returned no message (expunged meanwhile?)");
    return *body;
}

void Session::move(std::uint32_t uid, const std::string& to_folder) {
    Set set(mailimap_set_new_single(uid));
    int r;
    if (move_) {
        r = mailimap_uid_move(imap_, set.get(), to_folder.c_str());
        if (r != MAILIMAP_NO_ERROR) fail("UID MOVE to " + to_folder, r);
        return;
    }
    r = mailimap_uid_copy(imap_, set.get(), to_folder.c_str());
    if (r != MAILIMAP_NO_ERROR) fail("UID COPY to " + to_folder, r);
    auto* flags = mailimap_flag_list_new_empty();
    mailimap_flag_list_add(flags, mailimap_flag_new_deleted());
    Owned<mailimap_store_att_flags, mailimap_store_att_flags_free> store(
        mailimap_store_att_flags_new_add_flags_silent(flags));
    r = mailimap_uid_store(imap_, set.get(), store.get());
    if (r != MAILIMAP_NO_ERROR) fail("UID STORE \\Deleted", r);
    // Without UIDPLUS, EXPUNGE also removes what others marked \Deleted in
    // this folder; that is what they asked for.
    r = uidplus_ ? mailimap_uid_expunge(imap_, set.get()) : mailimap_expunge(imap_);
    if (r != MAILIMAP_NO_ERROR) fail("EXPUNGE", r);
}

void Session::idle(int seconds, const std::stop_token& stop, const std::function<void()>& idling) {
    int r = mailimap_idle(imap_);
    if (r != MAILIMAP_NO_ERROR) fail("IDLE", r);
    if (idling) idling();
    // We wait on the socket ourselves, a second at a time, so that a stop
    // request is seen within a second (libetpan's own wait needs an idle
    // set-up that mailimap_idle does not make). A line the server sent
    // with its "+ idling" may already sit in libetpan's buffer.
    const int fd = mailimap_idle_get_fd(imap_);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!stop.stop_requested() && std::chrono::steady_clock::now() < end &&
           imap_->imap_stream->read_buffer_len == 0) {
        pollfd p{fd, POLLIN, 0};
        int n = ::poll(&p, 1, 1000);
        if (n > 0) break;
        if (n < 0 && errno != EINTR) break;
    }
    r = mailimap_idle_done(imap_);
    if (r != MAILIMAP_NO_ERROR) fail("IDLE DONE", r);
}

void Session::logout() {
    if (imap_) mailimap_logout(imap_);
}

}  // namespace faxgw::imap

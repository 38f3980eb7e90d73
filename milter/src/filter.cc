// The libmilter callbacks: one Session per SMTP connection (smfi_setpriv),
// one Message per MAIL FROM. OpenDKIM keeps its contexts the same way.
#include <arpa/inet.h>
#include <faxgw/milter.h>
#include <faxgw/submit_worker.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace faxgw::milter {
namespace {

using mailgw::WorkerPool;
using mailgw::WorkerReply;

struct Message {
    std::string sender;  // without angle brackets; "" = the null sender
    std::string sasl_user;
    // Fax recipients as the client wrote them (smfi_delrcpt wants that)
    // and as addresses.
    std::vector<std::string> fax_recipients_written, fax_recipients;
    int other_recipients = 0;
    std::string raw;
    bool over_size = false;
};

struct Session {
    // The MTA's replies it does not wait for (SMFIP_NR_CONN, SMFIP_NR_MAIL):
    // those callbacks answer SMFIS_NOREPLY. Two round trips fewer per mail,
    // which mail without fax recipients pays for nothing.
    unsigned long no_reply = 0;
    std::string client_address;  // "" = a local submission
    std::string queue_id;
    std::optional<Message> message;
};

// What the callbacks share: libmilter takes plain functions.
struct Filter {
    Filter(const Settings& s, const Services& services)
        : settings(s), services(services), queue(faxcore::Queue::open(services.var)) {}
    Settings settings;
    Services services;
    std::unique_ptr<faxcore::Queue> queue;  // for the limits at RCPT TO
    std::unique_ptr<WorkerPool> workers;
    std::mutex mutex;
    std::condition_variable idle;
    int deciding = 0;       // mails in a worker now
    bool stopping = false;  // after a signal: no new mail goes to a worker
};
// Never freed: libmilter's session threads may still call back while the
// process ends, so the state lives as long as the process.
Filter* filter = nullptr;

Session* session_of(SMFICTX* ctx) { return static_cast<Session*>(smfi_getpriv(ctx)); }

std::string without_brackets(const char* address) {
    std::string a = address ? address : "";
    if (a.size() >= 2 && a.front() == '<' && a.back() == '>') a = a.substr(1, a.size() - 2);
    return a;
}

std::string macro(SMFICTX* ctx, const char* name) {
    const char* value = smfi_getsymval(ctx, const_cast<char*>(name));
    return value ? value : "";
}

std::string address_text(const sockaddr* address) {
    if (!address) return {};
    char text[INET6_ADDRSTRLEN] = {};
    if (address->sa_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text,
                  sizeof text);
    } else if (address->sa_family == AF_INET6) {
        const auto* a6 = reinterpret_cast<const sockaddr_in6*>(address);
        // An IPv4 client on a dual-stack socket counts as that IPv4 address.
        if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
            inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], text, sizeof text);
        else
            inet_ntop(AF_INET6, &a6->sin6_addr, text, sizeof text);
    }
    return text;
}

// "QUEUEID: client=ADDR from=<SENDER> WHAT", as Postfix's own log lines.
void log_line(const Session* s, const std::string& what) {
    std::string line = s->queue_id.empty() ? std::string() : s->queue_id + ": ";
    line += "client=" + (s->client_address.empty() ? std::string("local") : s->client_address);
    if (s->message) line += " from=<" + s->message->sender + ">";
    filter->services.log(line + " " + what);
}

// Sets the SMTP reply for `verdict` and returns what tells the MTA to use
// it: reject (5xx) or tempfail (4xx). The text is mta_reply's, which
// escapes control characters; libmilter wants '%' doubled.
sfsistat answer(SMFICTX* ctx, mailgw::Verdict verdict, const std::string& message) {
    const auto& row = mailgw::describe(verdict);
    std::string line = mailgw::mta_reply(verdict, message);
    std::string text;
    for (char c : line.substr(row.enhanced_status.size() + 1)) {
        if (c == '%') text += '%';
        text += c;
    }
    if (text.size() > 400) text = text.substr(0, 400) + "...";
    std::string code = std::to_string(row.smtp_reply);
    std::string enhanced(row.enhanced_status);
    smfi_setreply(ctx, code.data(), enhanced.data(), text.data());
    return row.smtp_reply >= 500 ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

// The session starts here (negotiation comes first on each connection),
// or at connect with an MTA that does not negotiate.
Session* start_session(SMFICTX* ctx) {
    Session* s = session_of(ctx);
    if (!s) {
        s = new Session;
        smfi_setpriv(ctx, s);
    }
    return s;
}

sfsistat answered(const Session& s, unsigned long stage) {
    return (s.no_reply & stage) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

sfsistat on_negotiate(SMFICTX* ctx, unsigned long actions, unsigned long protocol, unsigned long,
                      unsigned long, unsigned long* want_actions, unsigned long* want_protocol,
                      unsigned long*, unsigned long*) {
    *want_actions = actions & (SMFIF_ADDHDRS | SMFIF_DELRCPT);
    // Header values as written (with their leading space), so the message
    // is rebuilt byte for byte; no HELO and no unknown commands; no reply
    // awaited to connect and MAIL FROM, which never refuse.
    const unsigned long no_reply = protocol & (SMFIP_NR_CONN | SMFIP_NR_MAIL);
    *want_protocol = (protocol & (SMFIP_HDR_LEADSPC | SMFIP_NOHELO | SMFIP_NOUNKNOWN)) | no_reply;
    start_session(ctx)->no_reply = no_reply;
    return SMFIS_CONTINUE;
}

sfsistat on_connect(SMFICTX* ctx, char*, _SOCK_ADDR* address) {
    Session* s = start_session(ctx);
    s->client_address = address_text(address);
    return answered(*s, SMFIP_NR_CONN);
}

sfsistat on_envfrom(SMFICTX* ctx, char** argv) {
    Session* s = start_session(ctx);
    s->message.emplace();
    s->message->sender = without_brackets(argv[0]);
    s->message->sasl_user = macro(ctx, "{auth_authen}");
    s->queue_id = macro(ctx, "i");
    return answered(*s, SMFIP_NR_MAIL);
}

mailgw::Envelope envelope_of(const Session& s) {
    return {s.message->sender, s.client_address, s.message->sasl_user, s.message->fax_recipients};
}

sfsistat on_envrcpt(SMFICTX* ctx, char** argv) {
    Session* s = session_of(ctx);
    if (!s || !s->message) return SMFIS_TEMPFAIL;
    if (s->queue_id.empty()) s->queue_id = macro(ctx, "i");
    Message& m = *s->message;
    const std::string address = without_brackets(argv[0]);
    auto check =
        mailgw::check_recipient(address, envelope_of(*s), static_cast<int>(m.fax_recipients.size()),
                                *filter->services.mail, *filter->queue);
    if (!check.fax) {
        ++m.other_recipients;
        return SMFIS_CONTINUE;
    }
    if (check.verdict != mailgw::Verdict::queued) {
        log_line(s, "to=<" + address + ">: " + mailgw::mta_reply(check.verdict, check.message));
        return answer(ctx, check.verdict, check.message);
    }
    m.fax_recipients_written.push_back(argv[0]);
    m.fax_recipients.push_back(address);
    return SMFIS_CONTINUE;
}

// Mail without fax recipients is none of the gateway's business: let it
// through before a byte of it is read.
sfsistat on_data(SMFICTX* ctx) {
    Session* s = session_of(ctx);
    if (!s || !s->message) return SMFIS_TEMPFAIL;
    return s->message->fax_recipients.empty() ? SMFIS_ACCEPT : SMFIS_CONTINUE;
}

void append(Message& m, std::string_view bytes) {
    if (m.over_size) return;
    if (m.raw.size() + bytes.size() > filter->settings.max_message_bytes) {
        m.over_size = true;
        m.raw.clear();
        m.raw.shrink_to_fit();
        return;
    }
    m.raw.append(bytes);
}

sfsistat on_header(SMFICTX* ctx, char* name, char* value) {
    Session* s = session_of(ctx);
    if (!s || !s->message) return SMFIS_TEMPFAIL;
    // Folded values come with bare LF between their lines.
    std::string field = std::string(name) + ":";
    for (const char* c = value; *c; ++c) {
        if (*c == '\n' && (c == value || c[-1] != '\r')) field += '\r';
        field += *c;
    }
    append(*s->message, field + "\r\n");
    return SMFIS_CONTINUE;
}

sfsistat on_eoh(SMFICTX* ctx) {
    Session* s = session_of(ctx);
    if (!s || !s->message) return SMFIS_TEMPFAIL;
    append(*s->message, "\r\n");
    return SMFIS_CONTINUE;
}

sfsistat on_body(SMFICTX* ctx, unsigned char* chunk, size_t size) {
    Session* s = session_of(ctx);
    if (!s || !s->message) return SMFIS_TEMPFAIL;
    append(*s->message, {reinterpret_cast<const char*>(chunk), size});
    return SMFIS_CONTINUE;
}

WorkerReply decide_in_worker(SMFICTX* ctx, const Session& s) {
    {
        std::lock_guard lock(filter->mutex);
        if (filter->stopping)
            return {mailgw::Verdict::try_later, "the fax gateway is restarting", {}};
        ++filter->deciding;
    }
    WorkerReply reply = filter->workers->decide(
        {envelope_of(s), s.message->raw, {}}, std::chrono::seconds(filter->settings.decide_seconds),
        [ctx] { smfi_progress(ctx); });
    std::lock_guard lock(filter->mutex);
    --filter->deciding;
    filter->idle.notify_all();
    return reply;
}

// "12 (+15551001), 13 (+15551002)": the jobs, for the copy still delivered.
std::string jobs_header(const WorkerReply& reply) {
    std::string out;
    for (const auto& [id, number] : reply.jobs)
        out += (out.empty() ? "" : ", ") + std::to_string(id) + " (" + number + ")";
    return out;
}

// The jobs are durable in the queue before the MTA may answer 250; the fax
// recipients then leave the mail's delivery.
sfsistat on_eom(SMFICTX* ctx) {
    Session* s = session_of(ctx);
    if (!s || !s->message) return SMFIS_TEMPFAIL;
    Message& m = *s->message;
    const std::string who = std::to_string(m.fax_recipients.size()) + " fax recipient(s): ";
    if (m.over_size) {
        const std::string why = "message is larger than " +
                                std::to_string(filter->settings.max_message_bytes >> 20) + " MB";
        log_line(s, who + mailgw::mta_reply(mailgw::Verdict::too_big, why));
        return answer(ctx, mailgw::Verdict::too_big, why);
    }
    WorkerReply reply = decide_in_worker(ctx, *s);
    std::string().swap(m.raw);  // decided: not kept while the session waits for the next mail
    log_line(s, who + mailgw::mta_reply(reply.verdict, reply.message));
    if (reply.verdict != mailgw::Verdict::queued) return answer(ctx, reply.verdict, reply.message);
    for (auto& written : m.fax_recipients_written) smfi_delrcpt(ctx, written.data());
    if (m.other_recipients == 0) return SMFIS_DISCARD;  // accepted, delivered nowhere else
    // Header values go with their leading space (SMFIP_HDR_LEADSPC).
    std::string header = " " + jobs_header(reply);
    smfi_addheader(ctx, const_cast<char*>("X-Fax-Jobs"), header.data());
    return SMFIS_CONTINUE;
}

sfsistat on_abort(SMFICTX* ctx) {
    if (Session* s = session_of(ctx)) s->message.reset();
    return SMFIS_CONTINUE;
}

sfsistat on_close(SMFICTX* ctx) {
    delete session_of(ctx);
    smfi_setpriv(ctx, nullptr);
    return SMFIS_CONTINUE;
}

// libmilter removes a unix socket's file before it listens: a second
// milter on the same path would silently take the first one's place.
bool someone_listens_on(const std::string& spec) {
    const auto path = unix_socket_path(spec);
    sockaddr_un address{};
    if (!path || path->native().size() >= sizeof address.sun_path) return false;
    address.sun_family = AF_UNIX;
    std::copy(path->native().begin(), path->native().end(), address.sun_path);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool answered =
        fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    if (fd >= 0) ::close(fd);
    return answered;
}

// A unix socket is made with the umask of the queue (027): the MTA, whose
// user is added to the gateway's group (adduser postfix faxgw), must be
// able to connect, which takes write permission.
void allow_group_to_connect(const std::string& spec) {
    if (const auto path = unix_socket_path(spec)) ::chmod(path->c_str(), 0660);
}

int worker_count(int configured) {
    if (configured > 0) return configured;
    const unsigned cores = std::thread::hardware_concurrency();
    return cores > 0 ? static_cast<int>(cores) : 1;
}

}  // namespace

int serve(const Settings& settings, const Services& services) {
    std::signal(SIGPIPE, SIG_IGN);  // a worker that died is a failed write, not our end
    if (filter) throw std::logic_error("milter::serve() runs once per process");
    filter = new Filter(settings, services);

    smfiDesc description{};
    description.xxfi_name = const_cast<char*>("faxgw");
    description.xxfi_version = SMFI_VERSION;
    description.xxfi_flags = SMFIF_ADDHDRS | SMFIF_DELRCPT;
    description.xxfi_connect = on_connect;
    description.xxfi_envfrom = on_envfrom;
    description.xxfi_envrcpt = on_envrcpt;
    description.xxfi_data = on_data;
    description.xxfi_header = on_header;
    description.xxfi_eoh = on_eoh;
    description.xxfi_body = on_body;
    description.xxfi_eom = on_eom;
    description.xxfi_abort = on_abort;
    description.xxfi_close = on_close;
    description.xxfi_negotiate = on_negotiate;
    std::string socket = settings.socket;
    if (smfi_setconn(socket.data()) == MI_FAILURE || smfi_register(description) == MI_FAILURE) {
        services.log("bad milter socket '" + settings.socket + "'");
        return EX_CONFIG;
    }
    // The renderers first: the socket is opened once they are warm.
    const int renderers = worker_count(settings.renderers);
    filter->workers =
        std::make_unique<WorkerPool>(services.worker_command, renderers, services.log);
    if (someone_listens_on(settings.socket) || smfi_opensocket(true) == MI_FAILURE) {
        services.log("cannot listen on " + settings.socket);
        return EX_OSERR;
    }
    allow_group_to_connect(settings.socket);
    services.log("listening on " + settings.socket + " with " + std::to_string(renderers) +
                 " renderer(s)");
    const int result = smfi_main();
    // Stopped by a signal: the mails being decided get their answers; the
    // workers end when the process closes their sockets.
    std::unique_lock lock(filter->mutex);
    filter->stopping = true;
    filter->idle.wait_for(lock, std::chrono::seconds(settings.decide_seconds),
                          [] { return filter->deciding == 0; });
    return result == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
}

}  // namespace faxgw::milter

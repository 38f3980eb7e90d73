#include "metrics.h"

#include <httplib.h>

#include <sstream>
#include <stdexcept>
#include <thread>

namespace faxgw {
namespace {

// A label value with \, " and newline escaped, as the format asks.
std::string label_value(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

class Exposition {
public:
    void metric(const std::string& name, const std::string& type, const std::string& help) {
        out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
    }
    template <typename V>
    void sample(const std::string& name, V value) {
        out_ << name << " " << value << "\n";
    }
    template <typename V>
    void sample(const std::string& name, const std::string& label, const std::string& label_v,
                V value) {
        out_ << name << "{" << label << "=\"" << label_value(label_v) << "\"} " << value << "\n";
    }
    template <typename V>
    void by_label(const std::string& name, const std::string& label,
                  const std::map<std::string, V>& values) {
        for (const auto& [k, v] : values) sample(name, label, k, v);
    }
    std::string text() const { return out_.str(); }

private:
    std::ostringstream out_;
};

}  // namespace

std::string prometheus_text(const MetricsFigures& f) {
    Exposition e;
    e.metric("faxgw_jobs", "gauge", "Fax jobs in the queue, by state.");
    e.by_label("faxgw_jobs", "state", f.jobs_by_state);
    e.metric("faxgw_attempts_total", "counter", "Call attempts, by outcome.");
    e.by_label("faxgw_attempts_total", "outcome", f.attempts_by_outcome);
    e.metric("faxgw_pages_sent_total", "counter", "Pages the far ends confirmed.");
    e.sample("faxgw_pages_sent_total", f.pages_sent);
    e.metric("faxgw_pages_received_total", "counter", "Pages of received faxes.");
    e.sample("faxgw_pages_received_total", f.pages_received);
    e.metric("faxgw_line_seconds_total", "counter", "Line time of all call attempts, in seconds.");
    e.sample("faxgw_line_seconds_total", f.line_seconds);
    e.metric("faxgw_lines", "gauge", "Lines the gateway has (lines.count).");
    e.sample("faxgw_lines", f.lines);
    e.metric("faxgw_lines_busy", "gauge", "Lines in a call now.");
    e.sample("faxgw_lines_busy", f.lines_busy);
    e.metric("faxgw_jobs_due", "gauge", "Jobs whose time to call has come.");
    e.sample("faxgw_jobs_due", f.jobs_due);
    e.metric("faxgw_oldest_due_job_age_seconds", "gauge",
             "How long the oldest due job has waited for a line, in seconds (0: none).");
    e.sample("faxgw_oldest_due_job_age_seconds", f.oldest_due_age_seconds);
    e.metric("faxgw_outbox_mails", "gauge",
             "Mails of the outbox (notifications, received faxes), by state.");
    e.by_label("faxgw_outbox_mails", "state", f.outbox_by_state);
    return e.text();
}

struct MetricsEndpoint::Impl {
    httplib::Server server;
    std::thread thread;
};

MetricsEndpoint::MetricsEndpoint(const std::string& host, int port,
                                 std::function<MetricsFigures()> figures,
                                 std::function<Health()> health)
    : impl_(std::make_unique<Impl>()) {
    auto& server = impl_->server;
    server.Get("/metrics", [figures](const httplib::Request&, httplib::Response& res) {
        try {
            res.set_content(prometheus_text(figures()), "text/plain; version=0.0.4");
        } catch (const std::exception& e) {
            // A locked or broken queue: a failed scrape says so, the next may work.
            res.status = 503;
            res.set_content(std::string("figures unavailable: ") + e.what() + "\n", "text/plain");
        }
    });
    server.Get("/health", [health](const httplib::Request&, httplib::Response& res) {
        const auto h = health();
        res.status = h.ok ? 200 : 503;
        res.set_content(h.text + "\n", "text/plain");
    });
    // cpp-httplib's default options add SO_REUSEPORT, with which a second
    // gateway would share the port silently and answer half the scrapes.
    server.set_socket_options([](int sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    if (!server.bind_to_port(host, port))
        throw std::runtime_error("metrics.listen: cannot listen on " + host + ":" +
                                 std::to_string(port));
    impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
}

MetricsEndpoint::~MetricsEndpoint() {
    impl_->server.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace faxgw

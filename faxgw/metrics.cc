#include "metrics.h"

#include <faxgw/faxcore/snapshot.h>
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
    std::string text() const { return out_.str(); }

private:
    std::ostringstream out_;
};

}  // namespace

std::string prometheus_text(const MetricsFigures& f) {
    const auto& q = f.snapshot.queue;
    const auto& outbox = f.snapshot.outbox;
    Exposition e;
    e.metric("faxgw_jobs", "gauge", "Fax jobs in the queue, by state.");
    for (const auto& [state, n] : q.jobs_by_state)
        e.sample("faxgw_jobs", "state", std::string(faxcore::to_string(state)), n);
    e.metric("faxgw_attempts_total", "counter", "Call attempts, by outcome.");
    for (const auto& [outcome, n] : q.attempts_by_outcome)
        e.sample("faxgw_attempts_total", "outcome", std::string(faxcore::describe(outcome).name),
                 n);
    e.metric("faxgw_pages_sent_total", "counter", "Pages the far ends confirmed.");
    e.sample("faxgw_pages_sent_total", q.pages_sent);
    e.metric("faxgw_pages_received_total", "counter", "Pages of received faxes.");
    e.sample("faxgw_pages_received_total", q.pages_received);
    e.metric("faxgw_faxes_received_total", "counter", "Faxes received.");
    e.sample("faxgw_faxes_received_total", q.faxes_received);
    e.metric("faxgw_line_seconds_total", "counter", "Line time of calls in seconds, by direction.");
    e.sample("faxgw_line_seconds_total", "direction", "out", q.line_seconds_sent);
    e.sample("faxgw_line_seconds_total", "direction", "in", q.line_seconds_received);
    e.metric("faxgw_lines", "gauge", "Lines the gateway has (lines.count).");
    e.sample("faxgw_lines", f.lines);
    e.metric("faxgw_lines_busy", "gauge", "Lines in a call now, outgoing or incoming.");
    e.sample("faxgw_lines_busy", f.lines_busy);
    e.metric("faxgw_jobs_due", "gauge", "Jobs whose time to call has come.");
    e.sample("faxgw_jobs_due", q.jobs_due);
    e.metric("faxgw_oldest_due_job_age_seconds", "gauge",
             "How long the oldest due job has been in the queue, in seconds (0: none due).");
    e.sample("faxgw_oldest_due_job_age_seconds", q.oldest_due ? q.oldest_due->age_seconds : 0);
    e.metric("faxgw_inbound_undelivered", "gauge", "Received faxes not yet handed to mail.");
    e.sample("faxgw_inbound_undelivered", q.inbound_undelivered);
    e.metric("faxgw_render_seconds", "histogram",
             "Time to render a mail's fax document (its attachments, cover and header).");
    for (std::size_t i = 0; i < faxcore::render_buckets.size(); ++i) {
        std::ostringstream bound;
        bound << faxcore::render_buckets[i];
        e.sample("faxgw_render_seconds_bucket", "le", bound.str(), q.renders_within.at(i));
    }
    e.sample("faxgw_render_seconds_bucket", "le", "+Inf", q.renders);
    e.sample("faxgw_render_seconds_sum", q.render_seconds);
    e.sample("faxgw_render_seconds_count", q.renders);
    e.metric("faxgw_outbox_mails", "gauge",
             "Mails of the outbox (notifications, received faxes), by state.");
    e.sample("faxgw_outbox_mails", "state", "queued", outbox.queued);
    e.sample("faxgw_outbox_mails", "state", "sent", outbox.sent);
    e.sample("faxgw_outbox_mails", "state", "failed", outbox.failed);
    e.metric("faxgw_outbox_oldest_queued_age_seconds", "gauge",
             "How long the oldest undelivered mail has waited, in seconds (0: none).");
    e.sample("faxgw_outbox_oldest_queued_age_seconds", outbox.oldest_queued_age.value_or(0));
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

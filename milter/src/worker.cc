// The worker process: one mail at a time through mailgw::submit(), the same
// path as `faxgw submit`, in a process with one thread, so that the
// renderer may fork.
#include <faxgw/milter.h>
#include <faxgw/render.h>
#include <sysexits.h>

#include <csignal>
#include <iostream>

#include "worker_protocol.h"

namespace faxgw::milter {
namespace {

WorkerReply submit_one(const WorkerRequest& request, const mailgw::Settings& mail,
                       faxcore::Queue& queue) {
    auto result = mailgw::submit(request.message, request.envelope, mail, queue);
    WorkerReply reply;
    reply.verdict = result.verdict;
    reply.message = result.message;
    for (std::int64_t id : result.enqueued.jobs) {
        auto job = queue.job(id);
        reply.jobs.emplace_back(id, job ? job->number : std::string());
    }
    return reply;
}

// The text renderer's fonts and layout engine load on first use (a good
// part of the cost of a one-page mail): load them before the first mail.
void warm_up(const mailgw::Settings& mail) {
    try {
        render::render_text("faxgw", mail.render);
    } catch (const std::exception& e) {
        std::cerr << "faxgw milter-worker: warning: renderer warm-up failed: " << e.what()
                  << std::endl;
    }
}

}  // namespace

int serve_worker(int fd, const mailgw::Settings& mail, faxcore::Queue& queue) {
    // The filter ends a worker by closing its socket, after the mail in
    // hand: a SIGTERM to the whole service must not cut a mail in half.
    std::signal(SIGTERM, SIG_IGN);
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGHUP, SIG_IGN);
    std::signal(SIGPIPE, SIG_IGN);
    warm_up(mail);
    try {
        send_reply(fd, {mailgw::Verdict::queued, "ready", {}});  // the pool waits for this
        while (auto request = receive_request(fd))
            send_reply(fd, submit_one(*request, mail, queue));
    } catch (const ChannelError& e) {
        std::cerr << "faxgw milter-worker: " << e.what() << std::endl;
        return EX_IOERR;
    }
    return EX_OK;
}

}  // namespace faxgw::milter

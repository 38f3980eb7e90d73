// The worker process: one mail at a time through submit(), the same path
// as `faxgw submit`, in a process with one thread, so that the renderer
// may fork.
#include <faxgw/render.h>
#include <faxgw/submit_worker.h>
#include <sysexits.h>

#include <csignal>
#include <iostream>

namespace faxgw::mailgw {
namespace {

WorkerReply submit_one(const WorkerRequest& request, const Settings& mail, faxcore::Queue& queue) {
    auto result = submit(request.message, request.envelope, mail, queue);
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
void warm_up(const Settings& mail) {
    try {
        render::render_text("faxgw", mail.render);
    } catch (const std::exception& e) {
        std::cerr << "faxgw submit-worker: warning: renderer warm-up failed: " << e.what()
                  << std::endl;
    }
}

}  // namespace

int serve_worker(int fd, const Settings& mail, faxcore::Queue& queue,
                 const std::string& config_digest) {
    // The pool ends a worker by closing its socket, after the mail in
    // hand: a SIGTERM to the whole service must not cut a mail in half.
    std::signal(SIGTERM, SIG_IGN);
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGHUP, SIG_IGN);
    std::signal(SIGPIPE, SIG_IGN);
    warm_up(mail);
    try {
        send_reply(fd, {Verdict::queued, "ready", {}, false});  // the pool waits for this
        while (auto request = receive_request(fd)) {
            if (!request->config_digest.empty() && request->config_digest != config_digest) {
                // Settings changed since this worker read them (or the
                // request comes with other ones): a fresh worker reads them.
                send_reply(fd, {Verdict::try_later, "other settings", {}, true});
                return EX_OK;
            }
            send_reply(fd, submit_one(*request, mail, queue));
        }
    } catch (const ChannelError& e) {
        std::cerr << "faxgw submit-worker: " << e.what() << std::endl;
        return EX_IOERR;
    }
    return EX_OK;
}

}  // namespace faxgw::mailgw

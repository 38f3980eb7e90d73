// The corpus of real-world-shaped mails (samples/mail/corpus/): each
// NAME.eml goes through mailgw::submit() into a real queue and must end as
// its NAME.expect says. One test case per mail, named after it.
//
// NAME.expect holds "key = value" lines ('#' starts a comment):
//   sender = a@b                    envelope sender (else From:)
//   recipients = x@fax... y@fax...  envelope recipients, split at blanks
//                                   outside double quotes (else To: and Cc:)
//   exit = 0                        the sysexits code submit() returns
//                                   ("0 65": either, where it depends on
//                                   what the machine has installed)
//   message = ...                   on a refusal: submit()'s line, exactly
//   message_contains = ...          ... or a piece of it
//   jobs = +15551001 +15551002      when queued: the jobs' numbers, in order
//                                   (a refusal must queue none)
//   dials = 15551001 15551002,,22   ... and what their lines dial
//   pages = 3                       ... and the pages of the fax
//   part = TYPE [FILE NAME]         parse_message()'s parts, one line each
//                                   in order (checked if any is given)
//   text_contains = ...             a piece of the text parts
//   from = Name <address>           the decoded From:
#include <faxgw/mailgw.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "mime.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace faxgw;

namespace {

using faxgw::test::slurp;
using faxgw::test::TempDir;

const fs::path corpus_dir = fs::path(FAXGW_SOURCE_DIR) / "samples" / "mail" / "corpus";

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

using Expect = std::multimap<std::string, std::string>;

Expect read_expect(const fs::path& p) {
    Expect e;
    std::istringstream in(slurp(p));
    int number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        line = trim(line);
        if (line.empty() || line.front() == '#') continue;
        size_t eq = line.find('=');
        BOOST_TEST_REQUIRE(eq != std::string::npos, p.filename().string()
                                                        << ":" << number << ": no '=' in \"" << line
                                                        << "\"");
        e.emplace(trim(line.substr(0, eq)), trim(line.substr(eq + 1)));
    }
    return e;
}

// Words split at blanks, except blanks inside double quotes.
std::vector<std::string> words(const std::string& s) {
    std::vector<std::string> out;
    std::string word;
    bool quoted = false;
    for (char c : s) {
        if (c == '"') quoted = !quoted;
        if (!quoted && (c == ' ' || c == '\t')) {
            if (!word.empty()) out.push_back(std::move(word));
            word.clear();
        } else {
            word += c;
        }
    }
    if (!word.empty()) out.push_back(word);
    return out;
}

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
    return out;
}

const std::string* one(const Expect& e, const std::string& key) {
    auto it = e.find(key);
    return it == e.end() ? nullptr : &it->second;
}

void check_parts(const std::string& name, const std::string& raw, const Expect& expect) {
    mailgw::ParsedMessage m = mailgw::parse_message(raw);
    std::vector<std::string> got, want;
    for (const auto& p : m.parts)
        got.push_back(p.filename.empty() ? p.type : p.type + " " + p.filename);
    for (auto [it, end] = expect.equal_range("part"); it != end; ++it) want.push_back(it->second);
    if (!want.empty()) {
        std::string g, w;
        for (const auto& s : got) g += "[" + s + "]";
        for (const auto& s : want) w += "[" + s + "]";
        BOOST_CHECK_MESSAGE(g == w, name << ": parts: got " << g << ", want " << w);
    }
    std::string text;
    for (const auto& p : m.parts)
        if (p.kind == mailgw::MailPart::Kind::text) text += p.content + "\n";
    for (auto [it, end] = expect.equal_range("text_contains"); it != end; ++it)
        BOOST_CHECK_MESSAGE(
            text.find(it->second) != std::string::npos,
            name << ": text: got \"" << text << "\", want it to contain \"" << it->second << "\"");
    if (const std::string* from = one(expect, "from")) {
        std::string g = m.from.name + " <" + m.from.address + ">";
        BOOST_CHECK_MESSAGE(g == *from, name << ": from: got " << g << ", want " << *from);
    }
}

void check_mail(const std::string& name) {
    const std::string raw = slurp(corpus_dir / (name + ".eml"));
    const Expect expect = read_expect(corpus_dir / (name + ".expect"));
    for (const auto& [key, value] : expect) {
        static const char* known[] = {
            "sender", "recipients", "exit",          "message", "message_contains", "jobs", "dials",
            "pages",  "part",       "text_contains", "from"};
        BOOST_CHECK_MESSAGE(std::find(std::begin(known), std::end(known), key) != std::end(known),
                            name << ".expect: unknown key " << key);
    }
    const std::string* want_exit = one(expect, "exit");
    BOOST_TEST_REQUIRE(want_exit != nullptr, name << ".expect has no exit");

    // The envelope as Postfix's pipe(8) would pass it; the headers' where
    // the expectation gives none.
    mailgw::Envelope headers = mailgw::envelope_of(raw);
    mailgw::Envelope envelope;
    envelope.sender = one(expect, "sender") ? *one(expect, "sender") : headers.sender;
    envelope.client_address = "127.0.0.1";
    envelope.recipients =
        one(expect, "recipients") ? words(*one(expect, "recipients")) : headers.recipients;

    TempDir dir;
    auto queue = faxcore::Queue::open(dir.path / "var");
    mailgw::Settings settings;
    mailgw::SubmitResult r = mailgw::submit(raw, envelope, settings, *queue);

    int got_exit = static_cast<int>(r.code);
    auto exits = words(*want_exit);
    BOOST_CHECK_MESSAGE(
        std::find(exits.begin(), exits.end(), std::to_string(got_exit)) != exits.end(),
        name << ": exit: got " << got_exit << " (" << r.message << "), want " << *want_exit);

    auto jobs = queue->jobs();
    std::sort(jobs.begin(), jobs.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    std::vector<std::string> numbers, dials;
    for (const auto& j : jobs) {
        numbers.push_back(j.number);
        dials.push_back(j.dial);
    }
    if (got_exit != 0) {
        // Refused: nothing queued, and the sender reads why.
        BOOST_CHECK_MESSAGE(jobs.empty(),
                            name << ": jobs: got \"" << joined(numbers) << "\", want none");
        if (const std::string* m = one(expect, "message"))
            BOOST_CHECK_MESSAGE(r.message == *m, name << ": message: got \"" << r.message
                                                      << "\", want \"" << *m << "\"");
        if (const std::string* m = one(expect, "message_contains"))
            BOOST_CHECK_MESSAGE(r.message.find(*m) != std::string::npos,
                                name << ": message: got \"" << r.message
                                     << "\", want it to contain \"" << *m << "\"");
    } else {
        std::string want_jobs = one(expect, "jobs") ? joined(words(*one(expect, "jobs"))) : "";
        BOOST_CHECK_MESSAGE(joined(numbers) == want_jobs, name << ": jobs: got \""
                                                               << joined(numbers) << "\", want \""
                                                               << want_jobs << "\"");
        if (const std::string* d = one(expect, "dials"))
            BOOST_CHECK_MESSAGE(joined(dials) == joined(words(*d)),
                                name << ": dials: got \"" << joined(dials) << "\", want \""
                                     << joined(words(*d)) << "\"");
        if (const std::string* p = one(expect, "pages"))
            for (const auto& j : jobs)
                BOOST_CHECK_MESSAGE(std::to_string(j.pages) == *p, name << ": pages of " << j.number
                                                                        << ": got " << j.pages
                                                                        << ", want " << *p);
    }
    check_parts(name, raw, expect);
}

std::vector<std::string> corpus_names(const std::string& extension) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(corpus_dir, ec))
        if (e.path().extension() == extension) names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

// One test case per mail, named after it, registered before the tests run
// (so --run_test=outlook-tnef runs one mail).
bool init_corpus() {
    auto& suite = boost::unit_test::framework::master_test_suite();
    suite.p_name.value = "mailgw corpus";
    for (const std::string& name : corpus_names(".eml"))
        suite.add(boost::unit_test::make_test_case(
            std::function<void()>([name] { check_mail(name); }), name, __FILE__, __LINE__));
    return true;
}

}  // namespace

int main(int argc, char* argv[]) {
    return boost::unit_test::unit_test_main(&init_corpus, argc, argv);
}

BOOST_AUTO_TEST_CASE(corpus_is_complete) {
    auto mails = corpus_names(".eml");
    auto expects = corpus_names(".expect");
    BOOST_TEST(mails.size() >= 20u);
    BOOST_TEST(mails == expects, "every NAME.eml needs a NAME.expect and back");
    for (const auto& name : mails) {
        auto size = fs::file_size(corpus_dir / (name + ".eml"));
        BOOST_CHECK_MESSAGE(size < 50u * 1024u,
                            name << ".eml is " << size << " bytes, more than 50 KB");
    }
}

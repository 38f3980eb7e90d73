#define BOOST_TEST_MODULE mailgw mime
#include <boost/test/unit_test.hpp>

#include "mime.h"
#include "text.h"

#include <faxgw/mailgw.h>

#include <fstream>
#include <sstream>

using namespace faxgw::mailgw;
using Kind = MailPart::Kind;

namespace {

std::string sample(const std::string& name) {
    std::ifstream in(std::string(FAXGW_SOURCE_DIR) + "/samples/mail/" + name, std::ios::binary);
    BOOST_TEST_REQUIRE(in.good(), "cannot open sample " << name);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string crlf(const std::string& lf) {
    std::string out;
    for (char c : lf) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(encoded_words) {
    BOOST_TEST(decode_header_text("=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?=") == "Jürgen Müller");
    BOOST_TEST(decode_header_text("=?iso-8859-1?q?Gr=FC=DFe?= aus =?utf-8?B?TcO8bmNoZW4=?=") ==
               "Grüße aus München");
    // White space between adjacent encoded words disappears.
    BOOST_TEST(decode_header_text("=?utf-8?q?a?= =?utf-8?q?b?=") == "ab");
    BOOST_TEST(decode_header_text("plain subject") == "plain subject");
    BOOST_TEST(decode_header_text("=?bogus-charset?q?x=E9?=") == "xé");
}

BOOST_AUTO_TEST_CASE(charsets) {
    BOOST_TEST(to_utf8("caf\xe9", "iso-8859-1") == "café");
    BOOST_TEST(to_utf8("\xa4", "iso-8859-15") == "€");
    BOOST_TEST(to_utf8("caf\xc3\xa9", "us-ascii") == "café");  // mislabelled UTF-8
    BOOST_TEST(to_utf8("caf\xe9", "") == "café");               // Latin-1 fallback
    BOOST_TEST(to_utf8("caf\xe9", "utf-8") == "café");          // invalid UTF-8
    BOOST_TEST(valid_utf8("Grüße"));
    BOOST_TEST(!valid_utf8("\xc3"));
}

BOOST_AUTO_TEST_CASE(plain_text_sample) {
    for (const std::string& raw : {sample("plain-text.eml"), crlf(sample("plain-text.eml"))}) {
        ParsedMessage m = parse_message(raw);
        BOOST_TEST(m.message_id == "<plain-text.sample@example.org>");
        BOOST_TEST(m.from.name == "Jürgen Müller");
        BOOST_TEST(m.from.address == "juergen@example.org");
        BOOST_TEST(m.subject == "Grüße aus München");
        BOOST_TEST(m.date == "Mon, 3 Mar 2025 09:30:00 +0100");
        BOOST_TEST_REQUIRE(m.parts.size() == 1u);
        BOOST_TEST((m.parts[0].kind == Kind::text));
        const std::string& text = m.parts[0].content;
        BOOST_TEST(text.find("Bestätigung unseres Gesprächs") != std::string::npos);
        BOOST_TEST(text.find("Die Lieferung von 40 Stück") != std::string::npos);  // soft break
        BOOST_TEST(text.find("€ 12,50") != std::string::npos);
        BOOST_TEST(text.find('\r') == std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(pdf_attachment_sample) {
    ParsedMessage m = parse_message(sample("pdf-attachment.eml"));
    BOOST_TEST(m.from.name == "Max Mustermann");
    BOOST_TEST(m.subject == "Contract, three pages");
    BOOST_TEST_REQUIRE(m.parts.size() == 2u);
    BOOST_TEST((m.parts[0].kind == Kind::text));
    BOOST_TEST(m.parts[0].content.find("Dear Jane") != std::string::npos);
    BOOST_TEST((m.parts[1].kind == Kind::pdf));
    BOOST_TEST(m.parts[1].filename == "contract.pdf");
    BOOST_TEST(m.parts[1].content.starts_with("%PDF-"));
    BOOST_TEST(m.parts[1].content.find("%%EOF") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(alternative_takes_plain_text) {
    ParsedMessage m = parse_message(sample("to-own-did.eml"));
    BOOST_TEST_REQUIRE(m.parts.size() == 1u);
    BOOST_TEST(m.parts[0].type == "text/plain");
    BOOST_TEST(m.parts[0].content.find("<p>") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(other_samples) {
    struct Row {
        const char* file;
        const char* subject;
        const char* from;
    };
    const Row rows[] = {
        {"two-numbers.eml", "Meeting agenda for both offices", "alice@example.org"},
        {"busy.eml", "Order confirmation (this line is always busy)", "bob@example.org"},
        {"no-answer.eml", "Nobody answers this number", "carol@example.org"},
        {"refused-sender.eml", "You have won!", "offers@spammer.invalid"},
    };
    for (const Row& row : rows) {
        BOOST_TEST_INFO("sample " << row.file);
        ParsedMessage m = parse_message(sample(row.file));
        BOOST_TEST(m.subject == row.subject);
        BOOST_TEST(m.from.address == row.from);
        BOOST_TEST(!m.message_id.empty());
        BOOST_TEST_REQUIRE(m.parts.size() == 1u);
        BOOST_TEST((m.parts[0].kind == Kind::text));
    }
}

BOOST_AUTO_TEST_CASE(odd_parts) {
    std::string raw =
        "From: a@b.example (Ann Example)\n"
        "Subject: parts\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=XX\n"
        "\n"
        "--XX\n"
        "Content-Type: text/plain; charset=iso-8859-1\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "R3L832U=\n"
        "--XX\n"
        "Content-Type: text/plain\n"
        "\n"
        "   \n\n"
        "--XX\n"
        "Content-Type: application/octet-stream\n"
        "Content-Disposition: attachment; filename*=utf-8''Scan%20Gr%C3%BC%C3%9Fe.PDF\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "JVBERi0xLjQK\n"
        "--XX\n"
        "Content-Type: image/png; name=\"=?utf-8?q?Bild=C3=A4.png?=\"\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "iVBORw0KGgo=\n"
        "--XX--\n";
    ParsedMessage m = parse_message(raw);
    BOOST_TEST(m.from.name == "Ann Example");
    BOOST_TEST(m.from.address == "a@b.example");
    BOOST_TEST(m.message_id.empty());
    BOOST_TEST_REQUIRE(m.parts.size() == 3u);  // the blank text part is gone
    BOOST_TEST(m.parts[0].content == "Grüße");
    BOOST_TEST((m.parts[1].kind == Kind::pdf));
    BOOST_TEST(m.parts[1].filename == "Scan Grüße.PDF");
    BOOST_TEST(m.parts[1].content == "%PDF-1.4\n");
    BOOST_TEST((m.parts[2].kind == Kind::other));
    BOOST_TEST(m.parts[2].type == "image/png");
    BOOST_TEST(m.parts[2].filename == "Bildä.png");
}

BOOST_AUTO_TEST_CASE(mailboxes) {
    auto m = parse_mailbox("\"Doe, Jane\" <jane@example.org>");
    BOOST_TEST(m.name == "Doe, Jane");
    BOOST_TEST(m.address == "jane@example.org");
    m = parse_mailbox("jane@example.org");
    BOOST_TEST(m.name == "");
    BOOST_TEST(m.address == "jane@example.org");
}

BOOST_AUTO_TEST_CASE(broken_rfc2231_name_is_kept) {
    std::string raw =
        "Subject: x\nMIME-Version: 1.0\n"
        "Content-Type: application/octet-stream\n"
        "Content-Disposition: attachment; filename*=utf-8''100%zz.pdf\n\nJVBERi0xLjQK\n";
    ParsedMessage m = parse_message(raw);
    BOOST_TEST_REQUIRE(m.parts.size() == 1u);
    BOOST_TEST(m.parts[0].filename == "100%zz.pdf");
    BOOST_TEST((m.parts[0].kind == Kind::pdf));
    BOOST_TEST(m.parts[0].content == "JVBERi0xLjQK\n");  // no encoding declared: as is
}

BOOST_AUTO_TEST_CASE(envelope_from_headers) {
    Envelope e = envelope_of(sample("two-numbers.eml"));
    BOOST_TEST(e.sender == "alice@example.org");
    BOOST_TEST_REQUIRE(e.recipients.size() == 2u);
    BOOST_TEST(e.recipients[0] == "5551001@fax.example.com");
    BOOST_TEST(e.recipients[1] == "5551002@fax.example.com");

    e = envelope_of(sample("plain-text.eml"));
    BOOST_TEST(e.sender == "juergen@example.org");

    e = envelope_of("From: x@y.example\nTo: \"Doe, Jane\" <jane.doe=5551002@fax.example.com>,\n"
                    " 5551001@fax.example.com\nCc: <5551003@fax.example.com>\n\nbody\n");
    BOOST_TEST_REQUIRE(e.recipients.size() == 3u);
    BOOST_TEST(e.recipients[0] == "jane.doe=5551002@fax.example.com");
    BOOST_TEST(e.recipients[1] == "5551001@fax.example.com");
    BOOST_TEST(e.recipients[2] == "5551003@fax.example.com");
}

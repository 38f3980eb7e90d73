#define BOOST_TEST_MODULE mailgw mime
#include <faxgw/mailgw.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>

#include "mime.h"
#include "options.h"
#include "sniff.h"
#include "test_support.h"
#include "text.h"
#include "tnef.h"

using namespace faxgw::mailgw;
using Kind = MailPart::Kind;

namespace {

using faxgw::test::TempDir;
std::string sample(const std::string& name) { return faxgw::test::sample_mail(name); }

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
    BOOST_TEST(to_utf8("caf\xe9", "") == "café");              // Latin-1 fallback
    BOOST_TEST(to_utf8("caf\xe9", "utf-8") == "café");         // invalid UTF-8
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
    // No encoding declared: the bytes are the base64 text as is, and text
    // is what they are, whatever the name says.
    BOOST_TEST((m.parts[0].kind == Kind::text));
    BOOST_TEST(m.parts[0].content == "JVBERi0xLjQK\n");
}

namespace {

std::string corpus(const std::string& name) { return sample("corpus/" + name); }

std::string corpus_file(const std::string& name) { return sample("corpus/files/" + name); }

}  // namespace

BOOST_AUTO_TEST_CASE(sniffing) {
    std::string pdf = corpus_file("lieferschein-1-page.pdf");
    BOOST_TEST(sniff_type(pdf) == "application/pdf");
    BOOST_TEST(sniff_type(corpus_file("photo.jpeg")) == "image/jpeg");
    BOOST_TEST(sniff_type(corpus_file("report.zip")) == "application/zip");
    // Generic or missing labels give way to the bytes.
    BOOST_TEST(real_type("application/octet-stream", pdf) == "application/pdf");
    BOOST_TEST(real_type("application/x-download", corpus_file("vertrag.docx")) ==
               "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
    // text/plain that is a PDF or binary is no text; text stays text.
    BOOST_TEST(real_type("text/plain", pdf) == "application/pdf");
    BOOST_TEST(real_type("text/plain", std::string("\x01\x02\x00\xff\xfe binary", 13)) !=
               "text/plain");
    BOOST_TEST(real_type("text/plain", "From: a@b\nTo: c@d\n\nforwarded inline\n") == "text/plain");
    BOOST_TEST(real_type("text/plain", "caf\xe9 ol\xe9, Latin-1 text\n") == "text/plain");
    // PDF and PostScript in ASCII, labelled text, are what they are...
    BOOST_TEST(real_type("text/plain", "%!PS-Adobe-3.0\n%%Pages: 1\nshowpage\n") ==
               "application/postscript");
    BOOST_TEST(real_type("text/plain", "%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n") ==
               "application/pdf");
    BOOST_TEST(real_type("text/plain", "Prices: 50% off until Friday.\n") == "text/plain");
    // ...but plain UTF-8 text labelled text is taken as the sender's text
    // without libmagic, even when it is a picture written in text.
    BOOST_TEST(
        real_type("text/plain",
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"9\" height=\"9\"/>\n") ==
        "text/plain");
    BOOST_TEST(real_type("text/plain", "Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\n") == "text/plain");
    // A specific label stands unless the bytes are something a fax shows.
    BOOST_TEST(real_type("application/zip", corpus_file("vertrag.docx")) == "application/zip");
    BOOST_TEST(real_type("image/png", pdf) == "application/pdf");
    BOOST_TEST(real_type("application/octet-stream", "") == "application/octet-stream");
}

BOOST_AUTO_TEST_CASE(tnef_streams) {
    auto inside = tnef_attachments(corpus_file("winmail-pdf.dat"));
    BOOST_TEST_REQUIRE(inside.size() == 1u);
    BOOST_TEST(inside[0].filename == "Angebot 2025-114.pdf");
    BOOST_TEST(inside[0].type == "application/pdf");
    BOOST_TEST(inside[0].content == corpus_file("angebot-2-pages.pdf"));

    inside = tnef_attachments(corpus_file("winmail-zip.dat"));
    BOOST_TEST_REQUIRE(inside.size() == 1u);
    BOOST_TEST(inside[0].filename == "Belege März.zip");  // UTF-16 long name
    BOOST_TEST(inside[0].type == "");
    BOOST_TEST(inside[0].content == corpus_file("report.zip"));

    BOOST_CHECK_THROW(tnef_attachments("not tnef at all"), TnefError);
    BOOST_CHECK_THROW(tnef_attachments(""), TnefError);
    // Cut short anywhere: an error or fewer attachments, never a crash.
    std::string whole = corpus_file("winmail-pdf.dat");
    for (std::size_t n = 0; n < whole.size(); n += 97) {
        try {
            tnef_attachments(whole.substr(0, n));
        } catch (const TnefError&) {
        }
    }
}

BOOST_AUTO_TEST_CASE(tnef_attachments_are_parts) {
    ParsedMessage m = parse_message(corpus("outlook-tnef.eml"));
    BOOST_TEST_REQUIRE(m.parts.size() == 2u);
    BOOST_TEST((m.parts[0].kind == Kind::text));
    BOOST_TEST(m.parts[0].content.find("Mit freundlichen Grüßen") != std::string::npos);
    BOOST_TEST((m.parts[1].kind == Kind::pdf));
    BOOST_TEST(m.parts[1].filename == "Angebot 2025-114.pdf");
    BOOST_TEST(m.parts[1].content.starts_with("%PDF-"));

    // A winmail.dat that is none stays one attachment, refused by its name.
    std::string raw =
        "Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
        "--B\nContent-Type: application/ms-tnef; name=winmail.dat\nContent-Transfer-Encoding: "
        "base64\n\n"
        "bm90IGEgVE5FRiBzdHJlYW0=\n--B--\n";
    m = parse_message(raw);
    BOOST_TEST_REQUIRE(m.parts.size() == 1u);
    BOOST_TEST(m.parts[0].type == "application/ms-tnef");
    BOOST_TEST(m.parts[0].filename == "winmail.dat");
}

BOOST_AUTO_TEST_CASE(pdf_labelled_text_is_no_text) {
    ParsedMessage m = parse_message(corpus("pdf-labelled-text.eml"));
    BOOST_TEST_REQUIRE(m.parts.size() == 1u);
    BOOST_TEST((m.parts[0].kind == Kind::pdf));
    BOOST_TEST(m.parts[0].type == "application/pdf");
    BOOST_TEST(m.parts[0].content.starts_with("%PDF-"));
}

BOOST_AUTO_TEST_CASE(format_flowed) {
    std::string raw =
        "Subject: x\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8; format=flowed\n\n"
        "one two \nthree\n"
        "> quoted \n> on\n"
        " From here, stuffed\n"
        "last \n\n"
        "-- \nsignature\n";
    ParsedMessage m = parse_message(raw);
    BOOST_TEST_REQUIRE(m.parts.size() == 1u);
    BOOST_TEST(m.parts[0].content ==
               "one two three\n> quoted on\nFrom here, stuffed\nlast \n-- \nsignature\n");

    raw =
        "Subject: x\nMIME-Version: 1.0\nContent-Type: text/plain; format=flowed; delsp=yes\n\n"
        "Zusammen \ngeschrieben\n";
    BOOST_TEST(parse_message(raw).parts.at(0).content == "Zusammengeschrieben\n");
    // Without format=flowed trailing spaces are kept and lines stay lines.
    raw = "Subject: x\nMIME-Version: 1.0\nContent-Type: text/plain\n\none \ntwo\n";
    BOOST_TEST(parse_message(raw).parts.at(0).content == "one \ntwo\n");
}

BOOST_AUTO_TEST_CASE(rfc2231_continuations) {
    std::string raw =
        "Subject: x\nMIME-Version: 1.0\n"
        "Content-Type: application/pdf\n"
        "Content-Disposition: attachment;\n filename*0*=UTF-8''Rechnung%20M%C3%A4rz%20;\n"
        " filename*1*=2025%20lang.pdf\n"
        "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n";
    ParsedMessage m = parse_message(raw);
    BOOST_TEST_REQUIRE(m.parts.size() == 1u);
    BOOST_TEST(m.parts[0].filename == "Rechnung März 2025 lang.pdf");
    raw =
        "Subject: x\nMIME-Version: 1.0\n"
        "Content-Type: application/pdf; name*0=\"plain \"; name*1=\"parts.pdf\"\n\n%PDF-1.4\n";
    BOOST_TEST(parse_message(raw).parts.at(0).filename == "plain parts.pdf");
}

BOOST_AUTO_TEST_CASE(consecutive_texts_are_one) {
    ParsedMessage m = parse_message(corpus("list-footer.eml"));
    BOOST_TEST_REQUIRE(m.parts.size() == 1u);
    BOOST_TEST(m.parts[0].content ==
               "Orders this week: 42 (last week 37).\nOpen backorders: 3.\n\nPriya\n\n"
               "_______________________________________________\norders mailing list\n"
               "orders@lists.example.org\nhttps://lists.example.org/mailman/listinfo/orders\n");
    // Text, document, text: three parts in that order.
    m = parse_message(corpus("apple-inline-pdf.eml"));
    BOOST_TEST_REQUIRE(m.parts.size() == 3u);
    BOOST_TEST((m.parts[1].kind == Kind::pdf));
    BOOST_TEST(m.parts[2].content.find("zurueckfaxen") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(attached_mail_is_forwarded) {
    ParsedMessage m = parse_message(corpus("forwarded-rfc822.eml"));
    BOOST_TEST_REQUIRE(m.parts.size() == 2u);
    const std::string& text = m.parts[0].content;
    BOOST_TEST(text.find("Please fax the order below") != std::string::npos);
    BOOST_TEST(text.find("---------- Forwarded message ----------\nFrom: Purchasing "
                         "<purchasing@buyer.example.com>") != std::string::npos);
    BOOST_TEST(text.find("Hello Anna, our order 88213 is attached.") != std::string::npos);
    BOOST_TEST(m.parts[1].filename == "PO-88213.pdf");
}

// Apple Mail's rich text with a PDF placed in it: the PDF is only in the
// HTML alternative (multipart/mixed {html, pdf, html}).
BOOST_AUTO_TEST_CASE(alternative_with_documents_in_rich_part) {
    std::string raw =
        "Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=A\n\n"
        "--A\nContent-Type: text/plain; charset=us-ascii\n\nSee the PDF.\n"
        "--A\nContent-Type: multipart/mixed; boundary=M\n\n"
        "--M\nContent-Type: text/html\n\n<p>See the PDF.</p>\n"
        "--M\nContent-Type: application/pdf; name=a.pdf\nContent-Disposition: inline; "
        "filename=a.pdf\n\n%PDF-1.4\n"
        "--M\nContent-Type: text/html\n\n<p>Bye</p>\n"
        "--M--\n--A--\n";
    ParsedMessage m = parse_message(raw);
    BOOST_TEST_REQUIRE(m.parts.size() == 2u);
    BOOST_TEST(m.parts[0].content == "See the PDF.");
    BOOST_TEST(m.parts[1].filename == "a.pdf");
    // multipart/related (an HTML body's logo) adds nothing.
    raw =
        "Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=A\n\n"
        "--A\nContent-Type: text/plain\n\nHello\n"
        "--A\nContent-Type: multipart/related; boundary=R\n\n"
        "--R\nContent-Type: text/html\n\n<img src=cid:logo>\n"
        "--R\nContent-Type: image/png; name=image001.png\n\n\x89PNG\r\n\x1a\n"
        "--R--\n--A--\n";
    BOOST_TEST(parse_message(raw).parts.size() == 1u);
}

BOOST_AUTO_TEST_CASE(envelope_from_headers) {
    Envelope e = envelope_of(sample("two-numbers.eml"));
    BOOST_TEST(e.sender == "alice@example.org");
    BOOST_TEST_REQUIRE(e.recipients.size() == 2u);
    BOOST_TEST(e.recipients[0] == "5551001@fax.example.com");
    BOOST_TEST(e.recipients[1] == "5551002@fax.example.com");

    e = envelope_of(sample("plain-text.eml"));
    BOOST_TEST(e.sender == "juergen@example.org");

    e = envelope_of(
        "From: x@y.example\nTo: \"Doe, Jane\" <jane.doe=5551002@fax.example.com>,\n"
        " 5551001@fax.example.com\nCc: <5551003@fax.example.com>\n\nbody\n");
    BOOST_TEST_REQUIRE(e.recipients.size() == 3u);
    BOOST_TEST(e.recipients[0] == "jane.doe=5551002@fax.example.com");
    BOOST_TEST(e.recipients[1] == "5551001@fax.example.com");
    BOOST_TEST(e.recipients[2] == "5551003@fax.example.com");
}

BOOST_AUTO_TEST_CASE(html_with_inline_pictures_when_preferred) {
    std::string raw =
        "Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=A\n\n"
        "--A\nContent-Type: text/plain\n\nHello\n"
        "--A\nContent-Type: multipart/related; boundary=R\n\n"
        "--R\nContent-Type: text/html; charset=iso-8859-1\n\n<p>Gr\xfc\xdf"
        "e <img src=cid:logo@x></p>\n"
        "--R\nContent-Type: image/png; name=image001.png\nContent-ID: <logo@x>\n"
        "Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
        "--R--\n--A--\n";
    auto plain = parse_message(raw, false);
    BOOST_TEST_REQUIRE(plain.parts.size() == 1u);
    BOOST_TEST((plain.parts[0].kind == Kind::text));
    auto html = parse_message(raw, true);
    BOOST_TEST_REQUIRE(html.parts.size() == 1u);
    BOOST_TEST((html.parts[0].kind == Kind::html));
    BOOST_TEST(html.parts[0].content.find("Grüße") != std::string::npos, html.parts[0].content);
    BOOST_TEST_REQUIRE(html.parts[0].inline_images.count("logo@x") == 1u);
    BOOST_TEST(html.parts[0].inline_images.at("logo@x").starts_with("\x89PNG"));
    // An HTML-only mail is HTML whatever the preference.
    auto only = parse_message("Subject: y\nContent-Type: text/html\n\n<h1>Hi</h1>\n", false);
    BOOST_TEST_REQUIRE(only.parts.size() == 1u);
    BOOST_TEST((only.parts[0].kind == Kind::html));
}

// Hostile mail: every case here crashed, looped or lost text before.

namespace {

// `depth` multiparts, each the only part of the one around it, with a line
// of text at the bottom.
std::string nested_multiparts(int depth) {
    std::string raw = "Subject: deep\nMIME-Version: 1.0\n";
    for (int i = 0; i < depth; ++i)
        raw += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
               std::to_string(i) + "\n";
    raw += "Content-Type: text/plain\n\nat the bottom\n";
    for (int i = depth - 1; i >= 0; --i) raw += "--b" + std::to_string(i) + "--\n";
    return raw;
}

// `depth` mails, each attached (message/rfc822) to the one around it.
std::string nested_mails(int depth) {
    std::string raw;
    for (int i = 0; i < depth; ++i) raw += "Subject: fwd\nContent-Type: message/rfc822\n\n";
    return raw + "Subject: inner\n\ninnermost text\n";
}

std::string message_error(const std::string& raw) {
    try {
        parse_message(raw);
    } catch (const MessageError& e) {
        return e.what();
    }
    return "(no MessageError)";
}

}  // namespace

// std::regex recursed once per character of the Subject and crashed.
BOOST_AUTO_TEST_CASE(a_long_subject_tag_is_read_without_a_regex) {
    const std::string filler(60000, 'x');
    BOOST_CHECK_NO_THROW(parse_fax_options("", "[fax: " + filler));  // never closed: no tag
    BOOST_TEST(subject_without_options("Hi [fax: " + filler) == "Hi [fax: " + filler);
    const FaxOptions o = parse_fax_options("", "Re: [ FAX :" + std::string(60000, ' ') + "fine]");
    BOOST_TEST((o.resolution == faxgw::render::Resolution::fine));
    BOOST_TEST(subject_without_options("a [Fax: fine] b [fax:a4]c") == "a  b c");
    BOOST_TEST(subject_without_options("[fax] [fax: nocover]") == "[fax]");
    // An unknown option is quoted short and printable in the refusal.
    try {
        parse_fax_options("", "[fax: " + filler + std::string(1, '\0') + "]");
        BOOST_FAIL("no OptionError");
    } catch (const OptionError& e) {
        const std::string what = e.what();
        BOOST_TEST(what.size() < 400u);
        BOOST_TEST(what.find('\0') == std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(deep_nesting_is_refused_before_it_is_walked) {
    // 50,000 levels overflowed the stack (in mimetic's parser and the walk).
    BOOST_TEST(message_error(nested_multiparts(50000)) ==
               "message is nested more than 32 levels deep");
    BOOST_TEST(message_error(nested_mails(50000)) == "message is nested more than 32 levels deep");
    // As deep as the limit is fine.
    ParsedMessage m = parse_message(nested_multiparts(max_mime_depth));
    BOOST_TEST_REQUIRE(m.parts.size() == 1u);
    BOOST_TEST(m.parts[0].content == "at the bottom");  // the line end goes with the delimiter
    m = parse_message(nested_mails(max_mime_depth - 1));
    BOOST_TEST_REQUIRE(m.parts.size() == 1u);
    BOOST_TEST(m.parts[0].content.find("innermost text") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(part_count_and_header_size_are_bounded) {
    std::string raw = "Subject: many\nContent-Type: multipart/mixed; boundary=B\n\n";
    for (int i = 0; i < max_mime_parts; ++i) raw += "--B\n\nx\n";
    raw += "--B--\n";
    BOOST_TEST(message_error(raw) == "message has more than 1000 MIME parts");
    // A digest's parts are mails: each counts as two.
    std::string digest = "Subject: d\nContent-Type: multipart/digest; boundary=D\n\n";
    for (int i = 0; i < max_mime_parts / 2; ++i) digest += "--D\n\nSubject: s\n\nbody\n";
    BOOST_TEST(message_error(digest + "--D--\n") == "message has more than 1000 MIME parts");

    const std::string big_header =
        "Subject: x\nX-Big: " + std::string(max_header_bytes, 'h') + "\n\nbody\n";
    BOOST_TEST(message_error(big_header) == "message has a header section larger than 1024 KB");
    // A long body line without a header is no header.
    BOOST_TEST(parse_message("\n" + std::string(max_header_bytes + 10, 'b')).parts.size() == 1u);
}

// mimetic split a multipart without a boundary at every "--": the mail was
// faxed as its own source, base64 and all.
BOOST_AUTO_TEST_CASE(a_multipart_without_boundary_is_refused) {
    const std::string raw =
        "Subject: x\nContent-Type: multipart/mixed\n\n--\nContent-Type: text/plain\n\nhi\n"
        "--\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0=\n";
    BOOST_TEST(message_error(raw) ==
               "message has a multipart/mixed part without a boundary "
               "parameter");
    BOOST_TEST(message_error("Content-Type: multipart/alternative; boundary=\"\"\n\nx\n") ==
               "message has a multipart/alternative part without a boundary parameter");
}

BOOST_AUTO_TEST_CASE(delimiters_are_whole_lines) {
    // A boundary inside a line, or one that only starts like it, splits nothing;
    // the delimiter's line end is not part of the text.
    const std::string raw =
        "Subject: x\nContent-Type: multipart/mixed; boundary=\"B\"\n\npreamble\n"
        "--B\r\n\r\nsee --B here\r\n--BB\r\nstill text\r\n--B  \r\n"
        "Content-Type: text/plain; name=t.txt\r\n\r\nsecond\r\n--B--\r\nepilogue\n";
    ParsedMessage m = parse_message(raw);
    BOOST_TEST_REQUIRE(m.parts.size() == 2u);
    BOOST_TEST(m.parts[0].content == "see --B here\n--BB\nstill text");
    BOOST_TEST(m.parts[1].content == "second");
}

// An encoded NUL cut the refusal text short; a bidi override turned names round.
BOOST_AUTO_TEST_CASE(control_characters_in_names_are_escaped) {
    const auto name_of = [](const std::string& disposition) {
        const std::string raw =
            "Subject: =?utf-8?q?a=00b=0D=0ABcc:_x?=\nContent-Type: multipart/mixed; boundary=B\n\n"
            "--B\nContent-Type: application/x-thing\nContent-Disposition: attachment; " +
            disposition + "\n\nbytes\n--B--\n";
        ParsedMessage m = parse_message(raw);
        BOOST_TEST(m.subject == "a\\x00b\\x0D\\x0ABcc: x");
        return m.parts.at(0).filename;
    };
    BOOST_TEST(name_of("filename*=utf-8''in%00voice.pdf") == "in\\x00voice.pdf");
    BOOST_TEST(name_of("filename=\"=?utf-8?q?in=00voice.pdf?=\"") == "in\\x00voice.pdf");
    BOOST_TEST(name_of("filename*=utf-8''fdp%E2%80%AE.exe") == "fdp\\u202E.exe");
    BOOST_TEST(name_of("filename*=iso-8859-1''Gr%FC%DFe.pdf") == "Grüße.pdf");
    BOOST_TEST(printable(std::string(500, 'a'), 10) == "aaaaaaaaaa...");
    BOOST_TEST(printable("caf\xe9\t") == "caf\\xE9\t");
}

// Each "=?" that was no encoded word searched the rest of the value for
// "?=" again: for 500,000 of them, some 10^12 steps (the test's time-out
// fails it); read once, they take milliseconds.
BOOST_AUTO_TEST_CASE(encoded_word_candidates_are_read_in_one_pass) {
    std::string value;
    for (int i = 0; i < 500000; ++i) value += "=?a?x?a";
    value += "?= =?utf-8?q?end?=";
    const std::string decoded = decode_header_text(value);
    BOOST_TEST(decoded.ends_with(" end"));
    BOOST_TEST(decoded.size() == value.size() - std::string("=?utf-8?q?end?=").size() + 3);
}

// Reading SPF, DKIM and DMARC verdicts from Authentication-Results header
// fields (RFC 8601). Sender-written text sits inside these fields (the SMTP
// MAIL FROM address, comments, reasons), so they are parsed as the grammar
// says rather than searched: only the method and result at the start of each
// resinfo count. No library in Debian parses Authentication-Results for C++
// (OpenDKIM's and OpenARC's parsers are internal to their milters), hence the
// hand-written tokenizer: one pass, no recursion, no regex.
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "rules.h"
#include "text.h"

namespace faxgw::mailgw {
namespace {

struct Token {
    enum Kind { word, quoted, special } kind;
    std::string text;
};

// One part of the field between two ";": the authserv-id first, then one
// resinfo each.
using Statement = std::vector<Token>;

// Characters that end a word: white space, the start of a comment or a quoted
// string, and the separators of the grammar.
bool ends_word(char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0 || c == '(' || c == '"' || c == ';' ||
           c == '=' || c == '/';
}

// Skips a comment starting at value[i] == '('; comments nest and may quote
// any character with a backslash (RFC 5322 section 3.2.2). An unterminated
// comment runs to the end. Returns the index after it.
std::size_t skip_comment(std::string_view value, std::size_t i) {
    std::size_t depth = 0;
    for (; i < value.size(); ++i) {
        char c = value[i];
        if (c == '\\')
            ++i;
        else if (c == '(')
            ++depth;
        else if (c == ')' && --depth == 0)
            return i + 1;
    }
    return i;
}

// Reads the quoted string starting at value[i] == '"' into `out`, quoted
// pairs unescaped. Returns the index after the closing quote.
std::size_t read_quoted(std::string_view value, std::size_t i, std::string& out) {
    for (++i; i < value.size() && value[i] != '"'; ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) ++i;
        out += value[i];
    }
    return i + 1;
}

// The field value as statements of tokens, comments left out. A ";" inside
// a comment or a quoted string (reason="a; dkim=pass") separates nothing.
std::vector<Statement> statements(std::string_view value) {
    std::vector<Statement> out(1);
    for (std::size_t i = 0; i < value.size();) {
        char c = value[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
        } else if (c == '(') {
            i = skip_comment(value, i);
        } else if (c == '"') {
            Token t{Token::quoted, {}};
            i = read_quoted(value, i, t.text);
            out.back().push_back(std::move(t));
        } else if (c == ';') {
            out.emplace_back();
            ++i;
        } else if (c == '=' || c == '/') {
            out.back().push_back({Token::special, std::string(1, c)});
            ++i;
        } else {
            std::size_t end = i;
            while (end < value.size() && !ends_word(value[end])) ++end;
            out.back().push_back({Token::word, std::string(value.substr(i, end - i))});
            i = end;
        }
    }
    return out;
}

bool is_special(const Statement& s, std::size_t i, char c) {
    return i < s.size() && s[i].kind == Token::special && s[i].text[0] == c;
}

// RFC 8601 "Keyword": letters, digits and hyphens.
bool is_keyword(const Token& t) {
    if (t.kind != Token::word || t.text.empty()) return false;
    for (unsigned char c : t.text)
        if (!std::isalnum(c) && c != '-') return false;
    return true;
}

struct MethodResult {
    std::string method, result;  // lower case; empty when malformed
};

// methodspec = method [ "/" version ] "=" result, at the start of a resinfo;
// what follows (reasonspec, propspecs) is the sender's text and ignored.
MethodResult method_result(const Statement& s) {
    if (s.empty() || !is_keyword(s[0])) return {};
    std::size_t i = 1;
    if (is_special(s, i, '/')) i += 2;  // a method version: "dkim/1"
    if (!is_special(s, i, '=') || i + 1 >= s.size() || !is_keyword(s[i + 1])) return {};
    return {lower(s[0].text), lower(s[i + 1].text)};
}

// The authserv-id: the first token of the first statement (a token or a
// quoted string), possibly followed by a version number.
std::string authserv_id_of(const std::vector<Statement>& parts) {
    const Statement& head = parts.front();
    if (head.empty() || head[0].kind == Token::special) return {};
    return head[0].text;
}

void record(AuthVerdicts& v, const MethodResult& r) {
    std::string* slot = r.method == "spf"     ? &v.spf
                        : r.method == "dkim"  ? &v.dkim
                        : r.method == "dmarc" ? &v.dmarc
                                              : nullptr;
    if (!slot) return;
    // Several DKIM signatures: one that passes is a pass.
    if (slot->empty() || (r.method == "dkim" && r.result == "pass")) *slot = r.result;
}

}  // namespace

AuthVerdicts read_authentication_results(const std::vector<std::string>& headers,
                                         std::string_view authserv_id) {
    AuthVerdicts v;
    if (authserv_id.empty()) return v;
    // Headers come in message order. Our MTA prepends its field, so the
    // topmost one with our authserv-id is the MTA's; any further one below
    // it came with the mail and is a forgery.
    for (const auto& h : headers) {
        auto parts = statements(h);
        if (lower(authserv_id_of(parts)) != lower(authserv_id)) continue;
        for (std::size_t i = 1; i < parts.size(); ++i) record(v, method_result(parts[i]));
        return v;
    }
    return v;
}

}  // namespace faxgw::mailgw

// One GET over a fresh TCP connection, driven by a private io_context on the calling thread (so the
// socket lives in the calling thread's network namespace), bounded by one deadline.
#include "pods/http_client.h"

#include <charconv>
#include <cctype>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "base/error.h"

namespace netlab::pods {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

// ---- a strict parser for the pod's flat one-line JSON object ----------------------------------

class FlatJson {
public:
    explicit FlatJson(std::string_view s) : s_(s) {}

    // Calls on_string(key, value) / on_number(key, value) for each member. False on any syntax error.
    template <class S, class N>
    bool parse(S&& on_string, N&& on_number) {
        ws();
        if (!eat('{')) return false;
        ws();
        if (eat('}')) return tail();
        for (;;) {
            std::string key;
            ws();
            if (!string(key)) return false;
            ws();
            if (!eat(':')) return false;
            ws();
            if (peek() == '"') {
                std::string value;
                if (!string(value)) return false;
                on_string(key, std::move(value));
            } else {
                uint64_t value = 0;
                if (!number(value)) return false;
                on_number(key, value);
            }
            ws();
            if (eat(',')) continue;
            if (eat('}')) return tail();
            return false;
        }
    }

private:
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    bool eat(char c) {
        if (peek() != c || i_ >= s_.size()) return false;
        ++i_;
        return true;
    }
    void ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }
    bool tail() {
        ws();
        return i_ == s_.size();
    }
    bool number(uint64_t& v) {
        std::size_t start = i_;
        while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
        std::size_t len = i_ - start;
        if (len == 0 || len > 19 || (len > 1 && s_[start] == '0')) return false;
        auto r = std::from_chars(s_.data() + start, s_.data() + i_, v);
        return r.ec == std::errc();
    }
    bool hex4(unsigned& v) {
        if (i_ + 4 > s_.size()) return false;
        v = 0;
        for (int k = 0; k < 4; ++k) {
            char c = s_[i_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
            else return false;
        }
        return true;
    }
    static void utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }
    bool string(std::string& out) {
        if (!eat('"')) return false;
        while (i_ < s_.size()) {
            char c = s_[i_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return false;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ >= s_.size()) return false;
            char e = s_[i_++];
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                unsigned cp = 0;
                if (!hex4(cp)) return false;
                if (cp >= 0xd800 && cp < 0xdc00) {
                    unsigned lo = 0;
                    if (!eat('\\') || !eat('u') || !hex4(lo) || lo < 0xdc00 || lo >= 0xe000) return false;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else if (cp >= 0xdc00 && cp < 0xe000) {
                    return false;
                }
                utf8(out, cp);
                break;
            }
            default: return false;
            }
        }
        return false;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

// Fills the pod fields from a netlab pod's JSON reply; leaves them empty for anything else.
void parse_pod_reply(HttpResult& r) {
    std::string pod, addr, client_addr;
    std::optional<uint64_t> port, client_port;
    bool ok = FlatJson(r.body).parse(
        [&](const std::string& k, std::string v) {
            if (k == "pod") pod = std::move(v);
            else if (k == "addr") addr = std::move(v);
            else if (k == "client_addr") client_addr = std::move(v);
        },
        [&](const std::string& k, uint64_t v) {
            if (k == "port") port = v;
            else if (k == "client_port") client_port = v;
        });
    if (!ok || pod.empty() || !port || !client_port || *port > 65535 || *client_port > 65535) return;
    r.pod = std::move(pod);
    r.pod_addr = std::move(addr);
    r.pod_port = static_cast<uint16_t>(*port);
    r.client_addr = std::move(client_addr);
    r.client_port = static_cast<uint16_t>(*client_port);
}

std::string describe(const error_code& ec, std::chrono::milliseconds timeout, bool got_some) {
    if (ec == beast::error::timeout) return "timed out after " + std::to_string(timeout.count()) + " ms";
    if (ec == net::error::eof || ec == http::error::end_of_stream || ec == http::error::partial_message)
        return got_some ? "connection closed before a complete reply" : "connection closed without a reply";
    if (ec.category() == error_code(http::error::bad_version).category()) return "bad HTTP reply: " + ec.message();
    return ec.message();
}

// ---- URL parsing ----------------------------------------------------------------------------

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// A decimal 0..255 without leading zeros ("010" would mean 8 to inet_aton).
bool octet(std::string_view s) {
    if (!all_digits(s) || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return false;
    unsigned v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v <= 255;
}

std::vector<std::string_view> split_dots(std::string_view s) {
    std::vector<std::string_view> parts;
    for (;;) {
        auto d = s.find('.');
        parts.push_back(s.substr(0, d));
        if (d == std::string_view::npos) break;
        s.remove_prefix(d + 1);
    }
    return parts;
}

bool ipv4_literal(std::string_view s) {
    auto parts = split_dots(s);
    if (parts.size() != 4) return false;
    for (auto p : parts)
        if (!octet(p)) return false;
    return true;
}

std::optional<uint16_t> port_number(std::string_view s) {
    if (!all_digits(s) || s.size() > 5) return std::nullopt;
    unsigned v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    if (v == 0 || v > 65535) return std::nullopt;
    return static_cast<uint16_t>(v);
}

}  // namespace

HttpResult http_get(const std::string& host, uint16_t port, const std::string& path,
                    std::chrono::milliseconds timeout, uint16_t local_port) {
    HttpResult r;
    const std::string where = host + ":" + std::to_string(port);
    error_code ec;
    auto addr = net::ip::make_address_v4(host, ec);  // inet_pton: a literal, never a name lookup
    if (ec) {
        r.error = "connect " + where + ": \"" + host + "\" is not an IPv4 address";
        return r;
    }
    if (port == 0) {
        r.error = "connect " + where + ": port 0 is not a port to connect to";
        return r;
    }
    std::string target = path.empty() ? "/" : path;
    if (target[0] != '/') target.insert(0, 1, '/');

    try {
        net::io_context ioc{1};
        beast::tcp_stream stream(ioc);
        const auto deadline = net::steady_timer::clock_type::now() + timeout;

        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, where);
        req.set(http::field::user_agent, "netlab");
        req.set(http::field::accept, "application/json");
        req.set(http::field::connection, "close");

        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(1 << 20);

        std::string phase;
        error_code failure;
        bool done = false;
        auto fail = [&](const char* what, const error_code& e) {
            phase = what;
            failure = e;
        };

        if (local_port != 0) {
            error_code bec;
            stream.socket().open(tcp::v4(), bec);
            if (!bec) stream.socket().bind(tcp::endpoint(net::ip::address_v4::any(), local_port), bec);
            if (bec) {
                r.error = "bind source port " + std::to_string(local_port) + ": " + bec.message();
                return r;
            }
        }
        stream.expires_at(deadline);
        stream.async_connect(tcp::endpoint(addr, port), [&](const error_code& e) {
            if (e) return fail("connect", e);
            stream.expires_at(deadline);
            http::async_write(stream, req, [&](const error_code& e2, std::size_t) {
                if (e2) return fail("send", e2);
                stream.expires_at(deadline);
                http::async_read(stream, buffer, parser, [&](const error_code& e3, std::size_t) {
                    if (e3) return fail("receive", e3);
                    done = true;
                });
            });
        });
        ioc.run();

        error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.socket().close(ignored);

        if (!done) {
            if (phase.empty()) {
                phase = "receive";
                failure = beast::error::timeout;
            }
            r.error = phase + " " + where + ": " + describe(failure, timeout, parser.got_some());
            return r;
        }
        auto& res = parser.get();
        r.ok = true;
        r.status = res.result_int();
        r.body = std::move(res.body());
        parse_pod_reply(r);
    } catch (const std::exception& e) {
        r = HttpResult{};
        r.error = "GET " + where + target + ": " + e.what();
    }
    return r;
}

Url parse_url(const std::string& s) {
    auto fail = [&](const std::string& reason, std::string hint = {}) {
        return UsageError("parse URL \"" + s + "\": " + reason, std::move(hint));
    };
    const std::string example = "give an address like 10.100.100.100:8080 or http://10.100.100.100:8080/";
    if (s.empty()) throw fail("it is empty", example);
    for (char c : s)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            throw fail("it contains a space or a control character", example);

    std::string_view v = s;
    std::size_t offset = 0;  // of v in s
    if (auto sep = v.find("://"); sep != std::string_view::npos) {
        std::string scheme(v.substr(0, sep));
        for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (scheme != "http") throw fail("only http:// is supported, not " + scheme + "://", example);
        v.remove_prefix(sep + 3);
        offset = sep + 3;
    }
    auto end = v.find_first_of("/?#");
    std::string_view authority = v.substr(0, end);
    std::string_view rest = end == std::string_view::npos ? std::string_view{} : v.substr(end);
    if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);

    Url u;
    if (rest.empty()) u.path = "/";
    else if (rest[0] == '?') u.path = "/" + std::string(rest);
    else u.path = std::string(rest);

    if (authority.empty()) throw fail("it has no address", example);
    if (authority.find('@') != std::string_view::npos) throw fail("user names are not supported", example);
    if (authority[0] == '[') throw fail("IPv6 addresses are not supported (netlab speaks IPv4)", example);

    std::string_view host = authority, port_str;
    bool has_port = false;
    if (auto colon = authority.find(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port_str = authority.substr(colon + 1);
        has_port = true;
        if (port_str.find(':') != std::string_view::npos)
            throw fail("too many colons (IPv6 addresses are not supported)", example);
    }

    if (!ipv4_literal(host)) {
        auto parts = split_dots(host);
        // The article's typo: "10.100.100.100.8080", a dot where the colon belongs.
        if (!has_port && parts.size() == 5 && port_number(parts[4]) &&
            ipv4_literal(host.substr(0, host.size() - parts[4].size() - 1))) {
            std::string fixed = s;
            fixed[offset + host.size() - parts[4].size() - 1] = ':';
            throw fail("\"" + std::string(host) + "\" is not an IPv4 address; did you mean " + fixed + "?",
                       "the port follows a colon, not a dot: " + fixed);
        }
        bool letters = false;
        for (char c : host)
            if (std::isalpha(static_cast<unsigned char>(c))) letters = true;
        if (letters)
            throw fail("\"" + std::string(host) + "\" is not an IPv4 address (netlab never looks up host names)",
                       example);
        throw fail("\"" + std::string(host) + "\" is not an IPv4 address (four numbers 0-255 joined by dots)",
                   example);
    }
    u.host = std::string(host);
    if (has_port) {
        auto p = port_number(port_str);
        if (!p) throw fail("port \"" + std::string(port_str) + "\" is not a number from 1 to 65535", example);
        u.port = *p;
    }
    return u;
}

}  // namespace netlab::pods

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
#include <nlohmann/json.hpp>

#include "base/error.h"

namespace netlab::pods {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// ---- the pod's JSON reply ---------------------------------------------------------------------

// A member of `j` that is a string, or "" when absent or of another type.
std::string string_member(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A member of `j` that is a port number (an unsigned integer up to 65535).
std::optional<uint16_t> port_member(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_unsigned()) return std::nullopt;
    uint64_t v = it->get<uint64_t>();
    if (v > 65535) return std::nullopt;
    return static_cast<uint16_t>(v);
}

// Fills the pod fields from a netlab pod's JSON reply (pod_server.h: one object with "pod", "addr",
// "port", "client_addr", "client_port"); leaves them empty for anything else.
void parse_pod_reply(HttpResult& r) {
    nlohmann::json j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return;  // also a body that is not JSON at all (discarded)
    std::string pod = string_member(j, "pod");
    auto port = port_member(j, "port"), client_port = port_member(j, "client_port");
    if (pod.empty() || !port || !client_port) return;
    r.pod = std::move(pod);
    r.pod_addr = string_member(j, "addr");
    r.pod_port = *port;
    r.client_addr = string_member(j, "client_addr");
    r.client_port = *client_port;
}

std::string describe(const error_code& ec, std::chrono::milliseconds timeout, bool got_some) {
    if (ec == beast::error::timeout) return "timed out after " + std::to_string(timeout.count()) + " ms";
    if (ec == asio::error::eof || ec == http::error::end_of_stream || ec == http::error::partial_message)
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
    auto addr = asio::ip::make_address_v4(host, ec);  // inet_pton: a literal, never a name lookup
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
        asio::io_context ioc{1};
        beast::tcp_stream stream(ioc);
        const auto deadline = asio::steady_timer::clock_type::now() + timeout;

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
            if (!bec) stream.socket().bind(tcp::endpoint(asio::ip::address_v4::any(), local_port), bec);
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
            r.timed_out = failure == beast::error::timeout;
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

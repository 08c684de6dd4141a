// Request parsing and replies for the pod: Beast's parser with callbacks that keep only what a pod
// needs (no field storage, no body storage, so a request costs no allocation), and replies
// formatted straight into the caller's output string.
#include "pods/request.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

namespace netlab::pods {

namespace {

namespace http = boost::beast::http;
using boost::system::error_code;

void append_uint(std::string& out, unsigned long v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

// The text form is exactly one line: control characters in the name become '?'.
void append_text_safe(std::string& out, std::string_view s) {
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        out += (c < 0x20 || c == 0x7f) ? '?' : ch;
    }
}

bool iequals_prefix(std::string_view s, std::string_view lower_word) {
    if (s.size() < lower_word.size()) return false;
    for (std::size_t i = 0; i < lower_word.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != lower_word[i]) return false;
    }
    return true;
}

bool contains_ci(std::string_view hay, std::string_view lower_needle) {
    if (hay.size() < lower_needle.size()) return false;
    for (std::size_t i = 0; i + lower_needle.size() <= hay.size(); ++i)
        if (iequals_prefix(hay.substr(i), lower_needle)) return true;
    return false;
}

// `?format=json` / `?format=text` in the request target: 1 json, 0 text, -1 not given.
int format_from_target(std::string_view target) {
    auto q = target.find('?');
    if (q == std::string_view::npos) return -1;
    std::string_view query = target.substr(q + 1);
    auto hash = query.find('#');
    if (hash != std::string_view::npos) query = query.substr(0, hash);
    int result = -1;
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view param = query.substr(0, amp);
        if (param == "format=json") result = 1;
        else if (param == "format=text") result = 0;
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return result;
}

std::string_view reason_phrase(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    default: return "Error";
    }
}

void append_head(std::string& out, int status, std::string_view type, std::size_t length, bool keep_alive,
                 int version, bool allow = false) {
    out += "HTTP/1.1 ";
    append_uint(out, static_cast<unsigned long>(status));
    out += ' ';
    out += reason_phrase(status);
    out += "\r\nServer: netlab-pod\r\nContent-Type: ";
    out += type;
    out += "\r\nContent-Length: ";
    append_uint(out, length);
    if (allow) out += "\r\nAllow: GET, HEAD";
    if (!keep_alive) out += "\r\nConnection: close";
    else if (version < 11) out += "\r\nConnection: keep-alive";
    out += "\r\n\r\n";
}

class RequestParser final : public http::basic_parser<true> {
public:
    explicit RequestParser(const RequestLimits& limits) : max_line_(limits.max_request_line) {
        header_limit(static_cast<std::uint32_t>(
            std::min<std::size_t>(limits.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
        body_limit(limits.max_body);
        eager(false);  // put() stops at the end of the head, so that its size is known
    }

    bool got_line() const { return got_line_; }
    bool line_too_long() const { return line_too_long_; }
    http::verb method() const { return method_; }
    int version() const { return version_; }
    bool wants_json() const { return query_format_ >= 0 ? query_format_ == 1 : accept_json_; }

private:
    void on_request_impl(http::verb method, boost::beast::string_view method_str,
                         boost::beast::string_view target, int version, error_code& ec) override {
        got_line_ = true;
        // method SP target SP HTTP/1.x
        if (method_str.size() + target.size() + 10 > max_line_) {
            line_too_long_ = true;
            ec = http::error::bad_target;
            return;
        }
        method_ = method;
        version_ = version;
        query_format_ = format_from_target(std::string_view(target.data(), target.size()));
    }
    void on_response_impl(int, boost::beast::string_view, int, error_code& ec) override {
        ec = http::error::bad_version;
    }
    void on_field_impl(http::field name, boost::beast::string_view, boost::beast::string_view value,
                       error_code&) override {
        if (name == http::field::accept && contains_ci(std::string_view(value.data(), value.size()),
                                                       "application/json"))
            accept_json_ = true;
    }
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(boost::optional<std::uint64_t> const&, error_code&) override {}
    std::size_t on_body_impl(boost::beast::string_view body, error_code&) override { return body.size(); }
    void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body, error_code&) override {
        return body.size();
    }
    void on_finish_impl(error_code&) override {}

    std::size_t max_line_;
    bool got_line_ = false;
    bool line_too_long_ = false;
    bool accept_json_ = false;
    int query_format_ = -1;
    int version_ = 11;
    http::verb method_ = http::verb::unknown;
};

}  // namespace

void append_reply_body(std::string& out, const ReplyContext& c, bool json) {
    if (json) {
        const nlohmann::ordered_json j{{"pod", c.pod},
                                       {"addr", c.local_addr},
                                       {"port", c.local_port},
                                       {"client_addr", c.peer_addr},
                                       {"client_port", c.peer_port}};
        out += j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
        out += '\n';
    } else {
        out += "pod ";
        append_text_safe(out, c.pod);
        out += " at ";
        append_text_safe(out, c.local_addr);
        out += ':';
        append_uint(out, c.local_port);
        out += " saw client ";
        append_text_safe(out, c.peer_addr);
        out += ':';
        append_uint(out, c.peer_port);
        out += '\n';
    }
}

constexpr std::size_t kMinChunkedPut = 5;  // "0\r\n\r\n"

struct RequestHandler::State {
    State(const RequestLimits& l, ReplyContext c) : limits(l), ctx(std::move(c)) { new_parser(); }

    RequestLimits limits;
    ReplyContext ctx;
    std::optional<RequestParser> parser;
    std::string text_body, json_body;  // formatted on first use: they depend only on the connection
    bool active = false;
    bool closing = false;
    std::size_t head_bytes = 0;  // of the current request's head, parsed so far
    bool head_done = false;

    void new_parser() {
        parser.emplace(limits);
        active = false;
        head_bytes = 0;
        head_done = false;
    }

    enum class Step { more, wait, error, done };
    struct Put {
        std::size_t used;
        Step step;
        int status = 0;  // for Step::error
    };

    // Feeds `in` to the parser once. Beast measures its header limit from where it resumes (after
    // the request line when that arrived first), so the head's whole size is checked here: the
    // limit then holds wherever the packets split the request.
    Put put(std::string_view in) {
        // Beast 1.74 asserts (aborting a build with assertions on) when a chunked body's last
        // chunk "0\r\n" is followed by fewer than 2 more bytes on a later call. The unconsumed
        // rest of a chunked body is never shorter than "0\r\n\r\n" until it is complete, so
        // waiting for 5 bytes never stalls a valid request. Found by tests/fuzz.
        if (head_done && parser->chunked() && in.size() < kMinChunkedPut) return {0, Step::wait};
        error_code ec;
        std::size_t n = parser->put(boost::asio::const_buffer(in.data(), in.size()), ec);
        std::string_view rest = in.substr(n);
        if (!head_done) {
            head_bytes += n;
            head_done = parser->is_header_done();
            if (head_done && head_bytes > limits.max_header_bytes) return {n, Step::error, 431};
        }
        if (ec == http::error::need_more) {
            if (!parser->got_line() && line_unfinished_beyond_limit(rest)) return {n, Step::error, 414};
            if (!head_done && head_bytes + rest.size() >= limits.max_header_bytes) return {n, Step::error, 431};
            return {n, n == 0 ? Step::wait : Step::more};
        }
        if (ec) return {n, Step::error, error_status(ec, rest)};
        if (parser->is_done()) return {n, Step::done};
        return {n, n == 0 ? Step::wait : Step::more};
    }

    const std::string& body(bool json) {
        std::string& b = json ? json_body : text_body;
        if (b.empty()) append_reply_body(b, ctx, json);
        return b;
    }

    // The start of `in` holds an unfinished request line: is it already longer than allowed?
    bool line_unfinished_beyond_limit(std::string_view in) const {
        std::size_t limit = limits.max_request_line + 2;  // + CRLF
        if (in.size() < limit && in.size() < limits.max_header_bytes) return false;
        return std::memchr(in.data(), '\n', std::min(limit, in.size())) == nullptr;
    }

    void reply(std::string& out) {
        bool keep_alive = parser->keep_alive();
        auto m = parser->method();
        if (m == http::verb::get || m == http::verb::head) {
            bool json = parser->wants_json();
            const std::string& b = body(json);
            append_head(out, 200, json ? "application/json" : "text/plain", b.size(), keep_alive, parser->version());
            if (m == http::verb::get) out += b;
        } else {
            static constexpr std::string_view msg = "405 Method Not Allowed\n";
            append_head(out, 405, "text/plain", msg.size(), keep_alive, parser->version(), true);
            out += msg;
        }
        if (!keep_alive) closing = true;
    }

    // The error status for a failed parse of `in`.
    int error_status(const error_code& ec, std::string_view in) const {
        if (parser->line_too_long()) return 414;
        if (ec == http::error::header_limit)
            return !parser->got_line() && line_unfinished_beyond_limit(in) ? 414 : 431;
        if (ec == http::error::body_limit) return 413;
        return 400;
    }
};

RequestHandler::RequestHandler(const RequestLimits& limits, ReplyContext ctx)
    : s_(std::make_unique<State>(limits, std::move(ctx))) {}

RequestHandler::~RequestHandler() = default;
RequestHandler::RequestHandler(RequestHandler&&) noexcept = default;
RequestHandler& RequestHandler::operator=(RequestHandler&&) noexcept = default;

bool RequestHandler::request_active() const { return s_->active; }
bool RequestHandler::closing() const { return s_->closing; }

RequestHandler::Result RequestHandler::handle(std::string_view in, std::string& out, std::size_t batch_limit) {
    State& s = *s_;
    Result r{Status::closing, 0, false};
    while (!s.closing) {
        if (out.size() >= batch_limit) {
            r.status = Status::batch_full;
            return r;
        }
        std::string_view rest = in.substr(r.used);
        if (rest.empty()) {
            r.status = Status::need_more;
            return r;
        }
        if (!s.active) {
            s.active = true;
            r.started = true;
        }
        auto p = s.put(rest);
        r.used += p.used;
        switch (p.step) {
        case State::Step::wait:
            r.status = Status::need_more;
            return r;
        case State::Step::error:
            reply_error(p.status, out);
            return r;
        case State::Step::done:
            s.reply(out);
            s.new_parser();
            r.started = false;
            break;
        case State::Step::more:
            break;
        }
    }
    return r;
}

void RequestHandler::reply_error(int status, std::string& out) {
    std::string_view reason = reason_phrase(status);
    append_head(out, status, "text/plain", reason.size() + 5, false, 11);
    append_uint(out, static_cast<unsigned long>(status));
    out += ' ';
    out += reason;
    out += '\n';
    s_->closing = true;
}

}  // namespace netlab::pods

// The HTTP pod: one thread, one io_context, Boost.Beast's HTTP/1.1 parser fed from a per-connection
// flat buffer, replies formatted into a reused string and written with a non-blocking write first.
//
// Per connection the work is: parse the buffered requests (pipelined ones too), answer each into
// `out_`, flush `out_`, read more. Deadlines are time points checked by one sweep timer for all
// connections (no timer operation per request). A connection that must close (Connection: close,
// HTTP/1.0, an error reply, a timeout) half-closes and drains what the client still sends for a
// short while, so that the client reads the reply instead of a reset.
#include "pods/pod_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

namespace netlab::pods {

namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kBodyLimit = 1 << 20;     // request bodies are read and discarded up to this
constexpr std::size_t kMaxBatch = 64 * 1024;    // replies gathered before a write (pipelining)
constexpr std::size_t kInitialBuffer = 4096;
constexpr std::size_t kMinRead = 2048;
constexpr std::size_t kLingerBytes = 64 * 1024;  // drained at most before closing
constexpr auto kLingerTime = std::chrono::milliseconds(2000);

void append_uint(std::string& out, unsigned long v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void append_json_string(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xf];
            } else {
                out += ch;
            }
        }
    }
    out += '"';
}

// The text form is exactly one line: control characters in the name become '?'.
void append_text_safe(std::string& out, std::string_view s) {
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        out += (c < 0x20 || c == 0x7f) ? '?' : ch;
    }
}

void append_body(std::string& out, std::string_view pod, std::string_view local_addr, uint16_t local_port,
                 std::string_view peer_addr, uint16_t peer_port, bool json) {
    if (json) {
        out += "{\"pod\":";
        append_json_string(out, pod);
        out += ",\"addr\":";
        append_json_string(out, local_addr);
        out += ",\"port\":";
        append_uint(out, local_port);
        out += ",\"client_addr\":";
        append_json_string(out, peer_addr);
        out += ",\"client_port\":";
        append_uint(out, peer_port);
        out += "}\n";
    } else {
        out += "pod ";
        append_text_safe(out, pod);
        out += " at ";
        append_text_safe(out, local_addr);
        out += ':';
        append_uint(out, local_port);
        out += " saw client ";
        append_text_safe(out, peer_addr);
        out += ':';
        append_uint(out, peer_port);
        out += '\n';
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

std::string endpoint_address(const net::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).to_string();
    return a.to_string();
}

// Beast's request parser with callbacks that keep only what a pod needs: no field storage, no
// body storage, so a request costs no allocation.
class RequestParser final : public http::basic_parser<true> {
public:
    RequestParser(std::size_t max_line, std::size_t max_header) : max_line_(max_line) {
        header_limit(static_cast<std::uint32_t>(
            std::min<std::size_t>(max_header, std::numeric_limits<std::uint32_t>::max())));
        body_limit(kBodyLimit);
        eager(true);
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

class Conn;

class Server {
public:
    explicit Server(const PodServerOptions& opt) : opt_(opt) {
        auto shortest = std::max(1, std::min(opt_.header_timeout_ms, opt_.idle_timeout_ms));
        sweep_period_ = std::chrono::milliseconds(std::clamp(shortest / 10, 10, 500));
    }

    // Declared before the io_context: pending handlers (which own connections) are destroyed with
    // the io_context, and a connection's destructor unregisters itself here.
    const PodServerOptions opt_;
    std::vector<Conn*> conns_;
    bool stopping_ = false;
    std::chrono::milliseconds sweep_period_;

    net::io_context ioc_{1};
    tcp::acceptor acceptor_{ioc_};
    tcp::socket peer_sock_{ioc_};
    tcp::endpoint peer_ep_;
    net::signal_set signals_{ioc_};
    net::steady_timer sweep_{ioc_};
    net::steady_timer retry_{ioc_};
    bool sweep_armed_ = false;

    int run();
    void accept();
    void on_accept(const error_code& ec);
    void arm_sweep();
    void sweep();
    void stop();
};

class Conn : public std::enable_shared_from_this<Conn> {
public:
    Conn(Server& srv, tcp::socket sock, const tcp::endpoint& peer)
        : srv_(srv), sock_(std::move(sock)), buf_(), peer_addr_(endpoint_address(peer.address())),
          peer_port_(peer.port()) {
        index_ = srv_.conns_.size();
        srv_.conns_.push_back(this);
    }

    ~Conn() {
        auto& v = srv_.conns_;
        if (index_ < v.size() && v[index_] == this) {
            v[index_] = v.back();
            v[index_]->index_ = index_;
            v.pop_back();
        }
    }

    void start() {
        error_code ec;
        sock_.set_option(tcp::no_delay(true), ec);
        sock_.non_blocking(true, ec);
        auto local = sock_.local_endpoint(ec);
        if (ec) {
            close();
            return;
        }
        local_addr_ = endpoint_address(local.address());
        local_port_ = local.port();
        buf_.reserve(kInitialBuffer);
        new_parser();
        drive();
    }

    // Called by the sweep timer.
    void check(Clock::time_point now) {
        if (state_ == State::closed || now < deadline_) return;
        deadline_ = Clock::time_point::max();
        if (state_ == State::reading && req_active_) {
            // A partial request head or body: answer 408 once the pending read is cancelled.
            timed_out_ = true;
            error_code ec;
            sock_.cancel(ec);
            return;
        }
        close();  // idle keep-alive, a stuck write, or the end of lingering
    }

    void close() {
        state_ = State::closed;
        deadline_ = Clock::time_point::max();
        if (sock_.is_open()) {
            error_code ec;
            sock_.close(ec);
        }
    }

private:
    enum class State { reading, writing, lingering, closed };
    enum class Parse { need_read, batch_full, closing };

    void new_parser() {
        parser_.emplace(srv_.opt_.max_request_line, srv_.opt_.max_header_bytes);
        req_active_ = false;
    }

    // Parses what is buffered, appending one reply per complete request to out_.
    Parse parse_batch() {
        while (!closing_) {
            if (out_.size() >= kMaxBatch) return Parse::batch_full;
            if (buf_.size() == 0) return Parse::need_read;
            if (!req_active_) {
                req_active_ = true;
                req_start_ = Clock::now();
            }
            error_code ec;
            std::size_t n = parser_->put(buf_.data(), ec);
            buf_.consume(n);
            if (ec == http::error::need_more) {
                if (!parser_->got_line() && line_unfinished_beyond_limit()) {
                    reply_error(414);
                    return Parse::closing;
                }
                if (n == 0) return Parse::need_read;
                continue;
            }
            if (ec) {
                if (parser_->line_too_long()) reply_error(414);
                else if (ec == http::error::header_limit)
                    reply_error(!parser_->got_line() && line_unfinished_beyond_limit() ? 414 : 431);
                else if (ec == http::error::body_limit) reply_error(413);
                else reply_error(400);
                return Parse::closing;
            }
            if (parser_->is_done()) {
                reply();
                new_parser();
                continue;
            }
            if (n == 0) return Parse::need_read;  // no progress: wait for bytes
        }
        return Parse::closing;
    }

    // The start of the buffer holds an unfinished request line: is it already longer than allowed?
    bool line_unfinished_beyond_limit() const {
        std::size_t limit = srv_.opt_.max_request_line + 2;  // + CRLF
        if (buf_.size() < limit && buf_.size() < srv_.opt_.max_header_bytes) return false;
        auto d = static_cast<const char*>(buf_.data().data());
        return std::memchr(d, '\n', std::min(limit, buf_.size())) == nullptr;
    }

    const std::string& body(bool json) {
        std::string& b = json ? json_body_ : text_body_;
        if (b.empty())
            append_body(b, srv_.opt_.name, local_addr_, local_port_, peer_addr_, peer_port_, json);
        return b;
    }

    void append_head(int status, std::string_view reason, std::string_view type, std::size_t length,
                     bool keep_alive, int version, bool allow = false) {
        out_ += "HTTP/1.1 ";
        append_uint(out_, static_cast<unsigned long>(status));
        out_ += ' ';
        out_ += reason;
        out_ += "\r\nServer: netlab-pod\r\nContent-Type: ";
        out_ += type;
        out_ += "\r\nContent-Length: ";
        append_uint(out_, length);
        if (allow) out_ += "\r\nAllow: GET, HEAD";
        if (!keep_alive) out_ += "\r\nConnection: close";
        else if (version < 11) out_ += "\r\nConnection: keep-alive";
        out_ += "\r\n\r\n";
    }

    void reply() {
        bool keep_alive = parser_->keep_alive() && !srv_.stopping_;
        auto m = parser_->method();
        if (m == http::verb::get || m == http::verb::head) {
            bool json = parser_->wants_json();
            const std::string& b = body(json);
            append_head(200, "OK", json ? "application/json" : "text/plain", b.size(),
                        keep_alive, parser_->version());
            if (m == http::verb::get) out_ += b;
        } else {
            static constexpr std::string_view msg = "405 Method Not Allowed\n";
            append_head(405, "Method Not Allowed", "text/plain", msg.size(), keep_alive,
                        parser_->version(), true);
            out_ += msg;
        }
        if (!keep_alive) closing_ = true;
    }

    void reply_error(int status) {
        std::string_view reason;
        switch (status) {
        case 400: reason = "Bad Request"; break;
        case 408: reason = "Request Timeout"; break;
        case 413: reason = "Content Too Large"; break;
        case 414: reason = "URI Too Long"; break;
        case 431: reason = "Request Header Fields Too Large"; break;
        default: reason = "Error"; break;
        }
        append_head(status, reason, "text/plain", reason.size() + 5, false, 11);
        append_uint(out_, static_cast<unsigned long>(status));
        out_ += ' ';
        out_ += reason;
        out_ += '\n';
        closing_ = true;
    }

    // Parse, answer, flush, then read more (or linger when closing). Loops instead of recursing.
    void drive() {
        for (;;) {
            if (srv_.stopping_) {
                close();
                return;
            }
            Parse p = parse_batch();
            if (!out_.empty() && !flush()) return;  // an async write is in flight (or it failed)
            if (closing_) {
                linger();
                return;
            }
            if (p == Parse::need_read) {
                read();
                return;
            }
        }
    }

    // Writes out_ without waiting when the socket takes it all; otherwise starts an async write of
    // the rest and returns false.
    bool flush() {
        error_code ec;
        std::size_t n = sock_.write_some(net::buffer(out_), ec);
        if (!ec && n == out_.size()) {
            out_.clear();
            return true;
        }
        if (ec && ec != net::error::would_block && ec != net::error::try_again) {
            close();
            return false;
        }
        if (ec) n = 0;
        state_ = State::writing;
        deadline_ = Clock::now() + std::chrono::milliseconds(srv_.opt_.idle_timeout_ms);
        net::async_write(sock_, net::buffer(out_.data() + n, out_.size() - n),
                         [self = shared_from_this()](const error_code& e, std::size_t) { self->on_write(e); });
        return false;
    }

    void on_write(const error_code& ec) {
        if (ec || state_ == State::closed) {
            close();
            return;
        }
        out_.clear();
        if (closing_) linger();
        else drive();
    }

    void read() {
        state_ = State::reading;
        if (!req_active_) {
            deadline_ = Clock::now() + std::chrono::milliseconds(first_ ? srv_.opt_.header_timeout_ms
                                                                        : srv_.opt_.idle_timeout_ms);
        } else {
            deadline_ = req_start_ + std::chrono::milliseconds(srv_.opt_.header_timeout_ms);
        }
        std::size_t room = buf_.capacity() - buf_.size();
        auto mb = buf_.prepare(room >= kMinRead ? room : kInitialBuffer);
        sock_.async_read_some(mb, [self = shared_from_this()](const error_code& ec, std::size_t n) {
            self->on_read(ec, n);
        });
    }

    void on_read(const error_code& ec, std::size_t n) {
        if (state_ == State::closed) return;
        if (timed_out_) {
            timed_out_ = false;
            if (srv_.stopping_) {
                close();
                return;
            }
            reply_error(408);
            if (flush()) linger();
            return;
        }
        if (ec) {
            close();  // EOF, reset, or cancelled by stop()
            return;
        }
        first_ = false;
        buf_.commit(n);
        drive();
    }

    // Half-close, then drain what the client still sends (bounded in bytes and time) so that it
    // reads our reply rather than a reset.
    void linger() {
        error_code ec;
        sock_.shutdown(tcp::socket::shutdown_send, ec);
        if (ec || srv_.stopping_) {
            close();
            return;
        }
        state_ = State::lingering;
        deadline_ = Clock::now() + std::min<Clock::duration>(
                                       kLingerTime, std::chrono::milliseconds(srv_.opt_.header_timeout_ms));
        buf_.clear();
        linger_read();
    }

    void linger_read() {
        auto mb = buf_.prepare(kInitialBuffer);
        sock_.async_read_some(mb, [self = shared_from_this()](const error_code& ec, std::size_t n) {
            if (ec || self->state_ == State::closed) {
                self->close();
                return;
            }
            self->lingered_ += n;
            if (self->lingered_ > kLingerBytes) {
                self->close();
                return;
            }
            self->linger_read();
        });
    }

    Server& srv_;
    tcp::socket sock_;
    boost::beast::flat_buffer buf_;
    std::optional<RequestParser> parser_;
    std::string out_;
    std::string peer_addr_;
    uint16_t peer_port_;
    std::string local_addr_;
    uint16_t local_port_ = 0;
    std::string text_body_, json_body_;
    State state_ = State::reading;
    Clock::time_point deadline_ = Clock::time_point::max();
    Clock::time_point req_start_;
    std::size_t lingered_ = 0;
    bool req_active_ = false;  // bytes of the current request have arrived
    bool first_ = true;        // no byte received yet on this connection
    bool closing_ = false;
    bool timed_out_ = false;

public:
    std::size_t index_ = 0;
};

void Server::accept() {
    acceptor_.async_accept(peer_sock_, peer_ep_, [this](const error_code& ec) { on_accept(ec); });
}

void Server::on_accept(const error_code& ec) {
    if (stopping_ || ec == net::error::operation_aborted) return;
    if (ec) {
        if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
            ec == net::error::no_memory || ec.value() == ENFILE) {
            // Out of descriptors: back off instead of spinning on the ready listening socket.
            retry_.expires_after(std::chrono::milliseconds(100));
            retry_.async_wait([this](const error_code& e) {
                if (!e && !stopping_) accept();
            });
            return;
        }
        accept();
        return;
    }
    if (conns_.size() >= opt_.max_connections) {
        error_code e;
        peer_sock_.close(e);  // over the limit: refuse this one, keep serving the others
    } else {
        auto c = std::make_shared<Conn>(*this, std::move(peer_sock_), peer_ep_);
        peer_sock_ = tcp::socket(ioc_);
        arm_sweep();
        c->start();
    }
    accept();
}

void Server::arm_sweep() {
    if (sweep_armed_ || stopping_) return;
    sweep_armed_ = true;
    sweep_.expires_after(sweep_period_);
    sweep_.async_wait([this](const error_code& ec) {
        sweep_armed_ = false;
        if (ec || stopping_) return;
        sweep();
    });
}

void Server::sweep() {
    auto now = Clock::now();
    // check() never destroys a connection synchronously (closing only cancels its operations),
    // so the registry is stable during this loop.
    for (std::size_t i = 0; i < conns_.size(); ++i) conns_[i]->check(now);
    if (!conns_.empty()) arm_sweep();
}

void Server::stop() {
    if (stopping_) return;
    stopping_ = true;
    error_code ec;
    acceptor_.close(ec);
    signals_.cancel(ec);
    sweep_.cancel();
    retry_.cancel();
    for (std::size_t i = 0; i < conns_.size(); ++i) conns_[i]->close();
}

int Server::run() {
    const std::string where = opt_.address + ":" + std::to_string(opt_.port);
    auto fail = [&](const std::string& what, const error_code& ec) {
        std::cerr << "netlab pod " << opt_.name << ": " << what << " " << where << ": " << ec.message()
                  << std::endl;
        return 1;
    };
    error_code ec;
    auto addr = net::ip::make_address(opt_.address, ec);  // a literal only: never a name lookup
    if (ec) {
        std::cerr << "netlab pod " << opt_.name << ": listen on " << where << ": \"" << opt_.address
                  << "\" is not an IP address" << std::endl;
        return 2;
    }
    if (opt_.max_connections == 0 || opt_.max_request_line == 0 || opt_.max_header_bytes == 0 ||
        opt_.header_timeout_ms <= 0 || opt_.idle_timeout_ms <= 0) {
        std::cerr << "netlab pod " << opt_.name << ": limits and timeouts must be positive" << std::endl;
        return 2;
    }
    // Room for max_connections descriptors (the soft limit is often 1024): raise it up to the hard one.
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        rlim_t want = static_cast<rlim_t>(opt_.max_connections) + 64;
        if (rl.rlim_cur < want) {
            rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want) ? want : rl.rlim_max;
            ::setrlimit(RLIMIT_NOFILE, &rl);
        }
    }

    tcp::endpoint ep(addr, opt_.port);
    acceptor_.open(ep.protocol(), ec);
    if (ec) return fail("open socket for", ec);
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (ec) return fail("set SO_REUSEADDR on", ec);
    acceptor_.bind(ep, ec);
    if (ec) return fail("bind", ec);
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen on", ec);
    auto bound = acceptor_.local_endpoint(ec);
    if (ec) return fail("get address of", ec);

    signals_.add(SIGTERM, ec);
    if (!ec) signals_.add(SIGINT, ec);
    if (ec) return fail("catch signals for", ec);
    signals_.async_wait([this](const error_code& e, int) {
        if (!e) stop();
    });

    accept();
    std::cout << "netlab pod " << opt_.name << " listening on " << opt_.address << ":" << bound.port()
              << std::endl;
    ioc_.run();
    return 0;
}

}  // namespace

std::string pod_reply_body(const std::string& pod, const std::string& local_addr, uint16_t local_port,
                           const std::string& peer_addr, uint16_t peer_port, bool json) {
    std::string out;
    append_body(out, pod, local_addr, local_port, peer_addr, peer_port, json);
    return out;
}

int run_pod_server(const PodServerOptions& opt) {
    try {
        Server server(opt);
        return server.run();
    } catch (const std::exception& e) {
        std::cerr << "netlab pod " << opt.name << ": " << e.what() << std::endl;
        return 1;
    }
}

}  // namespace netlab::pods

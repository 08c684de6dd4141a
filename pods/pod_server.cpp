// The HTTP pod: one thread, one io_context, a RequestHandler (pods/request.h: Beast's HTTP/1.1
// parser and the replies) fed from a per-connection flat buffer, replies formatted into a reused
// string and written with a non-blocking write first.
//
// Per connection the work is: parse the buffered requests (pipelined ones too), answer each into
// `out_`, flush `out_`, read more. Deadlines are time points checked by one sweep timer for all
// connections (no timer operation per request). A connection that must close (Connection: close,
// HTTP/1.0, an error reply, a timeout) closes at once when the client has nothing more on the way;
// otherwise it half-closes and drains what the client still sends for a short while, so that the
// client reads the reply instead of a reset.
#include "pods/pod_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
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

#include "pods/request.h"

namespace netlab::pods {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxBatch = 64 * 1024;    // replies gathered before a write (pipelining)
constexpr std::size_t kInitialBuffer = 4096;
constexpr std::size_t kMinRead = 2048;
constexpr std::size_t kOneSegment = 1400;     // what surely fits one TCP segment
constexpr std::size_t kLingerBytes = 64 * 1024;  // drained at most before closing
constexpr auto kLingerTime = std::chrono::milliseconds(2000);

// Why `fd` cannot be served, or "" when it is a listening TCP socket (IPv4 or IPv6).
std::string listening_socket_problem(int fd) {
    if (::fcntl(fd, F_GETFD) < 0) return "not an open file descriptor";
    auto get = [fd](int option, int& value) {
        socklen_t len = sizeof value;
        return ::getsockopt(fd, SOL_SOCKET, option, &value, &len) == 0;
    };
    int domain = 0, type = 0, protocol = 0, listening = 0;
    if (!get(SO_DOMAIN, domain)) return errno == ENOTSOCK ? "not a socket" : std::string("getsockopt: ") + std::strerror(errno);
    if (domain != AF_INET && domain != AF_INET6) return "not an IPv4 or IPv6 socket";
    if (!get(SO_TYPE, type) || type != SOCK_STREAM || !get(SO_PROTOCOL, protocol) || protocol != IPPROTO_TCP)
        return "not a TCP socket";
    if (!get(SO_ACCEPTCONN, listening) || !listening) return "a TCP socket that is not listening";
    return "";
}

std::string endpoint_address(const asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
    return a.to_string();
}

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

    asio::io_context ioc_{1};
    tcp::acceptor acceptor_{ioc_};
    tcp::socket peer_sock_{ioc_};
    tcp::endpoint peer_ep_;
    asio::signal_set signals_{ioc_};
    asio::steady_timer sweep_{ioc_};
    asio::steady_timer retry_{ioc_};
    bool sweep_armed_ = false;

    int run();
    int check_options() const;
    void raise_fd_limit() const;
    int open_acceptor();
    int adopt_acceptor();
    void signal_ready() const;
    int fail(const std::string& what, const error_code& ec) const;
    void accept();
    void on_accept(const error_code& ec);
    void arm_sweep();
    void sweep();
    void stop();
};

class Conn : public std::enable_shared_from_this<Conn> {
public:
    Conn(Server& srv, tcp::socket sock, const tcp::endpoint& peer)
        : srv_(srv), sock_(std::move(sock)), peer_(peer) {
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
        sock_.non_blocking(true, ec);
        auto local = sock_.local_endpoint(ec);
        if (ec) {
            close();
            return;
        }
        const auto& o = srv_.opt_;
        handler_.emplace(RequestLimits{o.max_request_line, o.max_header_bytes},
                         ReplyContext{o.name, endpoint_address(local.address()), local.port(),
                                      endpoint_address(peer_.address()), peer_.port()});
        buf_.reserve(kInitialBuffer);
        drive();
    }

    // Called by the sweep timer.
    void check(Clock::time_point now) {
        if (state_ == State::closed || now < deadline_) return;
        deadline_ = Clock::time_point::max();
        if (state_ == State::reading && handler_->request_active()) {
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
    using Status = RequestHandler::Status;

    // Answers the buffered requests into out_ (pipelined ones too, up to a batch).
    Status parse_batch() {
        auto d = buf_.data();
        auto r = handler_->handle(std::string_view(static_cast<const char*>(d.data()), d.size()), out_, kMaxBatch);
        buf_.consume(r.used);
        if (r.started) req_start_ = Clock::now();
        return r.status;
    }

    // Parse, answer, flush, then read more (or finish when closing). Loops instead of recursing.
    void drive() {
        for (;;) {
            if (srv_.stopping_) {
                close();
                return;
            }
            Status st = parse_batch();
            if (!out_.empty() && !flush()) return;  // an async write is in flight (or it failed)
            if (handler_->closing()) {
                finish();
                return;
            }
            if (st == Status::need_more) {
                read();
                return;
            }
        }
    }

    // TCP_NODELAY, set only once a reply may follow another still unacknowledged (a connection
    // kept alive, or a batch of pipelined replies longer than a segment), which Nagle would hold
    // back: a connection closed after its one reply saves the system call.
    void no_delay() {
        if (no_delay_) return;
        error_code ec;
        sock_.set_option(tcp::no_delay(true), ec);
        no_delay_ = true;
    }

    // Writes out_ without waiting when the socket takes it all; otherwise starts an async write of
    // the rest and returns false.
    bool flush() {
        if (out_.size() > kOneSegment) no_delay();
        error_code ec;
        std::size_t n = sock_.write_some(asio::buffer(out_), ec);
        if (!ec && n == out_.size()) {
            out_.clear();
            return true;
        }
        if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
            close();
            return false;
        }
        if (ec) n = 0;
        state_ = State::writing;
        deadline_ = Clock::now() + std::chrono::milliseconds(srv_.opt_.idle_timeout_ms);
        asio::async_write(sock_, asio::buffer(out_.data() + n, out_.size() - n),
                         [self = shared_from_this()](const error_code& e, std::size_t) { self->on_write(e); });
        return false;
    }

    void on_write(const error_code& ec) {
        if (ec || state_ == State::closed) {
            close();
            return;
        }
        out_.clear();
        if (handler_->closing()) finish();
        else drive();
    }

    void read() {
        state_ = State::reading;
        if (!first_) no_delay();  // kept alive after a reply
        if (!handler_->request_active()) {
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
            handler_->reply_error(408, out_);
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

    // The last reply is written. After a complete request that asked to close, with nothing more
    // from the client buffered or arriving, close at once: the kernel sends the reply, then FIN.
    // Otherwise (an error reply in the middle of a request, pipelined bytes) linger, or the close
    // would answer those bytes with a reset that can destroy the reply before the client reads it.
    void finish() {
        error_code ec;
        if (!handler_->request_active() && buf_.size() == 0 && sock_.available(ec) == 0 && !ec) {
            close();
            return;
        }
        linger();
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
    tcp::endpoint peer_;
    boost::beast::flat_buffer buf_;
    std::optional<RequestHandler> handler_;  // made in start(), once the local address is known
    std::string out_;
    State state_ = State::reading;
    Clock::time_point deadline_ = Clock::time_point::max();
    Clock::time_point req_start_;
    std::size_t lingered_ = 0;
    bool first_ = true;        // no byte received yet on this connection
    bool no_delay_ = false;    // TCP_NODELAY set
    bool timed_out_ = false;

public:
    std::size_t index_ = 0;
};

void Server::accept() {
    acceptor_.async_accept(peer_sock_, peer_ep_, [this](const error_code& ec) { on_accept(ec); });
}

void Server::on_accept(const error_code& ec) {
    if (stopping_ || ec == asio::error::operation_aborted) return;
    if (ec) {
        if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
            ec == asio::error::no_memory || ec.value() == ENFILE) {
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

int Server::fail(const std::string& what, const error_code& ec) const {
    std::cerr << "netlab pod " << opt_.name << ": " << what << " " << opt_.address << ":" << opt_.port << ": "
              << ec.message() << std::endl;
    return 1;
}

// 0 when the options can be served, else prints why and returns 2.
int Server::check_options() const {
    auto bad = [&](const std::string& why) {
        std::cerr << "netlab pod " << opt_.name << ": " << why << std::endl;
        return 2;
    };
    error_code ec;
    asio::ip::make_address(opt_.address, ec);  // a literal only: never a name lookup
    if (ec)
        return bad("listen on " + opt_.address + ":" + std::to_string(opt_.port) + ": \"" + opt_.address +
                   "\" is not an IP address");
    if (opt_.max_connections == 0 || opt_.max_request_line == 0 || opt_.max_header_bytes == 0 ||
        opt_.header_timeout_ms <= 0 || opt_.idle_timeout_ms <= 0)
        return bad("limits and timeouts must be positive");
    if (opt_.listen_fd >= 0) {
        std::string problem = listening_socket_problem(opt_.listen_fd);
        if (!problem.empty()) return bad("--listen-fd " + std::to_string(opt_.listen_fd) + ": " + problem);
    }
    if (opt_.ready_fd >= 0 && ::fcntl(opt_.ready_fd, F_GETFD) < 0)
        return bad("--ready-fd " + std::to_string(opt_.ready_fd) + ": not an open file descriptor");
    return 0;
}

// Room for max_connections descriptors (the soft limit is often 1024): raise it up to the hard one.
void Server::raise_fd_limit() const {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return;
    rlim_t want = static_cast<rlim_t>(opt_.max_connections) + 64;
    if (rl.rlim_cur >= want) return;
    rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want) ? want : rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
}

// A socket of its own on address:port.
int Server::open_acceptor() {
    error_code ec;
    tcp::endpoint ep(asio::ip::make_address(opt_.address), opt_.port);
    acceptor_.open(ep.protocol(), ec);
    if (ec) return fail("open socket for", ec);
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (ec) return fail("set SO_REUSEADDR on", ec);
    acceptor_.bind(ep, ec);
    if (ec) return fail("bind", ec);
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen on", ec);
    return 0;
}

// The inherited listening socket (checked by check_options), kept from any further exec.
int Server::adopt_acceptor() {
    const int fd = opt_.listen_fd;
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    int domain = 0;
    socklen_t len = sizeof domain;
    ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len);
    error_code ec;
    acceptor_.assign(domain == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
    if (ec) return fail("adopt --listen-fd " + std::to_string(fd) + " for", ec);
    return 0;
}

// Tells whoever started the pod that it accepts now: one byte on the ready pipe, which is closed.
void Server::signal_ready() const {
    if (opt_.ready_fd < 0) return;
    ::signal(SIGPIPE, SIG_IGN);  // a starter that gave up waiting must not kill the pod
    while (::write(opt_.ready_fd, "R", 1) < 0 && errno == EINTR) {
    }
    ::close(opt_.ready_fd);
}

int Server::run() {
    if (int rc = check_options()) return rc;
    raise_fd_limit();
    if (int rc = opt_.listen_fd >= 0 ? adopt_acceptor() : open_acceptor()) return rc;
    error_code ec;
    auto bound = acceptor_.local_endpoint(ec);
    if (ec) return fail("get address of", ec);

    signals_.add(SIGTERM, ec);
    if (!ec) signals_.add(SIGINT, ec);
    if (ec) return fail("catch signals for", ec);
    signals_.async_wait([this](const error_code& e, int) {
        if (!e) stop();
    });

    accept();
    std::cout << "netlab pod " << opt_.name << " listening on " << endpoint_address(bound.address()) << ":"
              << bound.port() << std::endl;
    signal_ready();
    ioc_.run();
    return 0;
}

}  // namespace

std::string pod_reply_body(const std::string& pod, const std::string& local_addr, uint16_t local_port,
                           const std::string& peer_addr, uint16_t peer_port, bool json) {
    std::string out;
    append_reply_body(out, ReplyContext{pod, local_addr, local_port, peer_addr, peer_port}, json);
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

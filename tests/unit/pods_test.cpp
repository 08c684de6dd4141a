// pods/ without root: the pod's reply bodies, the client's URL parsing and its reading of a pod's
// JSON reply, and a real server on
// 127.0.0.1 (an ephemeral port, in a child process killed by a guard) probed with http_get and raw
// sockets. Every wait is bounded.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "base/error.h"
#include "pods/http_client.h"
#include "pods/pod_server.h"

using namespace netlab::pods;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

long ms_since(Clock::time_point t) {
    return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - t).count());
}

// A pod server in a child process on 127.0.0.1, port chosen by the kernel (read from the one line it
// prints). The destructor kills it whatever happened.
class ServerChild {
public:
    explicit ServerChild(PodServerOptions opt) {
        opt.address = "127.0.0.1";
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        std::cout.flush();  // or the child would write our buffered output into its pipe
        std::fflush(nullptr);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            ::close(fds[0]);
            ::dup2(fds[1], STDOUT_FILENO);
            ::close(fds[1]);
            ::_exit(run_pod_server(opt));
        }
        ::close(fds[1]);
        out_fd_ = fds[0];
        line_ = read_line(milliseconds(5000));
        auto colon = line_.rfind(':');
        if (colon != std::string::npos) port_ = static_cast<uint16_t>(std::stoi(line_.substr(colon + 1)));
    }
    ~ServerChild() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (out_fd_ >= 0) ::close(out_fd_);
    }
    ServerChild(const ServerChild&) = delete;
    ServerChild& operator=(const ServerChild&) = delete;

    uint16_t port() const { return port_; }
    const std::string& line() const { return line_; }

    // Waits (bounded) for the child to exit on its own; returns its wait status or -1.
    int wait_exit(milliseconds limit) {
        auto start = Clock::now();
        while (ms_since(start) < limit.count()) {
            int st = 0;
            pid_t r = ::waitpid(pid_, &st, WNOHANG);
            if (r == pid_) {
                pid_ = -1;
                return st;
            }
            std::this_thread::sleep_for(milliseconds(10));
        }
        return -1;
    }
    int signal_and_wait(int sig) {
        ::kill(pid_, sig);
        return wait_exit(milliseconds(5000));
    }

private:
    std::string read_line(milliseconds limit) {
        std::string s;
        auto start = Clock::now();
        while (s.find('\n') == std::string::npos && ms_since(start) < limit.count()) {
            pollfd p{out_fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            char buf[256];
            ssize_t n = ::read(out_fd_, buf, sizeof buf);
            if (n <= 0) break;
            s.append(buf, static_cast<size_t>(n));
        }
        if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
        return s;
    }

    pid_t pid_ = -1;
    int out_fd_ = -1;
    uint16_t port_ = 0;
    std::string line_;
};

PodServerOptions test_options(const std::string& name = "netns_test") {
    PodServerOptions o;
    o.name = name;
    o.port = 0;
    return o;
}

struct Reply {
    bool complete = false;
    int status = 0;
    std::string head;  // status line and fields
    std::string body;
};

// A raw client socket to 127.0.0.1 with bounded reads.
class RawConn {
public:
    explicit RawConn(uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    ~RawConn() { close(); }
    RawConn(const RawConn&) = delete;
    RawConn& operator=(const RawConn&) = delete;

    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    uint16_t local_port() const {
        sockaddr_in a{};
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        return ntohs(a.sin_port);
    }
    bool send(const std::string& s) {
        size_t off = 0;
        while (off < s.size()) {
            ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
            if (n <= 0) return false;
            off += static_cast<size_t>(n);
        }
        return true;
    }
    // Reads more bytes into buf_; false on EOF, error or when `limit` passes.
    bool fill(Clock::time_point deadline) {
        for (;;) {
            long left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
            if (left <= 0) return false;
            pollfd p{fd_, POLLIN, 0};
            int r = ::poll(&p, 1, static_cast<int>(left));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return false;
            char tmp[8192];
            ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
            if (n <= 0) {
                eof_ = true;
                return false;
            }
            buf_.append(tmp, static_cast<size_t>(n));
            return true;
        }
    }
    // One complete response (Content-Length framed); `head_only` for replies to HEAD.
    Reply read_reply(bool head_only = false, milliseconds limit = milliseconds(3000)) {
        Reply r;
        auto deadline = Clock::now() + limit;
        size_t end;
        while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
            if (!fill(deadline)) return r;
        r.head = buf_.substr(0, end + 2);
        buf_.erase(0, end + 4);
        r.status = std::stoi(r.head.substr(9, 3));
        size_t length = 0;
        if (auto v = header(r.head, "Content-Length")) length = std::stoul(*v);
        if (head_only) length = 0;
        while (buf_.size() < length)
            if (!fill(deadline)) return r;
        r.body = buf_.substr(0, length);
        buf_.erase(0, length);
        r.complete = true;
        return r;
    }
    // Waits until the server closes the connection (EOF or reset); false when it stays open.
    bool closed_within(milliseconds limit) {
        auto deadline = Clock::now() + limit;
        while (!eof_) {
            if (!fill(deadline) && !eof_) return false;
        }
        return true;
    }
    bool eof() const { return eof_; }
    const std::string& pending() const { return buf_; }

    static std::optional<std::string> header(const std::string& head, const std::string& name) {
        size_t pos = 0;
        while ((pos = head.find("\r\n", pos)) != std::string::npos) {
            pos += 2;
            if (head.size() - pos >= name.size() + 1 && strncasecmp(head.c_str() + pos, name.c_str(), name.size()) == 0 &&
                head[pos + name.size()] == ':') {
                size_t v = pos + name.size() + 1;
                while (v < head.size() && head[v] == ' ') ++v;
                return head.substr(v, head.find("\r\n", v) - v);
            }
        }
        return std::nullopt;
    }

private:
    int fd_ = -1;
    std::string buf_;
    bool eof_ = false;
};

std::string get_request(const std::string& target = "/", const std::string& extra = "",
                        const std::string& version = "HTTP/1.1") {
    return "GET " + target + " " + version + "\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

// A socket bound on 127.0.0.1 (ephemeral port), listening or not.
struct LocalSocket {
    int fd = -1;
    uint16_t port = 0;
    explicit LocalSocket(bool listening) {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        if (listening) REQUIRE(::listen(fd, 8) == 0);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~LocalSocket() { ::close(fd); }
};

}  // namespace

// ---- reply bodies -------------------------------------------------------------------------------

TEST_CASE("pod_reply_body: the text form is one exact line") {
    CHECK(pod_reply_body("netns_dustin", "10.0.0.11", 8080, "10.0.0.1", 40000, false) ==
          "pod netns_dustin at 10.0.0.11:8080 saw client 10.0.0.1:40000\n");
    CHECK(pod_reply_body("netns_leah", "10.0.0.21", 8080, "10.100.100.1", 1, false) ==
          "pod netns_leah at 10.0.0.21:8080 saw client 10.100.100.1:1\n");
}

TEST_CASE("pod_reply_body: the JSON form is one exact line") {
    CHECK(pod_reply_body("netns_dustin", "10.0.0.11", 8080, "10.0.0.1", 40000, true) ==
          "{\"pod\":\"netns_dustin\",\"addr\":\"10.0.0.11\",\"port\":8080,"
          "\"client_addr\":\"10.0.0.1\",\"client_port\":40000}\n");
    CHECK(pod_reply_body("p", "0.0.0.0", 65535, "255.255.255.255", 0, true) ==
          "{\"pod\":\"p\",\"addr\":\"0.0.0.0\",\"port\":65535,"
          "\"client_addr\":\"255.255.255.255\",\"client_port\":0}\n");
}

TEST_CASE("pod_reply_body: JSON escapes the name; text stays on one line") {
    std::string name = "a\"b\\c\nd\te\x01" "f/\xc3\xa9";
    CHECK(pod_reply_body(name, "10.0.0.11", 80, "10.0.0.1", 2, true) ==
          "{\"pod\":\"a\\\"b\\\\c\\nd\\te\\u0001f/\xc3\xa9\",\"addr\":\"10.0.0.11\",\"port\":80,"
          "\"client_addr\":\"10.0.0.1\",\"client_port\":2}\n");
    std::string text = pod_reply_body(name, "10.0.0.11", 80, "10.0.0.1", 2, false);
    CHECK(text == "pod a\"b\\c?d?e?f/\xc3\xa9 at 10.0.0.11:80 saw client 10.0.0.1:2\n");
}

// ---- parse_url ----------------------------------------------------------------------------------

TEST_CASE("parse_url: accepted forms") {
    Url u = parse_url("10.0.0.11:8080");
    CHECK(u.host == "10.0.0.11");
    CHECK(u.port == 8080);
    CHECK(u.path == "/");

    u = parse_url("http://10.0.0.11:8080/x");
    CHECK(u.host == "10.0.0.11");
    CHECK(u.port == 8080);
    CHECK(u.path == "/x");

    u = parse_url("10.0.0.11");
    CHECK(u.host == "10.0.0.11");
    CHECK(u.port == 80);
    CHECK(u.path == "/");

    u = parse_url("HTTP://10.100.100.100:8080");
    CHECK(u.host == "10.100.100.100");
    CHECK(u.port == 8080);
    CHECK(u.path == "/");

    u = parse_url("10.0.0.11:8080?format=json");
    CHECK(u.path == "/?format=json");

    u = parse_url("http://10.0.0.11/a/b?c=d#frag");
    CHECK(u.port == 80);
    CHECK(u.path == "/a/b?c=d");

    u = parse_url("0.0.0.0:1");
    CHECK(u.host == "0.0.0.0");
    CHECK(u.port == 1);

    u = parse_url("255.255.255.255:65535");
    CHECK(u.port == 65535);
}

TEST_CASE("parse_url: the article's typo gets a suggestion") {
    try {
        parse_url("10.100.100.100.8080");
        FAIL("no error");
    } catch (const netlab::UsageError& e) {
        std::string what = e.what();
        CHECK(what.find("did you mean 10.100.100.100:8080?") != std::string::npos);
        CHECK(e.hint().find("10.100.100.100:8080") != std::string::npos);
    }
    try {
        parse_url("http://10.100.100.100.8080/x");
        FAIL("no error");
    } catch (const netlab::UsageError& e) {
        CHECK(std::string(e.what()).find("did you mean http://10.100.100.100:8080/x?") != std::string::npos);
    }
}

TEST_CASE("parse_url: garbage is a UsageError") {
    for (const char* bad : {"", "localhost:8080", "example.com", "10.0.0", "10.0.0.256:80", "10.0.0.1:0",
                            "10.0.0.1:65536", "10.0.0.1:", "10.0.0.1:80x", "10.0.0.1:-1", "https://10.0.0.1/",
                            "[::1]:80", "::1", "10.0.0.01:80", "10.0.0.1 :80", "http://", "user@10.0.0.1",
                            "10.0.0.1:80:90", "1.2.3.4.5.6", "/x"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_url(bad), netlab::UsageError);
    }
    try {
        parse_url("example.com");
        FAIL("no error");
    } catch (const netlab::UsageError& e) {
        CHECK(std::string(e.what()).find("not an IPv4 address") != std::string::npos);
    }
}

// ---- the server on 127.0.0.1 ---------------------------------------------------------------------

TEST_CASE("pod server: prints its line; http_get parses the JSON reply") {
    ServerChild srv(test_options("netns_dustin"));
    REQUIRE(srv.port() != 0);
    CHECK(srv.line() == "netlab pod netns_dustin listening on 127.0.0.1:" + std::to_string(srv.port()));

    HttpResult r = http_get("127.0.0.1", srv.port(), "/", milliseconds(2000));
    INFO(r.error);
    REQUIRE(r.ok);
    CHECK(r.status == 200);
    CHECK(r.error.empty());
    CHECK(r.pod == "netns_dustin");
    CHECK(r.pod_addr == "127.0.0.1");
    CHECK(r.pod_port == srv.port());
    CHECK(r.client_addr == "127.0.0.1");
    CHECK(r.client_port != 0);
    CHECK(r.body == pod_reply_body("netns_dustin", "127.0.0.1", srv.port(), "127.0.0.1", r.client_port, true));

    // A path and a query are fine; the reply is the same kind.
    HttpResult r2 = http_get("127.0.0.1", srv.port(), "/some/path?x=1", milliseconds(2000));
    REQUIRE(r2.ok);
    CHECK(r2.pod == "netns_dustin");
    CHECK(r2.client_port != r.client_port);

    CHECK(srv.signal_and_wait(SIGTERM) == 0);  // exited normally with code 0
}

TEST_CASE("pod server: text by default, JSON on request, HEAD, on one keep-alive connection") {
    ServerChild srv(test_options("netns_leah"));
    REQUIRE(srv.port() != 0);
    RawConn c(srv.port());
    const uint16_t me = c.local_port();
    const std::string text = pod_reply_body("netns_leah", "127.0.0.1", srv.port(), "127.0.0.1", me, false);
    const std::string json = pod_reply_body("netns_leah", "127.0.0.1", srv.port(), "127.0.0.1", me, true);

    REQUIRE(c.send(get_request("/")));
    Reply r = c.read_reply();
    REQUIRE(r.complete);
    CHECK(r.status == 200);
    CHECK(r.head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(RawConn::header(r.head, "Server") == "netlab-pod");
    CHECK(RawConn::header(r.head, "Content-Type") == "text/plain");
    CHECK(RawConn::header(r.head, "Content-Length") == std::to_string(text.size()));
    CHECK(!RawConn::header(r.head, "Connection"));
    CHECK(r.body == text);

    REQUIRE(c.send(get_request("/?format=json")));
    r = c.read_reply();
    REQUIRE(r.complete);
    CHECK(RawConn::header(r.head, "Content-Type") == "application/json");
    CHECK(r.body == json);

    REQUIRE(c.send(get_request("/anything", "Accept: application/json\r\n")));
    r = c.read_reply();
    REQUIRE(r.complete);
    CHECK(RawConn::header(r.head, "Content-Type") == "application/json");
    CHECK(r.body == json);

    REQUIRE(c.send(get_request("/?a=b&format=text", "Accept: application/json\r\n")));
    r = c.read_reply();
    REQUIRE(r.complete);
    CHECK(r.body == text);

    REQUIRE(c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"));
    r = c.read_reply(true);
    REQUIRE(r.complete);
    CHECK(r.status == 200);
    CHECK(RawConn::header(r.head, "Content-Length") == std::to_string(text.size()));

    // After a HEAD reply no body bytes follow: the next reply starts right away.
    REQUIRE(c.send(get_request("/")));
    r = c.read_reply();
    REQUIRE(r.complete);
    CHECK(r.body == text);
    CHECK(c.pending().empty());
}

TEST_CASE("pod server: pipelining, Connection: close, HTTP/1.0") {
    ServerChild srv(test_options());
    REQUIRE(srv.port() != 0);

    SUBCASE("three pipelined requests in one write get three replies in order") {
        RawConn c(srv.port());
        REQUIRE(c.send(get_request("/") + get_request("/?format=json") + get_request("/")));
        Reply a = c.read_reply(), b = c.read_reply(), d = c.read_reply();
        REQUIRE(a.complete);
        REQUIRE(b.complete);
        REQUIRE(d.complete);
        CHECK(a.body.rfind("pod netns_test at", 0) == 0);
        CHECK(b.body.rfind("{\"pod\":\"netns_test\"", 0) == 0);
        CHECK(d.body == a.body);
        CHECK(!c.closed_within(milliseconds(200)));  // still open
    }
    SUBCASE("a request split into tiny pieces is still one request") {
        RawConn c(srv.port());
        std::string req = get_request("/", "Accept: application/json\r\n");
        for (char ch : req) {
            REQUIRE(c.send(std::string(1, ch)));
            std::this_thread::sleep_for(milliseconds(1));
        }
        Reply r = c.read_reply();
        REQUIRE(r.complete);
        CHECK(r.body.rfind("{\"pod\"", 0) == 0);
    }
    SUBCASE("Connection: close is honoured, pipelined requests after it are dropped") {
        RawConn c(srv.port());
        REQUIRE(c.send(get_request("/", "Connection: close\r\n") + get_request("/")));
        Reply r = c.read_reply();
        REQUIRE(r.complete);
        CHECK(r.status == 200);
        CHECK(RawConn::header(r.head, "Connection") == "close");
        CHECK(c.closed_within(milliseconds(3000)));
        CHECK(c.pending().empty());
    }
    SUBCASE("HTTP/1.0 closes by default") {
        RawConn c(srv.port());
        REQUIRE(c.send(get_request("/", "", "HTTP/1.0")));
        Reply r = c.read_reply();
        REQUIRE(r.complete);
        CHECK(r.status == 200);
        CHECK(RawConn::header(r.head, "Connection") == "close");
        CHECK(c.closed_within(milliseconds(3000)));
    }
    SUBCASE("HTTP/1.0 with keep-alive stays open") {
        RawConn c(srv.port());
        for (int i = 0; i < 2; ++i) {
            REQUIRE(c.send(get_request("/", "Connection: keep-alive\r\n", "HTTP/1.0")));
            Reply r = c.read_reply();
            REQUIRE(r.complete);
            CHECK(RawConn::header(r.head, "Connection") == "keep-alive");
        }
    }
    SUBCASE("a request with a body is read past (405 for POST, connection kept)") {
        RawConn c(srv.port());
        REQUIRE(c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + get_request("/")));
        Reply r = c.read_reply();
        REQUIRE(r.complete);
        CHECK(r.status == 405);
        CHECK(RawConn::header(r.head, "Allow") == "GET, HEAD");
        r = c.read_reply();
        REQUIRE(r.complete);
        CHECK(r.status == 200);
    }
    SUBCASE("chunked body on a GET is read past") {
        RawConn c(srv.port());
        REQUIRE(c.send("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" +
                       get_request("/")));
        Reply r = c.read_reply();
        REQUIRE(r.complete);
        CHECK(r.status == 200);
        r = c.read_reply();
        REQUIRE(r.complete);
        CHECK(r.status == 200);
    }
}

TEST_CASE("pod server: 405, 400, 414, 431, 413") {
    PodServerOptions o = test_options();
    o.max_request_line = 256;
    o.max_header_bytes = 1024;
    ServerChild srv(o);
    REQUIRE(srv.port() != 0);

    SUBCASE("other methods: 405") {
        for (const char* m : {"DELETE", "PUT", "OPTIONS", "BREW"}) {
            CAPTURE(m);
            RawConn c(srv.port());
            REQUIRE(c.send(std::string(m) + " / HTTP/1.1\r\nHost: x\r\n\r\n"));
            Reply r = c.read_reply();
            REQUIRE(r.complete);
            CHECK(r.status == 405);
            CHECK(RawConn::header(r.head, "Server") == "netlab-pod");
        }
    }
    SUBCASE("garbage: 400 and close") {
        RawConn c(srv.port());
        REQUIRE(c.send("HELLO THERE\r\n\r\n"));
        Reply r = c.read_reply();
        REQUIRE(r.complete);
        CHECK(r.status == 400);
        CHECK(c.closed_within(milliseconds(3000)));
    }
    SUBCASE("request line over the limit (complete): 414") {
        RawConn c(srv.port());
        REQUIRE(c.send(get_request("/" + std::string(300, 'a'))));
        Reply r = c.read_reply();
        REQUIRE(r.complete);
        CHECK(r.status == 414);
        CHECK(RawConn::header(r.head, "Connection") == "close");
        CHECK(c.closed_within(milliseconds(3000)));
    }
    SUBCASE("request line over the limit (still arriving): 414 without waiting for the end") {
        RawConn c(srv.port());
        REQUIRE(c.send("GET /" + std::string(600, 'a')));
        Reply r = c.read_reply();
        REQUIRE(r.complete);
        CHECK(r.status == 414);
        CHECK(c.closed_within(milliseconds(3000)));
    }
    SUBCASE("a request line just under the limit is fine") {
        RawConn c(srv.port());
        // "GET " + target + " HTTP/1.1" == 256
        REQUIRE(c.send(get_request("/" + std::string(256 - 14, 'a'))));
        Reply r = c.read_reply();
        REQUIRE(r.complete);
        CHECK(r.status == 200);
    }
    SUBCASE("headers over the limit: 431 and close") {
        RawConn c(srv.port());
        std::string h;
        for (int i = 0; i < 40; ++i) h += "X-Filler-" + std::to_string(i) + ": " + std::string(40, 'v') + "\r\n";
        REQUIRE(c.send(get_request("/", h)));
        Reply r = c.read_reply();
        REQUIRE(r.complete);
        CHECK(r.status == 431);
        CHECK(c.closed_within(milliseconds(3000)));
    }
    SUBCASE("headers over the limit with no end in sight: 431") {
        RawConn c(srv.port());
        REQUIRE(c.send("GET / HTTP/1.1\r\nX-Long: " + std::string(3000, 'v')));
        Reply r = c.read_reply();
        REQUIRE(r.complete);
        CHECK(r.status == 431);
        CHECK(c.closed_within(milliseconds(3000)));
    }
    SUBCASE("body over 1 MiB: 413") {
        RawConn c(srv.port());
        REQUIRE(c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n"));
        Reply r = c.read_reply();
        REQUIRE(r.complete);
        CHECK(r.status == 413);
    }
    // The server is still fine afterwards.
    HttpResult ok = http_get("127.0.0.1", srv.port());
    CHECK(ok.ok);
    CHECK(ok.status == 200);
}

TEST_CASE("pod server: a slow client blocks nobody and is timed out") {
    PodServerOptions o = test_options();
    o.header_timeout_ms = 600;
    o.idle_timeout_ms = 800;
    ServerChild srv(o);
    REQUIRE(srv.port() != 0);

    auto t0 = Clock::now();
    RawConn silent(srv.port());   // sends nothing
    RawConn partial(srv.port());  // sends half a request head
    REQUIRE(partial.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "));

    for (int i = 0; i < 5; ++i) {
        auto t = Clock::now();
        HttpResult r = http_get("127.0.0.1", srv.port(), "/", milliseconds(1000));
        INFO(r.error);
        CHECK(r.ok);
        CHECK(ms_since(t) < 500);
    }

    // The half request gets a 408, the silent one is just closed, both within the header timeout.
    Reply r = partial.read_reply(false, milliseconds(3000));
    REQUIRE(r.complete);
    CHECK(r.status == 408);
    CHECK(partial.closed_within(milliseconds(3000)));
    CHECK(silent.closed_within(milliseconds(3000)));
    CHECK(silent.pending().empty());
    long took = ms_since(t0);
    CHECK(took >= 500);
    CHECK(took < 3000);
}

TEST_CASE("pod server: idle keep-alive connections are closed after idle_timeout_ms") {
    PodServerOptions o = test_options();
    o.header_timeout_ms = 5000;
    o.idle_timeout_ms = 500;
    ServerChild srv(o);
    REQUIRE(srv.port() != 0);
    RawConn c(srv.port());
    REQUIRE(c.send(get_request("/")));
    REQUIRE(c.read_reply().complete);
    auto t = Clock::now();
    CHECK(c.closed_within(milliseconds(3000)));
    CHECK(ms_since(t) >= 400);
}

TEST_CASE("pod server: at most max_connections at once, the others refused, slots come back") {
    PodServerOptions o = test_options();
    o.max_connections = 2;
    ServerChild srv(o);
    REQUIRE(srv.port() != 0);

    RawConn a(srv.port()), b(srv.port());
    for (RawConn* c : {&a, &b}) {  // both served: both hold a slot now
        REQUIRE(c->send(get_request("/")));
        REQUIRE(c->read_reply().complete);
    }
    RawConn extra(srv.port());
    extra.send(get_request("/"));
    CHECK(extra.closed_within(milliseconds(3000)));
    CHECK(extra.pending().empty());

    // The two served connections still work.
    REQUIRE(a.send(get_request("/")));
    CHECK(a.read_reply().complete);

    a.close();
    bool served = false;
    for (int i = 0; i < 40 && !served; ++i) {  // the server notices the close asynchronously
        HttpResult r = http_get("127.0.0.1", srv.port(), "/", milliseconds(500));
        served = r.ok;
        if (!served) std::this_thread::sleep_for(milliseconds(50));
    }
    CHECK(served);
}

TEST_CASE("pod server: SIGINT and SIGTERM stop it cleanly with exit code 0, even with open connections") {
    for (int sig : {SIGINT, SIGTERM}) {
        CAPTURE(sig);
        ServerChild srv(test_options());
        REQUIRE(srv.port() != 0);
        RawConn idle(srv.port());
        RawConn busy(srv.port());
        REQUIRE(busy.send(get_request("/")));
        REQUIRE(busy.read_reply().complete);
        int st = srv.signal_and_wait(sig);
        REQUIRE(st != -1);
        CHECK(WIFEXITED(st));
        CHECK(WEXITSTATUS(st) == 0);
        CHECK(busy.closed_within(milliseconds(2000)));
    }
}

TEST_CASE("pod server: a port in use is an error, not a hang") {
    LocalSocket taken(true);
    PodServerOptions o = test_options();
    o.port = taken.port;
    ServerChild srv(o);
    CHECK(srv.line().empty());
    int st = srv.wait_exit(milliseconds(5000));
    REQUIRE(st != -1);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) != 0);
}

// ---- client errors -----------------------------------------------------------------------------

TEST_CASE("http_get: refused, timed out, not an address: errors, never exceptions") {
    {
        LocalSocket closed(false);  // bound, not listening: connecting is refused
        HttpResult r = http_get("127.0.0.1", closed.port, "/", milliseconds(2000));
        CHECK(!r.ok);
        CHECK(r.error == "connect 127.0.0.1:" + std::to_string(closed.port) + ": Connection refused");
    }
    {
        LocalSocket mute(true);  // the kernel completes the handshake, nobody ever answers
        auto t = Clock::now();
        HttpResult r = http_get("127.0.0.1", mute.port, "/", milliseconds(300));
        long took = ms_since(t);
        CHECK(!r.ok);
        CHECK(r.error == "receive 127.0.0.1:" + std::to_string(mute.port) + ": timed out after 300 ms");
        CHECK(took >= 250);
        CHECK(took < 2000);
    }
    {
        HttpResult r = http_get("localhost", 80);
        CHECK(!r.ok);
        CHECK(r.error.find("not an IPv4 address") != std::string::npos);
    }
}

TEST_CASE("http_get: a reply that is not a pod's leaves the pod fields empty") {
    LocalSocket lst(true);
    std::thread peer([&] {
        pollfd p{lst.fd, POLLIN, 0};
        if (::poll(&p, 1, 3000) <= 0) return;
        int c = ::accept(lst.fd, nullptr, nullptr);
        if (c < 0) return;
        char buf[2048];
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 3000) > 0) (void)::recv(c, buf, sizeof buf, 0);
        std::string reply = "HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\nConnection: close\r\n\r\nnope\n";
        (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        ::close(c);
    });
    HttpResult r = http_get("127.0.0.1", lst.port, "/", milliseconds(2000));
    peer.join();
    CHECK(r.ok);
    CHECK(r.status == 404);
    CHECK(r.body == "nope\n");
    CHECK(r.pod.empty());
    CHECK(r.client_port == 0);
}

namespace {

// http_get against a peer on 127.0.0.1 that answers one request with 200 and `body`.
HttpResult get_served(const std::string& body) {
    LocalSocket lst(true);
    std::thread peer([&] {
        pollfd p{lst.fd, POLLIN, 0};
        if (::poll(&p, 1, 3000) <= 0) return;
        int c = ::accept(lst.fd, nullptr, nullptr);
        if (c < 0) return;
        char buf[2048];
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 3000) > 0) (void)::recv(c, buf, sizeof buf, 0);
        std::string reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
        (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        ::close(c);
    });
    HttpResult r = http_get("127.0.0.1", lst.port, "/", milliseconds(2000));
    peer.join();
    return r;
}

}  // namespace

TEST_CASE("http_get: a pod's JSON reply fills the pod fields, whatever its spacing, order or extra members") {
    HttpResult r = get_served(
        " { \"client_port\" : 40000, \"extra\": [1, {\"x\": null}], \"pod\": \"n\\u00e9\\\"s\", \"addr\": \"10.0.0.11\","
        " \"port\": 8080, \"client_addr\": \"10.0.0.1\"}\n");
    REQUIRE(r.ok);
    CHECK(r.pod == "n\xc3\xa9\"s");
    CHECK(r.pod_addr == "10.0.0.11");
    CHECK(r.pod_port == 8080);
    CHECK(r.client_addr == "10.0.0.1");
    CHECK(r.client_port == 40000);
}

TEST_CASE("http_get: JSON that is not a pod's reply leaves the pod fields empty") {
    for (const char* body : {
             "{\"pod\":\"p\",\"addr\":\"a\",\"port\":8080,\"client_addr\":\"c\"}",                      // no client_port
             "{\"pod\":\"p\",\"port\":-1,\"client_port\":1}",                                         // negative
             "{\"pod\":\"p\",\"port\":65536,\"client_port\":1}",                                      // too big
             "{\"pod\":\"p\",\"port\":80.5,\"client_port\":1}",                                       // not an integer
             "{\"pod\":\"p\",\"port\":\"80\",\"client_port\":1}",                                     // a string
             "{\"pod\":\"\",\"port\":80,\"client_port\":1}",                                           // no name
             "{\"pod\":7,\"port\":80,\"client_port\":1}",                                              // a number
             "{\"pod\":\"p\",\"port\":80,\"client_port\":1",                                          // cut short
             "{\"pod\":\"p\",\"port\":80,\"client_port\":1} trailing",                                 // garbage after
             "[{\"pod\":\"p\",\"port\":80,\"client_port\":1}]",                                        // not an object
         }) {
        CAPTURE(body);
        HttpResult r = get_served(body);
        REQUIRE(r.ok);
        CHECK(r.pod.empty());
        CHECK(r.pod_port == 0);
        CHECK(r.client_port == 0);
    }
}

TEST_CASE("pod server: a chunked body whose last chunk arrives byte by byte is served (regression)") {
    // Found by the fuzz target: Beast 1.74 asserted on this input split into small pieces, which
    // aborted the pod. Any client could take a pod down with it.
    ServerChild srv(test_options());
    REQUIRE(srv.port() != 0);
    RawConn c(srv.port());
    std::string req = "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: t\r\n\r\n";
    for (char ch : req) {
        REQUIRE(c.send(std::string(1, ch)));
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    Reply r = c.read_reply();
    REQUIRE(r.complete);
    CHECK(r.status == 200);
    CHECK(r.body.rfind("pod netns_test at", 0) == 0);
    // And the pod is still there for the next client.
    RawConn again(srv.port());
    REQUIRE(again.send(get_request("/")));
    CHECK(again.read_reply().status == 200);
}

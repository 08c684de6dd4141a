#include "netutil/listen_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/error.h"
#include "base/ipv4.h"

namespace netlab::net {

namespace {

[[noreturn]] void fail(const std::string& what) { throw Error(what + ": " + errno_text(errno)); }

sockaddr_in ipv4_endpoint(const std::string& address, uint16_t port) {
    auto ip = parse_ipv4(address);
    if (!ip) throw Error("parse address " + address + ": not a dotted IPv4 address");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = ip->be();
    return addr;
}

}  // namespace

UniqueFd tcp_listen(const std::string& address, uint16_t port) {
    const sockaddr_in addr = ipv4_endpoint(address, port);
    const std::string where = address + ":" + std::to_string(port);
    UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) fail("open a socket for " + where);
    int one = 1;
    if (::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) fail("set SO_REUSEADDR on " + where);
    if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) fail("bind " + where);
    if (::listen(s.get(), SOMAXCONN) != 0) fail("listen on " + where);
    return s;
}

UniqueFd fd_above(UniqueFd fd, int lowest) {
    UniqueFd high(::fcntl(fd.get(), F_DUPFD_CLOEXEC, lowest));
    if (!high) fail("fcntl F_DUPFD_CLOEXEC");
    return high;
}

bool place_for_exec(int first, std::initializer_list<int> fds) {
    int to = first;
    for (int fd : fds)
        if (::dup2(fd, to++) < 0) return false;  // dup2 clears close-on-exec on the copy only
    ::close_range(static_cast<unsigned>(to), ~0U, CLOSE_RANGE_CLOEXEC);
    return true;
}

Pipe make_pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) fail("pipe");
    return {UniqueFd(p[0]), UniqueFd(p[1])};
}

int poll_until(int fd, std::chrono::steady_clock::time_point deadline) {
    using std::chrono::milliseconds;
    for (;;) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
        if (n >= 0 || errno != EINTR) return n;
        if (left.count() <= 0) return 0;
    }
}

int read_byte(const UniqueFd& fd, char& byte) {
    for (;;) {
        ssize_t r = ::read(fd.get(), &byte, 1);
        if (r >= 0 || errno != EINTR) return static_cast<int>(r);
    }
}

}  // namespace netlab::net

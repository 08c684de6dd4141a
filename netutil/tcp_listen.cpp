#include "netutil/tcp_listen.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include "base/error.h"
#include "base/ipv4.h"

namespace netlab::net {

namespace {

[[noreturn]] void fail(const std::string& what) { throw Error(what + ": " + errno_text(errno)); }

}  // namespace

UniqueFd tcp_listen(const std::string& address, uint16_t port) {
    const auto ip = parse_ipv4(address);
    if (!ip) throw Error("parse address " + address + ": not a dotted IPv4 address");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = ip->be();
    const std::string where = address + ":" + std::to_string(port);
    UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) fail("open a socket for " + where);
    int one = 1;
    if (::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) fail("set SO_REUSEADDR on " + where);
    if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) fail("bind " + where);
    if (::listen(s.get(), SOMAXCONN) != 0) fail("listen on " + where);
    return s;
}

}  // namespace netlab::net

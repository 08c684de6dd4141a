#include "netutil/netlink_socket.h"

#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/error.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

namespace netlab::net {

void request_extended_acks(int fd) {
    int one = 1;
    ::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    ::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
}

namespace {

void grow(int fd, int opt_force, int opt, size_t bytes) {
    int v = static_cast<int>(std::min<size_t>(bytes, 1u << 30));
    if (::setsockopt(fd, SOL_SOCKET, opt_force, &v, sizeof v) != 0) ::setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v);
}

}  // namespace

void grow_socket_buffers(int fd, size_t send_bytes, size_t recv_bytes) {
    grow(fd, SO_SNDBUFFORCE, SO_SNDBUF, send_bytes);
    grow(fd, SO_RCVBUFFORCE, SO_RCVBUF, recv_bytes);
}

NetlinkAck read_ack(const nlmsghdr* nlh) {
    NetlinkAck ack;
    ack.seq = nlh->nlmsg_seq;
    if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(nlmsgerr)) {
        ack.error = EBADMSG;
        return ack;
    }
    const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(nlh));
    ack.error = -err->error;
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return ack;
    // The attributes follow the nlmsgerr and, unless capped, the copy of the request's payload.
    size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nlmsgerr));
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
        if (err->msg.nlmsg_len < NLMSG_HDRLEN) return ack;
        off += NLMSG_ALIGN(err->msg.nlmsg_len - NLMSG_HDRLEN);
    }
    const auto* base = reinterpret_cast<const char*>(nlh);
    while (off + NLA_HDRLEN <= nlh->nlmsg_len) {
        const auto* nla = reinterpret_cast<const nlattr*>(base + off);
        if (nla->nla_len < NLA_HDRLEN || off + nla->nla_len > nlh->nlmsg_len) break;
        if ((nla->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
            const char* s = base + off + NLA_HDRLEN;
            ack.message.assign(s, ::strnlen(s, nla->nla_len - NLA_HDRLEN));
        }
        off += NLA_ALIGN(nla->nla_len);
    }
    return ack;
}

void send_to_kernel(int fd, std::vector<iovec>& iov, const std::string& what) {
    sockaddr_nl snl{};
    snl.nl_family = AF_NETLINK;
    msghdr msg{};
    msg.msg_name = &snl;
    msg.msg_namelen = sizeof snl;
    msg.msg_iov = iov.data();
    msg.msg_iovlen = iov.size();
    ssize_t sent;
    do {
        sent = ::sendmsg(fd, &msg, 0);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) throw Error(errno_text(errno) + " (send " + what + ")");
}

void drain_datagrams(int fd, std::chrono::milliseconds timeout, size_t buffer_bytes, bool& lost,
                     const std::string& what, const std::function<void(const char*, size_t)>& each) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return;
    std::vector<char> buf(buffer_bytes);
    for (;;) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOBUFS) {
                lost = true;
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            throw Error("read " + what + ": " + errno_text(errno));
        }
        each(buf.data(), static_cast<size_t>(n));
    }
}

}  // namespace netlab::net

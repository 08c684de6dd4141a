#include "netutil/nft_socket.h"

#include <libnftnl/batch.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "base/error.h"
#include "netutil/netns.h"

namespace netlab::net::nft {

namespace {

MnlSocket open_socket(const std::string& netns) {
    if (netns.empty()) throw Error("no network namespace given");
    NetnsGuard guard(netns);  // the socket belongs to the namespace it is created in
    MnlSocket nl(mnl_socket_open(NETLINK_NETFILTER));
    if (!nl) throw Error(errno_text(errno) + " (open netlink socket)");
    if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) throw Error(errno_text(errno) + " (bind netlink socket)");
    request_extended_acks(mnl_socket_get_fd(nl.get()));
    return nl;
}

}  // namespace

mnl_socket* SocketCache::get(const std::string& netns) {
    unsigned long ino = netns_inode(netns);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->name != netns) continue;
        if (it->ino == ino && ino != 0) return it->sock.get();
        entries_.erase(it);  // that namespace is gone: its name now means another one
        break;
    }
    MnlSocket nl = open_socket(netns);
    mnl_socket* raw = nl.get();
    entries_.push_back({netns, ino, std::move(nl)});
    return raw;
}

void SocketCache::drop(const std::string& netns) {
    std::erase_if(entries_, [&](const Entry& e) { return e.name == netns; });
}

SocketCache& sockets() {
    static SocketCache cache;
    return cache;
}

void send_batch(mnl_socket* nl, nftnl_batch* b, size_t messages) {
    const int iovlen = nftnl_batch_iovec_len(b);
    std::vector<iovec> iov(static_cast<size_t>(iovlen));
    nftnl_batch_iovec(b, iov.data(), static_cast<uint32_t>(iovlen));
    size_t total = 0;
    for (const auto& v : iov) total += v.iov_len;

    const int fd = mnl_socket_get_fd(nl);
    // One ACK (nlmsgerr with the capped header) per message, plus room for extended ACKs.
    grow_socket_buffers(fd, total + (1 << 16), messages * 1024 + (1 << 16));

    send_to_kernel(fd, iov, "the netlink batch of " + std::to_string(total) + " bytes");
}

std::vector<NetlinkAck> read_acks(mnl_socket* nl, size_t expected) {
    std::vector<NetlinkAck> acks;
    std::vector<char> buf(1 << 16);
    const int fd = mnl_socket_get_fd(nl);
    while (acks.size() < expected) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                // The batch ran inside sendmsg, so every reply is queued by now; after an error some
                // messages get no reply at all. Otherwise wait a little, but never hang.
                bool failed = std::any_of(acks.begin(), acks.end(), [](const NetlinkAck& a) { return a.error; });
                if (failed) break;
                pollfd p{fd, POLLIN, 0};
                if (::poll(&p, 1, 2000) <= 0) break;
                continue;
            }
            throw Error(errno_text(errno) + " (read netlink replies)");
        }
        int len = static_cast<int>(n);
        for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len))
            if (nlh->nlmsg_type == NLMSG_ERROR) acks.push_back(read_ack(nlh));
    }
    return acks;
}

bool dump_request(mnl_socket* nl, nlmsghdr* nlh, mnl_cb_t cb, void* data) {
    const uint32_t seq = nlh->nlmsg_seq;
    const uint32_t portid = mnl_socket_get_portid(nl);
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) throw Error(errno_text(errno) + " (send netlink request)");
    std::vector<char> buf(1 << 16);
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(errno_text(errno) + " (read netlink reply)");
        }
        int rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, portid, cb, data);
        if (rc < 0) {
            // libmnl reports NLM_F_DUMP_INTR (the ruleset changed during the dump) as EINTR.
            if (errno == EINTR) return false;
            throw Error(errno_text(errno) + " (netlink dump)");
        }
        if (rc == MNL_CB_STOP) break;
    }
    return true;
}

}  // namespace netlab::net::nft

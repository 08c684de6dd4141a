// Conntrack through libmnl sockets and libnetfilter_conntrack's message parser (nfct_nlmsg_parse).
#include "netutil/conntrack.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <optional>

#include "base/error.h"
#include "netutil/netlink_socket.h"
#include "netutil/netns.h"

namespace netlab::net {

namespace {

struct CtFree {
    void operator()(nf_conntrack* c) const { nfct_destroy(c); }
};
using Ct = std::unique_ptr<nf_conntrack, CtFree>;

std::string ipv4_text(uint32_t be) {
    char b[INET_ADDRSTRLEN];
    in_addr a{be};
    ::inet_ntop(AF_INET, &a, b, sizeof b);
    return b;
}

const char* tcp_state_name(uint8_t s) {
    static const char* const names[] = {"NONE",      "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT",
                                        "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",       "SYN_SENT2"};
    return s < sizeof names / sizeof names[0] ? names[s] : "?";
}

ConntrackEntry entry_of(const nf_conntrack* ct) {
    ConntrackEntry e;
    auto u32 = [&](int a) { return nfct_attr_is_set(ct, static_cast<nf_conntrack_attr>(a)) > 0 ? nfct_get_attr_u32(ct, static_cast<nf_conntrack_attr>(a)) : 0u; };
    auto port = [&](int a) {
        return nfct_attr_is_set(ct, static_cast<nf_conntrack_attr>(a)) > 0
                   ? ntohs(nfct_get_attr_u16(ct, static_cast<nf_conntrack_attr>(a)))
                   : uint16_t{0};
    };
    e.id = u32(ATTR_ID);
    e.protocol = nfct_attr_is_set(ct, ATTR_ORIG_L4PROTO) > 0 ? nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO) : 0;
    e.orig = {ipv4_text(u32(ATTR_ORIG_IPV4_SRC)), ipv4_text(u32(ATTR_ORIG_IPV4_DST)), port(ATTR_ORIG_PORT_SRC),
              port(ATTR_ORIG_PORT_DST)};
    e.reply = {ipv4_text(u32(ATTR_REPL_IPV4_SRC)), ipv4_text(u32(ATTR_REPL_IPV4_DST)), port(ATTR_REPL_PORT_SRC),
               port(ATTR_REPL_PORT_DST)};
    e.status = u32(ATTR_STATUS);
    e.timeout = u32(ATTR_TIMEOUT);
    e.mark = u32(ATTR_MARK);
    if (e.protocol == IPPROTO_TCP && nfct_attr_is_set(ct, ATTR_TCP_STATE) > 0)
        e.state = tcp_state_name(nfct_get_attr_u8(ct, ATTR_TCP_STATE));
    e.dnat = nfct_getobjopt(ct, NFCT_GOPT_IS_DNAT) > 0;
    e.snat = nfct_getobjopt(ct, NFCT_GOPT_IS_SNAT) > 0;
    e.assured = e.status & IPS_ASSURED;
    e.unreplied = !(e.status & IPS_SEEN_REPLY);
    return e;
}

std::optional<ConntrackEvent> decode_one(const nlmsghdr* nlh) {
    if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK) return std::nullopt;
    const auto type = NFNL_MSG_TYPE(nlh->nlmsg_type);
    if (type != IPCTNL_MSG_CT_NEW && type != IPCTNL_MSG_CT_DELETE) return std::nullopt;
    if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nfgenmsg))) return std::nullopt;
    if (static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh))->nfgen_family != AF_INET) return std::nullopt;
    Ct ct(nfct_new());
    if (!ct || nfct_nlmsg_parse(nlh, ct.get()) < 0) return std::nullopt;
    ConntrackEvent ev;
    if (type == IPCTNL_MSG_CT_DELETE) ev.type = CtEventType::Destroy;
    else if ((nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) != 0) ev.type = CtEventType::New;
    else ev.type = CtEventType::Update;
    ev.entry = entry_of(ct.get());
    return ev;
}

UniqueFd open_ct_socket(const std::string& netns) {
    NetnsGuard guard(netns);
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
    if (!fd) throw Error(errno_text(errno) + " (open netlink socket)");
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
        throw Error(errno_text(errno) + " (bind netlink socket)");
    int size = 4 << 20;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    return fd;
}

}  // namespace

std::string protocol_name(uint8_t proto) {
    switch (proto) {
        case IPPROTO_TCP: return "tcp";
        case IPPROTO_UDP: return "udp";
        case IPPROTO_ICMP: return "icmp";
        default: return std::to_string(proto);
    }
}

std::string event_type_name(CtEventType t) {
    switch (t) {
        case CtEventType::New: return "new";
        case CtEventType::Update: return "update";
        case CtEventType::Destroy: return "destroy";
    }
    return "?";
}

std::vector<ConntrackEvent> decode_conntrack_messages(const void* buf, size_t len) {
    std::vector<ConntrackEvent> out;
    int left = static_cast<int>(len);
    for (auto* nlh = static_cast<const nlmsghdr*>(buf); mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
        if (auto e = decode_one(nlh)) out.push_back(std::move(*e));
    return out;
}

std::vector<ConntrackEntry> conntrack_list(const std::string& netns, std::string* raw) {
    return with_context("read conntrack in netns " + netns, [&] {
        UniqueFd fd = open_ct_socket(netns);
        std::vector<char> buf(1 << 16);
        auto* nlh = mnl_nlmsg_put_header(buf.data());
        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        nlh->nlmsg_seq = 1;
        auto* g = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
        g->nfgen_family = AF_INET;
        g->version = NFNETLINK_V0;
        g->res_id = 0;
        if (::send(fd.get(), nlh, nlh->nlmsg_len, 0) < 0) throw Error(errno_text(errno) + " (send dump request)");
        std::vector<ConntrackEntry> out;
        for (;;) {
            pollfd p{fd.get(), POLLIN, 0};
            int pr = ::poll(&p, 1, 5000);
            if (pr < 0 && errno == EINTR) continue;
            if (pr <= 0) throw Error("no reply to the dump request within 5 s");
            ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw Error(errno_text(errno) + " (read dump)");
            }
            if (raw) raw->append(buf.data(), static_cast<size_t>(n));
            int left = static_cast<int>(n);
            bool done = false;
            for (auto* m = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
                if (m->nlmsg_type == NLMSG_DONE) done = true;
                else if (m->nlmsg_type == NLMSG_ERROR) {
                    int err = -static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(m))->error;
                    if (err != 0)
                        throw Error(errno_text(err), err == EPERM ? "reading conntrack needs CAP_NET_ADMIN (run as root)" : "");
                    done = true;
                } else if (auto e = decode_one(m)) {
                    out.push_back(std::move(e->entry));
                }
            }
            if (done) break;
        }
        return out;
    });
}

ConntrackWatcher::ConntrackWatcher(const std::string& netns, bool updates) : netns_(netns) {
    with_context("watch conntrack in netns " + netns, [&] {
        fd_ = open_ct_socket(netns);
        std::vector<int> groups = {NFNLGRP_CONNTRACK_NEW, NFNLGRP_CONNTRACK_DESTROY};
        if (updates) groups.push_back(NFNLGRP_CONNTRACK_UPDATE);
        for (int g : groups)
            if (::setsockopt(fd_.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) != 0)
                throw Error(errno_text(errno) + " (join conntrack event group " + std::to_string(g) + ")",
                            errno == EPERM ? "conntrack events need CAP_NET_ADMIN (run as root)" : "");
    });
}

std::vector<ConntrackEvent> ConntrackWatcher::read(std::chrono::milliseconds timeout, std::string* raw) {
    std::vector<ConntrackEvent> out;
    drain_datagrams(fd_.get(), timeout, 1 << 16, lost_, "conntrack events in netns " + netns_,
                    [&](const char* data, size_t n) {
                        if (raw) raw->append(data, n);
                        auto ev = decode_conntrack_messages(data, n);
                        out.insert(out.end(), std::make_move_iterator(ev.begin()), std::make_move_iterator(ev.end()));
                    });
    return out;
}

}  // namespace netlab::net

// nftables tracing through libnftnl + libmnl: the trace tables, the NFNLGRP_NFTRACE events and the
// chain layout (shared notes "trace-facts" section 1c for what the events hold on this kernel).
#include "netutil/nft_trace.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/trace.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "base/error.h"
#include "netutil/netlink_socket.h"
#include "netutil/netns.h"

// Newer than Debian 12's uapi header (which ends at NFTA_TRACE_PAD = 17); Linux 6.x include/uapi.
#ifndef NFTA_TRACE_CT_ID
#define NFTA_TRACE_CT_ID 18
#define NFTA_TRACE_CT_DIRECTION 19
#define NFTA_TRACE_CT_STATUS 20
#define NFTA_TRACE_CT_STATE 21
#endif

namespace netlab::net {

void MnlSocketClose::operator()(mnl_socket* s) const { mnl_socket_close(s); }

namespace {

struct TraceFree {
    void operator()(nftnl_trace* t) const { nftnl_trace_free(t); }
};
struct TableFree {
    void operator()(nftnl_table* t) const { nftnl_table_free(t); }
};
struct ChainFree {
    void operator()(nftnl_chain* c) const { nftnl_chain_free(c); }
};
struct RuleFree {
    void operator()(nftnl_rule* r) const { nftnl_rule_free(r); }
};
struct BatchFree {
    void operator()(nftnl_batch* b) const { nftnl_batch_free(b); }
};
struct GenFree {
    void operator()(nftnl_gen* g) const { nftnl_gen_free(g); }
};
using Trace = std::unique_ptr<nftnl_trace, TraceFree>;
using Table = std::unique_ptr<nftnl_table, TableFree>;
using Chain = std::unique_ptr<nftnl_chain, ChainFree>;
using Rule = std::unique_ptr<nftnl_rule, RuleFree>;
using Batch = std::unique_ptr<nftnl_batch, BatchFree>;
using Gen = std::unique_ptr<nftnl_gen, GenFree>;

std::string family_name(uint8_t f) { return f == NFPROTO_BRIDGE ? "bridge" : f == NFPROTO_IPV4 ? "ip" : std::to_string(f); }

std::string ipv4_text(const uint8_t* p) {
    char b[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, p, b, sizeof b);
    return b;
}

std::string mac_text(const uint8_t* p) {
    char b[18];
    std::snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
    return b;
}

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

std::optional<TracePacket> decode_headers(const nftnl_trace* t) {
    uint32_t nlen = 0;
    const auto* nh = static_cast<const uint8_t*>(nftnl_trace_is_set(t, NFTNL_TRACE_NETWORK_HEADER)
                                                     ? nftnl_trace_get_data(t, NFTNL_TRACE_NETWORK_HEADER, &nlen)
                                                     : nullptr);
    if (!nh || nlen < 20 || (nh[0] >> 4) != 4) return std::nullopt;
    TracePacket p;
    p.ttl = nh[8];
    p.protocol = nh[9];
    p.src = ipv4_text(nh + 12);
    p.dst = ipv4_text(nh + 16);
    uint32_t tlen = 0;
    const auto* th = static_cast<const uint8_t*>(nftnl_trace_is_set(t, NFTNL_TRACE_TRANSPORT_HEADER)
                                                     ? nftnl_trace_get_data(t, NFTNL_TRACE_TRANSPORT_HEADER, &tlen)
                                                     : nullptr);
    if (th && tlen >= 4 && (p.protocol == IPPROTO_TCP || p.protocol == IPPROTO_UDP)) {
        p.sport = be16(th);
        p.dport = be16(th + 2);
        if (p.protocol == IPPROTO_TCP && tlen >= 14) p.tcp_flags = th[13];
    }
    uint32_t llen = 0;
    const auto* ll = static_cast<const uint8_t*>(nftnl_trace_is_set(t, NFTNL_TRACE_LL_HEADER)
                                                     ? nftnl_trace_get_data(t, NFTNL_TRACE_LL_HEADER, &llen)
                                                     : nullptr);
    if (ll && llen >= 14) {
        p.dst_mac = mac_text(ll);
        p.src_mac = mac_text(ll + 6);
    }
    return p;
}

struct CtAttrs {
    TraceEvent* e;
};

int ct_attr_cb(const nlattr* a, void* data) {
    auto* e = static_cast<CtAttrs*>(data)->e;
    switch (mnl_attr_get_type(a)) {
        case NFTA_TRACE_CT_ID:
            if (mnl_attr_get_payload_len(a) >= 4) e->ct_id = ntohl(mnl_attr_get_u32(a));
            break;
        case NFTA_TRACE_CT_STATUS:
            if (mnl_attr_get_payload_len(a) >= 4) e->ct_status = ntohl(mnl_attr_get_u32(a));
            break;
        case NFTA_TRACE_CT_STATE:
            if (mnl_attr_get_payload_len(a) >= 4) e->ct_state = ntohl(mnl_attr_get_u32(a));
            break;
        case NFTA_TRACE_CT_DIRECTION:
            if (mnl_attr_get_payload_len(a) >= 1) e->ct_direction = mnl_attr_get_u8(a);
            break;
        default: break;
    }
    return MNL_CB_OK;
}

std::optional<TraceEvent> decode_one(const nlmsghdr* nlh) {
    if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES || NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_TRACE)
        return std::nullopt;
    Trace t(nftnl_trace_alloc());
    if (!t || nftnl_trace_nlmsg_parse(nlh, t.get()) < 0) return std::nullopt;
    TraceEvent e;
    auto u32 = [&](uint16_t a) -> std::optional<uint32_t> {
        if (!nftnl_trace_is_set(t.get(), a)) return std::nullopt;
        return nftnl_trace_get_u32(t.get(), a);
    };
    auto str = [&](uint16_t a) -> std::string {
        const char* s = nftnl_trace_is_set(t.get(), a) ? nftnl_trace_get_str(t.get(), a) : nullptr;
        return s ? s : "";
    };
    e.id = u32(NFTNL_TRACE_ID).value_or(0);
    e.family = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh))->nfgen_family;
    e.nfproto = u32(NFTNL_TRACE_NFPROTO).value_or(e.family);
    e.table = str(NFTNL_TRACE_TABLE);
    e.chain = str(NFTNL_TRACE_CHAIN);
    switch (u32(NFTNL_TRACE_TYPE).value_or(0)) {
        case NFT_TRACETYPE_POLICY: e.type = TraceEvent::Type::Policy; break;
        case NFT_TRACETYPE_RETURN: e.type = TraceEvent::Type::Return; break;
        case NFT_TRACETYPE_RULE: e.type = TraceEvent::Type::Rule; break;
        default: e.type = TraceEvent::Type::Unknown;
    }
    if (nftnl_trace_is_set(t.get(), NFTNL_TRACE_RULE_HANDLE))
        e.rule_handle = nftnl_trace_get_u64(t.get(), NFTNL_TRACE_RULE_HANDLE);
    if (auto v = u32(NFTNL_TRACE_VERDICT)) {
        e.verdict_code = static_cast<int32_t>(*v);
        switch (e.verdict_code) {
            case NF_ACCEPT: e.verdict = TraceVerdict::Accept; break;
            case NF_DROP: e.verdict = TraceVerdict::Drop; break;
            case NFT_CONTINUE: e.verdict = TraceVerdict::Continue; break;
            case NFT_RETURN: e.verdict = TraceVerdict::Return; break;
            case NFT_JUMP: e.verdict = TraceVerdict::Jump; break;
            case NFT_GOTO: e.verdict = TraceVerdict::Goto; break;
            default: e.verdict = TraceVerdict::Other;
        }
    }
    e.jump_target = str(NFTNL_TRACE_JUMP_TARGET);
    e.policy = u32(NFTNL_TRACE_POLICY);
    e.iif = u32(NFTNL_TRACE_IIF);
    e.oif = u32(NFTNL_TRACE_OIF);
    e.mark = u32(NFTNL_TRACE_MARK);
    e.packet = decode_headers(t.get());
    CtAttrs ctx{&e};
    mnl_attr_parse(nlh, sizeof(nfgenmsg), ct_attr_cb, &ctx);
    return e;
}

// ------------------------------------------------------------------------------- sockets

MnlSocketPtr open_nf_socket(const std::string& netns) {
    NetnsGuard guard(netns);  // a netlink socket belongs to the namespace it is made in
    MnlSocketPtr nl(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
    if (!nl) throw Error(errno_text(errno) + " (open netlink socket)");
    if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) throw Error(errno_text(errno) + " (bind netlink socket)");
    return nl;
}

// Sends the batch and reads one ACK per message; throws Error naming the first failing message.
void run_batch(mnl_socket* nl, nftnl_batch* b, const std::vector<std::string>& what, uint32_t first_seq,
               int ignore_errno = 0) {
    const int fd = mnl_socket_get_fd(nl);
    std::vector<iovec> iov(static_cast<size_t>(nftnl_batch_iovec_len(b)));
    nftnl_batch_iovec(b, iov.data(), static_cast<uint32_t>(iov.size()));
    send_to_kernel(fd, iov, "netlink batch");
    std::vector<char> buf(1 << 16);
    size_t acks = 0;
    std::string first_error;
    while (acks < what.size()) {
        pollfd p{fd, POLLIN, 0};
        int pr = ::poll(&p, 1, 2000);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) break;
        ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(errno_text(errno) + " (read netlink replies)");
        }
        int len = static_cast<int>(n);
        for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
            if (nlh->nlmsg_type != NLMSG_ERROR) continue;
            ++acks;
            int err = -static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(nlh))->error;
            if (err == 0 || err == ignore_errno || !first_error.empty()) continue;
            size_t i = nlh->nlmsg_seq - first_seq;
            first_error = errno_text(err) + " (" + (i < what.size() ? what[i] : std::string("batch")) + ")";
        }
        if (!first_error.empty()) break;
    }
    if (!first_error.empty()) throw Error(first_error);
    if (acks < what.size())
        throw Error("the kernel acknowledged " + std::to_string(acks) + " of " + std::to_string(what.size()) +
                    " messages");
}

// ------------------------------------------------------------------------------- rule building

class RuleBuilder {
public:
    RuleBuilder(uint8_t family, const std::string& table, const std::string& chain) : r_(nftnl_rule_alloc()) {
        if (!r_) throw Error("allocate rule: out of memory");
        nftnl_rule_set_u32(r_.get(), NFTNL_RULE_FAMILY, family);
        nftnl_rule_set_str(r_.get(), NFTNL_RULE_TABLE, table.c_str());
        nftnl_rule_set_str(r_.get(), NFTNL_RULE_CHAIN, chain.c_str());
    }
    void meta_load(uint32_t key) {
        auto* e = expr("meta");
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
    }
    void ct_load(uint32_t key) {
        auto* e = expr("ct");
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
        nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, 0);  // IP_CT_DIR_ORIGINAL
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
    }
    void payload(uint32_t base, uint32_t offset, uint32_t len) {
        auto* e = expr("payload");
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
    }
    void cmp_eq(const void* data, uint32_t len) {
        auto* e = expr("cmp");
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
        nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
    }
    void cmp_u8(uint8_t v) { cmp_eq(&v, 1); }
    void cmp_be16(uint16_t v) {
        uint16_t n = htons(v);
        cmp_eq(&n, 2);
    }
    void cmp_addr(const std::string& a) {
        in_addr x{};
        if (::inet_pton(AF_INET, a.c_str(), &x) != 1) throw Error("bad IPv4 address '" + a + "'");
        cmp_eq(&x, 4);
    }
    // meta nftrace set 1: [immediate reg 1 0x01][meta set nftrace with reg 1]
    void set_nftrace() {
        auto* imm = expr("immediate");
        uint8_t one = 1;
        nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
        nftnl_expr_set(imm, NFTNL_EXPR_IMM_DATA, &one, 1);
        auto* set = expr("meta");
        nftnl_expr_set_u32(set, NFTNL_EXPR_META_KEY, NFT_META_NFTRACE);
        nftnl_expr_set_u32(set, NFTNL_EXPR_META_SREG, NFT_REG_1);
    }
    Rule release() { return std::move(r_); }

private:
    nftnl_expr* expr(const char* name) {
        nftnl_expr* e = nftnl_expr_alloc(name);
        if (!e) throw Error(std::string("allocate expression ") + name + ": out of memory");
        nftnl_rule_add_expr(r_.get(), e);  // the rule owns it from here
        return e;
    }
    Rule r_;
};

std::vector<Rule> select_rules(const TraceTableSpec& s, const std::string& chain) {
    std::vector<Rule> out;
    if (s.family == NFPROTO_BRIDGE) {
        // meta protocol ip meta l4proto tcp ip daddr D tcp sport S tcp dport P meta nftrace set 1
        RuleBuilder req(s.family, s.name, chain);
        req.meta_load(NFT_META_PROTOCOL);
        req.cmp_be16(0x0800);
        req.meta_load(NFT_META_L4PROTO);
        req.cmp_u8(IPPROTO_TCP);
        req.payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
        req.cmp_addr(s.flow.daddr);
        req.payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2);
        req.cmp_be16(s.flow.sport);
        req.payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
        req.cmp_be16(s.flow.dport);
        req.set_nftrace();
        out.push_back(req.release());
        // meta protocol ip meta l4proto tcp tcp dport S meta nftrace set 1 (the replies)
        RuleBuilder rep(s.family, s.name, chain);
        rep.meta_load(NFT_META_PROTOCOL);
        rep.cmp_be16(0x0800);
        rep.meta_load(NFT_META_L4PROTO);
        rep.cmp_u8(IPPROTO_TCP);
        rep.payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
        rep.cmp_be16(s.flow.sport);
        rep.set_nftrace();
        out.push_back(rep.release());
    } else {
        // meta l4proto tcp ct original proto-src S ct original ip daddr D ct original proto-dst P
        // meta nftrace set 1
        RuleBuilder b(s.family, s.name, chain);
        b.meta_load(NFT_META_L4PROTO);
        b.cmp_u8(IPPROTO_TCP);
        b.ct_load(NFT_CT_PROTO_SRC);
        b.cmp_be16(s.flow.sport);
        b.ct_load(NFT_CT_DST_IP);
        b.cmp_addr(s.flow.daddr);
        b.ct_load(NFT_CT_PROTO_DST);
        b.cmp_be16(s.flow.dport);
        b.set_nftrace();
        out.push_back(b.release());
    }
    return out;
}

}  // namespace

std::vector<TraceEvent> decode_trace_messages(const void* buf, size_t len) {
    std::vector<TraceEvent> out;
    int left = static_cast<int>(len);
    for (auto* nlh = static_cast<const nlmsghdr*>(buf); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left))
        if (auto e = decode_one(nlh)) out.push_back(std::move(*e));
    return out;
}

std::string verdict_text(const TraceEvent& e) {
    switch (e.verdict) {
        case TraceVerdict::Accept: return "ACCEPT";
        case TraceVerdict::Drop: return "DROP";
        case TraceVerdict::Continue: return "continue";
        case TraceVerdict::Return: return "return";
        case TraceVerdict::Jump: return "jump " + e.jump_target;
        case TraceVerdict::Goto: return "goto " + e.jump_target;
        case TraceVerdict::None: return "";
        case TraceVerdict::Other: break;
    }
    return "verdict " + std::to_string(e.verdict_code);
}

// ------------------------------------------------------------------------------- TraceListener

TraceListener::TraceListener(const std::string& netns) : netns_(netns) {
    with_context("listen for trace events in netns " + netns, [&] {
        NetnsGuard guard(netns);
        fd_.reset(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
        if (!fd_) throw Error(errno_text(errno) + " (open netlink socket)");
        sockaddr_nl sa{};
        sa.nl_family = AF_NETLINK;
        if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
            throw Error(errno_text(errno) + " (bind netlink socket)");
        int group = NFNLGRP_NFTRACE;
        if (::setsockopt(fd_.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0)
            throw Error(errno_text(errno) + " (join NFNLGRP_NFTRACE)",
                        errno == EPERM ? "listening to trace events needs CAP_NET_ADMIN (run as root)" : "");
        int size = 8 << 20;
        if (::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
            ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    });
}

std::vector<TraceEvent> TraceListener::read(std::chrono::milliseconds timeout, std::string* raw) {
    std::vector<TraceEvent> out;
    drain_datagrams(fd_.get(), timeout, 1 << 17, lost_, "trace events in netns " + netns_,
                    [&](const char* data, size_t n) {
                        if (raw) raw->append(data, n);
                        auto ev = decode_trace_messages(data, n);
                        out.insert(out.end(), std::make_move_iterator(ev.begin()), std::make_move_iterator(ev.end()));
                    });
    return out;
}

// ------------------------------------------------------------------------------- NftTraceTable

NftTraceTable::NftTraceTable(const std::string& netns, const TraceTableSpec& spec)
    : netns_(netns), family_(spec.family), name_(spec.name) {
    with_context("add trace table " + family_name(spec.family) + " " + spec.name + " in netns " + netns, [&] {
        sock_ = open_nf_socket(netns);
        Batch b(nftnl_batch_alloc(static_cast<uint32_t>(::getpagesize()), MNL_SOCKET_BUFFER_SIZE));
        if (!b) throw Error("allocate batch: out of memory");
        uint32_t seq = 1;
        std::vector<std::string> what;
        auto next = [&] {
            if (nftnl_batch_update(b.get()) < 0) throw Error("grow batch: out of memory");
        };
        auto buf = [&] { return static_cast<char*>(nftnl_batch_buffer(b.get())); };
        nftnl_batch_begin(buf(), seq++);
        next();
        const uint32_t first = seq;

        Table t(nftnl_table_alloc());
        nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, spec.name.c_str());
        nftnl_table_set_u32(t.get(), NFTNL_TABLE_FLAGS, NFT_TABLE_F_OWNER);
        nlmsghdr* nlh = nftnl_table_nlmsg_build_hdr(buf(), NFT_MSG_NEWTABLE, spec.family,
                                                    NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, seq++);
        nftnl_table_nlmsg_build_payload(nlh, t.get());
        what.push_back("table " + spec.name);
        next();
        for (const auto& c : spec.chains) {
            Chain ch(nftnl_chain_alloc());
            nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TABLE, spec.name.c_str());
            nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_NAME, c.name.c_str());
            nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_HOOKNUM, c.hook);
            nftnl_chain_set_s32(ch.get(), NFTNL_CHAIN_PRIO, c.priority);
            nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TYPE, "filter");
            nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
            nlh = nftnl_chain_nlmsg_build_hdr(buf(), NFT_MSG_NEWCHAIN, spec.family, NLM_F_CREATE | NLM_F_ACK, seq++);
            nftnl_chain_nlmsg_build_payload(nlh, ch.get());
            what.push_back("chain " + c.name);
            next();
            if (!c.select) continue;
            for (auto& r : select_rules(spec, c.name)) {
                nlh = nftnl_rule_nlmsg_build_hdr(buf(), NFT_MSG_NEWRULE, spec.family,
                                                 NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, seq++);
                nftnl_rule_nlmsg_build_payload(nlh, r.get());
                what.push_back("rule of chain " + c.name);
                next();
            }
        }
        nftnl_batch_end(buf(), seq++);
        next();
        run_batch(sock_.get(), b.get(), what, first);
    });
}

NftTraceTable::~NftTraceTable() {
    try {
        remove();
    } catch (const Error&) {
        // The socket closes anyway, and the kernel deletes a table its owner socket leaves.
    }
}

NftTraceTable::NftTraceTable(NftTraceTable&& o) noexcept = default;
NftTraceTable& NftTraceTable::operator=(NftTraceTable&& o) noexcept {
    if (this != &o) {
        try {
            remove();
        } catch (const Error&) {
        }
        sock_ = std::move(o.sock_);
        netns_ = std::move(o.netns_);
        family_ = o.family_;
        name_ = std::move(o.name_);
    }
    return *this;
}

static void delete_table(mnl_socket* nl, uint8_t family, const std::string& name) {
    Batch b(nftnl_batch_alloc(static_cast<uint32_t>(::getpagesize()), MNL_SOCKET_BUFFER_SIZE));
    if (!b) throw Error("allocate batch: out of memory");
    auto buf = [&] { return static_cast<char*>(nftnl_batch_buffer(b.get())); };
    uint32_t seq = 1;
    nftnl_batch_begin(buf(), seq++);
    nftnl_batch_update(b.get());
    Table t(nftnl_table_alloc());
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name.c_str());
    nlmsghdr* nlh = nftnl_table_nlmsg_build_hdr(buf(), NFT_MSG_DELTABLE, family, NLM_F_ACK, seq++);
    nftnl_table_nlmsg_build_payload(nlh, t.get());
    nftnl_batch_update(b.get());
    nftnl_batch_end(buf(), seq++);
    nftnl_batch_update(b.get());
    run_batch(nl, b.get(), {"delete table " + name}, 2, ENOENT);
}

void NftTraceTable::remove() {
    if (!sock_) return;
    MnlSocketPtr s = std::move(sock_);
    with_context("delete trace table " + family_name(family_) + " " + name_ + " in netns " + netns_,
                 [&] { delete_table(s.get(), family_, name_); });
}

void nft_trace_table_delete(const std::string& netns, uint8_t family, const std::string& name) {
    if (!netns_exists(netns)) return;
    with_context("delete trace table " + family_name(family) + " " + name + " in netns " + netns, [&] {
        MnlSocketPtr s = open_nf_socket(netns);
        delete_table(s.get(), family, name);
    });
}

// ------------------------------------------------------------------------------- dumps

namespace {

// Runs one dump request; false when the kernel says the dump was interrupted (retry).
template <class F>
bool dump(mnl_socket* nl, uint16_t type, uint8_t family, uint32_t seq, F&& each) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), type, family, NLM_F_DUMP, seq);
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) throw Error(errno_text(errno) + " (send netlink request)");
    const uint32_t portid = mnl_socket_get_portid(nl);
    struct Ctx {
        F* f;
        bool failed = false;
    } ctx{&each};
    auto cb = [](const nlmsghdr* m, void* data) -> int {
        auto* c = static_cast<Ctx*>(data);
        if (!(*c->f)(m)) c->failed = true;
        return MNL_CB_OK;
    };
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(errno_text(errno) + " (read netlink reply)");
        }
        int rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, portid, cb, &ctx);
        if (rc < 0) {
            if (errno == EINTR) return false;
            if (errno == ENOENT) return true;
            throw Error(errno_text(errno) + " (netlink dump)");
        }
        if (rc == MNL_CB_STOP) break;
    }
    if (ctx.failed) throw Error("could not parse a netlink reply");
    return true;
}

uint32_t genid(mnl_socket* nl, uint32_t seq) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETGEN, AF_UNSPEC, 0, seq);
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) throw Error(errno_text(errno) + " (send netlink request)");
    uint32_t id = 0;
    auto cb = [](const nlmsghdr* m, void* data) -> int {
        Gen g(nftnl_gen_alloc());
        if (g && nftnl_gen_nlmsg_parse(m, g.get()) == 0) *static_cast<uint32_t*>(data) = nftnl_gen_get_u32(g.get(), NFTNL_GEN_ID);
        return MNL_CB_OK;
    };
    ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
    if (n < 0) throw Error(errno_text(errno) + " (read netlink reply)");
    mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, mnl_socket_get_portid(nl), cb, &id);
    return id;
}

}  // namespace

bool nft_table_exists(const std::string& netns, uint8_t family, const std::string& name) {
    if (!netns_exists(netns)) return false;
    return with_context("read tables in netns " + netns, [&] {
        MnlSocketPtr s = open_nf_socket(netns);
        bool found = false;
        dump(s.get(), NFT_MSG_GETTABLE, family, 1, [&](const nlmsghdr* m) {
            Table t(nftnl_table_alloc());
            if (!t || nftnl_table_nlmsg_parse(m, t.get()) < 0) return false;
            const char* n = nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME);
            if (n && name == n) found = true;
            return true;
        });
        return found;
    });
}

std::vector<ChainInfo> nft_chain_layout(const std::string& netns) {
    return with_context("read chains in netns " + netns, [&] {
        MnlSocketPtr s = open_nf_socket(netns);
        uint32_t seq = 1;
        for (int attempt = 0; attempt < 10; ++attempt) {
            std::vector<ChainInfo> chains;
            const uint32_t before = genid(s.get(), seq++);
            bool ok = dump(s.get(), NFT_MSG_GETCHAIN, NFPROTO_UNSPEC, seq++, [&](const nlmsghdr* m) {
                Chain c(nftnl_chain_alloc());
                if (!c || nftnl_chain_nlmsg_parse(m, c.get()) < 0) return false;
                ChainInfo ci;
                ci.family = static_cast<uint8_t>(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_FAMILY));
                if (ci.family != NFPROTO_IPV4 && ci.family != NFPROTO_BRIDGE) return true;
                const char* t = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE);
                const char* n = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME);
                ci.table = t ? t : "";
                ci.name = n ? n : "";
                ci.base = nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM);
                if (ci.base) {
                    ci.hook = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM);
                    ci.priority = nftnl_chain_get_s32(c.get(), NFTNL_CHAIN_PRIO);
                }
                chains.push_back(std::move(ci));
                return true;
            });
            ok = ok && dump(s.get(), NFT_MSG_GETRULE, NFPROTO_UNSPEC, seq++, [&](const nlmsghdr* m) {
                Rule r(nftnl_rule_alloc());
                if (!r || nftnl_rule_nlmsg_parse(m, r.get()) < 0) return false;
                auto fam = static_cast<uint8_t>(nftnl_rule_get_u32(r.get(), NFTNL_RULE_FAMILY));
                const char* t = nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE);
                const char* n = nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN);
                for (auto& c : chains)
                    if (c.family == fam && t && n && c.table == t && c.name == n)
                        c.handles.push_back(nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE));
                return true;
            });
            if (ok && genid(s.get(), seq++) == before) return chains;
        }
        throw Error("the ruleset kept changing while it was read");
    });
}

}  // namespace netlab::net

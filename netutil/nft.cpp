// iptables rules programmed and read through libnftnl + libmnl, in iptables-nft 1.8.9's own layout
// (shared notes "netlink-facts" sections 1 and 2), so `iptables-nft -S/-L/-C` see exactly these rules.
//
// Layout of one rule, in expression order (what iptables-nft emits for the same command):
//   [meta iifname][cmp]  [meta oifname][cmp]  [meta l4proto][cmp]
//   [payload nh+12][bitwise?][cmp]  [payload nh+16][bitwise?][cmp]
//   [payload th+0/+2][cmp] (ports, native) | [match tcp/udp rev0] (bare -m tcp)
//   [match statistic rev0]  [counter]  [immediate verdict/jump/goto] | [target DNAT rev2 / MASQUERADE rev0]
//   comment: rule userdata (NFTNL_UDATA_RULE_COMMENT), which iptables-nft lists as -m comment.
#include "netutil/nft.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_statistic.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "base/error.h"
#include "base/ipv4.h"
#include "netutil/netns.h"
#include "rules/builtin.h"
#include "rules/probability.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

namespace netlab::net {

using rules::IptChain;
using rules::IptRule;
using rules::IptTable;
using rules::Ruleset;

namespace {

// ---------------------------------------------------------------- RAII handles

struct MnlSocketDeleter {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
struct TableDeleter {
    void operator()(nftnl_table* t) const { nftnl_table_free(t); }
};
struct ChainDeleter {
    void operator()(nftnl_chain* c) const { nftnl_chain_free(c); }
};
struct RuleDeleter {
    void operator()(nftnl_rule* r) const { nftnl_rule_free(r); }
};
struct ExprDeleter {
    void operator()(nftnl_expr* e) const { nftnl_expr_free(e); }
};
struct ExprIterDeleter {
    void operator()(nftnl_expr_iter* i) const { nftnl_expr_iter_destroy(i); }
};
struct BatchDeleter {
    void operator()(nftnl_batch* b) const { nftnl_batch_free(b); }
};
struct UdataDeleter {
    void operator()(nftnl_udata_buf* b) const { nftnl_udata_buf_free(b); }
};
struct GenDeleter {
    void operator()(nftnl_gen* g) const { nftnl_gen_free(g); }
};
struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};

using MnlSocket = std::unique_ptr<mnl_socket, MnlSocketDeleter>;
using Table = std::unique_ptr<nftnl_table, TableDeleter>;
using Chain = std::unique_ptr<nftnl_chain, ChainDeleter>;
using Rule = std::unique_ptr<nftnl_rule, RuleDeleter>;
using Expr = std::unique_ptr<nftnl_expr, ExprDeleter>;
using ExprIter = std::unique_ptr<nftnl_expr_iter, ExprIterDeleter>;
using Batch = std::unique_ptr<nftnl_batch, BatchDeleter>;
using Udata = std::unique_ptr<nftnl_udata_buf, UdataDeleter>;
using Gen = std::unique_ptr<nftnl_gen, GenDeleter>;
using MallocBuf = std::unique_ptr<void, FreeDeleter>;

template <class T>
T checked(T p, const char* what) {
    if (!p) throw Error(std::string("allocate ") + what + ": out of memory");
    return p;
}

// ---------------------------------------------------------------- builtin chains

// Position of a builtin chain in hook order within its table; large for anything else.
int base_chain_rank(const std::string& table, const std::string& name) {
    int i = rules::builtin_index(table, name);
    return i < 0 ? 1000 : i;
}

// ---------------------------------------------------------------- sockets

MnlSocket open_socket(const std::string& netns) {
    if (netns.empty()) throw Error("no network namespace given");
    NetnsGuard guard(netns);  // the socket belongs to the namespace it is created in
    MnlSocket nl(mnl_socket_open(NETLINK_NETFILTER));
    if (!nl) throw Error(errno_text(errno) + " (open netlink socket)");
    if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        throw Error(errno_text(errno) + " (bind netlink socket)");
    int one = 1;
    // Short error replies (no copy of the failing request) with the kernel's explanation, if any.
    ::setsockopt(mnl_socket_get_fd(nl.get()), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    ::setsockopt(mnl_socket_get_fd(nl.get()), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    return nl;
}

// One socket per namespace, open for the life of the process. Closing a netfilter netlink socket
// waits for nf_tables to finish destroying what the last commit replaced (nft_rcv_nl_event flushes
// the deferred destroy work, an RCU grace period: 8-20 ms on the benchmark machine), so a full run
// that opened and closed one socket per step spent ~100 ms in close(). Keyed by the namespace's
// inode: a namespace deleted and made again under the same name gets a new socket. A socket keeps
// its namespace alive, so netns_delete() drops the namespace's socket first (nft_forget_netns).
class SocketCache {
public:
    // The socket for `netns`, made when there is none. Hold lock() while using it.
    mnl_socket* get(const std::string& netns) {
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
    // Closes the socket of `netns` (after an error it may hold unread replies; or the namespace goes).
    void drop(const std::string& netns) {
        std::erase_if(entries_, [&](const Entry& e) { return e.name == netns; });
    }
    std::mutex& lock() { return mutex_; }

private:
    struct Entry {
        std::string name;
        unsigned long ino;
        MnlSocket sock;
    };
    std::vector<Entry> entries_;
    std::mutex mutex_;
};

SocketCache& sockets() {
    static SocketCache cache;
    return cache;
}

void grow_buffer(int fd, int opt_force, int opt, size_t bytes) {
    int v = static_cast<int>(std::min<size_t>(bytes, 1u << 30));
    if (::setsockopt(fd, SOL_SOCKET, opt_force, &v, sizeof v) != 0) ::setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v);
}

// ---------------------------------------------------------------- encoding

struct IfaceMatch {
    std::string bytes;  // what cmp compares; empty with wildcard_all = "-i +"
    bool wildcard_all = false;
};

// iptables-nft: "eth0" -> "eth0\0" (strlen+1), "veth+" -> "veth" (prefix), "+" -> no cmp at all.
IfaceMatch iface_bytes(const std::string& name) {
    IfaceMatch m;
    if (!name.empty() && name.back() == '+') {
        m.bytes = name.substr(0, name.size() - 1);
        m.wildcard_all = m.bytes.empty();
    } else {
        m.bytes = name;
        m.bytes.push_back('\0');
    }
    return m;
}

// The network byte order mask of a prefix length.
uint32_t prefix_mask(int prefix) { return htonl(mask_of_prefix(prefix)); }

std::string format_cidr(uint32_t addr_be, int prefix) { return Ipv4Cidr{Ipv4{ntohl(addr_be)}, prefix}.str(); }

uint8_t proto_number(const std::string& p) {
    if (p == "tcp") return IPPROTO_TCP;
    if (p == "udp") return IPPROTO_UDP;
    return 0;
}

class RuleBuilder {
public:
    explicit RuleBuilder(nftnl_rule* r) : r_(r) {}

    void meta(uint32_t key) {
        Expr e = make("meta");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_KEY, key);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_DREG, NFT_REG_1);
        add(std::move(e));
    }
    void payload(uint32_t base, uint32_t offset, uint32_t len) {
        Expr e = make("payload");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_BASE, base);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_OFFSET, offset);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_LEN, len);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
        add(std::move(e));
    }
    void bitwise(const void* mask, uint32_t len) {
        std::string zero(len, '\0');
        Expr e = make("bitwise");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_LEN, len);
        nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_MASK, mask, len);
        nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_XOR, zero.data(), len);
        add(std::move(e));
    }
    void cmp_eq(const void* data, uint32_t len) {
        Expr e = make("cmp");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
        nftnl_expr_set(e.get(), NFTNL_EXPR_CMP_DATA, data, len);  // copied
        add(std::move(e));
    }
    void counter() { add(make("counter")); }
    void verdict(uint32_t v, const std::string& chain = {}) {
        Expr e = make("immediate");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_VERDICT, v);
        if (!chain.empty()) nftnl_expr_set_str(e.get(), NFTNL_EXPR_IMM_CHAIN, chain.c_str());
        add(std::move(e));
    }
    // An xt match or target; `info` is copied into a malloc'd buffer that the expression owns.
    void xt(bool target, const char* name, uint32_t rev, const void* info, size_t len) {
        Expr e = make(target ? "target" : "match");
        MallocBuf buf(checked(std::calloc(1, len), "xt info"));
        std::memcpy(buf.get(), info, len);
        const uint16_t name_attr = target ? uint16_t{NFTNL_EXPR_TG_NAME} : uint16_t{NFTNL_EXPR_MT_NAME};
        const uint16_t rev_attr = target ? uint16_t{NFTNL_EXPR_TG_REV} : uint16_t{NFTNL_EXPR_MT_REV};
        const uint16_t info_attr = target ? uint16_t{NFTNL_EXPR_TG_INFO} : uint16_t{NFTNL_EXPR_MT_INFO};
        nftnl_expr_set_str(e.get(), name_attr, name);
        nftnl_expr_set_u32(e.get(), rev_attr, rev);
        // NFTNL_EXPR_{MT,TG}_INFO keep the pointer and free() it with the expression.
        nftnl_expr_set(e.get(), info_attr, buf.release(), static_cast<uint32_t>(len));
        add(std::move(e));
    }

private:
    static Expr make(const char* name) { return Expr(checked(nftnl_expr_alloc(name), name)); }
    void add(Expr e) { nftnl_rule_add_expr(r_, e.release()); }  // the rule owns it now
    nftnl_rule* r_;
};

void encode_address(RuleBuilder& b, uint32_t offset, const std::string& cidr, const std::string& where) {
    auto c = parse_ipv4_cidr(cidr);
    if (!c) throw Error("bad address '" + cidr + "' (" + where + ")");
    if (c->prefix == 0) return;  // matches everything: iptables emits nothing
    uint32_t mask = prefix_mask(c->prefix);
    uint32_t addr_be = c->network().be();
    const auto* m = reinterpret_cast<const unsigned char*>(&mask);
    const auto* a = reinterpret_cast<const unsigned char*>(&addr_be);
    if (c->prefix % 8 == 0) {
        uint32_t len = static_cast<uint32_t>(c->prefix / 8);
        b.payload(NFT_PAYLOAD_NETWORK_HEADER, offset, len);
        b.cmp_eq(a, len);
    } else {
        b.payload(NFT_PAYLOAD_NETWORK_HEADER, offset, 4);
        b.bitwise(m, 4);
        b.cmp_eq(a, 4);
    }
}

void encode_iface(RuleBuilder& b, uint32_t key, const std::string& name) {
    IfaceMatch m = iface_bytes(name);
    b.meta(key);
    if (!m.wildcard_all) b.cmp_eq(m.bytes.data(), static_cast<uint32_t>(m.bytes.size()));
}

constexpr size_t kTcpInfoLen = XT_ALIGN(sizeof(xt_tcp));
constexpr size_t kUdpInfoLen = XT_ALIGN(sizeof(xt_udp));
constexpr size_t kStatisticInfoLen = XT_ALIGN(sizeof(xt_statistic_info));
constexpr size_t kDnatInfoLen = XT_ALIGN(sizeof(nf_nat_range2));
constexpr size_t kMasqInfoLen = XT_ALIGN(sizeof(nf_nat_ipv4_multi_range_compat));
constexpr size_t kCommentInfoLen = XT_ALIGN(sizeof(xt_comment_info));

// Fills `r` with the expressions of `ir`; throws Error naming `where` for values it can't encode.
void encode_rule(nftnl_rule* r, const IptRule& ir, const std::string& where) {
    RuleBuilder b(r);
    const uint8_t proto = proto_number(ir.proto);
    if (!ir.proto.empty() && proto == 0) throw Error("unsupported protocol '" + ir.proto + "' (" + where + ")");
    if ((ir.sport || ir.dport || ir.match_proto) && proto == 0)
        throw Error("ports and -m tcp/udp need -p tcp or -p udp (" + where + ")");

    if (!ir.in_iface.empty()) encode_iface(b, NFT_META_IIFNAME, ir.in_iface);
    if (!ir.out_iface.empty()) encode_iface(b, NFT_META_OIFNAME, ir.out_iface);
    if (proto != 0) {
        b.meta(NFT_META_L4PROTO);
        b.cmp_eq(&proto, 1);
    }
    if (!ir.src.empty()) encode_address(b, 12, ir.src, where);
    if (!ir.dst.empty()) encode_address(b, 16, ir.dst, where);

    if (ir.sport && ir.dport) {
        uint16_t both[2] = {htons(*ir.sport), htons(*ir.dport)};
        b.payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 4);
        b.cmp_eq(both, 4);
    } else if (ir.sport) {
        uint16_t p = htons(*ir.sport);
        b.payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2);
        b.cmp_eq(&p, 2);
    } else if (ir.dport) {
        uint16_t p = htons(*ir.dport);
        b.payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
        b.cmp_eq(&p, 2);
    } else if (ir.match_proto) {
        // A bare "-m tcp": the xt match with full port ranges, as iptables-nft keeps it.
        if (proto == IPPROTO_TCP) {
            xt_tcp info{};
            info.spts[1] = 0xffff;
            info.dpts[1] = 0xffff;
            unsigned char buf[kTcpInfoLen] = {};
            std::memcpy(buf, &info, sizeof info);
            b.xt(false, "tcp", 0, buf, sizeof buf);
        } else {
            xt_udp info{};
            info.spts[1] = 0xffff;
            info.dpts[1] = 0xffff;
            unsigned char buf[kUdpInfoLen] = {};
            std::memcpy(buf, &info, sizeof info);
            b.xt(false, "udp", 0, buf, sizeof buf);
        }
    }

    if (ir.probability) {
        double p = *ir.probability;
        if (!(p >= 0.0 && p <= 1.0)) throw Error("bad probability (" + where + ")");
        xt_statistic_info info{};
        info.mode = XT_STATISTIC_MODE_RANDOM;
        info.u.random.probability = rules::probability_to_raw(p);
        // libxt_statistic leaves nth.count = every - packet, which aliases the probability.
        info.u.nth.count = info.u.nth.every - info.u.nth.packet;
        unsigned char buf[kStatisticInfoLen] = {};
        std::memcpy(buf, &info, sizeof info);
        b.xt(false, "statistic", 0, buf, sizeof buf);
    }

    b.counter();

    const std::string& t = ir.target;
    if (t.empty()) {
        // no verdict: the rule only counts
    } else if (t == "ACCEPT" || t == "DROP" || t == "RETURN") {
        if (ir.goto_chain) throw Error("goto '" + t + "' is not a chain (" + where + ")");
        b.verdict(t == "ACCEPT" ? NF_ACCEPT : t == "DROP" ? NF_DROP : static_cast<uint32_t>(NFT_RETURN));
    } else if (t == "DNAT") {
        const std::string& to = ir.to_destination;
        auto colon = to.find(':');
        auto ip = parse_ipv4(to.substr(0, colon));
        if (!ip) throw Error("bad --to-destination '" + to + "' (" + where + ")");
        nf_nat_range2 range{};
        range.flags = NF_NAT_RANGE_MAP_IPS;
        range.min_addr.ip = ip->be();
        range.max_addr.ip = ip->be();
        if (colon != std::string::npos) {
            auto port = parse_port(to.substr(colon + 1));
            if (!port) throw Error("bad --to-destination '" + to + "' (" + where + ")");
            if (proto == 0) throw Error("DNAT to a port needs -p tcp or -p udp (" + where + ")");
            range.flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
            range.min_proto.all = htons(*port);
            range.max_proto.all = range.min_proto.all;
        }
        unsigned char buf[kDnatInfoLen] = {};
        std::memcpy(buf, &range, sizeof range);
        b.xt(true, "DNAT", 2, buf, sizeof buf);
    } else if (t == "MASQUERADE") {
        nf_nat_ipv4_multi_range_compat mr{};
        mr.rangesize = 1;
        unsigned char buf[kMasqInfoLen] = {};
        std::memcpy(buf, &mr, sizeof mr);
        b.xt(true, "MASQUERADE", 0, buf, sizeof buf);
    } else {
        b.verdict(ir.goto_chain ? NFT_GOTO : NFT_JUMP, t);
    }

    // iptables-nft tags every rule with its -p for the xt extensions' protocol checks.
    nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_PROTO, proto);
    nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_FLAGS, 0);

    if (!ir.comment.empty()) {
        if (ir.comment.size() > 255) throw Error("comment longer than 255 characters (" + where + ")");
        Udata ud(checked(nftnl_udata_buf_alloc(512), "rule userdata"));
        if (!nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_RULE_COMMENT, ir.comment.c_str()))
            throw Error("comment does not fit (" + where + ")");
        nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud.get()),
                            nftnl_udata_buf_len(ud.get()));  // copied
    }
}

// ---------------------------------------------------------------- batch

struct Reply {
    uint32_t seq = 0;
    int error = 0;  // positive errno, 0 = ACK
    std::string ext_msg;
};

class BatchBuilder {
public:
    BatchBuilder() : batch_(checked(nftnl_batch_alloc(MNL_SOCKET_BUFFER_SIZE, MNL_SOCKET_BUFFER_SIZE), "batch")) {
        nftnl_batch_begin(static_cast<char*>(nftnl_batch_buffer(batch_.get())), seq_++);
        next();
    }

    void table(uint16_t type, const std::string& name, uint16_t flags) {
        Table t(checked(nftnl_table_alloc(), "table"));
        nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name.c_str());
        nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
        nlmsghdr* nlh = nftnl_table_nlmsg_build_hdr(buf(), type, NFPROTO_IPV4, flags | NLM_F_ACK, seq_);
        nftnl_table_nlmsg_build_payload(nlh, t.get());
        record((type == NFT_MSG_DELTABLE ? "delete table " : "table ") + name);
    }

    void chain(const std::string& table, const IptChain& ch) {
        Chain c(checked(nftnl_chain_alloc(), "chain"));
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table.c_str());
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, ch.name.c_str());
        nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
        const std::string what = "chain " + table + "/" + ch.name;
        if (const rules::BuiltinChain* b = rules::find_builtin(table, ch.name)) {
            nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, table.c_str());  // "nat" or "filter"
            nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, b->hook);
            nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, b->priority);
            uint32_t policy;
            if (ch.policy.empty() || ch.policy == "ACCEPT") policy = NF_ACCEPT;
            else if (ch.policy == "DROP") policy = NF_DROP;
            else throw Error("bad policy '" + ch.policy + "' (" + what + ")");
            nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, policy);
        } else if (ch.builtin) {
            throw Error("'" + ch.name + "' is not a builtin chain of table " + table + " (" + what + ")");
        }
        nlmsghdr* nlh = nftnl_chain_nlmsg_build_hdr(buf(), NFT_MSG_NEWCHAIN, NFPROTO_IPV4,
                                                    NLM_F_CREATE | NLM_F_ACK, seq_);
        nftnl_chain_nlmsg_build_payload(nlh, c.get());
        record(what);
    }

    // Deletes every rule of `chain` ("nft flush chain"); the chain stays.
    void flush_chain(const std::string& table, const std::string& chain) {
        Rule r(checked(nftnl_rule_alloc(), "rule"));
        nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
        nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
        nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_IPV4);
        nlmsghdr* nlh = nftnl_rule_nlmsg_build_hdr(buf(), NFT_MSG_DELRULE, NFPROTO_IPV4, NLM_F_ACK, seq_);
        nftnl_rule_nlmsg_build_payload(nlh, r.get());
        record("flush chain " + table + "/" + chain);
    }

    void delete_chain(const std::string& table, const std::string& name) {
        Chain c(checked(nftnl_chain_alloc(), "chain"));
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table.c_str());
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name.c_str());
        nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
        nlmsghdr* nlh = nftnl_chain_nlmsg_build_hdr(buf(), NFT_MSG_DELCHAIN, NFPROTO_IPV4, NLM_F_ACK, seq_);
        nftnl_chain_nlmsg_build_payload(nlh, c.get());
        record("delete chain " + table + "/" + name);
    }

    void rule(const std::string& table, const std::string& chain, size_t index, const IptRule& ir) {
        const std::string what = "rule " + std::to_string(index) + " of " + table + "/" + chain;
        Rule r(checked(nftnl_rule_alloc(), "rule"));
        nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
        nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
        nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_IPV4);
        encode_rule(r.get(), ir, what);
        nlmsghdr* nlh = nftnl_rule_nlmsg_build_hdr(buf(), NFT_MSG_NEWRULE, NFPROTO_IPV4,
                                                   NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, seq_);
        nftnl_rule_nlmsg_build_payload(nlh, r.get());
        record(what);
    }

    void finish() {
        nftnl_batch_end(buf(), seq_++);
        next();
    }

    nftnl_batch* get() { return batch_.get(); }
    size_t messages() const { return what_.size(); }
    std::string what(uint32_t seq) const {
        auto it = what_.find(seq);
        return it == what_.end() ? "batch" : it->second;
    }
    bool knows(uint32_t seq) const { return what_.count(seq) != 0; }

private:
    char* buf() { return static_cast<char*>(nftnl_batch_buffer(batch_.get())); }
    void next() {
        if (nftnl_batch_update(batch_.get()) < 0) throw Error("grow netlink batch: out of memory");
    }
    void record(const std::string& what) {
        what_[seq_++] = what;
        next();
    }

    Batch batch_;
    uint32_t seq_ = 1;
    std::map<uint32_t, std::string> what_;
};

// Reads every reply the kernel queued for the batch (all of them are queued when sendmsg returns).
std::vector<Reply> drain_replies(mnl_socket* nl, size_t expected) {
    std::vector<Reply> replies;
    std::vector<char> buf(1 << 16);
    const int fd = mnl_socket_get_fd(nl);
    while (replies.size() < expected) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                // The batch ran inside sendmsg, so every reply is queued by now; after an error some
                // messages get no reply at all. Otherwise wait a little, but never hang.
                bool failed = std::any_of(replies.begin(), replies.end(), [](const Reply& r) { return r.error; });
                if (failed) break;
                pollfd p{fd, POLLIN, 0};
                int pr = ::poll(&p, 1, 2000);
                if (pr <= 0) break;
                continue;
            }
            throw Error(errno_text(errno) + " (read netlink replies)");
        }
        int len = static_cast<int>(n);
        for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len)) {
            if (nlh->nlmsg_type != NLMSG_ERROR) continue;
            auto* err = static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
            Reply r;
            r.seq = nlh->nlmsg_seq;
            r.error = -err->error;
            if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && r.error != 0) {
                // Extended ACK: attributes after the (capped) copy of the request header.
                size_t off = sizeof(nlmsgerr);
                if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) off += err->msg.nlmsg_len - sizeof(nlmsghdr);
                const char* base = static_cast<const char*>(mnl_nlmsg_get_payload(nlh));
                size_t total = mnl_nlmsg_get_payload_len(nlh);
                for (size_t pos = MNL_ALIGN(off); pos + sizeof(nlattr) <= total;) {
                    const auto* a = reinterpret_cast<const nlattr*>(base + pos);
                    if (a->nla_len < sizeof(nlattr) || pos + a->nla_len > total) break;
                    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
                        r.ext_msg.assign(base + pos + sizeof(nlattr),
                                         ::strnlen(base + pos + sizeof(nlattr), a->nla_len - sizeof(nlattr)));
                    pos += MNL_ALIGN(a->nla_len);
                }
            }
            replies.push_back(std::move(r));
        }
    }
    return replies;
}

std::string hint_for(int err, const std::string& what) {
    const bool rule = what.rfind("rule ", 0) == 0;
    switch (err) {
        case ENOENT:
            return rule ? "a rule jumps to a chain that does not exist in this table" : "";
        case EINVAL:
            return rule ? "the kernel refused the rule; for DNAT or MASQUERADE: DNAT is only valid in chains "
                          "reached from nat PREROUTING/OUTPUT and MASQUERADE from nat POSTROUTING"
                        : "";
        case EOPNOTSUPP: return rule ? "a rule cannot jump to a builtin chain" : "";
        case ELOOP: return "the jumps between these chains form a loop";
        case EPERM: return "programming netfilter needs CAP_NET_ADMIN (run as root)";
        default: return "";
    }
}

void send_batch(mnl_socket* nl, BatchBuilder& bb) {
    nftnl_batch* b = bb.get();
    const int iovlen = nftnl_batch_iovec_len(b);
    std::vector<iovec> iov(static_cast<size_t>(iovlen));
    nftnl_batch_iovec(b, iov.data(), static_cast<uint32_t>(iovlen));
    size_t total = 0;
    for (const auto& v : iov) total += v.iov_len;

    const int fd = mnl_socket_get_fd(nl);
    grow_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, total + (1 << 16));
    // One ACK (nlmsgerr with the capped header) per message, plus room for extended ACKs.
    grow_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, bb.messages() * 1024 + (1 << 16));

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
    if (sent < 0) throw Error(errno_text(errno) + " (send the netlink batch of " + std::to_string(total) + " bytes)");
}

// ---------------------------------------------------------------- dumping

struct DumpState {
    std::vector<Table> tables;
    std::vector<Chain> chains;
    std::vector<Rule> rules;
    uint32_t genid = 0;
};

// Sends a request and runs `cb` on every reply until the dump ends; false when the dump was
// interrupted by a concurrent change (retry).
bool run_request(mnl_socket* nl, nlmsghdr* nlh, mnl_cb_t cb, DumpState* st) {
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
        int rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, portid, cb, st);
        if (rc < 0) {
            // libmnl reports NLM_F_DUMP_INTR (the ruleset changed during the dump) as EINTR.
            if (errno == EINTR) return false;
            throw Error(errno_text(errno) + " (netlink dump)");
        }
        if (rc == MNL_CB_STOP) break;
    }
    return true;
}

int table_cb(const nlmsghdr* nlh, void* data) {
    auto* st = static_cast<DumpState*>(data);
    Table t(nftnl_table_alloc());
    if (!t || nftnl_table_nlmsg_parse(nlh, t.get()) < 0) return MNL_CB_ERROR;
    st->tables.push_back(std::move(t));
    return MNL_CB_OK;
}

int chain_cb(const nlmsghdr* nlh, void* data) {
    auto* st = static_cast<DumpState*>(data);
    Chain c(nftnl_chain_alloc());
    if (!c || nftnl_chain_nlmsg_parse(nlh, c.get()) < 0) return MNL_CB_ERROR;
    st->chains.push_back(std::move(c));
    return MNL_CB_OK;
}

int rule_cb(const nlmsghdr* nlh, void* data) {
    auto* st = static_cast<DumpState*>(data);
    Rule r(nftnl_rule_alloc());
    if (!r || nftnl_rule_nlmsg_parse(nlh, r.get()) < 0) return MNL_CB_ERROR;
    st->rules.push_back(std::move(r));
    return MNL_CB_OK;
}

int gen_cb(const nlmsghdr* nlh, void* data) {
    auto* st = static_cast<DumpState*>(data);
    Gen g(nftnl_gen_alloc());
    if (!g || nftnl_gen_nlmsg_parse(nlh, g.get()) < 0) return MNL_CB_ERROR;
    st->genid = nftnl_gen_get_u32(g.get(), NFTNL_GEN_ID);
    return MNL_CB_OK;
}

uint32_t get_genid(mnl_socket* nl, uint32_t& seq) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, seq++);
    DumpState st;
    run_request(nl, nlh, gen_cb, &st);
    return st.genid;
}

// ---------------------------------------------------------------- decoding

std::string rule_text(const nftnl_rule* r) {
    std::vector<char> buf(8192);
    int n = nftnl_rule_snprintf(buf.data(), buf.size(), r, NFTNL_OUTPUT_DEFAULT, 0);
    if (n < 0) return "?";
    std::string s(buf.data(), std::min<size_t>(static_cast<size_t>(n), buf.size() - 1));
    return s;
}

struct Undecodable {};

std::string str_or_empty(const char* s) { return s ? s : ""; }

std::string bytes_of(const nftnl_expr* e, uint16_t attr) {
    uint32_t len = 0;
    const void* p = nftnl_expr_get(e, attr, &len);
    if (!p) return {};
    return std::string(static_cast<const char*>(p), len);
}

// What the last load put into register 1.
struct Load {
    enum Kind { None, MetaIif, MetaOif, MetaL4, NetSaddr, NetDaddr, ThPorts } kind = None;
    uint32_t offset = 0;
    uint32_t len = 0;
    std::string mask;  // from bitwise, if any
};

int contiguous_prefix(const std::string& mask4) {
    if (mask4.size() != 4) return -1;
    uint32_t m;
    std::memcpy(&m, mask4.data(), 4);
    return prefix_of_mask(ntohl(m));
}

std::string iface_from_cmp(const std::string& data) {
    auto nul = data.find('\0');
    if (nul == std::string::npos) return data + "+";  // prefix match: iptables' wildcard
    if (data.find_first_not_of('\0', nul) != std::string::npos) throw Undecodable{};
    if (nul == 0) throw Undecodable{};
    return data.substr(0, nul);
}

void set_once(std::string& field, std::string value) {
    if (!field.empty()) throw Undecodable{};
    field = std::move(value);
}

void decode_match(const nftnl_expr* e, IptRule& r, std::string& xt_proto_match) {
    const std::string name = str_or_empty(nftnl_expr_get_str(e, NFTNL_EXPR_MT_NAME));
    const uint32_t rev = nftnl_expr_get_u32(e, NFTNL_EXPR_MT_REV);
    const std::string info = bytes_of(e, NFTNL_EXPR_MT_INFO);
    if (rev != 0) throw Undecodable{};
    if (name == "statistic") {
        if (info.size() != kStatisticInfoLen || r.probability) throw Undecodable{};
        xt_statistic_info s{};
        std::memcpy(&s, info.data(), offsetof(xt_statistic_info, master));  // the pointer is the kernel's
        if (s.mode != XT_STATISTIC_MODE_RANDOM || s.flags != 0 || s.u.random.probability > 0x80000000u ||
            s.u.nth.packet != 0 || s.u.nth.count != s.u.random.probability)
            throw Undecodable{};
        r.probability = rules::probability_of_raw(s.u.random.probability);
    } else if (name == "tcp" || name == "udp") {
        if (!xt_proto_match.empty()) throw Undecodable{};
        if (name == "tcp") {
            xt_tcp t{};
            if (info.size() != kTcpInfoLen) throw Undecodable{};
            std::memcpy(&t, info.data(), sizeof t);
            if (t.spts[0] != 0 || t.spts[1] != 0xffff || t.dpts[0] != 0 || t.dpts[1] != 0xffff || t.option ||
                t.flg_mask || t.flg_cmp || t.invflags)
                throw Undecodable{};
        } else {
            xt_udp u{};
            if (info.size() != kUdpInfoLen) throw Undecodable{};
            std::memcpy(&u, info.data(), sizeof u);
            if (u.spts[0] != 0 || u.spts[1] != 0xffff || u.dpts[0] != 0 || u.dpts[1] != 0xffff || u.invflags)
                throw Undecodable{};
        }
        xt_proto_match = name;
    } else if (name == "comment") {
        // iptables-nft's own comments (ours are rule userdata).
        if (info.size() != kCommentInfoLen) throw Undecodable{};
        auto nul = info.find('\0');
        std::string c = info.substr(0, nul);
        if (c.empty()) throw Undecodable{};
        set_once(r.comment, c);
    } else {
        throw Undecodable{};
    }
}

void decode_target(const nftnl_expr* e, IptRule& r) {
    const std::string name = str_or_empty(nftnl_expr_get_str(e, NFTNL_EXPR_TG_NAME));
    const uint32_t rev = nftnl_expr_get_u32(e, NFTNL_EXPR_TG_REV);
    const std::string info = bytes_of(e, NFTNL_EXPR_TG_INFO);
    if (!r.target.empty()) throw Undecodable{};
    if (name == "DNAT" && rev == 2) {
        nf_nat_range2 n{};
        if (info.size() != kDnatInfoLen) throw Undecodable{};
        std::memcpy(&n, info.data(), sizeof n);
        if (!(n.flags & NF_NAT_RANGE_MAP_IPS) || (n.flags & ~(NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED)))
            throw Undecodable{};
        if (n.min_addr.ip != n.max_addr.ip || n.base_proto.all != 0) throw Undecodable{};
        std::string to = Ipv4{ntohl(n.min_addr.ip)}.str();
        if (n.flags & NF_NAT_RANGE_PROTO_SPECIFIED) {
            if (n.min_proto.all != n.max_proto.all) throw Undecodable{};
            to += ":" + std::to_string(ntohs(n.min_proto.all));
        } else if (n.min_proto.all || n.max_proto.all) {
            throw Undecodable{};
        }
        r.target = "DNAT";
        r.to_destination = to;
    } else if (name == "MASQUERADE" && rev == 0) {
        nf_nat_ipv4_multi_range_compat m{};
        if (info.size() != kMasqInfoLen) throw Undecodable{};
        std::memcpy(&m, info.data(), sizeof m);
        nf_nat_ipv4_multi_range_compat plain{};
        plain.rangesize = 1;
        if (std::memcmp(&m, &plain, sizeof m) != 0) throw Undecodable{};  // --to-ports/--random: not ours
        r.target = "MASQUERADE";
    } else {
        throw Undecodable{};
    }
}

void decode_cmp(const nftnl_expr* e, Load& load, IptRule& r) {
    if (nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP) != NFT_CMP_EQ) throw Undecodable{};
    if (nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_SREG) != NFT_REG_1) throw Undecodable{};
    const std::string data = bytes_of(e, NFTNL_EXPR_CMP_DATA);
    switch (load.kind) {
        case Load::MetaIif: set_once(r.in_iface, iface_from_cmp(data)); break;
        case Load::MetaOif: set_once(r.out_iface, iface_from_cmp(data)); break;
        case Load::MetaL4: {
            if (data.size() != 1 || !r.proto.empty()) throw Undecodable{};
            auto p = static_cast<uint8_t>(data[0]);
            if (p == IPPROTO_TCP) r.proto = "tcp";
            else if (p == IPPROTO_UDP) r.proto = "udp";
            else throw Undecodable{};
            break;
        }
        case Load::NetSaddr:
        case Load::NetDaddr: {
            if (data.size() != load.len) throw Undecodable{};
            int prefix;
            std::string addr(4, '\0');
            if (!load.mask.empty()) {
                prefix = contiguous_prefix(load.mask);
                if (prefix < 0 || load.len != 4) throw Undecodable{};
                addr = data;
            } else {
                prefix = static_cast<int>(load.len) * 8;
                std::memcpy(addr.data(), data.data(), data.size());
            }
            uint32_t a;
            std::memcpy(&a, addr.data(), 4);
            if ((a & prefix_mask(prefix)) != a) throw Undecodable{};
            set_once(load.kind == Load::NetSaddr ? r.src : r.dst, format_cidr(a, prefix));
            break;
        }
        case Load::ThPorts: {
            if (r.sport || r.dport) throw Undecodable{};
            uint16_t p[2];
            if (load.offset == 0 && load.len == 4 && data.size() == 4) {
                std::memcpy(p, data.data(), 4);
                r.sport = ntohs(p[0]);
                r.dport = ntohs(p[1]);
            } else if (load.offset == 0 && load.len == 2 && data.size() == 2) {
                std::memcpy(p, data.data(), 2);
                r.sport = ntohs(p[0]);
            } else if (load.offset == 2 && load.len == 2 && data.size() == 2) {
                std::memcpy(p, data.data(), 2);
                r.dport = ntohs(p[0]);
            } else {
                throw Undecodable{};
            }
            r.match_proto = true;
            break;
        }
        case Load::None: throw Undecodable{};
    }
    load = Load{};
}

DumpedRule decode_rule(const nftnl_rule* nr) {
    DumpedRule out;
    IptRule& r = out.rule;
    Load load;
    std::string xt_proto_match;
    bool verdict_seen = false;
    try {
        ExprIter it(nftnl_expr_iter_create(nr));
        if (!it) throw Undecodable{};
        for (nftnl_expr* e = nftnl_expr_iter_next(it.get()); e; e = nftnl_expr_iter_next(it.get())) {
            const std::string kind = str_or_empty(nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
            if (verdict_seen) throw Undecodable{};  // nothing follows the verdict/target
            if ((load.kind == Load::MetaIif || load.kind == Load::MetaOif) && kind != "cmp") {
                // "-i +": iptables-nft loads the name and compares nothing.
                set_once(load.kind == Load::MetaIif ? r.in_iface : r.out_iface, "+");
                load = Load{};
            }
            if (kind == "meta") {
                if (load.kind != Load::None || nftnl_expr_is_set(e, NFTNL_EXPR_META_SREG)) throw Undecodable{};
                if (nftnl_expr_get_u32(e, NFTNL_EXPR_META_DREG) != NFT_REG_1) throw Undecodable{};
                switch (nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY)) {
                    case NFT_META_IIFNAME: load.kind = Load::MetaIif; break;
                    case NFT_META_OIFNAME: load.kind = Load::MetaOif; break;
                    case NFT_META_L4PROTO: load.kind = Load::MetaL4; break;
                    default: throw Undecodable{};
                }
            } else if (kind == "payload") {
                if (load.kind != Load::None || nftnl_expr_is_set(e, NFTNL_EXPR_PAYLOAD_SREG)) throw Undecodable{};
                if (nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_DREG) != NFT_REG_1) throw Undecodable{};
                const uint32_t base = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE);
                load.offset = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
                load.len = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN);
                if (base == NFT_PAYLOAD_NETWORK_HEADER && (load.offset == 12 || load.offset == 16) &&
                    load.len >= 1 && load.len <= 4)
                    load.kind = load.offset == 12 ? Load::NetSaddr : Load::NetDaddr;
                else if (base == NFT_PAYLOAD_TRANSPORT_HEADER)
                    load.kind = Load::ThPorts;
                else
                    throw Undecodable{};
            } else if (kind == "bitwise") {
                if ((load.kind != Load::NetSaddr && load.kind != Load::NetDaddr) || !load.mask.empty())
                    throw Undecodable{};
                if (nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_SREG) != NFT_REG_1 ||
                    nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_DREG) != NFT_REG_1 ||
                    (nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_OP) &&
                     nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_OP) != NFT_BITWISE_BOOL))
                    throw Undecodable{};
                std::string x = bytes_of(e, NFTNL_EXPR_BITWISE_XOR);
                if (x.find_first_not_of('\0') != std::string::npos) throw Undecodable{};
                load.mask = bytes_of(e, NFTNL_EXPR_BITWISE_MASK);
            } else if (kind == "cmp") {
                decode_cmp(e, load, r);
            } else if (load.kind != Load::None) {
                throw Undecodable{};
            } else if (kind == "counter") {
                out.counters.packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
                out.counters.bytes = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
            } else if (kind == "match") {
                decode_match(e, r, xt_proto_match);
            } else if (kind == "target") {
                decode_target(e, r);
                verdict_seen = true;
            } else if (kind == "immediate") {
                if (nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_DREG) != NFT_REG_VERDICT) throw Undecodable{};
                const auto v = static_cast<int32_t>(nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT));
                switch (v) {
                    case NF_ACCEPT: r.target = "ACCEPT"; break;
                    case NF_DROP: r.target = "DROP"; break;
                    case NFT_RETURN: r.target = "RETURN"; break;
                    case NFT_JUMP:
                    case NFT_GOTO:
                        r.target = str_or_empty(nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN));
                        if (r.target.empty()) throw Undecodable{};
                        r.goto_chain = v == NFT_GOTO;
                        break;
                    default: throw Undecodable{};
                }
                verdict_seen = true;
            } else {
                throw Undecodable{};
            }
        }
        if (load.kind == Load::MetaIif || load.kind == Load::MetaOif) {
            set_once(load.kind == Load::MetaIif ? r.in_iface : r.out_iface, "+");
            load = Load{};
        }
        if (load.kind != Load::None) throw Undecodable{};
        if (!xt_proto_match.empty()) {
            if (xt_proto_match != r.proto || r.sport || r.dport) throw Undecodable{};
            r.match_proto = true;
        }
        if ((r.sport || r.dport) && r.proto.empty()) throw Undecodable{};
        if (!r.to_destination.empty() && r.to_destination.find(':') != std::string::npos && r.proto.empty())
            throw Undecodable{};

        // Our comments: rule userdata.
        uint32_t ulen = 0;
        if (const void* ud = nftnl_rule_get_data(nr, NFTNL_RULE_USERDATA, &ulen); ud && ulen > 0) {
            std::string comment;
            auto cb = [](const nftnl_udata* attr, void* data) -> int {
                if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT) {
                    const char* s = static_cast<const char*>(nftnl_udata_get(attr));
                    *static_cast<std::string*>(data) = std::string(s, ::strnlen(s, nftnl_udata_len(attr)));
                }
                return MNL_CB_OK;
            };
            if (nftnl_udata_parse(ud, ulen, cb, &comment) < 0) throw Undecodable{};
            if (!comment.empty()) set_once(r.comment, comment);
        }
    } catch (const Undecodable&) {
        RuleCounters keep = out.counters;
        out = DumpedRule{};
        out.counters = keep;
        out.decoded = false;
        out.raw = rule_text(nr);
    }
    return out;
}

}  // namespace

// ---------------------------------------------------------------- public

// The kernel holds exactly these rules in this order (every one decoded and equal).
static bool same_rules(const DumpedChain& had, const IptChain& want) {
    if (had.rules.size() != want.rules.size()) return false;
    for (size_t i = 0; i < want.rules.size(); ++i)
        if (!had.rules[i].decoded || !(had.rules[i].rule == want.rules[i])) return false;
    return true;
}

void nft_forget_netns(const std::string& netns) {
    std::lock_guard<std::mutex> held(sockets().lock());
    sockets().drop(netns);
}

void nft_replace(const std::string& netns, const Ruleset& rs, const std::vector<std::string>& owned) {
    const std::string ctx = "program rules in netns " + netns;
    try {
        for (const auto& t : owned)
            if (!rules::is_table(t)) throw Error("unsupported table '" + t + "' (netlab programs nat and filter)");
        for (const auto& t : rs.tables)
            if (std::find(owned.begin(), owned.end(), t.name) == owned.end())
                throw Error("table '" + t.name + "' is in the ruleset but not among the tables to replace");

        // The chains there now. A table that stays keeps the chains that stay, base chains above all:
        // deleting a table and making it again unregisters and registers its hooks, and a commit
        // that does so costs 6-17 ms (NAT hooks most) against well under 1 ms for flushing its rules.
        const std::vector<DumpedTable> before = nft_dump(netns, owned);
        BatchBuilder bb;
        for (const auto& name : owned) {
            const IptTable* table = nullptr;
            for (const auto& t : rs.tables)
                if (t.name == name) table = &t;
            const DumpedTable* had = nullptr;
            for (const auto& t : before)
                if (t.name == name) had = &t;
            if (!table || table->chains.empty()) {
                // Create-if-absent then delete: the delete can't fail, and the table ends up absent.
                bb.table(NFT_MSG_NEWTABLE, name, NLM_F_CREATE);
                bb.table(NFT_MSG_DELTABLE, name, 0);
                continue;
            }
            bb.table(NFT_MSG_NEWTABLE, name, NLM_F_CREATE);
            // A chain whose rules are already exactly these is left alone; any other that is there
            // is flushed and filled again. (Removing an xt target such as DNAT queues deferred work
            // that the next commit adding one waits for, an RCU grace period: unchanged rules must
            // not be removed and made again.)
            std::vector<const IptChain*> refill;
            for (const auto& ch : table->chains) {
                const DumpedChain* old = nullptr;
                if (had)
                    for (const auto& c : had->chains)
                        if (c.name == ch.name) old = &c;
                if (old && same_rules(*old, ch)) continue;
                if (old && !old->rules.empty()) bb.flush_chain(name, ch.name);
                refill.push_back(&ch);
            }
            if (had)
                for (const auto& old : had->chains) {
                    bool stays = false;
                    for (const auto& ch : table->chains) stays = stays || ch.name == old.name;
                    if (stays) continue;
                    if (!old.rules.empty()) bb.flush_chain(name, old.name);
                    bb.delete_chain(name, old.name);
                }
            for (const auto& ch : table->chains) bb.chain(name, ch);  // made when new; a base chain's policy set
            for (const IptChain* ch : refill)
                for (size_t i = 0; i < ch->rules.size(); ++i) bb.rule(name, ch->name, i + 1, ch->rules[i]);
        }
        bb.finish();

        std::vector<Reply> replies;
        {
            std::lock_guard<std::mutex> held(sockets().lock());
            mnl_socket* nl = sockets().get(netns);
            try {
                send_batch(nl, bb);
                replies = drain_replies(nl, bb.messages());
            } catch (...) {
                sockets().drop(netns);  // replies may be left unread on it
                throw;
            }
        }

        std::vector<Reply> errors;
        size_t acks = 0;
        for (auto& r : replies) {
            if (r.error != 0) errors.push_back(r);
            else if (bb.knows(r.seq)) ++acks;
        }
        if (!errors.empty()) {
            std::sort(errors.begin(), errors.end(), [](const Reply& a, const Reply& b) { return a.seq < b.seq; });
            const Reply& first = errors.front();
            const std::string what = bb.what(first.seq);
            std::string msg = errno_text(first.error) + " (" + what + ")";
            if (!first.ext_msg.empty()) msg += ": " + first.ext_msg;
            if (errors.size() > 1) msg += " [and " + std::to_string(errors.size() - 1) + " more errors]";
            throw Error(ctx + ": " + msg + "; nothing was changed", hint_for(first.error, what));
        }
        if (acks != bb.messages())
            throw Error(ctx + ": the kernel acknowledged " + std::to_string(acks) + " of " +
                        std::to_string(bb.messages()) + " messages; the outcome is unknown");
    } catch (const Error& e) {
        if (std::string(e.what()).rfind(ctx, 0) == 0) throw;
        throw Error(ctx + ": " + e.what(), e.hint());
    }
}

std::vector<DumpedTable> nft_dump(const std::string& netns, const std::vector<std::string>& tables) {
    const std::string ctx = "read rules in netns " + netns;
    try {
        uint32_t seq = 1;
        std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);

        std::lock_guard<std::mutex> held(sockets().lock());
        for (int attempt = 0; attempt < 10; ++attempt) {
            // An interrupted dump leaves unread replies behind: a fresh socket for the next attempt.
            if (attempt > 0) sockets().drop(netns);
            DumpState st;
            mnl_socket* nl = sockets().get(netns);
            const uint32_t gen_before = get_genid(nl, seq);
            bool ok = true;

            nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETTABLE, NFPROTO_IPV4, NLM_F_DUMP, seq++);
            ok = ok && run_request(nl, nlh, table_cb, &st);
            if (ok) {
                nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETCHAIN, NFPROTO_IPV4, NLM_F_DUMP, seq++);
                ok = run_request(nl, nlh, chain_cb, &st);
            }
            if (ok) {
                nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETRULE, NFPROTO_IPV4, NLM_F_DUMP, seq++);
                ok = run_request(nl, nlh, rule_cb, &st);
            }
            if (!ok || get_genid(nl, seq) != gen_before) continue;  // changed meanwhile: again

            std::vector<DumpedTable> out;
            for (const auto& want : tables) {
                bool present = false;
                for (const auto& t : st.tables)
                    if (str_or_empty(nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME)) == want) present = true;
                if (!present) continue;
                DumpedTable dt;
                dt.name = want;
                for (const auto& c : st.chains) {
                    if (str_or_empty(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE)) != want) continue;
                    DumpedChain dc;
                    dc.name = str_or_empty(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME));
                    dc.builtin = nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM);
                    if (dc.builtin) {
                        uint32_t p = nftnl_chain_is_set(c.get(), NFTNL_CHAIN_POLICY)
                                         ? nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY)
                                         : NF_ACCEPT;
                        dc.policy = p == NF_ACCEPT ? "ACCEPT" : p == NF_DROP ? "DROP" : "?" + std::to_string(p);
                    }
                    for (const auto& r : st.rules) {
                        if (str_or_empty(nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE)) != want) continue;
                        if (str_or_empty(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN)) != dc.name) continue;
                        dc.rules.push_back(decode_rule(r.get()));
                    }
                    dt.chains.push_back(std::move(dc));
                }
                std::stable_sort(dt.chains.begin(), dt.chains.end(), [&](const DumpedChain& a, const DumpedChain& b) {
                    if (a.builtin != b.builtin) return a.builtin;
                    if (a.builtin) {
                        int ra = base_chain_rank(want, a.name), rb = base_chain_rank(want, b.name);
                        if (ra != rb) return ra < rb;
                    }
                    return a.name < b.name;
                });
                out.push_back(std::move(dt));
            }
            return out;
        }
        throw Error("the ruleset kept changing while it was read");
    } catch (const Error& e) {
        {
            std::lock_guard<std::mutex> held(sockets().lock());
            sockets().drop(netns);  // a failed dump may leave replies unread on it
        }
        if (std::string(e.what()).rfind(ctx, 0) == 0) throw;
        throw Error(ctx + ": " + e.what(), e.hint());
    }
}

Ruleset to_ruleset(const std::vector<DumpedTable>& dump) {
    Ruleset rs;
    for (const auto& dt : dump) {
        IptTable t;
        t.name = dt.name;
        for (const auto& dc : dt.chains) {
            IptChain c;
            c.name = dc.name;
            c.builtin = dc.builtin;
            c.policy = dc.builtin && !dc.policy.empty() ? dc.policy : "ACCEPT";
            for (const auto& dr : dc.rules) {
                if (dr.decoded) {
                    c.rules.push_back(dr.rule);
                } else {
                    IptRule raw;
                    raw.target = "?raw";
                    raw.comment = dr.raw;
                    c.rules.push_back(raw);
                }
            }
            t.chains.push_back(std::move(c));
        }
        rs.tables.push_back(std::move(t));
    }
    return rs;
}

}  // namespace netlab::net

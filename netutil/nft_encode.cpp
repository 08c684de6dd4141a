#include "netutil/nft_encode.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>

#include <cmath>
#include <cstring>

#include "base/ipv4.h"
#include "netutil/nft_handles.h"
#include "netutil/nft_layout.h"
#include "rules/probability.h"

namespace netlab::net::nft {

namespace {

// Appends expressions to a rule, each with the registers iptables-nft uses.
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
    // With explicit zero counts, as iptables-nft sends it (nft sends none; the kernel starts at 0 either way).
    void counter() {
        Expr e = make("counter");
        nftnl_expr_set_u64(e.get(), NFTNL_EXPR_CTR_PACKETS, 0);
        nftnl_expr_set_u64(e.get(), NFTNL_EXPR_CTR_BYTES, 0);
        add(std::move(e));
    }
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

// A value padded with zeros to the XT_ALIGNed size of its blob.
template <size_t Len, class T>
void add_xt(RuleBuilder& b, bool target, const char* name, uint32_t rev, const T& info) {
    static_assert(sizeof(T) <= Len);
    unsigned char buf[Len] = {};
    std::memcpy(buf, &info, sizeof info);
    b.xt(target, name, rev, buf, Len);
}

// -s/-d: a byte-aligned prefix loads just its bytes; any other loads 4 and masks them.
void encode_address(RuleBuilder& b, uint32_t offset, const std::string& cidr, const std::string& where) {
    auto c = parse_ipv4_cidr(cidr);
    if (!c) throw Error("bad address '" + cidr + "' (" + where + ")");
    if (c->prefix == 0) return;  // matches everything: iptables emits nothing
    const uint32_t mask = htonl(mask_of_prefix(c->prefix));
    const uint32_t addr = c->network().be();
    if (c->prefix % 8 == 0) {
        const auto len = static_cast<uint32_t>(c->prefix / 8);
        b.payload(NFT_PAYLOAD_NETWORK_HEADER, offset, len);
        b.cmp_eq(&addr, len);
    } else {
        b.payload(NFT_PAYLOAD_NETWORK_HEADER, offset, 4);
        b.bitwise(&mask, 4);
        b.cmp_eq(&addr, 4);
    }
}

// -i/-o, as iptables-nft: "eth0" compares "eth0\0" (strlen+1), "veth+" the prefix "veth", "+" nothing.
void encode_iface(RuleBuilder& b, uint32_t key, const std::string& name) {
    b.meta(key);
    if (!name.empty() && name.back() == '+') {
        const std::string prefix = name.substr(0, name.size() - 1);
        if (!prefix.empty()) b.cmp_eq(prefix.data(), static_cast<uint32_t>(prefix.size()));
    } else {
        b.cmp_eq(name.c_str(), static_cast<uint32_t>(name.size() + 1));
    }
}

uint8_t proto_number(const std::string& p) {
    if (p == "tcp") return IPPROTO_TCP;
    if (p == "udp") return IPPROTO_UDP;
    return 0;
}

void encode_ports(RuleBuilder& b, const rules::IptRule& ir, uint8_t proto) {
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
            add_xt<kTcpInfoLen>(b, false, "tcp", 0, info);
        } else {
            xt_udp info{};
            info.spts[1] = 0xffff;
            info.dpts[1] = 0xffff;
            add_xt<kUdpInfoLen>(b, false, "udp", 0, info);
        }
    }
}

void encode_statistic(RuleBuilder& b, double p, const std::string& where) {
    if (!(p >= 0.0 && p <= 1.0)) throw Error("bad probability (" + where + ")");
    xt_statistic_info info{};
    info.mode = XT_STATISTIC_MODE_RANDOM;
    info.u.random.probability = rules::probability_to_raw(p);
    // libxt_statistic leaves nth.count = every - packet, which aliases the probability.
    info.u.nth.count = info.u.nth.every - info.u.nth.packet;
    add_xt<kStatisticInfoLen>(b, false, "statistic", 0, info);
}

void encode_dnat(RuleBuilder& b, const std::string& to, uint8_t proto, const std::string& where) {
    const auto colon = to.find(':');
    const auto addr = parse_ipv4(to.substr(0, colon));
    if (!addr) throw Error("bad --to-destination '" + to + "' (" + where + ")");
    nf_nat_range2 range{};
    range.flags = NF_NAT_RANGE_MAP_IPS;
    range.min_addr.ip = addr->be();
    range.max_addr.ip = addr->be();
    if (colon != std::string::npos) {
        const auto port = parse_port(to.substr(colon + 1));
        if (!port) throw Error("bad --to-destination '" + to + "' (" + where + ")");
        if (proto == 0) throw Error("DNAT to a port needs -p tcp or -p udp (" + where + ")");
        range.flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
        range.min_proto.all = htons(*port);
        range.max_proto.all = range.min_proto.all;
    }
    add_xt<kDnatInfoLen>(b, true, "DNAT", 2, range);
}

void encode_target(RuleBuilder& b, const rules::IptRule& ir, uint8_t proto, const std::string& where) {
    const std::string& t = ir.target;
    if (t.empty()) {
        // no verdict: the rule only counts
    } else if (t == "ACCEPT" || t == "DROP" || t == "RETURN") {
        if (ir.goto_chain) throw Error("goto '" + t + "' is not a chain (" + where + ")");
        b.verdict(t == "ACCEPT" ? NF_ACCEPT : t == "DROP" ? NF_DROP : static_cast<uint32_t>(NFT_RETURN));
    } else if (t == "DNAT") {
        encode_dnat(b, ir.to_destination, proto, where);
    } else if (t == "MASQUERADE") {
        nf_nat_ipv4_multi_range_compat mr{};
        mr.rangesize = 1;
        add_xt<kMasqInfoLen>(b, true, "MASQUERADE", 0, mr);
    } else {
        b.verdict(ir.goto_chain ? NFT_GOTO : NFT_JUMP, t);
    }
}

void encode_comment(nftnl_rule* r, const std::string& comment, const std::string& where) {
    if (comment.size() > 255) throw Error("comment longer than 255 characters (" + where + ")");
    Udata ud(checked(nftnl_udata_buf_alloc(512), "rule userdata"));
    if (!nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_RULE_COMMENT, comment.c_str()))
        throw Error("comment does not fit (" + where + ")");
    nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud.get()),
                        nftnl_udata_buf_len(ud.get()));  // copied
}

}  // namespace

void encode_rule(nftnl_rule* r, const rules::IptRule& ir, const std::string& where) {
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
    encode_ports(b, ir, proto);
    if (ir.probability) encode_statistic(b, *ir.probability, where);
    b.counter();
    encode_target(b, ir, proto, where);

    // iptables-nft tags every rule with its -p for the xt extensions' protocol checks.
    nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_PROTO, proto);
    nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_FLAGS, 0);

    if (!ir.comment.empty()) encode_comment(r, ir.comment, where);
}

}  // namespace netlab::net::nft

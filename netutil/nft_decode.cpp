#include "netutil/nft_decode.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/ipv4.h"
#include "netutil/nft_handles.h"
#include "netutil/nft_layout.h"
#include "rules/probability.h"

namespace netlab::net::nft {

namespace {

// Thrown inside decode_rule when the layout is not one it knows.
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

uint32_t host_u32(const std::string& four) {
    uint32_t v;
    std::memcpy(&v, four.data(), 4);
    return ntohl(v);
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

void decode_statistic(const std::string& info, rules::IptRule& r) {
    if (info.size() != kStatisticInfoLen || r.probability) throw Undecodable{};
    xt_statistic_info s{};
    std::memcpy(&s, info.data(), offsetof(xt_statistic_info, master));  // the pointer is the kernel's
    if (s.mode != XT_STATISTIC_MODE_RANDOM || s.flags != 0 || s.u.random.probability > 0x80000000u ||
        s.u.nth.packet != 0 || s.u.nth.count != s.u.random.probability)
        throw Undecodable{};
    r.probability = rules::probability_of_raw(s.u.random.probability);
}

// A bare -m tcp / -m udp: the full port ranges and nothing else.
void decode_proto_match(const std::string& name, const std::string& info) {
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
}

void decode_match(const nftnl_expr* e, rules::IptRule& r, std::string& xt_proto_match) {
    const std::string name = str_or_empty(nftnl_expr_get_str(e, NFTNL_EXPR_MT_NAME));
    const uint32_t rev = nftnl_expr_get_u32(e, NFTNL_EXPR_MT_REV);
    const std::string info = bytes_of(e, NFTNL_EXPR_MT_INFO);
    if (rev != 0) throw Undecodable{};
    if (name == "statistic") {
        decode_statistic(info, r);
    } else if (name == "tcp" || name == "udp") {
        if (!xt_proto_match.empty()) throw Undecodable{};
        decode_proto_match(name, info);
        xt_proto_match = name;
    } else if (name == "comment") {
        // iptables-nft's own comments (ours are rule userdata).
        if (info.size() != kCommentInfoLen) throw Undecodable{};
        std::string c = info.substr(0, info.find('\0'));
        if (c.empty()) throw Undecodable{};
        set_once(r.comment, c);
    } else {
        throw Undecodable{};
    }
}

void decode_dnat(const std::string& info, rules::IptRule& r) {
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
}

void decode_target(const nftnl_expr* e, rules::IptRule& r) {
    const std::string name = str_or_empty(nftnl_expr_get_str(e, NFTNL_EXPR_TG_NAME));
    const uint32_t rev = nftnl_expr_get_u32(e, NFTNL_EXPR_TG_REV);
    const std::string info = bytes_of(e, NFTNL_EXPR_TG_INFO);
    if (!r.target.empty()) throw Undecodable{};
    if (name == "DNAT" && rev == 2) {
        decode_dnat(info, r);
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

void decode_verdict(const nftnl_expr* e, rules::IptRule& r) {
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
}

// -s/-d: a byte-aligned prefix loads only its bytes, any other loads 4 and masks them.
void decode_address(const Load& load, const std::string& data, rules::IptRule& r) {
    if (data.size() != load.len) throw Undecodable{};
    int prefix;
    std::string addr(4, '\0');
    if (!load.mask.empty()) {
        prefix = load.mask.size() == 4 ? prefix_of_mask(host_u32(load.mask)) : -1;
        if (prefix < 0 || load.len != 4) throw Undecodable{};
        addr = data;
    } else {
        prefix = static_cast<int>(load.len) * 8;
        std::memcpy(addr.data(), data.data(), data.size());
    }
    const Ipv4Cidr c{Ipv4{host_u32(addr)}, prefix};
    if (c.network() != c.addr) throw Undecodable{};
    set_once(load.kind == Load::NetSaddr ? r.src : r.dst, c.str());
}

void decode_ports(const Load& load, const std::string& data, rules::IptRule& r) {
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
}

void decode_cmp(const nftnl_expr* e, Load& load, rules::IptRule& r) {
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
        case Load::NetDaddr: decode_address(load, data, r); break;
        case Load::ThPorts: decode_ports(load, data, r); break;
        case Load::None: throw Undecodable{};
    }
    load = Load{};
}

void decode_meta(const nftnl_expr* e, Load& load) {
    if (load.kind != Load::None || nftnl_expr_is_set(e, NFTNL_EXPR_META_SREG)) throw Undecodable{};
    if (nftnl_expr_get_u32(e, NFTNL_EXPR_META_DREG) != NFT_REG_1) throw Undecodable{};
    switch (nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY)) {
        case NFT_META_IIFNAME: load.kind = Load::MetaIif; break;
        case NFT_META_OIFNAME: load.kind = Load::MetaOif; break;
        case NFT_META_L4PROTO: load.kind = Load::MetaL4; break;
        default: throw Undecodable{};
    }
}

void decode_payload(const nftnl_expr* e, Load& load) {
    if (load.kind != Load::None || nftnl_expr_is_set(e, NFTNL_EXPR_PAYLOAD_SREG)) throw Undecodable{};
    if (nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_DREG) != NFT_REG_1) throw Undecodable{};
    const uint32_t base = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE);
    load.offset = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
    load.len = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN);
    if (base == NFT_PAYLOAD_NETWORK_HEADER && (load.offset == 12 || load.offset == 16) && load.len >= 1 &&
        load.len <= 4)
        load.kind = load.offset == 12 ? Load::NetSaddr : Load::NetDaddr;
    else if (base == NFT_PAYLOAD_TRANSPORT_HEADER)
        load.kind = Load::ThPorts;
    else
        throw Undecodable{};
}

void decode_bitwise(const nftnl_expr* e, Load& load) {
    if ((load.kind != Load::NetSaddr && load.kind != Load::NetDaddr) || !load.mask.empty()) throw Undecodable{};
    if (nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_SREG) != NFT_REG_1 ||
        nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_DREG) != NFT_REG_1 ||
        (nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_OP) &&
         nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_OP) != NFT_BITWISE_BOOL))
        throw Undecodable{};
    std::string x = bytes_of(e, NFTNL_EXPR_BITWISE_XOR);
    if (x.find_first_not_of('\0') != std::string::npos) throw Undecodable{};
    load.mask = bytes_of(e, NFTNL_EXPR_BITWISE_MASK);
}

// "-i +": iptables-nft loads the name and compares nothing.
void end_bare_iface_load(Load& load, rules::IptRule& r) {
    if (load.kind != Load::MetaIif && load.kind != Load::MetaOif) return;
    set_once(load.kind == Load::MetaIif ? r.in_iface : r.out_iface, "+");
    load = Load{};
}

// Our comments: rule userdata.
void decode_userdata(const nftnl_rule* nr, rules::IptRule& r) {
    uint32_t ulen = 0;
    const void* ud = nftnl_rule_get_data(nr, NFTNL_RULE_USERDATA, &ulen);
    if (!ud || ulen == 0) return;
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

void decode_expressions(const nftnl_rule* nr, DumpedRule& out) {
    rules::IptRule& r = out.rule;
    Load load;
    std::string xt_proto_match;
    bool verdict_seen = false;
    ExprIter it(nftnl_expr_iter_create(nr));
    if (!it) throw Undecodable{};
    for (nftnl_expr* e = nftnl_expr_iter_next(it.get()); e; e = nftnl_expr_iter_next(it.get())) {
        const std::string kind = str_or_empty(nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
        if (verdict_seen) throw Undecodable{};  // nothing follows the verdict/target
        if (kind != "cmp") end_bare_iface_load(load, r);
        if (kind == "meta") {
            decode_meta(e, load);
        } else if (kind == "payload") {
            decode_payload(e, load);
        } else if (kind == "bitwise") {
            decode_bitwise(e, load);
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
            decode_verdict(e, r);
            verdict_seen = true;
        } else {
            throw Undecodable{};
        }
    }
    end_bare_iface_load(load, r);
    if (load.kind != Load::None) throw Undecodable{};
    if (!xt_proto_match.empty()) {
        if (xt_proto_match != r.proto || r.sport || r.dport) throw Undecodable{};
        r.match_proto = true;
    }
    if ((r.sport || r.dport) && r.proto.empty()) throw Undecodable{};
    if (!r.to_destination.empty() && r.to_destination.find(':') != std::string::npos && r.proto.empty())
        throw Undecodable{};
}

}  // namespace

std::string rule_text(const nftnl_rule* r) {
    std::vector<char> buf(8192);
    int n = nftnl_rule_snprintf(buf.data(), buf.size(), r, NFTNL_OUTPUT_DEFAULT, 0);
    if (n < 0) return "?";
    return std::string(buf.data(), std::min<size_t>(static_cast<size_t>(n), buf.size() - 1));
}

DumpedRule decode_rule(const nftnl_rule* nr) {
    DumpedRule out;
    try {
        decode_expressions(nr, out);
        decode_userdata(nr, out.rule);
    } catch (const Undecodable&) {
        RuleCounters keep = out.counters;
        out = DumpedRule{};
        out.counters = keep;
        out.decoded = false;
        out.raw = rule_text(nr);
    }
    return out;
}

}  // namespace netlab::net::nft

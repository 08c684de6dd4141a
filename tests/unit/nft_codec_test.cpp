// netutil's nftables codec without a kernel (as google/nftables tests its own with a recorder): the
// bytes the batch builder would send for a rule, compared with what iptables-nft 1.8.9 itself sends
// for it (golden/nft/rules.golden, made by golden/nft/generate with the real iptables-nft), and every
// rule form of the tutorials taken round the wire: rule model -> netlink message -> nftnl rule ->
// rule model.
#include <doctest/doctest.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "netutil/nft_batch.h"
#include "netutil/nft_decode.h"
#include "netutil/nft_handles.h"

using namespace netlab;
using namespace netlab::net;
using namespace netlab::rules;

namespace {

std::string hex(const void* p, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        const auto b = static_cast<const unsigned char*>(p)[i];
        s += digits[b >> 4];
        s += digits[b & 15];
    }
    return s;
}

std::string unhex(const std::string& h) {
    std::string s;
    for (size_t i = 0; i + 1 < h.size(); i += 2) s += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
    return s;
}

// BYTES (attributes, each maybe nested) with the padding after each attribute zeroed: libnftnl
// builds messages in a buffer it does not clear, so the few bytes that only align the next
// attribute hold whatever was there (the kernel never reads them). Every other byte is kept.
std::string zero_padding(std::string bytes) {
    size_t off = 0;
    while (off + 4 <= bytes.size()) {
        uint16_t len, type;
        std::memcpy(&len, bytes.data() + off, 2);
        std::memcpy(&type, bytes.data() + off + 2, 2);
        if (len < 4 || off + len > bytes.size()) break;
        if (type & NLA_F_NESTED) bytes.replace(off + 4, len - 4u, zero_padding(bytes.substr(off + 4, len - 4u)));
        const size_t next = std::min(bytes.size(), off + ((len + 3u) & ~3u));
        for (size_t i = off + len; i < next; ++i) bytes[i] = '\0';
        off = next;
    }
    return bytes;
}

// The attributes of a rule message by name, hex-encoded: "expressions", "compat", "userdata".
using RuleAttrs = std::map<std::string, std::string>;

// What BatchBuilder would send for RULE (as rule 1 of nat/C): the attributes of its NEWRULE message.
RuleAttrs sent(const IptRule& rule) {
    nft::BatchBuilder bb;
    bb.rule("nat", "C", 1, rule);
    bb.finish();
    const int n = nftnl_batch_iovec_len(bb.get());
    std::vector<iovec> iov(static_cast<size_t>(n));
    nftnl_batch_iovec(bb.get(), iov.data(), static_cast<uint32_t>(n));
    std::string bytes;
    for (const auto& v : iov) bytes.append(static_cast<const char*>(v.iov_base), v.iov_len);

    RuleAttrs out;
    int left = static_cast<int>(bytes.size());
    int rules = 0;
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(bytes.data()); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
        if (nlh->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE)) continue;
        ++rules;
        const auto* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
        for (auto* a = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
             mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a)) {
            const char* name = mnl_attr_get_type(a) == NFTA_RULE_EXPRESSIONS ? "expressions"
                               : mnl_attr_get_type(a) == NFTA_RULE_COMPAT    ? "compat"
                               : mnl_attr_get_type(a) == NFTA_RULE_USERDATA  ? "userdata"
                                                                             : nullptr;
            if (!name) continue;
            const std::string payload(static_cast<const char*>(mnl_attr_get_payload(a)), mnl_attr_get_payload_len(a));
            out[name] = hex(zero_padding(payload).data(), payload.size());
        }
    }
    REQUIRE(rules == 1);
    return out;
}

// A NEWRULE message for nat/C with these attributes, parsed by libnftnl as a dump reply would be,
// then decoded.
DumpedRule decoded(const RuleAttrs& attrs) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_NEWRULE, NFPROTO_IPV4, 0, 1);
    mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, "nat");
    mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, "C");
    const std::map<std::string, uint16_t> types = {{"expressions", NFTA_RULE_EXPRESSIONS | NLA_F_NESTED},
                                                   {"compat", NFTA_RULE_COMPAT | NLA_F_NESTED},
                                                   {"userdata", NFTA_RULE_USERDATA}};
    for (const auto& [name, value] : attrs) {
        if (value == "-") continue;
        const std::string bytes = unhex(value);
        mnl_attr_put(nlh, types.at(name), bytes.size(), bytes.data());
    }
    nft::Rule r(nftnl_rule_alloc());
    REQUIRE(nftnl_rule_nlmsg_parse(nlh, r.get()) == 0);
    return nft::decode_rule(r.get());
}

// The rule model through the wire and back.
DumpedRule round_trip(const IptRule& rule) { return decoded(sent(rule)); }

// The NFTA_LIST_ELEMs of an expressions attribute, each hex-encoded.
std::vector<std::string> elements(const std::string& expressions_hex) {
    const std::string bytes = unhex(expressions_hex);
    std::vector<std::string> out;
    size_t off = 0;
    while (off + 4 <= bytes.size()) {
        uint16_t len;
        std::memcpy(&len, bytes.data() + off, 2);
        if (len < 4 || off + len > bytes.size()) break;
        out.push_back(hex(bytes.data() + off, len));
        off += (len + 3u) & ~3u;
    }
    return out;
}

struct Golden {
    std::string command;
    RuleAttrs attrs;
};

std::map<std::string, Golden> load_golden() {
    std::ifstream in(NFT_GOLDEN_FILE);
    REQUIRE_MESSAGE(in.good(), "cannot read " NFT_GOLDEN_FILE);
    std::map<std::string, Golden> out;
    std::string line, current;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto sp = line.find(' ');
        const std::string key = line.substr(0, sp), value = sp == std::string::npos ? "" : line.substr(sp + 1);
        if (key == "case") current = value;
        else if (key == "command") out[current].command = value;
        else out[current].attrs[key] = value;
    }
    return out;
}

double quantized(uint32_t raw) { return raw / 2147483648.0; }

IptRule rule(std::initializer_list<std::pair<const char*, std::string>> fields) {
    IptRule r;
    for (const auto& [k, v] : fields) {
        const std::string f = k;
        if (f == "src") r.src = v;
        else if (f == "dst") r.dst = v;
        else if (f == "in") r.in_iface = v;
        else if (f == "out") r.out_iface = v;
        else if (f == "proto") r.proto = v;
        else if (f == "m") r.match_proto = true;
        else if (f == "sport") r.sport = static_cast<uint16_t>(std::stoi(v));
        else if (f == "dport") r.dport = static_cast<uint16_t>(std::stoi(v));
        else if (f == "comment") r.comment = v;
        else if (f == "j") r.target = v;
        else if (f == "g") r.target = v, r.goto_chain = true;
        else if (f == "to") r.to_destination = v;
        else FAIL("unknown field " << f);
    }
    return r;
}

// The rule each golden case adds, as the model holds it (written from the iptables command, not
// from the bytes).
std::map<std::string, IptRule> golden_models() {
    IptRule statistic = rule({{"j", "DUSTIN-SEP-HTTP1"}});
    statistic.probability = quantized(0x2aaaaaab);  // 0.3333333333 * 2^31, rounded
    return {
        {"forward_in_iface", rule({{"in", "bridge_home"}, {"j", "ACCEPT"}})},
        {"forward_out_iface", rule({{"out", "bridge_home"}, {"j", "ACCEPT"}})},
        {"out_iface_any", rule({{"out", "+"}, {"j", "ACCEPT"}})},
        {"return_iface_prefix", rule({{"in", "veth+"}, {"j", "RETURN"}})},
        {"masquerade", rule({{"src", "10.0.0.0/24"}, {"j", "MASQUERADE"}})},
        {"jump", rule({{"j", "DUSTIN-SERVICES"}})},
        {"goto", rule({{"g", "B"}})},
        {"dnat_port", rule({{"proto", "tcp"}, {"m", ""}, {"j", "DNAT"}, {"to", "10.0.0.11:8080"}})},
        {"dnat_address", rule({{"dst", "10.100.100.100/32"}, {"j", "DNAT"}, {"to", "10.0.0.11"}})},
        {"statistic", statistic},
        {"dport_jump",
         rule({{"dst", "10.100.100.100/32"}, {"proto", "tcp"}, {"m", ""}, {"dport", "8080"},
               {"j", "DUSTIN-SVC-HTTP"}})},
        {"udp_sport_masked_drop",
         rule({{"src", "10.1.16.0/20"}, {"proto", "udp"}, {"m", ""}, {"sport", "53"}, {"j", "DROP"}})},
        {"tcp_both_ports", rule({{"proto", "tcp"}, {"m", ""}, {"sport", "1024"}, {"dport", "80"}, {"j", "ACCEPT"}})},
        {"comment", rule({{"comment", "dustin service"}, {"j", "RETURN"}})},
    };
}

}  // namespace

TEST_CASE("the encoder sends iptables-nft 1.8.9's own bytes for each golden rule") {
    const auto golden = load_golden();
    const auto models = golden_models();
    REQUIRE(golden.size() == models.size());
    for (const auto& [name, model] : models) {
        CAPTURE(name);
        REQUIRE(golden.count(name) == 1);
        const Golden& g = golden.at(name);
        CAPTURE(g.command);
        RuleAttrs ours = sent(model);
        CHECK(ours["compat"] == g.attrs.at("compat"));
        if (name == "comment") {
            // iptables-nft writes -m comment as an xt match; netlab writes rule userdata (which
            // iptables-nft lists as -m comment too): the rest is the same.
            auto theirs = elements(g.attrs.at("expressions"));
            REQUIRE(theirs.size() == 3);
            CHECK(theirs[0].find(hex("comment", 7)) != std::string::npos);
            theirs.erase(theirs.begin());
            CHECK(elements(ours["expressions"]) == theirs);
            CHECK(ours["userdata"] == "000f" + hex("dustin service", 15));  // TLV type 0 (comment), length 15
        } else {
            CHECK(ours["expressions"] == g.attrs.at("expressions"));
            CHECK(g.attrs.at("userdata") == "-");
            CHECK(ours.count("userdata") == 0);
        }
    }
}

TEST_CASE("the decoder reads what iptables-nft 1.8.9 writes") {
    const auto golden = load_golden();
    for (const auto& [name, model] : golden_models()) {
        CAPTURE(name);
        const DumpedRule d = decoded(golden.at(name).attrs);
        CHECK_MESSAGE(d.decoded, d.raw);
        CHECK(d.rule == model);
        CHECK(d.counters.packets == 0);
        CHECK(d.counters.bytes == 0);
    }
}

TEST_CASE("every rule form of the tutorials survives the wire: encode, parse, decode") {
    IptRule half = rule({{"j", "DUSTIN-SEP-HTTP2"}});
    half.probability = 0.5;
    IptRule third = rule({{"j", "DUSTIN-SEP-HTTP1"}});
    third.probability = quantized(0x2aaaaaab);
    IptRule never = rule({{"j", "X"}});
    never.probability = 0.0;
    IptRule always = rule({{"g", "X"}});
    always.probability = 1.0;
    const std::vector<IptRule> forms = {
        rule({{"in", "bridge_home"}, {"j", "ACCEPT"}}),
        rule({{"out", "bridge_home"}, {"j", "ACCEPT"}}),
        rule({{"in", "veth+"}, {"out", "+"}, {"j", "DROP"}}),
        rule({{"src", "10.0.0.0/24"}, {"j", "MASQUERADE"}}),
        rule({{"src", "10.0.0.11/32"}, {"dst", "10.0.0.0/8"}, {"j", "RETURN"}}),
        rule({{"src", "10.1.16.0/20"}, {"dst", "192.168.0.0/17"}, {"j", "ACCEPT"}}),
        rule({{"dst", "10.100.100.100/32"}, {"proto", "tcp"}, {"m", ""}, {"dport", "8080"}, {"j", "DNAT"},
              {"to", "10.0.0.11:8080"}}),
        rule({{"dst", "10.100.100.100/32"}, {"proto", "tcp"}, {"m", ""}, {"dport", "8080"}, {"j", "DUSTIN-SVC-HTTP"}}),
        rule({{"proto", "tcp"}, {"m", ""}, {"j", "DNAT"}, {"to", "10.0.0.11:8080"}}),
        rule({{"proto", "udp"}, {"m", ""}, {"j", "DNAT"}, {"to", "10.0.0.53:53"}}),
        rule({{"proto", "udp"}, {"m", ""}, {"sport", "53"}, {"j", "ACCEPT"}}),
        rule({{"proto", "tcp"}, {"m", ""}, {"sport", "1024"}, {"dport", "80"}, {"j", "ACCEPT"}}),
        rule({{"proto", "tcp"}, {"j", "ACCEPT"}}),  // -p tcp without -m tcp
        rule({{"dst", "10.100.100.100/32"}, {"j", "DNAT"}, {"to", "10.0.0.11"}}),
        rule({{"j", "DUSTIN-SERVICES"}}),
        rule({{"g", "DUSTIN-SVC-HTTP"}}),
        rule({{"j", "RETURN"}}),
        rule({{"j", "DROP"}}),
        rule({{"comment", "dustin: service http"}, {"j", "ACCEPT"}}),
        rule({{"src", "10.0.0.0/24"}, {"comment", "masquerade the pods"}, {"j", "MASQUERADE"}}),
        rule({{"proto", "tcp"}}),  // no target: the rule only counts
        half, third, never, always,
    };
    for (const IptRule& r : forms) {
        const DumpedRule d = round_trip(r);
        CAPTURE(d.raw);
        CHECK(d.decoded);
        CHECK(d.rule == r);
    }
}

TEST_CASE("the encoder refuses what it cannot encode, naming where") {
    auto error_of = [](const IptRule& r) -> std::string {
        try {
            sent(r);
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    };
    CHECK(error_of(rule({{"src", "10.0.0.300/24"}})) == "bad address '10.0.0.300/24' (rule 1 of nat/C)");
    CHECK(error_of(rule({{"dst", "10.0.0.0/33"}})) == "bad address '10.0.0.0/33' (rule 1 of nat/C)");
    CHECK(error_of(rule({{"proto", "icmp"}})) == "unsupported protocol 'icmp' (rule 1 of nat/C)");
    CHECK(error_of(rule({{"dport", "80"}})) == "ports and -m tcp/udp need -p tcp or -p udp (rule 1 of nat/C)");
    CHECK(error_of(rule({{"j", "DNAT"}, {"to", "10.0.0.1:80"}})) ==
          "DNAT to a port needs -p tcp or -p udp (rule 1 of nat/C)");
    CHECK(error_of(rule({{"j", "DNAT"}, {"to", "pod:80"}})) == "bad --to-destination 'pod:80' (rule 1 of nat/C)");
    CHECK(error_of(rule({{"proto", "tcp"}, {"j", "DNAT"}, {"to", "10.0.0.1:65536"}})) ==
          "bad --to-destination '10.0.0.1:65536' (rule 1 of nat/C)");
    CHECK(error_of(rule({{"g", "ACCEPT"}})) == "goto 'ACCEPT' is not a chain (rule 1 of nat/C)");
    CHECK(error_of(rule({{"comment", std::string(256, 'x')}})) ==
          "comment longer than 255 characters (rule 1 of nat/C)");
    IptRule p = rule({{"j", "X"}});
    p.probability = 1.5;
    CHECK(error_of(p) == "bad probability (rule 1 of nat/C)");
}

TEST_CASE("layouts netlab does not write stay undecoded, with nftnl's text") {
    // A counter, then a cmp with nothing loaded: not a layout of the model.
    RuleAttrs attrs = sent(rule({{"in", "eth0"}, {"j", "ACCEPT"}}));
    auto elems = elements(attrs["expressions"]);
    REQUIRE(elems.size() == 4);  // meta, cmp, counter, immediate
    std::swap(elems[0], elems[2]);
    std::string joined;
    for (const auto& e : elems) joined += e;
    attrs["expressions"] = joined;
    const DumpedRule d = decoded(attrs);
    CHECK_FALSE(d.decoded);
    CHECK(d.raw.find("cmp") != std::string::npos);
    CHECK(d.rule == IptRule{});
}

// Trace and conntrack decoding from RECORDED kernel messages (tests/data/trace, made by record.sh
// there): the events netlab received while `nft monitor trace` and `conntrack -L` ran beside it in
// the lab host. The witnesses' text is the expectation: every rule, policy and packet line nft printed
// must be what netlab decoded, and the conntrack entry what conntrack listed. The reports built from
// the recordings are checked against facts read from the same witnesses.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

#include "netutil/conntrack.h"
#include "netutil/nft_trace.h"
#include "trace/path.h"
#include "trace/trace_json.h"

using namespace netlab;

namespace {

const std::string kData = TRACE_DATA_DIR;

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "missing test data " << path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string l;
    while (std::getline(in, l))
        if (l.rfind("trace id ", 0) == 0) out.push_back(l);
    return out;
}

std::string hex(uint32_t v) {
    char b[16];
    std::snprintf(b, sizeof b, "%08x", v);
    return b;
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

struct Recording {
    std::string dir;
    std::vector<net::TraceEvent> events;
    trace::TraceInput input;
    std::vector<std::string> monitor;  // `nft monitor trace` lines
    std::string conntrack_l;

    explicit Recording(const std::string& name) : dir(kData + "/" + name) {
        auto raw = slurp(dir + "/trace-events.bin");
        events = net::decode_trace_messages(raw.data(), raw.size());
        input = trace::input_from_json(nlohmann::json::parse(slurp(dir + "/input.json")));
        input.events = events;
        monitor = lines(slurp(dir + "/nft-monitor.txt"));
        conntrack_l = slurp(dir + "/conntrack-L.txt");
    }
    std::string ifname(const std::optional<uint32_t>& i) const {
        if (!i) return "";
        auto it = input.ifnames.find(*i);
        return it == input.ifnames.end() ? "?" : it->second;
    }
    // The conntrack(8) line of this connection, or "".
    std::string conntrack_line() const {
        std::istringstream in(conntrack_l);
        std::string l;
        const std::string key = "sport=" + std::to_string(input.flow.sport) + " ";
        while (std::getline(in, l))
            if (l.find(key) != std::string::npos) return l;
        return "";
    }
    // The value after `key` in the first monitor line holding `marker`.
    std::string monitor_value(const std::string& marker, const std::string& key) const {
        for (auto& l : monitor) {
            if (l.find(marker) == std::string::npos) continue;
            auto p = l.find(key);
            if (p == std::string::npos) continue;
            p += key.size();
            return l.substr(p, l.find_first_of(" )", p) - p);
        }
        return "";
    }
    size_t monitor_count(const std::string& marker) const {
        size_t n = 0;
        for (auto& l : monitor) n += l.find(marker) != std::string::npos;
        return n;
    }
};

// nft's line for a decoded event: "ID FAMILY TABLE CHAIN rule|policy (verdict V)", or "" for the
// events nft does not print (a rule event without a handle: the end of a chain).
std::string as_monitor_verdict_line(const net::TraceEvent& e) {
    std::string head = hex(e.id) + " " + (e.family == 7 ? "bridge" : "ip") + " " + e.table + " " + e.chain + " ";
    if (e.type == net::TraceEvent::Type::Policy) return head + "policy " + (e.policy && *e.policy == 0 ? "drop" : "accept");
    if (e.type != net::TraceEvent::Type::Rule || !e.rule_handle) return "";
    std::string v = net::verdict_text(e);
    auto sp = v.find(' ');
    return head + "verdict " + lower(v.substr(0, sp)) + (sp == std::string::npos ? "" : v.substr(sp));
}

// The same from a monitor line, or "" for packet lines.
std::string monitor_verdict_line(const std::string& l) {
    static const std::regex re(R"(^trace id (\w+) (\w+) (\S+) (\S+) (.*)$)");
    std::smatch m;
    if (!std::regex_match(l, m, re)) return "";
    std::string rest = m[5];
    std::string head = std::string(m[1]) + " " + std::string(m[2]) + " " + std::string(m[3]) + " " + std::string(m[4]) + " ";
    if (rest.rfind("policy ", 0) == 0) {
        auto v = rest.substr(7);
        v.erase(v.find_last_not_of(' ') + 1);
        return head + "policy " + v;
    }
    auto p = rest.rfind("(verdict ");
    if (p == std::string::npos) return "";
    return head + "verdict " + rest.substr(p + 9, rest.size() - p - 10);
}

std::string packet_line(const std::string& id, const std::string& fam, const std::string& table,
                        const std::string& chain, const std::string& iif, const std::string& oif,
                        const std::string& saddr, const std::string& daddr, const std::string& sport,
                        const std::string& dport) {
    return id + " " + fam + " " + table + " " + chain + " iif=" + iif + " oif=" + oif + " " + saddr + ":" + sport +
           ">" + daddr + ":" + dport;
}

std::string monitor_packet_line(const std::string& l) {
    static const std::regex re(R"(^trace id (\w+) (\w+) (\S+) (\S+) packet: (.*)$)");
    std::smatch m;
    if (!std::regex_match(l, m, re)) return "";
    std::string rest = m[5];
    auto val = [&](const std::string& key) {
        auto p = rest.find(key + " ");
        if (p == std::string::npos) return std::string();
        p += key.size() + 1;
        std::string v = rest.substr(p, rest.find(' ', p) - p);
        if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
        return v;
    };
    return packet_line(m[1], m[2], m[3], m[4], val("iif"), val("oif"), val("ip saddr"), val("ip daddr"),
                       val("tcp sport"), val("tcp dport"));
}

void check_against_monitor(const Recording& r) {
    std::vector<std::string> want_verdicts, got_verdicts, want_packets, got_packets;
    for (auto& l : r.monitor) {
        if (auto v = monitor_verdict_line(l); !v.empty()) want_verdicts.push_back(v);
        if (auto p = monitor_packet_line(l); !p.empty()) want_packets.push_back(p);
    }
    for (auto& e : r.events) {
        if (auto v = as_monitor_verdict_line(e); !v.empty()) got_verdicts.push_back(v);
        if (e.packet)
            got_packets.push_back(packet_line(hex(e.id), e.family == 7 ? "bridge" : "ip", e.table, e.chain,
                                              r.ifname(e.iif), r.ifname(e.oif), e.packet->src, e.packet->dst,
                                              std::to_string(e.packet->sport), std::to_string(e.packet->dport)));
    }
    REQUIRE(!want_verdicts.empty());
    // Events of different packets may reach two listeners in different orders (two CPUs deliver
    // at once); the events of one trace id come in order. Compare per trace id.
    for (auto* v : {&want_verdicts, &got_verdicts, &want_packets, &got_packets})
        std::stable_sort(v->begin(), v->end(), [](const std::string& a, const std::string& b) {
            return a.substr(0, 8) < b.substr(0, 8);
        });
    auto first_diff = [](const std::vector<std::string>& got, const std::vector<std::string>& want) {
        for (size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
            std::string g = i < got.size() ? got[i] : "(nothing)", w = i < want.size() ? want[i] : "(nothing)";
            if (g != w) return "line " + std::to_string(i) + ": decoded '" + g + "', nft printed '" + w + "'";
        }
        return std::string();
    };
    CHECK(first_diff(got_verdicts, want_verdicts) == "");
    CHECK(first_diff(got_packets, want_packets) == "");
}

}  // namespace

TEST_CASE("recorded trace events decode to what nft monitor trace printed") {
    for (const char* name : {"hairpin", "br-netfilter", "host"}) {
        INFO(std::string(name));
        Recording r(name);
        check_against_monitor(r);
    }
}

TEST_CASE("trace events carry the conntrack id that conntrack -L shows") {
    Recording r("hairpin");
    const std::string line = r.conntrack_line();
    REQUIRE(!line.empty());
    std::smatch m;
    REQUIRE(std::regex_search(line, m, std::regex(R"(id=(\d+))")));
    const uint32_t id = static_cast<uint32_t>(std::stoul(m[1]));
    size_t with_ct = 0;
    for (auto& e : r.events)
        if (e.ct_id && e.table != "netlab_trace") {
            CHECK(*e.ct_id == id);
            ++with_ct;
        }
    CHECK(with_ct > 0);
}

TEST_CASE("recorded conntrack events decode to the entry conntrack -L listed") {
    for (const char* name : {"hairpin", "host"}) {
        CAPTURE(name);
        Recording r(name);
        auto raw = slurp(r.dir + "/conntrack-events.bin");
        auto events = net::decode_conntrack_messages(raw.data(), raw.size());
        std::vector<net::ConntrackEvent> mine;
        for (auto& e : events)
            if (e.entry.orig.sport == r.input.flow.sport) mine.push_back(e);
        REQUIRE(!mine.empty());
        CHECK(mine.front().type == net::CtEventType::New);
        const auto& last = mine.back().entry;
        std::string line = r.conntrack_line();
        REQUIRE(!line.empty());
        std::smatch m;
        static const std::regex re(
            R"(tcp\s+6\s+\d+\s+(\w+) src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+) (?:\[UNREPLIED\] )?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+) .*id=(\d+))");
        REQUIRE(std::regex_search(line, m, re));
        CHECK(last.state == m[1]);
        CHECK(last.orig == net::CtTuple{m[2], m[3], static_cast<uint16_t>(std::stoi(m[4])), static_cast<uint16_t>(std::stoi(m[5]))});
        CHECK(last.reply == net::CtTuple{m[6], m[7], static_cast<uint16_t>(std::stoi(m[8])), static_cast<uint16_t>(std::stoi(m[9]))});
        CHECK(last.id == std::stoul(m[10]));
        CHECK(last.dnat == (last.reply.src != last.orig.dst));
        CHECK(last.snat == (last.reply.dst != last.orig.src));
    }
}

TEST_CASE("the hairpin trace: DNAT, veth_dustin in and out, MASQUERADE, the conntrack entry") {
    Recording r("hairpin");
    auto rep = trace::build_report(r.input);
    CHECK(rep.answered);
    const std::string dnat_to = r.monitor_value(" rule ", "dnat to ");
    const std::string dnat_chain = [&] {
        for (auto& l : r.monitor)
            if (l.find("dnat to") != std::string::npos) {
                std::istringstream in(l);
                std::string w[6];
                for (auto& x : w) in >> x;
                return w[5];
            }
        return std::string();
    }();
    REQUIRE(!dnat_to.empty());
    // The hairpin turn as nft saw it: a bridge forward packet whose iif and oif are the same port.
    const std::string port = r.monitor_value("bridge netlab_trace fwd packet:", "iif ");
    CHECK(port == r.monitor_value("bridge netlab_trace fwd packet:", "oif "));
    std::smatch m;
    const std::string ct_line = r.conntrack_line();
    REQUIRE(std::regex_search(ct_line, m, std::regex(R"(\[ASSURED\].* id=(\d+))")));
    const std::string masq_to = [&] {
        std::smatch mm;
        std::string l = r.conntrack_line();
        std::regex_search(l, mm, std::regex(R"(src=\S+ dst=\S+ sport=\d+ dport=\d+ src=\S+ dst=(\S+))"));
        return std::string(mm[1]);
    }();

    bool dnat = false, masq = false;
    for (auto& d : rep.nat) {
        if (d.kind == "DNAT") {
            dnat = true;
            CHECK(d.to == dnat_to);
            CHECK(d.chain == dnat_chain);
            CHECK(d.hook == "prerouting");
        }
        if (d.kind == "MASQUERADE") {
            masq = true;
            CHECK(d.to == masq_to);
            CHECK(d.chain == "POSTROUTING");
        }
    }
    CHECK(dnat);
    CHECK(masq);
    bool hairpin_hop = false;
    for (auto& p : rep.packets)
        for (auto& h : p.hops)
            if (h.family == "bridge" && h.hook == "forward" && h.in == h.out && "\"" + h.in + "\"" == port)
                hairpin_hop = true;
    CHECK(hairpin_hop);
    REQUIRE(rep.conntrack);
    CHECK(std::to_string(rep.conntrack->id) == std::string(m[1]));
    // Every packet entered the bridge once: as many packets as nft saw in the bridge prerouting chain.
    size_t total = 0;
    for (auto& g : rep.groups) total += g.count;
    CHECK(total == r.monitor_count("bridge netlab_trace pre packet:"));
    CHECK(rep.groups.size() < total);  // summarised
}

TEST_CASE("the br-netfilter trace ends at the bridge: DNATed back to its ingress port, hairpin off") {
    Recording r("br-netfilter");
    auto rep = trace::build_report(r.input);
    CHECK_FALSE(rep.answered);
    CHECK_FALSE(rep.conntrack);
    CHECK(r.conntrack_line().empty());
    const std::string dnat_to = r.monitor_value(" rule ", "dnat to ");
    std::string ingress = r.monitor_value("bridge netlab_trace pre packet:", "iif ");
    REQUIRE(ingress.size() > 2);
    ingress = ingress.substr(1, ingress.size() - 2);
    INFO(rep.ended);
    CHECK(rep.ended.find("DNATed to " + dnat_to) != std::string::npos);
    CHECK(rep.ended.find("never left the bridge") != std::string::npos);
    CHECK(rep.ended.find(ingress + " has hairpin off") != std::string::npos);
    CHECK(r.monitor_count("bridge netlab_trace fwd") == 0);
    size_t syns = 0;
    for (auto& p : rep.packets) syns += p.tcp_flags == 0x02;
    CHECK(syns == r.monitor_count("bridge netlab_trace pre packet:"));
}

TEST_CASE("the lab host's trace: DNAT at output, no MASQUERADE, the pod behind the DNAT target answers") {
    Recording r("host");
    auto rep = trace::build_report(r.input);
    CHECK(rep.answered);
    const std::string dnat_to = r.monitor_value(" rule ", "dnat to ");
    REQUIRE(rep.nat.size() == 1);
    CHECK(rep.nat[0].kind == "DNAT");
    CHECK(rep.nat[0].hook == "output");
    CHECK(rep.nat[0].to == dnat_to);
    CHECK(r.monitor_count("masquerade") == 0);
    CHECK(rep.input.answer.pod_addr + ":" + std::to_string(rep.input.answer.pod_port) == dnat_to);
}

TEST_CASE("decoding stops cleanly at a truncated message and skips foreign ones") {
    Recording r("hairpin");
    auto raw = slurp(r.dir + "/trace-events.bin");
    auto cut = net::decode_trace_messages(raw.data(), raw.size() - 7);
    CHECK(cut.size() == r.events.size() - 1);
    auto ct = slurp(r.dir + "/conntrack-events.bin");
    CHECK(net::decode_trace_messages(ct.data(), ct.size()).empty());
    CHECK(net::decode_conntrack_messages(raw.data(), raw.size()).empty());
}

#include "trace/path.h"

#include <algorithm>
#include <set>
#include <tuple>

namespace netlab::trace {

namespace {

constexpr uint8_t kBridge = 7;

std::string family_text(uint8_t f) { return f == kBridge ? "bridge" : "ip"; }

std::string endpoint(const std::string& addr, uint16_t port) { return addr + ":" + std::to_string(port); }

struct Builder {
    const TraceInput& in;
    std::vector<PacketPath> packets;
    std::map<uint32_t, size_t> current;  // trace id -> index in packets
    std::optional<size_t> last;          // the packet of the latest event

    const net::ChainInfo* chain_of(const net::TraceEvent& e) const {
        for (auto& c : in.chains)
            if (c.family == e.family && c.table == e.table && c.name == e.chain) return &c;
        return nullptr;
    }
    std::string rule_text(const net::TraceEvent& e) const {
        if (!e.rule_handle) return "";
        for (auto& r : in.rules)
            if (r.family == e.family && r.table == e.table && r.handle == *e.rule_handle) return r.text;
        return "(rule handle " + std::to_string(*e.rule_handle) + " of table " + e.table + ", not decoded)";
    }
    std::string ifname(const std::optional<uint32_t>& idx) const {
        if (!idx) return "";
        auto it = in.ifnames.find(*idx);
        return it == in.ifnames.end() ? "if" + std::to_string(*idx) : it->second;
    }
    std::string direction_of(const net::TraceEvent& e) const {
        if (e.packet) {
            if (e.packet->sport == in.flow.sport) return "request";
            if (e.packet->dport == in.flow.sport) return "reply";
        }
        if (e.ct_direction) return *e.ct_direction == 0 ? "request" : "reply";
        return "request";
    }

    // A packet passed up from the bridge to the IP stack (or handed on in other ways) gets a new trace
    // id: a hook that no packet starts at, entered by a packet with the headers the latest packet had
    // at its last hook, continues that packet.
    PacketPath* continued(const net::TraceEvent& e, const std::string& fam, const std::string& hook) {
        if (!last || !e.packet) return nullptr;
        if ((fam == "bridge" && hook == "prerouting") || (fam == "ip" && hook == "output")) return nullptr;
        PacketPath& p = packets[*last];
        if (p.hops.empty()) return nullptr;
        for (auto& h : p.hops)
            if (h.family == fam && h.hook == hook) return nullptr;
        const Hop& h = p.hops.back();
        const auto& seen = h.after_nat ? h.after_nat : h.packet;
        if (!seen || std::tie(seen->src, seen->sport, seen->dst, seen->dport) !=
                         std::tie(e.packet->src, e.packet->sport, e.packet->dst, e.packet->dport))
            return nullptr;
        current[e.id] = *last;
        return &p;
    }

    PacketPath& start_packet(const net::TraceEvent& e) {
        PacketPath p;
        p.direction = direction_of(e);
        p.trace_id = e.id;
        if (e.packet) p.tcp_flags = e.packet->tcp_flags;
        packets.push_back(std::move(p));
        current[e.id] = packets.size() - 1;
        return packets.back();
    }

    Hop& open_hop(PacketPath& p, const net::TraceEvent& e, const std::string& hook) {
        Hop h;
        h.family = family_text(e.family);
        h.hook = hook;
        h.in = ifname(e.iif);
        h.out = ifname(e.oif);
        h.packet = e.packet;
        p.hops.push_back(std::move(h));
        return p.hops.back();
    }

    void add(const net::TraceEvent& e) {
        if (e.family != 2 && e.family != kBridge) return;
        const net::ChainInfo* chain = chain_of(e);
        const bool own = e.table == in.own_table;
        PacketPath* p = nullptr;
        if (auto it = current.find(e.id); it != current.end()) p = &packets[it->second];

        Hop* hop = nullptr;
        if (chain && chain->base && e.packet) {
            // The first event of a base chain: the packet enters a hook (or a later chain of it).
            const std::string hook = hook_name(chain->hook);
            const std::string fam = family_text(e.family);
            if (!p) p = continued(e, fam, hook);
            if (!p) p = &start_packet(e);
            size_t found = p->hops.size();
            for (size_t i = 0; i < p->hops.size(); ++i)
                if (p->hops[i].family == fam && p->hops[i].hook == hook) found = i;
            if (found + 1 == p->hops.size()) {
                hop = &p->hops.back();
                if (hop->in.empty()) hop->in = ifname(e.iif);
                if (hop->out.empty()) hop->out = ifname(e.oif);
                // A later chain of the same hook sees what the earlier ones did (NAT).
                if (hop->packet && e.packet &&
                    std::tie(hop->packet->src, hop->packet->sport, hop->packet->dst, hop->packet->dport) !=
                        std::tie(e.packet->src, e.packet->sport, e.packet->dst, e.packet->dport))
                    hop->after_nat = e.packet;
            } else if (found < p->hops.size()) {
                p = &start_packet(e);  // this packet passed that hook already: it is the next packet
                hop = &open_hop(*p, e, hook);
            } else {
                hop = &open_hop(*p, e, hook);
            }
        } else {
            if (!p || p->hops.empty()) return;  // nothing known of this packet's hook
            hop = &p->hops.back();
        }
        last = static_cast<size_t>(p - packets.data());
        if (e.ct_id && !p->ct_id) p->ct_id = e.ct_id;
        if (own) return;  // netlab's own chains only mark the hooks

        RuleHit r;
        r.table = e.table;
        r.chain = e.chain;
        r.handle = e.rule_handle;
        switch (e.type) {
            case net::TraceEvent::Type::Policy:
                r.verdict = std::string("policy ") + (e.policy && *e.policy == 0 ? "DROP" : "ACCEPT");
                break;
            case net::TraceEvent::Type::Return: r.verdict = "return"; break;
            default:
                if (!e.rule_handle) r.verdict = "fell off the end";
                else {
                    r.rule = rule_text(e);
                    r.verdict = net::verdict_text(e);
                }
        }
        if (r.verdict == "ACCEPT" || r.verdict == "DROP" || r.verdict.rfind("policy", 0) == 0) hop->verdict = r.verdict;
        hop->rules.push_back(std::move(r));
    }
};

std::string signature(const PacketPath& p) {
    std::string s = p.direction;
    for (auto& h : p.hops) {
        s += "|" + h.family + " " + h.hook + " " + h.in + ">" + h.out;
        for (auto& r : h.rules) s += ";" + r.table + "/" + r.chain + "/" + r.rule + "/" + r.verdict;
    }
    return s;
}

std::string word_after(const std::string& text, const std::string& key) {
    auto pos = text.find(key);
    if (pos == std::string::npos) return "";
    pos += key.size();
    auto end = text.find(' ', pos);
    return text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

void find_nat(TraceReport& rep) {
    std::set<std::string> seen;
    for (auto& p : rep.packets)
        for (auto& h : p.hops)
            for (auto& r : h.rules) {
                NatDecision d;
                d.chain = r.chain;
                d.hook = h.hook;
                if (r.rule.find("-j DNAT") != std::string::npos && h.packet) {
                    d.kind = "DNAT";
                    d.from = endpoint(h.packet->dst, h.packet->dport);
                    d.to = word_after(r.rule, "--to-destination ");
                    if (!d.to.empty() && d.to.find(':') == std::string::npos)
                        d.to += ":" + std::to_string(h.packet->dport);
                } else if (r.rule.find("-j MASQUERADE") != std::string::npos && h.packet) {
                    d.kind = "MASQUERADE";
                    d.from = h.packet->src;
                    if (h.after_nat) d.to = h.after_nat->src;
                    else if (rep.conntrack && rep.conntrack->snat) d.to = rep.conntrack->reply.dst;
                } else {
                    continue;
                }
                if (seen.insert(d.text()).second) rep.nat.push_back(d);
            }
}

void pick_conntrack(TraceReport& rep) {
    const auto& f = rep.input.flow;
    std::optional<uint32_t> ct_id;
    for (auto& p : rep.packets)
        if (p.ct_id) ct_id = p.ct_id;
    for (auto& c : rep.input.conntrack) {
        if (c.orig.sport != f.sport || c.orig.dst != f.daddr || c.orig.dport != f.dport) continue;
        if (!rep.conntrack || (ct_id && c.id == *ct_id)) rep.conntrack = c;
    }
}

const BridgePort* port_named(const TraceInput& in, const std::string& name) {
    for (auto& p : in.ports)
        if (p.name == name) return &p;
    return nullptr;
}

const BridgePort* port_behind(const TraceInput& in, const std::string& addr) {
    for (auto& p : in.ports)
        for (auto& a : p.addresses)
            if (a == addr) return &p;
    return nullptr;
}

std::string why_ended(const TraceReport& rep) {
    const auto& in = rep.input;
    const PacketPath* syn = nullptr;
    for (auto& p : rep.packets)
        if (p.direction == "request") {
            syn = &p;
            break;
        }
    const std::string err = in.answer.error.empty() ? "" : " (" + in.answer.error + ")";
    if (!syn)
        return "no packet of the connection reached the lab host's hooks" + err;
    for (auto& h : syn->hops)
        for (auto& r : h.rules)
            if (r.verdict == "DROP" || r.verdict == "policy DROP")
                return "the SYN was dropped at " + h.family + " " + h.hook + " by " +
                       (r.rule.empty() ? "the policy of " + r.table + " " + r.chain : "`" + r.rule + "` (table " + r.table + ")");
    const NatDecision* dnat = nullptr;
    for (auto& d : rep.nat)
        if (d.kind == "DNAT") {
            dnat = &d;
            break;
        }
    std::string ingress;
    for (auto& h : syn->hops)
        if (h.family == "bridge" && h.hook == "prerouting") ingress = h.in;
    bool left_bridge = false;
    for (auto& h : syn->hops)
        if (h.hook != "prerouting") left_bridge = true;
    if (dnat && !left_bridge && !ingress.empty()) {
        std::string to_addr = dnat->to.substr(0, dnat->to.find(':'));
        const BridgePort* behind = port_behind(in, to_addr);
        const BridgePort* inport = port_named(in, ingress);
        std::string s = "the SYN was DNATed to " + dnat->to + " in " + dnat->chain + " and never left the bridge";
        if (behind && behind->name == ingress) {
            s += ": " + to_addr + " is behind " + ingress + ", the port it came in on, and " + ingress + " has hairpin " +
                 (inport && inport->hairpin ? "on" : "off");
            if (!(inport && inport->hairpin))
                s += " (a bridge never sends a frame back out of its ingress port without hairpin mode)";
        } else if (behind) {
            s += " (" + to_addr + " is behind " + behind->name + "; it came in on " + ingress + ")";
        }
        return s + err;
    }
    if (!dnat && syn->hops.size() > 0) {
        const auto& first = syn->hops.front();
        if (first.packet && !port_behind(in, first.packet->dst))
            return "nothing translated " + endpoint(first.packet->dst, first.packet->dport) +
                   " (no DNAT rule matched) and nothing answered at that address" + err;
    }
    const Hop& last = syn->hops.back();
    std::string where = last.family + " " + last.hook;
    if (!last.in.empty()) where += " in " + last.in;
    if (!last.out.empty()) where += " out " + last.out;
    return "the SYN's trace ends at " + where + (last.verdict.empty() ? "" : " (" + last.verdict + ")") +
           " and no answer came" + err;
}

}  // namespace

std::string NatDecision::text() const {
    return kind + " " + from + " -> " + to + " in " + chain;
}

std::string hook_name(uint32_t hook) {
    switch (hook) {
        case 0: return "prerouting";
        case 1: return "input";
        case 2: return "forward";
        case 3: return "output";
        case 4: return "postrouting";
        default: return "hook " + std::to_string(hook);
    }
}

std::string tcp_flags_text(uint8_t f) {
    std::string s;
    auto add = [&](uint8_t bit, const char* name) {
        if (f & bit) s += (s.empty() ? "" : " ") + std::string(name);
    };
    add(0x02, "SYN");
    add(0x01, "FIN");
    add(0x04, "RST");
    add(0x08, "PSH");
    add(0x10, "ACK");
    return s.empty() ? "-" : s;
}

TraceReport build_report(TraceInput input) {
    TraceReport rep;
    rep.input = std::move(input);
    Builder b{rep.input, {}, {}};
    for (auto& e : rep.input.events) b.add(e);
    rep.packets = std::move(b.packets);

    std::map<std::string, size_t> by_sig;
    for (size_t i = 0; i < rep.packets.size(); ++i) {
        const auto& p = rep.packets[i];
        auto sig = signature(p);
        auto it = by_sig.find(sig);
        if (it == by_sig.end()) {
            it = by_sig.emplace(sig, rep.groups.size()).first;
            rep.groups.push_back({p.direction, 0, {}, i});
        }
        auto& g = rep.groups[it->second];
        ++g.count;
        auto f = tcp_flags_text(p.tcp_flags);
        if (std::find(g.flags.begin(), g.flags.end(), f) == g.flags.end()) g.flags.push_back(f);
    }
    pick_conntrack(rep);
    find_nat(rep);
    rep.answered = rep.input.answer.ok;
    if (!rep.answered) rep.ended = why_ended(rep);
    return rep;
}

}  // namespace netlab::trace

#include "trace/report_text.h"

#include <iomanip>
#include <sstream>

namespace netlab::trace {

namespace {

std::string ep(const std::string& a, uint16_t p) { return a + ":" + std::to_string(p); }

std::string pad(const std::string& s, size_t n) { return s.size() >= n ? s + " " : s + std::string(n - s.size(), ' '); }

std::string packet_text(const net::TracePacket& p) { return ep(p.src, p.sport) + " -> " + ep(p.dst, p.dport); }

std::string owner(const std::map<std::string, std::string>& owners, const std::string& addr) {
    auto it = owners.find(addr);
    return it == owners.end() ? "" : " (" + it->second + ")";
}

void print_hop(std::ostream& out, const Hop& h) {
    std::string where = h.family + " " + h.hook;
    std::string ifs;
    if (!h.in.empty()) ifs += "in " + h.in;
    if (!h.out.empty()) ifs += std::string(ifs.empty() ? "" : " ") + "out " + h.out;
    if (h.family == "bridge" && !h.in.empty() && h.in == h.out) ifs += " (hairpin)";
    out << "    " << pad(where, 19) << pad(ifs, 34) << (h.packet ? packet_text(*h.packet) : "") << "\n";
    if (h.after_nat) out << "    " << pad("", 19 + 34) << "after NAT: " << packet_text(*h.after_nat) << "\n";
    for (size_t i = 0; i < h.rules.size(); ++i) {
        const RuleHit& r = h.rules[i];
        std::string what = r.rule, verdict = r.verdict;
        if (r.verdict == "fell off the end") {
            what = "(end of chain " + r.chain + ")";
            verdict = "back to the calling chain";
            if (i + 1 < h.rules.size() && h.rules[i + 1].chain == r.chain &&
                h.rules[i + 1].verdict.rfind("policy", 0) == 0) {
                verdict = h.rules[++i].verdict;
            }
        } else if (r.verdict.rfind("policy", 0) == 0) {
            what = "(" + r.chain + ")";
        }
        out << "        " << pad(r.table, 7) << what << " => " << verdict << "\n";
    }
}

}  // namespace

std::string translation_text(const net::ConntrackEntry& e, const std::map<std::string, std::string>& owners) {
    std::string s;
    if (e.reply.src != e.orig.dst || e.reply.sport != e.orig.dport)
        s += "DNAT to " + ep(e.reply.src, e.reply.sport) + owner(owners, e.reply.src);
    if (e.reply.dst != e.orig.src || e.reply.dport != e.orig.sport)
        s += std::string(s.empty() ? "" : ", ") + "SNAT to " + e.reply.dst +
             (e.reply.dport != e.orig.sport ? ":" + std::to_string(e.reply.dport) : "");
    return s;
}

std::string conntrack_line(const net::ConntrackEntry& e, const std::map<std::string, std::string>& owners) {
    std::ostringstream o;
    o << pad(net::protocol_name(e.protocol), 5) << pad(e.state.empty() ? "-" : e.state, 12)
      << pad(ep(e.orig.src, e.orig.sport) + " -> " + ep(e.orig.dst, e.orig.dport), 44)
      << pad(ep(e.reply.src, e.reply.sport) + " -> " + ep(e.reply.dst, e.reply.dport), 44);
    std::string t = translation_text(e, owners);
    o << pad(t.empty() ? "-" : t, 0) << " id=" << e.id;
    return o.str();
}

void print_conntrack_table(std::ostream& out, const std::vector<net::ConntrackEntry>& entries,
                           const std::map<std::string, std::string>& owners) {
    out << pad("PROTO", 5) << pad("STATE", 12) << pad("ORIGINAL (src -> dst)", 44) << pad("REPLY (src -> dst)", 44)
        << "TRANSLATION\n";
    for (auto& e : entries) out << conntrack_line(e, owners) << "\n";
    out << entries.size() << " connection" << (entries.size() == 1 ? "" : "s") << "\n";
}

void print_report(std::ostream& out, const TraceReport& r) {
    const auto& in = r.input;
    out << "Trace of a TCP connection from " << in.client_ns << " to " << ep(in.flow.daddr, in.flow.dport)
        << " (source port " << in.flow.sport << "), seen in the lab host " << in.host_ns << "\n";
    if (r.packets.empty()) out << "\n  no packet of this connection passed the lab host's hooks\n";
    for (auto& g : r.groups) {
        const auto& p = r.packets[g.first];
        std::string flags;
        for (auto& f : g.flags) flags += (flags.empty() ? "" : ", ") + f;
        out << "\n  " << p.direction << " " << flags << " (" << g.count << " packet" << (g.count == 1 ? "" : "s");
        if (p.ct_id) out << ", conntrack id " << *p.ct_id;
        out << "):\n";
        for (auto& h : p.hops) print_hop(out, h);
    }
    if (!r.nat.empty()) {
        out << "\nNAT:\n";
        for (auto& d : r.nat) out << "  " << d.text() << " (at " << d.hook << ")\n";
    }
    if (r.conntrack) {
        const auto& c = *r.conntrack;
        std::map<std::string, std::string> owners;
        for (auto& p : in.ports)
            for (auto& a : p.addresses) owners[a] = "behind " + p.name;
        out << "\nconntrack entry id " << c.id << " (" << net::protocol_name(c.protocol) << " " << c.state << "):\n"
            << "  original " << ep(c.orig.src, c.orig.sport) << " -> " << ep(c.orig.dst, c.orig.dport) << "\n"
            << "  reply    " << ep(c.reply.src, c.reply.sport) << " -> " << ep(c.reply.dst, c.reply.dport) << "\n";
        std::string t = translation_text(c, owners);
        if (!t.empty()) out << "  " << t << "\n";
    } else {
        out << "\nconntrack: no entry for this connection (a connection whose first packet was dropped is never "
               "confirmed)\n";
    }
    const auto& a = in.answer;
    if (r.answered) {
        out << "\nanswer: HTTP " << a.status;
        if (!a.pod.empty())
            out << " from " << a.pod << " (" << ep(a.pod_addr, a.pod_port) << "), which saw the client as "
                << ep(a.client_addr, a.client_port);
        out << "\n";
    } else {
        out << "\nno answer: " << r.ended << "\n";
    }
    if (in.lost_events) out << "warning: the kernel dropped trace events (socket buffer full); the path may be incomplete\n";
}

}  // namespace netlab::trace

#include "trace/trace_json.h"

namespace netlab::trace {

using nlohmann::json;

namespace {

json packet_json(const net::TracePacket& p) {
    return {{"src", p.src}, {"sport", p.sport}, {"dst", p.dst}, {"dport", p.dport},
            {"protocol", p.protocol}, {"tcp_flags", tcp_flags_text(p.tcp_flags)}};
}

json tuple_json(const net::CtTuple& t) { return {{"src", t.src}, {"dst", t.dst}, {"sport", t.sport}, {"dport", t.dport}}; }

net::CtTuple tuple_from(const json& j) {
    return {j.at("src").get<std::string>(), j.at("dst").get<std::string>(), j.at("sport").get<uint16_t>(),
            j.at("dport").get<uint16_t>()};
}

}  // namespace

json conntrack_to_json(const net::ConntrackEntry& e) {
    return {{"id", e.id},         {"protocol", net::protocol_name(e.protocol)},
            {"state", e.state},   {"original", tuple_json(e.orig)},
            {"reply", tuple_json(e.reply)}, {"status", e.status},
            {"dnat", e.dnat},     {"snat", e.snat},
            {"assured", e.assured}, {"unreplied", e.unreplied},
            {"timeout", e.timeout}, {"mark", e.mark}};
}

static net::ConntrackEntry conntrack_from(const json& j) {
    net::ConntrackEntry e;
    e.id = j.at("id").get<uint32_t>();
    e.protocol = j.at("protocol") == "tcp" ? 6 : j.at("protocol") == "udp" ? 17 : 0;
    e.state = j.at("state").get<std::string>();
    e.orig = tuple_from(j.at("original"));
    e.reply = tuple_from(j.at("reply"));
    e.status = j.at("status").get<uint32_t>();
    e.dnat = j.at("dnat").get<bool>();
    e.snat = j.at("snat").get<bool>();
    e.assured = j.at("assured").get<bool>();
    e.unreplied = j.at("unreplied").get<bool>();
    e.timeout = j.at("timeout").get<uint32_t>();
    e.mark = j.at("mark").get<uint32_t>();
    return e;
}

json input_to_json(const TraceInput& in) {
    json j;
    j["host_ns"] = in.host_ns;
    j["client_ns"] = in.client_ns;
    j["own_table"] = in.own_table;
    j["flow"] = {{"daddr", in.flow.daddr}, {"dport", in.flow.dport}, {"sport", in.flow.sport}};
    j["chains"] = json::array();
    for (auto& c : in.chains)
        j["chains"].push_back({{"family", c.family}, {"table", c.table}, {"name", c.name}, {"base", c.base},
                               {"hook", c.hook}, {"priority", c.priority}, {"handles", c.handles}});
    j["rules"] = json::array();
    for (auto& r : in.rules)
        j["rules"].push_back({{"family", r.family}, {"table", r.table}, {"chain", r.chain}, {"handle", r.handle},
                              {"text", r.text}});
    j["ifnames"] = json::object();
    for (auto& [k, v] : in.ifnames) j["ifnames"][std::to_string(k)] = v;
    j["ports"] = json::array();
    for (auto& p : in.ports)
        j["ports"].push_back({{"name", p.name}, {"bridge", p.bridge}, {"hairpin", p.hairpin}, {"addresses", p.addresses}});
    j["conntrack"] = json::array();
    for (auto& c : in.conntrack) j["conntrack"].push_back(conntrack_to_json(c));
    const auto& a = in.answer;
    j["answer"] = {{"ok", a.ok},   {"status", a.status},     {"error", a.error},
                   {"pod", a.pod}, {"pod_addr", a.pod_addr}, {"pod_port", a.pod_port},
                   {"client_addr", a.client_addr}, {"client_port", a.client_port}};
    j["lost_events"] = in.lost_events;
    return j;
}

TraceInput input_from_json(const json& j) {
    TraceInput in;
    in.host_ns = j.at("host_ns");
    in.client_ns = j.at("client_ns");
    in.own_table = j.at("own_table");
    in.flow.daddr = j.at("flow").at("daddr");
    in.flow.dport = j.at("flow").at("dport");
    in.flow.sport = j.at("flow").at("sport");
    for (auto& c : j.at("chains")) {
        net::ChainInfo ci;
        ci.family = c.at("family");
        ci.table = c.at("table");
        ci.name = c.at("name");
        ci.base = c.at("base");
        ci.hook = c.at("hook");
        ci.priority = c.at("priority");
        ci.handles = c.at("handles").get<std::vector<uint64_t>>();
        in.chains.push_back(ci);
    }
    for (auto& r : j.at("rules"))
        in.rules.push_back({r.at("family"), r.at("table"), r.at("chain"), r.at("handle"), r.at("text")});
    for (auto& [k, v] : j.at("ifnames").items()) in.ifnames[static_cast<uint32_t>(std::stoul(k))] = v;
    for (auto& p : j.at("ports"))
        in.ports.push_back({p.at("name"), p.at("bridge"), p.at("hairpin"), p.at("addresses").get<std::vector<std::string>>()});
    for (auto& c : j.at("conntrack")) in.conntrack.push_back(conntrack_from(c));
    const auto& a = j.at("answer");
    in.answer = {a.at("ok"),  a.at("status"),   a.at("error"),    a.at("pod"),
                 a.at("pod_addr"), a.at("client_addr"), a.at("pod_port"), a.at("client_port")};
    in.lost_events = j.at("lost_events");
    return in;
}

json report_to_json(const TraceReport& r) {
    json j;
    j["client_ns"] = r.input.client_ns;
    j["lab_host"] = r.input.host_ns;
    j["target"] = r.input.flow.daddr + ":" + std::to_string(r.input.flow.dport);
    j["source_port"] = r.input.flow.sport;
    j["answered"] = r.answered;
    if (!r.answered) j["ended"] = r.ended;
    const auto& a = r.input.answer;
    j["answer"] = {{"ok", a.ok}, {"status", a.status}, {"error", a.error}, {"pod", a.pod},
                   {"pod_addr", a.pod_addr}, {"pod_port", a.pod_port}, {"client_addr", a.client_addr},
                   {"client_port", a.client_port}};
    j["nat"] = json::array();
    for (auto& d : r.nat)
        j["nat"].push_back({{"kind", d.kind}, {"chain", d.chain}, {"hook", d.hook}, {"from", d.from}, {"to", d.to},
                            {"text", d.text()}});
    j["conntrack"] = r.conntrack ? conntrack_to_json(*r.conntrack) : json(nullptr);
    j["paths"] = json::array();
    for (auto& g : r.groups) {
        const auto& p = r.packets[g.first];
        json hops = json::array();
        for (auto& h : p.hops) {
            json rules = json::array();
            for (auto& x : h.rules)
                rules.push_back({{"table", x.table}, {"chain", x.chain},
                                 {"handle", x.handle ? json(*x.handle) : json(nullptr)}, {"rule", x.rule},
                                 {"verdict", x.verdict}});
            json hop = {{"family", h.family}, {"hook", h.hook}, {"in", h.in}, {"out", h.out}, {"rules", rules},
                        {"verdict", h.verdict}};
            hop["packet"] = h.packet ? packet_json(*h.packet) : json(nullptr);
            hop["after_nat"] = h.after_nat ? packet_json(*h.after_nat) : json(nullptr);
            hops.push_back(hop);
        }
        j["paths"].push_back({{"direction", g.direction}, {"packets", g.count}, {"tcp_flags", g.flags},
                              {"ct_id", p.ct_id ? json(*p.ct_id) : json(nullptr)}, {"hops", hops}});
    }
    j["lost_events"] = r.input.lost_events;
    return j;
}

}  // namespace netlab::trace

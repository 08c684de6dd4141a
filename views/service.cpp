#include "views/service.h"

#include <cstdio>

#include "rules/ruleset.h"

namespace netlab::views {

namespace {

// A user chain of the table (a jump target), not a verdict or an extension target.
bool is_user_chain(const rules::IptTable& t, const std::string& name) {
    const auto* c = rules::find_chain(t, name);
    return c && !c->builtin;
}

// The --to-destination of the first DNAT rule of `chain`, "" when it has none.
std::string dnat_target(const rules::IptTable& t, const std::string& chain) {
    if (const auto* c = rules::find_chain(t, chain))
        for (const auto& r : c->rules)
            if (r.target == "DNAT") return r.to_destination;
    return {};
}

// The rules of a service chain, each a chance of what is left: the first rule with probability p
// takes p of the new connections, the next one p' of the rest, an unconditional one all the rest.
std::vector<Endpoint> endpoints_of(const rules::IptTable& t, const rules::IptChain& svc) {
    std::vector<Endpoint> out;
    double left = 1.0;
    for (const auto& r : svc.rules) {
        Endpoint e;
        if (r.target == "DNAT") e.target = r.to_destination;
        else if (is_user_chain(t, r.target)) e.chain = r.target, e.target = dnat_target(t, r.target);
        else continue;
        e.probability = r.probability;
        e.share = left * r.probability.value_or(1.0);
        left -= e.share;
        out.push_back(std::move(e));
    }
    return out;
}

// A rule that matches exactly one destination address and leads to a DNAT or a user chain.
bool matches_virtual_ip(const rules::IptTable& t, const rules::IptRule& r) {
    if (!r.dst.ends_with("/32")) return false;
    return r.target == "DNAT" || is_user_chain(t, r.target);
}

Service service_of(const rules::IptTable& t, const std::string& entry, const rules::IptRule& r) {
    Service s;
    s.vip = r.dst.substr(0, r.dst.size() - 3);
    s.port = r.dport.value_or(0);
    s.proto = r.proto;
    s.entry = entry;
    if (r.target == "DNAT") {
        s.endpoints.push_back(Endpoint{"", r.probability, r.probability.value_or(1.0), r.to_destination});
    } else {
        s.chain = r.target;
        s.endpoints = endpoints_of(t, *rules::find_chain(t, r.target));
    }
    return s;
}

bool same_service(const Service& a, const Service& b) {
    return a.vip == b.vip && a.port == b.port && a.proto == b.proto && a.chain == b.chain &&
           (!a.chain.empty() || a.endpoints.front().target == b.endpoints.front().target);
}

}  // namespace

std::string Service::address() const { return port ? vip + ":" + std::to_string(port) : vip; }

std::vector<Service> decode_services(const rules::Ruleset& rs) {
    std::vector<Service> out;
    const rules::IptTable* t = rules::find_table(rs, "nat");
    if (!t) return out;
    for (const auto& c : t->chains)
        for (const auto& r : c.rules) {
            if (!matches_virtual_ip(*t, r)) continue;
            Service s = service_of(*t, c.name, r);
            bool seen = false;
            for (const auto& o : out) seen = seen || same_service(o, s);
            if (!seen) out.push_back(std::move(s));
        }
    return out;
}

std::string probability_text(double p) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", p);
    return buf;
}

std::string share_text(double share) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g%%", share * 100.0);
    return buf;
}

}  // namespace netlab::views

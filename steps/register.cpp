#include "steps/register.h"

#include "base/error.h"
#include "base/ipv4.h"
#include "steps/common.h"
#include "steps/netns.h"

namespace netlab::steps {

// Which records live inside a namespace, and which record removes one (Registry::add_scope): an
// undo that deletes a lab namespace skips the undo of the links, addresses, routes, bridge-port
// flags, rules and sysctls inside it. Pods (processes keep a namespace alive) and files under /etc
// are outside every namespace and are always undone one by one. Only a namespace whose creation
// was confirmed is certainly the lab's, so only such a record removes a container.
static void register_scopes(lab::Registry& reg) {
    auto inside_ns = [](const lab::Record& r) { return netns_container(r.data.at("ns")); };
    for (const char* kind : {"link", "address", "route", "link-state", "hairpin", "promisc", "rules", "sysctl"})
        reg.add_scope(kind, inside_ns, nullptr);
    reg.add_scope("netns", nullptr, [](const lab::Record& r) {
        return r.done ? netns_container(r.data.at("name")) : std::string();
    });
}

void register_all(lab::Registry& reg) {
    register_netns(reg);
    register_bridge(reg);
    register_veth(reg);
    register_link(reg);
    register_address(reg);
    register_route(reg);
    register_sysctl(reg);
    register_resolv_conf(reg);
    register_rules(reg);
    register_bridge_port(reg);
    register_pod(reg);
    register_probes(reg);
    register_scopes(reg);
    register_quiz_live(reg);
}

void check_ipv4(const Params& p, const std::string& addr) {
    if (!parse_ipv4(addr)) p.fail("bad IPv4 address '" + addr + "'");
}

void check_cidr(const Params& p, const std::string& cidr) {
    auto slash = cidr.find('/');
    if (slash == std::string::npos) p.fail("address '" + cidr + "' needs a prefix length, e.g. " + cidr + "/24");
    check_ipv4(p, cidr.substr(0, slash));
    if (!parse_ipv4_cidr(cidr, true))
        p.fail("bad prefix length '/" + cidr.substr(slash + 1) + "' in '" + cidr + "' (0 to 32)");
}

void check_ifname(const Params& p, const std::string& name) {
    if (name.empty() || name.size() > 15 || name.find_first_of("/ \t:") != std::string::npos)
        p.fail("bad interface name '" + name + "' (1 to 15 characters, no '/', ':' or spaces)");
}

}  // namespace netlab::steps

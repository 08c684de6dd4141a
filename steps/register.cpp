#include "steps/register.h"

#include <arpa/inet.h>

#include "lab/error.h"
#include "steps/common.h"

namespace netlab::steps {

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
    register_quiz_live();
}

void check_ipv4(const Params& p, const std::string& addr) {
    in_addr a{};
    if (::inet_pton(AF_INET, addr.c_str(), &a) != 1) p.fail("bad IPv4 address '" + addr + "'");
}

void check_cidr(const Params& p, const std::string& cidr) {
    auto slash = cidr.find('/');
    if (slash == std::string::npos) p.fail("address '" + cidr + "' needs a prefix length, e.g. " + cidr + "/24");
    check_ipv4(p, cidr.substr(0, slash));
    std::string len = cidr.substr(slash + 1);
    if (len.empty() || len.size() > 2 || len.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(len) > 32)
        p.fail("bad prefix length '/" + len + "' in '" + cidr + "' (0 to 32)");
}

void check_ifname(const Params& p, const std::string& name) {
    if (name.empty() || name.size() > 15 || name.find_first_of("/ \t:") != std::string::npos)
        p.fail("bad interface name '" + name + "' (1 to 15 characters, no '/', ':' or spaces)");
}

}  // namespace netlab::steps

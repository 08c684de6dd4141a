// The default tutorial loads with the real step kinds, has the step ids in order, and
// generates the article's commands (pure: nothing touches the kernel).
#include <doctest/doctest.h>

#include <cstdlib>

#include "base/error.h"
#include "lab/tutorial.h"
#include "steps/register.h"

using namespace netlab;

namespace {
lab::Tutorial article(lab::Registry& reg) {
    steps::register_all(reg);
    return lab::load_tutorial(lab::find_tutorial("article", ""), reg);
}
std::vector<std::string> commands_of(const lab::Tutorial& t, const std::string& id, const lab::LabNames& n) {
    std::vector<std::string> out;
    for (auto& a : t.find(id)->actions)
        for (auto& c : a->commands(n)) out.push_back(c);
    return out;
}
}  // namespace

TEST_CASE("the article tutorial has every step in the article's order") {
    lab::Registry reg;
    auto t = article(reg);
    CHECK(t.ids() == std::vector<std::string>{"lab-host", "forwarding", "bridge", "netns", "dns", "veths", "routes",
                                              "forward-accept", "masquerade", "pods", "services-chain", "virtual-ip",
                                              "br-netfilter", "hairpin", "promisc", "service-chain", "endpoint-chain",
                                              "random-backends"});
    for (auto& s : t.steps) {
        CHECK_MESSAGE(!s.explain.empty(), s.id);
        CHECK_MESSAGE(!s.title.empty(), s.id);
    }
}

TEST_CASE("generated commands are the article's, run inside the lab host") {
    lab::Registry reg;
    auto t = article(reg);
    lab::LabNames def{"default"};
    CHECK(commands_of(t, "bridge", def) == std::vector<std::string>{
                                             "ip netns exec netlab ip link add dev bridge_home type bridge",
                                             "ip netns exec netlab ip address add 10.0.0.1/24 dev bridge_home"});
    CHECK(commands_of(t, "forwarding", def) ==
          std::vector<std::string>{"ip netns exec netlab sysctl --write net.ipv4.ip_forward=1"});
    CHECK(commands_of(t, "routes", def) == std::vector<std::string>{
                                             "ip netns exec netns_dustin ip route add default via 10.0.0.1",
                                             "ip netns exec netns_leah ip route add default via 10.0.0.1"});
    auto veths = commands_of(t, "veths", def);
    REQUIRE(veths.size() >= 5);
    CHECK(veths[0] == "ip netns exec netlab ip link add dev veth_dustin type veth peer name veth_ns_dustin");
    CHECK(veths[1] == "ip netns exec netlab ip link set dev veth_dustin master bridge_home");
    CHECK(veths.back() == "ip netns exec netlab ip link set bridge_home up");
}

TEST_CASE("another lab prefixes every namespace name") {
    lab::Registry reg;
    auto t = article(reg);
    lab::LabNames a{"a"};
    CHECK(a.ns("netns_dustin") == "a-netns_dustin");
    CHECK(a.ns("netlab") == "a-netlab");
    auto netns = commands_of(t, "netns", a);
    CHECK(netns.at(0) == "ip netns add a-netns_dustin");
    auto dns = commands_of(t, "dns", a);
    CHECK(dns.at(0) == "mkdir -p /etc/netns/a-netns_dustin");
}

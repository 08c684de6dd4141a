// `netlab doctor`: can this machine run labs? It checks the privileges, then probes each kernel
// feature a lab needs (namespaces, /run/netns, bridge, veth, nf_tables in iptables-nft's layout,
// xt statistic, br_netfilter) in a scratch namespace it deletes afterwards, never in the caller's.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace netlab::maintenance {

struct Finding {
    bool ok = false;
    std::string what;  // "bridge: a Linux bridge can be made"
    std::string fix;   // what to do when !ok
};

// The privileges finding from the effective capabilities (the CapEff mask) and the effective uid.
Finding privileges_finding(uint64_t effective_caps, unsigned euid);

class Doctor {
public:
    explicit Doctor(std::ostream& out) : out_(out) {}
    // Examines the machine and prints the findings; 0 when every check passed, 1 otherwise.
    int run();
    // Prints `found` (the privileges first) with what to do about each problem; the exit code.
    static int report(const std::vector<Finding>& found, std::ostream& out);

private:
    std::vector<Finding> examine();
    std::ostream& out_;
};

}  // namespace netlab::maintenance

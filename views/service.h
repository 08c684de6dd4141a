// The services a lab host's nat rules implement, decoded the way kube-proxy lays them out: a rule that
// matches a virtual IP (and port) jumps to a service chain, whose rules pick an endpoint chain (with
// -m statistic probabilities), whose DNAT rule names the backend. The article's earlier shapes decode
// too: a DNAT right in the matching rule (step virtual-ip), a DNAT right in the service chain (step
// service-chain). Pure: works on a Ruleset, so tests decode hand-built rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rules/ruleset.h"

namespace netlab::views {

struct Endpoint {
    std::string chain;                  // the endpoint chain; "" when the DNAT is in the service rule or chain itself
    std::optional<double> probability;  // the jump's -m statistic probability; nullopt = unconditional
    double share = 0;                   // the fraction of new connections that end here (0..1)
    std::string target;                 // the DNAT's --to-destination ("10.0.0.21:8080"); "" when it has none yet
};

struct Service {
    std::string vip;    // "10.100.100.100"
    uint16_t port = 0;  // 0: any port
    std::string proto;  // "tcp", "udp" or "" (any)
    std::string entry;  // the chain holding the rule that matches the virtual IP ("DUSTIN-SERVICES")
    std::string chain;  // the service chain ("DUSTIN-SVC-HTTP"); "" when that rule DNATs itself
    std::vector<Endpoint> endpoints;

    std::string address() const;  // "10.100.100.100:8080", or "10.100.100.100" for any port
};

// Every service in the nat table of `rs`, in chain and rule order; empty when there is none (yet).
std::vector<Service> decode_services(const rules::Ruleset& rs);

// "0.5", "0.3333": a probability for people, at most 4 significant digits.
std::string probability_text(double p);
// "50%", "33.3%": a share for people.
std::string share_text(double share);

}  // namespace netlab::views

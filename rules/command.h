// One iptables command line as data, parsed from its arguments as the article writes them.
// Pure: no kernel access.
#pragma once

#include <string>
#include <vector>

#include "rules/ruleset.h"

namespace netlab::rules {

struct IptCommand {
    std::string table = "filter";  // -t / --table
    char op = 0;        // 'A' append, 'I' insert, 'D' delete, 'N' new chain, 'X' delete chain,
                        // 'F' flush, 'P' policy
    std::string chain;
    int position = 0;   // -I CHAIN N / -D CHAIN N (1-based); 0 = not given
    IptRule rule;       // for A, I, D (D by specification when position == 0)
    std::string policy; // for P
    bool operator==(const IptCommand&) const = default;
};

// Parses iptables arguments (without the leading "iptables"/"sudo"), long and short forms:
// -t/--table, -A/--append, -I/--insert, -D/--delete, -N/--new/--new-chain, -X/--delete-chain,
// -F/--flush, -P/--policy, -s/--source, -d/--destination, -i/--in-interface, -o/--out-interface,
// -p/--protocol, -m/--match (tcp, udp, statistic, comment), --dport/--destination-port,
// --sport/--source-port, --mode random, --probability, --comment, -j/--jump, -g/--goto,
// --to-destination. Throws UsageError naming the offending option ("unsupported iptables option
// '--foo'") or value.
IptCommand parse_iptables(const std::vector<std::string>& args);

}  // namespace netlab::rules

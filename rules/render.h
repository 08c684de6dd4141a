// Rules rendered the way `iptables-nft -S` (1.8.9) prints them, and commands as shell lines. Pure.
#pragma once

#include <string>

#include "rules/command.h"
#include "rules/ruleset.h"

namespace netlab::rules {

// One rule as `iptables -S` prints it: "-A DUSTIN-SERVICES -d 10.100.100.100/32 -p tcp -m tcp
// --dport 8080 -j DUSTIN-SVC-HTTP".
std::string render_rule(const std::string& chain, const IptRule& r);
// A whole table as `iptables-nft -t TABLE -S` prints it (all -P lines, -N lines, -A lines).
std::string render_table(const IptTable& t);
// The table named `table` from rs (or an empty one), rendered as above.
std::string render_table(const Ruleset& rs, const std::string& table);

// The command as a shell line, e.g. "iptables -t nat -A OUTPUT -j DUSTIN-SERVICES".
std::string to_command_line(const IptCommand& cmd);

}  // namespace netlab::rules

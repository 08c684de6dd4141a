// iptables command lines as the article writes them, parsed into data (netutil/ruleset.h), applied to
// an in-memory Ruleset, and rendered back the way `iptables -S` prints them. Pure: no kernel access.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "netutil/ruleset.h"

namespace netlab::steps {

struct IptCommand {
    std::string table = "filter";  // -t / --table
    char op = 0;        // 'A' append, 'I' insert, 'D' delete, 'N' new chain, 'X' delete chain,
                        // 'F' flush, 'P' policy
    std::string chain;
    int position = 0;   // -I CHAIN N / -D CHAIN N (1-based); 0 = not given
    net::IptRule rule;  // for A, I, D (D by specification when position == 0)
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

// Splits a command line into words like a POSIX shell would for plain words, '...' and "..." quotes
// and backslash-newline continuations. Throws UsageError on an unterminated quote.
std::vector<std::string> split_words(std::string_view line);

// Applies the command to the ruleset as iptables would, creating builtin chains on first use.
// Throws Error with iptables' own wording, e.g. "iptables -t nat -D DUSTIN-SERVICES ...: Bad rule
// (does a matching rule exist in that chain?)", "Chain already exists", "No chain/target/match by
// that name".
void apply_command(net::Ruleset& rs, const IptCommand& cmd);

// One rule as `iptables -S` prints it: "-A DUSTIN-SERVICES -d 10.100.100.100/32 -p tcp -m tcp
// --dport 8080 -j DUSTIN-SVC-HTTP".
std::string render_rule(const std::string& chain, const net::IptRule& r);
// A whole table as `iptables-nft -t TABLE -S` prints it (all -P lines, -N lines, -A lines).
std::string render_table(const net::IptTable& t);
// The table named `table` from rs (or an empty one), rendered as above.
std::string render_table(const net::Ruleset& rs, const std::string& table);

// A canonical form for comparisons: tables by name, builtin chains in hook order, user chains by
// name, empty tables dropped.
net::Ruleset normalized(const net::Ruleset& rs);

// The command as a shell line, e.g. "iptables -t nat -A OUTPUT -j DUSTIN-SERVICES".
std::string to_command_line(const IptCommand& cmd);

}  // namespace netlab::steps

// The pieces of `iptables -L -n -v` as iptables-nft 1.8.9 prints them: numeric protocols,
// "tcp dpt:8080", "statistic mode random probability 0.50000000000", "to:10.0.0.11:8080", counters
// as "100K". views/rules_view.h puts them together with the kernel's counters. Pure.
#pragma once

#include <cstdint>
#include <string>

#include "rules/ruleset.h"

namespace netlab::rules {

// "Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)" or "Chain X (2 references)", with its newline.
std::string listing_chain_header(const std::string& name, bool builtin, const std::string& policy, int references);
// The column titles under each chain header, with its newline.
std::string listing_columns();
// The two counter cells a row starts with.
std::string listing_counters(uint64_t packets, uint64_t bytes);
// The rest of a rule's row (target, prot, opt, in, out, source, destination, matches), no newline.
std::string listing_rule(const IptRule& r);

// A counter as iptables prints it without -x: "99999", "100K", "12M" (xtables_print_num).
std::string count_text(uint64_t n);

}  // namespace netlab::rules

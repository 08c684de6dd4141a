// Programs and reads iptables-style rules through libnftnl + libmnl, in the exact layout
// iptables-nft 1.8.9 uses (shared notes "netlink-facts" sections 1 and 2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rules/ruleset.h"

namespace netlab::net {

// Replaces the IPv4 tables named in `owned` (e.g. {"nat","filter"}) inside `netns` with their
// contents in `rs`, in ONE atomic netlink batch: chains whose rules are already exactly these stay
// untouched, other chains are flushed and filled again, chains not in `rs` are deleted, new ones
// made. A table in `owned` that is absent from `rs` (or has no chains) is deleted. On any error nothing
// changes and Error names the failing message ("program rules in netns netlab: ... (rule 3 of
// chain DUSTIN-SVC-HTTP): Invalid argument").
void nft_replace(const std::string& netns, const rules::Ruleset& rs, const std::vector<std::string>& owned);

struct RuleCounters {
    uint64_t packets = 0;
    uint64_t bytes = 0;
};

struct DumpedRule {
    rules::IptRule rule;
    RuleCounters counters;
    bool decoded = true;  // false: layout not recognised; `raw` then holds nftnl's text of it
    std::string raw;
};
struct DumpedChain {
    std::string name;
    bool builtin = false;
    std::string policy;
    std::vector<DumpedRule> rules;
};
struct DumpedTable {
    std::string name;
    std::vector<DumpedChain> chains;  // in a stable order: builtin chains in hook order, then user chains by name
};

// Closes the netfilter socket netlab keeps open in `netns` (see SocketCache in nft.cpp), so that
// it no longer holds the namespace alive. netns_delete() calls it.
void nft_forget_netns(const std::string& netns);

// Reads the IPv4 tables `tables` back from the kernel inside `netns` (absent tables are omitted).
std::vector<DumpedTable> nft_dump(const std::string& netns, const std::vector<std::string>& tables);

// The dump as a Ruleset (counters dropped; undecodable rules kept with target "?raw").
rules::Ruleset to_ruleset(const std::vector<DumpedTable>& dump);

}  // namespace netlab::net

// Reading iptables-style rules back from the kernel: the IPv4 nat/filter tables of a namespace,
// each rule decoded into the rule model with its counters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rules/ruleset.h"

namespace netlab::net {

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

// Reads the IPv4 tables `tables` back from the kernel inside `netns` (absent tables are omitted),
// consistently: a dump that a concurrent change interrupted is read again. Throws
// Error("read rules in netns X: ...").
std::vector<DumpedTable> nft_dump(const std::string& netns, const std::vector<std::string>& tables);

// The dump as a rules::Ruleset (counters dropped; undecodable rules kept with target "?raw").
rules::Ruleset to_ruleset(const std::vector<DumpedTable>& dump);

}  // namespace netlab::net

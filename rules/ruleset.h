// iptables rules as plain data: what the rules step builds and netutil/nft programs into the kernel
// in iptables-nft's own layout (so `iptables-nft -S` lists them), and what a dump decodes back into.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace netlab::rules {

struct IptRule {
    // Matches; empty / nullopt = absent. Addresses are canonical CIDR ("10.0.0.0/24", "10.100.100.100/32").
    std::string src;
    std::string dst;
    std::string in_iface;   // -i; a trailing '+' is a wildcard
    std::string out_iface;  // -o
    std::string proto;      // "tcp" or "udp" (-p)
    bool match_proto = false;  // "-m tcp" / "-m udp" given
    std::optional<uint16_t> sport;
    std::optional<uint16_t> dport;
    std::optional<double> probability;  // -m statistic --mode random --probability P
    std::string comment;                // -m comment --comment
    // Target: "ACCEPT", "DROP", "RETURN", "MASQUERADE", "DNAT", or a user chain name (jump).
    std::string target;
    bool goto_chain = false;     // -g instead of -j
    std::string to_destination;  // DNAT: "10.0.0.11:8080" or "10.0.0.11"
    bool operator==(const IptRule&) const = default;
};

struct IptChain {
    std::string name;
    bool builtin = false;          // PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING
    std::string policy = "ACCEPT"; // builtin chains only
    std::vector<IptRule> rules;
    bool operator==(const IptChain&) const = default;
};

struct IptTable {
    std::string name;  // "nat" or "filter"
    std::vector<IptChain> chains;  // builtin chains only when they exist in the kernel/model
    bool operator==(const IptTable&) const = default;
};

struct Ruleset {
    std::vector<IptTable> tables;
    bool operator==(const Ruleset&) const = default;
};

// The table or chain of that name; nullptr when there is none.
IptTable* find_table(Ruleset& rs, const std::string& name);
const IptTable* find_table(const Ruleset& rs, const std::string& name);
IptChain* find_chain(IptTable& t, const std::string& name);
const IptChain* find_chain(const IptTable& t, const std::string& name);
// The number of rules in every chain of every table.
size_t rule_count(const Ruleset& rs);

}  // namespace netlab::rules

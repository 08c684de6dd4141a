// What iptables-nft fixes for netlab's tables, written once: which tables netlab programs, the
// built-in (base) chains of each with their netfilter hook, priority and default policy, and which
// targets are verdicts or extensions rather than chains. Pure data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace netlab::rules {

// The IPv4 tables netlab programs and reads, in the order they are shown: {"nat", "filter"}.
const std::vector<std::string>& tables();
bool is_table(const std::string& table);

// A built-in chain as iptables-nft makes it (`nft list table ip nat`: type nat hook prerouting
// priority dstnat policy accept). Chains of another layout make `iptables-nft -S` complain.
struct BuiltinChain {
    const char* table;
    const char* name;
    uint32_t hook;     // NF_INET_PRE_ROUTING ... (linux/netfilter.h)
    int32_t priority;  // NF_IP_PRI_NAT_DST (-100), NF_IP_PRI_NAT_SRC (100), NF_IP_PRI_FILTER (0)
    const char* policy;  // the policy of a chain made on first use: "ACCEPT"
};

// Every built-in chain of every table, each table's in hook order (the order `-S` and `-L` print them).
const std::vector<BuiltinChain>& builtin_chains();
// The names of `table`'s built-in chains in hook order; empty for a table netlab does not know.
std::vector<std::string> builtin_chain_names(const std::string& table);
// The built-in chain `name` of `table`, nullptr when it is not one.
const BuiltinChain* find_builtin(const std::string& table, const std::string& name);
bool is_builtin(const std::string& table, const std::string& name);
// Position of a built-in chain in its table's hook order; -1 for anything else.
int builtin_index(const std::string& table, const std::string& name);

// Targets that are not chains: verdicts, the extensions netlab programs, and "no target".
bool is_verdict(const std::string& target);    // ACCEPT, DROP, RETURN
bool is_xt_target(const std::string& target);  // DNAT, MASQUERADE (nat table only)
bool is_non_chain_target(const std::string& target);
// Extension targets iptables knows but netlab does not program (a chain can't have these names).
bool is_unsupported_extension_target(const std::string& target);

}  // namespace netlab::rules

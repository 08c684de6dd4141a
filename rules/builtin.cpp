#include "rules/builtin.h"

#include <linux/netfilter.h>

#include <algorithm>

namespace netlab::rules {

const std::vector<std::string>& tables() {
    static const std::vector<std::string> names = {"nat", "filter"};
    return names;
}

bool is_table(const std::string& table) {
    const auto& t = tables();
    return std::find(t.begin(), t.end(), table) != t.end();
}

const std::vector<BuiltinChain>& builtin_chains() {
    static const std::vector<BuiltinChain> chains = {
        {"nat", "PREROUTING", NF_INET_PRE_ROUTING, -100, "ACCEPT"},
        {"nat", "INPUT", NF_INET_LOCAL_IN, 100, "ACCEPT"},
        {"nat", "OUTPUT", NF_INET_LOCAL_OUT, -100, "ACCEPT"},
        {"nat", "POSTROUTING", NF_INET_POST_ROUTING, 100, "ACCEPT"},
        {"filter", "INPUT", NF_INET_LOCAL_IN, 0, "ACCEPT"},
        {"filter", "FORWARD", NF_INET_FORWARD, 0, "ACCEPT"},
        {"filter", "OUTPUT", NF_INET_LOCAL_OUT, 0, "ACCEPT"},
    };
    return chains;
}

std::vector<std::string> builtin_chain_names(const std::string& table) {
    std::vector<std::string> out;
    for (const auto& b : builtin_chains())
        if (table == b.table) out.push_back(b.name);
    return out;
}

const BuiltinChain* find_builtin(const std::string& table, const std::string& name) {
    for (const auto& b : builtin_chains())
        if (table == b.table && name == b.name) return &b;
    return nullptr;
}

bool is_builtin(const std::string& table, const std::string& name) { return find_builtin(table, name) != nullptr; }

int builtin_index(const std::string& table, const std::string& name) {
    int i = 0;
    for (const auto& b : builtin_chains()) {
        if (table != b.table) continue;
        if (name == b.name) return i;
        ++i;
    }
    return -1;
}

bool is_verdict(const std::string& t) { return t == "ACCEPT" || t == "DROP" || t == "RETURN"; }
bool is_xt_target(const std::string& t) { return t == "DNAT" || t == "MASQUERADE"; }
bool is_non_chain_target(const std::string& t) { return t.empty() || is_verdict(t) || is_xt_target(t); }

bool is_unsupported_extension_target(const std::string& t) {
    static const char* const names[] = {
        "AUDIT", "CHECKSUM", "CLASSIFY", "CLUSTERIP", "CONNMARK", "CONNSECMARK", "CT", "DSCP", "ECN",
        "HMARK", "IDLETIMER", "LED", "LOG", "MARK", "NETMAP", "NFLOG", "NFQUEUE", "NOTRACK", "QUEUE",
        "RATEEST", "REDIRECT", "REJECT", "SECMARK", "SET", "SNAT", "SYNPROXY", "TCPMSS", "TCPOPTSTRIP",
        "TEE", "TOS", "TPROXY", "TRACE", "TTL", "ULOG"};
    for (const char* n : names)
        if (t == n) return true;
    return false;
}

}  // namespace netlab::rules

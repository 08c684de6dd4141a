// The iptables-nft facts rules/builtin.h holds once. Expected values recorded from iptables-nft 1.8.9
// in a scratch namespace: after `iptables-nft -t nat -P C ACCEPT` for each chain, `nft list ruleset`
// shows "type nat hook prerouting priority dstnat" (-100), "hook input priority 100", "hook output
// priority -100", "hook postrouting priority srcnat" (100), each "policy accept"; the filter chains
// have "priority filter" (0); `iptables -S` lists them in hook order.
#include <doctest/doctest.h>

#include <linux/netfilter.h>

#include <string>
#include <vector>

#include "rules/builtin.h"
#include "rules/render.h"

using namespace netlab::rules;

TEST_CASE("builtin: the tables netlab programs") {
    CHECK(tables() == std::vector<std::string>{"nat", "filter"});
    CHECK(is_table("nat"));
    CHECK(is_table("filter"));
    CHECK_FALSE(is_table("mangle"));
    CHECK_FALSE(is_table("raw"));
    CHECK_FALSE(is_table(""));
}

TEST_CASE("builtin: each table's chains in hook order, with iptables-nft's hooks and priorities") {
    CHECK(builtin_chain_names("nat") == std::vector<std::string>{"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"});
    CHECK(builtin_chain_names("filter") == std::vector<std::string>{"INPUT", "FORWARD", "OUTPUT"});
    CHECK(builtin_chain_names("mangle").empty());

    struct Want {
        const char* table;
        const char* name;
        uint32_t hook;
        int32_t priority;
    };
    const Want want[] = {
        {"nat", "PREROUTING", NF_INET_PRE_ROUTING, -100}, {"nat", "INPUT", NF_INET_LOCAL_IN, 100},
        {"nat", "OUTPUT", NF_INET_LOCAL_OUT, -100},       {"nat", "POSTROUTING", NF_INET_POST_ROUTING, 100},
        {"filter", "INPUT", NF_INET_LOCAL_IN, 0},         {"filter", "FORWARD", NF_INET_FORWARD, 0},
        {"filter", "OUTPUT", NF_INET_LOCAL_OUT, 0},
    };
    REQUIRE(builtin_chains().size() == sizeof want / sizeof *want);
    for (const auto& w : want) {
        CAPTURE(std::string(w.table) + " " + w.name);
        const BuiltinChain* b = find_builtin(w.table, w.name);
        REQUIRE(b != nullptr);
        CHECK(b->hook == w.hook);
        CHECK(b->priority == w.priority);
        CHECK(std::string(b->policy) == "ACCEPT");
        CHECK(is_builtin(w.table, w.name));
    }
    CHECK_FALSE(is_builtin("filter", "PREROUTING"));
    CHECK_FALSE(is_builtin("nat", "FORWARD"));
    CHECK_FALSE(is_builtin("nat", "DUSTIN-SERVICES"));
    CHECK(find_builtin("mangle", "PREROUTING") == nullptr);
    CHECK(builtin_index("nat", "PREROUTING") == 0);
    CHECK(builtin_index("nat", "POSTROUTING") == 3);
    CHECK(builtin_index("filter", "FORWARD") == 1);
    CHECK(builtin_index("filter", "POSTROUTING") == -1);
}

TEST_CASE("builtin: an empty table renders every builtin chain's policy, as iptables-nft -S does") {
    CHECK(render_table(IptTable{"nat", {}}) ==
          "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n");
    CHECK(render_table(IptTable{"filter", {}}) == "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n");
}

TEST_CASE("builtin: verdicts and extension targets are not chains") {
    for (const char* t : {"ACCEPT", "DROP", "RETURN"}) {
        CHECK(is_verdict(t));
        CHECK(is_non_chain_target(t));
    }
    CHECK(is_xt_target("DNAT"));
    CHECK(is_xt_target("MASQUERADE"));
    CHECK(is_non_chain_target(""));
    CHECK_FALSE(is_non_chain_target("DUSTIN-SVC-HTTP"));
    CHECK(is_unsupported_extension_target("SNAT"));
    CHECK(is_unsupported_extension_target("LOG"));
    CHECK_FALSE(is_unsupported_extension_target("DNAT"));
    CHECK_FALSE(is_unsupported_extension_target("KUBE-SERVICES"));
}

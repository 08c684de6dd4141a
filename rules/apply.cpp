// iptables' semantics on an in-memory Ruleset (what the kernel would hold after the command, or
// iptables' own error), and the canonical form rulesets are compared in. Pure.
#include "rules/apply.h"

#include <algorithm>

#include "base/error.h"
#include "rules/builtin.h"
#include "rules/probability.h"
#include "rules/render.h"

namespace netlab::rules {

namespace {

// Creates a builtin chain on first use, as iptables-nft does (policy ACCEPT).
IptChain& ensure_builtin(IptTable& t, const std::string& name) {
    if (auto* ch = find_chain(t, name)) return *ch;
    IptChain ch;
    ch.name = name;
    ch.builtin = true;
    ch.policy = find_builtin(t.name, name)->policy;
    t.chains.push_back(ch);
    return t.chains.back();
}

int references_to(const IptTable& t, const std::string& chain) {
    int n = 0;
    for (const auto& ch : t.chains) {
        for (const auto& r : ch.rules)
            if (r.target == chain && !is_non_chain_target(r.target)) ++n;
    }
    return n;
}

[[noreturn]] void fail_at(const std::string& where, const std::string& reason, const std::string& hint = {}) {
    throw Error(where + ": " + reason, hint);
}

}  // namespace

void apply_command(Ruleset& rs, const IptCommand& cmd) {
    const std::string where = to_command_line(cmd);
    auto fail = [&](const std::string& reason, const std::string& hint = {}) { fail_at(where, reason, hint); };
    if (!is_table(cmd.table))
        throw UsageError(where + ": unsupported iptables table '" + cmd.table + "'");

    IptTable* existing = find_table(rs, cmd.table);
    IptTable scratch{cmd.table, {}};
    IptTable& t = existing ? *existing : scratch;  // materialised below only when something is created
    auto commit_table = [&]() -> IptTable& {
        if (existing) return *existing;
        rs.tables.push_back(scratch);
        existing = &rs.tables.back();
        return *existing;
    };

    const bool builtin = is_builtin(cmd.table, cmd.chain);
    IptChain* chain = cmd.chain.empty() ? nullptr : find_chain(t, cmd.chain);

    switch (cmd.op) {
        case 'A':
        case 'I': {
            const IptRule& r = cmd.rule;
            if (!is_non_chain_target(r.target)) {
                IptChain* target = find_chain(t, r.target);
                if (is_builtin(cmd.table, r.target)) {
                    if (!target) fail("Chain '" + r.target + "' does not exist");
                    fail("Operation not supported (a rule cannot jump to the builtin chain " + r.target + ")");
                }
                if (!target)
                    fail("Chain '" + r.target + "' does not exist",
                         "create it first: iptables -t " + cmd.table + " -N " + r.target);
            } else if (r.goto_chain) {
                fail("goto '" + r.target + "' is not a chain");
            }
            if (!chain && !builtin) fail("No chain/target/match by that name");
            size_t size = chain ? chain->rules.size() : 0;
            size_t pos = cmd.op == 'A' ? size : static_cast<size_t>(cmd.position == 0 ? 1 : cmd.position) - 1;
            if (cmd.op == 'I' && (cmd.position < 0 || pos > size)) fail("Index of insertion too big");
            IptTable& tt = commit_table();
            IptChain& ch = builtin ? ensure_builtin(tt, cmd.chain) : *find_chain(tt, cmd.chain);
            ch.rules.insert(ch.rules.begin() + static_cast<long>(pos), r);
            return;
        }
        case 'D': {
            if (!chain && !builtin) fail("No chain/target/match by that name");
            if (cmd.position > 0) {
                if (!chain || static_cast<size_t>(cmd.position) > chain->rules.size())
                    fail("Index of deletion too big");
                chain->rules.erase(chain->rules.begin() + (cmd.position - 1));
                return;
            }
            if (chain) {
                const IptRule want = canonical_rule(cmd.rule);
                for (auto it = chain->rules.begin(); it != chain->rules.end(); ++it) {
                    if (canonical_rule(*it) == want) {
                        chain->rules.erase(it);
                        return;
                    }
                }
            }
            fail("Bad rule (does a matching rule exist in that chain?)");
            return;
        }
        case 'N': {
            if (chain || builtin) fail("Chain already exists");
            IptChain ch;
            ch.name = cmd.chain;
            commit_table().chains.push_back(ch);
            return;
        }
        case 'X': {
            std::vector<std::string> victims;
            if (!cmd.chain.empty()) {
                if (builtin)
                    fail("CHAIN_DEL failed (Device or resource busy): chain " + cmd.chain,
                         "builtin chains cannot be deleted");
                if (!chain) fail("No chain/target/match by that name");
                victims.push_back(cmd.chain);
            } else {
                for (const auto& ch : t.chains)
                    if (!ch.builtin) victims.push_back(ch.name);
                std::sort(victims.begin(), victims.end());
            }
            for (const auto& v : victims) {
                const IptChain* ch = find_chain(t, v);
                if (!ch->rules.empty())
                    fail("CHAIN_DEL failed (Device or resource busy): chain " + v,
                         "chain " + v + " still has " + std::to_string(ch->rules.size()) +
                             " rule(s); flush it first with -F " + v);
                if (int refs = references_to(t, v); refs > 0)
                    fail("CHAIN_DEL failed (Device or resource busy): chain " + v,
                         "chain " + v + " is the target of " + std::to_string(refs) + " rule(s)");
            }
            if (!existing) return;
            auto& chains = existing->chains;
            chains.erase(std::remove_if(chains.begin(), chains.end(),
                                        [&](const IptChain& ch) {
                                            return std::find(victims.begin(), victims.end(), ch.name) !=
                                                   victims.end();
                                        }),
                         chains.end());
            return;
        }
        case 'F': {
            if (!cmd.chain.empty()) {
                if (!chain) {
                    if (builtin) return;  // a builtin chain that does not exist yet is empty
                    fail("No chain/target/match by that name");
                }
                chain->rules.clear();
                return;
            }
            if (existing)
                for (auto& ch : existing->chains) ch.rules.clear();
            return;
        }
        case 'P': {
            if (!builtin) fail("Bad built-in chain name");
            if (cmd.policy != "ACCEPT" && cmd.policy != "DROP") fail("Bad policy name");
            if (cmd.table == "nat" && cmd.policy == "DROP")
                fail("The \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.");
            ensure_builtin(commit_table(), cmd.chain).policy = cmd.policy;
            return;
        }
        default:
            throw UsageError(where + ": unknown iptables command '" + std::string(1, cmd.op) + "'");
    }
}

IptRule canonical_rule(IptRule r) {
    if (r.probability) r.probability = quantize_probability(*r.probability);
    if (r.sport || r.dport) r.match_proto = true;
    return r;
}

Ruleset normalized(const Ruleset& rs) {
    Ruleset out;
    for (const auto& t : rs.tables) {
        if (t.chains.empty()) continue;
        IptTable nt{t.name, {}};
        std::vector<IptChain> builtin, user;
        for (const auto& ch : t.chains) {
            IptChain c = ch;
            for (auto& r : c.rules) r = canonical_rule(r);
            (c.builtin ? builtin : user).push_back(std::move(c));
        }
        std::stable_sort(builtin.begin(), builtin.end(), [&](const IptChain& a, const IptChain& b) {
            return builtin_index(t.name, a.name) < builtin_index(t.name, b.name);
        });
        std::stable_sort(user.begin(), user.end(),
                         [](const IptChain& a, const IptChain& b) { return a.name < b.name; });
        for (auto& c : builtin) nt.chains.push_back(std::move(c));
        for (auto& c : user) nt.chains.push_back(std::move(c));
        out.tables.push_back(std::move(nt));
    }
    std::stable_sort(out.tables.begin(), out.tables.end(),
                     [](const IptTable& a, const IptTable& b) { return a.name < b.name; });
    return out;
}

}  // namespace netlab::rules

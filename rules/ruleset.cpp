#include "rules/ruleset.h"

#include <utility>

namespace netlab::rules {

namespace {

template <class Set, class Table = decltype(&std::declval<Set&>().tables[0])>
Table find_in(Set& rs, const std::string& name) {
    for (auto& t : rs.tables)
        if (t.name == name) return &t;
    return nullptr;
}

template <class Table, class Chain = decltype(&std::declval<Table&>().chains[0])>
Chain chain_in(Table& t, const std::string& name) {
    for (auto& c : t.chains)
        if (c.name == name) return &c;
    return nullptr;
}

}  // namespace

IptTable* find_table(Ruleset& rs, const std::string& name) { return find_in(rs, name); }
const IptTable* find_table(const Ruleset& rs, const std::string& name) { return find_in(rs, name); }
IptChain* find_chain(IptTable& t, const std::string& name) { return chain_in(t, name); }
const IptChain* find_chain(const IptTable& t, const std::string& name) { return chain_in(t, name); }

size_t rule_count(const Ruleset& rs) {
    size_t n = 0;
    for (const auto& t : rs.tables)
        for (const auto& c : t.chains) n += c.rules.size();
    return n;
}

}  // namespace netlab::rules

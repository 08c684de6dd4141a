// `netlab rules`: the lab host's tables as `iptables -L -n -v` lists them (iptables-nft 1.8.9's columns
// and wording: numeric protocols, "tcp dpt:8080", "statistic mode random probability 0.50000000000",
// "to:10.0.0.11:8080"), with the kernel's per-rule counters; and --watch, which redraws every second and
// marks the rules whose counters moved. Rendering is pure (it works on nft_dump's data); watch_rules()
// reads the kernel.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "netutil/nft.h"

namespace netlab::views {

// Each rule's counters, keyed by table, chain and the rule itself (as `iptables -S` writes it), so
// that a rule keeps its key when rules are inserted before it.
using CounterSnapshot = std::map<std::string, net::RuleCounters>;
CounterSnapshot counters_of(const std::vector<net::DumpedTable>& tables);

struct ListingStyle {
    const CounterSnapshot* previous = nullptr;  // mark the rules whose packet counter moved since these
    bool color = false;                         // and highlight them with ANSI escapes (a terminal)
};

// `iptables -t T -L -n -v` for one table: every builtin chain of the table (absent ones with policy
// ACCEPT, as iptables-nft shows them), then the user chains by name. With style.previous, a rule whose
// packet counter moved ends with "  <- +N packets".
std::string render_listing(const net::DumpedTable& t, const ListingStyle& style = {});

// Several tables: one listing alone, else each after a "# iptables -t T -L -n -v" line.
// `tables` names what to show; a table missing from `dump` is shown empty.
std::string render_listings(const std::vector<net::DumpedTable>& dump, const std::vector<std::string>& tables,
                            const ListingStyle& style = {});

// One rule's row, counters included, as iptables prints it (the cells come from rules/listing.h).
std::string render_row(const net::DumpedRule& r);

struct WatchOptions {
    std::vector<std::string> tables = {"nat"};
    int seconds = 600;      // stop after this long
    bool terminal = false;  // redraw in place with highlights; else successive plain snapshots
};

// Reads `tables` in netns `real_ns` every second and prints them until Ctrl-C or o.seconds pass.
void watch_rules(const std::string& real_ns, const WatchOptions& o, std::ostream& out);

}  // namespace netlab::views

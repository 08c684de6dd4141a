// `netlab rules`: iptables -L -n -v from nft_dump's data, and the --watch loop.
#include "views/rules_view.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <thread>

#include "rules/builtin.h"
#include "rules/listing.h"
#include "rules/render.h"

namespace netlab::views {

namespace {

int references_to(const net::DumpedTable& t, const std::string& chain) {
    int n = 0;
    for (const auto& c : t.chains)
        for (const auto& r : c.rules)
            if (r.decoded && r.rule.target == chain) ++n;
    return n;
}

// The chains in iptables' listing order; builtin chains the kernel does not have are shown empty.
std::vector<net::DumpedChain> listing_order(const net::DumpedTable& t) {
    std::vector<net::DumpedChain> out;
    for (const auto& name : rules::builtin_chain_names(t.name)) {
        auto it = std::find_if(t.chains.begin(), t.chains.end(), [&](const auto& c) { return c.name == name; });
        out.push_back(it != t.chains.end() ? *it : net::DumpedChain{name, true, rules::find_builtin(t.name, name)->policy, {}});
    }
    std::vector<net::DumpedChain> user;
    for (const auto& c : t.chains)
        if (!c.builtin) user.push_back(c);
    std::sort(user.begin(), user.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    out.insert(out.end(), user.begin(), user.end());
    return out;
}

// Key of a rule for CounterSnapshot: table, chain, its -S form and which occurrence of that form it is.
std::string rule_key(const std::string& table, const std::string& chain, const net::DumpedRule& r, int occurrence) {
    std::string spec = r.decoded ? rules::render_rule(chain, r.rule) : chain + " " + r.raw;
    return table + "\n" + spec + "\n" + std::to_string(occurrence);
}

// The keys of a chain's rules, in order.
std::vector<std::string> chain_keys(const std::string& table, const net::DumpedChain& c) {
    std::vector<std::string> out;
    std::map<std::string, int> seen;
    for (const auto& r : c.rules) out.push_back(rule_key(table, c.name, r, seen[rule_key(table, c.name, r, 0)]++));
    return out;
}

std::string marked(const std::string& row, uint64_t delta, bool color) {
    std::string mark = "  <- +" + std::to_string(delta) + (delta == 1 ? " packet" : " packets");
    if (!color) return row + mark + "\n";
    return "\033[1;33m" + row + mark + "\033[0m\n";
}

}  // namespace

std::string render_row(const net::DumpedRule& r) {
    std::string s = rules::listing_counters(r.counters.packets, r.counters.bytes);
    if (!r.decoded) return s + "(a rule netlab cannot read: " + r.raw + ")";
    return s + rules::listing_rule(r.rule);
}

CounterSnapshot counters_of(const std::vector<net::DumpedTable>& tables) {
    CounterSnapshot out;
    for (const auto& t : tables)
        for (const auto& c : t.chains) {
            auto keys = chain_keys(t.name, c);
            for (size_t i = 0; i < keys.size(); ++i) out[keys[i]] = c.rules[i].counters;
        }
    return out;
}

namespace {

// A row, marked when its packet counter moved since style.previous.
std::string styled_row(const net::DumpedRule& r, const std::string& key, const ListingStyle& style) {
    std::string row = render_row(r);
    if (!style.previous) return row + "\n";
    auto prev = style.previous->find(key);
    if (prev == style.previous->end() || r.counters.packets <= prev->second.packets) return row + "\n";
    return marked(row, r.counters.packets - prev->second.packets, style.color);
}

}  // namespace

std::string render_listing(const net::DumpedTable& t, const ListingStyle& style) {
    std::string out;
    auto chains = listing_order(t);
    for (size_t i = 0; i < chains.size(); ++i) {
        const auto& c = chains[i];
        out += (i ? "\n" : "") + rules::listing_chain_header(c.name, c.builtin, c.policy, references_to(t, c.name)) +
               rules::listing_columns();
        auto keys = chain_keys(t.name, c);
        for (size_t j = 0; j < c.rules.size(); ++j) out += styled_row(c.rules[j], keys[j], style);
    }
    return out;
}

std::string render_listings(const std::vector<net::DumpedTable>& dump, const std::vector<std::string>& tables,
                            const ListingStyle& style) {
    std::string out;
    for (const auto& name : tables) {
        auto it = std::find_if(dump.begin(), dump.end(), [&](const auto& t) { return t.name == name; });
        net::DumpedTable t = it != dump.end() ? *it : net::DumpedTable{name, {}};
        if (tables.size() > 1) out += (out.empty() ? "" : "\n") + std::string("# iptables -t ") + name + " -L -n -v\n";
        out += render_listing(t, style);
    }
    return out;
}

// ---------------------------------------------------------------- --watch

namespace {

volatile sig_atomic_t g_stop = 0;

// SIGINT (Ctrl-C) ends the watch cleanly; the previous handler comes back afterwards.
class StopOnInterrupt {
public:
    StopOnInterrupt() {
        g_stop = 0;
        struct sigaction sa {};
        sa.sa_handler = [](int) { g_stop = 1; };
        sigemptyset(&sa.sa_mask);
        ::sigaction(SIGINT, &sa, &old_);
    }
    ~StopOnInterrupt() { ::sigaction(SIGINT, &old_, nullptr); }
    StopOnInterrupt(const StopOnInterrupt&) = delete;
    StopOnInterrupt& operator=(const StopOnInterrupt&) = delete;

private:
    struct sigaction old_ {};
};

std::string clock_text() {
    std::time_t now = std::time(nullptr);
    char buf[16];
    std::strftime(buf, sizeof buf, "%H:%M:%S", std::localtime(&now));
    return buf;
}

}  // namespace

void watch_rules(const std::string& real_ns, const WatchOptions& o, std::ostream& out) {
    StopOnInterrupt guard;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.seconds);
    CounterSnapshot prev;
    for (int n = 1; !g_stop; ++n) {
        auto dump = net::nft_dump(real_ns, o.tables);
        std::string title = "netns " + real_ns + " at " + clock_text() + ", every 1 s until Ctrl-C (at most " +
                            std::to_string(o.seconds) + " s); marked: counted since the last redraw";
        std::string body = render_listings(dump, o.tables, {n > 1 ? &prev : nullptr, o.terminal});
        if (o.terminal) out << "\033[H\033[2J" << title << "\n\n" << body;
        else out << (n > 1 ? "\n" : "") << "=== " << title << "\n" << body;
        out.flush();
        prev = counters_of(dump);
        auto next = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        if (next > deadline) break;
        while (!g_stop && std::chrono::steady_clock::now() < next) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (o.terminal) out << "\n";
}

}  // namespace netlab::views

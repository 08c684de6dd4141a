// `netlab rules`: iptables -L -n -v from nft_dump's data, and the --watch loop.
#include "views/rules_view.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <sstream>
#include <thread>

#include "steps/iptables.h"

namespace netlab::views {

namespace {

// The builtin chains iptables lists for a table, in its order, taken from the model's own `-S` form
// of an empty table ("-P PREROUTING ACCEPT", ...), so the list lives in one place.
std::vector<std::string> builtin_chains(const std::string& table) {
    std::vector<std::string> out;
    std::istringstream in(steps::render_table(net::IptTable{table, {}}));
    for (std::string w, name, policy; in >> w >> name >> policy;)
        if (w == "-P") out.push_back(name);
    return out;
}

std::string pad(const std::string& s, size_t width) { return s.size() >= width ? s : s + std::string(width - s.size(), ' '); }

// xtables_print_num with FMT_KILOMEGAGIGA, in the table: right-aligned in 5 columns, then a space.
std::string count_cell(uint64_t n) {
    std::string s = count_text(n);
    return std::string(s.size() < 5 ? 5 - s.size() : 0, ' ') + s + " ";
}

std::string proto_number(const std::string& proto) {
    if (proto == "tcp") return "6";
    if (proto == "udp") return "17";
    return proto.empty() ? "0" : proto;
}

// -n prints an address without "/32" and "0.0.0.0/0" for any.
std::string address_cell(const std::string& cidr) {
    if (cidr.empty()) return "0.0.0.0/0";
    if (cidr.ends_with("/32")) return cidr.substr(0, cidr.size() - 3);
    return cidr;
}

std::string matches(const net::IptRule& r) {
    std::string s;
    if (!r.proto.empty() && (r.match_proto || r.sport || r.dport)) {
        s += " " + r.proto;
        if (r.sport) s += " spt:" + std::to_string(*r.sport);
        if (r.dport) s += " dpt:" + std::to_string(*r.dport);
    }
    if (r.probability) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.11f", *r.probability);
        s += " statistic mode random probability " + std::string(buf);
    }
    if (!r.comment.empty()) s += " /* " + r.comment + " */";
    if (r.target == "DNAT" && !r.to_destination.empty()) s += " to:" + r.to_destination;
    return s;
}

const char* kColumns =
    " pkts bytes target     prot opt in     out     source               destination         \n";

std::string chain_header(const net::DumpedChain& c, int references) {
    if (c.builtin)
        return "Chain " + c.name + " (policy " + (c.policy.empty() ? "ACCEPT" : c.policy) + " 0 packets, 0 bytes)\n";
    return "Chain " + c.name + " (" + std::to_string(references) + " references)\n";
}

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
    for (const auto& name : builtin_chains(t.name)) {
        auto it = std::find_if(t.chains.begin(), t.chains.end(), [&](const auto& c) { return c.name == name; });
        out.push_back(it != t.chains.end() ? *it : net::DumpedChain{name, true, "ACCEPT", {}});
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
    std::string spec = r.decoded ? steps::render_rule(chain, r.rule) : chain + " " + r.raw;
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

std::string count_text(uint64_t n) {
    if (n <= 99999) return std::to_string(n);
    const char* units = "KMGT";
    for (int i = 0; i < 4; ++i) {
        n = (n + 500) / 1000;
        if (n <= 9999 || i == 3) return std::to_string(n) + units[i];
    }
    return std::to_string(n);
}

std::string render_row(const net::DumpedRule& r) {
    std::string s = count_cell(r.counters.packets) + count_cell(r.counters.bytes);
    if (!r.decoded) return s + "(a rule netlab cannot read: " + r.raw + ")";
    const net::IptRule& x = r.rule;
    s += pad(x.target, 9) + " " + " " + pad(proto_number(x.proto), 5) + "-- ";
    s += " " + pad(x.in_iface.empty() ? "*" : x.in_iface, 6) + " " + pad(x.out_iface.empty() ? "*" : x.out_iface, 6) + " ";
    s += " " + pad(address_cell(x.src), 19) + " " + " " + pad(address_cell(x.dst), 19) + " ";
    if (x.goto_chain) s += "[goto] ";
    return s + matches(x);
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
        out += (i ? "\n" : "") + chain_header(c, references_to(t, c.name)) + kColumns;
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

// graph, rules: looking at a running lab, read from the kernel.
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "cli/cli.h"
#include "base/error.h"
#include "lab/inventory.h"
#include "netutil/nft.h"
#include "rules/builtin.h"
#include "views/graph.h"
#include "views/rules_view.h"
#include "views/topology.h"

namespace netlab::cli {

namespace {

struct GraphArgs {
    std::string format;  // "" = text, or dot when --output ends in .dot or .svg
    std::string output;
};

// The format to draw in, from --format and the --output file's extension.
std::string graph_format(const GraphArgs& a) {
    bool svg = a.output.ends_with(".svg"), dot_file = a.output.ends_with(".dot") || a.output.ends_with(".gv");
    if (svg && a.format == "text")
        throw UsageError("graph --format text --output " + a.output + ": an .svg file is drawn from DOT",
                         "leave out --format, or use --format dot");
    if (!a.format.empty()) return a.format;
    return svg || dot_file ? "dot" : "text";
}

int graph(Invocation& g, const GraphArgs& a) {
    const std::string format = graph_format(a);
    need_root("graph");
    auto names = g.names();
    resolve_ns(names, "");  // the lab host, or a clear "the lab is not built"
    views::Topology topo = views::read_topology(names, lab::inventory_of(g.tut(), names));
    const std::string text = format == "dot" ? views::render_dot(topo) : views::render_text(topo);
    if (a.output.empty()) {
        std::cout << text;
    } else if (a.output.ends_with(".svg")) {
        views::write_svg(text, a.output);
        std::cout << "netlab: wrote " << a.output << "\n";
    } else {
        std::ofstream f(a.output);
        if (!(f << text) || !f.flush()) throw Error("write " + a.output + ": " + errno_text(errno));
        std::cout << "netlab: wrote " << a.output << "\n";
    }
    return 0;
}

struct RulesArgs {
    std::string table;  // "" = nat and filter
    bool watch = false;
    int seconds = 600;
};

int rules(Invocation& g, const RulesArgs& a) {
    need_root("rules");
    const std::string host = resolve_ns(g.names(), "");
    std::vector<std::string> tables = a.table.empty() ? rules::tables() : std::vector<std::string>{a.table};
    if (a.watch) {
        views::watch_rules(host, {tables, a.seconds, ::isatty(STDOUT_FILENO) == 1}, std::cout);
        return 0;
    }
    std::cout << views::render_listings(net::nft_dump(host, tables), tables);
    return 0;
}

}  // namespace

void add_view_commands(CommandTable& table) {
    auto ga = std::make_shared<GraphArgs>();
    table.push_back({"graph",
                     "the lab's topology as the kernel has it now: namespaces, links, bridge ports, addresses, "
                     "routes, pods, and the service with its endpoints",
                     {choice("--format", "text (a tree, the default) or dot (Graphviz)", &ga->format, {"text", "dot"}),
                      value(Kind::OutputFile, "--output",
                            "write to FILE instead of the terminal; FILE.svg is drawn with Graphviz's dot", &ga->output)},
                     [ga](Invocation& g) { return graph(g, *ga); }});

    auto ra = std::make_shared<RulesArgs>();
    table.push_back({"rules", "the lab host's rules as `iptables -L -n -v` lists them, with live counters",
                     {choice("--table", "nat or filter (default: both)", &ra->table, rules::tables()),
                      flag("--watch", "redraw every second, marking the rules whose counters moved (Ctrl-C stops)",
                           &ra->watch),
                      number(Kind::Seconds, "--seconds", "with --watch: stop after N seconds (default 600)",
                             &ra->seconds, 1, 86400)
                          .needs("--watch")},
                     [ra](Invocation& g) { return rules(g, *ra); }});
}

}  // namespace netlab::cli

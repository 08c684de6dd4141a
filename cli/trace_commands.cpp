// trace, conntrack: seeing the packet. The CLI parses; trace/ decides and acts.
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "base/error.h"
#include "lab/inventory.h"
#include "cli/cli.h"
#include "netutil/conntrack.h"
#include "pods/http_client.h"
#include "trace/report_text.h"
#include "trace/trace_json.h"
#include "trace/tracer.h"
#include "views/topology.h"

namespace netlab::cli {

namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop(int) { g_stop = 1; }

// Address -> the lab namespace holding it ("10.0.0.11" -> "netns_dustin").
std::map<std::string, std::string> address_owners(Invocation& g) {
    std::map<std::string, std::string> out;
    try {
        auto topo = views::read_topology(g.names(), lab::inventory_of(g.tut(), g.names()));
        for (auto& ns : topo.namespaces)
            for (auto& a : ns.addresses) out[a.cidr.substr(0, a.cidr.find('/'))] = ns.name;
    } catch (const Error&) {
    }
    return out;
}

int trace_cmd(Invocation& g, const std::string& in, bool json, const std::string& url_text) {
    need_root("trace");
    trace::TraceRequest req;
    req.url = pods::parse_url(url_text);
    req.names = g.names();
    req.lab_dir = g.lab_dir();
    req.self_exe = g.self_exe();
    req.client_ns = resolve_ns(g.names(), in);
    if (const char* d = std::getenv("NETLAB_TRACE_RECORD")) req.record_dir = d;  // test data recording
    bool interrupted = false;
    auto report = trace::run_trace(req, g.tut(), g.registry(), std::cerr, interrupted);
    if (interrupted) {
        std::cerr << "Interrupted; the trace tables are removed.\n";
        return 130;
    }
    if (json) std::cout << trace::report_to_json(report).dump(2) << "\n";
    else trace::print_report(std::cout, report);
    return report.answered ? 0 : 1;
}

int conntrack_cmd(Invocation& g, const std::string& in, bool json, bool watch, int seconds) {
    need_root("conntrack");
    std::string ns = resolve_ns(g.names(), in);
    auto owners = address_owners(g);
    if (!watch) {
        auto entries = net::conntrack_list(ns);
        if (json) {
            nlohmann::json a = nlohmann::json::array();
            for (auto& e : entries) {
                auto j = trace::conntrack_to_json(e);
                j["translation"] = trace::translation_text(e, owners);
                a.push_back(j);
            }
            std::cout << a.dump(2) << "\n";
        } else {
            trace::print_conntrack_table(std::cout, entries, owners);
        }
        return 0;
    }
    net::ConntrackWatcher w(ns, false);
    struct sigaction sa {}, old_int{}, old_term{};
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    g_stop = 0;
    if (!json)
        std::cerr << "watching new and destroyed connections in " << ns
                  << (seconds > 0 ? " for " + std::to_string(seconds) + " s" : std::string(" until Ctrl-C")) << "\n";
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!g_stop && (seconds <= 0 || std::chrono::steady_clock::now() < until)) {
        for (auto& ev : w.read(std::chrono::milliseconds(200))) {
            if (json) {
                auto j = trace::conntrack_to_json(ev.entry);
                j["event"] = net::event_type_name(ev.type);
                j["translation"] = trace::translation_text(ev.entry, owners);
                std::cout << j.dump() << std::endl;
            } else {
                std::cout << "[" << net::event_type_name(ev.type) << "] " << trace::conntrack_line(ev.entry, owners)
                          << std::endl;
            }
        }
    }
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    if (w.lost_events()) std::cerr << "warning: the kernel dropped conntrack events (socket buffer full)\n";
    return 0;
}

}  // namespace

void add_trace_commands(CommandTable& table) {
    struct TraceArgs {
        std::string in, url;
        bool json = false;
    };
    auto ta = std::make_shared<TraceArgs>();
    table.push_back({"trace",
                     "send one HTTP request and show its packets' path through the lab host's hooks and rules, its NAT "
                     "and conntrack entry",
                     {value(Kind::Namespace, "--in",
                            "namespace to send from (default: the lab host): netns_dustin, netns_leah, world", &ta->in),
                      flag("--json", "machine-readable output (see README)", &ta->json),
                      value(Kind::Url, "url", "e.g. 10.100.100.100:8080", &ta->url).required()},
                     [ta](Invocation& g) { return trace_cmd(g, ta->in, ta->json, ta->url); }});

    struct CtArgs {
        std::string in;
        bool json = false, watch = false;
        int seconds = 0;
    };
    auto ca = std::make_shared<CtArgs>();
    table.push_back({"conntrack", "list the lab host's connections and their NAT translation",
                     {value(Kind::Namespace, "--in", "namespace (default: the lab host)", &ca->in),
                      flag("--json", "machine-readable output (see README)", &ca->json),
                      flag("--watch", "stream new and destroyed connections until Ctrl-C or --seconds", &ca->watch),
                      number(Kind::Seconds, "--seconds", "with --watch: stop after N seconds", &ca->seconds, 1, 86400)
                          .needs("--watch")},
                     [ca](Invocation& g) { return conntrack_cmd(g, ca->in, ca->json, ca->watch, ca->seconds); }});
}

}  // namespace netlab::cli

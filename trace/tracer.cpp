#include "trace/tracer.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <csignal>
#include <fstream>
#include <random>

#include "base/error.h"
#include "base/unique_fd.h"
#include "lab/journal.h"
#include "lab/lock.h"
#include "netutil/conntrack.h"
#include "netutil/netns.h"
#include "netutil/nft.h"
#include "netutil/nft_trace.h"
#include "netutil/rtnl.h"
#include "lab/inventory.h"
#include "rules/render.h"
#include "trace/trace_json.h"
#include "trace/trace_tables.h"
#include "views/topology.h"

namespace netlab::trace {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_signal(int) { g_interrupted = 1; }

// While alive, Ctrl-C (and SIGTERM/SIGHUP) only set a flag: the trace stops and removes its tables.
class SignalGuard {
public:
    SignalGuard() {
        g_interrupted = 0;
        struct sigaction sa {};
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &sa, &old_[i]);
    }
    ~SignalGuard() {
        for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &old_[i], nullptr);
    }
    static bool hit() { return g_interrupted != 0; }

private:
    static constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGHUP};
    std::array<struct sigaction, 3> old_{};
};

// A port the client can bind in its namespace and that no conntrack entry of the lab host uses.
uint16_t pick_port(const std::string& client_ns, const std::vector<net::ConntrackEntry>& ct) {
    std::random_device rd;
    std::uniform_int_distribution<int> dist(20000, 29999);  // below the ephemeral range (32768-60999)
    net::NetnsGuard guard(client_ns);
    for (int attempt = 0; attempt < 50; ++attempt) {
        auto port = static_cast<uint16_t>(dist(rd));
        bool used = false;
        for (auto& e : ct) used = used || e.orig.sport == port || e.reply.dport == port;
        if (used) continue;
        UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        if (s && ::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return port;
    }
    throw Error("pick a source port in netns " + client_ns + ": 50 tries found none free");
}

std::vector<RuleText> rule_texts(const std::string& host, const std::vector<net::ChainInfo>& layout) {
    std::vector<RuleText> out;
    auto dump = net::nft_dump(host, {"nat", "filter"});
    for (auto& t : dump)
        for (auto& c : t.chains) {
            const net::ChainInfo* info = nullptr;
            for (auto& ci : layout)
                if (ci.family == 2 && ci.table == t.name && ci.name == c.name) info = &ci;
            if (!info || info->handles.size() != c.rules.size()) continue;  // changed in between
            for (size_t i = 0; i < c.rules.size(); ++i) {
                RuleText r;
                r.family = 2;
                r.table = t.name;
                r.chain = c.name;
                r.handle = info->handles[i];
                r.text = c.rules[i].decoded ? rules::render_rule(c.name, c.rules[i].rule) : c.rules[i].raw;
                out.push_back(std::move(r));
            }
        }
    return out;
}

void host_links(TraceInput& in, const lab::Tutorial& tut, const lab::LabNames& names) {
    net::Rtnl rt(in.host_ns);
    for (auto& l : rt.links()) in.ifnames[static_cast<uint32_t>(l.ifindex)] = l.name;
    views::Topology topo;
    try {
        topo = views::read_topology(names, lab::inventory_of(tut, names));
    } catch (const Error&) {
        return;
    }
    const views::NsView* host = topo.ns(in.host_ns);
    if (!host) return;
    for (auto& l : host->links) {
        if (l.master == 0) continue;
        BridgePort p;
        p.name = l.name;
        p.bridge = l.master_name;
        p.hairpin = l.hairpin;
        if (auto peer = topo.peer_of({in.host_ns, l.name}))
            if (const views::NsView* ns = topo.ns(peer->ns))
                for (auto& a : ns->addresses)
                    if (a.link == peer->link) p.addresses.push_back(a.cidr.substr(0, a.cidr.find('/')));
        in.ports.push_back(std::move(p));
    }
}

void write_file(const std::filesystem::path& f, const std::string& bytes) {
    std::ofstream o(f, std::ios::binary);
    o << bytes;
    if (!o) throw Error("write " + f.string() + ": failed");
}

}  // namespace

TraceReport run_trace(const TraceRequest& req, const lab::Tutorial& tut, const lab::Registry& reg, std::ostream& out,
                      bool& interrupted) {
    const std::string host = req.names.ns(lab::LabNames::kHost);
    if (!net::netns_exists(host))
        throw Error("trace in lab '" + req.names.lab + "': its lab host " + host + " does not exist",
                    "build the lab first: netlab run");
    lab::LabLock lock(req.lab_dir, out);
    SignalGuard signals;
    lab::Journal journal(req.lab_dir / "journal.toml");
    if (journal.steps().empty() || journal.steps().back().state != lab::StepState::Applied)
        throw Error("trace in lab '" + req.names.lab + "': " +
                        (journal.steps().empty() ? "no step is applied" : "its last step was interrupted"),
                    "run `netlab run` (or `netlab undo`) first");
    lab::Context ctx{req.names, &journal, journal.steps().back().id, &out, req.lab_dir, req.self_exe};
    remove_leftover_tables(ctx, reg);

    TraceInput in;
    in.host_ns = host;
    in.client_ns = req.client_ns;
    in.flow.daddr = req.url.host;
    in.flow.dport = req.url.port;
    std::string raw_events, raw_ct;
    const bool record = !req.record_dir.empty();

    auto before = net::conntrack_list(host);
    in.flow.sport = pick_port(req.client_ns, before);
    net::TraceListener listener(host);
    net::ConntrackWatcher watcher(host);
    std::vector<net::ConntrackEvent> ct_events;
    {
        TraceTables tables(ctx, host, in.flow);
        // The rules and chains as they are while the trace runs (netlab's own chains included).
        in.chains = net::nft_chain_layout(host);
        in.rules = rule_texts(host, in.chains);
        if (!SignalGuard::hit()) {
            pods::HttpResult r;
            {
                net::NetnsGuard guard(req.client_ns);
                r = pods::http_get(req.url.host, req.url.port, req.url.path, req.timeout, in.flow.sport);
            }
            in.answer = {r.ok, r.status, r.error, r.pod, r.pod_addr, r.client_addr, r.pod_port, r.client_port};
            // The last packets (the final ACK) are still on their way: read until 100 ms pass quietly.
            const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(800);
            for (;;) {
                auto ev = listener.read(std::chrono::milliseconds(100), record ? &raw_events : nullptr);
                auto ce = watcher.read(std::chrono::milliseconds(0), record ? &raw_ct : nullptr);
                ct_events.insert(ct_events.end(), ce.begin(), ce.end());
                in.events.insert(in.events.end(), ev.begin(), ev.end());
                if (ev.empty() || std::chrono::steady_clock::now() > until || SignalGuard::hit()) break;
            }
        }
        tables.remove();
    }
    interrupted = SignalGuard::hit();
    in.lost_events = listener.lost_events();
    auto ce = watcher.read(std::chrono::milliseconds(0), record ? &raw_ct : nullptr);
    ct_events.insert(ct_events.end(), ce.begin(), ce.end());
    for (auto& e : net::conntrack_list(host))
        if (e.orig.sport == in.flow.sport) in.conntrack.push_back(e);
    if (in.conntrack.empty())  // gone already (or destroyed): the last event says how it was
        for (auto& e : ct_events)
            if (e.entry.orig.sport == in.flow.sport) {
                in.conntrack.clear();
                in.conntrack.push_back(e.entry);
            }
    host_links(in, tut, req.names);

    if (record) {
        std::filesystem::create_directories(req.record_dir);
        write_file(req.record_dir / "trace-events.bin", raw_events);
        write_file(req.record_dir / "conntrack-events.bin", raw_ct);
        TraceInput copy = in;
        copy.events.clear();
        write_file(req.record_dir / "input.json", input_to_json(copy).dump(2) + "\n");
    }
    return build_report(std::move(in));
}

}  // namespace netlab::trace

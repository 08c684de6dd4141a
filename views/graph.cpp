// `netlab graph`: the text tree and the DOT renderers, and Graphviz for SVG.
#include "views/graph.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "base/error.h"
#include "base/unique_fd.h"

namespace netlab::views {

namespace {

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
    return out;
}

std::vector<const net::LinkInfo*> ports_of(const NsView& n, const net::LinkInfo& bridge) {
    std::vector<const net::LinkInfo*> out;
    for (const auto& l : n.links)
        if (l.master == bridge.ifindex && l.master_name == bridge.name) out.push_back(&l);
    return out;
}

std::string peer_text(const Topology& t, const NsView& n, const net::LinkInfo& l) {
    auto p = t.peer_of({n.name, l.name});
    if (!p) return "peer outside the lab";
    return "peer " + p->link + (p->ns == n.name ? "" : " in " + p->ns);
}

// "veth, up, hairpin on, 10.0.0.11/24, peer veth_ns_dustin in netns_dustin"
std::string link_details(const Topology& t, const NsView& n, const net::LinkInfo& l) {
    std::vector<std::string> parts;
    if (!l.kind.empty()) parts.push_back(l.kind);
    parts.push_back(l.up ? "up" : "down");
    if (l.kind == "bridge") parts.push_back(l.promisc ? "promisc on" : "promisc off");
    else if (l.promisc) parts.push_back("promisc on");
    if (l.master) parts.push_back(l.hairpin ? "hairpin on" : "hairpin off");
    for (const auto& a : n.addresses_of(l.name)) parts.push_back(a);
    if (l.kind == "veth") parts.push_back(peer_text(t, n, l));
    if (l.kind == "bridge" && ports_of(n, l).empty()) parts.push_back("no ports");
    return join(parts, ", ");
}

std::string route_text(const net::RouteInfo& r) {
    return r.dst + (r.gateway.empty() ? "" : " via " + r.gateway) + (r.dev.empty() ? "" : " dev " + r.dev);
}

std::string pod_text(const PodView& p) {
    return "pod " + p.name + " on port " + std::to_string(p.port) + (p.pid ? " (pid " + std::to_string(p.pid) + ")" : "");
}

std::string ns_title(const NsView& n) { return "netns " + n.name + (n.lab_host ? " (the lab host)" : ""); }

std::string service_title(const Service& s) {
    return "service " + s.address() + (s.proto.empty() ? "" : "/" + s.proto) + ": nat " + s.entry +
           (s.chain.empty() ? "" : " -> " + s.chain);
}

std::string odds_text(const Endpoint& e) {
    return (e.probability ? "probability " + probability_text(*e.probability) : std::string("unconditional")) + ", " +
           share_text(e.share) + " of new connections";
}

std::string backend_text(const Topology& t, const Service& s, const Endpoint& e) {
    if (e.target.empty()) return "no DNAT yet";
    auto b = backend_of(t, e.target, s.port);
    if (!b) return "no namespace of the lab has that address";
    if (b->pod.empty()) return "netns " + b->ns + " (no pod answers there)";
    return "pod " + b->pod + " in " + b->ns;
}

std::string endpoint_text(const Topology& t, const Service& s, const Endpoint& e) {
    return (e.chain.empty() ? "" : e.chain + ": ") + odds_text(e) + " -> " +
           (e.target.empty() ? "" : "DNAT " + e.target + " -> ") + backend_text(t, s, e);
}

// ---------------------------------------------------------------- text

struct Item {
    std::string text;
    std::vector<Item> children;
};

void draw(const std::vector<Item>& items, const std::string& prefix, std::string& out) {
    for (size_t i = 0; i < items.size(); ++i) {
        bool last = i + 1 == items.size();
        out += prefix + (last ? "\u2514\u2500\u2500 " : "\u251c\u2500\u2500 ") + items[i].text + "\n";
        draw(items[i].children, prefix + (last ? "    " : "\u2502   "), out);
    }
}

std::vector<Item> ns_items(const Topology& t, const NsView& n) {
    std::vector<Item> items;
    for (const auto& l : n.links) {
        if (l.master) continue;  // drawn under its bridge
        Item it{l.name + ": " + link_details(t, n, l), {}};
        if (l.kind == "bridge")
            for (const auto* p : ports_of(n, l)) it.children.push_back({"port " + p->name + ": " + link_details(t, n, *p), {}});
        items.push_back(std::move(it));
    }
    for (const auto& r : n.routes) items.push_back({route_text(r), {}});
    for (const auto& p : n.pods) items.push_back({pod_text(p), {}});
    return items;
}

std::vector<Item> service_items(const Topology& t, const Service& s) {
    std::vector<Item> items;
    for (const auto& e : s.endpoints) items.push_back({endpoint_text(t, s, e), {}});
    if (items.empty()) items.push_back({"no endpoint yet", {}});
    return items;
}

// ---------------------------------------------------------------- DOT

std::string q(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

// A label of several lines: each escaped, joined by DOT's \n.
std::string label(const std::vector<std::string>& lines) {
    std::string body = q(join(lines, "\x01"));
    std::string out;
    for (char c : body) out += c == '\x01' ? std::string("\\n") : std::string(1, c);
    return out;
}

std::string node_id(const std::string& ns, const std::string& link) { return q(ns + "/" + link); }
std::string pod_id(const std::string& ns, uint16_t port) { return q(ns + "/pod:" + std::to_string(port)); }
std::string svc_id(const Service& s) { return q("service/" + s.address() + "/" + s.proto); }
std::string sep_id(const Service& s, size_t i) { return q("service/" + s.address() + "/" + s.proto + "/" + std::to_string(i)); }

std::string dot_link(const Topology& t, const NsView& n, const net::LinkInfo& l) {
    std::vector<std::string> lines = {l.name};
    std::vector<std::string> parts;
    if (!l.kind.empty()) parts.push_back(l.kind);
    parts.push_back(l.up ? "up" : "down");
    if (l.kind == "bridge") parts.push_back(l.promisc ? "promisc on" : "promisc off");
    else if (l.promisc) parts.push_back("promisc on");
    if (l.master) parts.push_back(l.hairpin ? "hairpin on" : "hairpin off");
    lines.push_back(join(parts, ", "));
    for (const auto& a : n.addresses_of(l.name)) lines.push_back(a);
    if (l.kind == "veth" && !t.peer_of({n.name, l.name})) lines.push_back("peer outside the lab");
    return "    " + node_id(n.name, l.name) + " [label=" + label(lines) + (l.kind == "bridge" ? ", shape=box3d" : "") + "];\n";
}

std::string dot_services(const Topology& t, const std::string& host);

std::string dot_cluster(const Topology& t, const NsView& n) {
    std::vector<std::string> title = {ns_title(n)};
    for (const auto& r : n.routes) title.push_back(route_text(r));
    std::string out = "  subgraph " + q("cluster_" + n.name) + " {\n    label=" + label(title) + ";\n";
    for (const auto& l : n.links)
        if (l.name != "lo") out += dot_link(t, n, l);
    for (const auto& p : n.pods)
        out += "    " + pod_id(n.name, p.port) + " [label=" +
               label({"pod " + p.name, "port " + std::to_string(p.port) + (p.pid ? ", pid " + std::to_string(p.pid) : "")}) +
               ", shape=ellipse];\n";
    if (n.lab_host) out += dot_services(t, n.name);
    return out + "  }\n";
}

std::string dot_edges(const Topology& t) {
    std::string out;
    for (const auto& v : t.veths)
        out += "  " + node_id(v.a.ns, v.a.link) + " -> " + node_id(v.b.ns, v.b.link) + " [label=\"veth pair\", dir=none];\n";
    for (const auto& n : t.namespaces)
        for (const auto& l : n.links)
            if (l.master && !l.master_name.empty())
                out += "  " + node_id(n.name, l.master_name) + " -> " + node_id(n.name, l.name) +
                       " [label=" + q(l.hairpin ? "port, hairpin on" : "port") + ", dir=none, style=bold];\n";
    return out;
}

// Where an endpoint leads: the pod behind its address, else a node for the address itself.
std::string dot_backend(const Topology& t, const Service& s, const Endpoint& e, std::string& extra) {
    auto b = e.target.empty() ? std::nullopt : backend_of(t, e.target, s.port);
    if (b && !b->pod.empty()) {
        for (const auto& p : t.ns(b->ns)->pods)
            if (p.name == b->pod) return pod_id(b->ns, p.port);
    }
    std::string id = q("target/" + (e.target.empty() ? s.address() + "/none" : e.target));
    extra += "  " + id + " [label=" + label({e.target.empty() ? "no DNAT yet" : e.target, "no pod answers"}) +
             ", shape=ellipse, style=dashed];\n";
    return id;
}

std::string dot_services(const Topology& t, const std::string& host) {
    if (t.services.empty()) return {};
    std::string out = "    subgraph " + q("cluster_" + host + "/nat") + " {\n      label=\"nat rules\";\n      style=dashed;\n";
    for (const auto& s : t.services) {
        out += "      " + svc_id(s) + " [label=" +
               label({"service " + s.address() + (s.proto.empty() ? "" : "/" + s.proto), s.chain.empty() ? s.entry : s.chain}) +
               ", shape=hexagon];\n";
        for (size_t i = 0; i < s.endpoints.size(); ++i)
            if (!s.endpoints[i].chain.empty())
                out += "      " + sep_id(s, i) + " [label=" + label({s.endpoints[i].chain, "DNAT " + s.endpoints[i].target}) + "];\n";
    }
    return out + "    }\n";
}

std::string dot_service_edges(const Topology& t) {
    std::string out, extra;
    for (const auto& s : t.services)
        for (size_t i = 0; i < s.endpoints.size(); ++i) {
            const Endpoint& e = s.endpoints[i];
            std::string odds = (e.probability ? "p=" + probability_text(*e.probability) : std::string("always")) + " (" +
                               share_text(e.share) + ")";
            std::string backend = dot_backend(t, s, e, extra);
            if (e.chain.empty()) {
                out += "  " + svc_id(s) + " -> " + backend + " [label=" + q(odds + ", DNAT " + e.target) + "];\n";
                continue;
            }
            out += "  " + svc_id(s) + " -> " + sep_id(s, i) + " [label=" + q(odds) + "];\n";
            out += "  " + sep_id(s, i) + " -> " + backend + " [label=\"DNAT\"];\n";
        }
    return extra + out;
}

}  // namespace

std::string render_text(const Topology& t) {
    std::string out = "lab " + t.lab + ", as the kernel has it now\n";
    for (const auto& n : t.namespaces) {
        out += ns_title(n) + "\n";
        draw(ns_items(t, n), "", out);
    }
    if (!t.absent.empty()) out += "not made yet: " + join(t.absent, ", ") + "\n";
    const std::string host = t.namespaces.empty() ? std::string("the lab host") : t.namespaces.front().name;
    if (t.services.empty()) out += "no service yet: no nat rule in " + host + " leads a virtual IP to a DNAT\n";
    for (const auto& s : t.services) {
        out += service_title(s) + "\n";
        draw(service_items(t, s), "", out);
    }
    return out;
}

std::string render_dot(const Topology& t) {
    std::string out = "digraph " + q("netlab " + t.lab) + " {\n";
    out += "  graph [rankdir=LR, fontname=\"Helvetica\", labelloc=t, label=" +
           q("lab " + t.lab + (t.absent.empty() ? "" : " (not made yet: " + join(t.absent, ", ") + ")")) + "];\n";
    out += "  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n";
    out += "  edge [fontname=\"Helvetica\", fontsize=9];\n";
    for (const auto& n : t.namespaces) out += dot_cluster(t, n);
    out += dot_edges(t);
    out += dot_service_edges(t);
    return out + "}\n";
}

void write_svg(const std::string& dot_text, const std::filesystem::path& out) {
    const std::string what = "render " + out.string() + " with Graphviz";
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw Error(what + ": " + errno_text(errno));
    UniqueFd rd(p[0]), wr(p[1]);
    pid_t pid = ::fork();
    if (pid < 0) throw Error(what + ": " + errno_text(errno));
    if (pid == 0) {
        ::dup2(rd.get(), 0);
        std::string o = "-o" + out.string();
        ::execlp("dot", "dot", "-Tsvg", o.c_str(), static_cast<char*>(nullptr));
        ::_exit(errno == ENOENT ? 127 : 126);
    }
    rd.reset();
    ::signal(SIGPIPE, SIG_IGN);
    for (size_t done = 0; done < dot_text.size();) {
        ssize_t n = ::write(wr.get(), dot_text.data() + done, dot_text.size() - done);
        if (n <= 0) break;  // dot exited early: its status says why
        done += static_cast<size_t>(n);
    }
    wr.reset();
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            throw Error(what + ": dot did not finish within 60 s");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        throw Error(what + ": Graphviz's dot is not installed",
                    "install graphviz (apt-get install graphviz), or write DOT: netlab graph --format dot --output FILE.dot");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error(what + ": dot failed (see its message above)");
}

}  // namespace netlab::views

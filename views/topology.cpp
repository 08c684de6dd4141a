#include "views/topology.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>

#include "base/error.h"
#include "netutil/netns.h"
#include "netutil/nft.h"
#include "pods/http_client.h"
#include "steps/pod.h"

namespace netlab::views {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- the model

std::vector<std::string> NsView::addresses_of(const std::string& l) const {
    std::vector<std::string> out;
    for (const auto& a : addresses)
        if (a.link == l) out.push_back(a.cidr);
    return out;
}

const net::LinkInfo* NsView::link(const std::string& name) const {
    for (const auto& l : links)
        if (l.name == name) return &l;
    return nullptr;
}

const NsView* Topology::ns(const std::string& name) const {
    for (const auto& n : namespaces)
        if (n.name == name) return &n;
    return nullptr;
}

std::optional<LinkRef> Topology::peer_of(const LinkRef& end) const {
    for (const auto& p : veths) {
        if (p.a == end) return p.b;
        if (p.b == end) return p.a;
    }
    return std::nullopt;
}

namespace {

struct VethEnd {
    LinkRef ref;
    int ifindex = 0, peer = 0;
};

std::vector<VethEnd> veth_ends(const std::vector<NsView>& namespaces) {
    std::vector<VethEnd> out;
    for (const auto& n : namespaces)
        for (const auto& l : n.links) {
            auto it = n.iflink.find(l.ifindex);
            if (l.kind == "veth" && it != n.iflink.end()) out.push_back({{n.name, l.name}, l.ifindex, it->second});
        }
    return out;
}

}  // namespace

std::vector<VethPair> pair_veths(const std::vector<NsView>& namespaces) {
    auto ends = veth_ends(namespaces);
    auto names_other = [](const VethEnd& a, const VethEnd& b) { return a.peer == b.ifindex && b.peer == a.ifindex; };
    std::vector<VethPair> out;
    std::vector<bool> used(ends.size(), false);
    for (size_t i = 0; i < ends.size(); ++i) {
        if (used[i]) continue;
        std::vector<size_t> found;
        for (size_t j = 0; j < ends.size(); ++j)
            if (j != i && !used[j] && names_other(ends[i], ends[j])) found.push_back(j);
        if (found.size() != 1) continue;
        used[i] = used[found[0]] = true;
        out.push_back({ends[i].ref, ends[found[0]].ref});
    }
    return out;
}

std::optional<Backend> backend_of(const Topology& t, const std::string& target, uint16_t port) {
    auto colon = target.find(':');
    std::string ip = target.substr(0, colon);
    if (colon != std::string::npos) port = static_cast<uint16_t>(std::stoi(target.substr(colon + 1)));
    for (const auto& n : t.namespaces)
        for (const auto& a : n.addresses) {
            if (a.cidr.substr(0, a.cidr.find('/')) != ip) continue;
            Backend b{n.name, {}};
            for (const auto& p : n.pods)
                if (p.port == port) b.pod = p.name;
            return b;
        }
    return std::nullopt;
}

// ---------------------------------------------------------------- reading the kernel

namespace {


unsigned long proc_netns_inode(int pid) {
    struct stat st {};
    if (::stat(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), &st) != 0) return 0;
    return st.st_ino;
}

int pod_pid(const std::string& lab, const std::string& name, const std::string& real) {
    unsigned long ino = net::netns_inode(real);
    for (int pid : steps::find_pods(lab, name))
        if (ino && proc_netns_inode(pid) == ino) return pid;
    return 0;
}

// The netlab pods answering on 127.0.0.1 inside `real`, on the ports the tutorial starts pods on.
std::vector<PodView> probe_pods(const std::string& lab, const std::string& real, const std::vector<uint16_t>& ports) {
    std::vector<PodView> out;
    for (uint16_t port : ports) {
        pods::HttpResult r;
        {
            net::NetnsGuard g(real);
            r = pods::http_get("127.0.0.1", port, "/", std::chrono::milliseconds(1000));
        }
        if (r.ok && !r.pod.empty()) out.push_back({r.pod, port, pod_pid(lab, r.pod, real)});
    }
    return out;
}

NsView read_ns(const std::string& real, bool host) {
    NsView v;
    v.name = real;
    v.lab_host = host;
    net::Rtnl rt(real);
    v.links = rt.links();
    v.addresses = rt.addresses();
    for (auto& r : rt.routes())
        if (r.dst == "default") v.routes.push_back(r);
    for (const auto& l : v.links)
        if (l.kind == "veth" && l.link) v.iflink[l.ifindex] = l.link;  // IFLA_LINK: the peer's ifindex
    return v;
}

}  // namespace

Topology read_topology(const lab::LabNames& names, const lab::LabInventory& inv) {
    Topology t;
    t.lab = names.lab;
    if (!net::netns_exists(inv.host))
        throw Error("show lab '" + names.lab + "': it is not built (there is no namespace " + inv.host + ")",
                    "build it, or part of it: netlab " + (names.lab == "default" ? "" : "--lab " + names.lab + " ") +
                        "run [--until STEP]");
    std::vector<std::string> order{inv.host};  // the lab host first, then in the tutorial's order
    for (const auto& n : inv.namespaces)
        if (n != inv.host) order.push_back(n);
    for (const auto& n : order) {
        if (net::netns_exists(n)) t.namespaces.push_back(read_ns(n, n == inv.host));
        else t.absent.push_back(n);
    }
    // Pods are probed after every fork above: the HTTP client may start threads.
    for (auto& n : t.namespaces) {
        auto ports = inv.pod_ports(n.name);
        if (!ports.empty()) n.pods = probe_pods(names.lab, n.name, ports);
    }
    t.veths = pair_veths(t.namespaces);
    t.services = decode_services(net::to_ruleset(net::nft_dump(inv.host, {"nat"})));
    return t;
}

}  // namespace netlab::views

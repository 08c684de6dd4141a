// A lab's topology as the kernel has it now: its namespaces, their links, IPv4 addresses and default
// routes, the veth pairs between them, the pods answering in them and the services the lab host's
// nat rules implement. Plain data, so that the renderers (views/graph.h) and the tests work without
// a kernel; read_topology() fills it from the kernel.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lab/action.h"
#include "lab/inventory.h"
#include "netutil/rtnl.h"
#include "views/service.h"

namespace netlab::views {

struct PodView {
    std::string name;   // what the pod calls itself in its replies
    uint16_t port = 0;
    int pid = 0;        // 0 when not found
};

struct NsView {
    std::string name;        // the real namespace name ("netns_dustin", "a-netns_dustin")
    bool lab_host = false;
    std::vector<net::LinkInfo> links;
    std::map<int, int> iflink;  // ifindex -> the peer's ifindex, for veths (in the peer's namespace)
    std::vector<net::AddrInfo> addresses;
    std::vector<net::RouteInfo> routes;  // default routes only
    std::vector<PodView> pods;

    std::vector<std::string> addresses_of(const std::string& link) const;  // "10.0.0.1/24", ...
    const net::LinkInfo* link(const std::string& name) const;
};

struct LinkRef {
    std::string ns, link;
    bool operator==(const LinkRef&) const = default;
};

struct VethPair {
    LinkRef a, b;
};

struct Topology {
    std::string lab;                   // "default"
    std::vector<NsView> namespaces;    // the lab host first, then in the tutorial's order
    std::vector<std::string> absent;   // namespaces the tutorial makes that do not exist (yet)
    std::vector<VethPair> veths;
    std::vector<Service> services;

    const NsView* ns(const std::string& name) const;
    // The other end of a veth, when it is in one of the lab's namespaces.
    std::optional<LinkRef> peer_of(const LinkRef& end) const;
};

// Pairs the veths of `namespaces` by their ifindex and their peer's ifindex (each must name the other;
// an ambiguous match is left unpaired).
std::vector<VethPair> pair_veths(const std::vector<NsView>& namespaces);

// The namespace and pod behind a DNAT target "10.0.0.21:8080" (or "10.0.0.21", meaning `port`):
// the namespace holding that address, and the pod answering there on that port.
struct Backend {
    std::string ns;
    std::string pod;  // "" when no pod answers on that port
};
std::optional<Backend> backend_of(const Topology& t, const std::string& target, uint16_t port);

// Reads the lab as it is now (root). Throws Error with a hint when the lab host does not exist.
// `inv` (lab/inventory.h) says which namespaces to look at (the lab host first) and where pods may run.
Topology read_topology(const lab::LabNames& names, const lab::LabInventory& inv);

}  // namespace netlab::views

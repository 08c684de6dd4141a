// What a lab makes, as data: its namespaces, links, files, pods and rule chains, computed once from
// a tutorial's actions (each adds what it makes: Action::makes). `netlab script` refuses to build
// over it and tears it down, `netlab reset` removes it, `netlab graph` looks at it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace netlab::lab {

struct LabNames;
struct Tutorial;

struct MadeLink {
    std::string ns;    // real namespace name
    std::string name;  // "bridge_home", "veth_ns_dustin"
    std::string kind;  // "bridge", "veth"
    bool operator==(const MadeLink&) const = default;
};

struct MadeFile {
    std::string path;                // "/etc/netns/netns_dustin/resolv.conf"
    std::vector<std::string> lines;  // the lines netlab writes to it ("nameserver 8.8.8.8")
    bool operator==(const MadeFile&) const = default;
};

struct MadePod {
    std::string ns;    // real namespace name
    std::string name;  // what the pod calls itself
    uint16_t port = 0;
    bool operator==(const MadePod&) const = default;
};

struct MadeChain {
    std::string ns;     // real namespace name
    std::string table;  // "nat"
    std::string name;   // "KUBE-SERVICES"
    bool operator==(const MadeChain&) const = default;
};

// Each list keeps the order in which the steps make things, and each thing once.
struct LabInventory {
    std::string host;                          // the lab host's real name
    std::vector<std::string> namespaces;       // real names
    std::vector<MadeLink> links;
    std::vector<MadeFile> files;
    std::vector<MadePod> pods;
    std::vector<std::string> rule_namespaces;  // namespaces whose iptables rules a step programs
    std::vector<MadeChain> chains;             // user-defined chains the rules make (-N)

    void add_namespace(const std::string& real);
    void add_link(MadeLink l);
    void add_file(const std::string& path, const std::string& line);  // lines of one file merge
    void add_pod(MadePod p);
    void add_rules(const std::string& real_ns);
    void add_chain(MadeChain c);

    // The namespaces pods run in, each once, and the ports of the pods in one of them.
    std::vector<std::string> pod_namespaces() const;
    std::vector<uint16_t> pod_ports(const std::string& ns) const;
    // Every line netlab writes to any of its files.
    std::set<std::string> file_lines() const;
};

// What the steps [first, last] of `t` make in the lab `names`.
LabInventory inventory_of(const Tutorial& t, const LabNames& names, size_t first, size_t last);
// What the whole tutorial makes.
LabInventory inventory_of(const Tutorial& t, const LabNames& names);

}  // namespace netlab::lab

// The iptables proxier's syncProxyRules (kube-proxy pkg/proxy/iptables/proxier.go), full sync, IPv4,
// rewritten from reading the Go source: same chains, same rules, same token order.
#include "kube/proxier.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "base/error.h"
#include "kube/chain_name.h"

namespace netlab::kube {
namespace {

using Args = std::vector<std::string>;

struct Lines {
    std::string text;
    int count = 0;
    void write(const Args& a) {
        for (size_t i = 0; i < a.size(); ++i) text += (i ? " " : "") + a[i];
        text += "\n";
        ++count;
    }
    void chain(const std::string& name) { text += ":" + name + " - [0:0]\n"; }
};

Args cat(std::initializer_list<Args> parts) {
    Args out;
    for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

struct Ep {
    std::string ip;
    int port = 0;
    bool local = false, ready = false, serving = false, terminating = false;
    std::string str() const { return ip + ":" + std::to_string(port); }
};

// One service port as kube-proxy's servicePortInfo sees it.
struct SvcPort {
    const Service* svc;
    ServicePort port;
    std::string name;      // ns/svc[:port]
    std::string protocol;  // lower case
    std::string hash;
    std::vector<std::string> external_ips, lb_vips, source_ranges;
    bool external_local = false, internal_local = false;
    int health_check_node_port = 0;
    bool externally_accessible() const { return port.node_port != 0 || !lb_vips.empty() || !external_ips.empty(); }
    bool uses_cluster() const { return !internal_local || externally_accessible(); }
    bool uses_local() const { return internal_local || (external_local && externally_accessible()); }
};

bool is_v4(const std::string& s) { return s.find(':') == std::string::npos; }

std::string trim(std::string s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
    return s;
}

std::string probability(int n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0.10f", 1.0 / n);
    return buf;
}

// The endpoints of one service port, as the EndpointSliceCache builds them: IPv4 slices of the
// service, the slice port with the same name and protocol, the first address of each endpoint,
// sorted by "ip:port" as strings.
std::vector<Ep> endpoints_for(const Manifests& m, const SvcPort& sp, const std::string& hostname) {
    std::map<std::string, Ep> by_string;
    for (auto& sl : m.slices) {
        if (sl.ns != sp.svc->ns || sl.service_name != sp.svc->name || sl.address_type != "IPv4") continue;
        for (auto& p : sl.ports) {
            if (p.name.value_or("") != sp.port.name || p.protocol.value_or("TCP") != sp.port.protocol || !p.port)
                continue;
            for (auto& e : sl.endpoints) {
                if (e.addresses.empty()) continue;
                Ep ep;
                ep.ip = e.addresses[0];
                ep.port = *p.port;
                ep.local = e.node_name && *e.node_name == hostname && !hostname.empty();
                ep.ready = !e.ready || *e.ready;
                ep.serving = !e.serving || *e.serving;
                ep.terminating = e.terminating && *e.terminating;
                by_string.emplace(ep.str(), ep);
            }
        }
    }
    std::vector<Ep> out;
    for (auto& [k, v] : by_string) out.push_back(v);  // std::map: sorted by the "ip:port" string
    return out;
}

// proxy.CategorizeEndpoints without topology hints.
void categorize(const std::vector<Ep>& all, const SvcPort& sp, std::vector<Ep>& cluster, std::vector<Ep>& local,
                std::vector<Ep>& reachable, bool& has_any) {
    cluster.clear();
    local.clear();
    reachable.clear();
    has_any = false;
    if (all.empty()) return;
    if (sp.uses_cluster()) {
        for (auto& e : all)
            if (e.ready) cluster.push_back(e);
        if (cluster.empty())
            for (auto& e : all)
                if (e.serving && e.terminating) cluster.push_back(e);
        if (!cluster.empty()) has_any = true;
    }
    if (!sp.uses_local()) {
        reachable = cluster;
        return;
    }
    bool local_ready = false, local_serving_terminating = false;
    for (auto& e : all) {
        if (e.ready) {
            has_any = true;
            if (e.local) local_ready = true;
        } else if (e.serving && e.terminating) {
            has_any = true;
            if (e.local) local_serving_terminating = true;
        }
    }
    bool use_terminating = false;
    if (local_ready) {
        for (auto& e : all)
            if (e.local && e.ready) local.push_back(e);
    } else if (local_serving_terminating) {
        use_terminating = true;
        for (auto& e : all)
            if (e.local && e.serving && e.terminating) local.push_back(e);
    }
    if (!sp.uses_cluster()) {
        reachable = local;
        return;
    }
    if (!use_terminating) {
        reachable = cluster;
        return;
    }
    // The union (kube-proxy builds it from a map, in no particular order; netlab sorts it).
    std::map<std::string, Ep> u;
    for (auto& e : cluster) u.emplace(e.str(), e);
    for (auto& e : local) u.emplace(e.str(), e);
    for (auto& [k, v] : u) reachable.push_back(v);
}

}  // namespace

ProxierConfig ProxierConfig::unit_test_fixture() {
    ProxierConfig c;
    c.cluster_cidr = "10.0.0.0/8";
    c.mark = "0x4000";
    c.hostname = "test-node";
    c.node_ips = {*parse_ipv4("192.168.0.2"), *parse_ipv4("192.168.1.2"), *parse_ipv4("192.168.99.11")};
    c.localhost_nodeports = true;
    c.random_fully = false;
    c.nfacct = true;
    return c;
}

std::string masquerade_mark(const ProxierConfig& cfg) {
    if (!cfg.mark.empty()) return cfg.mark;
    // Go's "%#08x" pads the digits (not the "0x") to 8: 1<<14 is 0x00004000.
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%08lx", 1UL << cfg.masquerade_bit);
    return buf;
}

std::string render_restore(const Manifests& m, const ProxierConfig& cfg) {
    const std::string mark = masquerade_mark(cfg);
    Lines filter_chains, filter_rules, nat_chains, nat_rules;
    const bool local_detector = !cfg.cluster_cidr.empty();
    const Args if_local = {"-s", cfg.cluster_cidr};
    const Args if_not_local = {"!", "-s", cfg.cluster_cidr};

    // NodePort addresses: MatchAll without CIDRs; localhost NodePorts need 127.0.0.1 in them.
    const bool match_all = cfg.nodeport_addresses.empty();
    bool contains_loopback = match_all;
    for (auto& c : cfg.nodeport_addresses)
        if (c.contains(*parse_ipv4("127.0.0.1"))) contains_loopback = true;
    const bool localhost_nodeports = cfg.localhost_nodeports && contains_loopback;

    for (auto c : {"KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL"})
        filter_chains.chain(c);
    for (auto c : {"KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"}) nat_chains.chain(c);

    nat_rules.write({"-A", "KUBE-POSTROUTING", "-m", "mark", "!", "--mark", mark + "/" + mark, "-j", "RETURN"});
    nat_rules.write({"-A", "KUBE-POSTROUTING", "-j", "MARK", "--xor-mark", mark});
    Args masq = {"-A", "KUBE-POSTROUTING", "-m", "comment", "--comment", quoted("kubernetes service traffic requiring SNAT"),
                 "-j", "MASQUERADE"};
    if (cfg.random_fully) masq.push_back("--random-fully");
    nat_rules.write(masq);
    nat_rules.write({"-A", "KUBE-MARK-MASQ", "-j", "MARK", "--or-mark", mark});

    if (localhost_nodeports) {
        filter_chains.chain("KUBE-FIREWALL");
        filter_rules.write({"-A", "KUBE-FIREWALL", "-m", "comment", "--comment", quoted("block incoming localnet connections"),
                            "-d", "127.0.0.0/8", "!", "-s", "127.0.0.0/8", "-m", "conntrack", "!", "--ctstate",
                            "RELATED,ESTABLISHED,DNAT", "-j", "DROP"});
    }

    // The service ports kube-proxy proxies (IPv4 ClusterIP set, not ExternalName), in input order.
    std::vector<SvcPort> ports;
    std::map<std::string, std::string> seen;
    for (auto& s : m.services) {
        std::string key = s.ns + "/" + s.name;
        if (auto it = seen.find(key); it != seen.end())
            throw UsageError(s.where + ": duplicate Service " + key + " (first at " + it->second + ")");
        seen[key] = s.where;
        if (s.type == "ExternalName" || s.cluster_ip.empty() || s.cluster_ip == "None" || !is_v4(s.cluster_ip)) continue;
        bool externally_facing = s.type == "LoadBalancer" || s.type == "NodePort" ||
                                 (s.type == "ClusterIP" && !s.external_ips.empty());
        for (auto& p : s.ports) {
            SvcPort sp;
            sp.svc = &s;
            sp.port = p;
            sp.name = key + (p.name.empty() ? "" : ":" + p.name);
            sp.protocol = p.protocol == "TCP" ? "tcp" : p.protocol == "UDP" ? "udp" : "sctp";
            sp.hash = port_proto_hash(sp.name, sp.protocol);
            for (auto& ip : s.external_ips)
                if (is_v4(ip)) sp.external_ips.push_back(ip);
            for (auto& ip : s.load_balancer_ingress_ips)
                if (is_v4(ip)) sp.lb_vips.push_back(ip);
            for (auto& r : s.load_balancer_source_ranges)
                if (is_v4(trim(r))) sp.source_ranges.push_back(trim(r));
            sp.external_local = externally_facing && s.external_traffic_policy == "Local";
            sp.internal_local = s.internal_traffic_policy == "Local";
            if (s.type == "LoadBalancer" && sp.external_local) sp.health_check_node_port = s.health_check_node_port;
            ports.push_back(sp);
        }
    }

    std::vector<std::vector<Ep>> eps;
    size_t total = 0;
    for (auto& sp : ports) {
        eps.push_back(endpoints_for(m, sp, cfg.hostname));
        total += eps.back().size();
    }
    const bool large_cluster = total > 1000;
    auto service_comment = [&](Args a, const std::string& c) {
        if (!large_cluster) a.insert(a.end(), {"-m", "comment", "--comment", c});
        return a;
    };

    for (size_t i = 0; i < ports.size(); ++i) {
        const SvcPort& sp = ports[i];
        const std::string& S = sp.name;
        const std::string& proto = sp.protocol;
        const std::string port = std::to_string(sp.port.port);
        std::vector<Ep> cluster, local, reachable;
        bool has_endpoints = false;
        categorize(eps[i], sp, cluster, local, reachable, has_endpoints);

        const std::string svc_chain = "KUBE-SVC-" + sp.hash, svl_chain = "KUBE-SVL-" + sp.hash;
        const std::string ext_chain = "KUBE-EXT-" + sp.hash, fw_chain = "KUBE-FW-" + sp.hash;
        const bool uses_cluster_chain = !cluster.empty() && sp.uses_cluster();
        const bool uses_local_chain = !local.empty() && sp.uses_local();

        std::string internal_chain = svc_chain;
        bool has_internal = has_endpoints;
        if (sp.internal_local) {
            internal_chain = svl_chain;
            if (local.empty()) has_internal = false;
        }
        std::string external_policy_chain = svc_chain;
        bool has_external = has_endpoints;
        if (sp.external_local) {
            external_policy_chain = svl_chain;
            if (local.empty()) has_external = false;
        }
        const bool uses_ext_chain = has_endpoints && sp.externally_accessible();
        const bool uses_fw = has_endpoints && !sp.lb_vips.empty() && !sp.source_ranges.empty();
        const std::string lb_chain = uses_fw ? fw_chain : ext_chain;

        std::string internal_target, internal_comment, external_target, external_comment;
        if (!has_endpoints) {
            internal_target = external_target = "REJECT";
            internal_comment = external_comment = quoted(S + " has no endpoints");
        } else {
            if (!has_internal) {
                internal_target = "DROP";
                internal_comment = quoted(S + " has no local endpoints");
            }
            if (!has_external) {
                external_target = "DROP";
                external_comment = quoted(S + " has no local endpoints");
            }
        }

        // Capture the cluster IP.
        const Args cluster_match = {"-m", proto, "-p", proto, "-d", sp.svc->cluster_ip, "--dport", port};
        if (has_internal)
            nat_rules.write(cat({{"-A", "KUBE-SERVICES", "-m", "comment", "--comment", quoted(S + " cluster IP")},
                                 cluster_match, {"-j", internal_chain}}));
        else
            filter_rules.write(cat({{"-A", "KUBE-SERVICES", "-m", "comment", "--comment", internal_comment}, cluster_match,
                                    {"-j", internal_target}}));

        // External IPs.
        for (auto& ip : sp.external_ips) {
            if (has_endpoints)
                nat_rules.write({"-A", "KUBE-SERVICES", "-m", "comment", "--comment", quoted(S + " external IP"), "-m",
                                 proto, "-p", proto, "-d", ip, "--dport", port, "-j", ext_chain});
            if (!has_external)
                filter_rules.write({"-A", "KUBE-EXTERNAL-SERVICES", "-m", "comment", "--comment", external_comment, "-m",
                                    proto, "-p", proto, "-d", ip, "--dport", port, "-j", external_target});
        }

        // Load-balancer ingress IPs.
        for (auto& ip : sp.lb_vips) {
            if (has_endpoints)
                nat_rules.write({"-A", "KUBE-SERVICES", "-m", "comment", "--comment", quoted(S + " loadbalancer IP"), "-m",
                                 proto, "-p", proto, "-d", ip, "--dport", port, "-j", lb_chain});
            if (uses_fw)
                filter_rules.write({"-A", "KUBE-PROXY-FIREWALL", "-m", "comment", "--comment",
                                    quoted(S + " traffic not accepted by " + fw_chain), "-m", proto, "-p", proto, "-d", ip,
                                    "--dport", port, "-j", "DROP"});
        }
        if (!has_external)
            for (auto& ip : sp.lb_vips)
                filter_rules.write({"-A", "KUBE-EXTERNAL-SERVICES", "-m", "comment", "--comment", external_comment, "-m",
                                    proto, "-p", proto, "-d", ip, "--dport", port, "-j", external_target});

        // NodePorts.
        if (sp.port.node_port != 0) {
            const std::string np = std::to_string(sp.port.node_port);
            if (has_endpoints) {
                if (localhost_nodeports && cfg.nfacct)
                    nat_rules.write({"-A", "KUBE-NODEPORTS", "-m", "comment", "--comment", S, "-m", proto, "-p", proto,
                                     "-d", "127.0.0.0/8", "--dport", np, "-m", "nfacct", "--nfacct-name",
                                     "localhost_nps_accepted_pkts", "-j", ext_chain});
                nat_rules.write({"-A", "KUBE-NODEPORTS", "-m", "comment", "--comment", S, "-m", proto, "-p", proto,
                                 "--dport", np, "-j", ext_chain});
            }
            if (!has_external)
                filter_rules.write({"-A", "KUBE-EXTERNAL-SERVICES", "-m", "comment", "--comment", external_comment, "-m",
                                    "addrtype", "--dst-type", "LOCAL", "-m", proto, "-p", proto, "--dport", np, "-j",
                                    external_target});
        }

        // Health-check node port.
        if (sp.health_check_node_port != 0)
            filter_rules.write({"-A", "KUBE-NODEPORTS", "-m", "comment", "--comment",
                                quoted(S + " health check node port"), "-m", "tcp", "-p", "tcp", "--dport",
                                std::to_string(sp.health_check_node_port), "-j", "ACCEPT"});

        // Internal traffic: masquerade off-cluster sources (or everything with --masquerade-all).
        if (has_internal) {
            Args head = cat({{"-A", internal_chain, "-m", "comment", "--comment", quoted(S + " cluster IP")}, cluster_match});
            if (cfg.masquerade_all)
                nat_rules.write(cat({head, {"-j", "KUBE-MARK-MASQ"}}));
            else if (local_detector)
                nat_rules.write(cat({head, if_not_local, {"-j", "KUBE-MARK-MASQ"}}));
        }

        // External traffic chain.
        if (uses_ext_chain) {
            nat_chains.chain(ext_chain);
            if (!sp.external_local) {
                nat_rules.write({"-A", ext_chain, "-m", "comment", "--comment",
                                 quoted("masquerade traffic for " + S + " external destinations"), "-j", "KUBE-MARK-MASQ"});
            } else {
                if (local_detector)
                    nat_rules.write(cat({{"-A", ext_chain, "-m", "comment", "--comment",
                                          quoted("pod traffic for " + S + " external destinations")},
                                         if_local, {"-j", svc_chain}}));
                nat_rules.write({"-A", ext_chain, "-m", "comment", "--comment",
                                 quoted("masquerade LOCAL traffic for " + S + " external destinations"), "-m", "addrtype",
                                 "--src-type", "LOCAL", "-j", "KUBE-MARK-MASQ"});
                nat_rules.write({"-A", ext_chain, "-m", "comment", "--comment",
                                 quoted("route LOCAL traffic for " + S + " external destinations"), "-m", "addrtype",
                                 "--src-type", "LOCAL", "-j", svc_chain});
            }
            if (has_external) nat_rules.write({"-A", ext_chain, "-j", external_policy_chain});
        }

        // Firewall chain for loadBalancerSourceRanges.
        if (uses_fw) {
            nat_chains.chain(fw_chain);
            Args head = {"-A", fw_chain, "-m", "comment", "--comment", quoted(S + " loadbalancer IP")};
            bool allow_from_node = false;
            for (auto& r : sp.source_ranges) {
                nat_rules.write(cat({head, {"-s", r, "-j", ext_chain}}));
                auto c = parse_ipv4_cidr(r, true);
                if (c && !cfg.node_ips.empty() && c->contains(cfg.node_ips.front())) allow_from_node = true;
            }
            if (allow_from_node)
                for (auto& ip : sp.lb_vips) nat_rules.write(cat({head, {"-s", ip, "-j", ext_chain}}));
            nat_rules.write({"-A", fw_chain, "-m", "comment", "--comment",
                             quoted("other traffic to " + S + " will be dropped by KUBE-PROXY-FIREWALL")});
        }

        auto ep_chain = [&](const Ep& e) { return endpoint_chain(S, proto, e.str()); };
        auto service_to_endpoints = [&](const std::string& chain, const std::vector<Ep>& list) {
            if (sp.svc->session_affinity == "ClientIP")
                for (auto& e : list)
                    nat_rules.write(cat({service_comment({"-A", chain}, quoted(S + " -> " + e.str())),
                                         {"-m", "recent", "--name", ep_chain(e), "--rcheck", "--seconds",
                                          std::to_string(sp.svc->affinity_timeout), "--reap", "-j", ep_chain(e)}}));
            for (size_t k = 0; k < list.size(); ++k) {
                Args a = service_comment({"-A", chain}, quoted(S + " -> " + list[k].str()));
                if (k + 1 < list.size())
                    a.insert(a.end(), {"-m", "statistic", "--mode", "random", "--probability",
                                       probability(static_cast<int>(list.size() - k))});
                a.insert(a.end(), {"-j", ep_chain(list[k])});
                nat_rules.write(a);
            }
        };
        if (uses_cluster_chain) {
            nat_chains.chain(svc_chain);
            service_to_endpoints(svc_chain, cluster);
        }
        if (uses_local_chain) {
            nat_chains.chain(svl_chain);
            service_to_endpoints(svl_chain, local);
        }

        // One chain per endpoint: hairpin masquerade, then DNAT.
        for (auto& e : reachable) {
            const std::string c = ep_chain(e);
            nat_chains.chain(c);
            Args a = service_comment({"-A", c}, S);
            nat_rules.write(cat({a, {"-s", e.ip, "-j", "KUBE-MARK-MASQ"}}));
            if (sp.svc->session_affinity == "ClientIP") a.insert(a.end(), {"-m", "recent", "--name", c, "--set"});
            a.insert(a.end(), {"-m", proto, "-p", proto, "-j", "DNAT", "--to-destination", e.str()});
            nat_rules.write(a);
        }
    }

    // The NodePort tail rule, last in nat KUBE-SERVICES.
    const std::string tail = quoted("kubernetes service nodeports; NOTE: this must be the last rule in this chain");
    if (match_all) {
        Args a = {"-A", "KUBE-SERVICES", "-m", "comment", "--comment", tail, "-m", "addrtype", "--dst-type", "LOCAL"};
        if (!localhost_nodeports) a.insert(a.end(), {"!", "-d", "127.0.0.0/8"});
        a.insert(a.end(), {"-j", "KUBE-NODEPORTS"});
        nat_rules.write(a);
    } else {
        // The node's addresses inside --nodeport-addresses (kube-proxy collects them in a map; sorted here).
        std::vector<Ipv4> local_addrs = cfg.node_ips;
        local_addrs.push_back(*parse_ipv4("127.0.0.1"));
        std::set<std::string> chosen;
        for (auto& c : cfg.nodeport_addresses)
            for (auto& a : local_addrs)
                if (c.contains(a)) chosen.insert(a.str());
        for (auto& ip : chosen) {
            if (ip.rfind("127.", 0) == 0 && !localhost_nodeports) continue;
            nat_rules.write({"-A", "KUBE-SERVICES", "-m", "comment", "--comment", tail, "-d", ip, "-j", "KUBE-NODEPORTS"});
        }
    }

    if (!cfg.conntrack_tcp_be_liberal) {
        Args a = {"-A", "KUBE-FORWARD", "-m", "conntrack", "--ctstate", "INVALID"};
        if (cfg.nfacct) a.insert(a.end(), {"-m", "nfacct", "--nfacct-name", "ct_state_invalid_dropped_pkts"});
        a.insert(a.end(), {"-j", "DROP"});
        filter_rules.write(a);
    }
    filter_rules.write({"-A", "KUBE-FORWARD", "-m", "comment", "--comment", quoted("kubernetes forwarding rules"), "-m",
                        "mark", "--mark", mark + "/" + mark, "-j", "ACCEPT"});
    filter_rules.write({"-A", "KUBE-FORWARD", "-m", "comment", "--comment", quoted("kubernetes forwarding conntrack rule"),
                        "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"});

    return "*filter\n" + filter_chains.text + filter_rules.text + "COMMIT\n" + "*nat\n" + nat_chains.text +
           nat_rules.text + "COMMIT\n";
}

namespace {

struct DumpChain {
    std::string name;
    std::string line;  // ":NAME - [0:0]"
    std::vector<std::string> rules;
};
struct DumpTable {
    std::string name;
    std::vector<DumpChain> chains;
    std::vector<std::string> deletes;  // -X lines
};

std::vector<DumpTable> parse_dump(const std::string& text) {
    std::vector<DumpTable> tables;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        if (line[0] == '*') {
            tables.push_back({line.substr(1), {}, {}});
        } else if (line == "COMMIT") {
            continue;
        } else if (!tables.empty() && line[0] == ':') {
            std::string name = line.substr(1, line.find(' ') - 1);
            tables.back().chains.push_back({name, line, {}});
        } else if (!tables.empty() && line.rfind("-A ", 0) == 0) {
            std::string chain = line.substr(3, line.find(' ', 3) - 3);
            for (auto& c : tables.back().chains)
                if (c.name == chain) c.rules.push_back(line);
        } else if (!tables.empty() && line.rfind("-X ", 0) == 0) {
            tables.back().deletes.push_back(line);
        }
    }
    return tables;
}

// The comment's value (quotes removed), or nullopt.
std::optional<std::string> comment_of(const std::string& rule) {
    auto p = rule.find("--comment ");
    if (p == std::string::npos) return std::nullopt;
    p += 10;
    if (rule[p] == '"') {
        auto e = rule.find('"', p + 1);
        return rule.substr(p + 1, e - p - 1);
    }
    return rule.substr(p, rule.find(' ', p) - p);
}

bool by_comment_service(const std::string& a, const std::string& b) {
    auto ca = comment_of(a), cb = comment_of(b);
    if (!ca || !cb) return false;
    std::string na = ca->substr(0, ca->find_first_of(" :")), nb = cb->substr(0, cb->find_first_of(" :"));
    return na < nb;
}

}  // namespace

std::string sort_restore_like_kube_proxy_tests(const std::string& restore) {
    auto tables = parse_dump(restore);
    std::sort(tables.begin(), tables.end(), [](auto& a, auto& b) { return a.name < b.name; });
    std::string out;
    for (auto& t : tables) {
        auto rank = [](const std::string& n) { return n == "KUBE-NODEPORTS" ? 0 : n == "KUBE-SERVICES" ? 1 : n.rfind("KUBE-", 0) == 0 ? 2 : 3; };
        std::sort(t.chains.begin(), t.chains.end(), [&](auto& a, auto& b) {
            int ra = rank(a.name), rb = rank(b.name);
            return ra != rb ? ra < rb : a.name < b.name;
        });
        for (auto& c : t.chains) {
            if (c.name == "KUBE-NODEPORTS" || (c.name == "KUBE-SERVICES" && t.name == "filter"))
                std::stable_sort(c.rules.begin(), c.rules.end(), by_comment_service);
            if (c.name == "KUBE-SERVICES" && t.name == "nat")
                std::stable_sort(c.rules.begin(), c.rules.end(), [](auto& a, auto& b) {
                    auto last = [](const std::string& r) {
                        auto c = comment_of(r);
                        return c && c->find("must be the last rule") != std::string::npos;
                    };
                    if (last(a)) return false;
                    if (last(b)) return true;
                    return by_comment_service(a, b);
                });
        }
        out += "*" + t.name + "\n";
        for (auto& c : t.chains) out += c.line + "\n";
        for (auto& c : t.chains)
            for (auto& r : c.rules) out += r + "\n";
        for (auto& d : t.deletes) out += d + "\n";
        out += "COMMIT\n";
    }
    return out;
}

std::string chain_rules(const std::string& restore, const std::string& table, const std::string& chain) {
    std::string out;
    for (auto& t : parse_dump(restore))
        if (t.name == table)
            for (auto& c : t.chains)
                if (c.name == chain)
                    for (auto& r : c.rules) out += r + "\n";
    return out;
}

}  // namespace netlab::kube

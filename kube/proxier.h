// kube-proxy's iptables mode as a pure function: Services + EndpointSlices + configuration in, the
// exact text kube-proxy feeds to `iptables-restore --noflush --counters` out (a full sync of the
// IPv4 proxier: `*filter` then `*nat`, chain lines, rules in kube-proxy's own token order, COMMIT).
// Real kube-proxy walks services in Go map order (random); netlab walks them in input order, which
// is one of the orders kube-proxy may write. Nothing here touches the kernel.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/ipv4.h"
#include "kube/manifest.h"

namespace netlab::kube {

struct ProxierConfig {
    std::string cluster_cidr;  // --cluster-cidr: the local-traffic detector; "" = none (no-op detector)
    bool masquerade_all = false;
    int masquerade_bit = 14;
    std::string mark;  // "" = kube-proxy's own format of 1<<bit ("0x00004000"); its unit tests inject "0x4000"
    std::string hostname;  // --hostname-override: endpoints whose nodeName is this are local
    std::vector<Ipv4Cidr> nodeport_addresses;  // --nodeport-addresses; empty = all local addresses
    bool localhost_nodeports = true;           // --iptables-localhost-nodeports
    std::vector<Ipv4> node_ips;                // this node's addresses; the first is the node IP
    bool random_fully = true;              // iptables >= 1.6.2 (MASQUERADE --random-fully)
    bool nfacct = false;                   // nfacct counters could be created (adds -m nfacct rules)
    bool conntrack_tcp_be_liberal = false;  // net.netfilter.nf_conntrack_tcp_be_liberal != 0

    // What NewFakeProxier in kube-proxy's proxier_test.go sets: cluster CIDR 10.0.0.0/8, mark
    // "0x4000", hostname test-node, node IP 192.168.0.2 (and 192.168.1.2, 192.168.99.11 on eth0,
    // 127.0.0.1 on lo), localhost NodePorts on, nfacct counters present, no --random-fully.
    static ProxierConfig unit_test_fixture();
};

// The mark kube-proxy uses for the configuration (its "%#08x" of 1<<bit unless `mark` is set).
std::string masquerade_mark(const ProxierConfig& cfg);

// The restore text. Throws UsageError for inconsistent input (a duplicate Service).
std::string render_restore(const Manifests& m, const ProxierConfig& cfg);

// kube-proxy's unit-test normalisation (sortIPTablesRules in proxier_test.go): tables by name,
// chains KUBE-NODEPORTS, KUBE-SERVICES, then KUBE-* by name, then others; each chain's rules after
// its chain lines; KUBE-NODEPORTS and KUBE-SERVICES rules stably sorted by the service name in
// their comment (the nat KUBE-SERVICES "must be the last rule" stays last).
std::string sort_restore_like_kube_proxy_tests(const std::string& restore);

// The rules of one chain of one table, one per line (assertIPTablesChainEqual).
std::string chain_rules(const std::string& restore, const std::string& table, const std::string& chain);

}  // namespace netlab::kube

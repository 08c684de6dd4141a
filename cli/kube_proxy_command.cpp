// netlab kube-proxy render: the rules kube-proxy's iptables mode would program for Service and
// EndpointSlice manifests, as the iptables-restore text it writes (--format restore) or as
// iptables-save lists them once loaded (--format save). Pure: no root, no lab, no kernel.
#include <unistd.h>

#include <cctype>
#include <iostream>
#include <sstream>

#include "base/error.h"
#include "base/ipv4.h"
#include "cli/cli.h"
#include "kube/manifest.h"
#include "kube/proxier.h"
#include "kube/save_format.h"

namespace netlab::cli {

namespace {

struct RenderArgs {
    std::string mode = "iptables";
    std::string format = "restore";
    std::string cluster_cidr;
    bool masquerade_all = false;
    int masquerade_bit = 14;
    std::string hostname;
    std::vector<std::string> nodeport_addresses;
    bool no_localhost_nodeports = false;
    std::vector<std::string> node_ips;
    bool nfacct = false;
    bool no_random_fully = false;
    bool tcp_be_liberal = false;
    bool test_fixture = false;
    std::vector<std::string> files;
};

std::vector<std::string> split_commas(const std::vector<std::string>& in) {
    std::vector<std::string> out;
    for (auto& s : in) {
        std::stringstream ss(s);
        std::string item;
        while (std::getline(ss, item, ','))
            if (!item.empty()) out.push_back(item);
    }
    return out;
}

int render(const RenderArgs& a) {
    kube::ProxierConfig cfg = a.test_fixture ? kube::ProxierConfig::unit_test_fixture() : kube::ProxierConfig{};
    if (!a.cluster_cidr.empty()) {
        if (!parse_ipv4_cidr(a.cluster_cidr, true))
            throw UsageError("--cluster-cidr '" + a.cluster_cidr + "': expected an IPv4 CIDR (a.b.c.d/n)");
        cfg.cluster_cidr = a.cluster_cidr;
    }
    if (a.masquerade_all) cfg.masquerade_all = true;
    if (a.masquerade_bit != 14 || !a.test_fixture) cfg.masquerade_bit = a.masquerade_bit;
    if (a.masquerade_bit != 14) cfg.mark.clear();
    if (!a.hostname.empty()) {
        cfg.hostname = a.hostname;
    } else if (!a.test_fixture) {
        // kube-proxy's node name defaults to the machine's host name, lower-cased.
        char host[256] = {};
        if (gethostname(host, sizeof host - 1) == 0)
            for (char* c = host; *c; ++c) cfg.hostname += static_cast<char>(std::tolower(static_cast<unsigned char>(*c)));
    }
    for (auto& s : split_commas(a.nodeport_addresses)) {
        auto c = parse_ipv4_cidr(s, true);
        if (!c) {
            if (s.find(':') != std::string::npos) continue;  // IPv6: the IPv6 proxier's, not this one's
            throw UsageError("--nodeport-addresses '" + s + "': expected an IPv4 CIDR (a.b.c.d/n)");
        }
        cfg.nodeport_addresses.push_back(*c);
    }
    if (a.no_localhost_nodeports) cfg.localhost_nodeports = false;
    if (!a.node_ips.empty()) cfg.node_ips.clear();
    for (auto& s : split_commas(a.node_ips)) {
        auto ip = parse_ipv4(s);
        if (!ip) throw UsageError("--node-ip '" + s + "': expected an IPv4 address");
        cfg.node_ips.push_back(*ip);
    }
    if (a.nfacct) cfg.nfacct = true;
    if (a.no_random_fully) cfg.random_fully = false;
    if (a.tcp_be_liberal) cfg.conntrack_tcp_be_liberal = true;

    kube::Manifests m;
    for (auto& f : a.files) {
        if (f == "-") {  // kubectl get svc,endpointslices -o yaml | netlab kube-proxy render -
            std::stringstream in;
            in << std::cin.rdbuf();
            kube::parse_manifests(in.str(), "<stdin>", m);
        } else {
            auto one = kube::load_manifests({f});
            m.services.insert(m.services.end(), one.services.begin(), one.services.end());
            m.slices.insert(m.slices.end(), one.slices.begin(), one.slices.end());
        }
    }
    std::string restore = kube::render_restore(m, cfg);
    std::cout << (a.format == "save" ? kube::restore_to_save(restore) : restore);
    return 0;
}

}  // namespace

void add_kube_proxy_commands(CommandTable& table) {
    auto a = std::make_shared<RenderArgs>();
    auto what = std::make_shared<std::string>();
    auto nodeport = std::make_shared<std::string>(), node_ip = std::make_shared<std::string>();
    table.push_back(
        {"kube-proxy",
         "what the real kube-proxy would program for Kubernetes manifests (no root, no lab needed): netlab kube-proxy "
         "render FILE... prints the rules kube-proxy's iptables mode writes for the Services and EndpointSlices in "
         "FILE... (YAML, several documents or a kind: List)",
         {choice("what", "render", what.get(), {"render"}).required(),
          choice("--mode", "proxy mode (only iptables)", &a->mode, {"iptables"}),
          choice("--format",
                 "restore: the text kube-proxy feeds to iptables-restore (default); save: what iptables-save lists "
                 "once it is loaded",
                 &a->format, {"restore", "save"}),
          value(Kind::Cidrs, "--cluster-cidr",
                "the pods' network: traffic from outside it to a cluster IP is masqueraded (default: none)",
                &a->cluster_cidr),
          flag("--masquerade-all", "masquerade all traffic to cluster IPs", &a->masquerade_all),
          number(Kind::Count, "--masquerade-bit", "the fwmark bit of KUBE-MARK-MASQ (default 14)", &a->masquerade_bit,
                 0, 31),
          value(Kind::Name, "--hostname,--hostname-override",
                "this node's name: endpoints with this nodeName are local (Local traffic policies); default: the "
                "machine's host name, as kube-proxy",
                &a->hostname),
          value(Kind::Cidrs, "--nodeport-addresses",
                "CIDR,...: NodePorts only on node addresses inside these (default: all local addresses)",
                nodeport.get()),
          flag("--no-localhost-nodeports",
               "kube-proxy's --iptables-localhost-nodeports=false: no NodePorts on 127.0.0.0/8",
               &a->no_localhost_nodeports),
          value(Kind::Cidrs, "--node-ip",
                "IP,...: this node's addresses, the first being its node IP (for --nodeport-addresses and "
                "loadBalancerSourceRanges)",
                node_ip.get()),
          flag("--nfacct", "the nfacct counters exist (adds kube-proxy's -m nfacct rules)", &a->nfacct),
          flag("--no-random-fully", "iptables older than 1.6.2: MASQUERADE without --random-fully",
               &a->no_random_fully),
          flag("--conntrack-tcp-be-liberal", "nf_conntrack_tcp_be_liberal is set: no DROP rule for INVALID packets",
               &a->tcp_be_liberal),
          flag("--unit-test-config", "start from the configuration of kube-proxy's own unit tests (NewFakeProxier)",
               &a->test_fixture),
          words("FILE", "manifest files (- reads standard input)", &a->files).required()},
         [a, nodeport, node_ip](Invocation&) {
             if (!nodeport->empty()) a->nodeport_addresses = {*nodeport};
             if (!node_ip->empty()) a->node_ips = {*node_ip};
             return render(*a);
         }});
}

}  // namespace netlab::cli

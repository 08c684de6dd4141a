// kube-proxy's packet-flow tests (pkg/proxy/iptables/proxier_test.go at 531be812, see
// tests/unit/kube/README.md): the test renders the rules for its services and traces packets through
// them with a small tracer (tracePacket/runChain in that file): nat PREROUTING -> KUBE-SERVICES first
// (a DNAT there changes the destination), then the filter chains KUBE-SERVICES,
// KUBE-EXTERNAL-SERVICES, KUBE-NODEPORTS and KUBE-PROXY-FIREWALL. A probabilistic jump is followed and
// the chain goes on, so every endpoint shows; rules that check state (recent, mark, conntrack) never
// match. This file ports that tracer and the flows with their expected outputs, copied from the tests.
#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "base/ipv4.h"
#include "kube/manifest.h"
#include "kube/proxier.h"

using namespace netlab;
using namespace netlab::kube;

namespace {

struct Value {
    bool negated = false;
    std::string value;
    bool matches(const std::string& v) const { return (value == v) != negated; }
};

struct Rule {
    std::optional<Value> src, dst, src_type, dst_type, proto, dport;
    std::string jump, dnat;
    bool probability = false, state_check = false;
    std::string raw;
};

using Tables = std::map<std::string, std::map<std::string, std::vector<Rule>>>;

std::vector<std::string> words(const std::string& line) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < line.size()) {
        if (line[i] == ' ') {
            ++i;
            continue;
        }
        size_t e;
        if (line[i] == '"') {
            e = line.find('"', i + 1) + 1;
        } else {
            e = line.find(' ', i);
            if (e == std::string::npos) e = line.size();
        }
        out.push_back(line.substr(i, e - i));
        i = e;
    }
    return out;
}

Tables parse(const std::string& restore) {
    Tables t;
    std::istringstream in(restore);
    std::string table;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("*", 0) == 0) table = line.substr(1);
        if (line.rfind("-A ", 0) != 0) continue;
        auto w = words(line);
        Rule r;
        r.raw = line;
        bool neg = false;
        for (size_t i = 2; i < w.size(); ++i) {
            const auto& k = w[i];
            auto next = [&] { return Value{neg, w.at(++i)}; };
            if (k == "!") {
                neg = true;
                continue;
            }
            if (k == "-s") r.src = next();
            else if (k == "-d") r.dst = next();
            else if (k == "--src-type") r.src_type = next();
            else if (k == "--dst-type") r.dst_type = next();
            else if (k == "-p") r.proto = next();
            else if (k == "--dport") r.dport = next();
            else if (k == "-j") r.jump = w.at(++i);
            else if (k == "--to-destination") r.dnat = w.at(++i);
            else if (k == "--probability") r.probability = true;
            else if (k == "--rcheck" || k == "--mark" || k == "--ctstate") r.state_check = true;
            neg = false;
        }
        t[table][w[1]].push_back(r);
    }
    return t;
}

bool address_matches(const Value& a, const std::string& ip) {
    auto addr = parse_ipv4(ip);
    REQUIRE(addr);
    bool m;
    if (a.value.find('/') != std::string::npos) m = parse_ipv4_cidr(a.value, true)->contains(*addr);
    else m = parse_ipv4(a.value) == addr;
    return m != a.negated;
}

struct Tracer {
    const Tables& t;
    std::set<std::string> local{"127.0.0.1", "192.168.0.2", "192.168.1.2", "192.168.99.11"};  // testNodeIPs
    std::vector<std::string> outputs;
    bool masq = false;

    bool rule_matches(const Rule& r, const std::string& src, const std::string& proto, const std::string& dst,
                      const std::string& dport) const {
        if (r.src && !address_matches(*r.src, src)) return false;
        if (r.src_type && !r.src_type->matches(local.count(src) ? "LOCAL" : "not-matched")) return false;
        if (r.proto && !r.proto->matches(proto)) return false;
        if (r.dst && !address_matches(*r.dst, dst)) return false;
        if (r.dst_type && !r.dst_type->matches(local.count(dst) ? "LOCAL" : "not-matched")) return false;
        if (r.dport && !r.dport->matches(dport)) return false;
        return !r.state_check;
    }

    bool run(const std::string& table, const std::string& chain, const std::string& src, const std::string& proto,
             const std::string& dst, const std::string& dport) {
        auto tb = t.find(table);
        if (tb == t.end()) return false;
        auto c = tb->second.find(chain);
        if (c == tb->second.end()) return false;
        for (auto& r : c->second) {
            if (r.jump.empty() || !rule_matches(r, src, proto, dst, dport)) continue;
            if (r.jump == "KUBE-MARK-MASQ") {
                masq = true;
                continue;
            }
            if (r.jump == "ACCEPT" || r.jump == "REJECT" || r.jump == "DROP") {
                outputs.push_back(r.jump);
                return true;
            }
            if (r.jump == "DNAT") {
                outputs.push_back(r.dnat);
                return true;
            }
            if (run(table, r.jump, src, proto, dst, dport) && !r.probability) return true;
        }
        return false;
    }
};

struct Flow {
    std::string name, src, proto, dst;
    int port;
    std::string output;
    bool masq = false;
};

void run_flows(const std::string& yaml, const std::vector<Flow>& flows,
               ProxierConfig cfg = ProxierConfig::unit_test_fixture()) {
    Manifests m;
    parse_manifests(yaml, "flows.yaml", m);
    Tables t = parse(render_restore(m, cfg));
    for (auto& f : flows) {
        CAPTURE(f.name);
        Tracer tr{t};
        std::string proto = f.proto.empty() ? "tcp" : f.proto;
        std::string dst = f.dst, port = std::to_string(f.port);
        tr.run("nat", "KUBE-SERVICES", f.src, proto, dst, port);  // nat PREROUTING's only kube-proxy rule
        if (!tr.outputs.empty()) dst = tr.outputs[0].substr(0, tr.outputs[0].find(':'));
        for (auto c : {"KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL"})
            tr.run("filter", c, f.src, proto, dst, port);
        std::string out;
        for (auto& o : tr.outputs) out += (out.empty() ? "" : ", ") + o;
        CHECK(out == f.output);
        CHECK(tr.masq == f.masq);
    }
}

const std::string pod = "10.0.0.2", node = "192.168.0.2", external = "203.0.113.2", blocked = "203.0.113.130";

}  // namespace

TEST_CASE("TestClusterIPGeneral: several named ports, a target port, TCP, UDP and SCTP on one port") {
    run_flows(R"(
apiVersion: v1
kind: Service
metadata: {name: svc1, namespace: ns1}
spec: {clusterIP: 172.30.0.41, ports: [{name: http, port: 80, protocol: TCP}]}
---
apiVersion: v1
kind: Service
metadata: {name: svc2, namespace: ns2}
spec:
  clusterIP: 172.30.0.42
  ports:
  - {name: http, port: 80, protocol: TCP}
  - {name: https, port: 443, protocol: TCP, targetPort: 8443}
  - {name: dns-udp, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 5353}
  - {name: dns-sctp, port: 53, protocol: SCTP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc1-1, namespace: ns1, labels: {kubernetes.io/service-name: svc1}}
addressType: IPv4
endpoints: [{addresses: [10.180.0.1], nodeName: test-node}]
ports: [{name: http, port: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc2-1, namespace: ns2, labels: {kubernetes.io/service-name: svc2}}
addressType: IPv4
endpoints:
- {addresses: [10.180.0.1], nodeName: test-node}
- {addresses: [10.180.2.1], nodeName: node2}
ports:
- {name: http, port: 80, protocol: TCP}
- {name: https, port: 8443, protocol: TCP}
- {name: dns-udp, port: 53, protocol: UDP}
- {name: dns-tcp, port: 5353, protocol: TCP}
- {name: dns-sctp, port: 53, protocol: SCTP}
)",
              {
                  {"simple clusterIP", "10.180.0.2", "", "172.30.0.41", 80, "10.180.0.1:80", false},
                  {"hairpin to cluster IP", "10.180.0.1", "", "172.30.0.41", 80, "10.180.0.1:80", true},
                  {"clusterIP with multiple endpoints", "10.180.0.2", "", "172.30.0.42", 80, "10.180.0.1:80, 10.180.2.1:80"},
                  {"clusterIP with TargetPort", "10.180.0.2", "", "172.30.0.42", 443, "10.180.0.1:8443, 10.180.2.1:8443"},
                  {"TCP on shared port", "10.180.0.2", "tcp", "172.30.0.42", 53, "10.180.0.1:5353, 10.180.2.1:5353"},
                  {"UDP on shared port", "10.180.0.2", "udp", "172.30.0.42", 53, "10.180.0.1:53, 10.180.2.1:53"},
                  {"SCTP on shared port", "10.180.0.2", "sctp", "172.30.0.42", 53, "10.180.0.1:53, 10.180.2.1:53"},
                  {"TCP-only port does not match UDP traffic", "10.180.0.2", "udp", "172.30.0.42", 80, ""},
                  {"svc1 does not accept svc2's ports", "10.180.0.2", "", "172.30.0.41", 443, ""},
              });
}

TEST_CASE("TestLoadBalancer: two LB IPs, loadBalancerSourceRanges, NodePorts bypass them") {
    const std::string ep = "10.180.0.1:80";
    run_flows(R"(
apiVersion: v1
kind: Service
metadata: {name: svc1, namespace: ns1}
spec:
  type: LoadBalancer
  clusterIP: 172.30.0.41
  ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3001}]
  loadBalancerSourceRanges: [192.168.0.0/24, " 203.0.113.0/25"]
status: {loadBalancer: {ingress: [{ip: 1.2.3.4}, {ip: 5.6.7.8}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc1-1, namespace: ns1, labels: {kubernetes.io/service-name: svc1}}
addressType: IPv4
endpoints: [{addresses: [10.180.0.1]}]
ports: [{name: p80, port: 80, protocol: TCP}]
)",
              {
                  {"pod to cluster IP", pod, "", "172.30.0.41", 80, ep, false},
                  {"external to nodePort", external, "", node, 3001, ep, true},
                  {"nodePort bypasses LoadBalancerSourceRanges", blocked, "", node, 3001, ep, true},
                  {"accepted external to LB1", external, "", "1.2.3.4", 80, ep, true},
                  {"accepted external to LB2", external, "", "5.6.7.8", 80, ep, true},
                  {"blocked external to LB1", blocked, "", "1.2.3.4", 80, "DROP"},
                  {"blocked external to LB2", blocked, "", "5.6.7.8", 80, "DROP"},
                  {"pod to LB1 (blocked by LoadBalancerSourceRanges)", pod, "", "1.2.3.4", 80, "DROP"},
                  {"pod to LB2 (blocked by LoadBalancerSourceRanges)", pod, "", "5.6.7.8", 80, "DROP"},
                  {"node to LB1 (allowed by LoadBalancerSourceRanges)", node, "", "1.2.3.4", 80, ep, true},
                  {"node to LB2 (allowed by LoadBalancerSourceRanges)", node, "", "5.6.7.8", 80, ep, true},
                  {"same node to LB1, SNATted to LB1 (implicitly allowed)", "1.2.3.4", "", "1.2.3.4", 80, ep, true},
                  {"same node to LB2, SNATted to LB2 (implicitly allowed)", "5.6.7.8", "", "5.6.7.8", 80, ep, true},
              });
}

namespace {
const char* etp_service = R"(
apiVersion: v1
kind: Service
metadata: {name: svc1, namespace: ns1}
spec:
  type: LoadBalancer
  externalTrafficPolicy: POLICY
  clusterIP: 172.30.0.41
  externalIPs: [192.168.99.11]
  ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3001, targetPort: 80}]
  healthCheckNodePort: 30000
status: {loadBalancer: {ingress: [{ip: 1.2.3.4}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc1-1, namespace: ns1, labels: {kubernetes.io/service-name: svc1}}
addressType: IPv4
endpoints: [{addresses: [10.180.0.1]}, {addresses: [10.180.2.1], nodeName: test-node}]
ports: [{name: p80, port: 80, protocol: TCP}]
)";
std::string with_policy(std::string s, const std::string& p) { return s.replace(s.find("POLICY"), 6, p); }
}  // namespace

TEST_CASE("TestExternalTrafficPolicyLocal: external traffic only to the local endpoint, unmasqueraded") {
    const std::string both = "10.180.0.1:80, 10.180.2.1:80", local = "10.180.2.1:80";
    run_flows(with_policy(etp_service, "Local"),
              {
                  {"pod to cluster IP hits both endpoints, unmasqueraded", pod, "", "172.30.0.41", 80, both, false},
                  {"pod to external IP hits both endpoints, unmasqueraded", pod, "", "192.168.99.11", 80, both, false},
                  {"external to external IP hits only local endpoint, unmasqueraded", external, "", "192.168.99.11", 80, local, false},
                  {"pod to LB IP hits only both endpoints, unmasqueraded", pod, "", "1.2.3.4", 80, both, false},
                  {"external to LB IP hits only local endpoint, unmasqueraded", external, "", "1.2.3.4", 80, local, false},
                  {"pod to NodePort hits both endpoints, unmasqueraded", pod, "", node, 3001, both, false},
                  {"external to NodePort hits only local endpoint, unmasqueraded", external, "", node, 3001, local, false},
              });
}

TEST_CASE("TestExternalTrafficPolicyCluster: external traffic to every endpoint, masqueraded") {
    const std::string both = "10.180.0.1:80, 10.180.2.1:80";
    run_flows(with_policy(etp_service, "Cluster"),
              {
                  {"pod to cluster IP hits both endpoints, unmasqueraded", pod, "", "172.30.0.41", 80, both, false},
                  {"pod to external IP hits both endpoints, masqueraded", pod, "", "192.168.99.11", 80, both, true},
                  {"external to external IP hits both endpoints, masqueraded", external, "", "192.168.99.11", 80, both, true},
                  {"pod to LB IP hits both endpoints, masqueraded", pod, "", "1.2.3.4", 80, both, true},
                  {"external to LB IP hits both endpoints, masqueraded", external, "", "1.2.3.4", 80, both, true},
                  {"pod to NodePort hits both endpoints, masqueraded", pod, "", node, 3001, both, true},
                  {"external to NodePort hits both endpoints, masqueraded", external, "", node, 3001, both, true},
              });
}

TEST_CASE("TestNoEndpointsReject: every address of a service without endpoints rejects") {
    run_flows(R"(
apiVersion: v1
kind: Service
metadata: {name: svc1, namespace: ns1}
spec:
  type: LoadBalancer
  clusterIP: 172.30.0.41
  externalIPs: [192.168.99.11]
  ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3001}]
status: {loadBalancer: {ingress: [{ip: 1.2.3.4}]}}
)",
              {
                  {"pod to cluster IP with no endpoints", pod, "", "172.30.0.41", 80, "REJECT"},
                  {"external to external IP with no endpoints", external, "", "192.168.99.11", 80, "REJECT"},
                  {"pod to NodePort with no endpoints", pod, "", node, 3001, "REJECT"},
                  {"external to NodePort with no endpoints", external, "", node, 3001, "REJECT"},
                  {"pod to LoadBalancer IP with no endpoints", pod, "", "1.2.3.4", 80, "REJECT"},
                  {"external to LoadBalancer IP with no endpoints", external, "", "1.2.3.4", 80, "REJECT"},
              });
}

TEST_CASE("TestInternalTrafficPolicy: Cluster, Local with one, several and no local endpoints") {
    auto yaml = [](const std::string& policy, std::vector<std::pair<std::string, std::string>> eps) {
        std::string y = "apiVersion: v1\nkind: Service\nmetadata: {name: svc1, namespace: ns1}\nspec:\n"
                        "  clusterIP: 172.30.1.1\n  selector: {foo: bar}\n  internalTrafficPolicy: " + policy +
                        "\n  ports: [{name: \"\", port: 80, protocol: TCP}]\n";
        if (eps.empty()) return y;
        y += "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: svc1-1, namespace: ns1, "
             "labels: {kubernetes.io/service-name: svc1}}\naddressType: IPv4\nports: [{name: \"\", port: 80, "
             "protocol: TCP}]\nendpoints:\n";
        for (auto& [ip, n] : eps) y += "- {addresses: [" + ip + "], conditions: {ready: true}, nodeName: " + n + "}\n";
        return y;
    };
    const std::string vip = "172.30.1.1";
    run_flows(yaml("Cluster", {{"10.0.1.1", "test-node"}, {"10.0.1.2", "node1"}, {"10.0.1.3", "node2"}}),
              {{"pod to ClusterIP hits all endpoints", pod, "", vip, 80, "10.0.1.1:80, 10.0.1.2:80, 10.0.1.3:80"}});
    run_flows(yaml("Local", {{"10.0.1.1", "test-node"}, {"10.0.1.2", "node1"}, {"10.0.1.3", "node2"}}),
              {{"pod to ClusterIP hits only local endpoint", pod, "", vip, 80, "10.0.1.1:80"}});
    run_flows(yaml("Local", {{"10.0.1.1", "test-node"}, {"10.0.1.2", "test-node"}, {"10.0.1.3", "node2"}}),
              {{"pod to ClusterIP hits all local endpoints", pod, "", vip, 80, "10.0.1.1:80, 10.0.1.2:80"}});
    run_flows(yaml("Local", {{"10.0.1.1", "node0"}, {"10.0.1.2", "node1"}, {"10.0.1.3", "node2"}}),
              {{"no endpoints", pod, "", vip, 80, "DROP"}});
    run_flows(yaml("Local", {}), {{"endpoints deleted", pod, "", vip, 80, "REJECT"}});
}

TEST_CASE("TestTerminatingEndpointsTrafficPolicyLocal: ready first, then serving terminating, per policy") {
    struct Ep {
        std::string ip;
        bool ready, serving, terminating;
        std::string node;
    };
    auto yaml = [](std::vector<Ep> eps) {
        std::string y = R"(
apiVersion: v1
kind: Service
metadata: {name: svc1, namespace: ns1}
spec:
  clusterIP: 172.30.1.1
  type: LoadBalancer
  externalTrafficPolicy: Local
  ports: [{name: "", targetPort: 80, port: 80, protocol: TCP}]
  healthCheckNodePort: 30000
status: {loadBalancer: {ingress: [{ip: 1.2.3.4}]}}
)";
        if (eps.empty()) return y;
        y += "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: svc1-1, namespace: ns1, "
             "labels: {kubernetes.io/service-name: svc1}}\nports: [{name: \"\", port: 80, protocol: TCP}]\n"
             "addressType: IPv4\nendpoints:\n";
        auto b = [](bool v) { return std::string(v ? "true" : "false"); };
        for (auto& e : eps)
            y += "- {addresses: [" + e.ip + "], conditions: {ready: " + b(e.ready) + ", serving: " + b(e.serving) +
                 ", terminating: " + b(e.terminating) + "}, nodeName: " + e.node + "}\n";
        return y;
    };
    const std::string vip = "172.30.1.1", lb = "1.2.3.4", me = "test-node";
    SUBCASE("ready endpoints exist") {
        run_flows(yaml({{"10.0.1.1", true, true, false, me},
                        {"10.0.1.2", true, true, false, me},
                        {"10.0.1.3", false, true, true, me},
                        {"10.0.1.4", false, false, true, me},
                        {"10.0.1.5", true, true, false, "node-1"}}),
                  {{"pod to clusterIP", pod, "", vip, 80, "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80"},
                   {"external to LB", external, "", lb, 80, "10.0.1.1:80, 10.0.1.2:80"}});
    }
    SUBCASE("only terminating endpoints exist") {
        run_flows(yaml({{"10.0.1.2", false, true, true, me},
                        {"10.0.1.3", false, true, true, me},
                        {"10.0.1.4", false, false, true, me},
                        {"10.0.1.5", true, true, false, "node-1"}}),
                  {{"pod to clusterIP", pod, "", vip, 80, "10.0.1.5:80"},
                   {"external to LB", external, "", lb, 80, "10.0.1.2:80, 10.0.1.3:80"}});
    }
    SUBCASE("terminating endpoints on remote node") {
        run_flows(yaml({{"10.0.1.5", false, true, true, "node-1"}}),
                  {{"pod to clusterIP", pod, "", vip, 80, "10.0.1.5:80"},
                   {"external to LB, no locally-usable endpoints", external, "", lb, 80, "DROP"}});
    }
    SUBCASE("no usable endpoints on any node") {
        run_flows(yaml({{"10.0.1.5", false, false, true, me}, {"10.0.1.5", false, false, true, "node-1"}}),
                  {{"pod to clusterIP, no usable endpoints", pod, "", vip, 80, "REJECT"},
                   {"external to LB, no usable endpoints", external, "", lb, 80, "REJECT"}});
    }
    SUBCASE("endpoints deleted") {
        run_flows(yaml({}), {{"pod to clusterIP after endpoints deleted", pod, "", vip, 80, "REJECT"},
                             {"external to LB after endpoints deleted", external, "", lb, 80, "REJECT"}});
    }
}

TEST_CASE("TestTerminatingEndpointsTrafficPolicyCluster: serving terminating endpoints only when none is ready") {
    struct Ep {
        std::string ip;
        bool ready, serving, terminating;
        std::string node;
    };
    auto yaml = [](std::vector<Ep> eps) {
        std::string y = R"(
apiVersion: v1
kind: Service
metadata: {name: svc1, namespace: ns1}
spec:
  clusterIP: 172.30.1.1
  type: LoadBalancer
  externalTrafficPolicy: Cluster
  ports: [{name: "", targetPort: 80, port: 80, protocol: TCP}]
  healthCheckNodePort: 30000
status: {loadBalancer: {ingress: [{ip: 1.2.3.4}]}}
)";
        if (eps.empty()) return y;
        y += "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: svc1-1, namespace: ns1, "
             "labels: {kubernetes.io/service-name: svc1}}\nports: [{name: \"\", port: 80, protocol: TCP}]\n"
             "addressType: IPv4\nendpoints:\n";
        auto b = [](bool v) { return std::string(v ? "true" : "false"); };
        for (auto& e : eps)
            y += "- {addresses: [" + e.ip + "], conditions: {ready: " + b(e.ready) + ", serving: " + b(e.serving) +
                 ", terminating: " + b(e.terminating) + "}, nodeName: " + e.node + "}\n";
        return y;
    };
    const std::string vip = "172.30.1.1", lb = "1.2.3.4", me = "test-node", other = "another-node";
    SUBCASE("ready endpoints exist") {
        const std::string all = "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80";
        run_flows(yaml({{"10.0.1.1", true, true, false, me},
                        {"10.0.1.2", true, true, false, me},
                        {"10.0.1.3", false, true, true, other},
                        {"10.0.1.4", false, false, true, other},
                        {"10.0.1.5", true, true, false, other}}),
                  {{"pod to clusterIP", pod, "", vip, 80, all, false}, {"external to LB", external, "", lb, 80, all, true}});
    }
    SUBCASE("only terminating endpoints exist") {
        const std::string all = "10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80";
        run_flows(yaml({{"10.0.1.2", false, true, true, me},
                        {"10.0.1.3", false, true, true, me},
                        {"10.0.1.4", false, false, true, other},
                        {"10.0.1.5", false, true, true, other}}),
                  {{"pod to clusterIP", pod, "", vip, 80, all, false}, {"external to LB", external, "", lb, 80, all, true}});
    }
    SUBCASE("terminating endpoints on remote node") {
        run_flows(yaml({{"10.0.1.5", false, true, true, "node-1"}}),
                  {{"pod to clusterIP", pod, "", vip, 80, "10.0.1.5:80", false},
                   {"external to LB", external, "", lb, 80, "10.0.1.5:80", true}});
    }
    SUBCASE("no usable endpoints on any node") {
        run_flows(yaml({{"10.0.1.5", false, false, true, me}, {"10.0.1.5", false, false, true, "node-1"}}),
                  {{"pod to clusterIP", pod, "", vip, 80, "REJECT"}, {"external to LB", external, "", lb, 80, "REJECT"}});
    }
    SUBCASE("endpoints deleted") {
        run_flows(yaml({}), {{"pod to clusterIP after endpoints deleted", pod, "", vip, 80, "REJECT"},
                             {"external to LB after endpoints deleted", external, "", lb, 80, "REJECT"}});
    }
}

TEST_CASE("TestInternalExternalMasquerade: who is masqueraded, with and without a detector and masquerade-all") {
    const char* yaml = R"(
apiVersion: v1
kind: Service
metadata: {name: svc1, namespace: ns1}
spec:
  type: LoadBalancer
  clusterIP: 172.30.0.41
  ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3001}]
  healthCheckNodePort: 30001
status: {loadBalancer: {ingress: [{ip: 1.2.3.4}]}}
---
apiVersion: v1
kind: Service
metadata: {name: svc2, namespace: ns2}
spec:
  type: LoadBalancer
  clusterIP: 172.30.0.42
  ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3002}]
  healthCheckNodePort: 30002
  externalTrafficPolicy: Local
status: {loadBalancer: {ingress: [{ip: 5.6.7.8}]}}
---
apiVersion: v1
kind: Service
metadata: {name: svc3, namespace: ns3}
spec:
  type: LoadBalancer
  clusterIP: 172.30.0.43
  ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3003}]
  healthCheckNodePort: 30003
  internalTrafficPolicy: Local
status: {loadBalancer: {ingress: [{ip: 9.10.11.12}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc1-1, namespace: ns1, labels: {kubernetes.io/service-name: svc1}}
addressType: IPv4
endpoints: [{addresses: [10.180.0.1], nodeName: test-node}, {addresses: [10.180.1.1], nodeName: remote}]
ports: [{name: p80, port: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc2-1, namespace: ns2, labels: {kubernetes.io/service-name: svc2}}
addressType: IPv4
endpoints: [{addresses: [10.180.0.2], nodeName: test-node}, {addresses: [10.180.1.2], nodeName: remote}]
ports: [{name: p80, port: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc3-1, namespace: ns3, labels: {kubernetes.io/service-name: svc3}}
addressType: IPv4
endpoints: [{addresses: [10.180.0.3], nodeName: test-node}, {addresses: [10.180.1.3], nodeName: remote}]
ports: [{name: p80, port: 80, protocol: TCP}]
)";
    const std::string e1 = "10.180.0.1:80, 10.180.1.1:80", e2 = "10.180.0.2:80, 10.180.1.2:80",
                      e3 = "10.180.0.3:80, 10.180.1.3:80", lh = "127.0.0.1";
    const std::vector<Flow> base = {
        {"pod to ClusterIP", pod, "", "172.30.0.41", 80, e1, false},
        {"pod to NodePort", pod, "", node, 3001, e1, true},
        {"pod to LB", pod, "", "1.2.3.4", 80, e1, true},
        {"node to ClusterIP", node, "", "172.30.0.41", 80, e1, true},
        {"node to NodePort", node, "", node, 3001, e1, true},
        {"localhost to NodePort", lh, "", lh, 3001, e1, true},
        {"node to LB", node, "", "1.2.3.4", 80, e1, true},
        {"external to ClusterIP", external, "", "172.30.0.41", 80, e1, true},
        {"external to NodePort", external, "", node, 3001, e1, true},
        {"external to LB", external, "", "1.2.3.4", 80, e1, true},
        {"pod to ClusterIP with eTP:Local", pod, "", "172.30.0.42", 80, e2, false},
        {"pod to NodePort with eTP:Local", pod, "", node, 3002, e2, false},
        {"pod to LB with eTP:Local", pod, "", "5.6.7.8", 80, e2, false},
        {"node to ClusterIP with eTP:Local", node, "", "172.30.0.42", 80, e2, true},
        {"node to NodePort with eTP:Local", node, "", node, 3001, e1, true},
        {"localhost to NodePort with eTP:Local", lh, "", lh, 3002, e2, true},
        {"node to LB with eTP:Local", node, "", "5.6.7.8", 80, e2, true},
        {"external to ClusterIP with eTP:Local", external, "", "172.30.0.42", 80, e2, true},
        {"external to NodePort with eTP:Local", external, "", node, 3002, "10.180.0.2:80", false},
        {"external to LB with eTP:Local", external, "", "5.6.7.8", 80, "10.180.0.2:80", false},
        {"pod to ClusterIP with iTP:Local", pod, "", "172.30.0.43", 80, "10.180.0.3:80", false},
        {"pod to NodePort with iTP:Local", pod, "", node, 3003, e3, true},
        {"pod to LB with iTP:Local", pod, "", "9.10.11.12", 80, e3, true},
        {"node to ClusterIP with iTP:Local", node, "", "172.30.0.43", 80, "10.180.0.3:80", true},
        {"node to NodePort with iTP:Local", node, "", node, 3003, e3, true},
        {"localhost to NodePort with iTP:Local", lh, "", lh, 3003, e3, true},
        {"node to LB with iTP:Local", node, "", "9.10.11.12", 80, e3, true},
        {"external to ClusterIP with iTP:Local", external, "", "172.30.0.43", 80, "10.180.0.3:80", true},
        {"external to NodePort with iTP:Local", external, "", node, 3003, e3, true},
        {"external to LB with iTP:Local", external, "", "9.10.11.12", 80, e3, true},
    };
    // The test's per-case overrides of the base flows.
    auto with = [&](std::map<std::string, bool> masq, std::map<std::string, std::string> output) {
        auto flows = base;
        size_t applied = 0;
        for (auto& f : flows) {
            if (auto m = masq.find(f.name); m != masq.end()) f.masq = m->second, ++applied;
            if (auto o = output.find(f.name); o != output.end()) f.output = o->second, ++applied;
        }
        CHECK(applied == masq.size() + output.size());
        return flows;
    };
    const std::map<std::string, std::string> no_detector_outputs = {{"pod to NodePort with eTP:Local", "10.180.0.2:80"},
                                                                    {"pod to LB with eTP:Local", "10.180.0.2:80"}};
    const std::map<std::string, bool> all_pods_masq = {{"pod to ClusterIP", true},
                                                       {"pod to ClusterIP with eTP:Local", true},
                                                       {"pod to ClusterIP with iTP:Local", true}};
    auto cfg = ProxierConfig::unit_test_fixture();
    SUBCASE("base") { run_flows(yaml, base, cfg); }
    SUBCASE("no LocalTrafficDetector") {
        cfg.cluster_cidr.clear();
        run_flows(yaml,
                  with({{"node to ClusterIP", false},
                        {"node to ClusterIP with eTP:Local", false},
                        {"node to ClusterIP with iTP:Local", false},
                        {"external to ClusterIP", false},
                        {"external to ClusterIP with eTP:Local", false},
                        {"external to ClusterIP with iTP:Local", false}},
                       no_detector_outputs),
                  cfg);
    }
    SUBCASE("masqueradeAll") {
        cfg.masquerade_all = true;
        run_flows(yaml, with(all_pods_masq, {}), cfg);
    }
    SUBCASE("masqueradeAll, no LocalTrafficDetector") {
        cfg.masquerade_all = true;
        cfg.cluster_cidr.clear();
        run_flows(yaml, with(all_pods_masq, no_detector_outputs), cfg);
    }
}

// kube/: Kubernetes manifests in, kube-proxy's iptables-restore text out. The golden cases are
// kube-proxy's own unit tests (pkg/proxy/iptables/proxier_test.go, see tests/unit/kube/README.md):
// the same services and endpoint slices as manifest files, the expected text copied from the test,
// compared the way that test compares:
//   - assertIPTablesRulesEqual (TestOverallIPTablesRules, TestSyncProxyRulesRepeated): the output is
//     normalised with kube-proxy's sortIPTablesRules (ported as sort_restore_like_kube_proxy_tests)
//     and then compared byte for byte with the expected text;
//   - assertIPTablesChainEqual (TestMasqueradeRule, TestDropInvalidRule, TestNodePorts): the rules of
//     one chain, unsorted, byte for byte;
//   - TestSyncProxyRulesLargeClusterMode: the DNAT lines it looks for, and its counts.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "base/error.h"
#include "kube/chain_name.h"
#include "kube/manifest.h"
#include "kube/proxier.h"

using namespace netlab;
using namespace netlab::kube;

namespace {

std::string data(const std::string& name) { return std::string(KUBE_TESTDATA) + "/" + name; }

std::string slurp(const std::string& name) {
    std::ifstream in(data(name), std::ios::binary);
    REQUIRE(in);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string render(const std::string& yaml, const ProxierConfig& cfg = ProxierConfig::unit_test_fixture()) {
    return render_restore(load_manifests({data(yaml)}), cfg);
}

Manifests parse(const std::string& text) {
    Manifests m;
    parse_manifests(text, "t.yaml", m);
    return m;
}

std::string error_of(const std::string& text) {
    try {
        parse(text);
    } catch (const UsageError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("chain names are kube-proxy's: base32(sha256) of the service port name and protocol") {
    // Names that appear in kube-proxy's own expected outputs.
    CHECK(port_proto_hash("ns1/svc1:p80", "tcp") == "XPGD46QRK7WJZT7O");
    CHECK(port_proto_hash("ns2/svc2:p80", "tcp") == "GNZBNJ2PO5MGZ6GT");
    CHECK(port_proto_hash("ns2/svc2:p8080", "tcp") == "2VJB64SDSIJUP5T6");
    CHECK(endpoint_chain("ns1/svc1:p80", "tcp", "10.180.0.1:80") == "KUBE-SEP-SXIVWICOYRO3J4NJ");
    CHECK(endpoint_chain("ns5/svc5:p80", "tcp", "10.180.0.3:80") == "KUBE-SEP-I77PXRDZVX7PMWMN");
    // RFC 4648 test vector shape: 32 bytes -> 52 characters and 4 '=' of padding.
    CHECK(sha256_base32("").size() == 56);
    CHECK(sha256_base32("").substr(52) == "====");
}

TEST_CASE("TestOverallIPTablesRules: every service kind, compared after kube-proxy's sortIPTablesRules") {
    std::string out = render("overall.yaml");
    CHECK(sort_restore_like_kube_proxy_tests(out) == slurp("overall.expected"));
    // What the real proxier writes, before the test's sorting: filter then nat, chain lines first,
    // the fixed POSTROUTING/MARK-MASQ rules before the services, the NodePort tail rule last.
    CHECK(out.rfind("*filter\n:KUBE-SERVICES - [0:0]\n:KUBE-EXTERNAL-SERVICES - [0:0]\n:KUBE-FORWARD - [0:0]\n", 0) == 0);
    auto nat = out.substr(out.find("*nat\n"));
    CHECK(nat.rfind("*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-POSTROUTING - [0:0]\n"
                    ":KUBE-MARK-MASQ - [0:0]\n", 0) == 0);
    CHECK(nat.find("-A KUBE-POSTROUTING -m mark") < nat.find("-A KUBE-SERVICES"));
    auto tail = nat.find("this must be the last rule");
    CHECK(nat.find("-A KUBE-", tail) == std::string::npos);
    CHECK(out.substr(out.size() - 7) == "COMMIT\n");
}

TEST_CASE("TestSyncProxyRulesRepeated, initial sync: a kind: List as kubectl prints it") {
    CHECK(sort_restore_like_kube_proxy_tests(render("repeated.yaml")) == slurp("repeated.expected"));
}

TEST_CASE("TestMasqueradeRule: KUBE-POSTROUTING with and without --random-fully") {
    auto cfg = ProxierConfig::unit_test_fixture();
    CHECK(chain_rules(render("empty.yaml", cfg), "nat", "KUBE-POSTROUTING") == slurp("masquerade_plain.expected"));
    cfg.random_fully = true;
    CHECK(chain_rules(render("empty.yaml", cfg), "nat", "KUBE-POSTROUTING") == slurp("masquerade_random_fully.expected"));
}

TEST_CASE("TestDropInvalidRule: the INVALID drop rule with nfacct, without, and with tcp_be_liberal") {
    auto cfg = ProxierConfig::unit_test_fixture();
    cfg.nfacct = false;
    CHECK(chain_rules(render("empty.yaml", cfg), "filter", "KUBE-FORWARD") == slurp("drop_invalid.expected"));
    cfg.nfacct = true;
    CHECK(chain_rules(render("empty.yaml", cfg), "filter", "KUBE-FORWARD") == slurp("drop_invalid_nfacct.expected"));
    cfg.nfacct = false;
    cfg.conntrack_tcp_be_liberal = true;
    CHECK(chain_rules(render("empty.yaml", cfg), "filter", "KUBE-FORWARD") == slurp("drop_invalid_tcp_liberal.expected"));
}

TEST_CASE("TestNodePorts (IPv4): KUBE-FIREWALL only with localhost NodePorts") {
    auto cidrs = [](std::vector<std::string> v) {
        std::vector<Ipv4Cidr> out;
        for (auto& s : v)
            if (auto c = parse_ipv4_cidr(s, true)) out.push_back(*c);  // the IPv6 entry is another family's
        return out;
    };
    auto cfg = ProxierConfig::unit_test_fixture();
    SUBCASE("ipv4, localhost-nodeports enabled") {
        CHECK(chain_rules(render("nodeports.yaml", cfg), "filter", "KUBE-FIREWALL") == slurp("nodeports_localhost.expected"));
    }
    SUBCASE("ipv4, localhost-nodeports disabled") {
        cfg.localhost_nodeports = false;
        std::string out = render("nodeports.yaml", cfg);
        CHECK(chain_rules(out, "filter", "KUBE-FIREWALL") == slurp("nodeports_no_firewall.expected"));
        CHECK(out.find("--dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS") != std::string::npos);
    }
    SUBCASE("ipv4, localhost-nodeports disabled, localhost in nodeport-addresses") {
        cfg.localhost_nodeports = false;
        cfg.nodeport_addresses = cidrs({"192.168.0.0/24", "127.0.0.1/32"});
        std::string out = render("nodeports.yaml", cfg);
        CHECK(chain_rules(out, "filter", "KUBE-FIREWALL") == slurp("nodeports_no_firewall.expected"));
        // The test's flows: NodePorts on 192.168.0.2 only (not the alternate IP, not localhost).
        CHECK(out.find("-d 192.168.0.2 -j KUBE-NODEPORTS") != std::string::npos);
        CHECK(out.find("-d 192.168.1.2 -j KUBE-NODEPORTS") == std::string::npos);
        CHECK(out.find("-d 127.0.0.1 -j KUBE-NODEPORTS") == std::string::npos);
    }
    SUBCASE("ipv4, localhost-nodeports enabled, multiple nodeport-addresses") {
        cfg.localhost_nodeports = false;
        cfg.nodeport_addresses = cidrs({"192.168.0.0/24", "192.168.1.0/24", "2001:db8::/64"});
        std::string out = render("nodeports.yaml", cfg);
        CHECK(chain_rules(out, "filter", "KUBE-FIREWALL") == slurp("nodeports_no_firewall.expected"));
        CHECK(out.find("-d 192.168.1.2 -j KUBE-NODEPORTS") != std::string::npos);
    }
}

TEST_CASE("TestSyncProxyRulesLargeClusterMode: above 1000 endpoints the endpoint rules lose their comments") {
    auto cfg = ProxierConfig::unit_test_fixture();
    cfg.masquerade_all = true;
    auto count = [](const std::string& text, const std::string& match, std::string& matched, int& comments) {
        int n = 0;
        comments = 0;
        std::istringstream in(text);
        std::string line;
        while (std::getline(in, line))
            if (line.rfind("-A KUBE-SEP-", 0) == 0 && line.find("-j DNAT") != std::string::npos) {
                ++n;
                if (line.find("--comment") != std::string::npos) ++comments;
                if (line.find(match) != std::string::npos) matched += line + "\n";
            }
        return n;
    };
    Manifests all = load_manifests({data("large_cluster.yaml")});
    Manifests below = all;
    below.slices.pop_back();  // the test's first sync: svc3's endpoints not added yet (998 endpoints)
    std::string matched;
    int comments = 0;
    CHECK(count(render_restore(below, cfg), "10.0.0.0:", matched, comments) == 998);
    CHECK(comments == 998);
    CHECK(matched == slurp("large_cluster_below.expected"));

    matched.clear();
    std::string out = render_restore(all, cfg);
    CHECK(count(out, "10.0.0.0:", matched, comments) == 1001);
    CHECK(comments == 0);
    count(out, "203.0.113.4:", matched, comments);
    CHECK(matched == slurp("large_cluster.expected"));
}

TEST_CASE("probabilities are 1/n with ten decimals, endpoints in string order") {
    auto m = parse(R"(
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {clusterIP: 10.96.0.10, ports: [{port: 53, protocol: UDP}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s-1, labels: {kubernetes.io/service-name: s}}
addressType: IPv4
endpoints:
- addresses: [10.0.1.9]
- addresses: [10.0.1.10]
- addresses: [10.0.1.11]
  conditions: {ready: false}
- addresses: [10.0.1.8]
ports: [{port: 5353, protocol: UDP}]
)");
    std::string out = render_restore(m, ProxierConfig::unit_test_fixture());
    // Unnamed port: "default/s"; UDP; the not-ready endpoint left out; "10.0.1.10" < "10.0.1.8" < "10.0.1.9".
    auto a = out.find("\"default/s -> 10.0.1.10:5353\" -m statistic --mode random --probability 0.3333333333");
    auto b = out.find("\"default/s -> 10.0.1.8:5353\" -m statistic --mode random --probability 0.5000000000");
    auto c = out.find("\"default/s -> 10.0.1.9:5353\" -j KUBE-SEP-");
    CHECK(a != std::string::npos);
    CHECK(b != std::string::npos);
    CHECK(c != std::string::npos);
    CHECK((a < b && b < c));
    CHECK(out.find("10.0.1.11") == std::string::npos);
    CHECK(out.find("-m udp -p udp -j DNAT --to-destination 10.0.1.8:5353") != std::string::npos);
    CHECK(out.find("KUBE-SVC-" + port_proto_hash("default/s", "udp")) != std::string::npos);
}

TEST_CASE("kube-proxy's own mark format and the default configuration") {
    ProxierConfig cfg;
    CHECK(masquerade_mark(cfg) == "0x00004000");
    cfg.masquerade_bit = 0;
    CHECK(masquerade_mark(cfg) == "0x00000001");
}

TEST_CASE("manifest errors are file:line with what is wrong") {
    CHECK(error_of("kind: Service\napiVersion: v1\nmetadata: {name: a}\nspec: [1") .rfind("t.yaml:4: malformed YAML", 0) == 0);
    CHECK(error_of("apiVersion: v1\nkind: Servise\n") ==
          "t.yaml:1: unknown kind 'Servise' (did you mean 'Service'?); netlab reads Service and EndpointSlice objects");
    CHECK(error_of("apiVersion: apps/v1\nkind: Service\n") == "t.yaml:1: Service needs apiVersion v1, not 'apps/v1'");
    CHECK(error_of("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n") == "t.yaml:1: missing field spec");
    CHECK(error_of("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n"
                   "  - port: \"80\"\n") == "t.yaml:7: spec.ports[0].port: expected an integer, got '80'");
    CHECK(error_of("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n"
                   "  - port: 80\n    protocol: TPC\n") ==
          "t.yaml:8: spec.ports[0].protocol: unknown value 'TPC' (did you mean 'TCP'?); one of TCP, UDP, SCTP");
    CHECK(error_of("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: []\n") ==
          "t.yaml:5: missing field spec.clusterIP");
    CHECK(error_of("---\napiVersion: v1\nkind: Service\nmetadata:\n  name: [x]\nspec: {}\n") ==
          "t.yaml:5: metadata.name: expected a string, got a list");
    CHECK(error_of("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e}\naddressType: IPv4\n")
              .find("missing label kubernetes.io/service-name") != std::string::npos);
    CHECK(error_of("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e, labels: "
                   "{kubernetes.io/service-name: s}}\naddressType: IPv4\nendpoints:\n- addresses: [10.0.0.300]\n") ==
          "t.yaml:6: endpoints[0].addresses: '10.0.0.300' is not an IPv4 address");
    CHECK(error_of("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e, labels: "
                   "{kubernetes.io/service-name: s}}\naddressType: IPv4\nendpoints:\n- addresses: [10.0.0.3]\n"
                   "  conditions: {ready: yes please}\n") ==
          "t.yaml:7: endpoints[0].conditions.ready: expected true or false, got 'yes please'");
    CHECK(error_of("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n") ==
          "t.yaml:4: unknown kind 'Pod'; netlab reads Service and EndpointSlice objects");
    CHECK(error_of("- 1\n- 2\n") == "t.yaml:1: document: expected a mapping, got a list");
    // Odd shapes are usage errors too, never a crash or an internal error.
    for (const char* odd : {"apiVersion: v1\nkind: Service\nmetadata: x\n", "apiVersion: v1\nkind: [Service]\n",
                            "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.0.0.1, ports: 80}\n",
                            "apiVersion: v1\nkind: List\nitems: {a: b}\n", "apiVersion: v1\nkind: List\nitems: [1]\n",
                            "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.0.0.1, "
                            "sessionAffinityConfig: {clientIP: {timeoutSeconds: -5}}}\n",
                            "a: &x [*x]\n", "{", "apiVersion: v1\nkind: Service\nmetadata: {name: a, labels: {? [k]: v}}\n"})
        CHECK(error_of(odd).rfind("t.yaml:", 0) == 0);
    // A duplicate Service is caught when rendering.
    auto m = parse("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.0.0.1}\n---\n"
                   "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.0.0.2}\n");
    CHECK_THROWS_WITH_AS(render_restore(m, ProxierConfig{}), "t.yaml:6: duplicate Service default/a (first at t.yaml:1)",
                         UsageError);
}

TEST_CASE("manifests: defaults, ignored fields, empty documents") {
    auto m = parse("---\n# nothing\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a, uid: x, labels: {q: r}}\n"
                   "spec:\n  clusterIP: 10.0.0.1\n  ports: [{port: 80, targetPort: http}]\n  ipFamilies: [IPv4]\n"
                   "status: {loadBalancer: {}}\n---\n");
    REQUIRE(m.services.size() == 1);
    auto& s = m.services[0];
    CHECK(s.ns == "default");
    CHECK(s.type == "ClusterIP");
    CHECK(s.ports[0].protocol == "TCP");
    CHECK(s.ports[0].name == "");
    CHECK(s.affinity_timeout == 10800);
    CHECK(s.where == "t.yaml:4");
}

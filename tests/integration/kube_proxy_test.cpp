// netlab kube-proxy render --format save against the real tools: the restore text netlab renders is
// loaded with the real iptables-restore (iptables-nft) into a scratch network namespace
// "nlk-kp-<pid>", exactly as kube-proxy loads it (--noflush --counters), and what the real
// iptables-save lists there, without its "#" header lines and counters, must be byte for byte what
// netlab prints with --format save. The namespace is made and always deleted by this test; the root
// namespace is checked unchanged.
#include <doctest/doctest.h>

#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "kube/proxier.h"
#include "tests/integration/support.h"

using namespace netlab::test;

namespace {

std::string data(const std::string& rel) { return std::string(KUBE_TESTDATA_ROOT) + "/" + rel; }

// The scratch namespace, deleted even when an assertion fails.
class KpNetns {
public:
    KpNetns() : name_("nlk-kp-" + std::to_string(getpid())) {
        sh("ip netns del " + name_ + " 2>/dev/null");
        auto r = sh("ip netns add " + name_);
        REQUIRE_MESSAGE(r.rc == 0, r.out);
    }
    ~KpNetns() { sh("ip netns del " + name_); }
    KpNetns(const KpNetns&) = delete;
    KpNetns& operator=(const KpNetns&) = delete;
    ShResult exec(const std::string& cmd) const { return sh("ip netns exec " + name_ + " sh -c '" + cmd + "'"); }
    const std::string& name() const { return name_; }

private:
    std::string name_;
};

// Drops iptables-save's "# Generated/Completed" lines and the [packets:bytes] counters.
std::string normalise(const std::string& save) {
    static const std::regex counters(R"( \[\d+:\d+\]$)");
    std::istringstream in(save);
    std::string out;
    for (std::string l; std::getline(in, l);) {
        if (l.empty() || l[0] == '#') continue;
        out += std::regex_replace(l, counters, "") + "\n";
    }
    return out;
}

void check_case(const std::string& args) {
    CAPTURE(args);
    auto restore = netlab::test::netlab("kube-proxy render " + args);
    REQUIRE_MESSAGE(restore.rc == 0, restore.out);
    auto mine = netlab::test::netlab("kube-proxy render --format save " + args);
    REQUIRE_MESSAGE(mine.rc == 0, mine.out);
    REQUIRE(restore.out.rfind("*filter\n", 0) == 0);

    std::string file = "/tmp/nlk-kp-" + std::to_string(getpid()) + ".restore";
    {
        std::ofstream f(file);
        f << restore.out;
    }
    KpNetns ns;
    auto load = ns.exec("iptables-restore --noflush --counters < " + file);
    std::remove(file.c_str());
    REQUIRE_MESSAGE(load.rc == 0, load.out);
    auto saved = ns.exec("iptables-save");
    REQUIRE(saved.rc == 0);
    CHECK(normalise(saved.out) == normalise(mine.out));
    // The listing really holds kube-proxy's rules (not two empty outputs agreeing).
    CHECK(saved.out.find("-j KUBE-MARK-MASQ") != std::string::npos);
    CHECK(saved.out.find("-A KUBE-POSTROUTING -j MARK --set-xmark") != std::string::npos);
}

}  // namespace

TEST_CASE("render --format save is what iptables-save lists after iptables-restore of render's text") {
    const std::string root_before = root_fingerprint();
    SUBCASE("TestOverallIPTablesRules' services, kube-proxy's default flags and a cluster CIDR") {
        check_case("--cluster-cidr 10.0.0.0/8 " + data("unit/kube/overall.yaml"));
    }
    SUBCASE("a kind: List, without a local-traffic detector") {
        check_case(data("unit/kube/repeated.yaml"));
    }
    SUBCASE("TCP, UDP and SCTP ports, affinity, three endpoints, Local policies, no localhost NodePorts") {
        check_case("--cluster-cidr 10.0.0.0/16 --hostname node-a --no-localhost-nodeports --masquerade-bit 5 " +
                   data("integration/kube_proxy/mixed.yaml"));
    }
    SUBCASE("masquerade-all, --nodeport-addresses, the other node") {
        check_case("--masquerade-all --hostname node-b --nodeport-addresses 192.168.0.0/24,127.0.0.0/8 "
                   "--node-ip 192.168.0.2,10.1.1.1 " + data("integration/kube_proxy/mixed.yaml"));
    }
    SUBCASE("large-cluster mode (1001 endpoints, no endpoint comments)") {
        check_case("--masquerade-all " + data("unit/kube/large_cluster.yaml"));
    }
    CHECK(sh("ip netns list | grep -c '^nlk-kp-' || true").out == "0\n");
    CHECK(root_fingerprint() == root_before);
}

TEST_CASE("bad manifests: file:line, exit 2, nothing printed on stdout") {
    std::string file = "/tmp/nlk-kp-" + std::to_string(getpid()) + ".yaml";
    {
        std::ofstream f(file);
        f << "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n"
             "  - port: 99999\n";
    }
    auto r = netlab::test::netlab("kube-proxy render " + file);
    std::remove(file.c_str());
    CHECK(r.rc == 2);
    CHECK(r.out == "netlab: " + file + ":7: spec.ports[0].port: expected an integer 1..65535, got '99999'\n");
    auto missing = netlab::test::netlab("kube-proxy render /nonexistent/x.yaml");
    CHECK(missing.rc == 2);
}

TEST_CASE("the command line with --unit-test-config writes what kube-proxy's TestOverallIPTablesRules expects") {
    auto r = netlab::test::netlab("kube-proxy render --unit-test-config " + data("unit/kube/overall.yaml"));
    REQUIRE(r.rc == 0);
    std::ifstream f(data("unit/kube/overall.expected"));
    std::stringstream expected;
    expected << f.rdbuf();
    CHECK(netlab::kube::sort_restore_like_kube_proxy_tests(r.out) == expected.str());
}

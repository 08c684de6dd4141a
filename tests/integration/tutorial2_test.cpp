// The second tutorial, tutorials/three-backends.toml: three backends balanced with kube-proxy's
// probabilities (1/3, 1/2, then unconditional), then the misconception (every rule at 0.5) measured
// with real connections. The real iptables-nft and curl are the witnesses.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <regex>
#include <string>

#include "tests/integration/lab_support.h"
#include "tests/integration/support.h"

using namespace netlab::test;
namespace fs = std::filesystem;

namespace {

// TestLab's snapshot and cleanup know the article's namespaces; this tutorial adds netns_maya.
// Removes it (its processes, the namespace, its /etc/netns directory) even when a check fails.
struct ExtraNetns {
    std::string name;
    ~ExtraNetns() {
        sh("ip netns pids " + name + " 2>/dev/null | xargs -r kill -9; ip netns del " + name + " 2>/dev/null; rm -rf /etc/netns/" +
           name + "; true");
    }
};

// The fraction printed for `what` on the probe's "measured:" line ("netns_leah 99 (0.248)"), or -1.
double measured(const std::string& out, const std::string& what) {
    std::smatch m;
    if (!std::regex_search(out, m, std::regex("measured: .*" + what + " \\d+ \\((\\d\\.\\d+)\\)"))) return -1;
    return std::stod(m[1]);
}

// `count` new connections with the real curl, each given `max_time` seconds; the output lines are the
// pods' replies and "NOREPLY" for each connection that got none.
std::string curl_loop(const std::string& ns, int count, const std::string& max_time) {
    return sh("for i in $(seq " + std::to_string(count) + "); do ip netns exec " + ns + " curl -s --max-time " + max_time +
                  " 10.100.100.100:8080 || printf NOREPLY; echo; done",
              120)
        .out;
}

int occurrences(const std::string& text, const std::string& word) {
    int n = 0;
    for (size_t p = text.find(word); p != std::string::npos; p = text.find(word, p + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("three-backends: kube-proxy's 1/3, 1/2, rest is even; every rule at 0.5 is measured; undo is clean") {
    const std::string root_before = root_fingerprint();
    const bool etc_netns_before = fs::exists("/etc/netns");
    {
        TestLab lab("s2", "three-backends");
        ExtraNetns maya{lab.ns("netns_maya")};
        const std::string empty = lab.snapshot();

        auto r = lab.run("run --until service", 300);
        INFO(r.out);
        REQUIRE(r.rc == 0);
        CHECK(r.out.find("\u2717") == std::string::npos);
        // What the kernel stored, as the real iptables-nft prints it.
        auto svc = sh("ip netns exec " + lab.ns("netlab") + " iptables-nft -t nat -S DUSTIN-SVC-HTTP").out;
        CHECK(svc == "-N DUSTIN-SVC-HTTP\n"
                     "-A DUSTIN-SVC-HTTP -m statistic --mode random --probability 0.33333333349 -j DUSTIN-SEP-HTTP1\n"
                     "-A DUSTIN-SVC-HTTP -m statistic --mode random --probability 0.50000000000 -j DUSTIN-SEP-HTTP2\n"
                     "-A DUSTIN-SVC-HTTP -j DUSTIN-SEP-HTTP3\n");
        // The real curl from the third pod reaches all three backends (itself through hairpin).
        auto even = curl_loop(lab.ns("netns_maya"), 30, "2");
        INFO(even);
        CHECK(occurrences(even, "NOREPLY") == 0);
        for (auto* pod : {"pod netns_dustin at 10.0.0.11:8080", "pod netns_leah at 10.0.0.21:8080", "pod netns_maya at 10.0.0.31:8080"})
            CHECK(occurrences(even, pod) > 0);

        auto m = lab.run("run", 300);
        INFO(m.out);
        REQUIRE(m.rc == 0);
        CHECK(m.out.find("\u2717") == std::string::npos);
        // The misconception step prints what it measured: about 1/2, 1/4, 1/8 and 1/8 unanswered
        // (400 connections: each share is within 0.08 of its expectation at better than 4 sigma).
        std::smatch line;
        CHECK(std::regex_search(m.out, line, std::regex("measured: [^\n]*")));
        MESSAGE("every rule at 0.5, " << line.str());
        CHECK(std::fabs(measured(m.out, "netns_dustin") - 0.5) < 0.08);
        CHECK(std::fabs(measured(m.out, "netns_leah") - 0.25) < 0.08);
        CHECK(std::fabs(measured(m.out, "netns_maya") - 0.125) < 0.08);
        CHECK(std::fabs(measured(m.out, "no reply") - 0.125) < 0.08);
        // The real curl sees unanswered connections too (80 tries: all answered has chance 2e-5).
        auto half = curl_loop(lab.ns("netlab"), 80, "0.5");
        INFO(half);
        CHECK(occurrences(half, "NOREPLY") > 0);
        CHECK(occurrences(half, "pod netns_dustin at 10.0.0.11:8080") > occurrences(half, "pod netns_maya at 10.0.0.31:8080"));

        auto v = lab.run("verify", 300);
        INFO(v.out);
        CHECK(v.rc == 0);

        // Undoing the misconception puts kube-proxy's rules back.
        auto u1 = lab.run("undo");
        INFO(u1.out);
        CHECK(u1.rc == 0);
        CHECK(sh("ip netns exec " + lab.ns("netlab") + " iptables-nft -t nat -S DUSTIN-SVC-HTTP").out == svc);

        auto u = lab.run("undo --all");
        INFO(u.out);
        CHECK(u.rc == 0);
        CHECK(first_diff(empty, lab.snapshot()) == "");
        CHECK(!fs::exists("/run/netns/" + maya.name));
        CHECK(!fs::exists("/etc/netns/" + maya.name));
    }
    CHECK(fs::exists("/etc/netns") == etc_netns_before);
    CHECK(first_diff(root_before, root_fingerprint()) == "");
}

// netlab graph and netlab rules on real labs: what they show is checked against the real tools
// (iptables-nft -L, ip, bridge, ip netns pids, Graphviz's dot) and against the article's own values.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/lab_support.h"
#include "tests/integration/support.h"

using namespace netlab::test;
namespace fs = std::filesystem;

namespace {

bool has_line(const std::string& text, const std::string& line) {
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        if (l == line) return true;
    return false;
}

// The packets counted by the rules of one chain in an `iptables -L -n -v` listing.
long packets_in_chain(const std::string& listing, const std::string& chain) {
    std::istringstream in(listing);
    std::string l;
    long sum = -1;
    bool inside = false;
    while (std::getline(in, l)) {
        if (l.rfind("Chain ", 0) == 0) {
            inside = l.rfind("Chain " + chain + " (", 0) == 0;
            if (inside) sum = 0;
            continue;
        }
        if (!inside || l.empty() || l.find("pkts bytes") != std::string::npos) continue;
        sum += std::stol(l);
    }
    return sum;
}

// The packets marked "<- +N packets" on the rows ending in `match`, over all snapshots of a --watch.
long marked_packets(const std::string& watch, const std::string& match) {
    std::istringstream in(watch);
    long sum = 0;
    const std::string mark = match + "  <- +";
    for (std::string l; std::getline(in, l);)
        if (auto at = l.find(mark); at != std::string::npos) sum += std::stol(l.substr(at + mark.size()));
    return sum;
}

bool dot_installed() { return sh("command -v dot").rc == 0; }

std::string read_file(const fs::path& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

// SVG text with Graphviz's "&#45;" for '-' turned back.
std::string svg_text(const fs::path& p) {
    std::string s = read_file(p);
    for (size_t at; (at = s.find("&#45;")) != std::string::npos;) s.replace(at, 5, "-");
    return s;
}

}  // namespace

TEST_CASE("graph and rules on the whole article") {
    const std::string root_before = root_fingerprint();
    {
        TestLab lab("g1");
        auto r = lab.run("run --until random-backends", 900);
        INFO(r.out);
        REQUIRE(r.rc == 0);
        const std::string host = lab.ns("netlab"), dustin = lab.ns("netns_dustin"), leah = lab.ns("netns_leah");

        // One lab for every check below (a SUBCASE would build it again for each).
        {  // graph: the bridge with its ports, the pods, the service and its endpoints
            auto g = lab.run("graph");
            INFO(g.out);
            REQUIRE(g.rc == 0);
            bool promisc = sh("ip -n " + host + " -o link show bridge_home").out.find("PROMISC") != std::string::npos;
            auto hairpin = [&](const std::string& port) {
                return sh("bridge -n " + host + " -d link show dev " + port).out.find("hairpin on") != std::string::npos;
            };
            CHECK(has_line(g.out, "netns " + host + " (the lab host)"));
            CHECK(has_line(g.out, std::string("├── bridge_home: bridge, up, promisc ") + (promisc ? "on" : "off") + ", 10.0.0.1/24"));
            CHECK(hairpin("veth_dustin"));  // the article's hairpin step
            CHECK(has_line(g.out, "│   ├── port veth_dustin: veth, up, hairpin on, peer veth_ns_dustin in " + dustin));
            CHECK(has_line(g.out, std::string("│   └── port veth_leah: veth, up, hairpin ") + (hairpin("veth_leah") ? "on" : "off") +
                                      ", peer veth_ns_leah in " + leah));
            CHECK(has_line(g.out, "├── uplink: veth, up, 203.0.113.1/24, peer eth0 in " + lab.ns("netlab-world")));
            CHECK(has_line(g.out, "├── veth_ns_dustin: veth, up, 10.0.0.11/24, peer veth_dustin in " + host));
            CHECK(has_line(g.out, "├── default via 10.0.0.1 dev veth_ns_leah"));
            CHECK(has_line(g.out, "service 10.100.100.100:8080/tcp: nat DUSTIN-SERVICES -> DUSTIN-SVC-HTTP"));
            CHECK(has_line(g.out, "├── DUSTIN-SEP-HTTP2: probability 0.5, 50% of new connections -> DNAT 10.0.0.21:8080 -> pod netns_leah in " + leah));
            CHECK(has_line(g.out, "└── DUSTIN-SEP-HTTP1: unconditional, 50% of new connections -> DNAT 10.0.0.11:8080 -> pod netns_dustin in " + dustin));
            // The pod's pid is the process the kernel has in that namespace.
            auto pids = sh("ip netns pids " + dustin).out;
            auto at = g.out.find("pod netns_dustin on port 8080 (pid ");
            REQUIRE(at != std::string::npos);
            std::string pid = g.out.substr(at + 35, g.out.find(')', at) - at - 35);
            CHECK(has_line(pids, pid));
        }

        {  // graph --format dot is valid Graphviz with the pods and the virtual IP
            auto d = lab.run("graph --format dot");
            REQUIRE(d.rc == 0);
            CHECK(d.out.find("subgraph \"cluster_" + host + "\"") != std::string::npos);
            if (!dot_installed()) MESSAGE("skipped the Graphviz part: dot is not installed (scripts/setup installs graphviz)");
        }
        if (dot_installed()) {
            fs::path svg = lab.state_dir() / "piped.svg";
            auto s = sh(lab.cmd("graph --format dot") + " | dot -Tsvg -o " + svg.string());
            INFO(s.out);
            CHECK(s.rc == 0);
            std::string text = svg_text(svg);
            CHECK(text.find("<svg") != std::string::npos);
            for (const char* want : {"10.100.100.100:8080", "pod netns_dustin", "pod netns_leah", "DUSTIN-SEP-HTTP1", "DUSTIN-SEP-HTTP2"})
                CHECK_MESSAGE(text.find(want) != std::string::npos, want);
            fs::path out = lab.state_dir() / "direct.svg";
            auto o = lab.run("graph --output " + out.string());
            INFO(o.out);
            CHECK(o.rc == 0);
            CHECK(svg_text(out).find("pod netns_leah") != std::string::npos);
        }

        {  // rules --table nat is iptables-nft's own listing, and the SEP counters count netlab curl
            auto ours = lab.run("rules --table nat");
            REQUIRE(ours.rc == 0);
            auto theirs = sh("ip netns exec " + host + " iptables-nft -t nat -L -n -v");
            CHECK(first_diff(theirs.out, ours.out) == "");
            long sep1 = packets_in_chain(ours.out, "DUSTIN-SEP-HTTP1"), sep2 = packets_in_chain(ours.out, "DUSTIN-SEP-HTTP2");
            REQUIRE(sep1 >= 0);
            REQUIRE(sep2 >= 0);
            auto c = lab.run("curl -n 20 10.100.100.100:8080");
            INFO(c.out);
            REQUIRE(c.rc == 0);
            auto after = lab.run("rules --table nat");
            long d1 = packets_in_chain(after.out, "DUSTIN-SEP-HTTP1") - sep1, d2 = packets_in_chain(after.out, "DUSTIN-SEP-HTTP2") - sep2;
            INFO(after.out);
            CHECK(d1 + d2 == 20);  // nat rules see the first packet of each of the 20 new connections
            CHECK(d1 > 0);         // both endpoints get some: all 20 on one side has chance 2 in a million
            CHECK(d2 > 0);
            auto filter = lab.run("rules --table filter");
            CHECK(first_diff(sh("ip netns exec " + host + " iptables-nft -t filter -L -n -v").out, filter.out) == "");
        }

        {  // rules --watch prints bounded snapshots, marking what a curl in between counted
            auto bg = std::thread([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(1500));
                lab.run("curl -n 5 10.100.100.100:8080");
            });
            auto w = lab.run("rules --table nat --watch --seconds 5", 60);
            bg.join();
            INFO(w.out);
            CHECK(w.rc == 0);
            CHECK(w.out.find("\033[") == std::string::npos);  // not a terminal: no escape codes
            long snapshots = 0;
            for (size_t at = 0; (at = w.out.find("=== netns " + host, at)) != std::string::npos; ++at) ++snapshots;
            CHECK(snapshots >= 2);
            CHECK(snapshots <= 6);
            CHECK(marked_packets(w.out, "tcp dpt:8080") == 5);  // the 5 connections, in one redraw or spread over two
        }
    }
    CHECK(first_diff(root_before, root_fingerprint()) == "");
}

TEST_CASE("graph and rules on a partial lab (run --until bridge), and on a lab not built") {
    const std::string root_before = root_fingerprint();
    {
        TestLab lab("g2");
        auto none = lab.run("graph");
        CHECK(none.rc == 2);
        CHECK(none.out.find("is the lab built?") != std::string::npos);
        CHECK(lab.run("rules").rc == 2);

        auto r = lab.run("run --until bridge");
        INFO(r.out);
        REQUIRE(r.rc == 0);
        auto g = lab.run("graph");
        INFO(g.out);
        REQUIRE(g.rc == 0);
        CHECK(has_line(g.out, "├── bridge_home: bridge, down, promisc off, 10.0.0.1/24, no ports"));
        CHECK(has_line(g.out, "not made yet: " + lab.ns("netns_dustin") + ", " + lab.ns("netns_leah")));
        CHECK(has_line(g.out, "no service yet: no nat rule in " + lab.ns("netlab") + " leads a virtual IP to a DNAT"));
        CHECK(g.out.find("└── pod world on port 8080 (pid ") != std::string::npos);
        if (dot_installed()) {
            auto s = sh(lab.cmd("graph --format dot") + " | dot -Tsvg > /dev/null");
            INFO(s.out);
            CHECK(s.rc == 0);
        } else {
            MESSAGE("skipped the Graphviz part: dot is not installed (scripts/setup installs graphviz)");
        }
        auto ours = lab.run("rules --table nat");
        CHECK(ours.rc == 0);
        CHECK(first_diff(sh("ip netns exec " + lab.ns("netlab") + " iptables-nft -t nat -L -n -v").out, ours.out) == "");
    }
    CHECK(first_diff(root_before, root_fingerprint()) == "");
}

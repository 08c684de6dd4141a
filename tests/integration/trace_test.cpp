// netlab trace and netlab conntrack on real labs, with `nft monitor trace` and the `conntrack` tool
// in the lab host as independent witnesses; and no trace table left behind after a trace, a Ctrl-C
// or a crash at each of its changes.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/integration/lab_support.h"
#include "tests/integration/support.h"

using namespace netlab::test;
using nlohmann::json;

namespace {

// A witness running in the background (its output in a file), stopped by the destructor.
class Background {
public:
    Background(const std::string& ns, const std::string& cmd, const std::string& tag)
        : file_("/tmp/netlab-trace-test-" + std::to_string(::getpid()) + "-" + tag) {
        auto r = sh("ip netns exec " + ns + " " + cmd + " > " + file_ + " 2>&1 < /dev/null & echo $!");
        pid_ = std::atoi(r.out.c_str());
        std::this_thread::sleep_for(std::chrono::milliseconds(500));  // listening before the test goes on
    }
    ~Background() {
        stop();
        std::remove(file_.c_str());
    }
    void stop() {
        if (pid_ > 0) sh("kill " + std::to_string(pid_) + " 2>/dev/null; sleep 0.2; kill -9 " + std::to_string(pid_) + " 2>/dev/null; true");
        pid_ = 0;
    }
    std::string output() {
        stop();
        std::ifstream in(file_);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

private:
    std::string file_;
    int pid_ = 0;
};

std::string trace_tables(const TestLab& lab) {
    return sh("ip netns exec " + lab.ns("netlab") + " nft list tables | grep netlab_trace; true").out;
}

std::string journal(const TestLab& lab) {
    std::ifstream in(lab.state_dir() / lab.name() / "journal.toml");
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// The conntrack(8) line of the connection from source port `sport`, or "".
std::string conntrack_line(const TestLab& lab, uint16_t sport) {
    auto r = sh("ip netns exec " + lab.ns("netlab") + " conntrack -L -p tcp --sport " + std::to_string(sport) +
                " -o extended,id 2>/dev/null; true");
    std::istringstream in(r.out);
    for (std::string l; std::getline(in, l);)
        if (l.find("sport=" + std::to_string(sport) + " ") != std::string::npos) return l;
    return "";
}

json trace_json(const TestLab& lab, const std::string& args, int& rc) {
    auto r = lab.run("trace --json " + args);
    rc = r.rc;
    auto start = r.out.find('{');
    REQUIRE_MESSAGE(start != std::string::npos, r.out);
    return json::parse(r.out.substr(start, r.out.rfind('}') - start + 1));
}

}  // namespace

TEST_CASE("trace after hairpin: DNAT, veth_dustin in and out, MASQUERADE and the conntrack entry, as the witnesses saw") {
    TestLab lab("tr");
    REQUIRE(lab.run("run --until hairpin").rc == 0);
    const std::string before = sh("ip netns exec " + lab.ns("netlab") + " nft -s list ruleset").out;
    Background monitor(lab.ns("netlab"), "nft monitor trace", "mon");

    int rc = -1;
    json j = trace_json(lab, "--in netns_dustin 10.100.100.100:8080", rc);
    const std::string mon = monitor.output();
    CHECK(rc == 0);
    CHECK(j["answered"] == true);
    const uint16_t sport = j["source_port"];
    INFO(j.dump(2));

    // DNAT: the chain and target nft's monitor shows for the rule that did it.
    std::smatch m;
    REQUIRE(std::regex_search(mon, m, std::regex(R"(ip nat (\S+) rule .*dnat to (\S+) \(verdict accept\))")));
    const std::string dnat_chain = m[1], dnat_to = m[2];
    CHECK(dnat_chain == "DUSTIN-SERVICES");
    bool dnat = false, masq = false;
    const std::string ct = conntrack_line(lab, sport);
    REQUIRE_MESSAGE(!ct.empty(), "conntrack -L has no entry for source port " << sport);
    std::smatch c;
    REQUIRE(std::regex_search(ct, c, std::regex(R"(src=\S+ dst=\S+ sport=\d+ dport=\d+ src=(\S+) dst=(\S+) .*id=(\d+))")));
    for (auto& d : j["nat"]) {
        if (d["kind"] == "DNAT") {
            dnat = true;
            CHECK(d["chain"] == dnat_chain);
            CHECK(d["to"] == dnat_to);
        }
        if (d["kind"] == "MASQUERADE") {
            masq = true;
            CHECK(d["to"] == std::string(c[2]));  // the conntrack reply tuple's destination
        }
    }
    CHECK(dnat);
    CHECK(masq);
    CHECK(std::to_string(j["conntrack"]["id"].get<uint64_t>()) == std::string(c[3]));
    CHECK(j["conntrack"]["reply"]["src"] == std::string(c[1]));

    // The hairpin turn: nft saw the bridge forward the frame from veth_dustin back to veth_dustin.
    CHECK(mon.find("bridge netlab_trace fwd packet: iif \"veth_dustin\" oif \"veth_dustin\"") != std::string::npos);
    bool turn = false;
    for (auto& p : j["paths"])
        for (auto& h : p["hops"])
            if (h["family"] == "bridge" && h["hook"] == "forward" && h["in"] == "veth_dustin" && h["out"] == "veth_dustin")
                turn = true;
    CHECK(turn);

    CHECK(trace_tables(lab).empty());
    CHECK(journal(lab).find("trace-table") == std::string::npos);
    CHECK(sh("ip netns exec " + lab.ns("netlab") + " nft -s list ruleset").out == before);
}

TEST_CASE("trace after br-netfilter exits 1: DNATed back to veth_dustin, which has hairpin off") {
    TestLab lab("tb");
    REQUIRE(lab.run("run --until br-netfilter").rc == 0);
    Background monitor(lab.ns("netlab"), "nft monitor trace", "mon");
    auto r = lab.run("trace --in netns_dustin 10.100.100.100:8080");
    const std::string mon = monitor.output();
    INFO(r.out);
    CHECK(r.rc == 1);
    CHECK(sh("bridge -d link show dev veth_dustin", 10).rc != 0);  // not in the root namespace
    CHECK(sh("ip netns exec " + lab.ns("netlab") + " bridge -d link show dev veth_dustin").out.find("hairpin off") !=
          std::string::npos);
    std::smatch m;
    REQUIRE(std::regex_search(mon, m, std::regex(R"(dnat to (\S+) \(verdict accept\))")));
    CHECK(r.out.find("the SYN was DNATed to " + std::string(m[1]) + " in DUSTIN-SERVICES and never left the bridge") !=
          std::string::npos);
    CHECK(r.out.find("veth_dustin has hairpin off") != std::string::npos);
    CHECK(mon.find("netlab_trace fwd") == std::string::npos);  // nothing was forwarded
    std::smatch p;
    REQUIRE(std::regex_search(r.out, p, std::regex(R"(source port (\d+))")));
    CHECK(conntrack_line(lab, static_cast<uint16_t>(std::stoi(p[1]))).empty());  // never confirmed
    CHECK(trace_tables(lab).empty());
}

TEST_CASE("a trace while another client sends reports only its own connection") {
    TestLab lab("to");
    REQUIRE(lab.run("run --until hairpin").rc == 0);
    Background other(lab.ns("netns_leah"),
                     "sh -c 'for i in $(seq 40); do curl -s -m 1 10.100.100.100:8080 >/dev/null; done'", "load");
    int rc = -1;
    json j = trace_json(lab, "--in netns_dustin 10.100.100.100:8080", rc);
    CHECK(rc == 0);
    const uint16_t sport = j["source_port"];
    size_t packets = 0;
    for (auto& p : j["paths"])
        for (auto& h : p["hops"]) {
            if (h["packet"].is_null()) continue;
            ++packets;
            CHECK((h["packet"]["sport"] == sport || h["packet"]["dport"] == sport));
        }
    CHECK(packets > 0);
    // The other client's connections were there meanwhile (witness: conntrack, from 10.0.0.21).
    CHECK(sh("ip netns exec " + lab.ns("netlab") + " conntrack -L -s 10.0.0.21 2>/dev/null | grep -c 8080").out != "0\n");
}

TEST_CASE("no trace table is left after Ctrl-C or a crash at each change of a trace") {
    TestLab lab("tc");
    REQUIRE(lab.run("run --until hairpin").rc == 0);
    for (int n = 1; n <= 4; ++n) {
        CAPTURE(n);
        auto r = sh("NETLAB_INTERRUPT_AFTER=" + std::to_string(n) + " " + lab.cmd("trace 10.100.100.100:8080"));
        CHECK(r.rc == 130);
        CHECK(trace_tables(lab).empty());
        CHECK(journal(lab).find("trace-table") == std::string::npos);

        r = sh("NETLAB_FAULT_AFTER=" + std::to_string(n) + " " + lab.cmd("trace 10.100.100.100:8080"));
        CHECK(r.rc == 99);
        CHECK(trace_tables(lab).empty());  // the kernel removed the tables of the dead socket
        // The journal still says what the crashed trace made: the next trace cleans it up first.
        r = lab.run("trace 10.100.100.100:8080");
        CHECK(r.rc == 0);
        CHECK(journal(lab).find("trace-table") == std::string::npos);
    }
    // undo removes what a crashed trace journaled.
    auto r = sh("NETLAB_FAULT_AFTER=1 " + lab.cmd("trace 10.100.100.100:8080"));
    CHECK(r.rc == 99);
    CHECK(journal(lab).find("trace-table") != std::string::npos);
    CHECK(lab.run("undo").rc == 0);
    CHECK(journal(lab).find("trace-table") == std::string::npos);
    CHECK(trace_tables(lab).empty());
}

TEST_CASE("netlab conntrack lists what the conntrack tool lists, DNAT split over both pods") {
    TestLab lab("ct");
    REQUIRE(lab.run("run").rc == 0);
    // The entries the steps' own probes left (e.g. the unanswered tries before the DNAT existed).
    const std::string earlier = sh("ip netns exec " + lab.ns("netlab") + " conntrack -L -o id 2>/dev/null").out;
    REQUIRE(lab.run("curl -n 10 10.100.100.100:8080").rc == 0);
    auto r = lab.run("conntrack --json");
    REQUIRE(r.rc == 0);
    json entries = json::parse(r.out.substr(r.out.find('[')));
    const std::string witness = sh("ip netns exec " + lab.ns("netlab") + " conntrack -L -o id 2>/dev/null").out;
    std::map<std::string, int> backends;
    size_t vip = 0;
    for (auto& e : entries) {
        CHECK(witness.find("id=" + std::to_string(e["id"].get<uint64_t>())) != std::string::npos);
        if (e["original"]["dst"] != "10.100.100.100" || e["original"]["src"] != "203.0.113.1") continue;
        if (earlier.find("id=" + std::to_string(e["id"].get<uint64_t>()) + "\n") != std::string::npos) continue;
        ++vip;
        CHECK(e["dnat"] == true);
        ++backends[e["reply"]["src"].get<std::string>()];
        CHECK(e["translation"].get<std::string>().rfind("DNAT to " + e["reply"]["src"].get<std::string>(), 0) == 0);
    }
    CHECK(vip >= 10);
    CHECK(backends.size() == 2);  // 10 draws at 1/2 miss one pod with probability 2/1024

    auto w = sh(lab.cmd("conntrack --watch --seconds 3") + " & sleep 1; " + lab.cmd("curl -n 2 10.100.100.100:8080") +
                " >/dev/null; wait", 30);
    CHECK(w.out.find("[new] tcp") != std::string::npos);
}

TEST_CASE("ten traces from the lab host reach both endpoint chains, each naming its chain and the pod that answered") {
    TestLab lab("tt");
    REQUIRE(lab.run("run").rc == 0);
    std::map<std::string, int> chains;
    for (int i = 0; i < 10; ++i) {
        int rc = -1;
        json j = trace_json(lab, "10.100.100.100:8080", rc);
        CHECK(rc == 0);
        std::string chain, to;
        for (auto& d : j["nat"])
            if (d["kind"] == "DNAT") {
                chain = d["chain"];
                to = d["to"];
            }
        CHECK(chain.rfind("DUSTIN-SEP-HTTP", 0) == 0);
        // The pod that answered is the one behind the DNAT target (its own reply says where it is).
        CHECK(j["answer"]["pod_addr"].get<std::string>() + ":" + std::to_string(j["answer"]["pod_port"].get<int>()) == to);
        ++chains[chain];
    }
    CHECK(chains.size() == 2);  // 10 draws at 1/2 miss one chain with probability 2/1024
    CHECK(trace_tables(lab).empty());
}

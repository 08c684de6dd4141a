// The whole product, as a learner uses it: the netlab binary builds the article's network in real
// namespaces, verifies it with real traffic and undoes it. The real ip, bridge, iptables-nft and nft
// are the witnesses; every lab runs under its own --lab name with its own state directory and is
// torn down by a guard even when a check fails.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include "tests/integration/lab_support.h"
#include "tests/integration/support.h"

using namespace netlab::test;
namespace fs = std::filesystem;

namespace {}  // namespace

TEST_CASE("run --until pods builds and verifies the article's network; undo --all leaves nothing") {
    const std::string root_before = root_fingerprint();
    bool etc_netns_before = fs::exists("/etc/netns");
    {
        TestLab lab("a");
        const std::string empty = lab.snapshot();
        auto r = lab.run("run --until pods");
        INFO(r.out);
        REQUIRE(r.rc == 0);
        CHECK(r.out.find("\u2717") == std::string::npos);
        // Independent witnesses of what the article says should exist.
        CHECK(sh("ip -n " + lab.ns("netlab") + " -o link show bridge_home").out.find("bridge_home") != std::string::npos);
        CHECK(sh("ip -n " + lab.ns("netlab") + " -o link show veth_dustin").out.find("master bridge_home") != std::string::npos);
        CHECK(sh("ip -n " + lab.ns("netns_dustin") + " -4 -o addr show veth_ns_dustin").out.find("10.0.0.11/24") != std::string::npos);
        CHECK(sh("ip -n " + lab.ns("netns_leah") + " route show default").out.find("default via 10.0.0.1") != std::string::npos);
        CHECK(sh("ip netns exec " + lab.ns("netlab") + " cat /proc/sys/net/ipv4/ip_forward").out == "1\n");
        CHECK(sh("cat /etc/netns/" + lab.ns("netns_dustin") + "/resolv.conf").out == "nameserver 8.8.8.8\n");
        auto filter = sh("ip netns exec " + lab.ns("netlab") + " iptables-nft -t filter -S").out;
        CHECK(filter.find("-A FORWARD -i bridge_home -j ACCEPT\n-A FORWARD -o bridge_home -j ACCEPT") != std::string::npos);
        auto nat = sh("ip netns exec " + lab.ns("netlab") + " iptables-nft -t nat -S").out;
        CHECK(nat.find("-A POSTROUTING -s 10.0.0.0/24 -j MASQUERADE") != std::string::npos);
        // Real traffic with the real curl, as the article does.
        auto c1 = sh("ip netns exec " + lab.ns("netlab") + " curl -s --max-time 3 10.0.0.11:8080");
        CHECK(c1.out.find("pod netns_dustin at 10.0.0.11:8080") != std::string::npos);
        auto c2 = sh("ip netns exec " + lab.ns("netns_dustin") + " curl -s --max-time 3 10.0.0.21:8080");
        CHECK(c2.out.find("pod netns_leah at 10.0.0.21:8080 saw client 10.0.0.11:") != std::string::npos);
        // Running again changes nothing and says so.
        auto again = lab.run("run --until pods");
        CHECK(again.rc == 0);
        CHECK(again.out.find("already applied") != std::string::npos);
        // netlab verify reads the kernel back.
        auto v = lab.run("verify");
        INFO(v.out);
        CHECK(v.rc == 0);
        auto u = lab.run("undo --all");
        INFO(u.out);
        CHECK(u.rc == 0);
        CHECK(first_diff(empty, lab.snapshot()) == "");
    }
    CHECK(fs::exists("/etc/netns") == etc_netns_before);
    CHECK(first_diff(root_before, root_fingerprint()) == "");
}

TEST_CASE("for every step X: run --until X; undo returns exactly to the state after the step before X") {
    const std::string root_before = root_fingerprint();
    {
        TestLab lab("w");
        std::vector<std::string> snaps = {lab.snapshot()};
        for (size_t i = 0; i < kSteps.size(); ++i) {
            CAPTURE(kSteps[i]);
            auto r = lab.run("run --until " + kSteps[i]);
            INFO(r.out);
            REQUIRE(r.rc == 0);
            snaps.push_back(lab.snapshot());
            CHECK(snaps[i + 1] != snaps[i]);  // every step changes something a witness can see
            auto u = lab.run("undo");
            INFO(u.out);
            REQUIRE(u.rc == 0);
            CHECK(first_diff(snaps[i], lab.snapshot()) == "");
            auto again = lab.run("run --until " + kSteps[i] + " --no-verify");
            REQUIRE(again.rc == 0);
            CHECK(first_diff(snaps[i + 1], lab.snapshot()) == "");
        }
        auto u = lab.run("undo --all");
        CHECK(u.rc == 0);
        CHECK(first_diff(snaps[0], lab.snapshot()) == "");
    }
    CHECK(first_diff(root_before, root_fingerprint()) == "");
}

TEST_CASE("from every prefix of the step list, undo --all leaves no namespace, file or pod") {
    const std::string root_before = root_fingerprint();
    {
        TestLab lab("p");
        const std::string empty = lab.snapshot();
        for (auto& s : kSteps) {
            CAPTURE(s);
            auto r = lab.run("run --no-verify --until " + s);
            INFO(r.out);
            REQUIRE(r.rc == 0);
            auto u = lab.run("undo --all");
            INFO(u.out);
            REQUIRE(u.rc == 0);
            CHECK(first_diff(empty, lab.snapshot()) == "");
        }
    }
    CHECK(first_diff(root_before, root_fingerprint()) == "");
}

TEST_CASE("two labs run at once and undo independently") {
    TestLab a("x"), b("y");
    auto both = sh("(" + a.cmd("run --until pods") + " > /tmp/nl-two-" + a.name() + " 2>&1 & " + b.cmd("run --until pods") +
                   "; echo b=$?; wait $!; echo a=$?; cat /tmp/nl-two-" + a.name() + "; rm -f /tmp/nl-two-" + a.name() + ")", 240);
    INFO(both.out);
    CHECK(both.out.find("b=0") != std::string::npos);
    CHECK(both.out.find("a=0") != std::string::npos);
    CHECK(a.run("verify").rc == 0);
    CHECK(b.run("verify").rc == 0);
    CHECK(a.run("undo --all").rc == 0);
    CHECK(sh("ip netns list").out.find(a.ns("netlab")) == std::string::npos);
    auto vb = b.run("verify");  // b is untouched by a's undo
    INFO(vb.out);
    CHECK(vb.rc == 0);
    CHECK(b.run("undo --all").rc == 0);
    CHECK(sh("ip netns list").out.find(b.ns("netlab")) == std::string::npos);
}

TEST_CASE("the whole article replays, every verify passing, and undoes cleanly") {
    const std::string root_before = root_fingerprint();
    {
        TestLab lab("f");
        auto r = lab.run("run", 300);
        INFO(r.out);
        REQUIRE(r.rc == 0);
        CHECK(r.out.find("\u2717") == std::string::npos);
        CHECK(r.out.find("p = ") != std::string::npos);  // the balance checks print their p-values
        auto v = lab.run("verify", 300);
        INFO(v.out);
        CHECK(v.rc == 0);
        // The article's own iptables commands, typed by hand from the article, run by the real
        // iptables-nft in a scratch namespace, must list exactly what netlab left in the lab host.
        {
            ScratchNetns ref("ipt");
            const char* article[] = {
                "--table filter --append FORWARD --in-interface bridge_home --jump ACCEPT",
                "--table filter --append FORWARD --out-interface bridge_home --jump ACCEPT",
                "--table nat --append POSTROUTING --source 10.0.0.0/24 --jump MASQUERADE",
                "--table nat --new DUSTIN-SERVICES",
                "--table nat --append PREROUTING --jump DUSTIN-SERVICES",
                "--table nat --append OUTPUT --jump DUSTIN-SERVICES",
                "--table nat --append DUSTIN-SERVICES --destination 10.100.100.100 --protocol tcp --match tcp --dport 8080 --jump DNAT --to-destination 10.0.0.11:8080",
                "--table nat --new DUSTIN-SVC-HTTP",
                "--table nat --append DUSTIN-SVC-HTTP --protocol tcp --match tcp --jump DNAT --to-destination 10.0.0.11:8080",
                "--table nat --delete DUSTIN-SERVICES --destination 10.100.100.100 --protocol tcp --match tcp --dport 8080 --jump DNAT --to-destination 10.0.0.11:8080",
                "--table nat --append DUSTIN-SERVICES --destination 10.100.100.100 --protocol tcp --match tcp --dport 8080 --jump DUSTIN-SVC-HTTP",
                "--table nat --new DUSTIN-SEP-HTTP1",
                "--table nat --append DUSTIN-SEP-HTTP1 --protocol tcp --match tcp --jump DNAT --to-destination 10.0.0.11:8080",
                "--table nat --delete DUSTIN-SVC-HTTP --protocol tcp --match tcp --jump DNAT --to-destination 10.0.0.11:8080",
                "--table nat --append DUSTIN-SVC-HTTP --jump DUSTIN-SEP-HTTP1",
                "--table nat --new DUSTIN-SEP-HTTP2",
                "--table nat --append DUSTIN-SEP-HTTP2 --protocol tcp --match tcp --jump DNAT --to-destination 10.0.0.21:8080",
                "--table nat --insert DUSTIN-SVC-HTTP 1 --match statistic --mode random --probability 0.5 --jump DUSTIN-SEP-HTTP2",
            };
            for (const char* c : article) REQUIRE(ref.exec(std::string("iptables-nft ") + c).rc == 0);
            for (const char* table : {"nat", "filter"}) {
                CAPTURE(table);
                auto want = ref.exec(std::string("iptables-nft -t ") + table + " -S");
                auto got = sh("ip netns exec " + lab.ns("netlab") + " iptables-nft -t " + table + " -S");
                REQUIRE(want.rc == 0);
                bool has_dustin = want.out.find("DUSTIN") != std::string::npos;
                CHECK(has_dustin == (std::string(table) == "nat"));
                CHECK(first_diff(want.out, got.out) == "");
            }
        }
        CHECK(lab.run("undo --all").rc == 0);
        // The promisc probe's outcome is kept for the rest of the boot, keyed by the boot id: a
        // second run says where its outcome came from, and its verify still passes.
        std::string boot = sh("cat /proc/sys/kernel/random/boot_id").out;
        boot.pop_back();
        std::string kept = sh("cat " + (lab.state_dir() / "kernel-observations").string()).out;
        CHECK(kept.rfind(boot + " promisc-hairpin bridge-nf-call-iptables=1 ", 0) == 0);
        REQUIRE(lab.run("run --no-verify").rc == 0);
        CHECK(sh("grep -c 'probed earlier this boot' " + (lab.state_dir() / lab.name() / "journal.toml").string()).out == "1\n");
        auto v2 = lab.run("verify", 120);  // its own probe, whose timeout says "timed out" again
        INFO(v2.out);
        CHECK(v2.rc == 0);
        CHECK(v2.out.find("could NOT reach its own service") != std::string::npos);
        CHECK(lab.run("undo --all").rc == 0);
    }
    CHECK(first_diff(root_before, root_fingerprint()) == "");
}

TEST_CASE("exec, shell, curl, explain and status work on a built lab") {
    TestLab lab("c");
    auto r = lab.run("run --until random-backends --no-verify");
    INFO(r.out);
    REQUIRE(r.rc == 0);
    // exec runs in the lab host by default, and in a pod namespace with --in, resolv.conf bound over /etc.
    auto e1 = lab.run("exec -- ip -o link show bridge_home");
    CHECK(e1.rc == 0);
    CHECK(e1.out.find("bridge_home") != std::string::npos);
    auto e2 = lab.run("exec --in netns_dustin -- cat /etc/resolv.conf");
    CHECK(e2.out == "nameserver 8.8.8.8\n");
    auto e3 = lab.run("exec --in nowhere -- true");
    CHECK(e3.rc == 2);
    CHECK(e3.out.find("no namespace '" + lab.ns("nowhere") + "'") != std::string::npos);
    // shell: an interactive bash whose prompt says where it is.
    auto s = sh("echo 'ip -o addr show dev veth_ns_dustin; exit' | " + lab.cmd("shell --in netns_dustin"));
    CHECK(s.out.find("10.0.0.11/24") != std::string::npos);
    CHECK(s.out.find("(netlab: " + lab.ns("netns_dustin") + ")") != std::string::npos);
    // curl: one new connection per request, the distribution at the end.
    auto c = lab.run("curl -n 40 10.100.100.100:8080");
    INFO(c.out);
    CHECK(c.rc == 0);
    CHECK(c.out.find("40 requests from " + lab.ns("netlab")) != std::string::npos);
    CHECK(c.out.find("netns_dustin: ") != std::string::npos);
    CHECK(c.out.find("netns_leah: ") != std::string::npos);
    auto typo = lab.run("curl 10.100.100.100.8080");
    CHECK(typo.rc == 2);
    CHECK(typo.out.find("did you mean 10.100.100.100:8080") != std::string::npos);
    // explain prints the generated commands; status says what is applied.
    auto x = lab.run("explain hairpin");
    CHECK(x.out.find("ip netns exec " + lab.ns("netlab") + " bridge link set dev veth_dustin hairpin on") !=
          std::string::npos);
    auto st = lab.run("status --json");
    CHECK(st.out.find("\"state\":\"applied\"") != std::string::npos);
    CHECK(st.out.find("\"next\":null") != std::string::npos);
}

TEST_CASE("/etc/netns is kept while another lab has files there and removed by the last lab to leave it") {
    const bool existed = fs::exists("/etc/netns");
    TestLab a("ea"), b("eb");
    REQUIRE(a.run("run --until dns --no-verify").rc == 0);
    REQUIRE(b.run("run --until dns --no-verify").rc == 0);
    auto ua = a.run("undo --all");
    INFO(ua.out);
    CHECK(ua.rc == 0);
    CHECK(fs::exists("/etc/netns/" + b.ns("netns_dustin") + "/resolv.conf"));
    if (!existed) {
        // Lab a made /etc/netns; it cannot remove it and says whose files keep it.
        CHECK(ua.out.find("kept /etc/netns: it holds files of other labs or other programs (") != std::string::npos);
        CHECK(ua.out.find(b.ns("netns_dustin")) != std::string::npos);
    }
    auto ub = b.run("undo --all");
    INFO(ub.out);
    CHECK(ub.rc == 0);
    // Lab b did not make /etc/netns, but it is the last to leave it empty: it goes, unless someone
    // else had it before the test.
    CHECK(fs::exists("/etc/netns") == existed);
}

TEST_CASE("a /etc/netns that netlab did not make is never removed") {
    if (fs::exists("/etc/netns")) return;  // someone's own: the case below cannot be set up without touching it
    REQUIRE(fs::create_directory("/etc/netns"));  // made by "someone else": no netlab mark
    struct Drop {
        ~Drop() { std::error_code ec; fs::remove("/etc/netns", ec); }
    } drop;
    {
        TestLab a("en");
        REQUIRE(a.run("run --until dns --no-verify").rc == 0);
        CHECK(a.run("undo --all").rc == 0);
        CHECK(fs::exists("/etc/netns"));
        CHECK(fs::is_empty("/etc/netns"));
    }
}

TEST_CASE("reset removes /etc/netns when netlab made it and it is empty, and keeps one netlab did not make") {
    if (fs::exists("/etc/netns")) return;  // someone's own, or another lab's: the cases below need it absent
    SUBCASE("made by netlab: reset of a lab whose journal is lost removes it") {
        TestLab a("rm");
        REQUIRE(a.run("run --until dns --no-verify").rc == 0);
        fs::remove(a.state_dir() / a.name() / "journal.toml");
        auto r = a.run("reset");
        INFO(r.out);
        CHECK(r.rc == 0);
        CHECK(r.out.find("removed the empty directory /etc/netns") != std::string::npos);
        CHECK_FALSE(fs::exists("/etc/netns"));
    }
    SUBCASE("made by someone else: reset leaves it, empty") {
        REQUIRE(fs::create_directory("/etc/netns"));
        struct Drop {
            ~Drop() { std::error_code ec; fs::remove("/etc/netns", ec); }
        } drop;
        TestLab a("rk");
        REQUIRE(a.run("run --until dns --no-verify").rc == 0);
        fs::remove(a.state_dir() / a.name() / "journal.toml");
        auto r = a.run("reset");
        INFO(r.out);
        CHECK(r.rc == 0);
        CHECK(fs::exists("/etc/netns"));
        CHECK(fs::is_empty("/etc/netns"));
    }
}

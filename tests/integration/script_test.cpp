// `netlab script`: the printed bash script, run with the real bash, ip, bridge, sysctl and iptables,
// builds the same lab as `netlab run` (compared with the witness snapshot, lab names swapped), and
// the printed teardown removes it again. Lab A is built by scripts, lab B by netlab itself.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "tests/integration/lab_support.h"
#include "tests/integration/support.h"

using namespace netlab::test;
namespace fs = std::filesystem;

namespace {

// Prints `netlab script ARGS` of `lab` to a file and runs it with bash.
ShResult run_script(const TestLab& lab, const std::string& args, int timeout = 120) {
    fs::path f = lab.state_dir() / "script.sh";
    auto gen = lab.run("script " + args + " > " + f.string());
    if (gen.rc != 0) return gen;
    return sh("bash " + f.string(), timeout);
}

// `nft list ruleset` prints tables and chains in the order they were created: iptables-nft makes
// them one command at a time, netlab programs each step's whole ruleset in one batch, in canonical
// order. That order carries no meaning (rule order inside a chain does, and is kept): sort tables
// and chains by their header line before comparing.
std::string canonical_nft(const std::string& snapshot) {
    std::istringstream in(snapshot);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    std::string out;
    std::vector<std::pair<std::string, std::string>> tables;  // (table line, whole block) of the current run
    auto flush = [&] {
        std::sort(tables.begin(), tables.end());
        for (auto& t : tables) out += t.second;
        tables.clear();
    };
    for (size_t i = 0; i < lines.size(); ++i) {
        bool warning = lines[i].rfind("# Warning: table ", 0) == 0;
        if (!warning && lines[i].rfind("table ", 0) != 0) {
            flush();
            out += lines[i] + "\n";
            continue;
        }
        std::string block = warning ? lines[i] + "\n" : "";
        if (warning) ++i;
        const std::string key = i < lines.size() ? lines[i] : "";
        block += key + "\n";
        std::vector<std::string> chains;
        for (++i; i < lines.size() && lines[i] != "}"; ++i) {
            if (lines[i].empty()) continue;
            if (lines[i].rfind("\tchain ", 0) == 0) chains.emplace_back();
            if (chains.empty()) block += lines[i] + "\n";  // table flags and the like, before any chain
            else chains.back() += lines[i] + "\n";
        }
        std::sort(chains.begin(), chains.end());
        for (size_t c = 0; c < chains.size(); ++c) block += (c ? "\n" : "") + chains[c];
        tables.emplace_back(key, block + "}\n");
    }
    flush();
    return out;
}

// The snapshot of lab `a` as it would read for lab `b`: every name prefix swapped.
std::string renamed(const TestLab& a, const TestLab& b) {
    return canonical_nft(std::regex_replace(a.snapshot(), std::regex(a.name()), b.name()));
}

// A unified diff of two snapshots (the real `diff`), to show every difference when a check fails.
std::string full_diff(const TestLab& lab, const std::string& expected, const std::string& observed) {
    fs::path e = lab.state_dir() / "expected.txt", o = lab.state_dir() / "observed.txt";
    std::ofstream(e) << expected;
    std::ofstream(o) << observed;
    return sh("diff -u " + e.string() + " " + o.string()).out;
}

// Removes /etc/netns when it was absent before the test and is empty now: the teardown script
// keeps it on purpose (it cannot know whether it was there before), as its header says.
void drop_etc_netns_if_new(bool existed_before) {
    if (!existed_before) sh("rmdir /etc/netns 2>/dev/null; true");
}


// Counts the ip/bridge/sysctl/iptables commands of a script; `offending` gets the first line where
// one runs outside the lab's namespaces (only `ip netns add|exec|delete LAB-...` and commands
// right after `ip netns exec LAB-...` are inside; `iptables --version` only reads).
int tools_outside_lab(const std::string& script, const std::string& lab, std::string& offending) {
    static const std::set<std::string> tools = {"ip", "bridge", "sysctl", "iptables"};
    static const std::set<std::string> separators = {";", "&&", "||", "|", "do", "then", "if", "!", "else"};
    int count = 0;
    std::istringstream in(script);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> w;
        std::istringstream ws(line);
        for (std::string t; ws >> t;) w.push_back(t);
        for (size_t i = 0; i < w.size(); ++i) {
            std::string t = w[i];
            bool subshell = t.find("$(") != std::string::npos;
            if (subshell) t = t.substr(t.find("$(") + 2);
            bool after_exec = i >= 4 && w[i - 4].find("ip") != std::string::npos && w[i - 3] == "netns" && w[i - 2] == "exec";
            bool position = i == 0 || subshell || separators.count(w[i - 1]) || w[i - 1].back() == ';' || after_exec;
            if (!tools.count(t) || !position) continue;
            ++count;
            bool in_netns = after_exec && w[i - 1].rfind(lab + "-", 0) == 0;
            bool netns_op = t == "ip" && i + 3 < w.size() && w[i + 1] == "netns" &&
                            (w[i + 2] == "add" || w[i + 2] == "exec" || w[i + 2] == "delete") && w[i + 3].rfind(lab + "-", 0) == 0;
            bool version = t == "iptables" && i + 1 < w.size() && w[i + 1].rfind("--version", 0) == 0;
            if (!in_netns && !netns_op && !version && offending.empty()) offending = line;
        }
    }
    return count;
}

}  // namespace

TEST_CASE("for every step X: `script --until X` run with bash builds what `run --until X` builds") {
    const std::string root_before = root_fingerprint();
    const bool etc_netns_before = fs::exists("/etc/netns");
    auto started = std::chrono::steady_clock::now();
    {
        TestLab a("s1"), b("s2");
        // Lab a is compared with itself without the shared /etc/netns line: lab b has files there while a
        // is torn down. Whether /etc/netns is back as it was is checked at the end.
        const std::string empty_a = a.snapshot(false), empty_b = b.snapshot();
        REQUIRE(renamed(a, b) == canonical_nft(empty_b));
        for (auto& step : kSteps) {
            CAPTURE(step);
            auto r = b.run("run --until " + step);
            INFO(r.out);
            REQUIRE(r.rc == 0);
            auto s = run_script(a, "--until " + step);
            INFO(s.out);
            REQUIRE(s.rc == 0);
            CHECK(s.out.find("built: steps lab-host to " + step) != std::string::npos);
            const std::string want = canonical_nft(b.snapshot()), got = renamed(a, b);
            INFO(full_diff(a, want, got));
            CHECK(first_diff(want, got) == "");
            auto t = run_script(a, "--teardown --until " + step);
            INFO(t.out);
            REQUIRE(t.rc == 0);
            drop_etc_netns_if_new(etc_netns_before);
            CHECK(first_diff(empty_a, a.snapshot(false)) == "");
        }
        CHECK(a.run("undo --all").rc == 0);  // the script keeps no journal: nothing to undo
        auto u = b.run("undo --all");
        INFO(u.out);
        CHECK(u.rc == 0);
        CHECK(first_diff(empty_b, b.snapshot()) == "");
        CHECK(first_diff(empty_a, a.snapshot(false)) == "");
    }
    CHECK(fs::exists("/etc/netns") == etc_netns_before);
    CHECK(first_diff(root_before, root_fingerprint()) == "");
    MESSAGE("every step compared in " << std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::steady_clock::now() - started).count() << " s");
}

TEST_CASE("the per-step scripts, run one after the other, build the whole lab; the lab works") {
    const std::string root_before = root_fingerprint();
    const bool etc_netns_before = fs::exists("/etc/netns");
    {
        TestLab a("s3"), b("s4");
        const std::string empty_a = a.snapshot(false);  // without the shared /etc/netns line (lab b)
        for (auto& step : kSteps) {
            CAPTURE(step);
            auto s = run_script(a, "--step " + step);
            INFO(s.out);
            REQUIRE(s.rc == 0);
        }
        auto r = b.run("run --no-verify");
        INFO(r.out);
        REQUIRE(r.rc == 0);
        CHECK(first_diff(canonical_nft(b.snapshot()), renamed(a, b)) == "");
        // The script-built lab answers on the virtual IP from a pod (hairpin) with the real curl.
        auto c = sh("ip netns exec " + a.ns("netns_dustin") + " curl -s --max-time 3 10.100.100.100:8080");
        CHECK(std::regex_search(c.out, std::regex("^pod netns_(dustin|leah) at 10\\.0\\.0\\.(11|21):8080 saw client 10\\.0\\.0\\.")));
        // Building over an existing lab is refused before anything changes.
        const std::string built = a.snapshot();
        auto again = run_script(a, "");
        CHECK(again.rc == 1);
        CHECK(again.out.find("netns " + a.ns("netlab") + " exists already") != std::string::npos);
        CHECK(first_diff(built, a.snapshot()) == "");
        // Teardown twice: the second finds nothing and succeeds.
        auto t1 = run_script(a, "--teardown");
        INFO(t1.out);
        CHECK(t1.rc == 0);
        auto t2 = run_script(a, "--teardown");
        INFO(t2.out);
        CHECK(t2.rc == 0);
        CHECK(first_diff(empty_a, a.snapshot(false)) == "");
    }
    // Lab a's scripts made /etc/netns before lab b ran, so neither netlab (b did not make it) nor
    // the teardown script (it cannot know) removes it: the test does, once both labs are gone.
    drop_etc_netns_if_new(etc_netns_before);
    CHECK(fs::exists("/etc/netns") == etc_netns_before);
    CHECK(first_diff(root_before, root_fingerprint()) == "");
}

TEST_CASE("the script's text: header, per-step comments, no root-namespace command") {
    TestLab a("s5");
    auto r = a.run("script --until veths");
    REQUIRE(r.rc == 0);
    const std::string& s = r.out;
    CHECK(s.rfind("#!/usr/bin/env bash\n", 0) == 0);
    CHECK(s.find("\nset -euo pipefail\n") != std::string::npos);
    CHECK(s.find("netlab --lab " + a.name() + " script --teardown --until veths | sudo bash") != std::string::npos);
    CHECK(s.find("# === step 1/18 lab-host: Make the lab host and its uplink\n") != std::string::npos);
    CHECK(s.find("# === step 6/18 veths: Plug the pods into bridge_home with veth pairs\n") != std::string::npos);
    CHECK(s.find("# === step 7/18") == std::string::npos);  // nothing after --until
    // Every ip/bridge/sysctl/iptables command runs inside one of the lab's namespaces.
    std::string offending;
    int commands = tools_outside_lab(s, a.name(), offending);
    CHECK(offending == "");
    CHECK(commands > 20);
    auto bad = a.run("script --until nosuchstep");
    CHECK(bad.rc == 2);
    CHECK(bad.out.find("unknown step 'nosuchstep'") != std::string::npos);
    auto teardown = a.run("script --teardown --until veths");
    REQUIRE(teardown.rc == 0);
    CHECK(teardown.out.find("ip netns delete " + a.ns("netns_leah")) < teardown.out.find("ip netns delete " + a.ns("netlab") + ";"));
    CHECK(teardown.out.find("rm -f /etc/netns/" + a.ns("netns_dustin") + "/resolv.conf") != std::string::npos);
}

// The pods a build script starts are children of its shell. When the teardown runs in that same
// shell, a stopped pod is reaped at once and its /proc entry is gone by the next look: the
// teardown must take that as "stopped" (and not stop with an error under `set -e`).
TEST_CASE("the teardown works when its shell reaps the stopped pods at once") {
    const std::string root_before = root_fingerprint();
    const bool etc_netns_before = fs::exists("/etc/netns");
    {
        TestLab a("s6");
        const std::string empty_a = a.snapshot(false);
        const fs::path build = a.state_dir() / "build.sh", teardown = a.state_dir() / "teardown.sh";
        REQUIRE(a.run("script --until pods > " + build.string()).rc == 0);
        REQUIRE(a.run("script --teardown --until pods > " + teardown.string()).rc == 0);
        auto r = sh("bash -c '. " + build.string() + " >/dev/null 2>&1 && . " + teardown.string() + "'", 120);
        INFO(r.out);
        CHECK(r.rc == 0);
        CHECK(r.out.find("lab " + a.name() + " torn down") != std::string::npos);
        CHECK(first_diff(empty_a, a.snapshot(false)) == "");  // namespaces, files and pods gone
    }
    drop_etc_netns_if_new(etc_netns_before);
    CHECK(fs::exists("/etc/netns") == etc_netns_before);
    CHECK(first_diff(root_before, root_fingerprint()) == "");
}

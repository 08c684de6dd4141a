// Bad input never changes the machine: every mistyped step, tutorial, option, lab name and every
// malformed tutorial file is one clear line ("netlab: ...", optionally followed by one "hint: "
// line) and exit code 2, with the machine exactly as it was: the root namespace, the namespaces, the
// files under /etc/netns, the pods and the lab's state directory. Without root, netlab names the
// missing privilege and exits 1.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/integration/lab_support.h"
#include "tests/integration/support.h"

using namespace netlab::test;
namespace fs = std::filesystem;

namespace {

// True for a name of another lab's namespace ("<lab>-netns_dustin", ...) or of a scratch namespace of
// another test: labs other people run beside this test on a developer's machine. CI runs the suites
// one at a time, so there nothing is left out.
bool other_lab(const std::string& name, const TestLab& lab) {
    static const std::regex lab_ns(R"(^([a-z0-9][a-z0-9-]{0,11})-(netlab|netlab-world|netns_dustin|netns_leah)$)");
    static const std::regex scratch(R"(^nlt-\d+-.*)");
    std::smatch m;
    if (std::regex_match(name, m, lab_ns)) return m[1] != lab.name();
    return std::regex_match(name, scratch);
}

// Everything bad input must leave alone: the root namespace, the namespaces and /etc/netns entries
// (but those of other labs), the lab's pods and its state directory.
std::string machine(const TestLab& lab) {
    std::ostringstream m;
    m << "== root\n" << root_fingerprint() << "== netns\n";
    std::istringstream ns(sh("ip netns list | sed 's/ (id: [0-9]*)//' | sort").out);
    for (std::string l; std::getline(ns, l);)
        if (!other_lab(l, lab)) m << l << "\n";
    m << "== /etc/netns\n";
    std::istringstream etc(sh("ls -A /etc/netns 2>/dev/null | sort").out);
    for (std::string l; std::getline(etc, l);)
        if (!other_lab(l, lab)) m << l << ": " << sh("ls -A /etc/netns/" + l + " 2>/dev/null | tr '\\n' ' '").out << "\n";
    m << "== pods\n" << sh("pgrep -af '[n]etlab pod ' | grep -F -- '--lab " + lab.name() + " '").out;
    m << "== state dir: " << (fs::exists(lab.state_dir() / lab.name()) ? "present" : "absent") << "\n";
    return m.str();
}

// The output's lines.
std::vector<std::string> lines_of(const std::string& out) {
    std::vector<std::string> v;
    std::istringstream in(out);
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
}

struct Case {
    std::string args;      // after "netlab --lab LAB"
    std::string message;   // a part of the error line, written from the spec
    std::string tutorial;  // when not empty: the text of a tutorial file given with --tutorial
};

// The cases that need a tutorial file: each is a small tutorial with one mistake.
const char* kGoodStep = "[[step]]\nid = \"a\"\ntitle = \"A\"\n";

std::vector<Case> tutorial_cases() {
    const std::string g = kGoodStep;
    return {
        {"run", "bad.toml:2:", "[[step]]\nid = \"a\nbad = ]\n"},  // syntax error: an unterminated string
        {"run", "bad.toml:4: command 1 ('-t nat -A POSTROUTING -j MASQUERADE --random-fully'): unsupported iptables option '--random-fully'",
         g + "[[step.action]]\nkind = \"iptables\"\ncommands = [\"-t nat -A POSTROUTING -j MASQUERADE --random-fully\"]\n"},
        {"run", "bad.toml:4: unknown action kind 'bridg' (did you mean 'bridge'?)",
         g + "[[step.action]]\nkind = \"bridg\"\nname = \"br0\"\n"},
        {"run", "bad.toml:1: missing field 'title'", "[[step]]\nid = \"a\"\n[[step.action]]\nkind = \"netns\"\nname = \"x\"\n"},
        {"run", "bad.toml:4: missing field 'name'", g + "[[step.action]]\nkind = \"netns\"\n"},
        {"run", "bad IPv4 address '10.0.0.300'",
         g + "[[step.action]]\nkind = \"address\"\ndev = \"eth0\"\naddress = \"10.0.0.300/24\"\n"},
        {"run", "bad prefix length '/33'", g + "[[step.action]]\nkind = \"address\"\ndev = \"eth0\"\naddress = \"10.0.0.1/33\"\n"},
        {"run", "address '10.0.0.1' needs a prefix length",
         g + "[[step.action]]\nkind = \"address\"\ndev = \"eth0\"\naddress = \"10.0.0.1\"\n"},
        {"run", "bad.toml:7: duplicate step id 'a'",
         g + "[[step.action]]\nkind = \"netns\"\nname = \"x\"\n" + g + "[[step.action]]\nkind = \"netns\"\nname = \"y\"\n"},
        {"run", "bad.toml:4: command 1 ('-t nat -A POSTROUTING -m recent --name x -j ACCEPT'): unsupported iptables match 'recent'",
         g + "[[step.action]]\nkind = \"iptables\"\ncommands = [\"-t nat -A POSTROUTING -m recent --name x -j ACCEPT\"]\n"},
        {"run", "unknown step field 'titel' (did you mean 'title'?)",
         "[[step]]\nid = \"a\"\ntitel = \"A\"\n[[step.action]]\nkind = \"netns\"\nname = \"x\"\n"},
        {"run", "bad.toml:1: step 'a' has no [[step.action]]", g},
        {"run", "step id 'Bad_Id' must be lower-case", "[[step]]\nid = \"Bad_Id\"\ntitle = \"A\"\n[[step.action]]\nkind = \"netns\"\nname = \"x\"\n"},
        {"run", "sysctl 'kernel.pid_max' is not per network namespace",
         g + "[[step.action]]\nkind = \"sysctl\"\nkey = \"kernel.pid_max\"\nvalue = \"1\"\n"},
        {"run", "bad interface name 'a_very_long_interface_name'",
         g + "[[step.action]]\nkind = \"bridge\"\nname = \"a_very_long_interface_name\"\n"},
        {"run", "bad port 70000", g + "[[step.action]]\nkind = \"pod\"\nns = \"x\"\nport = 70000\n"},
        {"run", "a tutorial needs at least one [[step]]", "title = \"nothing\"\n"},
        {"run", "bad.toml:4: unknown field 'nmae' (did you mean 'name'?)", g + "[[step.action]]\nkind = \"netns\"\nnmae = \"x\"\n"},
    };
}

std::vector<Case> command_cases(const std::string& lab) {
    return {
        {"run --until brigde", "unknown step 'brigde' (did you mean 'bridge'?)", ""},
        {"undo --to hairpn", "unknown step 'hairpn' (did you mean 'hairpin'?)", ""},
        {"explain forwardin", "unknown step 'forwardin' (did you mean 'forwarding'?)", ""},
        {"--tutorial artcle run", "unknown tutorial 'artcle' (did you mean 'article'?)", ""},
        {"--tutorial /nonexistent/x.toml run", "tutorial file /nonexistent/x.toml does not exist", ""},
        {"rnu", "unknown command 'rnu' (did you mean 'run'?)", ""},
        {"undo --steps 0", "--steps: 0 is out of range: 1 to 1000", ""},
        {"undo --steps two", "--steps: 'two' is not a number", ""},
        {"undo --steps 2 --all", "--steps excludes --all", ""},
        {"run --frobnicate", "unknown option '--frobnicate' for 'netlab run'", ""},
        {"curl -n 0 10.100.100.100:8080", "--count: 0 is out of range: 1 to 10000", ""},
        {"curl 10.100.100.100:99999", "port \"99999\" is not a number from 1 to 65535", ""},
        {"exec --in nowhere -- true", "no namespace '" + lab + "-nowhere' in lab '" + lab + "'", ""},
        {"run --until", "--until: no value given (expected STEP)", ""},
    };
}

// Option values: each is checked by its kind before anything runs, and the message names the option.
std::vector<Case> option_value_cases() {
    return {
        {"run --until ''", "--until: empty value", ""},
        {"run --until '   '", "--until: blank value", ""},
        {"run --until BRIDGE", "--until: unknown step 'BRIDGE' (did you mean 'bridge'?)", ""},
        {"run --until \"$(printf 'bridge\\001')\"", "--until: 'bridge\\x01' has a control character", ""},
        {"run --untl bridge", "unknown option '--untl' for 'netlab run' (did you mean '--until'?)", ""},
        {"run bridge", "did you mean 'netlab run --until bridge'?", ""},
        {"undo --to ''", "--to: empty value", ""},
        {"undo --steps -1", "--steps: -1 is out of range: 1 to 1000", ""},
        {"undo --steps 99999999999999999999", "--steps: 99999999999999999999 is out of range: 1 to 1000", ""},
        {"script --step ''", "--step: empty value", ""},
        {"exec --in '' -- true", "--in: empty value", ""},
        {"exec --in \"$(printf 'caf\\303\\251')\" -- true", "--in: 'caf\\xc3\\xa9' has a control character or a non-ASCII byte", ""},
        {"graph --output ''", "--output: empty value", ""},
        {"graph --output /nonexistent-netlab-dir/lab.svg", "--output: no directory '/nonexistent-netlab-dir'", ""},
        {"graph --format svg", "--format: unknown value 'svg'", ""},
        {"curl -n many 10.100.100.100:8080", "--count: 'many' is not a number", ""},
        {"curl ''", "url: empty value", ""},
        {"quiz --answers 'one,two'", "--answers: 'one,two' is not a list of answer numbers", ""},
        {"rules --watch --seconds 0", "--seconds: 0 is out of range: 1 to 86400", ""},
        {"--tutorial '' run", "--tutorial: empty value", ""},
        {"explain ''", "step: empty value", ""},
    };
}

// Runs `cmd`, checks one error line holding `message`, exit code 2 and the machine unchanged.
void expect_rejected(const TestLab& lab, const std::string& cmd, const std::string& message, int rc,
                     const std::string& before) {
    CAPTURE(cmd);
    auto r = sh(cmd);
    INFO(r.out);
    CHECK(r.rc == rc);
    auto lines = lines_of(r.out);
    REQUIRE(!lines.empty());
    CHECK(lines[0].rfind("netlab: ", 0) == 0);
    CHECK(lines[0].find(message) != std::string::npos);
    CHECK(lines.size() <= 2);
    if (lines.size() == 2) CHECK(lines[1].rfind("hint: ", 0) == 0);
    CHECK(first_diff(before, machine(lab)) == "");
}

}  // namespace

TEST_CASE("bad input: one clear line, exit code 2, and the machine unchanged") {
    TestLab lab("b1");
    const std::string before = machine(lab);
    char tmpl[] = "/tmp/netlab-bad-XXXXXX";
    const fs::path dir = ::mkdtemp(tmpl);
    struct Rm {
        fs::path p;
        ~Rm() {
            std::error_code ec;
            fs::remove_all(p, ec);
        }
    } rm{dir};
    int count = 0;
    for (auto& c : command_cases(lab.name())) {
        expect_rejected(lab, lab.cmd(c.args), c.message, 2, before);
        ++count;
    }
    int options = 0;
    for (auto& c : option_value_cases()) {
        expect_rejected(lab, lab.cmd(c.args), c.message, 2, before);
        ++options;
    }
    CHECK(options >= 20);
    count += options;
    for (auto& c : tutorial_cases()) {
        const fs::path file = dir / "bad.toml";
        std::ofstream(file, std::ios::trunc) << c.tutorial;
        expect_rejected(lab, lab.cmd("--tutorial " + file.string() + " " + c.args), c.message, 2, before);
        ++count;
    }
    // Lab names: 1 to 12 lower-case letters, digits or '-', starting with a letter or digit.
    const std::string state = "NETLAB_STATE_DIR=" + lab.state_dir().string() + " " + netlab_bin();
    for (const char* bad : {"Bad_Name", "thirteenchars", "a/b", "--lab=.x"}) {
        std::string arg = std::string(bad).rfind("--", 0) == 0 ? bad : std::string("--lab ") + bad;
        expect_rejected(lab, state + " " + arg + " run", "invalid lab name", 2, before);
        ++count;
    }
    // --lab without its value: said so, whether nothing or the command follows it.
    expect_rejected(lab, state + " --lab", "--lab: no value given (expected a lab name)", 2, before);
    expect_rejected(lab, state + " --lab run", "--lab: no value given before the command 'run'", 2, before);
    expect_rejected(lab, state + " --lab '' run", "--lab: empty value", 2, before);
    count += 3;
    CHECK(count >= 50);
}

TEST_CASE("without root: netlab names the missing privilege, exit code 1, nothing changed") {
    TestLab lab("b2");
    const std::string before = machine(lab);
    const std::string nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups env NETLAB_STATE_DIR=" +
                               lab.state_dir().string() + " " + netlab_bin() + " --lab " + lab.name() + " ";
    for (auto [cmd, verb] : std::vector<std::pair<std::string, std::string>>{
             {"run", "run"}, {"undo --all", "undo"}, {"verify", "verify"}, {"reset", "reset"}}) {
        expect_rejected(lab, nobody + cmd, "netlab " + verb + " needs root", 1, before);
        auto r = sh(nobody + cmd);
        CHECK(r.out.find("CAP_SYS_ADMIN and CAP_NET_ADMIN") != std::string::npos);
    }
}

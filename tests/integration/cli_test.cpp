// The basics of the command line on an installed netlab (`meson install --destdir`): --version names
// the git revision git itself reports, the man page is installed, renders, and documents every
// command and option that --help lists; the bash completion is installed and completes commands,
// options, step ids, lab names and namespaces when bash runs it; `netlab labs` lists a lab with what
// the journal and the running pods say, as text and as JSON.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "tests/integration/lab_support.h"
#include "tests/integration/support.h"

using namespace netlab::test;
namespace fs = std::filesystem;

namespace {

// An installed netlab under a scratch --destdir (installed as scripts/setup does: stripped), removed afterwards; $NETLAB points at it meanwhile,
// and $NETLAB_TUTORIALS is unset so the installed tutorials are the ones found.
class Installed {
public:
    Installed() {
        char tmpl[] = "/tmp/netlab-install-XXXXXX";
        root_ = ::mkdtemp(tmpl);
        const char* build = std::getenv("NETLAB_BUILD_DIR");
        REQUIRE(build != nullptr);
        auto r = sh("meson install -C " + std::string(build) + " --no-rebuild --strip --quiet --destdir " + root_.string(), 300);
        INFO(r.out);
        REQUIRE(r.rc == 0);
        prefix_ = root_ / "usr/local";
        if (!fs::exists(prefix_ / "bin/netlab")) {  // a build configured with another prefix
            for (auto& e : fs::recursive_directory_iterator(root_))
                if (e.path().filename() == "netlab" && e.path().parent_path().filename() == "bin")
                    prefix_ = e.path().parent_path().parent_path();
        }
        if (const char* n = std::getenv("NETLAB")) old_netlab_ = n;
        if (const char* t = std::getenv("NETLAB_TUTORIALS")) old_tutorials_ = t;
        ::setenv("NETLAB", bin().c_str(), 1);
        ::unsetenv("NETLAB_TUTORIALS");
    }
    ~Installed() {
        ::setenv("NETLAB", old_netlab_.c_str(), 1);
        if (!old_tutorials_.empty()) ::setenv("NETLAB_TUTORIALS", old_tutorials_.c_str(), 1);
        std::error_code ec;
        fs::remove_all(root_, ec);
    }
    std::string bin() const { return (prefix_ / "bin/netlab").string(); }
    fs::path man() const { return prefix_ / "share/man/man1/netlab.1"; }
    fs::path completion() const { return prefix_ / "share/bash-completion/completions/netlab"; }

private:
    fs::path root_, prefix_;
    std::string old_netlab_, old_tutorials_;
};

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> v;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
}

// The subcommands `netlab --help` lists (CLI11's "Subcommands:" section).
std::vector<std::string> help_commands(const std::string& help) {
    std::vector<std::string> out;
    bool in = false;
    for (auto& l : lines_of(help)) {
        if (l.rfind("Subcommands:", 0) == 0) {
            in = true;
            continue;
        }
        std::smatch m;
        static const std::regex cmd(R"(^  (\S+)\s)");
        if (in && std::regex_search(l, m, cmd)) out.push_back(m[1]);
    }
    return out;
}

// The long options `netlab CMD --help` lists.
std::set<std::string> help_options(const std::string& help) {
    std::set<std::string> out;
    static const std::regex opt(R"(^\s+(?:-\w,)?(--[a-z-]+))");
    for (auto& l : lines_of(help)) {
        std::smatch m;
        if (std::regex_search(l, m, opt) && m[1] != "--help") out.insert(m[1]);
    }
    return out;
}

// What the installed completion offers for a command line, run by bash itself: the words up to the
// cursor in COMP_WORDS, the last one being completed.
std::set<std::string> completions(const Installed& inst, const std::string& state, const std::string& words) {
    std::string script = "export PATH=" + fs::path(inst.bin()).parent_path().string() + ":$PATH NETLAB_STATE_DIR=" +
                         state + "; . " + inst.completion().string() + "; COMP_WORDS=(" + words +
                         "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _netlab; printf '%s\\n' \"${COMPREPLY[@]}\"";
    auto r = sh("bash -c '" + std::regex_replace(script, std::regex("'"), "'\\''") + "'");
    INFO(words);
    INFO(r.out);
    CHECK(r.rc == 0);
    std::set<std::string> out;
    for (auto& l : lines_of(r.out))
        if (!l.empty()) out.insert(l);
    return out;
}

}  // namespace

TEST_CASE("installed: --version, the man page and the completion") {
    Installed inst;

    SUBCASE("--version names the version and the revision git reports") {
        auto r = sh(inst.bin() + " --version");
        CHECK(r.rc == 0);
        std::smatch m;
        std::string out = r.out;
        REQUIRE(std::regex_match(out, m, std::regex(R"(netlab (\d+\.\d+\.\d+) \(git ([0-9a-f]{7,40})(-dirty)?\)\n)")));
        const char* src = std::getenv("NETLAB_SOURCE_DIR");
        REQUIRE(src != nullptr);
        auto head = sh("git -C " + std::string(src) + " rev-parse HEAD");
        if (head.rc == 0) CHECK(head.out.rfind(m[2].str(), 0) == 0);
        CHECK(sh("grep -E \"^ *version: '" + m[1].str() + "'\" " + std::string(src) + "/meson.build").rc == 0);
    }

    SUBCASE("the installed binary has no debug information") {
        auto r = sh("readelf -S " + inst.bin() + " | grep -c '\\.debug_' || true");
        CHECK(r.out == "0\n");
        CHECK(fs::file_size(inst.bin()) < 20u * 1024 * 1024);
    }

    SUBCASE("the man page renders and documents every command and option --help lists") {
        REQUIRE(fs::exists(inst.man()));
        auto rendered = sh("MANWIDTH=200 man -l " + inst.man().string() + " 2>&1");
        CHECK(rendered.rc == 0);
        CHECK(rendered.out.find("NETLAB(1)") != std::string::npos);
        auto warnings = sh("groff -man -Tutf8 -ww -z " + inst.man().string() + " 2>&1");
        CHECK(warnings.out == "");
        auto top = sh(inst.bin() + " --help");
        auto cmds = help_commands(top.out);
        CHECK(cmds.size() >= 15);
        for (auto& c : cmds) {
            CAPTURE(c);
            std::string section = "netlab " + c;
            CHECK(rendered.out.find(section) != std::string::npos);
            for (auto& o : help_options(sh(inst.bin() + " " + c + " --help").out)) {
                CAPTURE(o);
                // The option appears in the rendered text of this command's section.
                auto at = rendered.out.find("\n   " + section);
                REQUIRE(at != std::string::npos);
                auto end = rendered.out.find("\n   netlab ", at + 1);
                CHECK(rendered.out.substr(at, end == std::string::npos ? std::string::npos : end - at).find(o) !=
                      std::string::npos);
            }
        }
        for (auto& o : help_options(top.out)) CHECK(rendered.out.find(o) != std::string::npos);
    }

    SUBCASE("bash completes commands and options") {
        REQUIRE(fs::exists(inst.completion()));
        const std::string state = "/nonexistent-netlab-state";
        CHECK(completions(inst, state, "netlab ru") == std::set<std::string>{"run", "rules"});
        CHECK(completions(inst, state, "netlab run --un") == std::set<std::string>{"--until"});
        CHECK(completions(inst, state, "netlab run --until brid") == std::set<std::string>{"bridge"});
        CHECK(completions(inst, state, "netlab explain forw") == std::set<std::string>{"forwarding", "forward-accept"});
        CHECK(completions(inst, state, "netlab graph --format ''") == std::set<std::string>{"text", "dot"});
        CHECK(completions(inst, state, "netlab --tutorial three") == std::set<std::string>{"three-backends"});
        auto all = completions(inst, state, "netlab ''");
        for (auto& c : help_commands(sh(inst.bin() + " --help").out)) CHECK(all.count(c) == 1);
    }
}

TEST_CASE("installed: labs lists each lab; completion offers its name and namespaces") {
    Installed inst;
    TestLab lab("c1");
    auto pods = [&] {
        return std::stoi(sh("pgrep -fc '[n]etlab pod --lab " + lab.name() + " ' || true").out);
    };

    // Before anything is built, the lab is not listed.
    auto none = lab.run("labs --json");
    REQUIRE(none.rc == 0);
    CHECK(nlohmann::json::parse(none.out)["labs"].size() == 0);

    auto r = lab.run("run --until bridge --no-verify");
    INFO(r.out);
    REQUIRE(r.rc == 0);
    const int running = pods();
    CHECK(running >= 1);  // the world's pod, started by the first step

    auto js = lab.run("labs --json");
    REQUIRE(js.rc == 0);
    auto doc = nlohmann::json::parse(js.out);
    REQUIRE(doc["labs"].size() == 1);
    auto l = doc["labs"][0];
    CHECK(l["name"] == lab.name());
    CHECK(l["tutorial"] == "article");
    CHECK(l["steps_applied"] == 3);
    CHECK(l["steps_total"] == static_cast<int>(kSteps.size()));
    CHECK(l["last_step"] == "bridge");
    CHECK(l["pods_running"] == running);

    auto text = lab.run("labs");
    REQUIRE(text.rc == 0);
    auto rows = lines_of(text.out);
    REQUIRE(rows.size() == 2);
    std::istringstream row(rows[1]);
    std::string name, tut, steps, last;
    int p = -1;
    row >> name >> tut >> steps >> last >> p;
    CHECK(name == lab.name());
    CHECK(tut == "article");
    CHECK(steps == "3/" + std::to_string(kSteps.size()));
    CHECK(last == "bridge");
    CHECK(p == running);

    const std::string state = lab.state_dir().string();
    CHECK(completions(inst, state, "netlab --lab " + lab.name().substr(0, 3)).count(lab.name()) == 1);
    auto ns = completions(inst, state, "netlab --lab " + lab.name() + " exec --in netns_");
    CHECK(ns == std::set<std::string>{"netns_dustin", "netns_leah"});

    // Undone, it leaves the list.
    REQUIRE(lab.run("undo --all").rc == 0);
    CHECK(pods() == 0);
    auto after = nlohmann::json::parse(lab.run("labs --json").out);
    CHECK(after["labs"].size() == 0);
}

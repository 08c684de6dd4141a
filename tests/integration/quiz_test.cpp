// `netlab quiz` against a real lab: the live questions are answered from what the pods report, the
// score comes out right for the right and the wrong answer, and it is recorded in the lab's state
// directory. The expected addresses are the spec's: after the hairpin step the pod sees the
// masqueraded bridge address 10.0.0.1, after the masquerade step the world sees 203.0.113.1.
// At a terminal (a pseudo-terminal here): the prompt says s skips and q quits, a quit keeps the steps
// answered in full, Ctrl-D quits too, and the choices are shown in the --seed's order. The
// three-backends tutorial's live questions are answered by its lab and agree with the file.
#include <doctest/doctest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "tests/integration/lab_support.h"
#include "tests/integration/support.h"

using namespace netlab::test;
namespace fs = std::filesystem;
namespace pt = boost::property_tree;

namespace {

pt::ptree parse_json(const std::string& text) {
    std::istringstream in(text);
    pt::ptree t;
    pt::read_json(in, t);
    return t;
}

std::vector<pt::ptree> questions(const pt::ptree& doc) {
    std::vector<pt::ptree> out;
    for (auto& [k, q] : doc.get_child("questions")) out.push_back(q);
    return out;
}

// The 1-based position of `choice` in a question of the JSON sheet (0 when absent).
int position(const pt::ptree& q, const std::string& choice) {
    int i = 0;
    for (auto& [k, c] : q.get_child("choices")) {
        ++i;
        if (c.data() == choice) return i;
    }
    return 0;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

size_t count(const std::string& text, const std::string& part) {
    size_t n = 0;
    for (size_t pos = text.find(part); pos != std::string::npos; pos = text.find(part, pos + 1)) ++n;
    return n;
}

const std::string kPrompt = "s skips, q quits): ";

// Runs `cmd` with /bin/sh -c on a pseudo-terminal, as a learner at a terminal would: each time the
// quiz prompts (kPrompt), the next of `inputs` is typed (a line, or "\x04" for Ctrl-D). Reads what
// it prints until it exits; bounded by `timeout_s` (then its process group is killed).
ShResult on_terminal(const std::string& cmd, const std::vector<std::string>& inputs, int timeout_s = 60) {
    ShResult r;
    int master = -1;
    pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
    if (pid < 0) throw std::runtime_error("forkpty failed");
    if (pid == 0) {
        ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    size_t typed = 0;
    std::string out;
    for (;;) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(-pid, SIGKILL);  // the child is a session (and group) leader: forkpty made it so
            out += "\n[killed after " + std::to_string(timeout_s) + " s]\n";
            break;
        }
        // Type the next input once the program is waiting for it.
        if (typed < inputs.size() && count(out, kPrompt) > typed) {
            const std::string& in = inputs[typed++];
            std::string line = in == "\x04" ? in : in + "\n";
            if (::write(master, line.data(), line.size()) < 0) break;
        }
        pollfd p{master, POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        char buf[4096];
        ssize_t n = ::read(master, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // EIO: the program exited and closed the terminal
        for (ssize_t i = 0; i < n; ++i)
            if (buf[i] != '\r') out += buf[i];
    }
    ::close(master);
    int st = 0;
    ::waitpid(pid, &st, 0);
    r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    r.out = out;
    return r;
}

// A namespace of the three-backends tutorial that TestLab's cleanup does not know by name; deleted
// (with its /etc/netns files) when the test ends, however it ends.
struct ExtraNetns {
    std::string name;
    ~ExtraNetns() {
        sh("ip netns pids " + name + " 2>/dev/null | xargs -r kill -9; ip netns del " + name +
           " 2>/dev/null; rm -rf /etc/netns/" + name + "; true");
    }
};

// A tutorial whose steps reuse the article's ids and whose live questions have no fallback answer:
// they can only be scored from the lab.
const char* kLiveOnly = R"(title = "quiz live test"
[[step]]
id = "hairpin"
title = "h"
  [[step.action]]
  kind = "netns"
  name = "netns_dustin"
  [[step.quiz]]
  question = "Which pod answers netns_leah's call to 10.100.100.100:8080?"
  choices = ["netns_leah", "netns_dustin"]
  live = { kind = "pod", from = "netns_leah", url = "10.100.100.100:8080" }
  explain = "Before random-backends the DNAT always picks 10.0.0.11."
  [[step.quiz]]
  question = "Which client address does the world's pod see when netns_leah calls it?"
  choices = ["10.0.0.21", "10.0.0.1", "203.0.113.1"]
  live = { kind = "client_addr", from = "netns_leah", url = "203.0.113.254:8080" }
  explain = "MASQUERADE on the uplink."
[[step]]
id = "random-backends"
title = "r"
  [[step.action]]
  kind = "netns"
  name = "netns_leah"
  [[step.quiz]]
  question = "Not applied yet, so not asked"
  choices = ["netns_leah", "netns_dustin"]
  live = { kind = "pod", url = "10.100.100.100:8080" }
  explain = "x"
)";

}  // namespace

TEST_CASE("quiz hairpin scores the live question from the lab and records the score") {
    const std::string root_before = root_fingerprint();
    {
        TestLab lab("q1");
        auto r = lab.run("run --until hairpin", 600);
        INFO(r.out);
        REQUIRE(r.rc == 0);

        // The trainer's sheet tells where the choices are; the right address is the spec's.
        auto sheet = lab.run("quiz hairpin --json");
        REQUIRE(sheet.rc == 0);
        auto qs = questions(parse_json(sheet.out));
        REQUIRE(qs.size() == 2);
        CHECK(qs[0].get<bool>("live"));
        CHECK(qs[0].get<std::string>("source") == "lab");
        CHECK(qs[0].get<std::string>("observed") == "10.0.0.1");
        const int bridge = position(qs[0], "10.0.0.1"), own = position(qs[0], "10.0.0.11");
        REQUIRE(bridge > 0);
        REQUIRE(own > 0);
        CHECK(qs[0].get<int>("correct") == bridge);
        const std::string flag = std::to_string(qs[1].get<int>("correct"));

        auto right = lab.run("quiz hairpin --answers " + std::to_string(bridge) + "," + flag);
        INFO(right.out);
        CHECK(right.rc == 0);
        CHECK(has(right.out, "(checked against the lab: it reported 10.0.0.1)"));
        CHECK(has(right.out, "Score: 2/2\n"));

        auto wrong = lab.run("quiz hairpin --answers " + std::to_string(own) + "," + flag);
        INFO(wrong.out);
        CHECK(wrong.rc == 0);  // the quiz ran: exit 0 whatever the score
        CHECK(has(wrong.out, "Wrong: the answer is " + std::to_string(bridge) + ") 10.0.0.1."));
        CHECK(has(wrong.out, "Score: 1/2\n"));

        auto scores = toml::parse_file((lab.state_dir() / lab.name() / "quiz.toml").string());
        auto h = scores["article"]["hairpin"];
        CHECK(h["last_right"].value_or(-1) == 1);
        CHECK(h["last_of"].value_or(-1) == 2);
        CHECK(h["best_right"].value_or(-1) == 2);
        CHECK(h["best_of"].value_or(-1) == 2);
        CHECK(h["attempts"].value_or(-1) == 2);

        auto json = lab.run("quiz hairpin --json --answers " + std::to_string(own) + "," + flag);
        INFO(json.out);
        REQUIRE(json.rc == 0);
        auto doc = parse_json(json.out);
        CHECK(doc.get<std::string>("lab") == lab.name());
        CHECK(doc.get<std::string>("tutorial") == "article");
        CHECK(doc.get<int>("score.right") == 1);
        CHECK(doc.get<int>("score.of") == 2);
        CHECK(doc.get<bool>("recorded"));
        auto jq = questions(doc);
        REQUIRE(jq.size() == 2);
        CHECK(jq[0].get<int>("given") == own);
        CHECK(jq[0].get<int>("correct") == bridge);
        CHECK(!jq[0].get<bool>("right"));
        CHECK(jq[0].get<std::string>("explain").size() > 20);
        CHECK(jq[1].get<bool>("right"));

        auto shown = lab.run("quiz --scores");
        CHECK(has(shown.out, "last 1/2  best 2/2  (3 attempts)"));

        // A wrong count of answers is a usage error, and records nothing.
        auto count = lab.run("quiz hairpin --answers " + std::to_string(bridge));
        CHECK(count.rc == 2);
        CHECK(has(count.out, "--answers gives 1 answer(s) for 2 question(s)"));
        CHECK(toml::parse_file((lab.state_dir() / lab.name() / "quiz.toml").string())["article"]["hairpin"]["attempts"]
                  .value_or(-1) == 3);

        // Without a step: the questions of every applied step, the masquerade one live (203.0.113.1).
        auto all = questions(parse_json(lab.run("quiz --json").out));
        std::set<std::string> steps;
        for (auto& q : all) {
            steps.insert(q.get<std::string>("step"));
            if (q.get<std::string>("step") == "masquerade" && q.get<bool>("live")) {
                CHECK(q.get<std::string>("observed") == "203.0.113.1");
                CHECK(q.get<int>("correct") == position(q, "203.0.113.1"));
            }
        }
        CHECK(steps.count("masquerade") == 1);
        CHECK(steps.count("hairpin") == 1);
        CHECK(steps.count("promisc") == 0);  // not applied
        CHECK(steps.size() == 14);

        // Live questions without a fallback: only the lab can score them.
        fs::path tut = lab.state_dir() / "quizlive.toml";
        std::ofstream(tut) << kLiveOnly;
        auto live = lab.run("--tutorial " + tut.string() + " quiz hairpin --answers 2,3");
        INFO(live.out);
        CHECK(live.rc == 0);
        CHECK(has(live.out, "(checked against the lab: it reported netns_dustin)"));
        CHECK(has(live.out, "(checked against the lab: it reported 203.0.113.1)"));
        CHECK(has(live.out, "Score: 2/2\n"));
        auto live_wrong = lab.run("--tutorial " + tut.string() + " quiz hairpin --answers 1,1");
        CHECK(has(live_wrong.out, "Score: 0/2\n"));
        auto not_applied = lab.run("--tutorial " + tut.string() + " quiz random-backends --answers 1");
        CHECK(not_applied.rc == 2);
        CHECK(has(not_applied.out, "step 'random-backends' is not applied in this lab"));
    }
    CHECK(root_fingerprint() == root_before);
}

TEST_CASE("quiz at a terminal: s skips, q quits, every step answered in full is already recorded") {
    const std::string root_before = root_fingerprint();
    {
        TestLab lab("q2");
        auto r = lab.run("run --until netns", 300);
        INFO(r.out);
        REQUIRE(r.rc == 0);

        // The sheet for seed 42 says where each right answer is shown; the terminal shows the same order.
        auto sheet = lab.run("quiz --json --seed 42");
        REQUIRE(sheet.rc == 0);
        auto doc = parse_json(sheet.out);
        CHECK(doc.get<bool>("shuffled"));
        auto qs = questions(doc);
        REQUIRE(qs.size() == 6);  // lab-host 2, forwarding 1, bridge 1, netns 2
        CHECK(qs[0].get<std::string>("step") == "lab-host");
        CHECK(qs[1].get<std::string>("step") == "lab-host");
        CHECK(qs[2].get<std::string>("step") == "forwarding");
        const std::string right0 = std::to_string(qs[0].get<int>("correct"));
        const std::string right2 = std::to_string(qs[2].get<int>("correct"));

        // Right, skip, right, then quit at the fourth question (bridge).
        auto t = on_terminal(lab.cmd("quiz --seed 42"), {right0, "s", right2, "q"});
        INFO(t.out);
        CHECK(t.rc == 0);  // the learner chose to stop
        CHECK(count(t.out, "Your answer (1-") == 4);
        CHECK(has(t.out, "Your answer (1-4, s skips, q quits): "));
        std::string listed;
        int i = 0;
        for (auto& [k, c] : qs[0].get_child("choices")) listed += "  " + std::to_string(++i) + ") " + c.data() + "\n";
        CHECK(has(t.out, listed));  // the seed's order, as the sheet lists it
        CHECK(has(t.out, "Skipped (not counted as right; `netlab quiz lab-host` asks it again)."));
        CHECK(has(t.out, "Quit after 3 of 6 question(s): 2 right.\n"));
        CHECK(has(t.out, "Recorded the steps answered in full: lab-host, forwarding"));
        CHECK(!has(t.out, "Score:"));

        fs::path file = lab.state_dir() / lab.name() / "quiz.toml";
        auto scores = toml::parse_file(file.string());
        auto lh = scores["article"]["lab-host"];
        CHECK(lh["last_right"].value_or(-1) == 1);
        CHECK(lh["last_of"].value_or(-1) == 2);
        CHECK(lh["attempts"].value_or(-1) == 1);
        // The choice picked, as the tutorial numbers it (not as it was shown), and 0 for the skip.
        CHECK(lh["last_given"][0].value_or(-1) == qs[0].get<int>("correct_original"));
        CHECK(lh["last_given"][1].value_or(-1) == 0);
        CHECK(scores["article"]["forwarding"]["last_right"].value_or(-1) == 1);
        CHECK(!scores["article"]["bridge"]);  // quit before its question was answered
        CHECK(!scores["article"]["netns"]);

        // Ctrl-D half-way through a step quits too; that step is not recorded, the earlier ones stay.
        auto d = on_terminal(lab.cmd("quiz lab-host"), {"1", "\x04"});
        INFO(d.out);
        CHECK(d.rc == 0);
        CHECK(has(d.out, "Quit after 1 of 2 question(s)"));
        CHECK(has(d.out, "Nothing recorded: no step's questions were all answered."));
        auto again = toml::parse_file(file.string());
        CHECK(again["article"]["lab-host"]["attempts"].value_or(-1) == 1);
        CHECK(again["article"]["forwarding"]["attempts"].value_or(-1) == 1);

        // Without a terminal and without --answers the quiz refuses (exit 2), as before.
        auto none = lab.run("quiz lab-host < /dev/null");
        CHECK(none.rc == 2);
        // --answers numbers the choices as the tutorial does; with --seed, as the seed shows them.
        auto plain = questions(parse_json(lab.run("quiz lab-host --json").out));
        REQUIRE(plain.size() == 2);
        CHECK(plain[0].get<int>("correct") == plain[0].get<int>("correct_original"));
        auto scripted = lab.run("quiz lab-host --seed 42 --answers " + right0 + ",s");
        INFO(scripted.out);
        CHECK(has(scripted.out, "Right."));
        CHECK(has(scripted.out, "Score: 1/2 (1 skipped)\n"));
        auto bad_seed = lab.run("quiz lab-host --seed nine --answers 1,1");
        CHECK(bad_seed.rc == 2);
        CHECK(has(bad_seed.out, "--seed: 'nine' is not a number"));
    }
    CHECK(root_fingerprint() == root_before);
}

TEST_CASE("three-backends: the live quiz answers come from its lab and agree with the tutorial") {
    const std::string root_before = root_fingerprint();
    {
        TestLab lab("q3", "three-backends");
        ExtraNetns maya{lab.name() + "-netns_maya"};
        auto r = lab.run("run --until service", 600);
        INFO(r.out);
        REQUIRE(r.rc == 0);
        auto qs = questions(parse_json(lab.run("quiz --json").out));
        const char* dir = std::getenv("NETLAB_TUTORIALS");
        REQUIRE_MESSAGE(dir != nullptr, "run through `meson test`, which sets NETLAB_TUTORIALS");
        auto tut = toml::parse_file(std::string(dir) + "/three-backends.toml");
        // The spec's addresses: MASQUERADE on the uplink; the bridge's address for pod-to-pod traffic
        // once bridge netfilter is on, and for a pod calling the service.
        const std::map<std::string, std::string> expected = {
            {"masquerade", "203.0.113.1"}, {"hairpin", "10.0.0.1"}, {"service", "10.0.0.1"}};
        std::set<std::string> seen;
        int compared = 0;
        for (auto& q : qs) {
            if (!q.get<bool>("live")) continue;
            const std::string step = q.get<std::string>("step");
            INFO(step << ": " << q.get<std::string>("question"));
            REQUIRE(expected.count(step) == 1);
            seen.insert(step);
            CHECK(q.get<std::string>("source") == "lab");
            CHECK(q.get<std::string>("observed") == expected.at(step));
            CHECK(q.get<int>("correct") == position(q, expected.at(step)));
            // The file's own answer (the fallback without a lab) is the one the lab gives.
            for (auto& st : *tut["step"].as_array()) {
                auto& t = *st.as_table();
                if (t["id"].value_or(std::string()) != step) continue;
                for (auto& qq : *t["quiz"].as_array()) {
                    auto& qt = *qq.as_table();
                    if (qt["question"].value_or(std::string()) != q.get<std::string>("question")) continue;
                    CHECK(qt["answer"].value_or(0) == q.get<int>("correct_original"));
                    ++compared;
                }
            }
        }
        CHECK(seen.size() == 3);
        CHECK(compared == 3);
    }
    CHECK(root_fingerprint() == root_before);
}

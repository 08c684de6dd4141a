// `netlab quiz` against a real lab: the live questions are answered from what the pods report, the
// score comes out right for the right and the wrong answer, and it is recorded in the lab's state
// directory. The expected addresses are the spec's: after the hairpin step the pod sees the
// masqueraded bridge address 10.0.0.1, after the masquerade step the world sees 203.0.113.1.
#include <doctest/doctest.h>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

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

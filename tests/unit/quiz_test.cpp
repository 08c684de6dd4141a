// Quizzes: loading and validation of [[step.quiz]], choosing and resolving questions (with a fake
// live answer kind), --answers, shuffling, asking (skip, quit, a step recorded once answered), the
// JSON document, the recorded scores, and the tutorials' own questions (no longest-choice giveaway).
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "base/error.h"
#include "lab/fs.h"
#include "lab/quiz.h"
#include "lab/tutorial.h"
#include "steps/register.h"

using namespace netlab;
namespace fs = std::filesystem;
namespace pt = boost::property_tree;

namespace {

class Nop : public lab::Action {
public:
    explicit Nop(const lab::Params& p) { p.only({}); }
    std::string describe(const lab::LabNames&) const override { return "nop"; }
    std::vector<std::string> commands(const lab::LabNames&) const override { return {}; }
    void apply(lab::Context&) override {}
    std::vector<lab::Check> check(lab::Context&) override { return {}; }
};

// A live answer kind for tests: observes `value` (or throws when it is "error"), counting calls.
struct Fake : lab::LiveAnswer {
    explicit Fake(const lab::Params& p) : value(p.str("value")) { p.only({"value"}); }
    std::string describe(const lab::LabNames&) const override { return "the fake value"; }
    std::string observe(const lab::LabNames&) const override {
        ++calls;
        if (value == "error") throw Error("call fake: no reply");
        return value;
    }
    std::string value;
    static inline int calls = 0;
};

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/netlab-quiz-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

lab::Registry& registry() {
    static lab::Registry reg = [] {
        lab::Registry r;
        r.add_action("nop", [](const lab::Params& p) { return std::make_unique<Nop>(p); });
        r.live().add("fake", [](const lab::Params& p) { return std::make_unique<Fake>(p); });
        return r;
    }();
    return reg;
}

const std::string kStepA = "[[step]]\nid = \"a\"\ntitle = \"A\"\n[[step.action]]\nkind = \"nop\"\n";

lab::Tutorial load(const TempDir& d, const std::string& toml) {
    fs::path f = d.path / "quiz.toml";
    std::ofstream(f) << toml;
    return lab::load_tutorial(f, registry());
}

// The loader's message with the directory stripped ("quiz.toml:7: ..."), or "" when it loads.
std::string load_error(const std::string& toml) {
    TempDir d;
    try {
        load(d, toml);
    } catch (const UsageError& e) {
        std::string m = e.what();
        auto pos = m.find("quiz.toml");
        return pos == std::string::npos ? m : m.substr(pos);
    }
    return "";
}

std::string question(const std::string& body) { return "[[step.quiz]]\n" + body; }

const std::string kGood =
    question("question = \"Q1?\"\nchoices = [\"x\", \"y\", \"z\"]\nanswer = 2\nexplain = \"because\"\n");

// Two steps with questions (one of them live, via the fake kind) and one without.
const std::string kThreeSteps =
    kStepA + kGood +
    "[[step]]\nid = \"b\"\ntitle = \"B\"\n[[step.action]]\nkind = \"nop\"\n"
    "[[step]]\nid = \"c\"\ntitle = \"C\"\n[[step.action]]\nkind = \"nop\"\n" +
    question("question = \"Live?\"\nchoices = [\"10.0.0.11\", \"10.0.0.1\"]\nanswer = 1\n"
             "live = { kind = \"fake\", value = \"10.0.0.1\" }\nexplain = \"masquerade\"\n");

std::vector<std::string> ids(const std::vector<const lab::Step*>& steps) {
    std::vector<std::string> out;
    for (auto* s : steps) out.push_back(s->id);
    return out;
}

pt::ptree parse_json(const std::string& text) {
    std::istringstream in(text);
    pt::ptree t;
    pt::read_json(in, t);
    return t;
}

}  // namespace

TEST_CASE("quiz questions load with their fields and file:line") {
    TempDir d;
    auto t = load(d, kThreeSteps);
    REQUIRE(t.steps.size() == 3);
    REQUIRE(t.steps[0].quiz.size() == 1);
    const auto& q = t.steps[0].quiz[0];
    CHECK(q.text == "Q1?");
    CHECK(q.choices == std::vector<std::string>{"x", "y", "z"});
    CHECK(q.answer == 2);
    CHECK(q.explain == "because");
    CHECK(q.live == nullptr);
    CHECK(q.where == (d.path / "quiz.toml").string() + ":6");
    CHECK(t.steps[1].quiz.empty());
    REQUIRE(t.steps[2].quiz.size() == 1);
    CHECK(t.steps[2].quiz[0].live != nullptr);
    CHECK(t.steps[2].quiz[0].answer == 1);
}

TEST_CASE("malformed quiz questions are rejected with file:line") {
    auto q = [](const std::string& body) { return load_error(kStepA + question(body)); };
    const std::string ch = "choices = [\"x\", \"y\"]\n";
    CHECK(q(ch + "answer = 1\nexplain = \"e\"\n") == "quiz.toml:6: quiz question: missing field 'question'");
    CHECK(q("question = \"q\"\nanswer = 1\nexplain = \"e\"\n") ==
          "quiz.toml:6: quiz question: missing field 'choices'");
    CHECK(q("question = \"q\"\n" + ch + "explain = \"e\"\n") ==
          "quiz.toml:6: quiz question: missing field 'answer' (the number of the right choice, from 1)");
    CHECK(q("question = \"q\"\n" + ch + "answer = 1\n") == "quiz.toml:6: quiz question: missing field 'explain'");
    CHECK(q("question = \"q\"\n" + ch + "answer = 3\nexplain = \"e\"\n") ==
          "quiz.toml:9: quiz field 'answer' must be a choice number from 1 to 2");
    CHECK(q("question = \"q\"\n" + ch + "answer = 0\nexplain = \"e\"\n") ==
          "quiz.toml:9: quiz field 'answer' must be a choice number from 1 to 2");
    CHECK(q("question = \"q\"\n" + ch + "answer = \"1\"\nexplain = \"e\"\n") ==
          "quiz.toml:9: quiz field 'answer' must be a choice number from 1 to 2");
    CHECK(q("question = \"q\"\nchoices = [\"x\"]\nanswer = 1\nexplain = \"e\"\n") ==
          "quiz.toml:8: a quiz question needs 2 to 9 choices, not 1");
    CHECK(q("question = \"q\"\nchoices = [\"x\", \"x\"]\nanswer = 1\nexplain = \"e\"\n") ==
          "quiz.toml:8: quiz choice 'x' is listed twice");
    CHECK(q("question = \"q\"\nchoices = [\"x\", 2]\nanswer = 1\nexplain = \"e\"\n") ==
          "quiz.toml:8: quiz 'choices' must be non-empty strings");
    CHECK(q("question = \"q\"\nchoices = \"x\"\nanswer = 1\nexplain = \"e\"\n") ==
          "quiz.toml:8: quiz field 'choices' must be a list of strings");
    CHECK(q("question = \" \"\n" + ch + "answer = 1\nexplain = \"e\"\n") ==
          "quiz.toml:7: quiz field 'question' must be a non-empty string");
    CHECK(q("question = \"q\"\n" + ch + "anwser = 1\nexplain = \"e\"\n") ==
          "quiz.toml:9: unknown quiz field 'anwser' (did you mean 'answer'?)");
}

TEST_CASE("live quiz questions: the kind and its parameters are checked at load time") {
    auto q = [](const std::string& live) {
        return load_error(kStepA +
                          question("question = \"q\"\nchoices = [\"x\", \"y\"]\n" + live + "explain = \"e\"\n"));
    };
    registry();
    CHECK(q("live = { kind = \"fake\", value = \"x\" }\n") == "");  // no 'answer' needed: the lab gives it
    CHECK(q("live = { kind = \"faek\", value = \"x\" }\n") ==
          "quiz.toml:9: unknown live answer kind 'faek' (did you mean 'fake'?)");
    CHECK(q("live = { kind = \"fake\", valeu = \"x\" }\n") == "quiz.toml:9: missing field 'value'");
    CHECK(q("live = { kind = \"fake\", value = \"x\", extra = 1 }\n") == "quiz.toml:9: unknown field 'extra'");
    CHECK(q("live = \"fake\"\n") ==
          "quiz.toml:9: quiz field 'live' must be a table, e.g. live = { kind = \"client_addr\", ... }");
    CHECK(load_error("[[step]]\nid = \"a\"\ntitle = \"A\"\nquiz = 3\n[[step.action]]\nkind = \"nop\"\n") ==
          "quiz.toml:4: 'quiz' must be a list of tables ([[step.quiz]])");
}

TEST_CASE("the article has questions for every step, live ones and the issue's topics") {
    lab::Registry reg;
    steps::register_all(reg);
    auto t = lab::load_tutorial(lab::find_tutorial("article", ""), reg);
    std::string all;
    int live = 0;
    for (auto& s : t.steps) {
        CHECK_MESSAGE(!s.quiz.empty(), "step " << s.id << " has no quiz question");
        for (auto& q : s.quiz) {
            all += q.text + "\n";
            if (q.live) ++live;
            // A live question keeps a fallback answer, so the quiz can be taken without the lab.
            CHECK_MESSAGE(q.answer >= 1, q.where);
        }
    }
    CHECK(live >= 3);
    for (const char* topic : {"probability of the first rule", "three backends", "every rule uses --probability 0.5",
                              "call for hairpin mode", "must the lab host still have a route", "MASQUERADE"})
        CHECK_MESSAGE(all.find(topic) != std::string::npos, topic);
    const auto* hairpin = t.find("hairpin");
    REQUIRE(hairpin);
    REQUIRE(hairpin->quiz[0].live);
    // The spec's live question: its fallback is the address written by hand from the kernel's behaviour.
    CHECK(hairpin->quiz[0].choices[hairpin->quiz[0].answer - 1] == "10.0.0.1");
}

TEST_CASE("which steps a quiz covers") {
    TempDir d;
    auto t = load(d, kThreeSteps);
    CHECK(ids(lab::quiz_steps(t, "c", {})) == std::vector<std::string>{"c"});
    CHECK(ids(lab::quiz_steps(t, "", {})) == std::vector<std::string>{"a", "c"});       // nothing applied: all
    CHECK(ids(lab::quiz_steps(t, "", {"a", "b"})) == std::vector<std::string>{"a"});   // the applied ones
    CHECK(ids(lab::quiz_steps(t, "", {"b"})) == std::vector<std::string>{"a", "c"});   // none applied has any
    CHECK_THROWS_WITH_AS(lab::quiz_steps(t, "cc", {}), "unknown step 'cc' (did you mean 'c'?)", UsageError);
    CHECK_THROWS_WITH_AS(lab::quiz_steps(t, "b", {}), "step 'b' of quiz has no quiz questions", UsageError);
}

TEST_CASE("live questions are resolved from the lab only when their step is applied") {
    TempDir d;
    auto t = load(d, kThreeSteps);
    auto steps = lab::quiz_steps(t, "", {});
    lab::LabNames names{"q1"};

    Fake::calls = 0;
    auto q = lab::prepare(steps, {"a"}, names);  // c not applied: the fallback answer, no traffic
    REQUIRE(q.items.size() == 2);
    CHECK(Fake::calls == 0);
    CHECK(q.items[0].source == "fixed");
    CHECK(q.items[0].correct == 2);
    CHECK(q.items[1].source == "fallback");
    CHECK(q.items[1].correct == 1);
    CHECK(q.items[1].note.find("netlab --lab q1 run --until c") != std::string::npos);

    q = lab::prepare(steps, {"a", "c"}, names);  // applied: the lab says 10.0.0.1, choice 2
    CHECK(Fake::calls == 1);
    CHECK(q.items[1].source == "lab");
    CHECK(q.items[1].observed == "10.0.0.1");
    CHECK(q.items[1].correct == 2);
    CHECK(q.to_answer() == 2);

    auto change = [&](const std::string& v) {
        // The Question's live answer is const; the test rebuilds the tutorial with another value.
        std::string text = kThreeSteps;
        text.replace(text.find("value = \"10.0.0.1\""), 18, "value = \"" + v + "\"");
        return load(d, text);
    };
    auto t2 = change("10.9.9.9");  // the lab reports none of the choices: skipped, not guessed
    auto q2 = lab::prepare(lab::quiz_steps(t2, "c", {}), {"c"}, names);
    CHECK(q2.items[0].source == "skipped");
    CHECK(q2.items[0].skipped());
    CHECK(q2.items[0].note.find("10.9.9.9") != std::string::npos);
    CHECK(q2.to_answer() == 0);

    auto t3 = change("error");  // the lab cannot tell: the fallback, with the reason
    auto q3 = lab::prepare(lab::quiz_steps(t3, "c", {}), {"c"}, names);
    CHECK(q3.items[0].source == "fallback");
    CHECK(q3.items[0].correct == 1);
    CHECK(q3.items[0].note == "could not ask the lab: call fake: no reply");
}

TEST_CASE("a live question without a fallback is skipped when the lab cannot be asked") {
    TempDir d;
    auto t = load(d, kStepA + question("question = \"q\"\nchoices = [\"x\", \"y\"]\n"
                                       "live = { kind = \"fake\", value = \"y\" }\nexplain = \"e\"\n"));
    auto off = lab::prepare(lab::quiz_steps(t, "a", {}), {}, lab::LabNames{});
    CHECK(off.items[0].skipped());
    CHECK(off.items[0].note == "step 'a' is not applied in this lab (netlab run --until a)");
    auto on = lab::prepare(lab::quiz_steps(t, "a", {}), {"a"}, lab::LabNames{});
    CHECK(on.items[0].correct == 2);
}

TEST_CASE("--answers parsing and checking") {
    CHECK(lab::parse_answers("2,1,3") == std::vector<int>{2, 1, 3});
    CHECK(lab::parse_answers(" 4 , 1") == std::vector<int>{4, 1});
    CHECK(lab::parse_answers("9") == std::vector<int>{9});
    CHECK(lab::parse_answers("2, s,1") == std::vector<int>{2, lab::kSkip, 1});  // s skips one
    for (const char* bad : {"", ",", "2,", ",2", "2,,1", "a", "0", "-1", "1.5", "2 1", "100", "q", "ss", "S"})
        CHECK_THROWS_AS_MESSAGE(lab::parse_answers(bad), UsageError, bad);

    TempDir d;
    auto t = load(d, kThreeSteps);
    auto q = lab::prepare(lab::quiz_steps(t, "", {}), {}, lab::LabNames{});  // 2 questions: 3 and 2 choices
    CHECK_NOTHROW(lab::check_answers(q, {3, 2}));
    CHECK_NOTHROW(lab::check_answers(q, {lab::kSkip, 2}));
    CHECK_THROWS_WITH_AS(lab::check_answers(q, {1}), "--answers gives 1 answer(s) for 2 question(s)", UsageError);
    CHECK_THROWS_AS(lab::check_answers(q, {1, 2, 1}), UsageError);
    CHECK_THROWS_WITH_AS(lab::check_answers(q, {1, 3}),
                         "--answers: answer 2 is 3, but question 2 has only 2 choices", UsageError);
}

TEST_CASE("asking scores the answers and explains each") {
    TempDir d;
    auto t = load(d, kThreeSteps);
    auto q = lab::prepare(lab::quiz_steps(t, "", {}), {}, lab::LabNames{});
    std::ostringstream out;
    lab::ask(q, lab::given_answers({2, 2}, out), out);  // right (y), wrong (the fallback is 10.0.0.11)
    CHECK(q.items[0].given == 2);
    CHECK(q.items[0].right());
    CHECK(!q.items[1].right());
    CHECK(q.right() == 1);
    std::string s = out.str();
    CHECK(s.find("Question 1/2 (step a): Q1?\n  1) x\n  2) y\n  3) z\nYour answer: 2\nRight.\n  because\n") !=
          std::string::npos);
    CHECK(s.find("Wrong: the answer is 1) 10.0.0.11.\n"
                 "  (the tutorial's answer, not the lab's: step 'c' is not applied") != std::string::npos);
    CHECK(s.find("  masquerade\n") != std::string::npos);
    CHECK(s.rfind("Score: 1/2\n") == s.size() - 11);
}

TEST_CASE("the terminal answer source asks again until it gets a choice, s or q, and quits at end of input") {
    TempDir d;
    auto t = load(d, kThreeSteps);
    auto q = lab::prepare(lab::quiz_steps(t, "a", {}), {}, lab::LabNames{});
    std::istringstream in("x\n4\n 3 \ns\n Q \n");
    std::ostringstream out;
    auto src = lab::terminal_answers(in, out);
    CHECK(src(q.items[0]) == 3);
    // The prompt says how to skip and quit, on screen, every time.
    CHECK(out.str() ==
          "Your answer (1-3, s skips, q quits): Type a number from 1 to 3, s to skip or q to quit.\n"
          "Your answer (1-3, s skips, q quits): Type a number from 1 to 3, s to skip or q to quit.\n"
          "Your answer (1-3, s skips, q quits): ");
    CHECK(src(q.items[0]) == lab::kSkip);
    CHECK(src(q.items[0]) == lab::kQuit);
    CHECK(src(q.items[0]) == lab::kQuit);  // end of input (Ctrl-D): the learner stops
}

TEST_CASE("the JSON document has the questions, the answers and the score") {
    TempDir d;
    auto t = load(d, kThreeSteps);
    auto q = lab::prepare(lab::quiz_steps(t, "", {}), {"a", "c"}, lab::LabNames{});
    std::ostringstream sink;
    lab::ask(q, lab::given_answers({1, 2}, sink), sink);
    auto j = parse_json(lab::quiz_json(q, "default", "quiz", true));
    CHECK(j.get<std::string>("lab") == "default");
    CHECK(j.get<std::string>("tutorial") == "quiz");
    CHECK(j.get<int>("score.right") == 1);
    CHECK(j.get<int>("score.of") == 2);
    CHECK(j.get<bool>("recorded"));
    auto& qs = j.get_child("questions");
    REQUIRE(qs.size() == 2);
    auto it = qs.begin();
    const auto& q1 = it->second;
    CHECK(q1.get<std::string>("step") == "a");
    CHECK(q1.get<std::string>("question") == "Q1?");
    CHECK(q1.get_child("choices").size() == 3);
    CHECK(q1.get_child("choices").back().second.data() == "z");
    CHECK(q1.get<int>("correct") == 2);
    CHECK(q1.get<int>("given") == 1);
    CHECK(!q1.get<bool>("right"));
    CHECK(q1.get<std::string>("explain") == "because");
    CHECK(q1.get<std::string>("source") == "fixed");
    const auto& q2 = (++it)->second;
    CHECK(q2.get<std::string>("source") == "lab");
    CHECK(q2.get<std::string>("observed") == "10.0.0.1");
    CHECK(q2.get<bool>("live"));
    CHECK(q2.get<bool>("right"));

    auto sheet = parse_json(lab::quiz_json(q, "default", "quiz", false));  // the trainer's sheet
    CHECK(sheet.count("score") == 0);
    CHECK(sheet.get_child("questions").begin()->second.count("given") == 0);
    CHECK(sheet.get<int>("to_answer") == 2);

    auto failed = parse_json(lab::quiz_json(q, "default", "quiz", true, "write /x: Permission denied"));
    CHECK(!failed.get<bool>("recorded"));
    CHECK(failed.get<std::string>("record_error") == "write /x: Permission denied");
}

TEST_CASE("scores are recorded per tutorial and step: the last and the best attempt") {
    TempDir d;
    auto t = load(d, kThreeSteps);
    fs::path file = d.path / "lab" / "quiz.toml";
    auto take = [&](std::vector<int> answers, std::set<std::string> applied) {
        auto q = lab::prepare(lab::quiz_steps(t, "", {}), applied, lab::LabNames{});
        std::ostringstream sink;
        lab::ask(q, lab::given_answers(std::move(answers), sink), sink);
        lab::Scores s(file);
        s.record("quiz", q);
        s.save();
    };
    CHECK(lab::Scores(file).of("quiz").empty());
    take({2, 1}, {});      // a: 1/1, c: 1/1
    take({1, 1}, {"c"});   // a: 0/1, c: 0/1 (the lab says 2)
    lab::Scores s(file);
    auto& a = s.of("quiz").at("a");
    CHECK(a.last_right == 0);
    CHECK(a.last_of == 1);
    CHECK(a.best_right == 1);
    CHECK(a.best_of == 1);
    CHECK(a.attempts == 2);
    CHECK(s.of("quiz").at("c").attempts == 2);
    CHECK(s.of("quiz").count("b") == 0);
    CHECK(s.of("other").empty());

    auto j = parse_json(s.json("default", "quiz"));
    CHECK(j.get<int>("scores.a.best_right") == 1);
    CHECK(j.get<int>("scores.a.attempts") == 2);
    std::ostringstream printed;
    s.print(printed, t);
    CHECK(printed.str() ==
          "Quiz scores (quiz):\n  a  last 0/1  best 1/1  (2 attempts)\n  c  last 0/1  best 1/1  (2 attempts)\n");

    lab::write_file_atomic(file, "[quiz\n");
    CHECK_THROWS_AS(lab::Scores{file}, Error);
}

TEST_CASE("the best attempt is the highest fraction, then the most questions") {
    TempDir d;
    fs::path file = d.path / "quiz.toml";
    lab::Question q3{"q", {"x", "y"}, 1, "e", nullptr, "f:1"};
    auto attempt = [&](int asked, int right) {
        lab::Quiz q;
        for (int i = 0; i < asked; ++i) {
            lab::Asked a;
            a.step = "s";
            a.q = &q3;
            a.correct = 1;
            a.given = i < right ? 1 : 2;
            q.items.push_back(a);
        }
        lab::Scores s(file);
        s.record("t", q);
        s.save();
        return lab::Scores(file).of("t").at("s");
    };
    auto s = attempt(2, 1);
    CHECK((s.best_right == 1 && s.best_of == 2));
    s = attempt(4, 2);  // the same fraction of more questions
    CHECK((s.best_right == 2 && s.best_of == 4));
    s = attempt(3, 1);  // worse
    CHECK((s.best_right == 2 && s.best_of == 4 && s.last_right == 1 && s.last_of == 3));
    s = attempt(1, 1);  // better
    CHECK((s.best_right == 1 && s.best_of == 1 && s.attempts == 4));
}

// ---- shuffling, skipping, quitting, per-step recording (issue 10, item 8) ----------------------

namespace {

// Step a: one question with four choices, the right one third ("y"). Step b: two questions.
// Step c: two questions.
const std::string kShuffle =
    kStepA + question("question = \"Four?\"\nchoices = [\"w\", \"x\", \"y\", \"z\"]\nanswer = 3\nexplain = \"e\"\n");

const std::string kFiveQuestions =
    kStepA + question("question = \"A1?\"\nchoices = [\"a\", \"b\"]\nanswer = 1\nexplain = \"e1\"\n") +
    question("question = \"A2?\"\nchoices = [\"a\", \"b\", \"c\"]\nanswer = 3\nexplain = \"e2\"\n") +
    "[[step]]\nid = \"b\"\ntitle = \"B\"\n[[step.action]]\nkind = \"nop\"\n" +
    question("question = \"B1?\"\nchoices = [\"a\", \"b\"]\nanswer = 2\nexplain = \"e3\"\n") +
    "[[step]]\nid = \"c\"\ntitle = \"C\"\n[[step.action]]\nkind = \"nop\"\n" +
    question("question = \"C1?\"\nchoices = [\"a\", \"b\"]\nanswer = 1\nexplain = \"e4\"\n") +
    question("question = \"C2?\"\nchoices = [\"a\", \"b\"]\nanswer = 1\nexplain = \"e5\"\n");

std::vector<int> json_ints(const pt::ptree& arr) {
    std::vector<int> out;
    for (auto& [k, v] : arr) out.push_back(std::stoi(v.data()));
    return out;
}

std::vector<std::string> json_strings(const pt::ptree& arr) {
    std::vector<std::string> out;
    for (auto& [k, v] : arr) out.push_back(v.data());
    return out;
}

// Length in characters (UTF-8 code points), as a reader sees it.
size_t chars(const std::string& s) {
    return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// True when the right choice is at least as long as every other one (a tie counts: a learner
// picking the longest could pick it).
bool right_is_longest(const lab::Question& q) {
    size_t right = chars(q.choices.at(q.answer - 1));
    return std::all_of(q.choices.begin(), q.choices.end(), [&](const std::string& c) { return chars(c) <= right; });
}

}  // namespace

TEST_CASE("shuffling: a permutation per question, the same for the same seed, the answer key follows") {
    TempDir d;
    auto t = load(d, kShuffle);
    const auto base = lab::prepare(lab::quiz_steps(t, "a", {}), {}, lab::LabNames{});
    CHECK(!base.seed);
    CHECK(base.items[0].order.empty());  // not shuffled: shown as the tutorial lists them
    CHECK(base.items[0].shown(3) == 3);
    CHECK(base.items[0].tutorial(2) == 2);

    std::map<int, int> right_at;  // shown position of the right choice -> how many seeds put it there
    std::set<std::vector<int>> orders;
    const int kSeeds = 400;
    for (int seed = 0; seed < kSeeds; ++seed) {
        auto q = base;
        lab::shuffle(q, static_cast<uint64_t>(seed));
        const auto& a = q.items[0];
        REQUIRE(a.order.size() == 4);
        auto sorted = a.order;
        std::sort(sorted.begin(), sorted.end());
        CHECK(sorted == std::vector<int>{1, 2, 3, 4});
        CHECK(a.correct == 3);                             // the key stays in the tutorial's numbering...
        CHECK(a.choice_shown(a.shown(a.correct)) == "y");  // ...and points at the right text wherever it is shown
        for (int i = 1; i <= 4; ++i) CHECK(a.shown(a.tutorial(i)) == i);
        CHECK(q.seed == static_cast<uint64_t>(seed));
        ++right_at[a.shown(a.correct)];
        orders.insert(a.order);
    }
    // Each position about 100 times in 400 (binomial, sd 8.7): below 60 would be a biased shuffle.
    for (int pos = 1; pos <= 4; ++pos) CHECK_MESSAGE(right_at[pos] >= 60, "position " << pos << ": " << right_at[pos]);
    CHECK(orders.size() == 24);  // every order of four choices comes up

    auto a = base, b = base, c = base;
    lab::shuffle(a, 7);
    lab::shuffle(b, 7);
    CHECK(a.items[0].order == b.items[0].order);  // the same seed, the same order
    int differ = 0;
    for (uint64_t s = 8; s < 18; ++s) {
        c = base;
        lab::shuffle(c, s);
        differ += c.items[0].order != a.items[0].order;
    }
    CHECK(differ >= 5);  // other seeds, other orders (1 chance in 24 each to coincide)
}

TEST_CASE("a shuffled question is shown, answered and scored in the shown order; JSON says both orders") {
    TempDir d;
    auto t = load(d, kShuffle);
    auto q = lab::prepare(lab::quiz_steps(t, "a", {}), {}, lab::LabNames{});
    lab::shuffle(q, 11);
    const auto& a = q.items[0];
    const int right_at = a.shown(3), wrong_at = right_at == 1 ? 2 : 1;
    std::string listed;
    for (int i = 1; i <= 4; ++i) listed += "  " + std::to_string(i) + ") " + a.choice_shown(i) + "\n";

    std::ostringstream out;
    lab::ask(q, lab::given_answers({wrong_at}, out), out);
    CHECK(out.str().find("Question 1/1 (step a): Four?\n" + listed) != std::string::npos);
    CHECK(out.str().find("Wrong: the answer is " + std::to_string(right_at) + ") y.\n") != std::string::npos);
    CHECK(a.given == a.tutorial(wrong_at));  // recorded as the tutorial numbers it
    CHECK(!a.right());

    auto j = parse_json(lab::quiz_json(q, "default", "quiz", true));
    CHECK(j.get<bool>("shuffled"));
    CHECK(j.get<int>("seed") == 11);
    const auto& jq = j.get_child("questions").begin()->second;
    std::vector<std::string> shown_choices;
    for (int i = 1; i <= 4; ++i) shown_choices.push_back(a.choice_shown(i));
    CHECK(json_strings(jq.get_child("choices")) == shown_choices);
    CHECK(json_ints(jq.get_child("order")) == a.order);
    CHECK(jq.get<int>("correct") == right_at);
    CHECK(jq.get<int>("correct_original") == 3);
    CHECK(jq.get<int>("given") == wrong_at);
    CHECK(jq.get<int>("given_original") == a.tutorial(wrong_at));
    CHECK(jq.get<std::string>("outcome") == "wrong");

    auto right = lab::prepare(lab::quiz_steps(t, "a", {}), {}, lab::LabNames{});
    lab::shuffle(right, 11);
    std::ostringstream sink;
    lab::ask(right, lab::given_answers({right_at}, sink), sink);
    CHECK(right.items[0].right());
    CHECK(right.items[0].given == 3);

    auto plain = lab::prepare(lab::quiz_steps(t, "a", {}), {}, lab::LabNames{});  // not shuffled
    auto pj = parse_json(lab::quiz_json(plain, "default", "quiz", false));
    CHECK(!pj.get<bool>("shuffled"));
    CHECK(pj.count("seed") == 0);
    CHECK(json_ints(pj.get_child("questions").begin()->second.get_child("order")) == std::vector<int>{1, 2, 3, 4});
    CHECK(json_strings(pj.get_child("questions").begin()->second.get_child("choices")) ==
          std::vector<std::string>{"w", "x", "y", "z"});
}

TEST_CASE("s skips a question, q quits, and each step is recorded as soon as its questions are answered") {
    TempDir d;
    auto t = load(d, kFiveQuestions);
    auto q = lab::prepare(lab::quiz_steps(t, "", {}), {}, lab::LabNames{});
    REQUIRE(q.to_answer() == 5);
    fs::path file = d.path / "lab" / "quiz.toml";
    std::ostringstream out;
    std::vector<std::string> done;
    std::vector<std::string> printed_when_done;  // the output so far when a step was reported done
    auto record = [&](const std::string& step) {
        done.push_back(step);
        printed_when_done.push_back(out.str());
        lab::Scores s(file);  // what the CLI does: load, add this step, save
        s.record("quiz", q, step);
        s.save();
    };
    // A1 right, A2 skipped, B1 right, C1 wrong, then quit at C2.
    std::vector<int> answers = {1, lab::kSkip, 2, 2, lab::kQuit};
    size_t next = 0;
    bool finished = lab::ask(
        q, [&](const lab::Asked&) { return answers.at(next++); }, out, record);
    CHECK(!finished);
    CHECK(next == 5);
    CHECK(done == std::vector<std::string>{"a", "b"});  // c was not answered in full
    REQUIRE(printed_when_done.size() == 2);
    CHECK(printed_when_done[0].find("Question 3/5") == std::string::npos);  // a recorded before B1 was asked
    CHECK(printed_when_done[1].find("Question 4/5") == std::string::npos);
    CHECK(q.items[1].passed);
    CHECK(q.items[1].given == 0);
    CHECK(!q.items[1].right());
    CHECK(q.answered() == 4);
    CHECK(q.passed() == 1);
    CHECK(!q.items[4].answered());

    std::string s = out.str();
    // A skipped question does not give its answer away (it can be asked again).
    auto a2 = s.find("Question 2/5"), b1 = s.find("Question 3/5");
    REQUIRE(a2 != std::string::npos);
    REQUIRE(b1 != std::string::npos);
    CHECK(s.substr(a2, b1 - a2).find("Skipped (not counted as right; `netlab quiz a` asks it again).\n") !=
          std::string::npos);
    CHECK(s.substr(a2, b1 - a2).find("the answer is") == std::string::npos);
    CHECK(s.substr(a2, b1 - a2).find("e2") == std::string::npos);
    CHECK(s.find("\nQuit after 4 of 5 question(s): 2 right.\n") != std::string::npos);
    CHECK(s.find("Score:") == std::string::npos);
    // A blank line between questions: every question after the first starts after an empty line.
    for (size_t pos = s.find("Question ", 1); pos != std::string::npos; pos = s.find("Question ", pos + 1))
        CHECK_MESSAGE(s.compare(pos - 2, 2, "\n\n") == 0, s.substr(0, pos));

    lab::Scores scores(file);
    const auto& got = scores.of("quiz");
    REQUIRE(got.count("a") == 1);
    CHECK(got.at("a").last_right == 1);
    CHECK(got.at("a").last_of == 2);  // a skipped question counts as asked, not right
    CHECK(got.at("a").last_given == std::vector<int>{1, 0});
    CHECK(got.at("b").last_right == 1);
    CHECK(got.at("b").last_given == std::vector<int>{2});
    CHECK(got.count("c") == 0);  // quit half-way through c: nothing of c recorded

    // Answered to the end: the score line says how many were skipped.
    auto q2 = lab::prepare(lab::quiz_steps(t, "", {}), {}, lab::LabNames{});
    std::ostringstream out2;
    CHECK(lab::ask(q2, lab::given_answers({1, lab::kSkip, 2, 1, 1}, out2), out2));
    CHECK(out2.str().find("Your answer: s\n") != std::string::npos);
    const std::string tail = "\nScore: 4/5 (1 skipped)\n";
    REQUIRE(out2.str().size() >= tail.size());
    CHECK(out2.str().substr(out2.str().size() - tail.size()) == tail);
    auto j = parse_json(lab::quiz_json(q2, "default", "quiz", true));
    CHECK(j.get<int>("score.skipped") == 1);
    CHECK(j.get<bool>("finished"));
    CHECK(j.get_child("questions").size() == 5);
    auto jq = j.get_child("questions").begin();
    ++jq;
    CHECK(jq->second.get<std::string>("outcome") == "skipped");
    CHECK(jq->second.get<int>("given") == 0);
    auto jquit = parse_json(lab::quiz_json(q, "default", "quiz", true));
    CHECK(!jquit.get<bool>("finished"));
    CHECK(jquit.get_child("questions").back().second.get<std::string>("outcome") == "not asked");
}

TEST_CASE("scores keep the choices picked in the tutorial's numbering, whatever the shuffle showed") {
    TempDir d;
    auto t = load(d, kShuffle);
    fs::path file = d.path / "quiz.toml";
    for (uint64_t seed : {1, 2, 3}) {
        auto q = lab::prepare(lab::quiz_steps(t, "a", {}), {}, lab::LabNames{});
        lab::shuffle(q, seed);
        int x_at = q.items[0].shown(2);  // the learner picks "x" wherever it is shown
        std::ostringstream sink;
        lab::ask(q, lab::given_answers({x_at}, sink), sink);
        lab::Scores s(file);
        s.record("quiz", q);
        s.save();
        CHECK(lab::Scores(file).of("quiz").at("a").last_given == std::vector<int>{2});
    }
    auto written = toml::parse_file(file.string());
    CHECK(written["quiz"]["a"]["last_given"][0].value_or(-1) == 2);
    CHECK(written["quiz"]["a"]["attempts"].value_or(-1) == 3);
}

// The issue: in the article, always picking the longest choice scored 88%. A tutorial may have the
// right answer as its longest choice in at most a third of its static questions. Live questions
// (their right choice is what the running lab reports) are counted separately and not held to
// this: their choices are short addresses or names, and which is right depends on the lab.
TEST_CASE("every tutorial: the right answer is the longest choice in at most a third of its static questions") {
    const char* dir = std::getenv("NETLAB_TUTORIALS");
    REQUIRE_MESSAGE(dir != nullptr, "run through `meson test`, which sets NETLAB_TUTORIALS to tutorials/");
    lab::Registry reg;
    steps::register_all(reg);
    int tutorials = 0;
    for (auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() != ".toml") continue;
        auto t = lab::load_tutorial(e.path(), reg);
        ++tutorials;
        int fixed = 0, longest = 0, live = 0;
        std::string which;
        for (auto& s : t.steps)
            for (auto& q : s.quiz) {
                if (q.live) {
                    ++live;  // counted apart: the lab, not the file, says which choice is right
                    continue;
                }
                ++fixed;
                if (right_is_longest(q)) {
                    ++longest;
                    which += "\n  " + q.where;
                }
            }
        INFO(e.path().filename().string() << ": " << fixed << " static and " << live << " live questions");
        CHECK_MESSAGE(longest * 3 <= fixed, e.path().filename().string()
                                                << ": the right answer is the longest choice in " << longest << " of "
                                                << fixed << " static questions (at most " << fixed / 3
                                                << "):" << which);
    }
    CHECK(tutorials >= 2);
}

TEST_CASE("the longest-choice measure counts ties and characters, not bytes") {
    lab::Question q{"q", {"aaaa", "bb", "cccc"}, 1, "e", nullptr, "f:1"};
    CHECK(right_is_longest(q));  // a tie: picking the longest could pick it
    q.answer = 2;
    CHECK(!right_is_longest(q));
    lab::Question u{"q", {"1/2 → 1/4", "abcdefghij"}, 1, "e", nullptr, "f:1"};  // 9 characters, 11 bytes
    CHECK(!right_is_longest(u));
}

TEST_CASE("three-backends has questions for every step: 1/3 then 1/2, why that is even, the misconception") {
    lab::Registry reg;
    steps::register_all(reg);
    auto t = lab::load_tutorial(lab::find_tutorial("three-backends", ""), reg);
    int live = 0;
    std::map<std::string, std::string> right_of;  // question text -> the right choice
    for (auto& s : t.steps) {
        CHECK_MESSAGE(!s.quiz.empty(), "step " << s.id << " has no quiz question");
        for (auto& q : s.quiz) {
            if (q.live) ++live;
            REQUIRE_MESSAGE(q.answer >= 1, q.where);  // live ones keep a fallback too
            right_of[q.text] = q.choices[q.answer - 1];
        }
    }
    CHECK(live >= 2);
    auto right = [&](const std::string& part) {
        for (auto& [text, choice] : right_of)
            if (text.find(part) != std::string::npos) return choice;
        return std::string("(no question about '" + part + "')");
    };
    // The probabilities kube-proxy writes, 1/3 then 1/2 (kube-proxy's own text, ten decimals).
    CHECK(right("Which probabilities does kube-proxy write") == "0.3333333333, then 0.5000000000, then no probability");
    CHECK(right("give every backend exactly a third").find("half of that is 1/3") != std::string::npos);
    // The misconception: 0.5 everywhere.
    CHECK(right("Every rule at --probability 0.5").find("1/2, 1/4, 1/8") != std::string::npos);
    CHECK(right("Every rule at --probability 0.5").find("no rule matches") != std::string::npos);
    CHECK(right("no rule of the service chain matches").find("no reply") != std::string::npos);
}

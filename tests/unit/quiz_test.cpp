// Quizzes: loading and validation of [[step.quiz]], choosing and resolving questions (with a fake
// live answer kind), --answers, asking, the JSON document, and the recorded scores.
#include <doctest/doctest.h>
#include <unistd.h>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <filesystem>
#include <fstream>
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
    for (const char* bad : {"", ",", "2,", ",2", "2,,1", "a", "0", "-1", "1.5", "2 1", "100"})
        CHECK_THROWS_AS_MESSAGE(lab::parse_answers(bad), UsageError, bad);

    TempDir d;
    auto t = load(d, kThreeSteps);
    auto q = lab::prepare(lab::quiz_steps(t, "", {}), {}, lab::LabNames{});  // 2 questions: 3 and 2 choices
    CHECK_NOTHROW(lab::check_answers(q, {3, 2}));
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

TEST_CASE("the terminal answer source asks again until it gets a choice, and stops at end of input") {
    TempDir d;
    auto t = load(d, kThreeSteps);
    auto q = lab::prepare(lab::quiz_steps(t, "a", {}), {}, lab::LabNames{});
    std::istringstream in("x\n4\n 3 \n");
    std::ostringstream out;
    auto src = lab::terminal_answers(in, out);
    CHECK(src(q.items[0]) == 3);
    CHECK(out.str() == "Your answer (1-3): Type a number from 1 to 3.\nYour answer (1-3): Type a number from 1 to 3.\n"
                       "Your answer (1-3): ");
    CHECK_THROWS_AS(src(q.items[0]), Error);  // end of input
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

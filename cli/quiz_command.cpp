// quiz: self-check questions, scored and recorded per lab (lab/quiz.h has the model).
#include <unistd.h>

#include <functional>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/cli.h"
#include "base/error.h"
#include "lab/quiz.h"

namespace netlab::cli {

namespace {

struct QuizArgs {
    std::string step, answers, seed;
    bool json = false, scores = false;
};

const char* kQuizFooter =
    "Without STEP, the quiz asks the questions of every applied step of this lab; when no step is\n"
    "applied (or none of the applied ones has questions), those of every step. Some questions are\n"
    "checked against the running lab (e.g. which client address a pod reports); they are asked live\n"
    "only once their step is applied, and otherwise use the tutorial's answer or are skipped.\n"
    "At a terminal the choices are shuffled for every attempt; type a choice's number, s to skip a\n"
    "question or q to quit. Each step's score is recorded as soon as its questions are answered, so\n"
    "quitting keeps the steps already done. --seed N shuffles the same way every time.\n"
    "Without a terminal, --answers gives the answers in order (s skips one; a wrong count exits 2),\n"
    "numbered as --json lists the choices: in the tutorial's order, or shuffled with --seed N.\n"
    "--json alone prints the questions with their answers and explanations (a trainer's sheet;\n"
    "nothing recorded). Scores (last and best, per step, and the choices picked as the tutorial\n"
    "numbers them) are kept in the lab's state directory (quiz.toml) and go away with the lab\n"
    "(`netlab undo --all`). Exit code 0 whenever the quiz ran, whatever the score, quit included.\n";

// --seed N: a number from 0 to 2^63-1.
std::optional<uint64_t> parse_seed(const QuizArgs& a) {
    if (a.seed.empty()) return std::nullopt;  // not given (an empty --seed is refused before this)
    const std::string& text = a.seed;
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 19)
        throw UsageError("--seed: '" + text + "' is not a number (a whole number from 0 to 2^63-1)");
    uint64_t v = std::stoull(text);
    if (v > lab::kMaxSeed) throw UsageError("--seed: '" + text + "' is too large (at most 2^63-1)");
    return v;
}

int show_scores(Invocation& g, const QuizArgs& a) {
    lab::Scores scores(g.lab_dir() / "quiz.toml");
    if (a.json)
        std::cout << scores.json(g.lab, g.tut().name);
    else
        scores.print(std::cout, g.tut());
    return 0;
}

lab::AnswerSource answer_source(const lab::Quiz& quiz, const QuizArgs& a, std::ostream& out) {
    if (!a.answers.empty()) {
        auto given = lab::parse_answers(a.answers);
        lab::check_answers(quiz, given);
        return lab::given_answers(std::move(given), out);
    }
    if (!::isatty(STDIN_FILENO))
        throw UsageError("standard input is not a terminal: give the " + std::to_string(quiz.to_answer()) +
                             " answer(s) with --answers, e.g. --answers 2,1,3",
                         "netlab quiz --json lists the questions");
    return lab::terminal_answers(std::cin, out);
}

// Records one step's score as soon as its questions are answered; keeps the first error (the quiz
// goes on: a score that cannot be written does not stop the learner).
struct Recorder {
    Invocation& g;
    const lab::Quiz& quiz;
    std::vector<std::string> steps;  // recorded
    std::string error;

    void operator()(const std::string& step) {
        if (!error.empty()) return;
        try {
            lab::Scores scores(g.lab_dir() / "quiz.toml");
            scores.record(g.tut().name, quiz, step);
            scores.save();
            steps.push_back(step);
        } catch (const Error& e) {
            error = e.what();
        }
    }
};

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

int run_quiz(Invocation& g, const QuizArgs& a) {
    if (a.scores) return show_scores(g, a);
    const auto& tut = g.tut();
    std::ostringstream quiet;
    auto applied = g.runner(quiet).applied();
    auto seed = parse_seed(a);
    auto quiz = lab::prepare(lab::quiz_steps(tut, a.step, applied), {applied.begin(), applied.end()}, g.names());
    if (a.json && a.answers.empty()) {
        if (seed) lab::shuffle(quiz, *seed);
        std::cout << lab::quiz_json(quiz, g.lab, tut.name, false);
        return 0;
    }
    if (quiz.to_answer() == 0)
        throw UsageError("no question of this quiz can be asked now: " + quiz.items.front().note);
    std::ostream& out = a.json ? static_cast<std::ostream&>(quiet) : std::cout;
    auto source = answer_source(quiz, a, out);
    // A learner at a terminal gets the choices in a new order every attempt; --answers numbers them
    // as the tutorial does unless --seed says how they were shuffled.
    if (seed || a.answers.empty()) lab::shuffle(quiz, seed ? *seed : lab::random_seed());
    Recorder rec{g, quiz, {}, ""};
    bool finished = lab::ask(quiz, source, out, std::ref(rec));
    if (a.json) {
        std::cout << lab::quiz_json(quiz, g.lab, tut.name, true, rec.error);
    } else if (!rec.error.empty()) {
        std::cerr << "netlab: the score was not recorded: " << rec.error << "\n";
    } else if (rec.steps.empty()) {
        std::cout << "Nothing recorded: no step's questions were all answered.\n";
    } else {
        std::cout << (finished ? "Recorded" : "Recorded the steps answered in full: " + join(rec.steps))
                  << " (netlab quiz --scores shows every step's last and best).\n";
    }
    return 0;
}

}  // namespace

void add_quiz_commands(CommandTable& table) {
    auto qa = std::make_shared<QuizArgs>();
    table.push_back({"quiz", "self-check questions for STEP (default: every applied step), scored",
                     {value(Kind::Step, "step", "step id", &qa->step),
                      value(Kind::Answers, "--answers", "the answers in order, without a terminal: 2,1,3 (s skips one)",
                            &qa->answers),
                      flag("--json", "one JSON document: questions, choices, answers, explanations, score", &qa->json),
                      value(Kind::Name, "--seed", "shuffle the choices from this seed (the same order every time)",
                            &qa->seed),
                      flag("--scores", "show this lab's recorded scores instead", &qa->scores).excludes("--answers")},
                     [qa](Invocation& g) { return run_quiz(g, *qa); }, kQuizFooter});
}

}  // namespace netlab::cli

// quiz: self-check questions, scored and recorded per lab (lab/quiz.h has the model).
#include <unistd.h>

#include <iostream>
#include <sstream>

#include "cli/cli.h"
#include "base/error.h"
#include "lab/quiz.h"

namespace netlab::cli {

namespace {

struct QuizArgs {
    std::string step, answers;
    bool json = false, scores = false;
};

const char* kQuizFooter =
    "Without STEP, the quiz asks the questions of every applied step of this lab; when no step is\n"
    "applied (or none of the applied ones has questions), those of every step. Some questions are\n"
    "checked against the running lab (e.g. which client address a pod reports); they are asked live\n"
    "only once their step is applied, and otherwise use the tutorial's answer or are skipped.\n"
    "Without a terminal, --answers gives the answers in order (a wrong count exits 2). --json alone\n"
    "prints the questions with their answers and explanations (a trainer's sheet; nothing recorded).\n"
    "Scores (last and best, per step) are kept in the lab's state directory (quiz.toml) and go away\n"
    "with the lab (`netlab undo --all`). Exit code 0 whenever the quiz ran, whatever the score.\n";

int show_scores(Globals& g, const QuizArgs& a) {
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

// Records the score; returns the error text when it could not be written (the quiz still ran).
std::string record(Globals& g, const lab::Quiz& quiz) {
    try {
        lab::Scores scores(g.lab_dir() / "quiz.toml");
        scores.record(g.tut().name, quiz);
        scores.save();
        return "";
    } catch (const Error& e) {
        return e.what();
    }
}

int run_quiz(Globals& g, const QuizArgs& a) {
    if (a.scores) return show_scores(g, a);
    const auto& tut = g.tut();
    std::ostringstream quiet;
    auto applied = g.runner(quiet).applied();
    auto quiz = lab::prepare(lab::quiz_steps(tut, a.step, applied), {applied.begin(), applied.end()}, g.names());
    if (a.json && a.answers.empty()) {
        std::cout << lab::quiz_json(quiz, g.lab, tut.name, false);
        return 0;
    }
    if (quiz.to_answer() == 0)
        throw UsageError("no question of this quiz can be asked now: " + quiz.items.front().note);
    std::ostream& out = a.json ? static_cast<std::ostream&>(quiet) : std::cout;
    lab::ask(quiz, answer_source(quiz, a, out), out);
    std::string err = record(g, quiz);
    if (a.json) {
        std::cout << lab::quiz_json(quiz, g.lab, tut.name, true, err);
    } else if (!err.empty()) {
        std::cerr << "netlab: the score was not recorded: " << err << "\n";
    } else {
        std::cout << "Recorded (netlab quiz --scores shows every step's last and best).\n";
    }
    return 0;
}

}  // namespace

void add_quiz_commands(CommandTable& table) {
    auto qa = std::make_shared<QuizArgs>();
    table.push_back({"quiz", "self-check questions for STEP (default: every applied step), scored",
                     {value(Kind::Step, "step", "step id", &qa->step),
                      value(Kind::Answers, "--answers", "the answers in order, without a terminal: 2,1,3", &qa->answers),
                      flag("--json", "one JSON document: questions, choices, answers, explanations, score", &qa->json),
                      flag("--scores", "show this lab's recorded scores instead", &qa->scores).excludes("--answers")},
                     [qa](Globals& g) { return run_quiz(g, *qa); }, kQuizFooter});
}

}  // namespace netlab::cli

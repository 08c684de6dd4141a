// Self-check quizzes. A tutorial step may carry questions ([[step.quiz]] in the tutorial file):
// multiple choice, the answer as a 1-based index, an explanation shown after each answer. A "live"
// question has its correct choice computed from the running lab: the choice equal to what a live
// answer kind observes (e.g. the client address a pod reports). The engine knows live kinds only by
// name (LiveKinds); steps/quiz_live.cpp registers the ones that send real traffic.
//
// A quiz run: pick the questions (quiz_steps), resolve them against the lab (prepare), shuffle their
// choices (shuffle, from a seed: the answer key follows), answer them (ask: a learner may skip one or
// quit), score and record them per lab and step (Scores, quiz.toml in the lab's state directory) as
// soon as each step's questions are answered.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "lab/action.h"
#include "lab/params.h"

namespace netlab::lab {

struct Step;
struct Tutorial;

// What the lab says the answer to a live question is. observe() throws Error when the lab cannot
// tell (no reply, not a pod, no privileges); it must be bounded in time.
class LiveAnswer {
public:
    virtual ~LiveAnswer() = default;
    // "the client address pod answering 10.100.100.100:8080 from netns_dustin reports"
    virtual std::string describe(const LabNames& n) const = 0;
    virtual std::string observe(const LabNames& n) const = 0;
};

using LiveFactory = std::function<std::unique_ptr<LiveAnswer>(const Params&)>;

// Live answer kinds by name (the factories validate their parameters at load time).
class LiveKinds {
public:
    void add(const std::string& kind, LiveFactory f);
    // UsageError("<where>: unknown live answer kind 'x' (did you mean 'y'?)").
    std::unique_ptr<LiveAnswer> make(const std::string& kind, const Params& p) const;
    std::vector<std::string> kinds() const;

private:
    std::map<std::string, LiveFactory> kinds_;
};


struct Question {
    std::string text;
    std::vector<std::string> choices;
    int answer = 0;                         // 1-based; for a live question the fallback, 0 = none
    std::string explain;
    std::shared_ptr<const LiveAnswer> live; // set for a live question
    std::string where;                      // file:line
};

// The [[step.quiz]] entries of one step table. Throws UsageError("<file>:<line>: ...").
// Live answers are made by `live` (the Registry's, filled by steps::register_all).
std::vector<Question> load_quiz(const toml::table& step, const std::filesystem::path& file, const LiveKinds& live);

// One question as this run asks it. `correct` and `given` are choice numbers in the tutorial's order
// (what scores and JSON record); `order` is how the choices are shown (shown() and tutorial() convert).
struct Asked {
    std::string step;
    const Question* q = nullptr;
    int correct = 0;        // 1-based, the tutorial's order; 0 when the question is skipped
    std::string source;     // "fixed", "lab" (checked against the lab), "fallback" or "skipped"
    std::string observed;   // what the lab reported, for live questions
    std::string note;       // why a live question fell back or was skipped
    int given = 0;          // the learner's answer (the tutorial's order), 0 = not answered
    bool passed = false;    // the learner skipped it (typed s): asked, not answered, not right
    // order[i]: the tutorial's number of the choice shown at i+1 (empty: not shuffled).
    std::vector<int> order;
    bool skipped() const { return correct == 0; }
    bool right() const { return correct != 0 && given == correct; }
    bool answered() const { return given != 0 || passed; }  // put to the learner: answered or passed
    // Where a choice (the tutorial's number) is shown, and which choice is shown at a place (1-based).
    int shown(int tutorial_number) const;
    int tutorial(int shown_number) const;
    const std::string& choice_shown(int shown_number) const;
};

struct Quiz {
    std::vector<Asked> items;
    std::optional<uint64_t> seed;  // set by shuffle()
    int to_answer() const;  // the questions not skipped
    int right() const;
    int answered() const;  // answered or passed by the learner
    int passed() const;    // skipped by the learner
};

// The steps a quiz covers: `step` alone when given (UsageError when unknown or without questions),
// else every applied step with questions, else (nothing applied) every step with questions.
std::vector<const Step*> quiz_steps(const Tutorial& t, const std::string& step,
                                    const std::vector<std::string>& applied);

// Resolves every question: live ones are asked of the lab when their step is applied; otherwise
// (or when the lab cannot tell) they use their fallback answer, or are skipped with a note.
Quiz prepare(const std::vector<const Step*>& steps, const std::set<std::string>& applied, const LabNames& names);

// Shuffles the choices of every question with a generator seeded with `seed` (the answer key follows:
// `correct` and `given` stay in the tutorial's order). The same seed gives the same order on every
// machine (std::mt19937_64 and a Fisher-Yates shuffle of its own, not std::shuffle).
void shuffle(Quiz& q, uint64_t seed);
constexpr uint64_t kMaxSeed = 0x7fffffffffffffffULL;
// A seed from std::random_device (32 bits), for an attempt nobody gave a seed to. Seeds are kept
// below 2^63 so that JSON (and TOML) can carry them as integers.
uint64_t random_seed();

// What an AnswerSource returns besides a choice number (1-based, as shown).
constexpr int kSkip = -1;  // the learner skips the question (typed s): not right, the quiz goes on
constexpr int kQuit = -2;  // the learner stops (typed q, or end of input): the rest is not asked

// "2,1,3" -> {2,1,3}; "s" skips a question: "2,s,3" -> {2,kSkip,3}. UsageError when malformed.
std::vector<int> parse_answers(const std::string& text);
// Checks the answers against the questions to answer (count and range); UsageError otherwise.
void check_answers(const Quiz& q, const std::vector<int>& answers);

// Asks every question not skipped, in order, a blank line between them: prints it with its choices as
// shown (`order`), gets an answer from `answer` (a shown choice number, kSkip or kQuit), prints right
// or wrong and the explanation (a skipped question gets neither: it can be asked again); prints the
// questions the lab could not answer with their note. Once every question of a step is answered or
// skipped, calls `step_done(step)` (e.g. to record that step's score). Ends with the score. Returns
// false when the learner quit.
using AnswerSource = std::function<int(const Asked&)>;
using StepDone = std::function<void(const std::string& step)>;
bool ask(Quiz& q, const AnswerSource& answer, std::ostream& out, const StepDone& step_done = {});

// An AnswerSource that reads from a terminal, asking again until it gets a number in range, `s`
// (skip) or `q` (quit); the prompt says so. End of input quits.
AnswerSource terminal_answers(std::istream& in, std::ostream& out);
// An AnswerSource that gives `answers` in order (checked first with check_answers), echoing each.
AnswerSource given_answers(std::vector<int> answers, std::ostream& out);

// The quiz as one JSON document: questions, choices as shown and their tutorial numbers ("order"),
// given and correct answers (as shown, and "given_original"/"correct_original" in the tutorial's
// order), explanations, score. `answered` false gives the trainer's sheet (no given answers, no score).
std::string quiz_json(const Quiz& q, const std::string& lab, const std::string& tutorial, bool answered,
                      const std::string& record_error = "");

// Recorded scores of one lab: per tutorial and step, the last and the best attempt.
struct StepScore {
    int last_right = 0, last_of = 0;
    int best_right = 0, best_of = 0;
    int attempts = 0;
    // The last attempt's answers, one per question of the step in the tutorial's order: the choice
    // picked as the tutorial numbers it (not as it was shown), 0 when skipped or not asked.
    std::vector<int> last_given;
};

class Scores {
public:
    // Loads `file` (absent: no scores). Throws Error when it is corrupt.
    explicit Scores(std::filesystem::path file);
    // Adds one attempt per step of the quiz that had questions to answer (only `step` when given).
    void record(const std::string& tutorial, const Quiz& q, const std::string& step = "");
    // Writes the file atomically (creating its directory).
    void save() const;
    const std::map<std::string, StepScore>& of(const std::string& tutorial) const;
    void print(std::ostream& out, const Tutorial& t) const;
    std::string json(const std::string& lab, const std::string& tutorial) const;

private:
    std::filesystem::path file_;
    std::map<std::string, std::map<std::string, StepScore>> by_tutorial_;
};

}  // namespace netlab::lab

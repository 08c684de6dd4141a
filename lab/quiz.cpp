#include "lab/quiz.h"

#include <algorithm>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>
#include <sstream>

#include "base/did_you_mean.h"
#include "base/error.h"
#include "lab/fs.h"
#include "lab/tutorial.h"

namespace netlab::lab {

namespace fs = std::filesystem;

// ---- live answer kinds ----------------------------------------------------------------------

void LiveKinds::add(const std::string& kind, LiveFactory f) { kinds_[kind] = std::move(f); }

std::unique_ptr<LiveAnswer> LiveKinds::make(const std::string& kind, const Params& p) const {
    auto it = kinds_.find(kind);
    if (it != kinds_.end()) return it->second(p);
    auto known = kinds();
    std::string msg = "unknown live answer kind '" + kind + "'";
    if (!closest(kind, known).empty()) p.fail(msg + did_you_mean(kind, known));
    msg += " (known:";
    for (auto& k : known) msg += " " + k;
    p.fail(msg + (known.empty() ? " none)" : ")"));
}

std::vector<std::string> LiveKinds::kinds() const {
    std::vector<std::string> out;
    for (auto& [k, f] : kinds_) out.push_back(k);
    return out;
}


// ---- loading ----------------------------------------------------------------------------------

namespace {

const std::vector<std::string> kQuizKeys = {"question", "choices", "answer", "explain", "live"};
constexpr size_t kMaxChoices = 9;  // answered with one digit

std::string where_of(const fs::path& file, const toml::node& n) {
    return file.string() + ":" + std::to_string(n.source().begin.line);
}

std::string nonempty_string(const toml::table& t, const char* key, const std::string& where, const fs::path& file) {
    auto n = t[key];
    if (!n) throw UsageError(where + ": quiz question: missing field '" + key + "'");
    auto v = n.value<std::string>();
    if (!v || v->find_first_not_of(" \t\n") == std::string::npos)
        throw UsageError(where_of(file, *n.node()) + ": quiz field '" + key + "' must be a non-empty string");
    return *v;
}

std::vector<std::string> load_choices(const toml::table& t, const std::string& where, const fs::path& file) {
    auto n = t["choices"];
    if (!n) throw UsageError(where + ": quiz question: missing field 'choices'");
    std::string at = where_of(file, *n.node());
    auto* arr = n.as_array();
    if (!arr) throw UsageError(at + ": quiz field 'choices' must be a list of strings");
    std::vector<std::string> out;
    for (auto& e : *arr) {
        auto s = e.value<std::string>();
        if (!s || s->empty()) throw UsageError(at + ": quiz 'choices' must be non-empty strings");
        if (std::find(out.begin(), out.end(), *s) != out.end())
            throw UsageError(at + ": quiz choice '" + *s + "' is listed twice");
        out.push_back(*s);
    }
    if (out.size() < 2 || out.size() > kMaxChoices)
        throw UsageError(at + ": a quiz question needs 2 to " + std::to_string(kMaxChoices) + " choices, not " +
                         std::to_string(out.size()));
    return out;
}

int load_answer(const toml::table& t, size_t choices, bool live, const std::string& where, const fs::path& file) {
    auto n = t["answer"];
    if (!n) {
        if (live) return 0;
        throw UsageError(where + ": quiz question: missing field 'answer' (the number of the right choice, from 1)");
    }
    std::string at = where_of(file, *n.node());
    auto v = n.value<int64_t>();
    if (!n.is_integer() || !v || *v < 1 || *v > static_cast<int64_t>(choices))
        throw UsageError(at + ": quiz field 'answer' must be a choice number from 1 to " + std::to_string(choices));
    return static_cast<int>(*v);
}

std::shared_ptr<const LiveAnswer> load_live(const toml::table& t, const fs::path& file, const LiveKinds& live) {
    auto n = t["live"];
    if (!n) return nullptr;
    std::string at = where_of(file, *n.node());
    auto* lt = n.as_table();
    if (!lt) throw UsageError(at + ": quiz field 'live' must be a table, e.g. live = { kind = \"client_addr\", ... }");
    Params p(*lt, at);
    return live.make(p.str("kind"), p);
}

Question load_question(const toml::table& t, const std::string& where, const fs::path& file, const LiveKinds& live) {
    for (auto&& [k, v] : t) {
        std::string key(k.str());
        if (std::find(kQuizKeys.begin(), kQuizKeys.end(), key) != kQuizKeys.end()) continue;
        throw UsageError(where_of(file, v) + ": " + unknown("quiz field", key, kQuizKeys));
    }
    Question q;
    q.where = where;
    q.text = nonempty_string(t, "question", where, file);
    q.choices = load_choices(t, where, file);
    q.live = load_live(t, file, live);
    q.answer = load_answer(t, q.choices.size(), q.live != nullptr, where, file);
    q.explain = nonempty_string(t, "explain", where, file);
    return q;
}

}  // namespace

std::vector<Question> load_quiz(const toml::table& step, const fs::path& file, const LiveKinds& live) {
    std::vector<Question> out;
    auto n = step["quiz"];
    if (!n) return out;
    auto* arr = n.as_array();
    if (!arr) throw UsageError(where_of(file, *n.node()) + ": 'quiz' must be a list of tables ([[step.quiz]])");
    for (auto& e : *arr) {
        auto* t = e.as_table();
        if (!t) throw UsageError(where_of(file, e) + ": each 'quiz' entry must be a table ([[step.quiz]])");
        out.push_back(load_question(*t, where_of(file, e), file, live));
    }
    return out;
}

// ---- choosing and resolving the questions ------------------------------------------------------

int Quiz::to_answer() const {
    return static_cast<int>(std::count_if(items.begin(), items.end(), [](const Asked& a) { return !a.skipped(); }));
}

int Quiz::right() const {
    return static_cast<int>(std::count_if(items.begin(), items.end(), [](const Asked& a) { return a.right(); }));
}

int Quiz::answered() const {
    return static_cast<int>(std::count_if(items.begin(), items.end(), [](const Asked& a) { return a.answered(); }));
}

int Quiz::passed() const {
    return static_cast<int>(std::count_if(items.begin(), items.end(), [](const Asked& a) { return a.passed; }));
}

int Asked::shown(int tutorial_number) const {
    if (order.empty()) return tutorial_number;
    auto it = std::find(order.begin(), order.end(), tutorial_number);
    return it == order.end() ? 0 : static_cast<int>(it - order.begin()) + 1;
}

int Asked::tutorial(int shown_number) const {
    if (order.empty() || shown_number < 1 || shown_number > static_cast<int>(order.size())) return shown_number;
    return order[shown_number - 1];
}

const std::string& Asked::choice_shown(int shown_number) const { return q->choices.at(tutorial(shown_number) - 1); }

std::vector<const Step*> quiz_steps(const Tutorial& t, const std::string& step,
                                    const std::vector<std::string>& applied) {
    if (!step.empty()) {
        const Step* s = &t.step(step);
        if (s->quiz.empty()) throw UsageError("step '" + step + "' of " + t.name + " has no quiz questions");
        return {s};
    }
    std::set<std::string> done(applied.begin(), applied.end());
    std::vector<const Step*> out;
    for (auto& s : t.steps)
        if (!s.quiz.empty() && done.count(s.id)) out.push_back(&s);
    if (out.empty())
        for (auto& s : t.steps)
            if (!s.quiz.empty()) out.push_back(&s);
    if (out.empty()) throw UsageError("tutorial " + t.name + " has no quiz questions");
    return out;
}

namespace {

void resolve_live(Asked& a, bool applied, const LabNames& names) {
    const Question& q = *a.q;
    if (applied) {
        try {
            a.observed = q.live->observe(names);
            auto it = std::find(q.choices.begin(), q.choices.end(), a.observed);
            if (it != q.choices.end()) {
                a.correct = static_cast<int>(it - q.choices.begin()) + 1;
                a.source = "lab";
                return;
            }
            a.source = "skipped";
            a.note = "the lab reported " + a.observed + ", which is none of the choices (does `netlab verify` pass?)";
            return;
        } catch (const Error& e) {
            a.note = std::string("could not ask the lab: ") + e.what();
        }
    } else {
        std::string lab = names.lab == "default" ? "" : "--lab " + names.lab + " ";
        a.note = "step '" + a.step + "' is not applied in this lab (netlab " + lab + "run --until " + a.step + ")";
    }
    a.correct = q.answer;
    a.source = q.answer ? "fallback" : "skipped";
}

}  // namespace

Quiz prepare(const std::vector<const Step*>& steps, const std::set<std::string>& applied, const LabNames& names) {
    Quiz quiz;
    for (const Step* s : steps)
        for (auto& q : s->quiz) {
            Asked a;
            a.step = s->id;
            a.q = &q;
            if (q.live) {
                resolve_live(a, applied.count(s->id) > 0, names);
            } else {
                a.correct = q.answer;
                a.source = "fixed";
            }
            quiz.items.push_back(std::move(a));
        }
    return quiz;
}

// ---- shuffling ----------------------------------------------------------------------------------

void shuffle(Quiz& q, uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (auto& a : q.items) {
        a.order.resize(a.q->choices.size());
        std::iota(a.order.begin(), a.order.end(), 1);
        // Fisher-Yates; the modulo's bias (below 2^-59 for 9 choices) does not matter here.
        for (size_t i = a.order.size() - 1; i > 0; --i) std::swap(a.order[i], a.order[rng() % (i + 1)]);
    }
    q.seed = seed;
}

uint64_t random_seed() {
    std::random_device rd;
    return rd();  // 32 bits: plenty for a quiz, and short to type back as --seed
}

// ---- answers ------------------------------------------------------------------------------------

namespace {

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// A choice number 1..9 (one or two digits, no sign), or 0 when `s` is not one.
int choice_number(const std::string& s) {
    if (s.empty() || s.size() > 2 || s.find_first_not_of("0123456789") != std::string::npos) return 0;
    return std::stoi(s);
}

}  // namespace

std::vector<int> parse_answers(const std::string& text) {
    std::vector<int> out;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, ',')) {
        std::string p = trim(part);
        int n = p == "s" ? kSkip : choice_number(p);
        if (n == 0)
            throw UsageError("bad --answers '" + text +
                             "': expected choice numbers (or s to skip one) separated by commas, e.g. 2,s,3");
        out.push_back(n);
    }
    if (out.empty() || text.back() == ',')
        throw UsageError("bad --answers '" + text +
                         "': expected choice numbers (or s to skip one) separated by commas, e.g. 2,s,3");
    return out;
}

void check_answers(const Quiz& q, const std::vector<int>& answers) {
    if (static_cast<int>(answers.size()) != q.to_answer())
        throw UsageError("--answers gives " + std::to_string(answers.size()) + " answer(s) for " +
                             std::to_string(q.to_answer()) + " question(s)",
                         "netlab quiz --json lists the questions this quiz asks");
    size_t i = 0;
    for (auto& a : q.items) {
        if (a.skipped()) continue;
        int n = answers[i++];
        if (n > static_cast<int>(a.q->choices.size()))
            throw UsageError("--answers: answer " + std::to_string(i) + " is " + std::to_string(n) + ", but question " +
                             std::to_string(i) + " has only " + std::to_string(a.q->choices.size()) + " choices");
    }
}

// ---- asking -------------------------------------------------------------------------------------

namespace {

void print_indented(std::ostream& out, const std::string& text) {
    std::istringstream in(trim(text));
    std::string line;
    while (std::getline(in, line)) out << "  " << line << "\n";
}

void print_question(std::ostream& out, const Asked& a, int number, int total) {
    out << "Question " << number << "/" << total << " (step " << a.step << "): " << trim(a.q->text) << "\n";
    for (size_t c = 1; c <= a.q->choices.size(); ++c) out << "  " << c << ") " << a.choice_shown(c) << "\n";
}

void print_verdict(std::ostream& out, const Asked& a) {
    if (a.passed) {
        out << "Skipped (not counted as right; `netlab quiz " << a.step << "` asks it again).\n";
        return;
    }
    if (a.right())
        out << "Right.\n";
    else
        out << "Wrong: the answer is " << a.shown(a.correct) << ") " << a.q->choices[a.correct - 1] << ".\n";
    if (a.source == "lab") out << "  (checked against the lab: it reported " << a.observed << ")\n";
    if (a.source == "fallback") out << "  (the tutorial's answer, not the lab's: " << a.note << ")\n";
    print_indented(out, a.q->explain);
}

}  // namespace

bool ask(Quiz& q, const AnswerSource& answer, std::ostream& out, const StepDone& step_done) {
    int total = q.to_answer(), number = 0;
    bool first = true;
    auto separate = [&] {  // a blank line between questions
        if (!first) out << "\n";
        first = false;
    };
    for (size_t i = 0; i < q.items.size();) {
        // One step's questions, then its score can be recorded.
        size_t end = i;
        while (end < q.items.size() && q.items[end].step == q.items[i].step) ++end;
        bool any = false;
        for (; i < end; ++i) {
            Asked& a = q.items[i];
            separate();
            if (a.skipped()) {
                out << "Not asked (step " << a.step << "): " << trim(a.q->text) << "\n  " << a.note << "\n";
                continue;
            }
            print_question(out, a, ++number, total);
            int c = answer(a);
            if (c == kQuit) {
                out << "\nQuit after " << q.answered() << " of " << total << " question(s): " << q.right()
                    << " right.\n";
                return false;
            }
            if (c == kSkip)
                a.passed = true;
            else
                a.given = a.tutorial(c);
            print_verdict(out, a);
            any = true;
        }
        if (any && step_done) step_done(q.items[end - 1].step);
    }
    separate();
    out << "Score: " << q.right() << "/" << total;
    if (q.passed()) out << " (" << q.passed() << " skipped)";
    out << "\n";
    return true;
}

AnswerSource terminal_answers(std::istream& in, std::ostream& out) {
    return [&in, &out](const Asked& a) {
        int n = static_cast<int>(a.q->choices.size());
        for (;;) {
            out << "Your answer (1-" << n << ", s skips, q quits): " << std::flush;
            std::string line;
            if (!std::getline(in, line)) {
                out << "\n";
                return kQuit;  // end of input (Ctrl-D): the learner stops
            }
            std::string t = trim(line);
            if (t == "q" || t == "Q") return kQuit;
            if (t == "s" || t == "S") return kSkip;
            int c = choice_number(t);
            if (c >= 1 && c <= n) return c;
            out << "Type a number from 1 to " << n << ", s to skip or q to quit.\n";
        }
    };
}

AnswerSource given_answers(std::vector<int> answers, std::ostream& out) {
    auto next = std::make_shared<size_t>(0);
    return [answers = std::move(answers), next, &out](const Asked&) {
        if (*next >= answers.size()) throw UsageError("--answers: more questions than answers");
        int c = answers[(*next)++];
        if (c == kSkip)
            out << "Your answer: s\n";
        else
            out << "Your answer: " << c << "\n";
        return c;
    };
}

// ---- JSON ---------------------------------------------------------------------------------------

namespace {

using Json = nlohmann::json;  // keys sorted, as before (a std::map)

std::string outcome(const Asked& a) {
    if (a.passed) return "skipped";
    if (a.given == 0) return "not asked";  // the learner quit before it
    return a.right() ? "right" : "wrong";
}

// Pretty, four spaces, a newline at the end; bytes that are not UTF-8 are replaced, not thrown on.
std::string to_json(const Json& j) { return j.dump(4, ' ', false, Json::error_handler_t::replace) + "\n"; }

Json question_json(const Asked& a, bool answered) {
    Json choices = Json::array(), order = Json::array();
    for (size_t c = 1; c <= a.q->choices.size(); ++c) {
        choices.push_back(a.choice_shown(static_cast<int>(c)));
        order.push_back(a.tutorial(static_cast<int>(c)));
    }
    Json t{{"step", a.step},         {"question", trim(a.q->text)}, {"choices", std::move(choices)},
           {"order", std::move(order)}, {"explain", trim(a.q->explain)}, {"source", a.source},
           {"live", a.q->live != nullptr}};
    if (!a.skipped()) {
        t["correct"] = a.shown(a.correct);
        t["correct_original"] = a.correct;
    }
    if (!a.observed.empty()) t["observed"] = a.observed;
    if (!a.note.empty()) t["note"] = a.note;
    if (answered && !a.skipped()) {
        t["given"] = a.given ? a.shown(a.given) : 0;
        t["given_original"] = a.given;
        t["right"] = a.right();
        t["outcome"] = outcome(a);
    }
    return t;
}

}  // namespace

std::string quiz_json(const Quiz& q, const std::string& lab, const std::string& tutorial, bool answered,
                      const std::string& record_error) {
    Json questions = Json::array();
    for (auto& a : q.items) questions.push_back(question_json(a, answered));
    Json doc{{"lab", lab},
             {"tutorial", tutorial},
             {"questions", std::move(questions)},
             {"to_answer", q.to_answer()},
             {"shuffled", q.seed.has_value()}};
    if (q.seed) doc["seed"] = *q.seed;
    if (answered) {
        doc["score"] = Json{{"right", q.right()},
                            {"of", q.to_answer()},
                            {"answered", q.answered() - q.passed()},
                            {"skipped", q.passed()}};
        doc["finished"] = std::all_of(q.items.begin(), q.items.end(),
                                      [](const Asked& a) { return a.skipped() || a.answered(); });
        doc["recorded"] = record_error.empty();
        if (!record_error.empty()) doc["record_error"] = record_error;
    }
    return to_json(doc);
}

// ---- scores -------------------------------------------------------------------------------------

namespace {

const std::map<std::string, int StepScore::*> kScoreFields = {
    {"last_right", &StepScore::last_right}, {"last_of", &StepScore::last_of},   {"best_right", &StepScore::best_right},
    {"best_of", &StepScore::best_of},       {"attempts", &StepScore::attempts},
};

toml::table score_table(const StepScore& s) {
    toml::table t;
    for (auto& [k, m] : kScoreFields) t.insert(k, s.*m);
    toml::array given;
    for (int g : s.last_given) given.push_back(g);
    t.insert("last_given", std::move(given));
    return t;
}

// right/of beats best_right/best_of: a higher fraction, or the same fraction of more questions.
bool better(int right, int of, const StepScore& s) {
    if (s.attempts == 0 || s.best_of == 0) return true;
    long lhs = static_cast<long>(right) * s.best_of, rhs = static_cast<long>(s.best_right) * of;
    return lhs > rhs || (lhs == rhs && of > s.best_of);
}

}  // namespace

Scores::Scores(fs::path file) : file_(std::move(file)) {
    auto text = read_file(file_);
    if (!text) return;
    toml::table root;
    try {
        root = toml::parse(*text, file_.string());
    } catch (const toml::parse_error& e) {
        throw Error("read quiz scores " + file_.string() + ": " + std::string(e.description()),
                    "remove the file to start the scores afresh");
    }
    for (auto&& [tut, steps] : root) {
        auto* st = steps.as_table();
        if (!st) continue;
        for (auto&& [step, v] : *st) {
            auto* t = v.as_table();
            if (!t) continue;
            StepScore& s = by_tutorial_[std::string(tut.str())][std::string(step.str())];
            for (auto& [k, m] : kScoreFields) s.*m = static_cast<int>((*t)[k].value_or(int64_t{0}));
            if (auto* given = (*t)["last_given"].as_array())
                for (auto& g : *given) s.last_given.push_back(static_cast<int>(g.value_or(int64_t{0})));
        }
    }
}

void Scores::record(const std::string& tutorial, const Quiz& q, const std::string& only) {
    std::map<std::string, std::pair<int, int>> per_step;  // right, of
    std::map<std::string, std::vector<int>> given;        // per question of the step, the tutorial's numbers
    for (auto& a : q.items) {
        if (!only.empty() && a.step != only) continue;
        given[a.step].push_back(a.given);
        if (a.skipped()) continue;
        auto& [right, of] = per_step[a.step];
        right += a.right();
        ++of;
    }
    for (auto& [step, ro] : per_step) {
        StepScore& s = by_tutorial_[tutorial][step];
        s.last_given = given[step];
        if (better(ro.first, ro.second, s)) {
            s.best_right = ro.first;
            s.best_of = ro.second;
        }
        s.last_right = ro.first;
        s.last_of = ro.second;
        ++s.attempts;
    }
}

void Scores::save() const {
    toml::table root;
    for (auto& [tut, steps] : by_tutorial_) {
        toml::table t;
        for (auto& [step, s] : steps) t.insert(step, score_table(s));
        root.insert(tut, std::move(t));
    }
    std::ostringstream o;
    o << "# netlab quiz scores of this lab: per tutorial and step, the last and the best attempt\n" << root << "\n";
    std::error_code ec;
    fs::create_directories(file_.parent_path(), ec);
    write_file_atomic(file_, o.str());
}

const std::map<std::string, StepScore>& Scores::of(const std::string& tutorial) const {
    static const std::map<std::string, StepScore> none;
    auto it = by_tutorial_.find(tutorial);
    return it == by_tutorial_.end() ? none : it->second;
}

void Scores::print(std::ostream& out, const Tutorial& t) const {
    const auto& mine = of(t.name);
    if (mine.empty()) {
        out << "No quiz scores recorded yet (netlab quiz asks the questions).\n";
        return;
    }
    size_t w = 0;
    for (auto& s : t.steps) w = std::max(w, s.id.size());
    out << "Quiz scores (" << t.name << "):\n";
    for (auto& step : t.steps) {
        auto it = mine.find(step.id);
        if (it == mine.end()) continue;
        const StepScore& s = it->second;
        out << "  " << step.id << std::string(w + 2 - step.id.size(), ' ') << "last " << s.last_right << "/"
            << s.last_of << "  best " << s.best_right << "/" << s.best_of << "  (" << s.attempts
            << (s.attempts == 1 ? " attempt)" : " attempts)") << "\n";
    }
}

std::string Scores::json(const std::string& lab, const std::string& tutorial) const {
    Json steps = Json::object();
    for (auto& [step, s] : of(tutorial)) {
        Json score = Json::object();
        for (auto& [k, m] : kScoreFields) score[k] = s.*m;
        steps[step] = std::move(score);
    }
    return to_json(Json{{"lab", lab}, {"tutorial", tutorial}, {"scores", std::move(steps)}});
}

}  // namespace netlab::lab

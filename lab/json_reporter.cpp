#include "lab/json_reporter.h"

#include <nlohmann/json.hpp>

#include "lab/tutorial.h"

namespace netlab::lab {

namespace {

using Json = nlohmann::ordered_json;

// Compact, one object per line; bytes that are not UTF-8 are replaced rather than thrown on.
void emit(std::ostream& out, const Json& j) {
    out << j.dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
    out.flush();
}

const char* kind_name(StepOutcome::Kind k) {
    using K = StepOutcome::Kind;
    switch (k) {
        case K::AlreadyApplied: return "already-applied";
        case K::Applied: return "applied";
        case K::AppliedUnchecked: return "applied-unchecked";
        case K::ApplyFailed: return "apply-failed";
        case K::Recovering: return "recovering";
        case K::Undone: return "undone";
        case K::UndoFinished: return "undone";
        case K::UndoFailed: return "undo-failed";
        case K::Verified: return "verified";
    }
    return "";
}

const char* kind_name(Ending::Kind k) {
    using K = Ending::Kind;
    switch (k) {
        case K::AlreadyPast: return "already-past";
        case K::InterruptedBefore: return "interrupted-before";
        case K::InterruptedRolledBack: return "interrupted-rolled-back";
        case K::InterruptedAfter: return "interrupted-after";
        case K::RollbackFailed: return "rollback-failed";
        case K::ChecksFailed: return "checks-failed";
        case K::NothingApplied: return "nothing-applied";
        case K::InterruptedUndo: return "interrupted-undo";
    }
    return "";
}

Json check_json(const Check& c) {
    Json j{{"ok", c.ok}, {"what", c.what}};
    if (!c.expected.empty()) j["expected"] = c.expected;
    if (!c.observed.empty()) j["observed"] = c.observed;
    if (!c.note.empty()) j["note"] = c.note;
    return j;
}

}  // namespace

void JsonReporter::begin(const Tutorial& t) { (void)t; }

void JsonReporter::step(const StepOutcome& o) {
    Json j{{"event", "step"}, {"kind", kind_name(o.kind)}, {"id", o.id}, {"title", o.title}, {"ok", o.ok}};
    if (!o.checks.empty()) {
        Json checks = Json::array();
        for (auto& c : o.checks) checks.push_back(check_json(c));
        j["checks"] = std::move(checks);
    }
    if (!o.error.empty()) j["error"] = o.error;
    if (!o.hint.empty()) j["hint"] = o.hint;
    if (!o.goes_with.empty()) j["goes_with"] = o.goes_with;
    if (o.interrupted) j["interrupted"] = true;
    emit(out_, j);
}

void JsonReporter::ended(const Ending& e) {
    Json j{{"event", "ended"}, {"kind", kind_name(e.kind)}, {"lab", e.lab}};
    if (!e.command.empty()) j["command"] = e.command;
    if (!e.step.empty()) j["step"] = e.step;
    if (!e.last.empty()) j["last"] = e.last;
    if (!e.error.empty()) j["error"] = e.error;
    emit(out_, j);
}

void JsonReporter::status(const LabStatus& s) {
    emit(out_, Json{{"lab", s.lab},
                    {"tutorial", s.tutorial},
                    {"state", s.state},
                    {"applied", s.applied},
                    {"next", s.next.empty() ? Json(nullptr) : Json(s.next)},
                    {"steps", s.steps}});
}

void JsonReporter::list(const Tutorial& t, size_t applied) {
    Json steps = Json::array();
    for (size_t i = 0; i < t.steps.size(); ++i)
        steps.push_back({{"id", t.steps[i].id}, {"title", t.steps[i].title}, {"applied", i < applied}});
    emit(out_, Json{{"tutorial", t.name}, {"title", t.title}, {"steps", std::move(steps)}});
}

}  // namespace netlab::lab

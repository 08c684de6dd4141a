// lab/text_reporter.h: the exact lines of each event, as netlab printed them before the reporter
// existed (the format strings of the runner's own printing, copied from the commit before).
#include <doctest/doctest.h>

#include <sstream>

#include "lab/text_reporter.h"
#include "lab/tutorial.h"

using namespace netlab::lab;

namespace {

Tutorial two_steps() {
    Tutorial t;
    t.name = "t";
    t.title = "A tutorial";
    t.steps.resize(2);
    t.steps[0].id = "first";
    t.steps[0].title = "The first step";
    t.steps[1].id = "second-step";
    t.steps[1].title = "The second step";
    return t;
}

StepOutcome step(StepOutcome::Kind k, const std::string& id, const std::string& title) {
    StepOutcome o;
    o.kind = k;
    o.id = id;
    o.title = title;
    return o;
}

}  // namespace

TEST_CASE("text reporter: run's lines, ids padded to the longest id plus two") {
    auto t = two_steps();
    std::ostringstream out;
    TextReporter r(out);
    r.begin(t);
    r.step(step(StepOutcome::Kind::AlreadyApplied, "first", "The first step"));
    auto ok = step(StepOutcome::Kind::Applied, "second-step", "The second step");
    ok.checks = {{true, "passes silently", "", "", ""}, {true, "passes with a note", "", "", "line 1\nline 2"}};
    r.step(ok);
    auto bad = step(StepOutcome::Kind::Applied, "first", "The first step");
    bad.ok = false;
    bad.checks = {{false, "x is up", "up", "down", ""}, {false, "y", "", "", ""}};
    r.step(bad);
    r.ended({Ending::Kind::ChecksFailed, "default", "", "first", "", ""});
    CHECK(out.str() ==
          "  = first        The first step (already applied)\n"
          "  \u2713 second-step  The second step\n"
          "      \u2713 passes with a note\n"
          "          line 1\n"
          "          line 2\n"
          "  \u2717 first        The first step\n"
          "      \u2717 x is up\n"
          "          expected: up\n"
          "          observed: down\n"
          "      \u2717 y\n"
          "Step 'first' is applied but its checks failed; inspect it (netlab exec ...), then netlab undo.\n");
}

TEST_CASE("text reporter: a failed step, its rollback, interruptions") {
    auto t = two_steps();
    std::ostringstream out;
    TextReporter r(out);
    r.begin(t);
    auto failed = step(StepOutcome::Kind::ApplyFailed, "first", "The first step");
    failed.error = "create x: File exists";
    failed.hint = "remove x";
    r.step(failed);
    r.ended({Ending::Kind::RollbackFailed, "default", "", "first", "", "delete x: busy"});
    r.ended({Ending::Kind::InterruptedRolledBack, "default", "", "first", "", ""});
    r.ended({Ending::Kind::InterruptedBefore, "default", "", "second-step", "", ""});
    r.step(step(StepOutcome::Kind::AppliedUnchecked, "first", "The first step"));
    r.ended({Ending::Kind::InterruptedAfter, "default", "", "first", "", ""});
    r.step(step(StepOutcome::Kind::Recovering, "second-step", "The second step"));
    CHECK(out.str() ==
          "  \u2717 first        The first step\n"
          "      create x: File exists\n"
          "      hint: remove x\n"
          "      rolling back 'first'...\n"
          "      rollback failed: delete x: busy\n"
          "      run `netlab undo` or `netlab reset`\n"
          "Interrupted; 'first' was rolled back. The lab is consistent: netlab run resumes, netlab undo walks back.\n"
          "Interrupted; stopped before 'second-step'. The lab is consistent: netlab run resumes, netlab undo walks "
          "back.\n"
          "  \u2713 first        The first step (applied; interrupted before its checks were done)\n"
          "Interrupted after 'first'. The lab is consistent: netlab verify checks it, netlab run resumes, netlab "
          "undo walks back.\n"
          "  \u21b6 second-step: a previous netlab stopped in the middle of it; rolling it back\n");
}

TEST_CASE("text reporter: undo and verify lines, and the already-past sentence of another lab") {
    auto t = two_steps();
    std::ostringstream out;
    TextReporter r(out);
    r.begin(t);
    r.step(step(StepOutcome::Kind::Undone, "second-step", "The second step"));
    auto waits = step(StepOutcome::Kind::Undone, "first", "The first step");
    waits.goes_with = "netns a-netlab";
    r.step(waits);
    r.step(step(StepOutcome::Kind::UndoFinished, "first", "The first step"));
    auto uf = step(StepOutcome::Kind::UndoFailed, "first", "The first step");
    uf.error = "delete x: busy";
    r.step(uf);
    auto half = step(StepOutcome::Kind::Verified, "first", "The first step");
    half.ok = false;
    half.interrupted = true;
    r.step(half);
    r.ended({Ending::Kind::InterruptedUndo, "a", "undo", "", "", ""});
    r.ended({Ending::Kind::InterruptedUndo, "a", "undo", "", "first", ""});
    r.ended({Ending::Kind::NothingApplied, "a", "verify", "", "", ""});
    r.ended({Ending::Kind::AlreadyPast, "a", "", "first", "second-step", ""});
    r.ended({Ending::Kind::AlreadyPast, "default", "", "first", "second-step", ""});
    CHECK(out.str() ==
          "  \u21b6 second-step  The second step (undone)\n"
          "  \u21b6 first        The first step (goes with netns a-netlab, deleted below)\n"
          "  \u21b6 first The first step (undone)\n"
          "  \u2717 first        undo failed: delete x: busy\n"
          "      the journal keeps what is left; run `netlab undo` again after fixing it, or `netlab reset`\n"
          "  \u2717 first        The first step (interrupted: run `netlab run` or `netlab undo`)\n"
          "Interrupted; the lab is consistent up to '(nothing)': netlab verify checks it, netlab undo goes on, "
          "netlab run builds it up again.\n"
          "Interrupted; the lab is consistent up to 'first': netlab verify checks it, netlab undo goes on, "
          "netlab run builds it up again.\n"
          "Lab 'a' has nothing applied; nothing to verify.\n"
          "Lab 'a' is already past 'first' (last applied: second-step); nothing to do. To go back: netlab undo "
          "--to first --lab a\n"
          "Lab 'default' is already past 'first' (last applied: second-step); nothing to do. To go back: netlab "
          "undo --to first\n");
}

TEST_CASE("text reporter: status and list") {
    auto t = two_steps();
    std::ostringstream out;
    TextReporter r(out);
    r.status({"default", "t", "clean", {}, "first", "The first step", 2});
    r.status({"a", "t", "interrupted", {"first"}, "second-step", "The second step", 2});
    r.status({"a", "t", "applied", {"first", "second-step"}, "", "", 2});
    r.list(t, 1);
    CHECK(out.str() ==
          "lab default (tutorial t): nothing applied\n"
          "next: first - The first step\n"
          "lab a (tutorial t): 1 of 2 steps applied, last 'first' (interrupted)\n"
          "next: second-step - The second step\n"
          "lab a (tutorial t): 2 of 2 steps applied, last 'second-step'\n"
          "A tutorial\n"
          "  [x]  1. first        The first step\n"
          "  [ ]  2. second-step  The second step\n");
}

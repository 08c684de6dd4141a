// The engine decides, a reporter prints. lab::Runner tells a Reporter what happened, as data: the
// outcome of each step (applied with its checks, undone, failed...) and how a command ended
// (interrupted, nothing to do...). TextReporter (lab/text_reporter.h) prints the terminal lines with
// their symbols (✓ ✗ = ↶); JsonReporter (lab/json_reporter.h) prints one JSON object per event. Views
// that follow a lab (trace, a workshop board, a web page) implement the same interface.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "lab/action.h"

namespace netlab::lab {

struct Tutorial;

struct StepOutcome {
    enum class Kind {
        AlreadyApplied,    // run: applied by an earlier command
        Applied,           // run: applied; `checks` and `ok` say how its checks went
        AppliedUnchecked,  // run: applied, interrupted before its checks were done
        ApplyFailed,       // run: `error` (and `hint`); it is being rolled back
        Recovering,        // run/undo: a previous netlab stopped in the middle of it; being rolled back
        Undone,            // undo: undone, or waiting for `goes_with` (a namespace deleted below)
        UndoFinished,      // undo: a step an interrupted undo left waiting for its namespace, now undone
        UndoFailed,        // undo: `error` (and `hint`); the journal keeps what is left
        Verified,          // verify: `checks` and `ok`; `interrupted` when the journal says half-done
    };
    Kind kind = Kind::Applied;
    std::string id;
    std::string title;
    bool ok = true;
    std::vector<Check> checks;
    std::string error, hint;
    std::string goes_with;     // Undone: "netns X" when the step's records go with that namespace
    bool interrupted = false;  // Verified
};

// How a command ended, when it ended otherwise than by its steps alone.
struct Ending {
    enum class Kind {
        AlreadyPast,            // run --until a step before the last applied one: `step`, `last`
        InterruptedBefore,      // run: stopped before `step`
        InterruptedRolledBack,  // run: `step` was rolled back after a signal
        InterruptedAfter,       // run: after `step` was applied, before its checks
        RollbackFailed,         // run: rolling `step` back failed with `error`
        ChecksFailed,           // run: `step` is applied but its checks failed
        NothingApplied,         // undo / verify (`command`): the lab has nothing applied
        InterruptedUndo,        // undo: the lab is consistent up to `last` ("" for nothing)
    };
    Kind kind = Kind::ChecksFailed;
    std::string lab;
    std::string command;  // "undo", "verify"
    std::string step;
    std::string last;
    std::string error;
};

// What `netlab status` reports.
struct LabStatus {
    std::string lab;
    std::string tutorial;
    std::string state;                 // "clean", "applied", "interrupted"
    std::vector<std::string> applied;  // the ids of the journal's steps, in order
    std::string next;                  // the next step's id, "" when every step is applied
    std::string next_title;
    size_t steps = 0;                  // how many steps the tutorial has
};

class Reporter {
public:
    virtual ~Reporter() = default;
    // Before a command's first step, with the tutorial it runs (e.g. to align the step ids).
    virtual void begin(const Tutorial& t) = 0;
    virtual void step(const StepOutcome& o) = 0;
    virtual void ended(const Ending& e) = 0;
    virtual void status(const LabStatus& s) = 0;
    // `netlab list`: the tutorial's steps, the first `applied` of them applied.
    virtual void list(const Tutorial& t, size_t applied) = 0;
    // Where free text goes (the lock's "waiting for" line, a step kind's notes).
    virtual std::ostream& text() = 0;
};

}  // namespace netlab::lab

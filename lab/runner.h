// The engine: applies the steps of a tutorial in order, verifies them, undoes them from the
// journal, and tells a Reporter (lab/reporter.h) the outcome of each step as it goes. It decides;
// the reporter prints (TextReporter: one line per step, failed checks with expected against observed).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "lab/action.h"
#include "lab/registry.h"
#include "lab/reporter.h"
#include "lab/tutorial.h"

namespace netlab::lab {

struct RunOptions {
    std::string until;      // "" = all steps
    bool verify = true;
    // Called after each step applied and verified (e.g. to pause with its explanation).
    std::function<void(const Step&)> after_step;
};

struct UndoOptions {
    int steps = 1;          // undo this many applied steps (default 1)
    std::string to;         // or: undo until this step is the last one applied
    bool all = false;       // or: everything, the lab host included
};

class RunSession;

class Runner {
public:
    Runner(const Tutorial& t, const Registry& reg, LabNames names, std::filesystem::path state_root,
           std::filesystem::path self_exe, Reporter& reporter);
    // Reports to `out` with a TextReporter.
    Runner(const Tutorial& t, const Registry& reg, LabNames names, std::filesystem::path state_root,
           std::filesystem::path self_exe, std::ostream& out);

    // Exit codes: 0 ok, 1 a step or check failed, 130 interrupted. UsageError for bad input.
    int run(const RunOptions& o);
    int undo(const UndoOptions& o);
    int verify();                 // every applied step, reading the kernel back
    LabStatus status() const;     // what is applied, from the journal
    int report_status();          // status(), told to the reporter
    int list();

    // The ids of the applied steps, in order (from the journal).
    std::vector<std::string> applied() const;

private:
    friend class RunSession;
    const Tutorial& t_;
    const Registry& reg_;
    LabNames names_;
    std::filesystem::path dir_;
    std::filesystem::path self_exe_;
    std::unique_ptr<Reporter> own_reporter_;  // the TextReporter of the second constructor
    Reporter& rep_;
};

}  // namespace netlab::lab

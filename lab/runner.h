// The engine: applies the steps of a tutorial in order, verifies them, undoes them from the
// journal, and reports. Output is one line per step as it goes; failed checks show expected
// against observed.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "lab/action.h"
#include "lab/registry.h"
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

class Runner {
public:
    Runner(const Tutorial& t, const Registry& reg, LabNames names, std::filesystem::path state_root,
           std::filesystem::path self_exe, std::ostream& out);

    // Exit codes: 0 ok, 1 a step or check failed. UsageError for bad input.
    int run(const RunOptions& o);
    int undo(const UndoOptions& o);
    int verify();                 // every applied step, reading the kernel back
    int status(bool json);
    int list();

    // The ids of the applied steps, in order (from the journal).
    std::vector<std::string> applied() const;

private:
    struct Impl;
    const Tutorial& t_;
    const Registry& reg_;
    LabNames names_;
    std::filesystem::path dir_;
    std::filesystem::path self_exe_;
    std::ostream& out_;
};

}  // namespace netlab::lab

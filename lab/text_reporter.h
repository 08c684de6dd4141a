// The terminal's reporter: one line per step with its symbol (✓ applied and checked, ✗ failed,
// = already applied, ↶ undone), failed checks with expected against observed, and the sentence that
// says how a command ended. Flushed after every event, so that a crash loses nothing printed.
#pragma once

#include "lab/reporter.h"

namespace netlab::lab {

class TextReporter : public Reporter {
public:
    explicit TextReporter(std::ostream& out) : out_(out) {}
    void begin(const Tutorial& t) override;
    void step(const StepOutcome& o) override;
    void ended(const Ending& e) override;
    void status(const LabStatus& s) override;
    void list(const Tutorial& t, size_t applied) override;
    std::ostream& text() override { return out_; }

private:
    std::string padded(const std::string& id) const;
    void checks(const std::vector<Check>& checks);
    std::ostream& out_;
    size_t width_ = 0;  // the longest step id of the tutorial, plus 2
};

}  // namespace netlab::lab

// The machine's reporter: one compact JSON object per line for each event (JSON Lines), and the
// status as one object: {"lab","tutorial","state","applied","next","steps"}. Written with
// nlohmann-json. Free text (the lock's waiting line, a step kind's notes) goes to `text`, stderr by
// default, so that the output stays JSON.
#pragma once

#include <iostream>

#include "lab/reporter.h"

namespace netlab::lab {

class JsonReporter : public Reporter {
public:
    explicit JsonReporter(std::ostream& out, std::ostream& text = std::cerr) : out_(out), text_(text) {}
    void begin(const Tutorial& t) override;
    void step(const StepOutcome& o) override;
    void ended(const Ending& e) override;
    void status(const LabStatus& s) override;
    void list(const Tutorial& t, size_t applied) override;
    std::ostream& text() override { return text_; }

private:
    std::ostream& out_;
    std::ostream& text_;
};

}  // namespace netlab::lab

// A tutorial is data (tutorials/*.toml): steps with an id, a title, an explanation, actions,
// probes and quiz questions. Loading checks the whole file before anything runs: syntax, required
// fields, duplicate step ids, unknown kinds and each action's parameters (the factories validate
// them), and each quiz question (lab/quiz.h).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lab/quiz.h"
#include "lab/registry.h"

namespace netlab::lab {

struct Step {
    std::string id;
    std::string title;
    std::string explain;                   // netlab's own words: what and why
    std::vector<std::string> try_this;     // commands a learner can type afterwards
    std::vector<std::unique_ptr<Action>> actions;
    std::vector<std::unique_ptr<Probe>> probes;
    std::vector<Question> quiz;            // self-check questions ([[step.quiz]], lab/quiz.h)
    std::string where;                     // file:line of the step
};

struct Tutorial {
    std::string name;     // file stem, e.g. "article"
    std::string title;
    std::string source;   // the article or text it replays
    std::filesystem::path file;
    std::vector<Step> steps;

    const Step* find(const std::string& id) const;
    // The step with this id; UsageError "unknown step 'x' (did you mean 'y'?)" when there is none.
    const Step& step(const std::string& id) const;
    int index_of(const std::string& id) const;  // -1 when absent
    std::vector<std::string> ids() const;
};

// Throws UsageError("<file>:<line>:<col>: <message>") for anything malformed.
Tutorial load_tutorial(const std::filesystem::path& file, const Registry& reg);

// Where tutorials are looked for: $NETLAB_TUTORIALS, then next to the binary, then the installed
// data directory. `name` may also be a path to a .toml file.
std::filesystem::path find_tutorial(const std::string& name, const std::filesystem::path& self_exe);

}  // namespace netlab::lab

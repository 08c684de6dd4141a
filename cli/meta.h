// What the command line knows about itself and the machine, for --version and the completions.
#pragma once

#include <string>
#include <vector>

#include "cli/cli.h"

namespace netlab::cli {

// "netlab 0.1.0 (git 1a2b3c4d5e6f)": the project's version and the git revision it was built from
// (cli/version.cpp.in, filled in by meson's vcs_tag at build time).
std::string version_text();
const char* build_revision();

// Candidates for the completions; each is empty when it cannot be known (no journal, no tutorial).
std::vector<std::string> lab_names(const Invocation& g);        // labs with a state directory, and "default"
std::vector<std::string> tutorial_names(const Invocation& g);   // installed tutorials, by name
std::vector<std::string> step_ids(Invocation& g);               // the lab's tutorial's step ids
std::vector<std::string> namespace_names(Invocation& g);        // the lab's logical namespace names

}  // namespace netlab::cli

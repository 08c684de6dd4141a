// The command line: one table of subcommands, each group in its own file. main() builds the CLI11
// app, lets every group add its subcommands, parses, and runs the one that was chosen.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "lab/action.h"
#include "lab/registry.h"
#include "lab/runner.h"
#include "lab/tutorial.h"

namespace netlab::cli {

// What every command may need, loaded on first use.
class Invocation {
public:
    std::string lab = "default";
    std::string tutorial = "article";
    CLI::Option* tutorial_opt = nullptr;  // set when --tutorial was given explicitly

    std::filesystem::path self_exe() const;
    std::filesystem::path state_root() const;   // $NETLAB_STATE_DIR or /run/netlab
    std::filesystem::path lab_dir() const { return state_root() / lab; }
    lab::LabNames names() const { return lab::LabNames{lab}; }
    const lab::Registry& registry();
    // The tutorial this lab was built from (its journal says), else --tutorial (default: article).
    const lab::Tutorial& tut();
    lab::Runner runner(std::ostream& out);          // reporting as text
    lab::Runner runner(lab::Reporter& reporter);

private:
    std::unique_ptr<lab::Registry> reg_;
    std::unique_ptr<lab::Tutorial> tut_;
};

using Handler = std::function<int(Invocation&)>;

struct Command {
    CLI::App* sub;
    Handler run;
};

using CommandTable = std::vector<Command>;

// Throws Error (exit 1) naming the missing privilege when not root.
void need_root(const std::string& what);
// "netns_dustin", "host", "world", "netlab" -> the real namespace name in this lab; UsageError when absent.
std::string resolve_ns(const lab::LabNames& names, std::string in);

// The groups; each adds its subcommands to `app` and its handlers to `table`.
void add_lab_commands(CLI::App& app, CommandTable& table);        // list run undo verify status explain
void add_namespace_commands(CLI::App& app, CommandTable& table);  // exec shell curl pod
void add_quiz_commands(CLI::App& app, CommandTable& table);       // quiz
void add_view_commands(CLI::App& app, CommandTable& table);       // graph rules
void add_script_command(CLI::App& app, CommandTable& table);      // script
void add_maintenance_commands(CLI::App& app, CommandTable& table);  // reset doctor
void add_kube_proxy_commands(CLI::App& app, CommandTable& table);  // kube-proxy render
void add_trace_commands(CLI::App& app, CommandTable& table);      // trace conntrack

}  // namespace netlab::cli

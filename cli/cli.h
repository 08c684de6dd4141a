// The command line: one table of subcommands, each group in its own file. Every command and option
// is data (`Command`, `Option`); cli/app.cpp alone turns the table into the parser (CLI11), the
// --help text, the man page and the shell completions, so they cannot drift apart, and it checks
// every option value by its kind (one validator per kind) before any handler runs.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <variant>
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
    bool tutorial_given = false;  // --tutorial was given explicitly

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

// What an option's value is; each kind has one check (cli/app.cpp) and one way to complete it.
enum class Kind {
    Flag,       // no value
    Lab,        // a lab name: 1 to 12 of [a-z0-9-], starting with a letter or digit
    Tutorial,   // a tutorial name or a .toml file
    Name,       // a printable ASCII name without blanks (pod names)
    Step,       // a step id of the tutorial (syntax here; the tutorial says whether it exists)
    Count,      // a whole number in [min, max]
    Seconds,    // a whole number of seconds in [min, max]
    Port,       // 1..65535
    Fd,         // an inherited file descriptor number
    Address,    // an IPv4 address
    Cidrs,      // IPv4 prefixes, comma-separated: 10.0.0.0/24,192.168.0.0/16
    Namespace,  // a logical namespace name of the lab (netlab, netns_dustin, world, ...)
    Url,        // host[:port][/path]
    OutputFile, // a file to write; its directory must exist
    Choice,     // one of `choices`
    Answers,    // quiz answers: 2,1,3
    Words,      // the rest of the command line (exec's command)
};

struct Option {
    std::string flags;  // "--until", "-n,--count"; a positional argument has no dash: "step"
    std::string help;
    Kind kind = Kind::Flag;
    std::variant<bool*, std::string*, int*, std::vector<std::string>*> into;
    long long min = 0, max = 0;        // Count, Seconds
    std::vector<std::string> choices;  // Choice
    bool is_required = false;
    std::vector<std::string> excluded;  // flags of this command's options that cannot go with this one
    std::string needed;                 // the flag of an option this one needs

    Option& required() { is_required = true; return *this; }
    Option& excludes(std::string f) { excluded.push_back(std::move(f)); return *this; }
    Option& needs(std::string f) { needed = std::move(f); return *this; }
    bool positional() const { return flags.empty() || flags[0] != '-'; }
    std::string name() const;  // the long flag ("--count"), or the positional's name
};

// The option makers, one per kind.
Option flag(std::string flags, std::string help, bool* into);
Option value(Kind kind, std::string flags, std::string help, std::string* into);
Option number(Kind kind, std::string flags, std::string help, int* into, long long min, long long max);
Option choice(std::string flags, std::string help, std::string* into, std::vector<std::string> choices);
Option words(std::string name, std::string help, std::vector<std::string>* into);

class Invocation;
using Handler = std::function<int(Invocation&)>;

struct Command {
    Command(std::string name_, std::string help_, std::vector<Option> options_, Handler run_, std::string footer_ = "")
        : name(std::move(name_)), help(std::move(help_)), options(std::move(options_)), run(std::move(run_)),
          footer(std::move(footer_)) {}
    std::string name;
    std::string help;
    std::vector<Option> options;
    Handler run;
    std::string footer;   // more text for `netlab CMD --help` and the man page
    bool hidden = false;  // internal (pod, __complete, __man): not in --help, man page or completion
};

using CommandTable = std::vector<Command>;

// Throws Error (exit 1) naming the missing privilege when not root.
void need_root(const std::string& what);
// "netns_dustin", "host", "world", "netlab" -> the real namespace name in this lab; UsageError when absent.
std::string resolve_ns(const lab::LabNames& names, std::string in);
// "netlab [--lab L]", for commands printed to the user.
std::string netlab_for(const Invocation& g);

// The groups; each adds its subcommands to `table`.
void add_lab_commands(CommandTable& table);          // list run undo verify status explain
void add_labs_command(CommandTable& table);          // labs
void add_namespace_commands(CommandTable& table);    // exec shell curl pod
void add_quiz_commands(CommandTable& table);         // quiz
void add_view_commands(CommandTable& table);         // graph rules
void add_script_command(CommandTable& table);        // script
void add_maintenance_commands(CommandTable& table);  // reset doctor
void add_kube_proxy_commands(CommandTable& table);   // kube-proxy render
void add_trace_commands(CommandTable& table);        // trace conntrack

// Parses the command line against the table (global options: --lab, --tutorial, --version, --help)
// and runs the chosen command; the internal commands __complete and __man are added here. Throws
// UsageError for bad input, before any handler runs.
int run(int argc, char** argv, Invocation& g, CommandTable& table);

// The man page (roff) and the completions, both from the table.
void write_man(const CommandTable& table, std::ostream& out);
void complete(Invocation& g, const CommandTable& table, const std::vector<std::string>& words, std::ostream& out);

}  // namespace netlab::cli

// list, run, undo, verify, status, explain: the engine's commands.
#include <unistd.h>

#include <iostream>

#include "cli/cli.h"
#include "base/error.h"
#include "lab/json_reporter.h"

namespace netlab::cli {

void add_lab_commands(CommandTable& table) {
    table.push_back({"list", "list the steps, ids, and which are applied", {},
                     [](Invocation& g) { return g.runner(std::cout).list(); }});

    struct RunArgs {
        std::string until;
        bool no_verify = false, step_by_step = false;
    };
    auto ra = std::make_shared<RunArgs>();
    table.push_back({"run", "apply the steps (up to --until STEP), verifying each",
                     {value(Kind::Step, "--until", "stop after this step", &ra->until),
                      flag("--no-verify", "skip the checks (faster; `netlab verify` checks later)", &ra->no_verify),
                      flag("--step-by-step", "pause after each step with its explanation (Enter goes on)",
                           &ra->step_by_step)},
                     [ra](Invocation& g) {
                         need_root("run");
                         lab::RunOptions ro{ra->until, !ra->no_verify, {}};
                         if (ra->step_by_step && ::isatty(STDIN_FILENO)) {
                             ro.after_step = [](const lab::Step& s) {
                                 std::cout << "\n" << s.explain;
                                 if (!s.try_this.empty()) {
                                     std::cout << "Try this (in another terminal):\n";
                                     for (auto& t : s.try_this) std::cout << "  " << t << "\n";
                                 }
                                 std::cout << "\n[Enter] for the next step, Ctrl-D to stop here " << std::flush;
                                 std::string line;
                                 if (!std::getline(std::cin, line))
                                     throw Error("stopped after '" + s.id + "' (the lab stays as it is)");
                                 std::cout << "\n";
                             };
                         }
                         return g.runner(std::cout).run(ro);
                     }});

    auto uo = std::make_shared<lab::UndoOptions>();
    table.push_back({"undo", "walk back: the last step, --steps N, --to STEP, or --all",
                     {number(Kind::Count, "--steps", "undo this many steps", &uo->steps, 1, 1000)
                          .excludes("--to")
                          .excludes("--all"),
                      value(Kind::Step, "--to", "undo until STEP is the last applied", &uo->to).excludes("--all"),
                      flag("--all", "undo everything, the lab host included", &uo->all)},
                     [uo](Invocation& g) {
                         need_root("undo");
                         return g.runner(std::cout).undo(*uo);
                     }});

    table.push_back({"verify", "check every applied step against the kernel, with real traffic", {},
                     [](Invocation& g) {
                         need_root("verify");
                         return g.runner(std::cout).verify();
                     }});

    auto json = std::make_shared<bool>(false);
    table.push_back({"status", "what is applied in this lab", {flag("--json", "machine-readable", json.get())},
                     [json](Invocation& g) {
                         if (!*json) return g.runner(std::cout).report_status();
                         lab::JsonReporter reporter(std::cout);
                         return g.runner(reporter).report_status();
                     }});

    auto step = std::make_shared<std::string>();
    table.push_back({"explain", "what a step does and why, the equivalent commands, what to try",
                     {value(Kind::Step, "step", "step id", step.get()).required()},
                     [step](Invocation& g) {
                         const auto& tut = g.tut();
                         const lab::Step* s = &tut.step(*step);
                         auto names = g.names();
                         std::cout << s->id << ": " << s->title << "\n\n";
                         if (!s->explain.empty())
                             std::cout << s->explain << (s->explain.back() == '\n' ? "" : "\n") << "\n";
                         std::cout << "By hand, this step is:\n";
                         for (auto& a : s->actions)
                             for (auto& c : a->commands(names)) std::cout << "  " << c << "\n";
                         if (!s->probes.empty()) {
                             std::cout << "\nnetlab checks it with:\n";
                             for (auto& p : s->probes) std::cout << "  " << p->describe(names) << "\n";
                         }
                         if (!s->try_this.empty()) {
                             std::cout << "\nTry this:\n";
                             for (auto& t : s->try_this) std::cout << "  " << t << "\n";
                         }
                         return 0;
                     }});
}

}  // namespace netlab::cli

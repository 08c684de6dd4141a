// netlab: replays "iptables: How Kubernetes Services Direct Traffic to Pods" on real kernel
// objects, one verified, reversible step at a time. main only wires the command line.
#include <iostream>
#include <regex>

#include "cli/cli.h"
#include "base/did_you_mean.h"
#include "base/error.h"
#include "lab/params.h"

using namespace netlab;

// The first word that is neither a global option nor its value must name a command: a typo gets
// "did you mean" instead of CLI11's "A subcommand is required".
static void check_command(CLI::App& app, int argc, char** argv) {
    std::vector<std::string> names;
    for (auto* sub : app.get_subcommands({})) names.push_back(sub->get_name());
    std::string list;
    for (auto& n : names) list += (list.empty() ? "" : " ") + n;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help" || a == "--help-all") return;
        if (a == "--lab" || a == "--tutorial") {
            ++i;
            continue;
        }
        if (a.rfind("--lab=", 0) == 0 || a.rfind("--tutorial=", 0) == 0) continue;
        if (a.rfind("-", 0) == 0) return;  // CLI11 reports unknown options itself
        for (auto& n : names)
            if (a == n) return;
        throw UsageError(unknown("command", a, names) +
                         "; commands: " + list);
    }
    throw UsageError("no command given; commands: " + list + " (netlab --help explains them)");
}

int main(int argc, char** argv) {
    CLI::App app{"netlab: a network lab that replays \"iptables: How Kubernetes Services Direct Traffic to Pods\"\n"
                 "on real namespaces, bridges, veths and rules, one verified, reversible step at a time."};
    app.require_subcommand(1);
    app.fallthrough();
    cli::Invocation g;
    app.add_option("--lab", g.lab, "independent lab beside the default one (namespace names prefixed NAME-)");
    g.tutorial_opt = app.add_option("--tutorial", g.tutorial, "tutorial name or .toml file (default: article)");

    cli::CommandTable table;
    cli::add_lab_commands(app, table);
    cli::add_namespace_commands(app, table);
    cli::add_quiz_commands(app, table);
    cli::add_view_commands(app, table);
    cli::add_script_command(app, table);
    cli::add_maintenance_commands(app, table);
    cli::add_kube_proxy_commands(app, table);
    cli::add_trace_commands(app, table);

    try {
        check_command(app, argc, argv);
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "netlab: " << e.what() << " (netlab --help lists the commands and options)\n";
        return 2;
    } catch (const UsageError& e) {
        std::cerr << "netlab: " << e.what() << "\n";
        return 2;
    }

    try {
        static const std::regex lab_re("[a-z0-9][a-z0-9-]{0,11}");
        if (!std::regex_match(g.lab, lab_re))
            throw UsageError("invalid lab name '" + g.lab +
                             "': 1 to 12 lower-case letters, digits or '-', starting with a letter or digit");
        for (auto& c : table)
            if (c.sub->parsed()) return c.run(g);
    } catch (const UsageError& e) {
        std::cerr << "netlab: " << e.what() << "\n";
        if (!e.hint().empty()) std::cerr << "hint: " << e.hint() << "\n";
        return 2;
    } catch (const Error& e) {
        std::cerr << "netlab: " << e.what() << "\n";
        if (!e.hint().empty()) std::cerr << "hint: " << e.hint() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "netlab: internal error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

// netlab: replays "iptables: How Kubernetes Services Direct Traffic to Pods" on real kernel
// objects, one verified, reversible step at a time. main only gathers the command table and maps
// errors to exit codes; cli/app.cpp parses the command line.
#include <iostream>

#include "base/error.h"
#include "cli/cli.h"

using namespace netlab;

int main(int argc, char** argv) {
    cli::Invocation g;
    cli::CommandTable table;
    cli::add_lab_commands(table);
    cli::add_labs_command(table);
    cli::add_namespace_commands(table);
    cli::add_quiz_commands(table);
    cli::add_view_commands(table);
    cli::add_script_command(table);
    cli::add_maintenance_commands(table);
    cli::add_kube_proxy_commands(table);
    cli::add_trace_commands(table);
    try {
        return cli::run(argc, argv, g, table);
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
}

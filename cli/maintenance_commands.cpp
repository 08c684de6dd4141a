#include "cli/cli.h"

namespace netlab::cli {

void add_maintenance_commands(CLI::App&, CommandTable&) {}

}  // namespace netlab::cli

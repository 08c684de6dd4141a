#include "cli/cli.h"

namespace netlab::cli {

void add_view_commands(CLI::App&, CommandTable&) {}

}  // namespace netlab::cli

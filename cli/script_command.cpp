#include "cli/cli.h"

namespace netlab::cli {

void add_script_command(CLI::App&, CommandTable&) {}

}  // namespace netlab::cli

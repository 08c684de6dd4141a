#include "cli/cli.h"

namespace netlab::cli {

void add_quiz_commands(CLI::App&, CommandTable&) {}

}  // namespace netlab::cli

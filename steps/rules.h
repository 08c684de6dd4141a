// The rules step's helpers, shared with `netlab rules` and the tests.
#pragma once

#include <string>

#include "rules/ruleset.h"

namespace netlab::steps {

// The lab host's nat and filter tables read back from the kernel; throws Error when they hold a
// rule netlab cannot decode (it will not overwrite what it did not make).
rules::Ruleset read_rules(const std::string& real_ns);

}  // namespace netlab::steps

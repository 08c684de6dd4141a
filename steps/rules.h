// The rules step's helpers, shared with `netlab rules` and the tests.
#pragma once

#include <string>

#include "netutil/ruleset.h"

namespace netlab::steps {

// The lab host's nat and filter tables read back from the kernel; throws Error when they hold a
// rule netlab cannot decode (it will not overwrite what it did not make).
net::Ruleset read_rules(const std::string& real_ns);

// A ruleset as iptables command lines ("-t nat -N X", "-t nat -P OUTPUT ACCEPT", "-t nat -A ..."),
// and back. Used for the journal's prior/after rulesets.
std::string serialize_rules(const net::Ruleset& rs);
net::Ruleset deserialize_rules(const std::string& text);

}  // namespace netlab::steps

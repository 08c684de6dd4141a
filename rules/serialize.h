// A ruleset as iptables command lines ("-t nat -N X", "-t nat -P OUTPUT ACCEPT", "-t nat -A ..."),
// and back: the form the journal keeps a rules change's prior and after rulesets in. Pure.
#pragma once

#include <string>

#include "rules/ruleset.h"

namespace netlab::rules {

std::string serialize_rules(const Ruleset& rs);
Ruleset deserialize_rules(const std::string& text);

}  // namespace netlab::rules

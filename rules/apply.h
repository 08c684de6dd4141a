// iptables' semantics on an in-memory Ruleset: a command applied as iptables-nft would, and the
// canonical form rulesets are compared in. Pure: no kernel access.
#pragma once

#include "rules/command.h"
#include "rules/ruleset.h"

namespace netlab::rules {

// Applies the command to the ruleset as iptables would, creating builtin chains on first use.
// Throws Error with iptables' own wording, e.g. "iptables -t nat -D DUSTIN-SERVICES ...: Bad rule
// (does a matching rule exist in that chain?)", "Chain already exists", "No chain/target/match by
// that name".
void apply_command(Ruleset& rs, const IptCommand& cmd);

// A rule in the canonical form rules are compared in (as iptables compares them: after parsing):
// the probability as the kernel keeps it, "-m tcp" implied by a port.
IptRule canonical_rule(IptRule r);

// A canonical form for comparisons: tables by name, builtin chains in hook order, user chains by
// name, empty tables dropped.
Ruleset normalized(const Ruleset& rs);

}  // namespace netlab::rules

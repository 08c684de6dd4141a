// The iptables options netlab reads, long and short names in one table. Long names are matched
// exactly, or as an unambiguous prefix (getopt_long's rule, which is how the article's `--new` means
// `--new-chain`). Used by parse.cpp.
#pragma once

#include <string>

namespace netlab::rules {

enum class Opt {
    Table, Append, Insert, Delete, NewChain, DeleteChain, Flush, Policy,
    Source, Destination, InIface, OutIface, Protocol, Match, Jump, Goto,
    DPort, SPort, Mode, Probability, Comment, ToDestination,
};

// "-s", "--dport": how iptables names the option in its messages.
std::string display_name(Opt o);
// Resolves "--name" (without the dashes) to an option; throws UsageError on unknown or ambiguous
// names, quoting `as_written`.
Opt find_long(const std::string& name, const std::string& as_written);
// Resolves "-c"; throws UsageError on unknown letters.
Opt find_short(char c, const std::string& as_written);
// 'A', 'I', 'D', 'N', 'X', 'F', 'P' for a command option; 0 for the others.
char command_letter(Opt o);

}  // namespace netlab::rules

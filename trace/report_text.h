// The text forms of `netlab trace` and `netlab conntrack`.
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "netutil/conntrack.h"
#include "trace/path.h"

namespace netlab::trace {

// The path hook by hook, the NAT decisions, the conntrack entry and the answer or why none came.
void print_report(std::ostream& out, const TraceReport& r);

// "DNAT to 10.0.0.11:8080 (netns_dustin), SNAT to 10.0.0.1", or "" when the entry is not translated.
// `owners` maps addresses to the namespace holding them.
std::string translation_text(const net::ConntrackEntry& e, const std::map<std::string, std::string>& owners);

// One line per entry: protocol, state, original src -> dst, reply src -> dst, translation, id.
void print_conntrack_table(std::ostream& out, const std::vector<net::ConntrackEntry>& entries,
                           const std::map<std::string, std::string>& owners);
std::string conntrack_line(const net::ConntrackEntry& e, const std::map<std::string, std::string>& owners);

}  // namespace netlab::trace

// JSON forms (nlohmann) of a trace's input (recorded test data) and of its report (`netlab trace
// --json`, documented in the README), and of conntrack entries (`netlab conntrack --json`).
#pragma once

#include <nlohmann/json.hpp>

#include "netutil/conntrack.h"
#include "trace/path.h"

namespace netlab::trace {

// Everything but the events (recorded separately, as the raw netlink bytes).
nlohmann::json input_to_json(const TraceInput& in);
TraceInput input_from_json(const nlohmann::json& j);

nlohmann::json report_to_json(const TraceReport& r);
nlohmann::json conntrack_to_json(const net::ConntrackEntry& e);

}  // namespace netlab::trace

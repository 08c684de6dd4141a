// One live trace: picks a source port, installs the trace tables (journaled), sends one HTTP request
// from the chosen namespace bound to that port, collects the trace events and the conntrack entry,
// removes the tables, and builds the report (trace/path.h). Holds the lab lock throughout.
#pragma once

#include <chrono>
#include <filesystem>
#include <ostream>
#include <string>

#include "lab/action.h"
#include "lab/registry.h"
#include "lab/tutorial.h"
#include "pods/http_client.h"
#include "trace/path.h"

namespace netlab::trace {

struct TraceRequest {
    lab::LabNames names;
    std::filesystem::path lab_dir;
    std::filesystem::path self_exe;
    std::string client_ns;  // real name
    pods::Url url;
    std::chrono::milliseconds timeout{1500};
    std::filesystem::path record_dir;  // when set: the raw events and the input are written there
};

// Throws Error when the lab has no applied step (nothing to trace in) or the kernel refuses.
// Sets `interrupted` when SIGINT/SIGTERM/SIGHUP came: the tables are removed all the same.
TraceReport run_trace(const TraceRequest& req, const lab::Tutorial& tut, const lab::Registry& reg, std::ostream& out,
                      bool& interrupted);

}  // namespace netlab::trace

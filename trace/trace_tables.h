// netlab's own trace tables in the lab host (`table ip netlab_trace`, `table bridge netlab_trace`):
// which chains at which hooks, and their journaled installation. The lab's own tables are never
// touched. Each table is one journal record (kind "trace-table", under the lab's last applied step,
// made with Context::change), so `netlab undo`, `netlab reset` and the next trace remove what a
// crashed trace left; the kernel also deletes a table when the socket owning it closes.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lab/action.h"
#include "lab/registry.h"
#include "netutil/nft_trace.h"

namespace netlab::trace {

constexpr const char* kTraceTable = "netlab_trace";
constexpr const char* kRecordKind = "trace-table";

// ip: pre (prerouting -199, selects), in, fwd, out (output -199, selects), post (postrouting -199),
// post_nat (postrouting 300, after MASQUERADE); bridge: pre (-300, selects), in, fwd, out, post.
// -199 is right after conntrack (-200) and before DNAT (-100).
std::vector<net::TraceTableSpec> trace_table_specs(const net::TraceFlow& flow);

// The undo handler of "trace-table" records and their scope (inside the lab host's namespace).
void register_trace_undo(lab::Registry& reg);

// Removes the trace tables that earlier traces left in the journal (a crash). Returns how many.
size_t remove_leftover_tables(lab::Context& ctx, const lab::Registry& reg);

// The trace tables of one trace, installed on construction (journaled, one change per table) and
// removed by remove() or the destructor (each table deleted, then its record erased).
class TraceTables {
public:
    TraceTables(lab::Context& ctx, const std::string& host_ns, const net::TraceFlow& flow);
    ~TraceTables();
    TraceTables(const TraceTables&) = delete;
    TraceTables& operator=(const TraceTables&) = delete;

    void remove();

private:
    lab::Context& ctx_;
    std::string ns_;
    std::vector<std::pair<uint64_t, net::NftTraceTable>> tables_;
};

}  // namespace netlab::trace

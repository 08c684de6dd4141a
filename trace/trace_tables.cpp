#include "trace/trace_tables.h"

#include <linux/netfilter.h>
#include <linux/netfilter_bridge.h>

#include <optional>

#include "base/error.h"
#include "steps/netns.h"

namespace netlab::trace {

namespace {

// Journal::erase is written with the next save; a confirm with data saves at once (seq 0 is never a
// record: sequence numbers start at 1).
void save_now(lab::Journal& j) { j.confirm(0, {}); }

uint8_t family_of(const lab::Record& r) {
    return r.data.count("family") && r.data.at("family") == "bridge" ? NFPROTO_BRIDGE : NFPROTO_IPV4;
}

}  // namespace

std::vector<net::TraceTableSpec> trace_table_specs(const net::TraceFlow& flow) {
    net::TraceTableSpec ip;
    ip.family = NFPROTO_IPV4;
    ip.name = kTraceTable;
    ip.flow = flow;
    ip.chains = {
        {"pre", NF_INET_PRE_ROUTING, -199, true},  {"in", NF_INET_LOCAL_IN, -199, false},
        {"fwd", NF_INET_FORWARD, -199, false},     {"out", NF_INET_LOCAL_OUT, -199, true},
        {"post", NF_INET_POST_ROUTING, -199, false}, {"post_nat", NF_INET_POST_ROUTING, 300, false},
    };
    net::TraceTableSpec br;
    br.family = NFPROTO_BRIDGE;
    br.name = kTraceTable;
    br.flow = flow;
    br.chains = {
        {"pre", NF_BR_PRE_ROUTING, -300, true}, {"in", NF_BR_LOCAL_IN, -300, false},
        {"fwd", NF_BR_FORWARD, -300, false},    {"out", NF_BR_LOCAL_OUT, -300, false},
        {"post", NF_BR_POST_ROUTING, -300, false},
    };
    return {ip, br};
}

void register_trace_undo(lab::Registry& reg) {
    reg.add_undo(kRecordKind, [](lab::Context&, const lab::Record& r) {
        net::nft_trace_table_delete(r.data.at("ns"), family_of(r), r.data.at("table"));
    });
    reg.add_scope(kRecordKind, [](const lab::Record& r) { return steps::netns_container(r.data.at("ns")); }, nullptr);
}

size_t remove_leftover_tables(lab::Context& ctx, const lab::Registry& reg) {
    size_t n = 0;
    for (auto& s : ctx.journal->steps())
        for (auto& r : ctx.journal->records(s.id)) {
            if (r.kind != kRecordKind) continue;
            lab::Context c = ctx;
            c.step = r.step;
            reg.undo(c, r);
            ctx.journal->erase(r.seq);
            ++n;
        }
    if (n) save_now(*ctx.journal);
    return n;
}

TraceTables::TraceTables(lab::Context& ctx, const std::string& host_ns, const net::TraceFlow& flow)
    : ctx_(ctx), ns_(host_ns) {
    try {
        for (auto& spec : trace_table_specs(flow)) {
            const std::string fam = spec.family == NFPROTO_BRIDGE ? "bridge" : "ip";
            lab::RecordData data{{"ns", host_ns}, {"family", fam}, {"table", spec.name}};
            std::optional<net::NftTraceTable> made;
            ctx.change(kRecordKind, data, [&] { made.emplace(host_ns, spec); });
            uint64_t seq = 0;
            for (auto& r : ctx.journal->records(ctx.step))
                if (r.kind == kRecordKind && r.data == data) seq = r.seq;
            tables_.emplace_back(seq, std::move(*made));
        }
    } catch (...) {
        try {
            remove();
            // A table whose making failed: its record is pending; the table is absent or half made.
            for (auto& r : ctx.journal->records(ctx.step))
                if (r.kind == kRecordKind) {
                    net::nft_trace_table_delete(r.data.at("ns"), family_of(r), r.data.at("table"));
                    ctx.journal->erase(r.seq);
                }
            save_now(*ctx.journal);
        } catch (const Error&) {
        }
        throw;
    }
}

TraceTables::~TraceTables() {
    try {
        remove();
    } catch (const Error&) {
        // Journaled: the next trace, `netlab undo` or `netlab reset` removes what is left.
    }
}

void TraceTables::remove() {
    while (!tables_.empty()) {
        auto& [seq, table] = tables_.back();
        table.remove();
        lab::Journal::maybe_fault();  // deleted but still journaled: undo accepts "already gone"
        if (seq) ctx_.journal->erase(seq);
        save_now(*ctx_.journal);
        tables_.pop_back();
    }
}

}  // namespace netlab::trace

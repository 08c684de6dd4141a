// nft_replace: one atomic batch that turns the tables a step owns into the wanted ruleset, touching
// as little as it can (see the comments below for why: each hook change and each xt target removed
// costs the next commit milliseconds).
#include "netutil/nft.h"

#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <algorithm>
#include <cerrno>

#include "base/error.h"
#include "netutil/nft_batch.h"
#include "netutil/nft_socket.h"
#include "rules/builtin.h"

namespace netlab::net {

namespace {

using nft::BatchBuilder;

// The kernel holds exactly these rules in this order (every one decoded and equal).
bool same_rules(const DumpedChain& had, const rules::IptChain& want) {
    if (had.rules.size() != want.rules.size()) return false;
    for (size_t i = 0; i < want.rules.size(); ++i)
        if (!had.rules[i].decoded || !(had.rules[i].rule == want.rules[i])) return false;
    return true;
}

template <class T>
const T* named(const std::vector<T>& v, const std::string& name) {
    for (const auto& x : v)
        if (x.name == name) return &x;
    return nullptr;
}

// Table `name` made `table` (nullptr or no chains: absent), from what the kernel `had`.
void replace_table(BatchBuilder& bb, const std::string& name, const rules::IptTable* table, const DumpedTable* had) {
    if (!table || table->chains.empty()) {
        // Create-if-absent then delete: the delete can't fail, and the table ends up absent.
        bb.table(NFT_MSG_NEWTABLE, name, NLM_F_CREATE);
        bb.table(NFT_MSG_DELTABLE, name, 0);
        return;
    }
    bb.table(NFT_MSG_NEWTABLE, name, NLM_F_CREATE);
    // A chain whose rules are already exactly these is left alone; any other that is there is
    // flushed and filled again. (Removing an xt target such as DNAT queues deferred work that the
    // next commit adding one waits for, an RCU grace period: unchanged rules must not be removed
    // and made again.)
    std::vector<const rules::IptChain*> refill;
    for (const auto& ch : table->chains) {
        const DumpedChain* old = had ? named(had->chains, ch.name) : nullptr;
        if (old && same_rules(*old, ch)) continue;
        if (old && !old->rules.empty()) bb.flush_chain(name, ch.name);
        refill.push_back(&ch);
    }
    if (had)
        for (const auto& old : had->chains) {
            if (named(table->chains, old.name)) continue;
            if (!old.rules.empty()) bb.flush_chain(name, old.name);
            bb.delete_chain(name, old.name);
        }
    for (const auto& ch : table->chains) bb.chain(name, ch);  // made when new; a base chain's policy set
    for (const rules::IptChain* ch : refill)
        for (size_t i = 0; i < ch->rules.size(); ++i) bb.rule(name, ch->name, i + 1, ch->rules[i]);
}

std::string hint_for(int err, const std::string& what) {
    const bool rule = what.rfind("rule ", 0) == 0;
    switch (err) {
        case ENOENT: return rule ? "a rule jumps to a chain that does not exist in this table" : "";
        case EINVAL:
            return rule ? "the kernel refused the rule; for DNAT or MASQUERADE: DNAT is only valid in chains "
                          "reached from nat PREROUTING/OUTPUT and MASQUERADE from nat POSTROUTING"
                        : "";
        case EOPNOTSUPP: return rule ? "a rule cannot jump to a builtin chain" : "";
        case ELOOP: return "the jumps between these chains form a loop";
        case EPERM: return "programming netfilter needs CAP_NET_ADMIN (run as root)";
        default: return "";
    }
}

// Sends the batch on the namespace's socket and reads its acknowledgements.
std::vector<NetlinkAck> commit(const std::string& netns, BatchBuilder& bb) {
    std::lock_guard<std::mutex> held(nft::sockets().lock());
    mnl_socket* nl = nft::sockets().get(netns);
    try {
        nft::send_batch(nl, bb.get(), bb.messages());
        return nft::read_acks(nl, bb.messages());
    } catch (...) {
        nft::sockets().drop(netns);  // replies may be left unread on it
        throw;
    }
}

// Throws unless every message of the batch was acknowledged; the first refusal names its message.
void check_acks(const BatchBuilder& bb, std::vector<NetlinkAck> acks) {
    std::vector<NetlinkAck> errors;
    size_t ok = 0;
    for (auto& a : acks) {
        if (a.error != 0) errors.push_back(a);
        else if (bb.knows(a.seq)) ++ok;
    }
    if (!errors.empty()) {
        std::sort(errors.begin(), errors.end(), [](const NetlinkAck& a, const NetlinkAck& b) { return a.seq < b.seq; });
        const NetlinkAck& first = errors.front();
        const std::string what = bb.what(first.seq);
        std::string msg = errno_text(first.error) + " (" + what + ")";
        if (!first.message.empty()) msg += ": " + first.message;
        if (errors.size() > 1) msg += " [and " + std::to_string(errors.size() - 1) + " more errors]";
        throw Error(msg + "; nothing was changed", hint_for(first.error, what));
    }
    if (ok != bb.messages())
        throw Error("the kernel acknowledged " + std::to_string(ok) + " of " + std::to_string(bb.messages()) +
                    " messages; the outcome is unknown");
}

void replace(const std::string& netns, const rules::Ruleset& rs, const std::vector<std::string>& owned) {
    for (const auto& t : owned)
        if (!rules::is_table(t)) throw Error("unsupported table '" + t + "' (netlab programs nat and filter)");
    for (const auto& t : rs.tables)
        if (std::find(owned.begin(), owned.end(), t.name) == owned.end())
            throw Error("table '" + t.name + "' is in the ruleset but not among the tables to replace");

    // The chains there now. A table that stays keeps the chains that stay, base chains above all:
    // deleting a table and making it again unregisters and registers its hooks, and a commit that
    // does so costs 6-17 ms (NAT hooks most) against well under 1 ms for flushing its rules.
    const std::vector<DumpedTable> before = nft_dump(netns, owned);
    BatchBuilder bb;
    for (const auto& name : owned) replace_table(bb, name, named(rs.tables, name), named(before, name));
    bb.finish();
    check_acks(bb, commit(netns, bb));
}

}  // namespace

void nft_forget_netns(const std::string& netns) {
    std::lock_guard<std::mutex> held(nft::sockets().lock());
    nft::sockets().drop(netns);
}

void nft_replace(const std::string& netns, const rules::Ruleset& rs, const std::vector<std::string>& owned) {
    with_context("program rules in netns " + netns, [&] { replace(netns, rs, owned); });
}

}  // namespace netlab::net

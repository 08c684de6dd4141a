// The messages of one atomic replacement, built into a libnftnl batch: tables, chains (base chains
// with iptables-nft's hooks and priorities), flushes, deletions and rules (nft_encode). Each message
// asks for an ACK and is named by its sequence number, so a refusal can say which one failed.
// Internal to netutil's nft_* files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "netutil/nft_handles.h"
#include "rules/ruleset.h"

namespace netlab::net::nft {

class BatchBuilder {
public:
    BatchBuilder();  // opens the batch (NFNL_MSG_BATCH_BEGIN)

    // NFT_MSG_NEWTABLE / NFT_MSG_DELTABLE of IPv4 table `name`, with `flags` (NLM_F_CREATE).
    void table(uint16_t type, const std::string& name, uint16_t flags);
    // Makes `ch` when it is new; a base chain gets its hook, priority and policy.
    void chain(const std::string& table, const rules::IptChain& ch);
    // Deletes every rule of `chain` ("nft flush chain"); the chain stays.
    void flush_chain(const std::string& table, const std::string& chain);
    void delete_chain(const std::string& table, const std::string& name);
    // Appends rule number `index` (from 1) to `chain`.
    void rule(const std::string& table, const std::string& chain, size_t index, const rules::IptRule& ir);
    void finish();  // closes the batch (NFNL_MSG_BATCH_END)

    nftnl_batch* get() { return batch_.get(); }
    size_t messages() const { return what_.size(); }
    // "rule 3 of nat/DUSTIN-SVC-HTTP" for the message with that sequence number; "batch" for others.
    std::string what(uint32_t seq) const;
    bool knows(uint32_t seq) const { return what_.count(seq) != 0; }

private:
    char* buf();
    void next();
    void record(const std::string& what);

    Batch batch_;
    uint32_t seq_ = 1;
    std::map<uint32_t, std::string> what_;
};

}  // namespace netlab::net::nft

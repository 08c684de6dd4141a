#include "netutil/nft_batch.h"

#include <libnftnl/common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include "netutil/nft_encode.h"
#include "netutil/nft_layout.h"
#include "rules/builtin.h"

namespace netlab::net::nft {

BatchBuilder::BatchBuilder()
    : batch_(checked(nftnl_batch_alloc(MNL_SOCKET_BUFFER_SIZE, MNL_SOCKET_BUFFER_SIZE), "batch")) {
    nftnl_batch_begin(buf(), seq_++);
    next();
}

void BatchBuilder::table(uint16_t type, const std::string& name, uint16_t flags) {
    Table t(checked(nftnl_table_alloc(), "table"));
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name.c_str());
    nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
    nlmsghdr* nlh = nftnl_table_nlmsg_build_hdr(buf(), type, NFPROTO_IPV4, flags | NLM_F_ACK, seq_);
    nftnl_table_nlmsg_build_payload(nlh, t.get());
    record((type == NFT_MSG_DELTABLE ? "delete table " : "table ") + name);
}

void BatchBuilder::chain(const std::string& table, const rules::IptChain& ch) {
    Chain c(checked(nftnl_chain_alloc(), "chain"));
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table.c_str());
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, ch.name.c_str());
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
    const std::string what = "chain " + table + "/" + ch.name;
    if (const rules::BuiltinChain* b = rules::find_builtin(table, ch.name)) {
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, table.c_str());  // "nat" or "filter"
        nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, b->hook);
        nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, b->priority);
        uint32_t policy;
        if (ch.policy.empty() || ch.policy == "ACCEPT") policy = NF_ACCEPT;
        else if (ch.policy == "DROP") policy = NF_DROP;
        else throw Error("bad policy '" + ch.policy + "' (" + what + ")");
        nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, policy);
    } else if (ch.builtin) {
        throw Error("'" + ch.name + "' is not a builtin chain of table " + table + " (" + what + ")");
    }
    nlmsghdr* nlh =
        nftnl_chain_nlmsg_build_hdr(buf(), NFT_MSG_NEWCHAIN, NFPROTO_IPV4, NLM_F_CREATE | NLM_F_ACK, seq_);
    nftnl_chain_nlmsg_build_payload(nlh, c.get());
    record(what);
}

void BatchBuilder::flush_chain(const std::string& table, const std::string& chain) {
    Rule r(checked(nftnl_rule_alloc(), "rule"));
    nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
    nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_IPV4);
    nlmsghdr* nlh = nftnl_rule_nlmsg_build_hdr(buf(), NFT_MSG_DELRULE, NFPROTO_IPV4, NLM_F_ACK, seq_);
    nftnl_rule_nlmsg_build_payload(nlh, r.get());
    record("flush chain " + table + "/" + chain);
}

void BatchBuilder::delete_chain(const std::string& table, const std::string& name) {
    Chain c(checked(nftnl_chain_alloc(), "chain"));
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table.c_str());
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name.c_str());
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
    nlmsghdr* nlh = nftnl_chain_nlmsg_build_hdr(buf(), NFT_MSG_DELCHAIN, NFPROTO_IPV4, NLM_F_ACK, seq_);
    nftnl_chain_nlmsg_build_payload(nlh, c.get());
    record("delete chain " + table + "/" + name);
}

void BatchBuilder::rule(const std::string& table, const std::string& chain, size_t index, const rules::IptRule& ir) {
    const std::string what = "rule " + std::to_string(index) + " of " + table + "/" + chain;
    Rule r(checked(nftnl_rule_alloc(), "rule"));
    nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
    nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_IPV4);
    encode_rule(r.get(), ir, what);
    nlmsghdr* nlh = nftnl_rule_nlmsg_build_hdr(buf(), NFT_MSG_NEWRULE, NFPROTO_IPV4,
                                               NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, seq_);
    nftnl_rule_nlmsg_build_payload(nlh, r.get());
    record(what);
}

void BatchBuilder::finish() {
    nftnl_batch_end(buf(), seq_++);
    next();
}

std::string BatchBuilder::what(uint32_t seq) const {
    auto it = what_.find(seq);
    return it == what_.end() ? "batch" : it->second;
}

char* BatchBuilder::buf() { return static_cast<char*>(nftnl_batch_buffer(batch_.get())); }

void BatchBuilder::next() {
    if (nftnl_batch_update(batch_.get()) < 0) throw Error("grow netlink batch: out of memory");
}

void BatchBuilder::record(const std::string& what) {
    what_[seq_++] = what;
    next();
}

}  // namespace netlab::net::nft

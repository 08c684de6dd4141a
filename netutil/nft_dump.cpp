#include "netutil/nft_dump.h"

#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <sys/socket.h>

#include <algorithm>

#include "base/error.h"
#include "netutil/nft_decode.h"
#include "netutil/nft_handles.h"
#include "netutil/nft_layout.h"
#include "netutil/nft_socket.h"
#include "rules/builtin.h"

namespace netlab::net {

namespace {

using nft::Chain;
using nft::Rule;
using nft::Table;

struct DumpState {
    std::vector<Table> tables;
    std::vector<Chain> chains;
    std::vector<Rule> rules;
    uint32_t genid = 0;
};

int table_cb(const nlmsghdr* nlh, void* data) {
    auto* st = static_cast<DumpState*>(data);
    Table t(nftnl_table_alloc());
    if (!t || nftnl_table_nlmsg_parse(nlh, t.get()) < 0) return MNL_CB_ERROR;
    st->tables.push_back(std::move(t));
    return MNL_CB_OK;
}

int chain_cb(const nlmsghdr* nlh, void* data) {
    auto* st = static_cast<DumpState*>(data);
    Chain c(nftnl_chain_alloc());
    if (!c || nftnl_chain_nlmsg_parse(nlh, c.get()) < 0) return MNL_CB_ERROR;
    st->chains.push_back(std::move(c));
    return MNL_CB_OK;
}

int rule_cb(const nlmsghdr* nlh, void* data) {
    auto* st = static_cast<DumpState*>(data);
    Rule r(nftnl_rule_alloc());
    if (!r || nftnl_rule_nlmsg_parse(nlh, r.get()) < 0) return MNL_CB_ERROR;
    st->rules.push_back(std::move(r));
    return MNL_CB_OK;
}

int gen_cb(const nlmsghdr* nlh, void* data) {
    auto* st = static_cast<DumpState*>(data);
    nft::Gen g(nftnl_gen_alloc());
    if (!g || nftnl_gen_nlmsg_parse(nlh, g.get()) < 0) return MNL_CB_ERROR;
    st->genid = nftnl_gen_get_u32(g.get(), NFTNL_GEN_ID);
    return MNL_CB_OK;
}

// The ruleset's generation: it changes with every commit.
uint32_t get_genid(mnl_socket* nl, uint32_t& seq) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, seq++);
    DumpState st;
    nft::dump_request(nl, nlh, gen_cb, &st);
    return st.genid;
}

// Tables, chains and rules of one generation; false when it changed while they were read.
bool read_all(mnl_socket* nl, uint32_t& seq, DumpState& st) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    const uint32_t gen_before = get_genid(nl, seq);
    const struct {
        uint16_t type;
        mnl_cb_t cb;
    } requests[] = {{NFT_MSG_GETTABLE, table_cb}, {NFT_MSG_GETCHAIN, chain_cb}, {NFT_MSG_GETRULE, rule_cb}};
    for (const auto& rq : requests) {
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), rq.type, NFPROTO_IPV4, NLM_F_DUMP, seq++);
        if (!nft::dump_request(nl, nlh, rq.cb, &st)) return false;
    }
    return get_genid(nl, seq) == gen_before;
}

std::string str_or_empty(const char* s) { return s ? s : ""; }

DumpedChain dumped_chain(const std::string& table, const nftnl_chain* c, const DumpState& st) {
    DumpedChain dc;
    dc.name = str_or_empty(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
    dc.builtin = nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM);
    if (dc.builtin) {
        uint32_t p = nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY) ? nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) : NF_ACCEPT;
        dc.policy = p == NF_ACCEPT ? "ACCEPT" : p == NF_DROP ? "DROP" : "?" + std::to_string(p);
    }
    for (const auto& r : st.rules) {
        if (str_or_empty(nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE)) != table) continue;
        if (str_or_empty(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN)) != dc.name) continue;
        dc.rules.push_back(nft::decode_rule(r.get()));
    }
    return dc;
}

std::vector<DumpedTable> collect(const std::vector<std::string>& tables, const DumpState& st) {
    std::vector<DumpedTable> out;
    for (const auto& want : tables) {
        bool present = false;
        for (const auto& t : st.tables)
            if (str_or_empty(nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME)) == want) present = true;
        if (!present) continue;
        DumpedTable dt;
        dt.name = want;
        for (const auto& c : st.chains)
            if (str_or_empty(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE)) == want)
                dt.chains.push_back(dumped_chain(want, c.get(), st));
        std::stable_sort(dt.chains.begin(), dt.chains.end(), [&](const DumpedChain& a, const DumpedChain& b) {
            if (a.builtin != b.builtin) return a.builtin;
            if (a.builtin) {
                int ra = rules::builtin_index(want, a.name), rb = rules::builtin_index(want, b.name);
                if (ra < 0) ra = 1000;
                if (rb < 0) rb = 1000;
                if (ra != rb) return ra < rb;
            }
            return a.name < b.name;
        });
        out.push_back(std::move(dt));
    }
    return out;
}

std::vector<DumpedTable> dump(const std::string& netns, const std::vector<std::string>& tables) {
    uint32_t seq = 1;
    std::lock_guard<std::mutex> held(nft::sockets().lock());
    for (int attempt = 0; attempt < 10; ++attempt) {
        // An interrupted dump leaves unread replies behind: a fresh socket for the next attempt.
        if (attempt > 0) nft::sockets().drop(netns);
        DumpState st;
        if (read_all(nft::sockets().get(netns), seq, st)) return collect(tables, st);
    }
    throw Error("the ruleset kept changing while it was read");
}

}  // namespace

std::vector<DumpedTable> nft_dump(const std::string& netns, const std::vector<std::string>& tables) {
    return with_context("read rules in netns " + netns, [&] {
        try {
            return dump(netns, tables);
        } catch (const Error&) {
            std::lock_guard<std::mutex> held(nft::sockets().lock());
            nft::sockets().drop(netns);  // a failed dump may leave replies unread on it
            throw;
        }
    });
}

rules::Ruleset to_ruleset(const std::vector<DumpedTable>& dump) {
    rules::Ruleset rs;
    for (const auto& dt : dump) {
        rules::IptTable t;
        t.name = dt.name;
        for (const auto& dc : dt.chains) {
            rules::IptChain c;
            c.name = dc.name;
            c.builtin = dc.builtin;
            c.policy = dc.builtin && !dc.policy.empty() ? dc.policy : "ACCEPT";
            for (const auto& dr : dc.rules) {
                if (dr.decoded) {
                    c.rules.push_back(dr.rule);
                } else {
                    rules::IptRule raw;
                    raw.target = "?raw";
                    raw.comment = dr.raw;
                    c.rules.push_back(raw);
                }
            }
            t.chains.push_back(std::move(c));
        }
        rs.tables.push_back(std::move(t));
    }
    return rs;
}

}  // namespace netlab::net

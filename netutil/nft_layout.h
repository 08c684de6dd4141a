// Facts of iptables-nft 1.8.9 that the encoder, the decoder, the batch and the dump share: its
// tables and base chains (names, hooks, priorities), the sizes of the xt extension blobs it sends,
// and the scale of -m statistic's probability. Internal to netutil's nft_* files.
#pragma once

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_statistic.h>
#include <linux/netfilter/xt_tcpudp.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace netlab::net::nft {

struct BaseChainSpec {
    const char* table;
    const char* name;
    uint32_t hook;
    int32_t prio;
};

// iptables-nft's base chains: these exact names, hooks, priorities and types, or `-S` complains.
inline constexpr BaseChainSpec kBaseChains[] = {
    {"nat", "PREROUTING", NF_INET_PRE_ROUTING, -100},
    {"nat", "INPUT", NF_INET_LOCAL_IN, 100},
    {"nat", "OUTPUT", NF_INET_LOCAL_OUT, -100},
    {"nat", "POSTROUTING", NF_INET_POST_ROUTING, 100},
    {"filter", "INPUT", NF_INET_LOCAL_IN, 0},
    {"filter", "FORWARD", NF_INET_FORWARD, 0},
    {"filter", "OUTPUT", NF_INET_LOCAL_OUT, 0},
};

inline const BaseChainSpec* base_chain(const std::string& table, const std::string& name) {
    for (const auto& b : kBaseChains)
        if (table == b.table && name == b.name) return &b;
    return nullptr;
}

// The tables netlab programs.
inline bool known_table(const std::string& t) { return t == "nat" || t == "filter"; }

// Position of a builtin chain in hook order within its table; large for anything else.
inline int base_chain_rank(const std::string& table, const std::string& name) {
    int i = 0;
    for (const auto& b : kBaseChains) {
        if (table != b.table) continue;
        if (name == b.name) return i;
        ++i;
    }
    return 1000;
}

// The xt blobs (NFTNL_EXPR_{MT,TG}_INFO) are the kernel structs padded to XT_ALIGN.
inline constexpr size_t kTcpInfoLen = XT_ALIGN(sizeof(xt_tcp));
inline constexpr size_t kUdpInfoLen = XT_ALIGN(sizeof(xt_udp));
inline constexpr size_t kStatisticInfoLen = XT_ALIGN(sizeof(xt_statistic_info));
inline constexpr size_t kDnatInfoLen = XT_ALIGN(sizeof(nf_nat_range2));
inline constexpr size_t kMasqInfoLen = XT_ALIGN(sizeof(nf_nat_ipv4_multi_range_compat));
inline constexpr size_t kCommentInfoLen = XT_ALIGN(sizeof(xt_comment_info));

// -m statistic --probability P is stored as P * 2^31 (libxt_statistic rounds it).
inline constexpr double kProbabilityScale = 2147483648.0;

}  // namespace netlab::net::nft

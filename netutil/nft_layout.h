// Facts of iptables-nft 1.8.9 that the encoder and the decoder share: the sizes of the xt extension
// blobs it sends. Its tables, base chains (hooks, priorities) and the probability scale are facts of
// the rule model and live in rules/builtin.h and rules/probability.h. Internal to netutil's nft_* files.
#pragma once

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_statistic.h>
#include <linux/netfilter/xt_tcpudp.h>

#include <cstddef>
#include <cstdint>

namespace netlab::net::nft {

// The xt blobs (NFTNL_EXPR_{MT,TG}_INFO) are the kernel structs padded to XT_ALIGN.
inline constexpr size_t kTcpInfoLen = XT_ALIGN(sizeof(xt_tcp));
inline constexpr size_t kUdpInfoLen = XT_ALIGN(sizeof(xt_udp));
inline constexpr size_t kStatisticInfoLen = XT_ALIGN(sizeof(xt_statistic_info));
inline constexpr size_t kDnatInfoLen = XT_ALIGN(sizeof(nf_nat_range2));
inline constexpr size_t kMasqInfoLen = XT_ALIGN(sizeof(nf_nat_ipv4_multi_range_compat));
inline constexpr size_t kCommentInfoLen = XT_ALIGN(sizeof(xt_comment_info));

}  // namespace netlab::net::nft

// Rule model -> nftnl expressions, in the exact layout iptables-nft 1.8.9 sends for the same rule
// (so `iptables-nft -S/-L/-C` see exactly these rules). Pure: no socket, no kernel; the unit test
// unit_nft_codec compares its bytes with iptables-nft's own.
//
// Layout of one rule, in expression order:
//   [meta iifname][cmp]  [meta oifname][cmp]  [meta l4proto][cmp]
//   [payload nh+12][bitwise?][cmp]  [payload nh+16][bitwise?][cmp]
//   [payload th+0/+2][cmp] (ports, native) | [match tcp/udp rev0] (bare -m tcp)
//   [match statistic rev0]  [counter]  [immediate verdict/jump/goto] | [target DNAT rev2 / MASQUERADE rev0]
//   comment: rule userdata (NFTNL_UDATA_RULE_COMMENT), which iptables-nft lists as -m comment.
#pragma once

#include <string>

#include "rules/ruleset.h"

struct nftnl_rule;

namespace netlab::net::nft {

// Adds the expressions, the compat attributes (-p for the xt extensions) and the comment of `rule`
// to `r`; throws Error("<what is wrong> (<where>)") for a value it can't encode.
void encode_rule(nftnl_rule* r, const rules::IptRule& rule, const std::string& where);

}  // namespace netlab::net::nft

// nftnl rule -> rule model: the inverse of nft_encode, which also reads what iptables-nft 1.8.9 itself
// writes (-m comment as the xt comment match). Pure: no socket, no kernel.
#pragma once

#include <string>

#include "netutil/nft_dump.h"

struct nftnl_rule;

namespace netlab::net::nft {

// The rule and its counters. A layout it does not recognise (anything netlab and iptables-nft do
// not write for the rule forms of the model) gives decoded = false with nftnl's text in `raw`.
DumpedRule decode_rule(const nftnl_rule* r);

// nftnl's one-line text of a rule ("[ meta load l4proto => reg 1 ] ...").
std::string rule_text(const nftnl_rule* r);

}  // namespace netlab::net::nft

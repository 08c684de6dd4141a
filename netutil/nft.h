// Programs and reads iptables-style rules through libnftnl + libmnl, in the exact layout
// iptables-nft 1.8.9 uses, so `iptables-nft -S/-L/-C` see exactly these rules.
// The pieces: nft_encode / nft_decode (rule model <-> expressions, pure), nft_batch (the messages of
// a replacement), nft_socket (the per-namespace socket, sending, acks), nft_dump (reading back).
#pragma once

#include <string>
#include <vector>

#include "netutil/nft_dump.h"
#include "rules/ruleset.h"

namespace netlab::net {

// Replaces the IPv4 tables named in `owned` (e.g. {"nat","filter"}) inside `netns` with their
// contents in `rs`, in ONE atomic netlink batch: chains whose rules are already exactly these stay
// untouched, other chains are flushed and filled again, chains not in `rs` are deleted, new ones
// made. A table in `owned` that is absent from `rs` (or has no chains) is deleted. On any error nothing
// changes and Error names the failing message ("program rules in netns netlab: ... (rule 3 of
// chain DUSTIN-SVC-HTTP): Invalid argument").
void nft_replace(const std::string& netns, const rules::Ruleset& rs, const std::vector<std::string>& owned);

// Closes the netfilter socket netlab keeps open in `netns` (see SocketCache in nft_socket.h), so
// that it no longer holds the namespace alive. netns_delete() calls it.
void nft_forget_netns(const std::string& netns);

}  // namespace netlab::net

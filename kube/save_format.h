// From the text kube-proxy feeds to iptables-restore to what `iptables-save` (iptables-nft 1.8.9)
// lists once it is loaded into empty tables: its chain lines and rules in its normal form (addresses
// with /32, -s/-d/-p first, comments quoted, --or-mark/--xor-mark as --set-xmark, probabilities as
// the kernel stores them, xt_recent's defaults spelled out). Header/comment lines and the counters
// are left out, and only kube-proxy's chains are listed.
#pragma once

#include <string>

namespace netlab::kube {

std::string restore_to_save(const std::string& restore);

}  // namespace netlab::kube

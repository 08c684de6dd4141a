// Shared helpers for the integration suite (root, real namespaces). Every test cleans up after
// itself even when it fails: scratch namespaces are RAII objects deleted in their destructor.
#pragma once

#include <string>
#include <vector>

namespace netlab::test {

struct ShResult {
    int rc = -1;
    std::string out;  // stdout and stderr together
};

// Runs `cmd` with /bin/sh -c, bounded by `timeout_s` seconds (killed after it). Witness tools
// (ip, nft, iptables-nft, bridge) are used through this.
ShResult sh(const std::string& cmd, int timeout_s = 60);

// A network namespace made with the real `ip netns add`, named "nlt-<pid>-<tag>", deleted (with
// everything in it) by the destructor.
class ScratchNetns {
public:
    explicit ScratchNetns(const std::string& tag);
    ~ScratchNetns();
    ScratchNetns(const ScratchNetns&) = delete;
    ScratchNetns& operator=(const ScratchNetns&) = delete;
    const std::string& name() const { return name_; }
    // Runs a command inside it: `ip netns exec NAME sh -c CMD`.
    ShResult exec(const std::string& cmd, int timeout_s = 60) const;

private:
    std::string name_;
};

// A fingerprint of the root network namespace (links, addresses, routes, rules, the sysctls netlab
// could touch) taken with the real tools; tests assert it is unchanged by anything they ran.
std::string root_fingerprint();

// Path of the netlab binary under test ($NETLAB), and a run of it: "netlab ARGS".
std::string netlab_bin();
ShResult netlab(const std::string& args, int timeout_s = 120);

}  // namespace netlab::test

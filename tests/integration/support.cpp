#include "tests/integration/support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace netlab::test {

ShResult sh(const std::string& cmd, int timeout_s) {
    std::string full = "timeout -k 5 " + std::to_string(timeout_s) + " /bin/sh -c '";
    for (char c : cmd) {
        if (c == '\'') full += "'\\''";
        else full += c;
    }
    full += "' 2>&1";
    ShResult r;
    FILE* p = ::popen(full.c_str(), "r");
    if (!p) throw std::runtime_error("popen failed: " + cmd);
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
    int st = ::pclose(p);
    r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return r;
}

ScratchNetns::ScratchNetns(const std::string& tag)
    : name_("nlt-" + std::to_string(::getpid()) + "-" + tag) {
    auto r = sh("ip netns add " + name_);
    if (r.rc != 0) throw std::runtime_error("ip netns add " + name_ + ": " + r.out);
    sh("ip netns exec " + name_ + " ip link set lo up");
}

ScratchNetns::~ScratchNetns() {
    // Processes left inside would keep nothing alive after the mount is gone, but kill them anyway.
    sh("ip netns pids " + name_ + " 2>/dev/null | xargs -r kill -9; ip netns del " + name_ +
       " 2>/dev/null; true");
}

ShResult ScratchNetns::exec(const std::string& cmd, int timeout_s) const {
    std::string q;
    for (char c : cmd) {
        if (c == '\'') q += "'\\''";
        else q += c;
    }
    return sh("ip netns exec " + name_ + " sh -c '" + q + "'", timeout_s);
}

std::string root_fingerprint() {
    return sh("ip -o link show | sed -E 's/ qlen [0-9]+//'; ip -o addr show; ip route show table all; "
              "ip rule show; nft list ruleset 2>/dev/null; "
              "cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null")
        .out;
}

std::string netlab_bin() {
    const char* p = std::getenv("NETLAB");
    return p ? p : "netlab";
}

ShResult netlab(const std::string& args, int timeout_s) { return sh(netlab_bin() + " " + args, timeout_s); }

}  // namespace netlab::test

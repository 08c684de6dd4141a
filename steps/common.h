// Small helpers shared by the step kinds.
#pragma once

#include <string>
#include <vector>

#include "lab/action.h"
#include "lab/params.h"

namespace netlab::steps {

using lab::Check;
using lab::Context;
using lab::LabNames;
using lab::Params;

// The logical namespace an action works in: its "ns" field, or the lab host.
inline std::string ns_param(const Params& p, const char* key = "ns") {
    return p.str_or(key, LabNames::kHost);
}

// "the lab host" for the host namespace, "netns X" otherwise; for messages.
inline std::string where_text(const LabNames& n, const std::string& logical) {
    if (logical == LabNames::kHost) return "the lab host (netns " + n.ns(logical) + ")";
    return "netns " + n.ns(logical);
}

// The shell prefix that runs a command in a namespace: "ip netns exec X ".
inline std::string in_ns(const LabNames& n, const std::string& logical) {
    return "ip netns exec " + n.ns(logical) + " ";
}

inline Check pass(std::string what) { return Check{true, std::move(what), {}, {}, {}}; }
inline Check fail(std::string what, std::string expected, std::string observed) {
    return Check{false, std::move(what), std::move(expected), std::move(observed), {}};
}
inline Check expect(bool ok, std::string what, std::string expected, std::string observed) {
    return Check{ok, std::move(what), std::move(expected), std::move(observed), {}};
}

// Validates "a.b.c.d/len" (IPv4, len 0..32); fails through p with a clear message.
void check_cidr(const Params& p, const std::string& cidr);
// Validates a dotted IPv4 address.
void check_ipv4(const Params& p, const std::string& addr);
// Validates a Linux interface name (1..15 chars, no '/', no spaces).
void check_ifname(const Params& p, const std::string& name);

}  // namespace netlab::steps

// Per-namespace sysctls through /proc/sys, read and written from a thread inside the namespace.
#pragma once

#include <optional>
#include <string>

namespace netlab::net {

// key in dotted form, e.g. "net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables".
// Returns the value without the trailing newline; std::nullopt when the key does not exist.
std::optional<std::string> sysctl_read(const std::string& netns, const std::string& key);
// Throws Error("set sysctl KEY=VALUE in netns NS: ...").
void sysctl_write(const std::string& netns, const std::string& key, const std::string& value);

}  // namespace netlab::net

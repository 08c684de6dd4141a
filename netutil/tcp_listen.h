// The listening TCP socket netlab hands to a pod (socket activation, the systemd way), made in the
// calling thread's network namespace.
#pragma once

#include <cstdint>
#include <string>

#include "base/unique_fd.h"

namespace netlab::net {

// A TCP socket listening on ADDRESS:PORT (dotted IPv4), SO_REUSEADDR, backlog SOMAXCONN,
// close-on-exec, in the calling thread's network namespace. Throws Error("bind 0.0.0.0:8080:
// Address already in use"); the other steps read "open a socket for", "set SO_REUSEADDR on",
// "listen on"; a bad address "parse address X: not a dotted IPv4 address".
UniqueFd tcp_listen(const std::string& address, uint16_t port);

}  // namespace netlab::net

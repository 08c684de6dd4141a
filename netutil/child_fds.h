// Placing descriptors for a child process: kept above the numbers the child gets until the fork,
// then duplicated to exactly those numbers, with nothing else inherited across exec.
#pragma once

#include <initializer_list>

#include "base/unique_fd.h"

namespace netlab::net {

// FD moved to the lowest free descriptor >= LOWEST, close-on-exec (FD itself is closed), so that
// placing a child's descriptors below LOWEST never overwrites it. Throws Error("fcntl
// F_DUPFD_CLOEXEC: <reason>").
UniqueFd fd_above(UniqueFd fd, int lowest);

// In a forked child before exec (async-signal-safe): FDS[i] duplicated to descriptor FIRST + i, the
// copies inherited across exec, every descriptor above them close-on-exec (no stray fd leaks). Give
// fds held above FIRST + FDS.size() (fd_above) so placing one never overwrites another. False with
// errno set when a dup2 fails.
bool place_for_exec(int first, std::initializer_list<int> fds);

}  // namespace netlab::net

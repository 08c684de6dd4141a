// Descriptors netlab hands to a child process (socket activation, the systemd way): a listening TCP
// socket made in the calling thread's network namespace, a ready pipe, both kept above the
// descriptor numbers the child gets, and a bounded wait for one of them to become readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "base/unique_fd.h"

namespace netlab::net {

// A TCP socket listening on ADDRESS:PORT (dotted IPv4), SO_REUSEADDR, backlog SOMAXCONN,
// close-on-exec, in the calling thread's network namespace. Throws Error("bind 0.0.0.0:8080:
// Address already in use"); the other steps read "open a socket for", "set SO_REUSEADDR on",
// "listen on"; a bad address "parse address X: not a dotted IPv4 address".
UniqueFd tcp_listen(const std::string& address, uint16_t port);

// FD moved to the lowest free descriptor >= LOWEST, close-on-exec (FD itself is closed), so that
// placing a child's descriptors below LOWEST never overwrites it. Throws Error("fcntl
// F_DUPFD_CLOEXEC: <reason>").
UniqueFd fd_above(UniqueFd fd, int lowest);

// In a forked child before exec (async-signal-safe): FDS[i] duplicated to descriptor FIRST + i, the
// copies inherited across exec, every descriptor above them close-on-exec (no stray fd leaks). Give
// fds held above FIRST + FDS.size() (fd_above) so placing one never overwrites another. False with
// errno set when a dup2 fails.
bool place_for_exec(int first, std::initializer_list<int> fds);

// A close-on-exec pipe.
struct Pipe {
    UniqueFd read_end, write_end;
};
// Throws Error("pipe: <reason>").
Pipe make_pipe();

// Waits until FD is readable (or at end of file / hung up) or DEADLINE passes, retrying on EINTR.
// Like poll(2): > 0 readable, 0 at the deadline, < 0 on another error (in errno).
int poll_until(int fd, std::chrono::steady_clock::time_point deadline);

// One byte read from FD, retrying on EINTR: 1 when read into BYTE, 0 at end of file, < 0 on error.
int read_byte(const UniqueFd& fd, char& byte);

}  // namespace netlab::net

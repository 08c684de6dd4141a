// A close-on-exec pipe (the pod's ready pipe) and the bounded waits on a descriptor: until it is
// readable, and for one byte.
#pragma once

#include <chrono>

#include "base/unique_fd.h"

namespace netlab::net {

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

// A process file descriptor (pidfd_open(2)): it names one process for as long as it is open, so a
// signal sent through it never reaches a process that reused the pid.
#pragma once

#include <chrono>

#include "base/unique_fd.h"

namespace netlab::net {

class Pidfd {
public:
    // A pidfd for PID; empty (false) when no such process exists (ESRCH). Throws
    // Error("pidfd_open: <reason>") on any other failure.
    explicit Pidfd(int pid);

    explicit operator bool() const { return static_cast<bool>(fd_); }
    int get() const { return fd_.get(); }

    // Sends SIG to the process; false when that fails (ESRCH: it has exited, wait_exit sees it).
    bool send_signal(int sig) const;
    // Waits up to TIMEOUT for the process to exit (the pidfd becomes readable then, whether or not it
    // is our child) and reaps it when it is our child. True when it exited.
    bool wait_exit(std::chrono::milliseconds timeout) const;
    // Reaps the process when it is our child and has exited (waitid P_PIDFD, WNOHANG); true then.
    bool try_reap() const;

private:
    UniqueFd fd_;
};

}  // namespace netlab::net

#include "netutil/pidfd.h"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "base/error.h"
#include "netutil/pipe.h"

namespace netlab::net {

Pidfd::Pidfd(int pid) : fd_(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))) {
    if (!fd_ && errno != ESRCH) throw Error("pidfd_open: " + errno_text(errno));
}

bool Pidfd::send_signal(int sig) const { return ::syscall(SYS_pidfd_send_signal, fd_.get(), sig, nullptr, 0) == 0; }

bool Pidfd::wait_exit(std::chrono::milliseconds timeout) const {
    if (poll_until(fd_.get(), std::chrono::steady_clock::now() + timeout) <= 0) return false;
    try_reap();
    return true;
}

bool Pidfd::try_reap() const {
    siginfo_t info{};
    if (::waitid(static_cast<idtype_t>(P_PIDFD), fd_.get(), &info, WEXITED | WNOHANG) != 0) return false;
    return info.si_pid != 0;
}

}  // namespace netlab::net

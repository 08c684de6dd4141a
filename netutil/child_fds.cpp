#include "netutil/child_fds.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/error.h"

namespace netlab::net {

UniqueFd fd_above(UniqueFd fd, int lowest) {
    UniqueFd high(::fcntl(fd.get(), F_DUPFD_CLOEXEC, lowest));
    if (!high) throw Error("fcntl F_DUPFD_CLOEXEC: " + errno_text(errno));
    return high;
}

bool place_for_exec(int first, std::initializer_list<int> fds) {
    int to = first;
    for (int fd : fds)
        if (::dup2(fd, to++) < 0) return false;  // dup2 clears close-on-exec on the copy only
    ::close_range(static_cast<unsigned>(to), ~0U, CLOSE_RANGE_CLOEXEC);
    return true;
}

}  // namespace netlab::net

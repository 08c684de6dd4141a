#include "netutil/pipe.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/error.h"

namespace netlab::net {

Pipe make_pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw Error("pipe: " + errno_text(errno));
    return {UniqueFd(p[0]), UniqueFd(p[1])};
}

int poll_until(int fd, std::chrono::steady_clock::time_point deadline) {
    using std::chrono::milliseconds;
    for (;;) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
        if (n >= 0 || errno != EINTR) return n;
        if (left.count() <= 0) return 0;
    }
}

int read_byte(const UniqueFd& fd, char& byte) {
    for (;;) {
        ssize_t r = ::read(fd.get(), &byte, 1);
        if (r >= 0 || errno != EINTR) return static_cast<int>(r);
    }
}

}  // namespace netlab::net

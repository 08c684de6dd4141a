#include "lab/lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "base/error.h"

namespace netlab::lab {

// The file at `file` is still the one `fd` has open: a netlab that removes the lab's state
// directory (undo --all, reset) does so holding the lock, so a waiter that gets the lock on the
// removed file must drop it and lock the file that is there now, or two netlabs would both "hold" it.
static bool still_linked(int fd, const std::filesystem::path& file) {
    struct stat held {}, now {};
    if (::fstat(fd, &held) != 0 || ::stat(file.c_str(), &now) != 0) return false;
    return held.st_dev == now.st_dev && held.st_ino == now.st_ino;
}

static std::string read_holder(int fd) {
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
    while (!holder.empty() && holder.back() == '\n') holder.pop_back();
    return holder.empty() ? "?" : holder;
}

LabLock::LabLock(const std::filesystem::path& dir, std::ostream& out, int wait_seconds) {
    auto file = dir / "lock";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
    bool said = false;
    for (;;) {
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec) throw Error("create " + dir.string() + ": " + ec.message());
        fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd_ < 0) throw Error("open lock " + file.string() + ": " + errno_text(errno));
        std::string holder;
        for (;;) {
            if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) break;
            if (errno != EWOULDBLOCK && errno != EINTR) {
                int e = errno;
                ::close(fd_);
                fd_ = -1;
                throw Error("lock " + file.string() + ": " + errno_text(e));
            }
            if (holder.empty()) holder = read_holder(fd_);
            if (!said) {
                out << "netlab: the lab is busy (another netlab, pid " << holder << ", holds " << file.string()
                    << "); waiting..." << std::endl;
                said = true;
            }
            if (wait_seconds >= 0 && std::chrono::steady_clock::now() > deadline) {
                ::close(fd_);
                fd_ = -1;
                throw Error("lock " + file.string() + ": still held by pid " + holder + " after " +
                            std::to_string(wait_seconds) + " s");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (still_linked(fd_, file)) break;
        ::close(fd_);  // locked a file that was removed meanwhile: start again with the new one
        fd_ = -1;
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
}

LabLock::~LabLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace netlab::lab

#include "lab/lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "lab/error.h"

namespace netlab::lab {

LabLock::LabLock(const std::filesystem::path& dir, std::ostream& out, int wait_seconds) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error("create " + dir.string() + ": " + ec.message());
    auto file = dir / "lock";
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw Error("open lock " + file.string() + ": " + errno_text(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
        std::string pid = std::to_string(::getpid()) + "\n";
        if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
        return;
    }
    char buf[32] = {};
    ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
    while (!holder.empty() && holder.back() == '\n') holder.pop_back();
    out << "netlab: the lab is busy (another netlab, pid " << holder << ", holds " << file.string()
        << "); waiting..." << std::endl;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
    for (;;) {
        if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) break;
        if (errno != EWOULDBLOCK && errno != EINTR) throw Error("lock " + file.string() + ": " + errno_text(errno));
        if (wait_seconds >= 0 && std::chrono::steady_clock::now() > deadline) {
            ::close(fd_);
            fd_ = -1;
            throw Error("lock " + file.string() + ": still held by pid " + holder + " after " +
                        std::to_string(wait_seconds) + " s");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
}

LabLock::~LabLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace netlab::lab

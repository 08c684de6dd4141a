// One lock per lab (flock on /run/netlab/<lab>/lock): two netlab commands on one lab never
// interleave. The second one says who holds it and waits.
#pragma once

#include <filesystem>
#include <ostream>

namespace netlab::lab {

class LabLock {
public:
    // Takes the lock, printing a line to `out` and waiting when another process holds it.
    // `wait_seconds` < 0 waits forever; otherwise throws Error after that many seconds.
    LabLock(const std::filesystem::path& dir, std::ostream& out, int wait_seconds = -1);
    ~LabLock();
    LabLock(const LabLock&) = delete;
    LabLock& operator=(const LabLock&) = delete;

private:
    int fd_ = -1;
};

}  // namespace netlab::lab

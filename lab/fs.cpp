#include "lab/fs.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "base/error.h"

namespace netlab::lab {

namespace fs = std::filesystem;

std::optional<std::string> read_file(const fs::path& p) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw Error("read " + p.string() + ": " + errno_text(errno));
    }
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ::close(fd);
            throw Error("read " + p.string() + ": " + errno_text(e));
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
}

static void fsync_dir(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

void write_file_atomic(const fs::path& p, const std::string& bytes, unsigned mode, bool sync) {
    fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    std::string tmpl = (dir / ("." + p.filename().string() + ".XXXXXX")).string();
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) throw Error("write " + p.string() + ": " + errno_text(errno));
    auto fail = [&](const char* what) {
        int e = errno;
        ::close(fd);
        ::unlink(tmpl.c_str());
        throw Error(std::string(what) + " " + p.string() + ": " + errno_text(e));
    };
    size_t off = 0;
    while (off < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("write");
        }
        off += static_cast<size_t>(n);
    }
    if (::fchmod(fd, mode) != 0) fail("chmod");
    if (sync && ::fsync(fd) != 0) fail("fsync");
    ::close(fd);
    // Without sync, swap the two names instead of renaming over the old file: ext4 flushes the new
    // file's data before a rename that replaces a file (auto_da_alloc; 0.2-2 ms each where /run is on
    // ext4), not before an exchange. Then the old contents, now under the temporary name, go.
    if (!sync && ::renameat2(AT_FDCWD, tmpl.c_str(), AT_FDCWD, p.c_str(), RENAME_EXCHANGE) == 0) {
        ::unlink(tmpl.c_str());
        return;
    }
    if (::rename(tmpl.c_str(), p.c_str()) != 0) {  // also when there is nothing to exchange with
        int e = errno;
        ::unlink(tmpl.c_str());
        throw Error("rename " + tmpl + " to " + p.string() + ": " + errno_text(e));
    }
    if (sync) fsync_dir(dir);
}

void remove_file(const fs::path& p) {
    if (::unlink(p.c_str()) != 0 && errno != ENOENT)
        throw Error("remove " + p.string() + ": " + errno_text(errno));
}

}  // namespace netlab::lab

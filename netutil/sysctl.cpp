// Per-namespace sysctls: /proc/sys resolves net.* entries in the network namespace of the calling
// thread, so every access runs in a dedicated thread that entered the namespace (NetnsGuard).
// Opening the file in that thread is what matters: an fd keeps the namespace it was opened in.
#include "netutil/sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <functional>
#include <thread>

#include "base/error.h"
#include "netutil/netns.h"
#include "base/unique_fd.h"

namespace netlab::net {

namespace {

// "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward". Like sysctl(8), a key that already
// uses '/' as separator is taken as a path (so interface names with dots can be spelled).
// Returns "" for a key that could escape /proc/sys.
std::string key_path(const std::string& key) {
    if (key.empty() || key.front() == '.' || key.front() == '/') return {};
    std::string rel = key;
    if (rel.find('/') == std::string::npos) {
        for (char& c : rel)
            if (c == '.') c = '/';
    }
    // Reject empty, "." and ".." components.
    size_t start = 0;
    while (start <= rel.size()) {
        size_t end = rel.find('/', start);
        if (end == std::string::npos) end = rel.size();
        std::string comp = rel.substr(start, end - start);
        if (comp.empty() || comp == "." || comp == "..") return {};
        start = end + 1;
    }
    if (rel.find('\0') != std::string::npos) return {};
    return "/proc/sys/" + rel;
}

// Runs fn on a fresh thread inside netns; exceptions are carried back to the caller.
void run_in_netns(const std::string& netns, const std::function<void()>& fn) {
    std::exception_ptr ep;
    std::thread t([&] {
        try {
            NetnsGuard guard(netns);
            // Belt and braces: never touch /proc/sys unless this thread really is in `netns`.
            if (current_netns_inode() != netns_inode(netns))
                throw Error("enter netns " + netns + ": thread is not in the namespace after setns");
            fn();
        } catch (...) {
            ep = std::current_exception();
        }
    });
    t.join();
    if (ep) std::rethrow_exception(ep);
}

}  // namespace

std::optional<std::string> sysctl_read(const std::string& netns, const std::string& key) {
    const std::string what = "read sysctl " + key + " in netns " + netns;
    const std::string path = key_path(key);
    if (path.empty()) throw Error(what + ": invalid key");
    std::optional<std::string> result;
    run_in_netns(netns, [&] {
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) {
            if (errno == ENOENT) return;
            throw Error(what + ": " + errno_text(errno));
        }
        std::string value;
        char buf[4096];
        for (;;) {
            ssize_t n = ::read(fd.get(), buf, sizeof buf);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw Error(what + ": " + errno_text(errno));
            }
            if (n == 0) break;
            value.append(buf, static_cast<size_t>(n));
        }
        while (!value.empty() && value.back() == '\n') value.pop_back();
        result = std::move(value);
    });
    return result;
}

void sysctl_write(const std::string& netns, const std::string& key, const std::string& value) {
    const std::string what = "set sysctl " + key + "=" + value + " in netns " + netns;
    const std::string path = key_path(key);
    if (path.empty()) throw Error(what + ": invalid key");
    run_in_netns(netns, [&] {
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd) {
            int err = errno;
            throw Error(what + ": " + (err == ENOENT ? std::string("no such sysctl") : errno_text(err)));
        }
        const std::string data = value + "\n";
        // /proc/sys takes the value in one write; a short write would leave a partial value.
        ssize_t n;
        do {
            n = ::write(fd.get(), data.data(), data.size());
        } while (n < 0 && errno == EINTR);
        if (n < 0) throw Error(what + ": " + errno_text(errno));
        if (static_cast<size_t>(n) != data.size()) throw Error(what + ": short write");
        if (::close(fd.release()) != 0) throw Error(what + ": " + errno_text(errno));
    });
}

}  // namespace netlab::net

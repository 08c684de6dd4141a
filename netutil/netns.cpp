// Named network namespaces the way iproute2 makes them (see netns.h): the same files and mounts, so
// `ip netns` lists, enters and deletes what netlab made.
#include "netutil/netns.h"
#include "netutil/nft.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include "base/error.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

namespace netlab::net {

namespace {

constexpr const char* kRunDir = "/run/netns";
constexpr const char* kEtcDir = "/etc/netns";

// A name that is a single path component under /run/netns.
bool valid_name(const std::string& name) {
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
           name.find('\0') == std::string::npos && name.size() < 256;
}

std::string netns_path(const std::string& name) { return std::string(kRunDir) + "/" + name; }

[[noreturn]] void fail_errno(const std::string& what, int err) { throw Error(what + ": " + errno_text(err)); }

// True when fd is an nsfs file of a network namespace.
bool is_net_ns_fd(int fd) {
    struct statfs fs {};
    if (::fstatfs(fd, &fs) != 0 || static_cast<unsigned long>(fs.f_type) != NSFS_MAGIC) return false;
    return ::ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET;
}

UniqueFd open_existing_ns(const std::string& name, int& err) {
    err = 0;
    if (!valid_name(name)) {
        err = EINVAL;
        return {};
    }
    UniqueFd fd(::open(netns_path(name).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        err = errno;
        return {};
    }
    return fd;
}

// `mkdir /run/netns` and make it a shared mount point, exactly like iproute2's create_netns_dir +
// the MS_SHARED loop of netns_add. Returns an fd on the directory that holds an exclusive flock.
UniqueFd prepare_run_dir(const std::string& what) {
    if (::mkdir(kRunDir, S_IRWXU | S_IRGRP | S_IXGRP | S_IROTH | S_IXOTH) != 0 && errno != EEXIST)
        fail_errno(what + ": mkdir " + kRunDir, errno);
    UniqueFd dir(::open(kRunDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) fail_errno(what + ": open " + kRunDir, errno);
    while (::flock(dir.get(), LOCK_EX) != 0) {
        if (errno != EINTR) fail_errno(what + ": lock " + kRunDir, errno);
    }
    bool bound = false;
    while (::mount("", kRunDir, "none", MS_SHARED | MS_REC, nullptr) != 0) {
        if (errno != EINVAL || bound) fail_errno(what + ": make " + kRunDir + " a shared mount", errno);
        // Not a mount point yet: bind it onto itself, then retry.
        if (::mount(kRunDir, kRunDir, "none", MS_BIND | MS_REC, nullptr) != 0)
            fail_errno(what + ": bind " + kRunDir + " onto itself", errno);
        bound = true;
    }
    return dir;
}

}  // namespace

bool netns_exists(const std::string& name) {
    int err = 0;
    UniqueFd fd = open_existing_ns(name, err);
    return fd && is_net_ns_fd(fd.get());
}

std::vector<std::string> netns_list() {
    std::vector<std::string> out;
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(kRunDir), &::closedir);
    if (!dir) {
        if (errno == ENOENT) return out;
        fail_errno(std::string("list netns: open ") + kRunDir, errno);
    }
    while (struct dirent* e = ::readdir(dir.get())) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        if (netns_exists(n)) out.push_back(std::move(n));
    }
    std::sort(out.begin(), out.end());
    return out;
}

void netns_create(const std::string& name) {
    const std::string what = "create netns " + name;
    if (!valid_name(name)) throw Error(what + ": invalid name (one path component, no '/')");
    UniqueFd lock = prepare_run_dir(what);

    const std::string path = netns_path(name);
    {
        UniqueFd f(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
        if (!f) fail_errno(what, errno);
    }

    // unshare + bind in a short-lived thread so that the caller's thread keeps its namespace. In a
    // non-main thread /proc/self/ns/net is the main thread's namespace: bind /proc/thread-self.
    int err = 0;
    std::string step;
    std::thread worker([&] {
        if (::unshare(CLONE_NEWNET) != 0) {
            err = errno;
            step = "unshare";
            return;
        }
        if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0) {
            err = errno;
            step = "bind /proc/thread-self/ns/net to " + path;
        }
    });
    worker.join();
    if (err != 0) {
        ::umount2(path.c_str(), MNT_DETACH);
        ::unlink(path.c_str());
        fail_errno(what + ": " + step, err);
    }
}

void netns_delete(const std::string& name) {
    const std::string what = "delete netns " + name;
    if (!valid_name(name)) throw Error(what + ": invalid name (one path component, no '/')");
    const std::string path = netns_path(name);
    nft_forget_netns(name);  // netlab's own socket in it would keep the namespace alive
    // Not mounted (EINVAL) or absent (ENOENT) is fine: the unlink below decides.
    if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
        fail_errno(what + ": unmount " + path, errno);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail_errno(what + ": unlink " + path, errno);
}

UniqueFd netns_open(const std::string& name) {
    const std::string what = "open netns " + name;
    if (!valid_name(name)) throw Error(what + ": invalid name (one path component, no '/')");
    int err = 0;
    UniqueFd fd = open_existing_ns(name, err);
    if (!fd) fail_errno(what, err);
    if (!is_net_ns_fd(fd.get())) throw Error(what + ": " + netns_path(name) + " is not a network namespace");
    return fd;
}

unsigned long netns_inode(const std::string& name) {
    int err = 0;
    UniqueFd fd = open_existing_ns(name, err);
    if (!fd || !is_net_ns_fd(fd.get())) return 0;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return 0;
    return st.st_ino;
}

unsigned long current_netns_inode() {
    struct stat st {};
    if (::stat("/proc/thread-self/ns/net", &st) != 0)
        fail_errno("read current netns: stat /proc/thread-self/ns/net", errno);
    return st.st_ino;
}

NetnsGuard::NetnsGuard(const std::string& name) : name_(name) {
    saved_.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!saved_) fail_errno("enter netns " + name + ": open /proc/thread-self/ns/net", errno);
    UniqueFd target = netns_open(name);
    if (::setns(target.get(), CLONE_NEWNET) != 0) fail_errno("enter netns " + name, errno);
}

NetnsGuard::~NetnsGuard() {
    if (::setns(saved_.get(), CLONE_NEWNET) != 0) {
        // Carrying on in the wrong namespace would silently aim later changes at the wrong place.
        std::fprintf(stderr, "netlab: fatal: cannot leave netns %s: %s\n", name_.c_str(),
                     errno_text(errno).c_str());
        std::abort();
    }
}

void netns_enter_for_exec(const std::string& name) {
    const std::string what = "enter netns " + name + " for exec";
    {
        UniqueFd fd = netns_open(name);
        if (::setns(fd.get(), CLONE_NEWNET) != 0) fail_errno(what + ": setns", errno);
    }
    if (::unshare(CLONE_NEWNS) != 0) fail_errno(what + ": unshare mount namespace", errno);
    // Don't let the mounts below propagate back to the parent mount namespace.
    if (::mount("", "/", "none", MS_SLAVE | MS_REC, nullptr) != 0)
        fail_errno(what + ": make / a slave mount", errno);

    // A /sys that describes this namespace. A read-only /sys can't be shadowed by a read-write one.
    unsigned long sys_flags = 0;
    struct statvfs vfs {};
    if (::statvfs("/sys", &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) sys_flags = MS_RDONLY;
    ::umount2("/sys", MNT_DETACH);  // failing is fine: nothing mounted, or we overlay it
    if (::mount(name.c_str(), "/sys", "sysfs", sys_flags, nullptr) != 0)
        fail_errno(what + ": mount /sys", errno);

    // Every /etc/netns/NAME/E over /etc/E.
    const std::string etc = std::string(kEtcDir) + "/" + name;
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(etc.c_str()), &::closedir);
    if (!dir) {
        if (errno == ENOENT) return;
        fail_errno(what + ": open " + etc, errno);
    }
    while (struct dirent* e = ::readdir(dir.get())) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        const std::string src = etc + "/" + n;
        const std::string dst = "/etc/" + n;
        if (::mount(src.c_str(), dst.c_str(), "none", MS_BIND, nullptr) != 0)
            fail_errno(what + ": bind " + src + " over " + dst, errno);
    }
}

}  // namespace netlab::net

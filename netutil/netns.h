// Named network namespaces, exactly as iproute2 makes them (/run/netns/NAME bind mounts), so that
// `ip netns exec NAME ...` works on what netlab made: an empty file /run/netns/NAME on which the
// namespace of a thread that unshared CLONE_NEWNET is bind-mounted (/run/netns itself a shared mount,
// made so on first use), and `ip netns exec` bind-mounts /etc/netns/NAME/* over /etc in its child.
#pragma once

#include <string>
#include <vector>

#include "base/unique_fd.h"

namespace netlab::net {

// True when /run/netns/NAME exists and is a network namespace (a bind mount of an nsfs inode).
bool netns_exists(const std::string& name);

// Names under /run/netns that are network namespaces.
std::vector<std::string> netns_list();

// `ip netns add NAME`. Throws Error("create netns NAME: File exists") when it exists already.
// Works from any thread; the calling thread's namespace is unchanged afterwards.
void netns_create(const std::string& name);

// `ip netns del NAME`: lazy unmount + unlink. Absent is success (undo treats "already gone" as done).
void netns_delete(const std::string& name);

// An open fd of /run/netns/NAME. Throws Error("open netns NAME: ...").
UniqueFd netns_open(const std::string& name);

// Inode number identifying the namespace (st_ino of the nsfs file); 0 when absent.
unsigned long netns_inode(const std::string& name);
// Inode of the network namespace of the calling thread.
unsigned long current_netns_inode();

// Enters the network namespace NAME on the calling thread; the destructor switches the thread back
// to the namespace it was in. Nestable. Everything done through netutil (sockets, /proc/sys writes,
// forked children) while a guard lives happens in that namespace.
class NetnsGuard {
public:
    explicit NetnsGuard(const std::string& name);
    ~NetnsGuard();
    NetnsGuard(const NetnsGuard&) = delete;
    NetnsGuard& operator=(const NetnsGuard&) = delete;
    NetnsGuard(NetnsGuard&&) = delete;
    NetnsGuard& operator=(NetnsGuard&&) = delete;

private:
    UniqueFd saved_;
    std::string name_;
};

// What `ip netns exec NAME` does before exec, for the current process (call it in a child or right
// before execvp): setns, a private mount namespace, a fresh /sys, and every file of
// /etc/netns/NAME bind-mounted over /etc. Throws Error on failure.
void netns_enter_for_exec(const std::string& name);

}  // namespace netlab::net

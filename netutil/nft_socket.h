// The netfilter netlink socket of a namespace and the I/O on it: a batch sent in one sendmsg and
// its acknowledgements read back (with the kernel's extended-ack text), and a dump request.
// Internal to netutil's nft_* files.
#pragma once

#include <libmnl/libmnl.h>

#include <mutex>
#include <string>
#include <vector>

#include "netutil/netlink_socket.h"
#include "netutil/nft_handles.h"

struct nftnl_batch;

namespace netlab::net::nft {

// One socket per namespace, open for the life of the process. Closing a netfilter netlink socket
// waits for nf_tables to finish destroying what the last commit replaced (nft_rcv_nl_event flushes
// the deferred destroy work, an RCU grace period: 8-20 ms on the benchmark machine), so a full run
// that opened and closed one socket per step spent ~100 ms in close(). Keyed by the namespace's
// inode: a namespace deleted and made again under the same name gets a new socket. A socket keeps
// its namespace alive, so netns_delete() drops the namespace's socket first (nft_forget_netns).
class SocketCache {
public:
    // The socket for `netns`, made when there is none. Hold lock() while using it.
    mnl_socket* get(const std::string& netns);
    // Closes the socket of `netns` (after an error it may hold unread replies; or the namespace goes).
    void drop(const std::string& netns);
    std::mutex& lock() { return mutex_; }

private:
    struct Entry {
        std::string name;
        unsigned long ino;
        MnlSocket sock;
    };
    std::vector<Entry> entries_;
    std::mutex mutex_;
};

// The process's cache.
SocketCache& sockets();

// Sends the whole batch (MESSAGES messages between its begin and end) in one sendmsg, after making
// room for it and its acknowledgements in the socket's buffers. The kernel runs it inside sendmsg.
void send_batch(mnl_socket* nl, nftnl_batch* batch, size_t messages);

// Reads every reply the kernel queued for a batch of EXPECTED messages (all are queued when
// sendmsg returns; after an error some get none), never waiting long.
std::vector<NetlinkAck> read_acks(mnl_socket* nl, size_t expected);

// Sends a request and runs `cb` on every reply until the dump ends; false when the dump was
// interrupted by a concurrent change (retry).
bool dump_request(mnl_socket* nl, nlmsghdr* nlh, mnl_cb_t cb, void* data);

}  // namespace netlab::net::nft

// What every netlink socket of netlab shares, whichever library drives it (libmnl for netfilter in
// nft_socket.cpp, libnl for links, addresses and routes in rtnl.cpp): the options that make the
// kernel explain a refusal, and the reading of an error reply with that explanation (extended ACK).
#pragma once

#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

struct nlmsghdr;

namespace netlab::net {

// Asks for short error replies (NETLINK_CAP_ACK: no copy of the failing request) that carry the
// kernel's own words (NETLINK_EXT_ACK). Best effort: a kernel without them sends plain errors.
void request_extended_acks(int fd);

// Raises the socket's send and receive buffers to at least these sizes (SO_*BUFFORCE when allowed,
// beyond the sysctl limits; else the plain options). Best effort, like the kernel's own clamping.
void grow_socket_buffers(int fd, size_t send_bytes, size_t recv_bytes);

// One NLMSG_ERROR reply: error 0 is an ACK.
struct NetlinkAck {
    uint32_t seq = 0;
    int error = 0;        // positive errno; 0 = ACK
    std::string message;  // the extended ACK's NLMSGERR_ATTR_MSG, when the kernel sent one
};

// Reads an NLMSG_ERROR message (the caller checked nlmsg_type and that nlmsg_len bytes are there).
// A message too short to hold an nlmsgerr reads as error EBADMSG.
NetlinkAck read_ack(const nlmsghdr* nlh);

// Sends the buffers as one datagram to the kernel (sendmsg to pid 0), again after EINTR; throws Error
// "<errno text> (send <what>)".
void send_to_kernel(int fd, std::vector<iovec>& iov, const std::string& what);

// Waits up to `timeout` for a multicast group's datagrams, then hands each datagram already queued to
// `each` without waiting further. Sets `lost` when the kernel dropped some (ENOBUFS: the receive buffer
// was full). Throws Error "read <what>: <errno text>" on any other failure.
void drain_datagrams(int fd, std::chrono::milliseconds timeout, size_t buffer_bytes, bool& lost,
                     const std::string& what, const std::function<void(const char*, size_t)>& each);

}  // namespace netlab::net

// What rtnl.cpp (the socket, links) and rtnl_addr_route.cpp (addresses, routes) share: owners of
// libnl objects, the socket with the error capture of its last reply, and the error helpers.
// Internal to netutil.
#pragma once

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/handlers.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <string>

#include "base/error.h"
#include "netutil/netlink_socket.h"
#include "netutil/rtnl.h"

namespace netlab::net {

namespace rtnl_detail {

struct SockDel {
    void operator()(nl_sock* p) const { nl_socket_free(p); }
};
struct LinkDel {
    void operator()(rtnl_link* p) const { rtnl_link_put(p); }
};
struct CacheDel {
    void operator()(nl_cache* p) const { nl_cache_free(p); }
};
struct AddrDel {
    void operator()(nl_addr* p) const { nl_addr_put(p); }
};
struct RtAddrDel {
    void operator()(rtnl_addr* p) const { rtnl_addr_put(p); }
};
struct RouteDel {
    void operator()(rtnl_route* p) const { rtnl_route_put(p); }
};
struct NhDel {
    void operator()(rtnl_nexthop* p) const { rtnl_route_nh_free(p); }
};

using SockPtr = std::unique_ptr<nl_sock, SockDel>;
using LinkPtr = std::unique_ptr<rtnl_link, LinkDel>;
using CachePtr = std::unique_ptr<nl_cache, CacheDel>;
using NlAddrPtr = std::unique_ptr<nl_addr, AddrDel>;
using RtAddrPtr = std::unique_ptr<rtnl_addr, RtAddrDel>;
using RoutePtr = std::unique_ptr<rtnl_route, RouteDel>;
using NhPtr = std::unique_ptr<rtnl_nexthop, NhDel>;

// "<what> in netns <netns>: <reason>", with the kernel's words as the hint.
[[noreturn]] inline void fail(const std::string& what, const std::string& netns, const std::string& reason,
                              const std::string& hint = {}) {
    throw Error(what + " in netns " + netns + ": " + reason, hint);
}

}  // namespace rtnl_detail

// ---- the socket and its error capture --------------------------------------------------------

struct Rtnl::Impl {
    rtnl_detail::SockPtr sk;
    // The raw errno and extended-ack text of the last NLMSG_ERROR seen on the socket.
    int last_errno = 0;
    std::string last_ext;

    void clear() {
        last_errno = 0;
        last_ext.clear();
    }

    // Text for a failed libnl call: the kernel's errno when it answered with one, else libnl's.
    std::string reason(int nlerr) const {
        return last_errno != 0 ? errno_text(last_errno) : nl_geterror(nlerr);
    }
    // The kernel's extended-ack message, if it sent one, as the Error's hint.
    std::string hint() const { return last_ext.empty() ? std::string() : "kernel: " + last_ext; }

    // Whether a failed call means "no such object" (kernel errno among `errs`, or libnl's code).
    bool is(int nlerr, std::initializer_list<int> errs, std::initializer_list<int> nles) const {
        if (last_errno != 0) return std::find(errs.begin(), errs.end(), last_errno) != errs.end();
        return std::find(nles.begin(), nles.end(), -nlerr) != nles.end() ||
               std::find(nles.begin(), nles.end(), nlerr) != nles.end();
    }

    rtnl_detail::LinkPtr get_link(const std::string& what, const std::string& netns, const std::string& name);
    rtnl_detail::LinkPtr require_link(const std::string& what, const std::string& netns, const std::string& name);
    rtnl_detail::CachePtr link_cache(const std::string& netns, int family);
    void change_link(const std::string& what, const std::string& netns, rtnl_link* orig, rtnl_link* chg);
    rtnl_detail::RtAddrPtr build_addr(const std::string& what, const std::string& netns, const std::string& link,
                                      const std::string& cidr, bool& link_absent);
    rtnl_detail::RoutePtr build_route(const std::string& what, const std::string& netns, const RouteInfo& r,
                                      bool& dev_absent);

    static int on_error(sockaddr_nl*, nlmsgerr* e, void* arg) {
        auto* self = static_cast<Impl*>(arg);
        // libnl hands us nlmsg_data(hdr); step back to the header for the extended-ack TLVs.
        const auto* hdr = reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const char*>(e) - NLMSG_HDRLEN);
        NetlinkAck ack = read_ack(hdr);
        self->last_errno = ack.error;
        self->last_ext = std::move(ack.message);
        return NL_STOP;
    }
};

}  // namespace netlab::net

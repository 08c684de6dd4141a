// Addresses and routes through libnl-route-3 (3.7); the socket and its error capture are in
// rtnl_impl.h.
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>

#include <cerrno>
#include <optional>

#include "base/error.h"
#include "base/ipv4.h"
#include "netutil/rtnl.h"
#include "netutil/rtnl_impl.h"

namespace netlab::net {

using namespace rtnl_detail;

namespace {

std::string format_ipv4(nl_addr* a) {
    if (!a || nl_addr_get_family(a) != AF_INET || nl_addr_get_len(a) != 4) return {};
    char buf[INET_ADDRSTRLEN] = {};
    if (!inet_ntop(AF_INET, nl_addr_get_binary_addr(a), buf, sizeof buf)) return {};
    return buf;
}

// A route's destination: "default" (0.0.0.0/0) or a.b.c.d[/len].
std::optional<Ipv4Cidr> parse_destination(const std::string& s) {
    if (s == "default") return Ipv4Cidr{Ipv4{0}, 0};
    return parse_ipv4_cidr(s);
}

NlAddrPtr make_nladdr(const Ipv4Cidr& p) {
    const uint32_t be = p.addr.be();
    NlAddrPtr a(nl_addr_build(AF_INET, &be, sizeof be));
    if (!a) throw Error("allocate address: out of memory");
    nl_addr_set_prefixlen(a.get(), p.prefix);
    return a;
}

std::string route_text(const RouteInfo& r) {
    std::string s = r.dst.empty() ? std::string("?") : r.dst;
    if (!r.gateway.empty()) s += " via " + r.gateway;
    if (!r.dev.empty()) s += " dev " + r.dev;
    return s;
}

}  // namespace

// ---- addresses -------------------------------------------------------------------------------

std::vector<AddrInfo> Rtnl::addresses() {
    CachePtr links = impl_->link_cache(netns_, AF_UNSPEC);
    nl_cache* c = nullptr;
    impl_->clear();
    int err = rtnl_addr_alloc_cache(impl_->sk.get(), &c);
    if (err < 0) fail("list addresses", netns_, impl_->reason(err), impl_->hint());
    CachePtr cache(c);
    std::vector<AddrInfo> out;
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
        auto* a = reinterpret_cast<rtnl_addr*>(o);
        if (rtnl_addr_get_family(a) != AF_INET) continue;
        std::string ip = format_ipv4(rtnl_addr_get_local(a));
        if (ip.empty()) continue;
        AddrInfo ai;
        char name[IFNAMSIZ + 1] = {};
        if (rtnl_link_i2name(links.get(), rtnl_addr_get_ifindex(a), name, sizeof name)) ai.link = name;
        ai.cidr = ip + "/" + std::to_string(rtnl_addr_get_prefixlen(a));
        out.push_back(std::move(ai));
    }
    return out;
}

RtAddrPtr Rtnl::Impl::build_addr(const std::string& what, const std::string& netns, const std::string& link,
                                 const std::string& cidr, bool& link_absent) {
    auto p = parse_ipv4_cidr(cidr);
    if (!p) fail(what, netns, "invalid IPv4 address '" + cidr + "' (expected a.b.c.d/len)");
    LinkPtr l = get_link(what, netns, link);
    link_absent = !l;
    if (!l) return nullptr;
    RtAddrPtr a(rtnl_addr_alloc());
    if (!a) fail(what, netns, "out of memory");
    NlAddrPtr local = make_nladdr(*p);
    rtnl_addr_set_ifindex(a.get(), rtnl_link_get_ifindex(l.get()));
    int err = rtnl_addr_set_local(a.get(), local.get());  // takes its own reference
    if (err < 0) fail(what, netns, nl_geterror(err));
    return a;
}

void Rtnl::add_address(const std::string& link, const std::string& cidr) {
    const std::string what = "add address " + cidr + " to " + link;
    bool absent = false;
    RtAddrPtr a = impl_->build_addr(what, netns_, link, cidr, absent);
    if (absent) fail(what, netns_, "no such device '" + link + "'");
    impl_->clear();
    int err = rtnl_addr_add(impl_->sk.get(), a.get(), NLM_F_EXCL);
    if (err < 0) fail(what, netns_, impl_->reason(err), impl_->hint());
}

void Rtnl::delete_address(const std::string& link, const std::string& cidr) {
    const std::string what = "delete address " + cidr + " from " + link;
    bool absent = false;
    RtAddrPtr a = impl_->build_addr(what, netns_, link, cidr, absent);
    if (absent) return;  // the link is gone, and its addresses with it
    impl_->clear();
    int err = rtnl_addr_delete(impl_->sk.get(), a.get(), 0);
    if (err < 0 && !impl_->is(err, {EADDRNOTAVAIL, ENOENT, ESRCH}, {NLE_NOADDR, NLE_OBJ_NOTFOUND}))
        fail(what, netns_, impl_->reason(err), impl_->hint());
}

// ---- routes ----------------------------------------------------------------------------------

std::vector<RouteInfo> Rtnl::routes() {
    CachePtr links = impl_->link_cache(netns_, AF_UNSPEC);
    nl_cache* c = nullptr;
    impl_->clear();
    int err = rtnl_route_alloc_cache(impl_->sk.get(), AF_INET, 0, &c);
    if (err < 0) fail("list routes", netns_, impl_->reason(err), impl_->hint());
    CachePtr cache(c);
    std::vector<RouteInfo> out;
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
        auto* r = reinterpret_cast<rtnl_route*>(o);
        if (rtnl_route_get_family(r) != AF_INET || rtnl_route_get_table(r) != RT_TABLE_MAIN ||
            rtnl_route_get_type(r) != RTN_UNICAST)
            continue;
        nl_addr* dst = rtnl_route_get_dst(r);
        std::string dst_text;
        if (!dst || nl_addr_get_prefixlen(dst) == 0) {
            dst_text = "default";
        } else {
            std::string ip = nl_addr_get_len(dst) == 0 ? std::string("0.0.0.0") : format_ipv4(dst);
            // Like `ip route`: a host route is shown without "/32".
            unsigned len = nl_addr_get_prefixlen(dst);
            dst_text = len == 32 ? ip : ip + "/" + std::to_string(len);
        }
        int n = rtnl_route_get_nnexthops(r);
        for (int i = 0; i < std::max(n, 1); ++i) {
            RouteInfo ri;
            ri.dst = dst_text;
            if (rtnl_nexthop* nh = n > 0 ? rtnl_route_nexthop_n(r, i) : nullptr) {
                ri.gateway = format_ipv4(rtnl_route_nh_get_gateway(nh));
                char name[IFNAMSIZ + 1] = {};
                if (rtnl_link_i2name(links.get(), rtnl_route_nh_get_ifindex(nh), name, sizeof name))
                    ri.dev = name;
            }
            out.push_back(std::move(ri));
        }
    }
    return out;
}

// A route object for r; nullptr when r names a device that does not exist (dev_absent).
RoutePtr Rtnl::Impl::build_route(const std::string& what, const std::string& netns, const RouteInfo& r,
                                 bool& dev_absent) {
    dev_absent = false;
    auto dst = parse_destination(r.dst);
    if (!dst) fail(what, netns, "invalid destination '" + r.dst + "' (expected 'default' or a.b.c.d/len)");
    std::optional<Ipv4Cidr> gw;
    if (!r.gateway.empty()) {
        if (auto a = parse_ipv4(r.gateway)) gw = Ipv4Cidr{*a, 32};
        if (!gw) fail(what, netns, "invalid gateway '" + r.gateway + "' (expected a.b.c.d)");
    }
    if (!gw && r.dev.empty()) fail(what, netns, "a route needs a gateway or a device");
    int ifindex = 0;
    if (!r.dev.empty()) {
        LinkPtr l = get_link(what, netns, r.dev);
        if (!l) {
            dev_absent = true;
            return nullptr;
        }
        ifindex = rtnl_link_get_ifindex(l.get());
    }
    RoutePtr route(rtnl_route_alloc());
    if (!route) fail(what, netns, "out of memory");
    rtnl_route_set_family(route.get(), AF_INET);
    rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
    rtnl_route_set_type(route.get(), RTN_UNICAST);
    NlAddrPtr d = make_nladdr(*dst);
    int err = rtnl_route_set_dst(route.get(), d.get());  // takes its own reference
    if (err < 0) fail(what, netns, nl_geterror(err));
    NhPtr nh(rtnl_route_nh_alloc());
    if (!nh) fail(what, netns, "out of memory");
    if (gw) {
        NlAddrPtr g = make_nladdr(*gw);
        rtnl_route_nh_set_gateway(nh.get(), g.get());  // takes its own reference
    }
    if (ifindex) rtnl_route_nh_set_ifindex(nh.get(), ifindex);
    rtnl_route_add_nexthop(route.get(), nh.release());  // the route owns it now
    return route;
}

void Rtnl::add_route(const RouteInfo& r) {
    const std::string what = "add route " + route_text(r);
    bool absent = false;
    RoutePtr route = impl_->build_route(what, netns_, r, absent);
    if (absent) fail(what, netns_, "no such device '" + r.dev + "'");
    // `proto boot`, what a plain `ip route add` makes, so a lab built by hand is the same.
    rtnl_route_set_protocol(route.get(), RTPROT_BOOT);
    impl_->clear();
    int err = rtnl_route_add(impl_->sk.get(), route.get(), NLM_F_EXCL);
    if (err < 0) fail(what, netns_, impl_->reason(err), impl_->hint());
}

void Rtnl::delete_route(const RouteInfo& r) {
    const std::string what = "delete route " + route_text(r);
    bool absent = false;
    RoutePtr route = impl_->build_route(what, netns_, r, absent);
    if (absent) return;  // its device is gone, and the route with it
    // Match like `ip route del`: any protocol (kernel or static) and any scope.
    rtnl_route_set_protocol(route.get(), RTPROT_UNSPEC);
    rtnl_route_set_scope(route.get(), RT_SCOPE_NOWHERE);
    impl_->clear();
    int err = rtnl_route_delete(impl_->sk.get(), route.get(), 0);
    if (err < 0 && !impl_->is(err, {ESRCH, ENOENT}, {NLE_OBJ_NOTFOUND}))
        fail(what, netns_, impl_->reason(err), impl_->hint());
}

}  // namespace netlab::net

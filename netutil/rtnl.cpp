// Links, addresses and routes through libnl-route-3 (3.7). Recipes and traps: shared notes
// "netlink-facts" section 3. Every libnl object lives in a unique_ptr with its put/free function;
// errors become netlab::Error here, with the kernel's errno text (and its extended-ack message when
// it sends one) rather than libnl's generic translation.
#include "netutil/rtnl.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_bridge.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <map>

#include "base/error.h"
#include "base/ipv4.h"
#include "netutil/netns.h"
#include "base/unique_fd.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace netlab::net {

namespace {

// ---- RAII owners of libnl objects ------------------------------------------------------------

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

// ---- small helpers ---------------------------------------------------------------------------

std::string format_mac(nl_addr* a) {
    if (!a || nl_addr_get_len(a) == 0) return {};
    const auto* b = static_cast<const unsigned char*>(nl_addr_get_binary_addr(a));
    std::string out;
    char hex[4];
    for (unsigned i = 0; i < nl_addr_get_len(a); ++i) {
        std::snprintf(hex, sizeof hex, i ? ":%02x" : "%02x", b[i]);
        out += hex;
    }
    return out;
}

std::string format_ipv4(nl_addr* a) {
    if (!a || nl_addr_get_family(a) != AF_INET || nl_addr_get_len(a) != 4) return {};
    uint32_t be;
    std::memcpy(&be, nl_addr_get_binary_addr(a), sizeof be);
    return Ipv4{ntohl(be)}.str();
}

// "a.b.c.d" or "a.b.c.d/len" (len 0..32); "default" only when allow_default.
std::optional<Ipv4Cidr> parse_address(const std::string& s, bool allow_prefix, bool allow_default) {
    if (allow_default && s == "default") return Ipv4Cidr{Ipv4{0}, 0};
    if (!allow_prefix && s.find('/') != std::string::npos) return std::nullopt;
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

// ---- the socket and its error capture --------------------------------------------------------

struct Rtnl::Impl {
    SockPtr sk;
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

    LinkPtr get_link(const std::string& what, const std::string& netns, const std::string& name);
    LinkPtr require_link(const std::string& what, const std::string& netns, const std::string& name);
    CachePtr link_cache(const std::string& netns, int family);
    void change_link(const std::string& what, const std::string& netns, rtnl_link* orig, rtnl_link* chg);
    RtAddrPtr build_addr(const std::string& what, const std::string& netns, const std::string& link,
                         const std::string& cidr, bool& link_absent);
    RoutePtr build_route(const std::string& what, const std::string& netns, const RouteInfo& r,
                         bool& dev_absent);

    static int on_error(sockaddr_nl*, nlmsgerr* e, void* arg) {
        auto* self = static_cast<Impl*>(arg);
        self->last_errno = -e->error;
        self->last_ext.clear();
        // libnl hands us nlmsg_data(hdr); step back to the header for the extended-ack TLVs.
        const auto* hdr = reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const char*>(e) - NLMSG_HDRLEN);
        if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS)) return NL_STOP;
        size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nlmsgerr));
        if (!(hdr->nlmsg_flags & NLM_F_CAPPED)) {
            if (e->msg.nlmsg_len < NLMSG_HDRLEN) return NL_STOP;
            off += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
        }
        const auto* base = reinterpret_cast<const char*>(hdr);
        while (off + NLA_HDRLEN <= hdr->nlmsg_len) {
            const auto* nla = reinterpret_cast<const nlattr*>(base + off);
            if (nla->nla_len < NLA_HDRLEN || off + nla->nla_len > hdr->nlmsg_len) break;
            if ((nla->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
                const char* s = base + off + NLA_HDRLEN;
                size_t n = strnlen(s, nla->nla_len - NLA_HDRLEN);
                self->last_ext.assign(s, n);
            }
            off += NLA_ALIGN(nla->nla_len);
        }
        return NL_STOP;
    }
};

Rtnl::Rtnl(const std::string& netns) : impl_(std::make_unique<Impl>()), netns_(netns) {
    const std::string what = "open netlink socket in netns " + netns;
    NetnsGuard guard(netns);  // the socket belongs to the namespace of the thread that creates it
    impl_->sk.reset(nl_socket_alloc());
    if (!impl_->sk) throw Error(what + ": out of memory");
    int err = nl_connect(impl_->sk.get(), NETLINK_ROUTE);
    if (err < 0) throw Error(what + ": " + nl_geterror(err));
    int fd = nl_socket_get_fd(impl_->sk.get());
    int one = 1;
    // Best effort: the kernel's own words on errors, and errors without the echoed request.
    ::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    ::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    err = nl_socket_modify_err_cb(impl_->sk.get(), NL_CB_CUSTOM, &Impl::on_error, impl_.get());
    if (err < 0) throw Error(what + ": " + nl_geterror(err));
}

Rtnl::~Rtnl() = default;
Rtnl::Rtnl(Rtnl&&) noexcept = default;
Rtnl& Rtnl::operator=(Rtnl&&) noexcept = default;

// ---- helpers -------------------------------------------------------------------------------

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& netns, const std::string& reason,
                       const std::string& hint = {}) {
    throw Error(what + " in netns " + netns + ": " + reason, hint);
}

void check_ifname(const std::string& what, const std::string& netns, const std::string& name) {
    if (name.empty()) fail(what, netns, "empty interface name");
    if (name.size() >= IFNAMSIZ)
        fail(what, netns,
             "interface name '" + name + "' is too long (at most " + std::to_string(IFNAMSIZ - 1) +
                 " characters)");
}

}  // namespace

// Looks a link up by name; nullptr when it does not exist.
LinkPtr Rtnl::Impl::get_link(const std::string& what, const std::string& netns, const std::string& name) {
    check_ifname(what, netns, name);
    rtnl_link* l = nullptr;
    clear();
    int err = rtnl_link_get_kernel(sk.get(), 0, name.c_str(), &l);
    if (err < 0) {
        if (is(err, {ENODEV}, {NLE_NODEV, NLE_OBJ_NOTFOUND})) return nullptr;
        fail(what, netns, reason(err), hint());
    }
    return LinkPtr(l);
}

LinkPtr Rtnl::Impl::require_link(const std::string& what, const std::string& netns, const std::string& name) {
    LinkPtr l = get_link(what, netns, name);
    if (!l) fail(what, netns, "no such device '" + name + "'");
    return l;
}

CachePtr Rtnl::Impl::link_cache(const std::string& netns, int family) {
    nl_cache* c = nullptr;
    clear();
    int err = rtnl_link_alloc_cache(sk.get(), family, &c);
    if (err < 0) fail("list links", netns, reason(err), hint());
    return CachePtr(c);
}

void Rtnl::Impl::change_link(const std::string& what, const std::string& netns, rtnl_link* orig,
                             rtnl_link* chg) {
    clear();
    int err = rtnl_link_change(sk.get(), orig, chg, 0);
    if (err < 0) fail(what, netns, reason(err), hint());
}

// ---- links -----------------------------------------------------------------------------------

std::vector<LinkInfo> Rtnl::links() {
    CachePtr cache = impl_->link_cache(netns_, AF_UNSPEC);
    std::vector<LinkInfo> out;
    std::map<int, std::string> names;
    bool any_port = false;
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
        auto* l = reinterpret_cast<rtnl_link*>(o);
        LinkInfo li;
        li.ifindex = rtnl_link_get_ifindex(l);
        if (const char* n = rtnl_link_get_name(l)) li.name = n;
        if (const char* k = rtnl_link_get_type(l)) li.kind = k;
        unsigned flags = rtnl_link_get_flags(l);
        li.up = flags & IFF_UP;
        li.promisc = flags & IFF_PROMISC;
        li.master = rtnl_link_get_master(l);
        li.link = rtnl_link_get_link(l);
        if (const char* a = rtnl_link_get_ifalias(l)) li.alias = a;
        li.mac = format_mac(rtnl_link_get_addr(l));
        names[li.ifindex] = li.name;
        any_port = any_port || li.master != 0;
        out.push_back(std::move(li));
    }
    if (any_port) {
        // Bridge port flags only come with AF_BRIDGE dumps; only bridge-typed objects may be asked.
        CachePtr bc = impl_->link_cache(netns_, AF_BRIDGE);
        for (LinkInfo& li : out) {
            if (li.master == 0) continue;
            LinkPtr bl(rtnl_link_get(bc.get(), li.ifindex));
            if (!bl || !rtnl_link_is_bridge(bl.get())) continue;
            int bf = rtnl_link_bridge_get_flags(bl.get());
            li.hairpin = bf >= 0 && (bf & RTNL_BRIDGE_HAIRPIN_MODE);
        }
    }
    for (LinkInfo& li : out) {
        if (li.master == 0) continue;
        auto it = names.find(li.master);
        if (it != names.end()) li.master_name = it->second;
    }
    std::sort(out.begin(), out.end(),
              [](const LinkInfo& a, const LinkInfo& b) { return a.ifindex < b.ifindex; });
    return out;
}

std::optional<LinkInfo> Rtnl::link(const std::string& name) {
    for (LinkInfo& li : links())
        if (li.name == name) return std::move(li);
    return std::nullopt;
}

void Rtnl::add_bridge(const std::string& name) {
    const std::string what = "add bridge " + name;
    check_ifname(what, netns_, name);
    LinkPtr l(rtnl_link_bridge_alloc());
    if (!l) fail(what, netns_, "out of memory");
    rtnl_link_set_name(l.get(), name.c_str());
    impl_->clear();
    int err = rtnl_link_add(impl_->sk.get(), l.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err < 0) fail(what, netns_, impl_->reason(err), impl_->hint());
}

void Rtnl::add_veth(const std::string& name, const std::string& peer, const std::string& peer_netns) {
    const std::string pns = peer_netns.empty() ? netns_ : peer_netns;
    const std::string what = "add veth " + name + " (peer " + peer + " in netns " + pns + ")";
    check_ifname(what, netns_, name);
    check_ifname(what, netns_, peer);
    UniqueFd peer_fd;
    if (pns != netns_) peer_fd = netns_open(pns);  // "open netns X: ..." names a missing one

    LinkPtr v(rtnl_link_veth_alloc());  // putting v also frees the peer it owns
    if (!v) fail(what, netns_, "out of memory");
    rtnl_link_set_name(v.get(), name.c_str());
    LinkPtr p(rtnl_link_veth_get_peer(v.get()));  // an extra reference, dropped by p
    if (!p) fail(what, netns_, "no peer object");
    rtnl_link_set_name(p.get(), peer.c_str());
    // An ns fd, never a pid: a pid names the main thread's namespace (facts section 3).
    if (peer_fd) rtnl_link_set_ns_fd(p.get(), peer_fd.get());
    impl_->clear();
    int err = rtnl_link_add(impl_->sk.get(), v.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err < 0) fail(what, netns_, impl_->reason(err), impl_->hint());
}

void Rtnl::delete_link(const std::string& name) {
    const std::string what = "delete link " + name;
    check_ifname(what, netns_, name);
    LinkPtr l(rtnl_link_alloc());
    if (!l) fail(what, netns_, "out of memory");
    rtnl_link_set_name(l.get(), name.c_str());
    impl_->clear();
    int err = rtnl_link_delete(impl_->sk.get(), l.get());
    if (err < 0 && !impl_->is(err, {ENODEV}, {NLE_NODEV, NLE_OBJ_NOTFOUND}))
        fail(what, netns_, impl_->reason(err), impl_->hint());
}

void Rtnl::set_up(const std::string& name, bool up) {
    const std::string what = "set link " + name + (up ? " up" : " down");
    LinkPtr orig = impl_->require_link(what, netns_, name);
    LinkPtr chg(rtnl_link_alloc());
    if (!chg) fail(what, netns_, "out of memory");
    if (up)
        rtnl_link_set_flags(chg.get(), IFF_UP);
    else
        rtnl_link_unset_flags(chg.get(), IFF_UP);
    impl_->change_link(what, netns_, orig.get(), chg.get());
}

void Rtnl::set_promisc(const std::string& name, bool on) {
    const std::string what = "set link " + name + (on ? " promisc on" : " promisc off");
    LinkPtr orig = impl_->require_link(what, netns_, name);
    LinkPtr chg(rtnl_link_alloc());
    if (!chg) fail(what, netns_, "out of memory");
    if (on)
        rtnl_link_set_flags(chg.get(), IFF_PROMISC);
    else
        rtnl_link_unset_flags(chg.get(), IFF_PROMISC);
    impl_->change_link(what, netns_, orig.get(), chg.get());
}

void Rtnl::set_master(const std::string& name, const std::string& master) {
    const std::string what = "set link " + name + (master.empty() ? " nomaster" : " master " + master);
    LinkPtr orig = impl_->require_link(what, netns_, name);
    int master_idx = 0;
    if (!master.empty()) {
        LinkPtr m = impl_->get_link(what, netns_, master);
        if (!m) fail(what, netns_, "no such device '" + master + "'");
        master_idx = rtnl_link_get_ifindex(m.get());
    }
    LinkPtr chg(rtnl_link_alloc());
    if (!chg) fail(what, netns_, "out of memory");
    rtnl_link_set_master(chg.get(), master_idx);
    impl_->change_link(what, netns_, orig.get(), chg.get());
}

void Rtnl::set_hairpin(const std::string& port, bool on) {
    const std::string what = "set link " + port + (on ? " hairpin on" : " hairpin off");
    LinkPtr cur = impl_->require_link(what, netns_, port);
    if (rtnl_link_get_master(cur.get()) == 0) fail(what, netns_, "'" + port + "' is not a bridge port");
    // Both objects AF_BRIDGE from the start: libnl aborts on a family change or on bridge flags of
    // a non-bridge object (facts section 3).
    LinkPtr orig(rtnl_link_alloc());
    LinkPtr chg(rtnl_link_alloc());
    if (!orig || !chg) fail(what, netns_, "out of memory");
    rtnl_link_set_ifindex(orig.get(), rtnl_link_get_ifindex(cur.get()));
    rtnl_link_set_family(orig.get(), AF_BRIDGE);
    rtnl_link_set_family(chg.get(), AF_BRIDGE);
    if (!rtnl_link_is_bridge(chg.get())) fail(what, netns_, "libnl has no AF_BRIDGE support");
    int err = on ? rtnl_link_bridge_set_flags(chg.get(), RTNL_BRIDGE_HAIRPIN_MODE)
                 : rtnl_link_bridge_unset_flags(chg.get(), RTNL_BRIDGE_HAIRPIN_MODE);
    if (err < 0) fail(what, netns_, nl_geterror(err));
    impl_->change_link(what, netns_, orig.get(), chg.get());
}

void Rtnl::set_alias(const std::string& name, const std::string& alias) {
    const std::string what = "set link " + name + " alias '" + alias + "'";
    if (alias.size() >= 256) fail(what, netns_, "alias too long (at most 255 characters)");
    LinkPtr orig = impl_->require_link(what, netns_, name);
    LinkPtr chg(rtnl_link_alloc());
    if (!chg) fail(what, netns_, "out of memory");
    rtnl_link_set_ifalias(chg.get(), alias.c_str());
    impl_->change_link(what, netns_, orig.get(), chg.get());
}

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
    auto p = parse_address(cidr, true, false);
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
    auto dst = parse_address(r.dst, true, true);
    if (!dst) fail(what, netns, "invalid destination '" + r.dst + "' (expected 'default' or a.b.c.d/len)");
    std::optional<Ipv4Cidr> gw;
    if (!r.gateway.empty()) {
        gw = parse_address(r.gateway, false, false);
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

// Links through libnl-route-3 (3.7), and the socket every Rtnl call uses (rtnl_impl.h); addresses
// and routes are in rtnl_addr_route.cpp. Traps of libnl 3.7 this avoids: Debian's build aborts the
// process on a change whose family differs from the original's (hairpin needs both AF_BRIDGE); a veth
// peer is moved by namespace fd, never by pid (a pid means the main thread's namespace); bridge flags
// read back hold more bits than hairpin, so only that bit is tested.
// Every libnl object lives in a unique_ptr with its put/free function; errors become netlab::Error
// here, with the kernel's errno text (and its extended-ack message when it sends one) rather than
// libnl's generic translation.
#include "netutil/rtnl.h"

#include <linux/if.h>
#include <linux/if_bridge.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <map>

#include "base/error.h"
#include "base/unique_fd.h"
#include "netutil/netns.h"
#include "netutil/rtnl_impl.h"

namespace netlab::net {

using namespace rtnl_detail;

namespace {

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

}  // namespace

Rtnl::Rtnl(const std::string& netns) : impl_(std::make_unique<Impl>()), netns_(netns) {
    const std::string what = "open netlink socket in netns " + netns;
    NetnsGuard guard(netns);  // the socket belongs to the namespace of the thread that creates it
    impl_->sk.reset(nl_socket_alloc());
    if (!impl_->sk) throw Error(what + ": out of memory");
    int err = nl_connect(impl_->sk.get(), NETLINK_ROUTE);
    if (err < 0) throw Error(what + ": " + nl_geterror(err));
    request_extended_acks(nl_socket_get_fd(impl_->sk.get()));
    err = nl_socket_modify_err_cb(impl_->sk.get(), NL_CB_CUSTOM, &Impl::on_error, impl_.get());
    if (err < 0) throw Error(what + ": " + nl_geterror(err));
}

Rtnl::~Rtnl() = default;
Rtnl::Rtnl(Rtnl&&) noexcept = default;
Rtnl& Rtnl::operator=(Rtnl&&) noexcept = default;

// ---- helpers -------------------------------------------------------------------------------

namespace {

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

}  // namespace netlab::net

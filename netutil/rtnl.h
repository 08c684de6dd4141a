// Links, addresses and routes of one network namespace, through libnl-route-3.
// An Rtnl is a NETLINK_ROUTE socket opened inside its namespace; it stays bound to it, so it can be
// used from anywhere without a NetnsGuard. Every method throws netlab::Error with a message like
// "add address 10.0.0.1/24 to bridge_home in netns netlab: File exists".
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace netlab::net {

struct LinkInfo {
    int ifindex = 0;
    std::string name;
    std::string kind;    // "bridge", "veth", "" (loopback or unknown)
    bool up = false;     // IFF_UP (administrative)
    bool promisc = false;
    int master = 0;      // ifindex of the bridge it is enslaved to, 0 if none
    std::string master_name;
    bool hairpin = false;  // bridge port hairpin mode (only meaningful when master != 0)
    std::string alias;     // IFLA_IFALIAS
    std::string mac;       // "aa:bb:cc:dd:ee:ff"
    int link = 0;          // IFLA_LINK: for a veth, its peer's ifindex (in the peer's namespace)
};

struct AddrInfo {
    std::string link;  // device name
    std::string cidr;  // "10.0.0.1/24" (IPv4 only)
};

struct RouteInfo {
    std::string dst;      // "default" or "10.0.0.0/24"
    std::string gateway;  // "" if none, else "10.0.0.1"
    std::string dev;      // device name
    bool operator==(const RouteInfo&) const = default;
};

class Rtnl {
public:
    explicit Rtnl(const std::string& netns);
    ~Rtnl();
    Rtnl(Rtnl&&) noexcept;
    Rtnl& operator=(Rtnl&&) noexcept;
    Rtnl(const Rtnl&) = delete;
    Rtnl& operator=(const Rtnl&) = delete;

    const std::string& netns() const { return netns_; }

    std::optional<LinkInfo> link(const std::string& name);
    std::vector<LinkInfo> links();

    void add_bridge(const std::string& name);
    // A veth pair: `name` here, `peer` created directly inside `peer_netns` (may be this netns).
    void add_veth(const std::string& name, const std::string& peer, const std::string& peer_netns);
    void delete_link(const std::string& name);  // absent is success
    void set_up(const std::string& name, bool up);
    void set_promisc(const std::string& name, bool on);
    void set_master(const std::string& name, const std::string& master);  // "" = nomaster
    void set_hairpin(const std::string& port, bool on);                   // port of a bridge
    void set_alias(const std::string& name, const std::string& alias);

    std::vector<AddrInfo> addresses();  // IPv4
    void add_address(const std::string& link, const std::string& cidr);
    void delete_address(const std::string& link, const std::string& cidr);  // absent is success

    std::vector<RouteInfo> routes();  // IPv4 main table, unicast routes
    void add_route(const RouteInfo& r);
    void delete_route(const RouteInfo& r);  // absent is success

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string netns_;
};

}  // namespace netlab::net

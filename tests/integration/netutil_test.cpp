// netutil against the real kernel, with iproute2 (ip, bridge) as the independent witness. Everything
// happens in scratch namespaces deleted by RAII; every test checks the root namespace is unchanged.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "netutil/child_fds.h"
#include "netutil/netns.h"
#include "netutil/pidfd.h"
#include "netutil/pipe.h"
#include "netutil/rtnl.h"
#include "netutil/sysctl.h"
#include "netutil/tcp_listen.h"
#include "tests/integration/support.h"

using netlab::Error;
using namespace netlab::net;
using netlab::UniqueFd;
using namespace netlab::test;

namespace {

bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}

// The message of the netlab::Error thrown by fn ("" when it throws nothing; other exceptions propagate).
template <class F>
std::string error_of(F&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

std::string scratch_name(const std::string& tag) { return "nlt-" + std::to_string(::getpid()) + "-" + tag; }

// A namespace made by netns_create under test; removed with the real `ip netns del` whatever happens.
struct OwnedNetnsName {
    std::string name;
    explicit OwnedNetnsName(const std::string& tag) : name(scratch_name(tag)) {
        sh("ip netns del " + name + " 2>/dev/null; true");
    }
    ~OwnedNetnsName() { sh("ip netns del " + name + " 2>/dev/null; true"); }
};

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

std::string read_file(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

const LinkInfo* find_link(const std::vector<LinkInfo>& ls, const std::string& name) {
    for (const auto& l : ls)
        if (l.name == name) return &l;
    return nullptr;
}

bool has_addr(const std::vector<AddrInfo>& as, const std::string& link, const std::string& cidr) {
    return std::any_of(as.begin(), as.end(),
                       [&](const AddrInfo& a) { return a.link == link && a.cidr == cidr; });
}

bool has_route(const std::vector<RouteInfo>& rs, const RouteInfo& r) {
    return std::find(rs.begin(), rs.end(), r) != rs.end();
}

// /etc/netns/NAME/<file> for the exec test, removed afterwards (and /etc/netns if we made it).
struct EtcNetnsFile {
    std::string dir, path;
    bool made_root = false;
    EtcNetnsFile(const std::string& ns, const std::string& file, const std::string& content) {
        made_root = ::mkdir("/etc/netns", 0755) == 0;
        dir = "/etc/netns/" + ns;
        ::mkdir(dir.c_str(), 0755);
        path = dir + "/" + file;
        std::ofstream(path) << content;
    }
    ~EtcNetnsFile() {
        ::unlink(path.c_str());
        ::rmdir(dir.c_str());
        if (made_root) ::rmdir("/etc/netns");
    }
};

}  // namespace

TEST_CASE("netns: create, list, inode and delete, seen by ip netns") {
    const std::string root = root_fingerprint();
    const unsigned long my_ns = current_netns_inode();
    OwnedNetnsName ns("own");

    CHECK_FALSE(netns_exists(ns.name));
    CHECK(netns_inode(ns.name) == 0);

    netns_create(ns.name);
    CHECK(current_netns_inode() == my_ns);  // the caller's thread did not move
    CHECK(netns_exists(ns.name));
    auto listed = lines(sh("ip netns list").out);
    CHECK(std::any_of(listed.begin(), listed.end(),
                      [&](const std::string& l) { return l.rfind(ns.name, 0) == 0; }));
    auto ours = netns_list();
    CHECK(std::find(ours.begin(), ours.end(), ns.name) != ours.end());

    // A new namespace, not the caller's (a /proc/self bind from a helper thread would be root's).
    const unsigned long ino = netns_inode(ns.name);
    CHECK(ino != 0);
    CHECK(ino != my_ns);
    auto r = sh("ip netns exec " + ns.name + " readlink /proc/self/ns/net");
    CHECK(r.rc == 0);
    CHECK(trim(r.out) == "net:[" + std::to_string(ino) + "]");
    auto links = sh("ip -n " + ns.name + " -o link show");
    CHECK(links.rc == 0);
    CHECK(lines(links.out).size() == 1);  // only lo
    CHECK(contains(links.out, ": lo:"));

    std::string err = error_of([&] { netns_create(ns.name); });
    CHECK(err == "create netns " + ns.name + ": File exists");

    netns_delete(ns.name);
    CHECK_FALSE(netns_exists(ns.name));
    CHECK_FALSE(contains(sh("ip netns list").out, ns.name));
    CHECK(netns_inode(ns.name) == 0);
    CHECK_NOTHROW(netns_delete(ns.name));  // already gone is success

    CHECK(root_fingerprint() == root);
}

TEST_CASE("netns: create from a thread that is inside another namespace") {
    const std::string root = root_fingerprint();
    ScratchNetns outer("outer");
    OwnedNetnsName ns("fromthread");
    unsigned long thread_before = 0, thread_after = 0;
    std::string err;
    std::thread t([&] {
        try {
            NetnsGuard g(outer.name());
            thread_before = current_netns_inode();
            netns_create(ns.name);
            thread_after = current_netns_inode();
        } catch (const Error& e) {
            err = e.what();
        }
    });
    t.join();
    REQUIRE(err.empty());
    CHECK(thread_before == netns_inode(outer.name()));
    CHECK(thread_after == thread_before);
    const unsigned long ino = netns_inode(ns.name);
    CHECK(ino != 0);
    CHECK(ino != netns_inode(outer.name()));
    CHECK(ino != current_netns_inode());
    CHECK(trim(sh("ip netns exec " + ns.name + " readlink /proc/self/ns/net").out) ==
          "net:[" + std::to_string(ino) + "]");
    netns_delete(ns.name);
    CHECK(root_fingerprint() == root);
}

TEST_CASE("NetnsGuard enters, nests and restores the thread's namespace") {
    const std::string root = root_fingerprint();
    ScratchNetns a("ga"), b("gb");
    const unsigned long home = current_netns_inode();
    const unsigned long ia = netns_inode(a.name()), ib = netns_inode(b.name());
    REQUIRE(ia != 0);
    REQUIRE(ib != 0);
    CHECK(ia != home);
    CHECK(ia != ib);
    {
        NetnsGuard ga(a.name());
        CHECK(current_netns_inode() == ia);
        {
            NetnsGuard gb(b.name());
            CHECK(current_netns_inode() == ib);
        }
        CHECK(current_netns_inode() == ia);
        // A failed guard leaves the thread where it was.
        std::string err = error_of([&] { NetnsGuard bad(scratch_name("nosuch")); });
        CHECK(err == "open netns " + scratch_name("nosuch") + ": No such file or directory");
        CHECK(current_netns_inode() == ia);
    }
    CHECK(current_netns_inode() == home);
    CHECK(contains(error_of([] { netns_open(""); }), "open netns : invalid name"));
    CHECK(contains(error_of([] { netns_open("../x"); }), "invalid name"));
    CHECK(root_fingerprint() == root);
}

TEST_CASE("netns_enter_for_exec: netns, fresh /sys and /etc/netns binds in the child only") {
    const std::string root = root_fingerprint();
    ScratchNetns ns("exec");
    REQUIRE(sh("ip -n " + ns.name() + " link add nltexbr type bridge").rc == 0);
    const std::string resolv_before = read_file("/etc/resolv.conf");
    EtcNetnsFile etc(ns.name(), "resolv.conf", "nameserver 10.9.9.9 # netlab-test\n");

    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::dup2(fds[1], 1);
        ::dup2(fds[1], 2);
        ::close(fds[0]);
        try {
            netns_enter_for_exec(ns.name());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "ERROR %s\n", e.what());
            std::fflush(stderr);
            ::_exit(127);
        }
        ::execl("/bin/sh", "sh", "-c",
                "echo NS=$(readlink /proc/self/ns/net); echo SYS=$(ls /sys/class/net | tr '\\n' ' '); "
                "echo RESOLV=$(cat /etc/resolv.conf)",
                static_cast<char*>(nullptr));
        ::_exit(126);
    }
    ::close(fds[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    INFO("child output: " << out);
    REQUIRE(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    CHECK(contains(out, "NS=net:[" + std::to_string(netns_inode(ns.name())) + "]"));
    CHECK(contains(out, "nltexbr"));     // /sys shows the namespace's devices
    CHECK_FALSE(contains(out, "eth0"));  // ... and not root's
    CHECK(contains(out, "RESOLV=nameserver 10.9.9.9 # netlab-test"));
    // Nothing leaked into our mount namespace.
    CHECK(read_file("/etc/resolv.conf") == resolv_before);
    CHECK_FALSE(contains(sh("ls /sys/class/net").out, "nltexbr"));
    CHECK(root_fingerprint() == root);
}

TEST_CASE("Rtnl: bridge, veth with the peer in another netns, master, up, addresses, default route") {
    const std::string root = root_fingerprint();
    ScratchNetns node("node"), pod("pod");
    const std::string N = node.name(), P = pod.name();

    Rtnl rn(N);
    CHECK(rn.netns() == N);
    rn.add_bridge("nlt_br");
    rn.add_veth("vh1", "eth0", P);
    rn.set_master("vh1", "nlt_br");
    rn.set_up("nlt_br", true);
    rn.set_up("vh1", true);
    rn.add_address("nlt_br", "10.0.0.1/24");

    Rtnl rp(P);
    rp.set_up("eth0", true);
    rp.add_address("eth0", "10.0.0.11/24");
    rp.add_route({"default", "10.0.0.1", ""});
    rp.add_route({"10.200.0.0/16", "", "eth0"});
    rp.add_route({"10.201.0.7", "10.0.0.1", "eth0"});  // a host route, written as ip writes it

    // Witness: ip.
    auto br = sh("ip -n " + N + " -d -o link show nlt_br");
    REQUIRE(br.rc == 0);
    CHECK(contains(br.out, " bridge "));
    CHECK(contains(br.out, ",UP"));
    auto vh = sh("ip -n " + N + " -o link show vh1");
    REQUIRE(vh.rc == 0);
    CHECK(contains(vh.out, "master nlt_br"));
    CHECK(contains(vh.out, ",UP"));
    CHECK(contains(vh.out, "link-netns " + P));  // the peer lives in the pod namespace
    auto pe = sh("ip -n " + P + " -d -o link show eth0");
    REQUIRE(pe.rc == 0);
    CHECK(contains(pe.out, "veth"));
    CHECK(contains(pe.out, "link-netns " + N));
    CHECK(sh("ip -n " + N + " link show eth0").rc != 0);  // not created on the wrong side
    CHECK(contains(sh("ip -n " + N + " -o -4 addr show dev nlt_br").out, "inet 10.0.0.1/24"));
    CHECK(contains(sh("ip -n " + P + " -o -4 addr show dev eth0").out, "inet 10.0.0.11/24"));
    // proto boot, as a plain `ip route add` makes it: ip prints no proto for it.
    CHECK(trim(sh("ip -n " + P + " route show default").out) == "default via 10.0.0.1 dev eth0");
    CHECK(contains(sh("ip -n " + P + " route show 10.200.0.0/16").out,
                   "10.200.0.0/16 dev eth0 scope link"));

    // Our own reading agrees.
    auto ls = rn.links();
    const LinkInfo* b = find_link(ls, "nlt_br");
    const LinkInfo* v = find_link(ls, "vh1");
    REQUIRE(b);
    REQUIRE(v);
    CHECK(b->kind == "bridge");
    CHECK(b->up);
    CHECK(b->master == 0);
    CHECK(v->kind == "veth");
    CHECK(v->up);
    CHECK(v->master == b->ifindex);
    CHECK(v->master_name == "nlt_br");
    CHECK_FALSE(v->hairpin);
    CHECK(contains(vh.out, "link/ether " + v->mac + " "));
    CHECK(v->mac.size() == 17);
    const LinkInfo* lo = find_link(ls, "lo");
    REQUIRE(lo);
    CHECK(lo->kind == "");
    CHECK(find_link(ls, "eth0") == nullptr);
    auto one = rn.link("vh1");
    REQUIRE(one);
    CHECK(one->ifindex == v->ifindex);
    CHECK_FALSE(rn.link("nosuch"));
    CHECK(has_addr(rn.addresses(), "nlt_br", "10.0.0.1/24"));
    CHECK(has_addr(rp.addresses(), "eth0", "10.0.0.11/24"));
    auto rts = rp.routes();
    CHECK(has_route(rts, {"default", "10.0.0.1", "eth0"}));
    CHECK(has_route(rts, {"10.0.0.0/24", "", "eth0"}));  // the kernel's connected route
    CHECK(has_route(rts, {"10.200.0.0/16", "", "eth0"}));
    CHECK(has_route(rts, {"10.201.0.7", "10.0.0.1", "eth0"}));
    CHECK(trim(sh("ip -n " + P + " route show 10.201.0.7").out) == "10.201.0.7 via 10.0.0.1 dev eth0");
    rp.delete_route({"10.201.0.7/32", "10.0.0.1", "eth0"});
    CHECK(trim(sh("ip -n " + P + " route show 10.201.0.7").out).empty());

    // Clear errors.
    CHECK(error_of([&] { rn.add_bridge("nlt_br"); }) == "add bridge nlt_br in netns " + N + ": File exists");
    CHECK(error_of([&] { rn.add_address("nlt_br", "10.0.0.1/24"); }) ==
          "add address 10.0.0.1/24 to nlt_br in netns " + N + ": File exists");
    CHECK(error_of([&] {
              rp.add_route({"default", "10.0.0.1", ""});
          }) == "add route default via 10.0.0.1 in netns " + P + ": File exists");
    CHECK(contains(error_of([&] { rn.add_veth("vh1", "eth9", P); }), "File exists"));
    CHECK(sh("ip -n " + P + " link show eth9").rc != 0);

    // Deletes, each idempotent.
    rp.delete_route({"10.200.0.0/16", "", "eth0"});
    CHECK(trim(sh("ip -n " + P + " route show 10.200.0.0/16").out).empty());
    CHECK_NOTHROW(rp.delete_route({"10.200.0.0/16", "", "eth0"}));
    rp.delete_route({"default", "10.0.0.1", ""});
    CHECK(trim(sh("ip -n " + P + " route show default").out).empty());
    CHECK_NOTHROW(rp.delete_route({"default", "10.0.0.1", ""}));
    CHECK_FALSE(has_route(rp.routes(), {"default", "10.0.0.1", "eth0"}));
    rn.delete_address("nlt_br", "10.0.0.1/24");
    CHECK_FALSE(contains(sh("ip -n " + N + " -o -4 addr show").out, "10.0.0.1/24"));
    CHECK_NOTHROW(rn.delete_address("nlt_br", "10.0.0.1/24"));
    rn.set_master("vh1", "");
    CHECK_FALSE(contains(sh("ip -n " + N + " -o link show vh1").out, "master"));
    rn.delete_link("vh1");
    CHECK(sh("ip -n " + N + " link show vh1").rc != 0);
    CHECK(sh("ip -n " + P + " link show eth0").rc != 0);  // the peer went with it
    CHECK_NOTHROW(rn.delete_link("vh1"));
    CHECK_NOTHROW(rn.delete_address("vh1", "10.0.0.5/24"));  // link gone: address gone
    CHECK_NOTHROW(rp.delete_route({"default", "10.0.0.1", "eth0"}));
    rn.delete_link("nlt_br");
    CHECK(sh("ip -n " + N + " link show nlt_br").rc != 0);
    CHECK_NOTHROW(rn.delete_link("nlt_br"));

    CHECK(root_fingerprint() == root);
}

TEST_CASE("Rtnl: hairpin on/off seen by bridge -d link, nomaster, veth peer in the same netns") {
    const std::string root = root_fingerprint();
    ScratchNetns ns("hp");
    const std::string N = ns.name();
    Rtnl r(N);
    r.add_bridge("nlt_br");
    r.add_veth("vh1", "vp1", N);
    CHECK(sh("ip -n " + N + " link show vp1").rc == 0);
    r.set_master("vh1", "nlt_br");

    auto bridge_link = [&] { return sh("bridge -n " + N + " -d link show dev vh1").out; };
    CHECK(contains(bridge_link(), "hairpin off"));
    r.set_hairpin("vh1", true);
    CHECK(contains(bridge_link(), "hairpin on"));
    CHECK(find_link(r.links(), "vh1")->hairpin);
    r.set_hairpin("vh1", false);
    CHECK(contains(bridge_link(), "hairpin off"));
    CHECK_FALSE(find_link(r.links(), "vh1")->hairpin);
    r.set_hairpin("vh1", true);
    CHECK(contains(bridge_link(), "hairpin on"));

    // Not a port: a clear error, and no libnl abort.
    CHECK(error_of([&] { r.set_hairpin("vp1", true); }) ==
          "set link vp1 hairpin on in netns " + N + ": 'vp1' is not a bridge port");
    CHECK(contains(error_of([&] { r.set_hairpin("nosuch", true); }), "no such device"));
    CHECK(contains(error_of([&] { r.set_master("vh1", "nosuch"); }), "no such device 'nosuch'"));

    r.set_master("vh1", "");
    auto l = r.link("vh1");
    REQUIRE(l);
    CHECK(l->master == 0);
    CHECK(l->master_name.empty());
    CHECK_FALSE(contains(sh("ip -n " + N + " -o link show vh1").out, "master"));
    CHECK(root_fingerprint() == root);
}

TEST_CASE("Rtnl: promisc, up/down and alias") {
    const std::string root = root_fingerprint();
    ScratchNetns ns("pr");
    const std::string N = ns.name();
    Rtnl r(N);
    r.add_bridge("nlt_br");
    auto show = [&] { return sh("ip -n " + N + " -o link show nlt_br").out; };
    CHECK_FALSE(contains(show(), "PROMISC"));
    r.set_promisc("nlt_br", true);
    CHECK(contains(show(), "PROMISC"));
    CHECK(r.link("nlt_br")->promisc);
    r.set_promisc("nlt_br", false);
    CHECK_FALSE(contains(show(), "PROMISC"));
    CHECK_FALSE(r.link("nlt_br")->promisc);

    r.set_up("nlt_br", true);
    CHECK(contains(show(), ",UP"));
    r.set_up("nlt_br", false);
    CHECK_FALSE(contains(show(), ",UP"));
    CHECK_FALSE(r.link("nlt_br")->up);

    r.set_alias("nlt_br", "the node bridge");
    CHECK(contains(show(), "alias the node bridge"));
    CHECK(r.link("nlt_br")->alias == "the node bridge");
    CHECK(root_fingerprint() == root);
}

TEST_CASE("Rtnl: errors name the namespace and the object") {
    const std::string root = root_fingerprint();
    const std::string missing = scratch_name("missing");
    CHECK(error_of([&] { Rtnl r(missing); }) == "open netns " + missing + ": No such file or directory");

    ScratchNetns ns("err");
    const std::string N = ns.name();
    Rtnl r(N);
    CHECK(error_of([&] { r.set_up("nosuch", true); }) ==
          "set link nosuch up in netns " + N + ": no such device 'nosuch'");
    CHECK(contains(error_of([&] { r.add_veth("vh1", "eth0", missing); }), "open netns " + missing));
    CHECK(sh("ip -n " + N + " link show vh1").rc != 0);
    CHECK(contains(error_of([&] { r.add_bridge("a_name_too_long_x"); }), "too long"));
    CHECK(lines(sh("ip -n " + N + " -o link show").out).size() == 1);  // nothing truncated got made
    CHECK(contains(error_of([&] { r.add_address("lo", "10.0.0.300/24"); }), "invalid IPv4 address"));
    CHECK(contains(error_of([&] { r.add_route({"default", "", ""}); }), "needs a gateway or a device"));
    try {
        r.add_route({"default", "192.168.77.1", ""});
        FAIL("add_route with an unreachable gateway did not throw");
    } catch (const Error& e) {
        CHECK(std::string(e.what()) ==
              "add route default via 192.168.77.1 in netns " + N + ": Network is unreachable");
        CHECK(e.hint() == "kernel: Nexthop has invalid gateway");  // the kernel's extended ack
    }
    CHECK(trim(sh("ip -n " + N + " route show").out).empty());

    // A socket stays bound to its namespace whatever thread uses it, and survives a move.
    Rtnl moved = std::move(r);
    std::vector<LinkInfo> seen;
    std::thread t([&] { seen = moved.links(); });
    t.join();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].name == "lo");
    CHECK(root_fingerprint() == root);
}

TEST_CASE("sysctl: per-namespace write leaves root unchanged") {
    const std::string root = root_fingerprint();
    const std::string fwd_root = read_file("/proc/sys/net/ipv4/ip_forward");
    const std::string nf_root = read_file("/proc/sys/net/bridge/bridge-nf-call-iptables");
    ScratchNetns ns("sc");
    const std::string N = ns.name();

    CHECK(sysctl_read(N, "net.ipv4.ip_forward") == "0");  // a new namespace starts at 0
    sysctl_write(N, "net.ipv4.ip_forward", "1");
    CHECK(sysctl_read(N, "net.ipv4.ip_forward") == "1");
    CHECK(trim(ns.exec("cat /proc/sys/net/ipv4/ip_forward").out) == "1");
    CHECK(read_file("/proc/sys/net/ipv4/ip_forward") == fwd_root);

    CHECK(sysctl_read(N, "net.bridge.bridge-nf-call-iptables") == "1");  // br_netfilter default
    sysctl_write(N, "net.bridge.bridge-nf-call-iptables", "0");
    CHECK(sysctl_read(N, "net.bridge.bridge-nf-call-iptables") == "0");
    CHECK(trim(ns.exec("cat /proc/sys/net/bridge/bridge-nf-call-iptables").out) == "0");
    CHECK(read_file("/proc/sys/net/bridge/bridge-nf-call-iptables") == nf_root);

    CHECK_FALSE(sysctl_read(N, "net.ipv4.no_such_key").has_value());
    CHECK(contains(error_of([&] { sysctl_write(N, "net.ipv4.ip_forward", "abc"); }),
                   "set sysctl net.ipv4.ip_forward=abc in netns " + N + ": Invalid argument"));
    CHECK(contains(error_of([&] { sysctl_write(N, "net.ipv4.no_such_key", "1"); }), "no such sysctl"));
    CHECK(contains(error_of([&] { sysctl_read(N, "net/../../etc"); }), "invalid key"));
    const std::string missing = scratch_name("missing");
    CHECK(error_of([&] { sysctl_read(missing, "net.ipv4.ip_forward"); }) ==
          "open netns " + missing + ": No such file or directory");
    CHECK(sysctl_read(N, "net.ipv4.ip_forward") == "1");

    CHECK(root_fingerprint() == root);
}

TEST_CASE("netns: interop with ip netns, non-namespace files, no fd leaks") {
    const std::string root = root_fingerprint();
    auto fd_count = [] { return lines(sh("ls /proc/" + std::to_string(::getpid()) + "/fd").out).size(); };
    const size_t fds_before = fd_count();
    {
        // Made by ip, seen and deleted by netutil.
        OwnedNetnsName ipmade("ipmade");
        REQUIRE(sh("ip netns add " + ipmade.name).rc == 0);
        CHECK(netns_exists(ipmade.name));
        netns_delete(ipmade.name);
        CHECK_FALSE(contains(sh("ip netns list").out, ipmade.name));

        // A plain file under /run/netns is not a namespace.
        const std::string stray = "/run/netns/" + scratch_name("stray");
        struct Unlink {
            std::string p;
            ~Unlink() { ::unlink(p.c_str()); }
        } cleanup{stray};
        std::ofstream(stray) << "";
        CHECK_FALSE(netns_exists(scratch_name("stray")));
        CHECK(netns_inode(scratch_name("stray")) == 0);
        CHECK(contains(error_of([] { netns_open(scratch_name("stray")); }), "is not a network namespace"));
        auto all = netns_list();
        CHECK(std::find(all.begin(), all.end(), scratch_name("stray")) == all.end());

        // A round of everything that opens fds or sockets.
        ScratchNetns ns("fd");
        Rtnl r(ns.name());
        r.add_bridge("nlt_br");
        r.add_veth("vh1", "vp1", ns.name());
        r.set_master("vh1", "nlt_br");
        r.set_hairpin("vh1", true);
        r.add_address("nlt_br", "10.0.0.1/24");
        (void)r.links();
        (void)r.addresses();
        (void)r.routes();
        (void)error_of([&] { r.add_bridge("nlt_br"); });
        (void)sysctl_read(ns.name(), "net.ipv4.ip_forward");
        { NetnsGuard g(ns.name()); }
        (void)error_of([&] { Rtnl bad(scratch_name("missing")); });
    }
    CHECK(fd_count() == fds_before);
    CHECK(root_fingerprint() == root);
}

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

bool cloexec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }
bool is_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

int sockopt(int fd, int level, int option) {
    int v = -1;
    socklen_t len = sizeof v;
    return ::getsockopt(fd, level, option, &v, &len) == 0 ? v : -1;
}

// Connects to 127.0.0.1:PORT from the calling thread's namespace; true when the handshake completes.
bool connects(uint16_t port) {
    UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return c && ::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

// A process forked by the test. The destructor SIGKILLs and reaps it only while it is still our
// unreaped child (so never a process that reused its pid).
struct Child {
    pid_t pid = -1;
    Child(pid_t p) : pid(p) {}
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        if (pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == 0 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, nullptr, 0);
    }
    // ECHILD from a non-blocking waitpid: it was reaped already (by Pidfd).
    bool reaped() const { return ::waitpid(pid, nullptr, WNOHANG) < 0 && errno == ECHILD; }
};

// `sh -c CMD` forked by the test.
pid_t start_sh(const char* cmd) {
    pid_t pid = ::fork();
    if (pid == 0) {
        ::execl("/bin/sh", "sh", "-c", cmd, static_cast<char*>(nullptr));
        ::_exit(126);
    }
    return pid;
}

}  // namespace

TEST_CASE("tcp_listen: listening in the thread's namespace, backlog, close-on-exec, bind errors") {
    const std::string root = root_fingerprint();
    ScratchNetns ns("lsn");
    const std::string N = ns.name();
    {
        NetnsGuard g(N);
        UniqueFd s = tcp_listen("0.0.0.0", 8080);
        REQUIRE(static_cast<bool>(s));
        CHECK(cloexec(s.get()));
        CHECK(sockopt(s.get(), SOL_SOCKET, SO_REUSEADDR) == 1);
        CHECK(sockopt(s.get(), SOL_SOCKET, SO_ACCEPTCONN) == 1);
        CHECK(sockopt(s.get(), SOL_SOCKET, SO_PROTOCOL) == IPPROTO_TCP);
        // Witness ss: one listener, on 0.0.0.0:8080, inside the namespace only.
        CHECK(ns.exec("ss -Hltn 'sport = :8080' | awk '{print $4}'").out == "0.0.0.0:8080\n");
        CHECK(connects(8080));  // queued in the backlog, nobody accepts
        CHECK(error_of([] { tcp_listen("0.0.0.0", 8080); }) == "bind 0.0.0.0:8080: Address already in use");
        CHECK(error_of([] { tcp_listen("127.0.0.1", 8080); }) == "bind 127.0.0.1:8080: Address already in use");
        CHECK(error_of([] { tcp_listen("10.9.9.9", 8081); }) ==
              "bind 10.9.9.9:8081: Cannot assign requested address");  // not an address of this netns
        CHECK(error_of([] { tcp_listen("1.2.3", 8081); }) == "parse address 1.2.3: not a dotted IPv4 address");
        UniqueFd other = tcp_listen("127.0.0.1", 8081);
        CHECK(ns.exec("ss -Hltn 'sport = :8081' | awk '{print $4}'").out == "127.0.0.1:8081\n");
    }
    // Closed: the port is free again.
    CHECK(ns.exec("ss -Hltn 'sport = :8080'").out.empty());
    {
        NetnsGuard g(N);
        CHECK(static_cast<bool>(tcp_listen("0.0.0.0", 8080)));
    }
    CHECK(root_fingerprint() == root);
}

TEST_CASE("fd_above, make_pipe, poll_until and read_byte") {
    auto p = make_pipe();
    REQUIRE(static_cast<bool>(p.read_end));
    REQUIRE(static_cast<bool>(p.write_end));
    CHECK(cloexec(p.read_end.get()));
    CHECK(cloexec(p.write_end.get()));

    const int low = p.write_end.get();
    UniqueFd high = fd_above(std::move(p.write_end), 30);
    CHECK(high.get() >= 30);
    CHECK(cloexec(high.get()));
    CHECK_FALSE(static_cast<bool>(p.write_end));
    CHECK_FALSE(is_open(low));  // the original was closed
    CHECK(error_of([] { fd_above(UniqueFd(), 30); }) == "fcntl F_DUPFD_CLOEXEC: Bad file descriptor");

    // Nothing written: the deadline, not earlier.
    auto t0 = Clock::now();
    CHECK(poll_until(p.read_end.get(), t0 + 150ms) == 0);
    CHECK(Clock::now() - t0 >= 140ms);
    CHECK(poll_until(p.read_end.get(), t0 - 1s) == 0);  // a past deadline: no wait

    REQUIRE(::write(high.get(), "R", 1) == 1);
    CHECK(poll_until(p.read_end.get(), Clock::now() + 2s) == 1);
    char b = 0;
    CHECK(read_byte(p.read_end, b) == 1);
    CHECK(b == 'R');

    high.reset();  // end of file: readable, no byte
    t0 = Clock::now();
    CHECK(poll_until(p.read_end.get(), t0 + 2s) == 1);
    CHECK(Clock::now() - t0 < 1s);
    CHECK(read_byte(p.read_end, b) == 0);
}

TEST_CASE("place_for_exec: the child gets exactly the given fds from FIRST on") {
    auto p = make_pipe();
    UniqueFd w = fd_above(std::move(p.write_end), 40);
    UniqueFd leak(::fcntl(p.read_end.get(), F_DUPFD, 50));  // inheritable unless made close-on-exec
    REQUIRE(leak.get() >= 50);
    REQUIRE_FALSE(cloexec(leak.get()));
    const std::string script = "echo ok >&3; for f in 4 " + std::to_string(w.get()) + " " +
                               std::to_string(leak.get()) + "; do [ -e /proc/self/fd/$f ] && echo leak$f >&3; done; exit 0";
    Child c(::fork());
    REQUIRE(c.pid >= 0);
    if (c.pid == 0) {
        if (!place_for_exec(3, {w.get()})) ::_exit(125);
        ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
        ::_exit(126);
    }
    w.reset();
    std::string out;
    char buf[256];
    pollfd pf{p.read_end.get(), POLLIN, 0};
    while (::poll(&pf, 1, 5000) == 1) {
        ssize_t n = ::read(p.read_end.get(), buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    int st = -1;
    REQUIRE(::waitpid(c.pid, &st, 0) == c.pid);
    c.pid = -1;
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    CHECK(out == "ok\n");
    CHECK_FALSE(cloexec(leak.get()));  // only the child's copy was changed
}

TEST_CASE("Pidfd: a child's exit within the timeout, SIGTERM to a live sleep, a process not ours") {
    SUBCASE("an exiting child is seen and reaped") {
        Child c = start_sh("sleep 0.3; exit 7");
        REQUIRE(c.pid > 0);
        Pidfd p(c.pid);
        REQUIRE(static_cast<bool>(p));
        CHECK(cloexec(p.get()));
        CHECK_FALSE(p.try_reap());  // still running
        CHECK_FALSE(p.wait_exit(50ms));
        auto t0 = Clock::now();
        CHECK(p.wait_exit(5000ms));
        CHECK(Clock::now() - t0 < 3s);
        CHECK(c.reaped());
        CHECK_FALSE(p.send_signal(SIGTERM));  // gone
    }
    SUBCASE("a live sleep stops on SIGTERM") {
        Child c = start_sh("exec sleep 30");
        REQUIRE(c.pid > 0);
        Pidfd p(c.pid);
        REQUIRE(static_cast<bool>(p));
        CHECK_FALSE(p.wait_exit(200ms));
        CHECK_FALSE(c.reaped());
        CHECK(p.send_signal(SIGTERM));
        auto t0 = Clock::now();
        CHECK(p.wait_exit(2000ms));
        CHECK(Clock::now() - t0 < 1500ms);
        CHECK(c.reaped());
    }
    SUBCASE("an exited child that is reaped later") {
        Child c = start_sh("exit 3");
        REQUIRE(c.pid > 0);
        Pidfd p(c.pid);
        REQUIRE(static_cast<bool>(p));
        REQUIRE(poll_until(p.get(), Clock::now() + 5s) == 1);  // exited: readable, a zombie
        CHECK(p.try_reap());
        CHECK(c.reaped());
        CHECK_FALSE(p.try_reap());
    }
    SUBCASE("a process that is not our child: waited for, not reaped by us") {
        auto r = sh("sleep 30 >/dev/null 2>&1 & echo $!", 10);
        REQUIRE(r.rc == 0);
        const int pid = std::stoi(r.out);
        Pidfd p(pid);
        REQUIRE(static_cast<bool>(p));
        struct KillOnExit {
            const Pidfd& p;
            ~KillOnExit() { p.send_signal(SIGKILL); }  // through the pidfd: never a reused pid
        } guard{p};
        CHECK(::waitpid(pid, nullptr, WNOHANG) < 0);  // indeed not our child
        CHECK_FALSE(p.try_reap());
        CHECK(p.send_signal(SIGTERM));
        CHECK(p.wait_exit(2000ms));
    }
    SUBCASE("no such process; a bad pid") {
        Child c = start_sh("exit 0");
        REQUIRE(c.pid > 0);
        REQUIRE(::waitpid(c.pid, nullptr, 0) == c.pid);
        const int gone = c.pid;
        c.pid = -1;
        CHECK_FALSE(static_cast<bool>(Pidfd(gone)));
        CHECK(error_of([] { Pidfd p(-1); }) == "pidfd_open: Invalid argument");
    }
}

// lab/inventory.h against the article tutorial: what it makes, read off the tutorial file by hand
// (tutorials/article.toml: its netns, bridge, veth, resolv-conf, pod and iptables --new actions).
#include <doctest/doctest.h>

#include "lab/inventory.h"
#include "lab/tutorial.h"
#include "steps/register.h"

using namespace netlab;

namespace {
lab::Tutorial article(lab::Registry& reg) {
    steps::register_all(reg);
    return lab::load_tutorial(lab::find_tutorial("article", ""), reg);
}
}  // namespace

TEST_CASE("inventory of the article: namespaces in the order the steps make them, in lab a") {
    lab::Registry reg;
    auto t = article(reg);
    auto inv = lab::inventory_of(t, lab::LabNames{"a"});
    CHECK(inv.host == "a-netlab");
    CHECK(inv.namespaces == std::vector<std::string>{"a-netlab", "a-netlab-world", "a-netns_dustin", "a-netns_leah"});
}

TEST_CASE("inventory of the article: links with both ends of each veth, where they live") {
    lab::Registry reg;
    auto t = article(reg);
    auto inv = lab::inventory_of(t, lab::LabNames{"default"});
    CHECK(inv.links == std::vector<lab::MadeLink>{{"netlab", "uplink", "veth"},
                                                  {"netlab-world", "eth0", "veth"},
                                                  {"netlab", "bridge_home", "bridge"},
                                                  {"netlab", "veth_dustin", "veth"},
                                                  {"netns_dustin", "veth_ns_dustin", "veth"},
                                                  {"netlab", "veth_leah", "veth"},
                                                  {"netns_leah", "veth_ns_leah", "veth"}});
}

TEST_CASE("inventory of the article: the resolv.conf files with their one line, the pods, the rules") {
    lab::Registry reg;
    auto t = article(reg);
    auto inv = lab::inventory_of(t, lab::LabNames{"a"});
    CHECK(inv.files == std::vector<lab::MadeFile>{{"/etc/netns/a-netns_dustin/resolv.conf", {"nameserver 8.8.8.8"}},
                                                  {"/etc/netns/a-netns_leah/resolv.conf", {"nameserver 8.8.8.8"}}});
    CHECK(inv.file_lines() == std::set<std::string>{"nameserver 8.8.8.8"});
    CHECK(inv.pods == std::vector<lab::MadePod>{{"a-netlab-world", "world", 8080},
                                                {"a-netns_dustin", "netns_dustin", 8080},
                                                {"a-netns_leah", "netns_leah", 8080}});
    CHECK(inv.pod_namespaces() == std::vector<std::string>{"a-netlab-world", "a-netns_dustin", "a-netns_leah"});
    CHECK(inv.pod_ports("a-netns_leah") == std::vector<uint16_t>{8080});
    CHECK(inv.pod_ports("a-netlab").empty());
    CHECK(inv.rule_namespaces == std::vector<std::string>{"a-netlab"});
    CHECK(inv.chains == std::vector<lab::MadeChain>{{"a-netlab", "nat", "DUSTIN-SERVICES"},
                                                    {"a-netlab", "nat", "DUSTIN-SVC-HTTP"},
                                                    {"a-netlab", "nat", "DUSTIN-SEP-HTTP1"},
                                                    {"a-netlab", "nat", "DUSTIN-SEP-HTTP2"}});
}

TEST_CASE("inventory of a range of steps: only what those steps make") {
    lab::Registry reg;
    auto t = article(reg);
    const lab::LabNames n{"default"};
    auto first = lab::inventory_of(t, n, 0, static_cast<size_t>(t.index_of("bridge")));
    CHECK(first.namespaces == std::vector<std::string>{"netlab", "netlab-world"});
    CHECK(first.files.empty());
    CHECK(first.pods == std::vector<lab::MadePod>{{"netlab-world", "world", 8080}});
    CHECK(first.rule_namespaces.empty());
    auto dns = static_cast<size_t>(t.index_of("dns"));
    auto only_dns = lab::inventory_of(t, n, dns, dns);
    CHECK(only_dns.namespaces.empty());
    CHECK(only_dns.files.size() == 2);
    CHECK(only_dns.host == "netlab");
}

TEST_CASE("inventory: each thing once, and the lines of one file merge") {
    lab::LabInventory inv;
    inv.add_namespace("x");
    inv.add_namespace("x");
    inv.add_file("/etc/netns/x/resolv.conf", "nameserver 1.1.1.1");
    inv.add_file("/etc/netns/x/resolv.conf", "nameserver 8.8.8.8");
    inv.add_file("/etc/netns/x/resolv.conf", "nameserver 1.1.1.1");
    inv.add_pod({"x", "p", 80});
    inv.add_pod({"x", "q", 81});
    CHECK(inv.namespaces == std::vector<std::string>{"x"});
    CHECK(inv.files.size() == 1);
    CHECK(inv.files[0].lines == std::vector<std::string>{"nameserver 1.1.1.1", "nameserver 8.8.8.8"});
    CHECK(inv.pod_namespaces() == std::vector<std::string>{"x"});
    CHECK(inv.pod_ports("x") == std::vector<uint16_t>{80, 81});
}

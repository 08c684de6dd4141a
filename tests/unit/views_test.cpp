// The views render from data: a hand-built topology drawn as a tree and as DOT, the article's final
// rules decoded into the service and its endpoints, hand-built dumps listed the way iptables-nft 1.8.9
// lists them (`iptables -t nat -L -n -v`; the expected rows are written from that tool's format).
#include <doctest/doctest.h>

#include <sstream>

#include "lab/tutorial.h"
#include "rules/apply.h"
#include "rules/command.h"
#include "rules/words.h"
#include "steps/register.h"
#include "views/graph.h"
#include "views/rules_view.h"
#include "views/service.h"
#include "views/topology.h"

using namespace netlab;
using namespace netlab::views;

namespace {

// The article's rules after its last step, built from its own command lines.
rules::Ruleset article_rules() {
    const char* lines[] = {
        "-t filter -A FORWARD -i bridge_home -j ACCEPT",
        "-t filter -A FORWARD -o bridge_home -j ACCEPT",
        "-t nat -A POSTROUTING -s 10.0.0.0/24 -j MASQUERADE",
        "-t nat -N DUSTIN-SERVICES",
        "-t nat -A PREROUTING -j DUSTIN-SERVICES",
        "-t nat -A OUTPUT -j DUSTIN-SERVICES",
        "-t nat -N DUSTIN-SVC-HTTP",
        "-t nat -A DUSTIN-SERVICES -d 10.100.100.100 -p tcp -m tcp --dport 8080 -j DUSTIN-SVC-HTTP",
        "-t nat -N DUSTIN-SEP-HTTP1",
        "-t nat -A DUSTIN-SEP-HTTP1 -p tcp -m tcp -j DNAT --to-destination 10.0.0.11:8080",
        "-t nat -A DUSTIN-SVC-HTTP -j DUSTIN-SEP-HTTP1",
        "-t nat -N DUSTIN-SEP-HTTP2",
        "-t nat -A DUSTIN-SEP-HTTP2 -p tcp -m tcp -j DNAT --to-destination 10.0.0.21:8080",
        "-t nat -I DUSTIN-SVC-HTTP 1 -m statistic --mode random --probability 0.5 -j DUSTIN-SEP-HTTP2",
    };
    rules::Ruleset rs;
    for (const char* l : lines) rules::apply_command(rs, rules::parse_iptables(rules::split_words(l)));
    return rs;
}

net::LinkInfo link(int ifindex, const std::string& name, const std::string& kind, bool up = true) {
    net::LinkInfo l;
    l.ifindex = ifindex;
    l.name = name;
    l.kind = kind;
    l.up = up;
    return l;
}

net::LinkInfo port(int ifindex, const std::string& name, int master, const std::string& bridge, bool hairpin) {
    net::LinkInfo l = link(ifindex, name, "veth");
    l.master = master;
    l.master_name = bridge;
    l.hairpin = hairpin;
    return l;
}

// A pod namespace as the article makes it: lo, one veth end (ifindex 2) whose peer is `peer_ifindex`
// in the lab host, an address, a default route via the bridge, a pod on 8080.
NsView pod_ns(const std::string& name, const std::string& veth, int peer_ifindex, const std::string& cidr, int pid) {
    NsView n;
    n.name = name;
    n.links = {link(1, "lo", ""), link(2, veth, "veth")};
    n.iflink = {{1, 1}, {2, peer_ifindex}};
    n.addresses = {{"lo", "127.0.0.1/8"}, {veth, cidr}};
    n.routes = {{"default", "10.0.0.1", veth}};
    n.pods = {{name, 8080, pid}};
    return n;
}

NsView host_ns(bool built_to_the_end) {
    NsView h;
    h.name = "netlab";
    h.lab_host = true;
    h.links = {link(1, "lo", ""), link(2, "uplink", "veth"), link(3, "bridge_home", "bridge", built_to_the_end)};
    h.iflink = {{1, 1}, {2, 2}, {3, 3}};
    if (built_to_the_end) {
        h.links.push_back(port(4, "veth_dustin", 3, "bridge_home", true));
        h.links.push_back(port(5, "veth_leah", 3, "bridge_home", true));
        h.iflink[4] = 2;
        h.iflink[5] = 2;
    }
    h.addresses = {{"lo", "127.0.0.1/8"}, {"uplink", "203.0.113.1/24"}, {"bridge_home", "10.0.0.1/24"}};
    h.routes = {{"default", "203.0.113.254", "uplink"}};
    return h;
}

NsView world_ns() {
    NsView w;
    w.name = "netlab-world";
    w.links = {link(1, "lo", ""), link(2, "eth0", "veth")};
    w.iflink = {{1, 1}, {2, 2}};
    w.addresses = {{"lo", "127.0.0.1/8"}, {"eth0", "203.0.113.254/24"}};
    w.pods = {{"world", 8080, 0}};
    return w;
}

Topology article_topology() {
    Topology t;
    t.lab = "default";
    t.namespaces = {host_ns(true), world_ns(), pod_ns("netns_dustin", "veth_ns_dustin", 4, "10.0.0.11/24", 101),
                    pod_ns("netns_leah", "veth_ns_leah", 5, "10.0.0.21/24", 102)};
    t.veths = pair_veths(t.namespaces);
    t.services = decode_services(article_rules());
    return t;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

bool has_line(const std::string& text, const std::string& line) {
    for (const auto& l : lines_of(text))
        if (l == line) return true;
    return false;
}

}  // namespace

TEST_CASE("services: the article's final rules give the VIP, its two endpoint chains and their backends") {
    auto services = decode_services(article_rules());
    REQUIRE(services.size() == 1);
    const Service& s = services[0];
    CHECK(s.address() == "10.100.100.100:8080");
    CHECK(s.proto == "tcp");
    CHECK(s.entry == "DUSTIN-SERVICES");
    CHECK(s.chain == "DUSTIN-SVC-HTTP");
    REQUIRE(s.endpoints.size() == 2);
    CHECK(s.endpoints[0].chain == "DUSTIN-SEP-HTTP2");
    REQUIRE(s.endpoints[0].probability.has_value());
    CHECK(*s.endpoints[0].probability == doctest::Approx(0.5));
    CHECK(s.endpoints[0].share == doctest::Approx(0.5));
    CHECK(s.endpoints[0].target == "10.0.0.21:8080");
    CHECK(s.endpoints[1].chain == "DUSTIN-SEP-HTTP1");
    CHECK_FALSE(s.endpoints[1].probability.has_value());
    CHECK(s.endpoints[1].share == doctest::Approx(0.5));
    CHECK(s.endpoints[1].target == "10.0.0.11:8080");
}

TEST_CASE("services: the article's earlier shapes decode too") {
    rules::Ruleset rs;
    auto apply = [&](const char* l) { rules::apply_command(rs, rules::parse_iptables(rules::split_words(l))); };
    apply("-t nat -N DUSTIN-SERVICES");
    apply("-t nat -A OUTPUT -j DUSTIN-SERVICES");
    CHECK(decode_services(rs).empty());  // step services-chain: nothing matches a virtual IP yet

    apply("-t nat -A DUSTIN-SERVICES -d 10.100.100.100 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.11:8080");
    auto v = decode_services(rs);  // step virtual-ip: the DNAT is in the matching rule
    REQUIRE(v.size() == 1);
    CHECK(v[0].chain == "");
    REQUIRE(v[0].endpoints.size() == 1);
    CHECK(v[0].endpoints[0].chain == "");
    CHECK(v[0].endpoints[0].share == doctest::Approx(1.0));
    CHECK(v[0].endpoints[0].target == "10.0.0.11:8080");

    apply("-t nat -N DUSTIN-SVC-HTTP");
    apply("-t nat -A DUSTIN-SVC-HTTP -p tcp -m tcp -j DNAT --to-destination 10.0.0.11:8080");
    apply("-t nat -D DUSTIN-SERVICES -d 10.100.100.100 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.11:8080");
    apply("-t nat -A DUSTIN-SERVICES -d 10.100.100.100 -p tcp -m tcp --dport 8080 -j DUSTIN-SVC-HTTP");
    auto c = decode_services(rs);  // step service-chain: the DNAT is in the service chain
    REQUIRE(c.size() == 1);
    CHECK(c[0].chain == "DUSTIN-SVC-HTTP");
    REQUIRE(c[0].endpoints.size() == 1);
    CHECK(c[0].endpoints[0].chain == "");
    CHECK(c[0].endpoints[0].target == "10.0.0.11:8080");
}

TEST_CASE("services: three backends get 1/3, 1/2 of the rest, and the rest") {
    rules::Ruleset rs;
    for (const char* l : {"-t nat -N SVC", "-t nat -N EP1", "-t nat -N EP2", "-t nat -N EP3",
                          "-t nat -A PREROUTING -d 10.96.0.10/32 -p udp --dport 53 -j SVC",
                          "-t nat -A SVC -m statistic --mode random --probability 0.33333333349 -j EP1",
                          "-t nat -A SVC -m statistic --mode random --probability 0.5 -j EP2", "-t nat -A SVC -j EP3",
                          "-t nat -A EP1 -p udp -j DNAT --to-destination 10.0.0.11:53"})
        rules::apply_command(rs, rules::parse_iptables(rules::split_words(l)));
    auto s = decode_services(rs);
    REQUIRE(s.size() == 1);
    CHECK(s[0].address() == "10.96.0.10:53");
    CHECK(s[0].proto == "udp");
    REQUIRE(s[0].endpoints.size() == 3);
    CHECK(s[0].endpoints[0].share == doctest::Approx(1.0 / 3).epsilon(1e-6));
    CHECK(s[0].endpoints[1].share == doctest::Approx(1.0 / 3).epsilon(1e-6));
    CHECK(s[0].endpoints[2].share == doctest::Approx(1.0 / 3).epsilon(1e-6));
    CHECK(s[0].endpoints[1].target == "");  // EP2 has no DNAT yet
    CHECK(probability_text(*s[0].endpoints[0].probability) == "0.3333");
    CHECK(share_text(s[0].endpoints[0].share) == "33.3%");
}

TEST_CASE("veth pairs: ends pair when each names the other; an ambiguous end stays unpaired") {
    auto t = article_topology();
    REQUIRE(t.veths.size() == 3);
    CHECK(t.peer_of({"netlab", "uplink"}) == LinkRef{"netlab-world", "eth0"});
    CHECK(t.peer_of({"netns_dustin", "veth_ns_dustin"}) == LinkRef{"netlab", "veth_dustin"});
    CHECK(t.peer_of({"netlab", "veth_leah"}) == LinkRef{"netns_leah", "veth_ns_leah"});

    // A second namespace whose veth (ifindex 2) also names uplink (ifindex 2): uplink is ambiguous.
    auto spaces = t.namespaces;
    NsView other = world_ns();
    other.name = "other";
    spaces.push_back(other);
    auto pairs = pair_veths(spaces);
    CHECK(pairs.size() == 2);
    for (const auto& p : pairs) CHECK(p.a.link != "uplink");
}

TEST_CASE("backend_of: the namespace holding the address and the pod on the port") {
    auto t = article_topology();
    auto b = backend_of(t, "10.0.0.21:8080", 80);
    REQUIRE(b.has_value());
    CHECK(b->ns == "netns_leah");
    CHECK(b->pod == "netns_leah");
    auto no_port = backend_of(t, "10.0.0.11", 8080);  // a DNAT without a port keeps the service's port
    REQUIRE(no_port.has_value());
    CHECK(no_port->pod == "netns_dustin");
    auto wrong_port = backend_of(t, "10.0.0.11:9090", 8080);
    REQUIRE(wrong_port.has_value());
    CHECK(wrong_port->pod == "");
    CHECK_FALSE(backend_of(t, "10.0.0.99:8080", 8080).has_value());
}

TEST_CASE("graph text: the whole article as a tree") {
    const std::string expected =
        "lab default, as the kernel has it now\n"
        "netns netlab (the lab host)\n"
        "├── lo: up, 127.0.0.1/8\n"
        "├── uplink: veth, up, 203.0.113.1/24, peer eth0 in netlab-world\n"
        "├── bridge_home: bridge, up, promisc off, 10.0.0.1/24\n"
        "│   ├── port veth_dustin: veth, up, hairpin on, peer veth_ns_dustin in netns_dustin\n"
        "│   └── port veth_leah: veth, up, hairpin on, peer veth_ns_leah in netns_leah\n"
        "└── default via 203.0.113.254 dev uplink\n"
        "netns netlab-world\n"
        "├── lo: up, 127.0.0.1/8\n"
        "├── eth0: veth, up, 203.0.113.254/24, peer uplink in netlab\n"
        "└── pod world on port 8080\n"
        "netns netns_dustin\n"
        "├── lo: up, 127.0.0.1/8\n"
        "├── veth_ns_dustin: veth, up, 10.0.0.11/24, peer veth_dustin in netlab\n"
        "├── default via 10.0.0.1 dev veth_ns_dustin\n"
        "└── pod netns_dustin on port 8080 (pid 101)\n"
        "netns netns_leah\n"
        "├── lo: up, 127.0.0.1/8\n"
        "├── veth_ns_leah: veth, up, 10.0.0.21/24, peer veth_leah in netlab\n"
        "├── default via 10.0.0.1 dev veth_ns_leah\n"
        "└── pod netns_leah on port 8080 (pid 102)\n"
        "service 10.100.100.100:8080/tcp: nat DUSTIN-SERVICES -> DUSTIN-SVC-HTTP\n"
        "├── DUSTIN-SEP-HTTP2: probability 0.5, 50% of new connections -> DNAT 10.0.0.21:8080 -> pod netns_leah in netns_leah\n"
        "└── DUSTIN-SEP-HTTP1: unconditional, 50% of new connections -> DNAT 10.0.0.11:8080 -> pod netns_dustin in netns_dustin\n";
    CHECK(render_text(article_topology()) == expected);
}

TEST_CASE("graph text: a partial lab (run --until bridge) says what is not made yet") {
    Topology t;
    t.lab = "a";
    t.namespaces = {host_ns(false), world_ns()};
    t.namespaces[0].name = "a-netlab";
    t.namespaces[1].name = "a-netlab-world";
    t.absent = {"a-netns_dustin", "a-netns_leah"};
    t.veths = pair_veths(t.namespaces);
    auto text = render_text(t);
    CHECK(has_line(text, "lab a, as the kernel has it now"));
    CHECK(has_line(text, "├── uplink: veth, up, 203.0.113.1/24, peer eth0 in a-netlab-world"));
    CHECK(has_line(text, "├── bridge_home: bridge, down, promisc off, 10.0.0.1/24, no ports"));
    CHECK(has_line(text, "not made yet: a-netns_dustin, a-netns_leah"));
    CHECK(has_line(text, "no service yet: no nat rule in a-netlab leads a virtual IP to a DNAT"));
}

TEST_CASE("graph dot: clusters per namespace, veth pairs, bridge ports, the service to its endpoints") {
    auto dot = render_dot(article_topology());
    CHECK(dot.starts_with("digraph \"netlab default\" {\n"));
    CHECK(dot.ends_with("}\n"));
    for (const char* l : {
             "  subgraph \"cluster_netlab\" {",
             "    label=\"netns netlab (the lab host)\\ndefault via 203.0.113.254 dev uplink\";",
             "    \"netlab/bridge_home\" [label=\"bridge_home\\nbridge, up, promisc off\\n10.0.0.1/24\", shape=box3d];",
             "    \"netlab/veth_dustin\" [label=\"veth_dustin\\nveth, up, hairpin on\"];",
             "  subgraph \"cluster_netns_leah\" {",
             "    \"netns_leah/pod:8080\" [label=\"pod netns_leah\\nport 8080, pid 102\", shape=ellipse];",
             "  \"netlab/uplink\" -> \"netlab-world/eth0\" [label=\"veth pair\", dir=none];",
             "  \"netlab/veth_dustin\" -> \"netns_dustin/veth_ns_dustin\" [label=\"veth pair\", dir=none];",
             "  \"netlab/bridge_home\" -> \"netlab/veth_leah\" [label=\"port, hairpin on\", dir=none, style=bold];",
             "      \"service/10.100.100.100:8080/tcp\" [label=\"service 10.100.100.100:8080/tcp\\nDUSTIN-SVC-HTTP\", shape=hexagon];",
             "      \"service/10.100.100.100:8080/tcp/0\" [label=\"DUSTIN-SEP-HTTP2\\nDNAT 10.0.0.21:8080\"];",
             "  \"service/10.100.100.100:8080/tcp\" -> \"service/10.100.100.100:8080/tcp/0\" [label=\"p=0.5 (50%)\"];",
             "  \"service/10.100.100.100:8080/tcp/0\" -> \"netns_leah/pod:8080\" [label=\"DNAT\"];",
             "  \"service/10.100.100.100:8080/tcp\" -> \"service/10.100.100.100:8080/tcp/1\" [label=\"always (50%)\"];",
             "  \"service/10.100.100.100:8080/tcp/1\" -> \"netns_dustin/pod:8080\" [label=\"DNAT\"];",
         })
        CHECK_MESSAGE(has_line(dot, l), l);
    // Balanced braces: every cluster is closed.
    long open = 0;
    for (char c : dot) open += c == '{' ? 1 : c == '}' ? -1 : 0;
    CHECK(open == 0);
}

TEST_CASE("graph dot: names with quotes and backslashes are escaped") {
    Topology t;
    t.lab = "default";
    NsView n;
    n.name = "ns\"x";
    n.links = {link(7, "we\\ird", "dummy")};
    t.namespaces = {n};
    auto dot = render_dot(t);
    CHECK(has_line(dot, "    \"ns\\\"x/we\\\\ird\" [label=\"we\\\\ird\\ndummy, up\"];"));
}

// ---------------------------------------------------------------- rules

namespace {

net::DumpedRule dumped(const std::string& spec, uint64_t packets, uint64_t bytes) {
    auto cmd = rules::parse_iptables(rules::split_words("-t nat " + spec));
    return net::DumpedRule{cmd.rule, {packets, bytes}, true, {}};
}

// The article's nat table as nft_dump gives it (builtin chains in hook order, user chains by name).
net::DumpedTable article_nat(uint64_t sep2_packets) {
    net::DumpedTable t{"nat", {}};
    t.chains.push_back({"PREROUTING", true, "ACCEPT", {dumped("-A PREROUTING -j DUSTIN-SERVICES", 3, 180)}});
    t.chains.push_back({"OUTPUT", true, "ACCEPT", {dumped("-A OUTPUT -j DUSTIN-SERVICES", 123456, 7654321)}});
    t.chains.push_back({"POSTROUTING", true, "ACCEPT", {dumped("-A POSTROUTING -s 10.0.0.0/24 -j MASQUERADE", 2, 120)}});
    t.chains.push_back({"DUSTIN-SEP-HTTP1", false, "",
                        {dumped("-A DUSTIN-SEP-HTTP1 -p tcp -m tcp -j DNAT --to-destination 10.0.0.11:8080", 9, 540)}});
    t.chains.push_back({"DUSTIN-SEP-HTTP2", false, "",
                        {dumped("-A DUSTIN-SEP-HTTP2 -p tcp -m tcp -j DNAT --to-destination 10.0.0.21:8080", sep2_packets,
                                sep2_packets * 60)}});
    t.chains.push_back({"DUSTIN-SERVICES", false, "",
                        {dumped("-A DUSTIN-SERVICES -d 10.100.100.100/32 -p tcp -m tcp --dport 8080 -j DUSTIN-SVC-HTTP",
                                20, 1200)}});
    t.chains.push_back({"DUSTIN-SVC-HTTP", false, "",
                        {dumped("-A DUSTIN-SVC-HTTP -m statistic --mode random --probability 0.5 -j DUSTIN-SEP-HTTP2",
                                sep2_packets, sep2_packets * 60),
                         dumped("-A DUSTIN-SVC-HTTP -j DUSTIN-SEP-HTTP1", 9, 540)}});
    return t;
}

}  // namespace

TEST_CASE("rules: the article's nat table as `iptables -t nat -L -n -v` lists it") {
    const std::string hdr = " pkts bytes target     prot opt in     out     source               destination         ";
    const std::string expected =
        "Chain PREROUTING (policy ACCEPT 0 packets, 0 bytes)\n" + hdr + "\n" +
        "    3   180 DUSTIN-SERVICES  0    --  *      *       0.0.0.0/0            0.0.0.0/0           \n"
        "\n"
        "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)\n" + hdr + "\n" +
        "\n"
        "Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)\n" + hdr + "\n" +
        " 123K 7654K DUSTIN-SERVICES  0    --  *      *       0.0.0.0/0            0.0.0.0/0           \n"
        "\n"
        "Chain POSTROUTING (policy ACCEPT 0 packets, 0 bytes)\n" + hdr + "\n" +
        "    2   120 MASQUERADE  0    --  *      *       10.0.0.0/24          0.0.0.0/0           \n"
        "\n"
        "Chain DUSTIN-SEP-HTTP1 (1 references)\n" + hdr + "\n" +
        "    9   540 DNAT       6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp to:10.0.0.11:8080\n"
        "\n"
        "Chain DUSTIN-SEP-HTTP2 (1 references)\n" + hdr + "\n" +
        "   11   660 DNAT       6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp to:10.0.0.21:8080\n"
        "\n"
        "Chain DUSTIN-SERVICES (2 references)\n" + hdr + "\n" +
        "   20  1200 DUSTIN-SVC-HTTP  6    --  *      *       0.0.0.0/0            10.100.100.100       tcp dpt:8080\n"
        "\n"
        "Chain DUSTIN-SVC-HTTP (1 references)\n" + hdr + "\n" +
        "   11   660 DUSTIN-SEP-HTTP2  0    --  *      *       0.0.0.0/0            0.0.0.0/0            statistic mode random probability 0.50000000000\n"
        "    9   540 DUSTIN-SEP-HTTP1  0    --  *      *       0.0.0.0/0            0.0.0.0/0           \n";
    CHECK(render_listing(article_nat(11)) == expected);
}

TEST_CASE("rules: the filter table, interfaces in their columns, absent builtin chains shown empty") {
    net::DumpedTable t{"filter", {}};
    t.chains.push_back({"FORWARD", true, "DROP",
                        {dumped("-A FORWARD -i bridge_home -j ACCEPT", 5, 300), dumped("-A FORWARD -o bridge_home -j ACCEPT", 4, 240)}});
    auto lines = lines_of(render_listing(t));
    REQUIRE(lines.size() == 10);
    CHECK(lines[0] == "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)");
    CHECK(lines[3] == "Chain FORWARD (policy DROP 0 packets, 0 bytes)");
    CHECK(lines[5] == "    5   300 ACCEPT     0    --  bridge_home *       0.0.0.0/0            0.0.0.0/0           ");
    CHECK(lines[6] == "    4   240 ACCEPT     0    --  *      bridge_home  0.0.0.0/0            0.0.0.0/0           ");
    CHECK(lines[8] == "Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)");
}

TEST_CASE("rules: other matches in iptables' wording") {
    CHECK(render_row(dumped("-A X -s 1.2.3.0/24 -d 5.6.7.8 -o veth+ -p udp --sport 53 -m comment --comment hi -j RETURN", 0, 0)) ==
          "    0     0 RETURN     17   --  *      veth+   1.2.3.0/24           5.6.7.8              udp spt:53 /* hi */");
    CHECK(render_row(dumped("-A X -p tcp --dport 80 -j DNAT --to-destination 10.0.0.11", 0, 0)) ==
          "    0     0 DNAT       6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:80 to:10.0.0.11");
}

TEST_CASE("rules --watch: the rules whose packet counters moved are marked, the others not") {
    auto before = counters_of({article_nat(11)});
    auto text = render_listings({article_nat(14)}, {"nat"}, {&before, false});
    CHECK(has_line(text, "   14   840 DNAT       6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp to:10.0.0.21:8080  <- +3 packets"));
    CHECK(has_line(text, "   14   840 DUSTIN-SEP-HTTP2  0    --  *      *       0.0.0.0/0            0.0.0.0/0            statistic mode random probability 0.50000000000  <- +3 packets"));
    CHECK(has_line(text, "    9   540 DNAT       6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp to:10.0.0.11:8080"));
    CHECK(text.find("\033[") == std::string::npos);
    auto colored = render_listings({article_nat(15)}, {"nat"}, {&before, true});
    CHECK(colored.find("\033[1;33m   15   900 DNAT ") != std::string::npos);
}

TEST_CASE("rules: both tables, each after the iptables command it stands for; a missing table is shown empty") {
    auto text = render_listings({article_nat(0)}, {"nat", "filter"});
    CHECK(text.starts_with("# iptables -t nat -L -n -v\nChain PREROUTING (policy ACCEPT 0 packets, 0 bytes)\n"));
    CHECK(text.find("\n\n# iptables -t filter -L -n -v\nChain INPUT (policy ACCEPT 0 packets, 0 bytes)\n") != std::string::npos);
}

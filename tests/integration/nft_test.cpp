// nft_replace / nft_dump against the real kernel, with the real iptables-nft as the witness. Root
// only; everything happens in scratch namespaces that are deleted even when a check fails.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "netutil/netns.h"
#include "netutil/nft.h"
#include "rules/apply.h"
#include "rules/command.h"
#include "rules/render.h"
#include "rules/words.h"
#include "tests/integration/support.h"

using netlab::Error;
using netlab::net::DumpedTable;
using netlab::rules::IptRule;
using netlab::net::nft_dump;
using netlab::net::nft_replace;
using netlab::rules::Ruleset;
using netlab::net::to_ruleset;
using netlab::rules::apply_command;
using netlab::rules::normalized;
using netlab::rules::parse_iptables;
using netlab::rules::render_rule;
using netlab::rules::render_table;
using netlab::rules::split_words;
using netlab::test::root_fingerprint;
using netlab::test::ScratchNetns;

namespace {

const std::vector<std::string> kOwned = {"nat", "filter"};

// The article's commands (arguments of `iptables`), in order.
const std::vector<std::string> kArticle = {
    "--table filter --append FORWARD --in-interface bridge_home --jump ACCEPT",
    "--table filter --append FORWARD --out-interface bridge_home --jump ACCEPT",
    "--table nat --append POSTROUTING --source 10.0.0.0/24 --jump MASQUERADE",
    "--table nat --new DUSTIN-SERVICES",
    "--table nat --append PREROUTING --jump DUSTIN-SERVICES",
    "--table nat --append OUTPUT --jump DUSTIN-SERVICES",
    "-t nat -A DUSTIN-SERVICES -d 10.100.100.100 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.11:8080",
    "--table nat --new DUSTIN-SVC-HTTP",
    "--table nat --append DUSTIN-SVC-HTTP --protocol tcp --match tcp --jump DNAT --to-destination 10.0.0.11:8080",
    "--table nat --delete DUSTIN-SERVICES --destination 10.100.100.100 --protocol tcp --match tcp --dport 8080 "
    "--jump DNAT --to-destination 10.0.0.11:8080",
    "--table nat --append DUSTIN-SERVICES --destination 10.100.100.100 --protocol tcp --match tcp --dport 8080 "
    "--jump DUSTIN-SVC-HTTP",
    "-t nat -N DUSTIN-SEP-HTTP1",
    "--table nat --append DUSTIN-SEP-HTTP1 --protocol tcp --match tcp --jump DNAT --to-destination 10.0.0.11:8080",
    "--table nat --delete DUSTIN-SVC-HTTP --protocol tcp --match tcp --jump DNAT --to-destination 10.0.0.11:8080",
    "--table nat --append DUSTIN-SVC-HTTP --jump DUSTIN-SEP-HTTP1",
    "--table nat --new DUSTIN-SEP-HTTP2",
    "--table nat --append DUSTIN-SEP-HTTP2 --protocol tcp --match tcp --jump DNAT --to-destination 10.0.0.21:8080",
    "-t nat -I DUSTIN-SVC-HTTP 1 -m statistic --mode random --probability 0.5 -j DUSTIN-SEP-HTTP2",
};

Ruleset model_after(size_t steps) {
    Ruleset rs;
    for (size_t i = 0; i < steps; ++i) apply_command(rs, parse_iptables(split_words(kArticle[i])));
    return rs;
}

std::string run_ok(const ScratchNetns& ns, const std::string& cmd) {
    auto r = ns.exec(cmd);
    INFO(ns.name() << ": " << cmd << "\n" << r.out);
    REQUIRE(r.rc == 0);
    return r.out;
}

// The rules as the kernel holds them, per chain, from `nft --debug=netlink` (handles dropped).
std::map<std::string, std::vector<std::string>> netlink_layout(const ScratchNetns& ns) {
    std::map<std::string, std::vector<std::string>> out;
    std::istringstream in(run_ok(ns, "nft --debug=netlink list ruleset"));
    static const std::regex header(R"(^ip (\w+) (\S+) \d+( \d+)?$)");
    std::string line, key, rule;
    auto flush = [&] {
        if (!key.empty()) out[key].push_back(rule);
        key.clear();
        rule.clear();
    };
    std::smatch m;
    while (std::getline(in, line)) {
        if (std::regex_match(line, m, header)) {
            flush();
            key = m[1].str() + "/" + m[2].str();
        } else if (!key.empty() && line.rfind("  [", 0) == 0) {
            rule += line + "\n";
        } else {
            flush();
        }
    }
    flush();
    return out;
}

// All the ways iptables-nft itself looks at a namespace.
struct IptablesView {
    std::string nat_S, filter_S, nat_L, filter_L;
};

IptablesView iptables_view(const ScratchNetns& ns) {
    return {run_ok(ns, "iptables-nft -t nat -S"), run_ok(ns, "iptables-nft -t filter -S"),
            run_ok(ns, "iptables-nft -t nat -L -n -v -x"), run_ok(ns, "iptables-nft -t filter -L -n -v -x")};
}

// Every rule of the model is found by `iptables-nft -C` in the namespace.
void check_rules_with_C(const ScratchNetns& ns, const Ruleset& rs) {
    for (const auto& t : rs.tables)
        for (const auto& ch : t.chains)
            for (const auto& r : ch.rules) {
                std::string spec = render_rule(ch.name, r).substr(2);  // "CHAIN ..." without "-A"
                auto res = ns.exec("iptables-nft -t " + t.name + " -C " + spec);
                INFO("iptables-nft -t " << t.name << " -C " << spec << "\n" << res.out);
                CHECK(res.rc == 0);
            }
}

// Makes `n` TCP connection attempts from inside `netns`; each sends at least one SYN.
void connect_attempts(const std::string& netns, const char* ip, uint16_t port, int n) {
    netlab::net::NetnsGuard guard(netns);
    for (int i = 0; i < n; ++i) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        ::inet_pton(AF_INET, ip, &sa.sin_addr);
        (void)::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);  // refused: nobody listens
        ::close(fd);
    }
}

const netlab::net::DumpedChain* find_chain(const std::vector<DumpedTable>& d, const std::string& t,
                                           const std::string& c) {
    for (const auto& dt : d)
        if (dt.name == t)
            for (const auto& dc : dt.chains)
                if (dc.name == c) return &dc;
    return nullptr;
}

struct RootUnchanged {
    std::string before = root_fingerprint();
    ~RootUnchanged() { CHECK_MESSAGE(root_fingerprint() == before, "the root namespace changed"); }
};

}  // namespace

TEST_CASE("nft_replace lists exactly like iptables-nft, at every stage of the article") {
    RootUnchanged root;
    ScratchNetns witness("ipt");
    ScratchNetns ours("nft");

    const std::vector<size_t> checkpoints = {1, 3, 6, 7, 9, 10, 11, 14, 16, 17, 18};
    Ruleset model;
    size_t step = 0;
    for (size_t cp : checkpoints) {
        for (; step < cp; ++step) {
            run_ok(witness, "iptables-nft " + kArticle[step]);
            apply_command(model, parse_iptables(split_words(kArticle[step])));
        }
        CAPTURE(step);
        nft_replace(ours.name(), model, kOwned);

        IptablesView want = iptables_view(witness);
        IptablesView got = iptables_view(ours);
        CHECK(got.nat_S == want.nat_S);
        CHECK(got.filter_S == want.filter_S);
        CHECK(got.nat_L == want.nat_L);
        CHECK(got.filter_L == want.filter_L);
        // Our own renderer agrees with iptables too.
        CHECK(render_table(model, "nat") == want.nat_S);
        CHECK(render_table(model, "filter") == want.filter_S);
        // Same expressions, rule by rule, as iptables-nft emitted.
        auto layout = netlink_layout(witness);
        CHECK_FALSE(layout.empty());
        CHECK(netlink_layout(ours) == layout);
        check_rules_with_C(ours, model);
        // Our decoder reads iptables-nft's own rules, and ours, back into the same model.
        CHECK(normalized(to_ruleset(nft_dump(witness.name(), kOwned))) == normalized(model));
        CHECK(normalized(to_ruleset(nft_dump(ours.name(), kOwned))) == normalized(model));
    }

    // iptables-nft accepts our tables as its own: it can add to them and delete from them.
    run_ok(ours, "iptables-nft -t nat -A DUSTIN-SVC-HTTP -j RETURN");
    run_ok(ours, "iptables-nft -t nat -D DUSTIN-SVC-HTTP -j RETURN");
    run_ok(ours, "iptables-nft -t nat -D DUSTIN-SVC-HTTP 1");
    run_ok(witness, "iptables-nft -t nat -D DUSTIN-SVC-HTTP 1");
    CHECK(iptables_view(ours).nat_S == iptables_view(witness).nat_S);
}

TEST_CASE("more rule shapes: iptables-nft's layout in both directions") {
    RootUnchanged root;
    ScratchNetns witness("ipt2");
    ScratchNetns ours("nft2");
    const std::vector<std::string> cmds = {
        "-t nat -N SHAPES",
        "-t nat -N AAA",
        "-t nat -A SHAPES -s 10.1.0.0/20 -d 1.2.3.4/31 -i veth+ -o eth0 -g AAA",
        "-t nat -A SHAPES -p udp -m udp --sport 53 --dport 54 -j RETURN",
        "-t nat -A SHAPES -p udp --sport 53 -j RETURN",
        "-t nat -A SHAPES -p udp -m udp -j RETURN",
        "-t nat -A SHAPES -p tcp -j DNAT --to-destination 10.0.0.9",
        "-t nat -A SHAPES -j DNAT --to-destination 10.0.0.8",
        "-t nat -A SHAPES -s 10.0.0.0/8 -d 192.168.1.0/24 -j AAA",
        "-t nat -A SHAPES -p tcp -m tcp --dport 80 -m statistic --mode random --probability 0.33333333349 -m comment "
        "--comment \"svc: web\" -j AAA",
        "-t nat -A SHAPES -m comment --comment plain",
        "-t nat -A SHAPES -i lo -o lo -j ACCEPT",
        "-t nat -A SHAPES -m statistic --mode random --probability 0.333 -j AAA",
        "-t nat -A SHAPES -m statistic --mode random --probability 1 -j AAA",
        "-t nat -A POSTROUTING -o eth+ -j MASQUERADE",
        "-t nat -I PREROUTING 1 -j SHAPES",
        "-t nat -A INPUT -j ACCEPT",
        "-A INPUT -s 127.0.0.1 -j ACCEPT",
        "-P FORWARD DROP",
        "-A OUTPUT -p tcp -m tcp --sport 22 -j DROP",
    };
    Ruleset model;
    for (const auto& c : cmds) {
        run_ok(witness, "iptables-nft " + c);
        apply_command(model, parse_iptables(split_words(c)));
    }
    nft_replace(ours.name(), model, kOwned);

    IptablesView want = iptables_view(witness);
    IptablesView got = iptables_view(ours);
    CHECK(got.nat_S == want.nat_S);
    CHECK(got.filter_S == want.filter_S);
    CHECK(got.nat_L == want.nat_L);
    CHECK(got.filter_L == want.filter_L);
    CHECK(render_table(model, "nat") == want.nat_S);
    CHECK(render_table(model, "filter") == want.filter_S);
    check_rules_with_C(ours, model);

    // iptables-nft stores comments as an xt match, we store them as userdata: both decode the same.
    auto from_witness = nft_dump(witness.name(), kOwned);
    for (const auto& t : from_witness)
        for (const auto& c : t.chains)
            for (const auto& r : c.rules) {
                INFO(t.name << "/" << c.name << ": " << r.raw);
                CHECK(r.decoded);
            }
    CHECK(normalized(to_ruleset(from_witness)) == normalized(model));
    CHECK(normalized(to_ruleset(nft_dump(ours.name(), kOwned))) == normalized(model));
}

TEST_CASE("nft_dump round-trips and reads counters that grow with traffic") {
    RootUnchanged root;
    ScratchNetns ns("dump");
    // The service's endpoints are local addresses; the VIP is routed out of a veth link whose both
    // ends are inside the namespace (nothing leaves it).
    run_ok(ns, "ip link add d0 type veth peer name d1 && ip link set d0 up && ip link set d1 up && "
               "ip addr add 10.0.0.1/24 dev d0 && ip addr add 10.0.0.11/32 dev lo && "
               "ip addr add 10.0.0.21/32 dev lo && ip route add 10.100.100.0/24 dev d0");
    const Ruleset model = model_after(kArticle.size());
    nft_replace(ns.name(), model, kOwned);

    auto before = nft_dump(ns.name(), kOwned);
    CHECK(normalized(to_ruleset(before)) == normalized(model));
    REQUIRE(before.size() == 2);
    CHECK(before[0].name == "nat");
    CHECK(before[1].name == "filter");
    std::vector<std::string> names;
    for (const auto& c : before[0].chains) names.push_back(c.name);
    CHECK(names == std::vector<std::string>{"PREROUTING", "OUTPUT", "POSTROUTING", "DUSTIN-SEP-HTTP1",
                                            "DUSTIN-SEP-HTTP2", "DUSTIN-SERVICES", "DUSTIN-SVC-HTTP"});
    for (const auto& t : before)
        for (const auto& c : t.chains)
            for (const auto& r : c.rules) {
                CHECK(r.decoded);
                CHECK(r.counters.packets == 0);
            }
    CHECK(before[0].chains[0].builtin);
    CHECK(before[0].chains[0].policy == "ACCEPT");
    CHECK_FALSE(before[0].chains[3].builtin);

    const int n = 40;
    connect_attempts(ns.name(), "10.100.100.100", 8080, n);

    auto after = nft_dump(ns.name(), kOwned);
    CHECK(normalized(to_ruleset(after)) == normalized(model));
    const auto* out = find_chain(after, "nat", "OUTPUT");
    const auto* svc = find_chain(after, "nat", "DUSTIN-SERVICES");
    const auto* sep1 = find_chain(after, "nat", "DUSTIN-SEP-HTTP1");
    const auto* sep2 = find_chain(after, "nat", "DUSTIN-SEP-HTTP2");
    REQUIRE((out && svc && sep1 && sep2));
    REQUIRE(svc->rules.size() == 1);
    // NAT chains see the first packet of each connection.
    CHECK(out->rules[0].counters.packets >= static_cast<uint64_t>(n));
    CHECK(svc->rules[0].counters.packets == static_cast<uint64_t>(n));
    CHECK(svc->rules[0].counters.bytes >= static_cast<uint64_t>(n) * 40);
    const uint64_t p1 = sep1->rules[0].counters.packets, p2 = sep2->rules[0].counters.packets;
    CHECK(p1 + p2 == static_cast<uint64_t>(n));
    CHECK(p1 > 0);  // 50/50: both endpoints chosen in 40 tries (fails with probability 2^-39)
    CHECK(p2 > 0);

    // iptables-nft reads the same counter: "   40     2400 DUSTIN-SVC-HTTP  6 ...".
    auto listing = run_ok(ns, "iptables-nft -t nat -L DUSTIN-SERVICES -n -v -x");
    std::istringstream lines(listing);
    std::string line;
    uint64_t listed = 0;
    while (std::getline(lines, line))
        if (line.find("DUSTIN-SVC-HTTP") != std::string::npos && line.find("Chain") == std::string::npos)
            listed = std::stoull(line);
    CHECK(listed == static_cast<uint64_t>(n));
}

TEST_CASE("a failing batch changes nothing and names the failing message") {
    RootUnchanged root;
    ScratchNetns ns("fail");
    const Ruleset model = model_after(kArticle.size());
    nft_replace(ns.name(), model, kOwned);
    const IptablesView before = iptables_view(ns);
    const auto layout = netlink_layout(ns);

    auto expect_failure = [&](const Ruleset& bad, const std::string& needle) {
        try {
            nft_replace(ns.name(), bad, kOwned);
            FAIL("nft_replace accepted a bad ruleset");
        } catch (const Error& e) {
            INFO(e.what());
            CHECK(std::string(e.what()).rfind("program rules in netns " + ns.name() + ": ", 0) == 0);
            CHECK(std::string(e.what()).find(needle) != std::string::npos);
        }
        IptablesView now = iptables_view(ns);
        CHECK(now.nat_S == before.nat_S);
        CHECK(now.filter_S == before.filter_S);
        CHECK(netlink_layout(ns) == layout);
    };

    // A jump to a chain that does not exist, in the last rule of nat.
    Ruleset missing = model;
    apply_command(missing, parse_iptables(split_words("-t nat -A DUSTIN-SVC-HTTP -j DUSTIN-SEP-HTTP1")));
    for (auto& t : missing.tables)
        for (auto& c : t.chains)
            if (c.name == "DUSTIN-SVC-HTTP") c.rules.back().target = "DUSTIN-SEP-HTTP9";
    expect_failure(missing, "No such file or directory (rule 3 of nat/DUSTIN-SVC-HTTP)");

    // The nat table is fine but filter, later in the same batch, is not: nat stays as it was too.
    Ruleset late = model;
    for (auto& t : late.tables) {
        if (t.name == "nat") t.chains.clear();  // nat: empty (would delete all of it)
        if (t.name == "filter") {
            REQUIRE(t.chains.size() == 1);
            REQUIRE(t.chains[0].rules.size() == 2);
            t.chains[0].rules[1].target = "NOPE";
        }
    }
    expect_failure(late, "(rule 2 of filter/FORWARD)");

    // The kernel's hook check: MASQUERADE reached from OUTPUT.
    Ruleset hook = model;
    for (auto& t : hook.tables)
        if (t.name == "nat")
            for (auto& c : t.chains)
                if (c.name == "DUSTIN-SEP-HTTP1") c.rules[0].target = "MASQUERADE", c.rules[0].to_destination.clear();
    expect_failure(hook, "Invalid argument");

    // A namespace that does not exist.
    try {
        nft_replace(ns.name() + "-nope", model, kOwned);
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).rfind("program rules in netns " + ns.name() + "-nope: ", 0) == 0);
    }
}

TEST_CASE("nft_replace is idempotent, only touches owned tables, and an empty ruleset removes them") {
    RootUnchanged root;
    ScratchNetns ns("empty");
    // A table netlab does not own survives everything below.
    run_ok(ns, "nft add table ip keepme && nft add chain ip keepme c");
    const Ruleset model = model_after(kArticle.size());
    nft_replace(ns.name(), model, kOwned);
    nft_replace(ns.name(), model, kOwned);  // again: same result, no duplicates
    CHECK(run_ok(ns, "iptables-nft -t nat -S") == render_table(model, "nat"));

    // Only nat owned: filter stays.
    nft_replace(ns.name(), Ruleset{}, {"nat"});
    CHECK(run_ok(ns, "iptables-nft -t nat -S") == render_table(Ruleset{}, "nat"));
    CHECK(run_ok(ns, "iptables-nft -t filter -S") == render_table(model, "filter"));

    nft_replace(ns.name(), Ruleset{}, kOwned);
    CHECK(run_ok(ns, "nft list tables") == "table ip keepme\n");
    CHECK(nft_dump(ns.name(), kOwned).empty());
    CHECK(run_ok(ns, "iptables-nft -t filter -S") == render_table(Ruleset{}, "filter"));
    nft_replace(ns.name(), Ruleset{}, kOwned);  // deleting what is not there is fine
    CHECK(run_ok(ns, "nft list tables") == "table ip keepme\n");

    // A table named in the ruleset but not owned is a programming error; nothing happens.
    CHECK_THROWS_AS(nft_replace(ns.name(), model, {"nat"}), Error);
    CHECK(run_ok(ns, "nft list tables") == "table ip keepme\n");
}

TEST_CASE("nft_dump: rules iptables-nft would not write are kept raw, nft's own spellings decode") {
    RootUnchanged root;
    ScratchNetns ns("raw");
    run_ok(ns, "nft add table ip nat && nft add chain ip nat X && "
               "nft add rule ip nat X meta mark 0x1 counter accept && "
               "nft add rule ip nat X iifname \"eth0\" ip saddr 10.1.0.0/16 tcp dport 80 counter accept");
    auto dump = nft_dump(ns.name(), kOwned);
    REQUIRE(dump.size() == 1);
    REQUIRE(dump[0].chains.size() == 1);
    const auto& rules = dump[0].chains[0].rules;
    REQUIRE(rules.size() == 2);
    CHECK_FALSE(rules[0].decoded);
    CHECK(rules[0].raw.find("meta load mark") != std::string::npos);
    CHECK(rules[1].decoded);  // nft pads iifname to 16 bytes and orders the matches its own way
    CHECK(render_rule("X", rules[1].rule) == "-A X -s 10.1.0.0/16 -i eth0 -p tcp -m tcp --dport 80 -j ACCEPT");

    Ruleset rs = to_ruleset(dump);
    REQUIRE(rs.tables.size() == 1);
    REQUIRE(rs.tables[0].chains[0].rules.size() == 2);
    CHECK(rs.tables[0].chains[0].rules[0].target == "?raw");
    CHECK_FALSE(rs.tables[0].chains[0].builtin);
    CHECK(rs.tables[0].chains[0].policy == "ACCEPT");
}

// Rules a step does not change stay as they are (same kernel handles): removing and making again
// an xt target costs the next commit an RCU grace period. Changed chains are rewritten whole.
TEST_CASE("nft_replace leaves chains whose rules do not change alone and rewrites the others") {
    RootUnchanged root;
    ScratchNetns ns("keep");
    auto handles = [&](const std::string& chain) {  // "# handle N" of every rule of a nat chain
        std::string out = run_ok(ns, "nft -a list chain ip nat " + chain);
        std::vector<std::string> hs;
        std::istringstream lines(out);
        std::string line;
        while (std::getline(lines, line)) {
            auto at = line.find(" # handle ");
            if (at == std::string::npos || line.find("chain ") != std::string::npos) continue;  // the chain's own
            hs.push_back(line.substr(at + 10));
        }
        return hs;
    };
    nft_replace(ns.name(), model_after(7), kOwned);  // up to the DNAT in DUSTIN-SERVICES
    const auto post = handles("POSTROUTING"), services = handles("DUSTIN-SERVICES");
    REQUIRE(post.size() == 1);
    REQUIRE(services.size() == 1);
    nft_replace(ns.name(), model_after(9), kOwned);  // DUSTIN-SVC-HTTP and its DNAT added
    CHECK(handles("POSTROUTING") == post);         // MASQUERADE untouched
    CHECK(handles("DUSTIN-SERVICES") == services);  // its DNAT untouched
    nft_replace(ns.name(), model_after(11), kOwned);  // DUSTIN-SERVICES: DNAT replaced by a jump
    CHECK(handles("POSTROUTING") == post);
    CHECK(handles("DUSTIN-SERVICES") != services);
    CHECK(run_ok(ns, "iptables-nft -t nat -S") == render_table(model_after(11), "nat"));
    nft_replace(ns.name(), model_after(kArticle.size()), kOwned);
    CHECK(run_ok(ns, "iptables-nft -t nat -S") == render_table(model_after(kArticle.size()), "nat"));
    CHECK(run_ok(ns, "iptables-nft -t filter -S") == render_table(model_after(kArticle.size()), "filter"));
}

// Golden tests of the iptables command model: parsing (long and short forms of every command the
// article runs), iptables' apply semantics and error wording, and `iptables-nft -S` rendering. The
// expected texts are written out by hand from iptables' -S format.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "rules/apply.h"
#include "rules/command.h"
#include "rules/render.h"
#include "rules/serialize.h"
#include "rules/words.h"

using netlab::Error;
using netlab::UsageError;
using netlab::rules::IptChain;
using netlab::rules::IptRule;
using netlab::rules::IptTable;
using netlab::rules::Ruleset;
using netlab::rules::apply_command;
using netlab::rules::IptCommand;
using netlab::rules::normalized;
using netlab::rules::parse_iptables;
using netlab::rules::render_rule;
using netlab::rules::render_table;
using netlab::rules::split_words;
using netlab::rules::serialize_rules;
using netlab::rules::deserialize_rules;
using netlab::rules::to_command_line;

namespace {

// Parses a command line as the article writes it (with or without "sudo iptables").
IptCommand P(const std::string& line) {
    auto words = split_words(line);
    while (!words.empty() && (words.front() == "sudo" || words.front() == "iptables")) words.erase(words.begin());
    return parse_iptables(words);
}

void apply(Ruleset& rs, const std::string& line) { apply_command(rs, P(line)); }

std::string usage_error_of(const std::string& line) {
    try {
        P(line);
    } catch (const UsageError& e) {
        return e.what();
    }
    return "(no error)";
}

std::string apply_error_of(Ruleset& rs, const std::string& line) {
    IptCommand c = P(line);
    try {
        apply_command(rs, c);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

// The article's commands in the order it runs them, long form, as printed (backslash continuations).
const char* const kArticleLong[] = {
    "sudo iptables --table filter --append FORWARD --in-interface bridge_home --jump ACCEPT",
    "sudo iptables --table filter --append FORWARD --out-interface bridge_home --jump ACCEPT",
    "sudo iptables --table nat --append POSTROUTING --source 10.0.0.0/24 --jump MASQUERADE",
    "sudo iptables --table nat --new DUSTIN-SERVICES",
    "sudo iptables \\\n  --table nat \\\n  --append PREROUTING \\\n  --jump DUSTIN-SERVICES",
    "sudo iptables \\\n  --table nat \\\n  --append OUTPUT \\\n  --jump DUSTIN-SERVICES",
    "sudo iptables --table nat --append DUSTIN-SERVICES --destination 10.100.100.100 --protocol tcp "
    "--match tcp --dport 8080 --jump DNAT --to-destination 10.0.0.11:8080",
    "sudo iptables \\\n--table nat \\\n--new DUSTIN-SVC-HTTP",
    // The article's listing has blanks after some backslashes.
    "sudo iptables \\  \n  --table nat \\  \n  --append DUSTIN-SVC-HTTP \\  \n  --protocol tcp \\  \n"
    "  --match tcp \\  \n  --jump DNAT \\  \n  --to-destination 10.0.0.11:8080",
    "sudo iptables \\  \n  --table nat \\  \n  --delete DUSTIN-SERVICES \\  \n  --destination 10.100.100.100 \\  \n"
    "  --protocol tcp \\  \n  --match tcp \\  \n  --dport 8080 \\  \n  --jump DNAT \\  \n"
    "  --to-destination 10.0.0.11:8080",
    "sudo iptables \\\n  --table nat \\\n  --append DUSTIN-SERVICES \\\n  --destination 10.100.100.100 \\\n"
    "  --protocol tcp \\\n  --match tcp \\\n  --dport 8080 \\\n  --jump DUSTIN-SVC-HTTP",
    "sudo iptables --table nat --new DUSTIN-SEP-HTTP1",
    "sudo iptables \\\n  --table nat \\\n  --append DUSTIN-SEP-HTTP1 \\\n  --protocol tcp \\\n  --match tcp \\\n"
    "  --jump DNAT \\\n  --to-destination 10.0.0.11:8080",
    "sudo iptables \\\n  --table nat \\\n  --delete DUSTIN-SVC-HTTP \\\n  --protocol tcp \\\n  --match tcp \\\n"
    "  --jump DNAT \\\n  --to-destination 10.0.0.11:8080",
    "sudo iptables \\\n  --table nat \\\n  --append DUSTIN-SVC-HTTP \\\n  --jump DUSTIN-SEP-HTTP1",
    "sudo iptables \\\n  --table nat \\\n  --new DUSTIN-SEP-HTTP2",
    "sudo iptables \\\n  --table nat \\\n  --append DUSTIN-SEP-HTTP2 \\\n  --protocol tcp \\\n  --match tcp \\\n"
    "  --jump DNAT \\\n  --to-destination 10.0.0.21:8080",
    "sudo iptables --table nat --insert DUSTIN-SVC-HTTP 1 --match statistic --mode random --probability 0.5 "
    "--jump DUSTIN-SEP-HTTP2",
};

// The same commands in short form.
const char* const kArticleShort[] = {
    "-t filter -A FORWARD -i bridge_home -j ACCEPT",
    "-t filter -A FORWARD -o bridge_home -j ACCEPT",
    "-t nat -A POSTROUTING -s 10.0.0.0/24 -j MASQUERADE",
    "-t nat -N DUSTIN-SERVICES",
    "-t nat -A PREROUTING -j DUSTIN-SERVICES",
    "-t nat -A OUTPUT -j DUSTIN-SERVICES",
    "-t nat -A DUSTIN-SERVICES -d 10.100.100.100 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.11:8080",
    "-t nat -N DUSTIN-SVC-HTTP",
    "-t nat -A DUSTIN-SVC-HTTP -p tcp -m tcp -j DNAT --to-destination 10.0.0.11:8080",
    "-t nat -D DUSTIN-SERVICES -d 10.100.100.100 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.11:8080",
    "-t nat -A DUSTIN-SERVICES -d 10.100.100.100 -p tcp -m tcp --dport 8080 -j DUSTIN-SVC-HTTP",
    "-t nat -N DUSTIN-SEP-HTTP1",
    "-t nat -A DUSTIN-SEP-HTTP1 -p tcp -m tcp -j DNAT --to-destination 10.0.0.11:8080",
    "-t nat -D DUSTIN-SVC-HTTP -p tcp -m tcp -j DNAT --to-destination 10.0.0.11:8080",
    "-t nat -A DUSTIN-SVC-HTTP -j DUSTIN-SEP-HTTP1",
    "-t nat -N DUSTIN-SEP-HTTP2",
    "-t nat -A DUSTIN-SEP-HTTP2 -p tcp -m tcp -j DNAT --to-destination 10.0.0.21:8080",
    "-t nat -I DUSTIN-SVC-HTTP 1 -m statistic --mode random --probability 0.5 -j DUSTIN-SEP-HTTP2",
};

static_assert(sizeof kArticleLong / sizeof *kArticleLong == sizeof kArticleShort / sizeof *kArticleShort);
constexpr size_t kArticleSteps = sizeof kArticleLong / sizeof *kArticleLong;

const char* const kNatPolicies =
    "-P PREROUTING ACCEPT\n"
    "-P INPUT ACCEPT\n"
    "-P OUTPUT ACCEPT\n"
    "-P POSTROUTING ACCEPT\n";
const char* const kFilterPolicies =
    "-P INPUT ACCEPT\n"
    "-P FORWARD ACCEPT\n"
    "-P OUTPUT ACCEPT\n";

Ruleset article_after(size_t steps) {
    Ruleset rs;
    for (size_t i = 0; i < steps; ++i) apply(rs, kArticleLong[i]);
    return rs;
}

}  // namespace

// ------------------------------------------------------------------------------------------ parse

TEST_CASE("parse: the article's commands, long form") {
    IptCommand c = P(kArticleLong[0]);
    CHECK(c.table == "filter");
    CHECK(c.op == 'A');
    CHECK(c.chain == "FORWARD");
    CHECK(c.position == 0);
    CHECK(c.rule.in_iface == "bridge_home");
    CHECK(c.rule.target == "ACCEPT");
    CHECK_FALSE(c.rule.goto_chain);

    c = P(kArticleLong[1]);
    CHECK(c.rule.out_iface == "bridge_home");
    CHECK(c.rule.in_iface.empty());

    c = P(kArticleLong[2]);
    CHECK(c.table == "nat");
    CHECK(c.chain == "POSTROUTING");
    CHECK(c.rule.src == "10.0.0.0/24");
    CHECK(c.rule.target == "MASQUERADE");

    c = P(kArticleLong[3]);  // --new is getopt's abbreviation of --new-chain
    CHECK(c.op == 'N');
    CHECK(c.chain == "DUSTIN-SERVICES");
    CHECK(c.rule == IptRule{});

    c = P(kArticleLong[4]);
    CHECK(c.op == 'A');
    CHECK(c.chain == "PREROUTING");
    CHECK(c.rule.target == "DUSTIN-SERVICES");

    c = P(kArticleLong[6]);
    IptRule want;
    want.dst = "10.100.100.100/32";
    want.proto = "tcp";
    want.match_proto = true;
    want.dport = 8080;
    want.target = "DNAT";
    want.to_destination = "10.0.0.11:8080";
    CHECK(c.rule == want);
    CHECK(c.chain == "DUSTIN-SERVICES");

    c = P(kArticleLong[8]);
    IptRule dnat;
    dnat.proto = "tcp";
    dnat.match_proto = true;
    dnat.target = "DNAT";
    dnat.to_destination = "10.0.0.11:8080";
    CHECK(c.rule == dnat);

    c = P(kArticleLong[9]);
    CHECK(c.op == 'D');
    CHECK(c.chain == "DUSTIN-SERVICES");
    CHECK(c.position == 0);
    CHECK(c.rule == want);

    c = P(kArticleLong[17]);
    CHECK(c.op == 'I');
    CHECK(c.chain == "DUSTIN-SVC-HTTP");
    CHECK(c.position == 1);
    REQUIRE(c.rule.probability.has_value());
    CHECK(*c.rule.probability == 0.5);
    CHECK(c.rule.target == "DUSTIN-SEP-HTTP2");
    CHECK(c.rule.proto.empty());
}

TEST_CASE("parse: short forms give the same commands as long forms") {
    for (size_t i = 0; i < kArticleSteps; ++i) {
        CAPTURE(kArticleShort[i]);
        CHECK(P(kArticleShort[i]) == P(kArticleLong[i]));
    }
}

TEST_CASE("parse: other spellings iptables accepts") {
    CHECK(P("--table=nat --append=OUTPUT --jump=DUSTIN-SERVICES") == P("-t nat -A OUTPUT -j DUSTIN-SERVICES"));
    CHECK(P("-tnat -AOUTPUT -jDUSTIN-SERVICES") == P("-t nat -A OUTPUT -j DUSTIN-SERVICES"));
    CHECK(P("-t nat --new-chain X") == P("-t nat -N X"));
    CHECK(P("-t nat --src 1.2.3.4 --dst 5.6.7.8 -A X") == P("-t nat -A X -s 1.2.3.4/32 -d 5.6.7.8/32"));
    CHECK(P("-t nat -A X -p tcp --destination-port 80 --source-port 81 -j RETURN") ==
          P("-t nat -A X -p tcp -m tcp --sport 81 --dport 80 -j RETURN"));
    CHECK(P("-t nat -A X -p udp --dport 53 -j RETURN") == P("-t nat -A X -p udp -m udp --dport 53 -j RETURN"));
    CHECK(P("-t nat -A X -j ACCEPT -m tcp -p tcp") == P("-t nat -A X -p tcp -m tcp -j ACCEPT"));
    CHECK(P("-t nat -A X -p TCP") == P("-t nat -A X -p tcp"));
    CHECK(P("-t nat -A X -p 17") == P("-t nat -A X -p udp"));
    CHECK(P("-t nat -A X -p all -j RETURN") == P("-t nat -A X -j RETURN"));
    CHECK(P("-A FORWARD -j ACCEPT").table == "filter");
    CHECK(P("--goto X -t nat -A Y").rule.goto_chain);
    CHECK(P("-t nat --prot tcp -A X").rule.proto == "tcp");  // unambiguous prefix

    CHECK(P("-t nat -A X -s 10.0.0.3/24").rule.src == "10.0.0.0/24");
    CHECK(P("-t nat -A X -d 1.2.3.4/255.255.0.0").rule.dst == "1.2.0.0/16");
    CHECK(P("-t nat -A X -d 1.2.3.4/0").rule.dst.empty());  // matches everything: iptables drops it
    CHECK(P("-t nat -A X -s 0.0.0.0/0").rule.src.empty());
    CHECK(P("-t nat -A X -j DNAT --to-destination 10.0.0.11").rule.to_destination == "10.0.0.11");
    CHECK(P("-t nat -A X -m comment --comment 'hi there' -j RETURN").rule.comment == "hi there");
    CHECK(P("-t nat -A X -m statistic --mode random --probability 0.33333333349").rule.probability ==
          doctest::Approx(0.33333333349));

    IptCommand x = P("-t nat -X");
    CHECK(x.op == 'X');
    CHECK(x.chain.empty());
    CHECK(P("-t nat -X FOO").chain == "FOO");
    CHECK(P("-F").chain.empty());
    CHECK(P("--flush FORWARD").chain == "FORWARD");
    IptCommand pol = P("-P FORWARD DROP");
    CHECK(pol.op == 'P');
    CHECK(pol.chain == "FORWARD");
    CHECK(pol.policy == "DROP");
    IptCommand del = P("-t nat -D DUSTIN-SVC-HTTP 2");
    CHECK(del.position == 2);
    CHECK(del.rule == IptRule{});
}

TEST_CASE("parse: unsupported options and bad values name the offender") {
    CHECK(usage_error_of("-t nat -A X --foo") == "unsupported iptables option '--foo'");
    CHECK(usage_error_of("-t nat -A X -x") == "unsupported iptables option '-x'");
    CHECK(usage_error_of("-t nat -L") == "unsupported iptables option '-L'");
    CHECK(usage_error_of("-t nat -A X ! -s 1.2.3.4") == "unsupported iptables option '!' (negation)");
    CHECK(usage_error_of("-t nat -A X -d 10.0.0.300") == "bad address '10.0.0.300'");
    CHECK(usage_error_of("-t nat -A X -d 10.0.0.3/33") == "bad mask '33' in address '10.0.0.3/33'");
    CHECK(usage_error_of("-t nat -A X -s example.com") == "bad address 'example.com'");
    CHECK(usage_error_of("-t nat -A X -p tcp --dport 99999") == "bad port '99999'");
    CHECK(usage_error_of("-t nat -A X -p tcp --dport http") == "bad port 'http'");
    CHECK(usage_error_of("-t nat -A X -p icmp") == "unsupported protocol 'icmp' (netlab supports tcp and udp)");
    CHECK(usage_error_of("-t nat -A X -m multiport --dports 1,2") ==
          "unsupported iptables match 'multiport' (netlab supports tcp, udp, statistic, comment)");
    CHECK(usage_error_of("-t nat -A X -m statistic --mode nth --every 2") ==
          "unsupported statistic mode 'nth' (netlab supports random)");
    CHECK(usage_error_of("-t nat -A X -m statistic --mode random --probability 1.5") ==
          "bad probability '1.5' (a number from 0 to 1)");
    CHECK(usage_error_of("-t nat -A X -m statistic --probability 0.5") ==
          "statistic: option \"--mode\" must be specified");
    CHECK(usage_error_of("-t nat -A X --probability 0.5") == "option '--probability' requires -m statistic");
    CHECK(usage_error_of("-t nat -A X -m tcp --dport 80") == "TCP match requires '-p tcp'");
    CHECK(usage_error_of("-t nat -A X -p tcp -m udp") == "UDP match requires '-p udp'");
    CHECK(usage_error_of("-t nat -A X --dport 80") == "option '--dport' requires -p tcp or -p udp");
    CHECK(usage_error_of("-t nat -A X -j DNAT") == "DNAT: option \"--to-destination\" must be specified");
    CHECK(usage_error_of("-t nat -A X -j DNAT --to-destination 1.2.3.4:80") ==
          "Need TCP, UDP, SCTP or DCCP with port specification");
    CHECK(usage_error_of("-t nat -A X -p tcp -j DNAT --to-destination 1.2.3.4-1.2.3.5") ==
          "bad --to-destination '1.2.3.4-1.2.3.5' (expected IP or IP:PORT)");
    CHECK(usage_error_of("-t nat -A X -j RETURN --to-destination 1.2.3.4") ==
          "option '--to-destination' requires -j DNAT");
    CHECK(usage_error_of("-A FORWARD -j MASQUERADE") == "-j MASQUERADE is only valid in the nat table");
    CHECK(usage_error_of("-t nat -A X -j REJECT") == "unsupported iptables target 'REJECT'");
    CHECK(usage_error_of("-t nat -A X -g ACCEPT") == "goto 'ACCEPT' is not a chain");
    CHECK(usage_error_of("-t nat -A X -j DROP") ==
          "The \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.");
    CHECK(usage_error_of("-t nat -P PREROUTING DROP") ==
          "The \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.");
    CHECK(usage_error_of("-P FORWARD REJECT") == "Bad policy name");
    CHECK(usage_error_of("-t mangle -A X") == "unsupported iptables table 'mangle' (netlab programs nat and filter)");
    CHECK(usage_error_of("-t nat -A X -j ACCEPT -j RETURN") == "multiple -j flags not allowed");
    CHECK(usage_error_of("-t nat -A X -s 1.2.3.4 -s 2.3.4.5") == "multiple -s flags not allowed");
    CHECK(usage_error_of("-t nat -A X -p tcp --dport 80 --dport 81") == "Only one `--dport' allowed");
    CHECK(usage_error_of("-t nat -A X -D Y") == "Can't use -D with -A (one command per line, at '-D')");
    CHECK(usage_error_of("-t nat") == "no command specified (expected -A, -I, -D, -N, -X, -F or -P)");
    CHECK(usage_error_of("-t nat -A") == "option '-A' requires an argument");
    CHECK(usage_error_of("-t nat -A X foo") == "unexpected argument 'foo'");
    CHECK(usage_error_of("-t nat -D X 0") == "Invalid rule number `0'");
    CHECK(usage_error_of("-t nat -D X 1 -j RETURN") ==
          "-D takes either a rule number or a rule specification, not both");
    CHECK(usage_error_of("-t nat -N X -j RETURN") == "Illegal option `-j' with this command");
    CHECK(usage_error_of("-t nat -N ABCDEFGHIJKLMNOPQRSTUVWXYZ123") ==
          "chain name `ABCDEFGHIJKLMNOPQRSTUVWXYZ123' too long (must be under 29 chars)");
    CHECK_NOTHROW(P("-t nat -N ABCDEFGHIJKLMNOPQRSTUVWXYZ12"));
    CHECK(usage_error_of("-t nat -N ACCEPT") == "chain name may not clash with target name");
    CHECK(usage_error_of("-t nat -N DNAT") == "chain name may not clash with target name");
    CHECK(usage_error_of("-t nat -N 'a b'") == "Invalid chain name `a b'");
    CHECK(usage_error_of("-t nat -A X -i 0123456789abcdef") ==
          "bad interface name '0123456789abcdef' (1 to 15 characters)");
    CHECK_NOTHROW(P("-t nat -A X -i 0123456789abcde"));
    CHECK(usage_error_of("-t nat -A X -m comment") == "comment: option \"--comment\" must be specified");
    CHECK(usage_error_of("-t nat -A X -m comment --comment " + std::string(256, 'x')) ==
          "comment may not exceed 255 characters");
    CHECK(usage_error_of("-t nat --de X") == "ambiguous iptables option '--de' (could be --delete, --delete-chain, "
                                              "--destination, --destination-port)");
}

// ------------------------------------------------------------------------------------------ split_words

TEST_CASE("split_words: plain words, quotes, continuations") {
    using V = std::vector<std::string>;
    CHECK(split_words("  iptables -t nat   -N X ") == V{"iptables", "-t", "nat", "-N", "X"});
    CHECK(split_words("a 'b c' \"d e\"") == V{"a", "b c", "d e"});
    CHECK(split_words("a'b'\"c\"d") == V{"abcd"});
    CHECK(split_words("'' \"\"") == V{"", ""});
    CHECK(split_words(R"(a\ b c\"d)") == V{"a b", "c\"d"});
    CHECK(split_words(R"("a\"b\\c\$d\e")") == V{"a\"b\\c$d\\e"});
    CHECK(split_words("'a\\b'") == V{"a\\b"});
    CHECK(split_words("a \\\n b") == V{"a", "b"});
    CHECK(split_words("a\\\nb") == V{"ab"});
    CHECK(split_words("a \\  \n b") == V{"a", "b"});  // blanks after the backslash, as in the article
    CHECK(split_words("a\tb\nc") == V{"a", "b", "c"});
    CHECK(split_words("a # comment\nb") == V{"a", "b"});
    CHECK(split_words("a#b") == V{"a#b"});
    CHECK(split_words("") == V{});
    CHECK_THROWS_AS(split_words("a 'b"), UsageError);
    CHECK_THROWS_AS(split_words("a \"b"), UsageError);
    CHECK_THROWS_WITH_AS(split_words("echo 'x"), "unterminated ' quote in: echo 'x", UsageError);
}

// ------------------------------------------------------------------------------------------ render

TEST_CASE("render_rule: iptables -S wording and option order") {
    CHECK(render_rule("FORWARD", P("-A FORWARD -i bridge_home -j ACCEPT").rule) ==
          "-A FORWARD -i bridge_home -j ACCEPT");
    CHECK(render_rule("DUSTIN-SERVICES", P(kArticleLong[6]).rule) ==
          "-A DUSTIN-SERVICES -d 10.100.100.100/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.11:8080");
    CHECK(render_rule("DUSTIN-SVC-HTTP", P(kArticleLong[17]).rule) ==
          "-A DUSTIN-SVC-HTTP -m statistic --mode random --probability 0.50000000000 -j DUSTIN-SEP-HTTP2");
    CHECK(render_rule("X", P("-t nat -A X -m statistic --mode random --probability 0.33333333349 -j Y").rule) ==
          "-A X -m statistic --mode random --probability 0.33333333349 -j Y");
    // The kernel keeps lround(p * 2^31); iptables prints that value back.
    CHECK(render_rule("X", P("-t nat -A X -m statistic --mode random --probability 0.333 -j Y").rule) ==
          "-A X -m statistic --mode random --probability 0.33300000010 -j Y");
    CHECK(render_rule("X", P("-t nat -A X -m statistic --mode random --probability 1 -j Y").rule) ==
          "-A X -m statistic --mode random --probability 1.00000000000 -j Y");
    CHECK(render_rule("X", P("-t nat -A X -m statistic --mode random --probability 0 -j Y").rule) ==
          "-A X -m statistic --mode random --probability 0.00000000000 -j Y");
    CHECK(render_rule("X", P("-t nat -A X -g AAA -o eth0 -i veth+ -d 1.2.3.4/31 -s 10.1.0.0/20").rule) ==
          "-A X -s 10.1.0.0/20 -d 1.2.3.4/31 -i veth+ -o eth0 -g AAA");
    CHECK(render_rule("X", P("-t nat -A X -p udp --dport 54 --sport 53 -j RETURN").rule) ==
          "-A X -p udp -m udp --sport 53 --dport 54 -j RETURN");
    CHECK(render_rule("X", P("-t nat -A X -p tcp -j RETURN").rule) == "-A X -p tcp -j RETURN");
    CHECK(render_rule("X", P("-t nat -A X -p udp -m udp").rule) == "-A X -p udp -m udp");
    CHECK(render_rule("X", P("-t nat -A X").rule) == "-A X");
    CHECK(render_rule("X", P("-t nat -A X -j DNAT --to-destination 1.2.3.4").rule) ==
          "-A X -j DNAT --to-destination 1.2.3.4");
    CHECK(render_rule("X", P("-t nat -A X -s 0.0.0.0/0 -j RETURN").rule) == "-A X -j RETURN");
    // All the matches at once: tcp, then statistic, then comment, then the target.
    CHECK(render_rule("X", P("-t nat -A X -m comment --comment svc -m statistic --mode random --probability 0.25 "
                             "-p tcp --dport 80 -j Y").rule) ==
          "-A X -p tcp -m tcp --dport 80 -m statistic --mode random --probability 0.25000000000 "
          "-m comment --comment svc -j Y");
}

TEST_CASE("render_rule: comments quoted like xtables_save_string") {
    auto with_comment = [](const std::string& c) {
        IptRule r;
        r.comment = c;
        r.target = "RETURN";
        return render_rule("X", r);
    };
    CHECK(with_comment("abc_-9") == "-A X -m comment --comment abc_-9 -j RETURN");
    CHECK(with_comment("hi there") == "-A X -m comment --comment \"hi there\" -j RETURN");
    CHECK(with_comment("a\"b") == "-A X -m comment --comment \"a\\\"b\" -j RETURN");
    CHECK(with_comment("a'b\\c") == "-A X -m comment --comment \"a\\'b\\\\c\" -j RETURN");
    CHECK(with_comment("x.y") == "-A X -m comment --comment \"x.y\" -j RETURN");
}

TEST_CASE("render_table: policies of every builtin chain, -N sorted, -A builtin chains first") {
    CHECK(render_table(Ruleset{}, "nat") == kNatPolicies);
    CHECK(render_table(Ruleset{}, "filter") == kFilterPolicies);

    Ruleset rs;
    apply(rs, "-t nat -N b");
    apply(rs, "-t nat -N B");
    apply(rs, "-t nat -N a_b");
    apply(rs, "-t nat -N a-b");
    apply(rs, "-t nat -N 9z");
    apply(rs, "-t nat -A b -j RETURN");
    apply(rs, "-t nat -A POSTROUTING -j RETURN");
    apply(rs, "-t nat -A 9z -j RETURN");
    apply(rs, "-t nat -A PREROUTING -j b");
    // User chains by byte order (strcmp), builtin chains in hook order whatever the creation order.
    CHECK(render_table(rs, "nat") == std::string(kNatPolicies) +
                                         "-N 9z\n"
                                         "-N B\n"
                                         "-N a-b\n"
                                         "-N a_b\n"
                                         "-N b\n"
                                         "-A PREROUTING -j b\n"
                                         "-A POSTROUTING -j RETURN\n"
                                         "-A 9z -j RETURN\n"
                                         "-A b -j RETURN\n");
    CHECK(render_table(rs, "filter") == kFilterPolicies);

    apply(rs, "-P FORWARD DROP");
    CHECK(render_table(rs, "filter") == "-P INPUT ACCEPT\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n");
}

// ------------------------------------------------------------------------------------------ apply

TEST_CASE("apply: the article, state after state") {
    Ruleset rs;
    size_t step = 0;
    auto run_to = [&](size_t n) {
        for (; step < n; ++step) apply(rs, kArticleLong[step]);
    };

    run_to(3);  // FORWARD accepts, MASQUERADE
    CHECK(render_table(rs, "filter") == std::string(kFilterPolicies) +
                                            "-A FORWARD -i bridge_home -j ACCEPT\n"
                                            "-A FORWARD -o bridge_home -j ACCEPT\n");
    CHECK(render_table(rs, "nat") == std::string(kNatPolicies) + "-A POSTROUTING -s 10.0.0.0/24 -j MASQUERADE\n");

    run_to(7);  // the first virtual IP rule
    CHECK(render_table(rs, "nat") ==
          std::string(kNatPolicies) +
              "-N DUSTIN-SERVICES\n"
              "-A PREROUTING -j DUSTIN-SERVICES\n"
              "-A OUTPUT -j DUSTIN-SERVICES\n"
              "-A POSTROUTING -s 10.0.0.0/24 -j MASQUERADE\n"
              "-A DUSTIN-SERVICES -d 10.100.100.100/32 -p tcp -m tcp --dport 8080 -j DNAT "
              "--to-destination 10.0.0.11:8080\n");

    run_to(11);  // the service chain, after the -D
    CHECK(render_table(rs, "nat") ==
          std::string(kNatPolicies) +
              "-N DUSTIN-SERVICES\n"
              "-N DUSTIN-SVC-HTTP\n"
              "-A PREROUTING -j DUSTIN-SERVICES\n"
              "-A OUTPUT -j DUSTIN-SERVICES\n"
              "-A POSTROUTING -s 10.0.0.0/24 -j MASQUERADE\n"
              "-A DUSTIN-SERVICES -d 10.100.100.100/32 -p tcp -m tcp --dport 8080 -j DUSTIN-SVC-HTTP\n"
              "-A DUSTIN-SVC-HTTP -p tcp -m tcp -j DNAT --to-destination 10.0.0.11:8080\n");

    run_to(kArticleSteps);  // two endpoints, the random one inserted first
    CHECK(render_table(rs, "nat") ==
          std::string(kNatPolicies) +
              "-N DUSTIN-SEP-HTTP1\n"
              "-N DUSTIN-SEP-HTTP2\n"
              "-N DUSTIN-SERVICES\n"
              "-N DUSTIN-SVC-HTTP\n"
              "-A PREROUTING -j DUSTIN-SERVICES\n"
              "-A OUTPUT -j DUSTIN-SERVICES\n"
              "-A POSTROUTING -s 10.0.0.0/24 -j MASQUERADE\n"
              "-A DUSTIN-SEP-HTTP1 -p tcp -m tcp -j DNAT --to-destination 10.0.0.11:8080\n"
              "-A DUSTIN-SEP-HTTP2 -p tcp -m tcp -j DNAT --to-destination 10.0.0.21:8080\n"
              "-A DUSTIN-SERVICES -d 10.100.100.100/32 -p tcp -m tcp --dport 8080 -j DUSTIN-SVC-HTTP\n"
              "-A DUSTIN-SVC-HTTP -m statistic --mode random --probability 0.50000000000 -j DUSTIN-SEP-HTTP2\n"
              "-A DUSTIN-SVC-HTTP -j DUSTIN-SEP-HTTP1\n");
    CHECK(render_table(rs, "filter") == std::string(kFilterPolicies) +
                                            "-A FORWARD -i bridge_home -j ACCEPT\n"
                                            "-A FORWARD -o bridge_home -j ACCEPT\n");

    // Builtin chains exist only once used, with policy ACCEPT.
    Ruleset n = normalized(rs);
    REQUIRE(n.tables.size() == 2);
    CHECK(n.tables[0].name == "filter");
    REQUIRE(n.tables[0].chains.size() == 1);
    CHECK(n.tables[0].chains[0].name == "FORWARD");
    CHECK(n.tables[0].chains[0].builtin);
    CHECK(n.tables[0].chains[0].policy == "ACCEPT");
    const auto& nat = n.tables[1];
    std::vector<std::string> names;
    for (const auto& ch : nat.chains) names.push_back(ch.name);
    CHECK(names == std::vector<std::string>{"PREROUTING", "OUTPUT", "POSTROUTING", "DUSTIN-SEP-HTTP1",
                                            "DUSTIN-SEP-HTTP2", "DUSTIN-SERVICES", "DUSTIN-SVC-HTTP"});
}

TEST_CASE("apply: long and short forms build the same ruleset") {
    Ruleset a, b;
    for (size_t i = 0; i < kArticleSteps; ++i) {
        apply(a, kArticleLong[i]);
        apply(b, kArticleShort[i]);
        CHECK(a == b);
    }
}

TEST_CASE("apply: -I positions, -D by number and by specification") {
    Ruleset rs;
    apply(rs, "-A OUTPUT -j ACCEPT");
    apply(rs, "-A OUTPUT -j DROP");
    apply(rs, "-I OUTPUT 3 -j RETURN");  // one past the end is allowed
    apply(rs, "-I OUTPUT -s 1.1.1.1");   // no number: at the top
    apply(rs, "-I OUTPUT 2 -d 2.2.2.2 -j ACCEPT");
    CHECK(render_table(rs, "filter") == std::string(kFilterPolicies) +
                                            "-A OUTPUT -s 1.1.1.1/32\n"
                                            "-A OUTPUT -d 2.2.2.2/32 -j ACCEPT\n"
                                            "-A OUTPUT -j ACCEPT\n"
                                            "-A OUTPUT -j DROP\n"
                                            "-A OUTPUT -j RETURN\n");
    apply(rs, "-D OUTPUT 1");
    apply(rs, "-D OUTPUT -j ACCEPT");  // the first matching rule only
    CHECK(render_table(rs, "filter") == std::string(kFilterPolicies) +
                                            "-A OUTPUT -d 2.2.2.2/32 -j ACCEPT\n"
                                            "-A OUTPUT -j DROP\n"
                                            "-A OUTPUT -j RETURN\n");
    // A specification is compared after canonicalisation, as iptables does.
    apply(rs, "-D OUTPUT -d 2.2.2.2/255.255.255.255 -j ACCEPT");
    CHECK(render_table(rs, "filter") == std::string(kFilterPolicies) + "-A OUTPUT -j DROP\n-A OUTPUT -j RETURN\n");

    Ruleset nat;
    apply(nat, "-t nat -N S");
    apply(nat, "-t nat -A S -m statistic --mode random --probability 0.1 -j RETURN");
    apply(nat, "-t nat -D S -m statistic --mode random --probability 0.10000000009 -j RETURN");
    CHECK(render_table(nat, "nat") == std::string(kNatPolicies) + "-N S\n");
    apply(nat, "-t nat -A S -p tcp --dport 80 -j RETURN");
    apply(nat, "-t nat -D S -p tcp -m tcp --dport 80 -j RETURN");
    CHECK(render_table(nat, "nat") == std::string(kNatPolicies) + "-N S\n");
}

TEST_CASE("apply: -N, -X, -F, -P") {
    Ruleset rs;
    apply(rs, "-t nat -N A");
    apply(rs, "-t nat -N B");
    apply(rs, "-t nat -A A -j B");
    apply(rs, "-t nat -A PREROUTING -j A");
    apply(rs, "-t nat -F A");
    apply(rs, "-t nat -X B");
    CHECK(render_table(rs, "nat") == std::string(kNatPolicies) + "-N A\n-A PREROUTING -j A\n");
    apply(rs, "-t nat -F");
    apply(rs, "-t nat -X");
    CHECK(render_table(rs, "nat") == kNatPolicies);
    // PREROUTING stays (emptied); only user chains go.
    REQUIRE(rs.tables.size() == 1);
    REQUIRE(rs.tables[0].chains.size() == 1);
    CHECK(rs.tables[0].chains[0].name == "PREROUTING");

    // -F of a builtin chain that was never used is fine and creates nothing; -P creates it.
    Ruleset f;
    apply(f, "-F INPUT");
    CHECK(normalized(f).tables.empty());
    apply(f, "-P INPUT DROP");
    CHECK(render_table(f, "filter") == "-P INPUT DROP\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n");
    apply(f, "-P INPUT ACCEPT");
    CHECK(render_table(f, "filter") == kFilterPolicies);
    REQUIRE(f.tables.size() == 1);
    REQUIRE(f.tables[0].chains.size() == 1);
    CHECK(f.tables[0].chains[0].builtin);
}

TEST_CASE("apply: errors use iptables' wording and change nothing") {
    Ruleset rs = article_after(kArticleSteps);
    const Ruleset before = rs;

    CHECK(apply_error_of(rs, "-t nat -D DUSTIN-SERVICES -d 10.100.100.100 -p tcp -m tcp --dport 8080 -j DNAT "
                             "--to-destination 10.0.0.11:8080") ==
          "iptables -t nat -D DUSTIN-SERVICES -d 10.100.100.100/32 -p tcp -m tcp --dport 8080 -j DNAT "
          "--to-destination 10.0.0.11:8080: Bad rule (does a matching rule exist in that chain?)");
    CHECK(apply_error_of(rs, "-t nat -N DUSTIN-SERVICES") ==
          "iptables -t nat -N DUSTIN-SERVICES: Chain already exists");
    CHECK(apply_error_of(rs, "-t nat -N PREROUTING") == "iptables -t nat -N PREROUTING: Chain already exists");
    CHECK(apply_error_of(rs, "-t nat -A NOPE -j RETURN") ==
          "iptables -t nat -A NOPE -j RETURN: No chain/target/match by that name");
    CHECK(apply_error_of(rs, "-t nat -A OUTPUT -j NOPE") ==
          "iptables -t nat -A OUTPUT -j NOPE: Chain 'NOPE' does not exist");
    CHECK(apply_error_of(rs, "-t nat -A OUTPUT -j POSTROUTING") ==
          "iptables -t nat -A OUTPUT -j POSTROUTING: Operation not supported (a rule cannot jump to the builtin "
          "chain POSTROUTING)");
    CHECK(apply_error_of(rs, "-t nat -F NOPE") == "iptables -t nat -F NOPE: No chain/target/match by that name");
    CHECK(apply_error_of(rs, "-t nat -X NOPE") == "iptables -t nat -X NOPE: No chain/target/match by that name");
    CHECK(apply_error_of(rs, "-t nat -X DUSTIN-SVC-HTTP") ==
          "iptables -t nat -X DUSTIN-SVC-HTTP: CHAIN_DEL failed (Device or resource busy): chain DUSTIN-SVC-HTTP");
    CHECK(apply_error_of(rs, "-t nat -X PREROUTING") ==
          "iptables -t nat -X PREROUTING: CHAIN_DEL failed (Device or resource busy): chain PREROUTING");
    CHECK(apply_error_of(rs, "-t nat -X") ==
          "iptables -t nat -X: CHAIN_DEL failed (Device or resource busy): chain DUSTIN-SEP-HTTP1");
    CHECK(apply_error_of(rs, "-t nat -D DUSTIN-SVC-HTTP 3") ==
          "iptables -t nat -D DUSTIN-SVC-HTTP 3: Index of deletion too big");
    CHECK(apply_error_of(rs, "-t nat -I DUSTIN-SVC-HTTP 4 -j RETURN") ==
          "iptables -t nat -I DUSTIN-SVC-HTTP 4 -j RETURN: Index of insertion too big");
    CHECK(apply_error_of(rs, "-t nat -P DUSTIN-SVC-HTTP ACCEPT") ==
          "iptables -t nat -P DUSTIN-SVC-HTTP ACCEPT: Bad built-in chain name");
    CHECK(apply_error_of(rs, "-D INPUT 1") == "iptables -t filter -D INPUT 1: Index of deletion too big");
    CHECK(apply_error_of(rs, "-D INPUT -j ACCEPT") ==
          "iptables -t filter -D INPUT -j ACCEPT: Bad rule (does a matching rule exist in that chain?)");
    CHECK(rs == before);

    // An empty chain still referenced cannot go either; the hint says why.
    Ruleset r2;
    apply(r2, "-t nat -N T");
    apply(r2, "-t nat -A OUTPUT -j T");
    try {
        apply(r2, "-t nat -X T");
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()) == "iptables -t nat -X T: CHAIN_DEL failed (Device or resource busy): chain T");
        CHECK(e.hint() == "chain T is the target of 1 rule(s)");
    }
}

// ------------------------------------------------------------------------------------------ misc

TEST_CASE("to_command_line: shell words that parse back to the same command") {
    CHECK(to_command_line(P("-t nat -A OUTPUT -j DUSTIN-SERVICES")) == "iptables -t nat -A OUTPUT -j DUSTIN-SERVICES");
    CHECK(to_command_line(P("-A FORWARD -i bridge_home -j ACCEPT")) ==
          "iptables -t filter -A FORWARD -i bridge_home -j ACCEPT");
    CHECK(to_command_line(P(kArticleLong[17])) ==
          "iptables -t nat -I DUSTIN-SVC-HTTP 1 -m statistic --mode random --probability 0.5 -j DUSTIN-SEP-HTTP2");
    CHECK(to_command_line(P("-t nat -A X -m statistic --mode random --probability 0.333 -j Y")) ==
          "iptables -t nat -A X -m statistic --mode random --probability 0.333 -j Y");
    CHECK(to_command_line(P("-t nat -N X")) == "iptables -t nat -N X");
    CHECK(to_command_line(P("-t nat -X")) == "iptables -t nat -X");
    CHECK(to_command_line(P("-F FORWARD")) == "iptables -t filter -F FORWARD");
    CHECK(to_command_line(P("-P FORWARD DROP")) == "iptables -t filter -P FORWARD DROP");
    CHECK(to_command_line(P("-t nat -D X 2")) == "iptables -t nat -D X 2");
    CHECK(to_command_line(P("-t nat -A X -m comment --comment \"it's here\" -j RETURN")) ==
          "iptables -t nat -A X -m comment --comment 'it'\\''s here' -j RETURN");

    const char* const lines[] = {
        "-t nat -A X -m comment --comment \"it's \\\"here\\\"\" -j RETURN",
        "-t nat -A X -s 10.1.0.0/20 -d 1.2.3.4/31 -i veth+ -o eth0 -p udp --sport 1 --dport 2 -g Y",
        "-t nat -A X -p tcp -j DNAT --to-destination 1.2.3.4:80",
        "-t nat -I X 2 -p tcp --dport 80 -m statistic --mode random --probability 0.33333333349 -j Y",
        "-t nat -D X -m statistic --mode random --probability 0.1 -j Y",
    };
    for (const char* l : lines) {
        IptCommand c = P(l);
        CAPTURE(l);
        CHECK(P(to_command_line(c)) == c);
    }
    for (size_t i = 0; i < kArticleSteps; ++i) {
        IptCommand c = P(kArticleLong[i]);
        CHECK(P(to_command_line(c)) == c);
    }
}

TEST_CASE("normalized: canonical order, kernel probabilities, empty tables dropped") {
    Ruleset rs;
    IptTable nat{"nat", {}};
    IptChain user_b{"b", false, "ACCEPT", {}};
    IptChain user_a{"a", false, "ACCEPT", {}};
    IptChain post{"POSTROUTING", true, "ACCEPT", {}};
    IptChain pre{"PREROUTING", true, "ACCEPT", {}};
    IptRule r;
    r.probability = 0.333;
    r.target = "a";
    pre.rules.push_back(r);
    nat.chains = {user_b, post, user_a, pre};
    rs.tables = {nat, IptTable{"filter", {}}};

    Ruleset n = normalized(rs);
    REQUIRE(n.tables.size() == 1);
    std::vector<std::string> names;
    for (const auto& ch : n.tables[0].chains) names.push_back(ch.name);
    CHECK(names == std::vector<std::string>{"PREROUTING", "POSTROUTING", "a", "b"});
    REQUIRE(n.tables[0].chains[0].rules.size() == 1);
    CHECK(*n.tables[0].chains[0].rules[0].probability == 715112055.0 / 2147483648.0);
    CHECK(normalized(n) == n);
}

TEST_CASE("serialize_rules: the journal form lists policies, chains and rules, and reads back") {
    Ruleset rs;
    for (size_t i = 0; i < kArticleSteps; ++i) apply(rs, kArticleShort[i]);
    std::string text = serialize_rules(rs);
    CHECK(text.find("-t nat -N DUSTIN-SERVICES\n") != std::string::npos);
    CHECK(text.find("-t filter -P FORWARD ACCEPT\n") != std::string::npos);
    CHECK(text.find("-t nat -A DUSTIN-SVC-HTTP -m statistic --mode random --probability 0.50000000000 -j DUSTIN-SEP-HTTP2\n") !=
          std::string::npos);
    CHECK(normalized(deserialize_rules(text)) == normalized(rs));
    CHECK(deserialize_rules("").tables.empty());
}

TEST_CASE("find_table, find_chain, rule_count") {
    Ruleset rs;
    for (size_t i = 0; i < kArticleSteps; ++i) apply(rs, kArticleShort[i]);
    const Ruleset& c = rs;
    REQUIRE(netlab::rules::find_table(c, "nat") != nullptr);
    CHECK(netlab::rules::find_table(c, "mangle") == nullptr);
    IptTable* nat = netlab::rules::find_table(rs, "nat");
    REQUIRE(nat != nullptr);
    REQUIRE(netlab::rules::find_chain(*nat, "DUSTIN-SVC-HTTP") != nullptr);
    CHECK(netlab::rules::find_chain(*nat, "DUSTIN-SVC-HTTP")->rules.size() == 2);
    CHECK(netlab::rules::find_chain(*nat, "NOPE") == nullptr);
    // filter: 2 FORWARD rules; nat: POSTROUTING, PREROUTING, OUTPUT, SERVICES, SVC (2), SEP1, SEP2.
    CHECK(netlab::rules::rule_count(rs) == 10);
    CHECK(netlab::rules::rule_count(Ruleset{}) == 0);
}

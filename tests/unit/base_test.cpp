// base/: "did you mean", IPv4 parsing, with_context.
#include <doctest/doctest.h>

#include "base/did_you_mean.h"
#include "base/error.h"
#include "base/ipv4.h"

using namespace netlab;

TEST_CASE("closest finds typos, swaps, case and prefixes, and nothing far away") {
    std::vector<std::string> ids{"hairpin", "bridge", "virtual-ip", "br-netfilter"};
    CHECK(closest("hairpn", ids) == "hairpin");
    CHECK(closest("hiarpin", ids) == "hairpin");  // adjacent swap is one edit
    CHECK(closest("HAIRPIN", ids) == "hairpin");
    CHECK(closest("virt", ids) == "virtual-ip");  // prefix
    CHECK(closest("zzzzzz", ids) == "");
    CHECK(closest("", ids) == "");
    CHECK(did_you_mean("brdge", ids) == " (did you mean 'bridge'?)");
    CHECK(did_you_mean("qqqq", ids) == "");
    CHECK(unknown("step", "brdge", ids) == "unknown step 'brdge' (did you mean 'bridge'?)");
}

TEST_CASE("IPv4 addresses: dotted quads only") {
    CHECK(parse_ipv4("10.0.0.1")->host == 0x0a000001u);
    CHECK(parse_ipv4("10.0.0.1")->str() == "10.0.0.1");
    CHECK_FALSE(parse_ipv4(""));
    CHECK_FALSE(parse_ipv4("10.1"));
    CHECK_FALSE(parse_ipv4("10.0.0.256"));
    CHECK_FALSE(parse_ipv4("10.0.0.1 "));
    CHECK_FALSE(parse_ipv4("localhost"));
}

TEST_CASE("IPv4 prefixes and masks") {
    auto c = parse_ipv4_cidr("10.0.0.3/24");
    REQUIRE(c);
    CHECK(c->prefix == 24);
    CHECK(c->str() == "10.0.0.3/24");
    CHECK(c->network().str() == "10.0.0.0");
    CHECK(c->contains(*parse_ipv4("10.0.0.200")));
    CHECK_FALSE(c->contains(*parse_ipv4("10.0.1.1")));
    CHECK(parse_ipv4_cidr("1.2.3.4")->prefix == 32);
    CHECK_FALSE(parse_ipv4_cidr("1.2.3.4", true));
    CHECK_FALSE(parse_ipv4_cidr("1.2.3.4/33"));
    CHECK_FALSE(parse_ipv4_cidr("1.2.3.4/"));
    CHECK_FALSE(parse_ipv4_cidr("1.2.3.4/-1"));
    CHECK(parse_ipv4_cidr("0.0.0.0/0")->contains(*parse_ipv4("203.0.113.9")));
    CHECK(parse_ipv4_cidr_or_mask("1.2.3.4/255.255.0.0")->prefix == 16);
    CHECK_FALSE(parse_ipv4_cidr_or_mask("1.2.3.4/255.0.255.0"));
    CHECK(prefix_of_mask(0xffffff00u) == 24);
    CHECK(prefix_of_mask(0) == 0);
    CHECK(prefix_of_mask(0xff00ff00u) == -1);
    CHECK(mask_of_prefix(0) == 0);
    CHECK(mask_of_prefix(32) == 0xffffffffu);
    CHECK(mask_of_prefix(8) == 0xff000000u);
}

TEST_CASE("ports") {
    CHECK(parse_port("8080") == 8080);
    CHECK(parse_port("0") == 0);
    CHECK(parse_port("65535") == 65535);
    CHECK_FALSE(parse_port("65536"));
    CHECK_FALSE(parse_port("-1"));
    CHECK_FALSE(parse_port("80a"));
    CHECK_FALSE(parse_port(""));
}

TEST_CASE("with_context adds the context once and keeps the error's type and hint") {
    try {
        with_context("read rules in netns x", [] { throw UsageError("bad thing", "do this"); });
        FAIL("no throw");
    } catch (const UsageError& e) {
        CHECK(std::string(e.what()) == "read rules in netns x: bad thing");
        CHECK(e.hint() == "do this");
    }
    try {
        with_context("outer", [] { throw Error("inner"); });
        FAIL("no throw");
    } catch (const UsageError&) {
        FAIL("an Error became a UsageError");
    } catch (const Error& e) {
        CHECK(std::string(e.what()) == "outer: inner");
    }
    CHECK(with_context("ctx", [] { return 42; }) == 42);
}

#include <doctest/doctest.h>

#include "base/error.h"
#include "base/did_you_mean.h"
#include "lab/params.h"

using namespace netlab;

static lab::Params P(const char* toml) { return lab::Params(toml::parse(toml), "t.toml:3"); }

TEST_CASE("params read typed fields and name the tutorial line in errors") {
    auto p = P("kind = 'x'\nname = 'a'\nport = 8080\nlist = ['u', 'v']\none = 'w'\nflag = true\nprob = 0.5\n");
    CHECK(p.str("name") == "a");
    CHECK(p.integer("port") == 8080);
    CHECK(p.number_or("prob", 0) == doctest::Approx(0.5));
    CHECK(p.number_or("port", 0) == doctest::Approx(8080));
    CHECK(p.strings("list") == std::vector<std::string>{"u", "v"});
    CHECK(p.strings("one") == std::vector<std::string>{"w"});
    CHECK(p.boolean_or("flag", false));
    CHECK(p.str_or("absent", "d") == "d");
    try {
        p.str("missing");
        FAIL("no error");
    } catch (const UsageError& e) {
        CHECK(std::string(e.what()) == "t.toml:3: missing field 'missing'");
    }
    CHECK_THROWS_WITH_AS(p.str("port"), "t.toml:3: field 'port' must be a string", UsageError);
    CHECK_THROWS_AS(p.integer("name"), UsageError);
    CHECK_THROWS_AS(p.boolean_or("name", false), UsageError);
}

TEST_CASE("unknown fields are rejected with a suggestion") {
    auto p = P("kind = 'x'\nnmae = 'a'\n");
    CHECK_THROWS_WITH_AS(p.only({"name", "ns"}), "t.toml:3: unknown field 'nmae' (did you mean 'name'?)", UsageError);
    auto q = P("kind = 'x'\nname = 'a'\n");
    CHECK_NOTHROW(q.only({"name"}));
}

TEST_CASE("closest suggests near words only") {
    std::vector<std::string> ids = {"forwarding", "bridge", "hairpin", "virtual-ip"};
    CHECK(closest("hairpn", ids) == "hairpin");
    CHECK(closest("brdge", ids) == "bridge");
    CHECK(closest("virtual", ids) == "virtual-ip");
    CHECK(closest("zzzzzz", ids) == "");
}

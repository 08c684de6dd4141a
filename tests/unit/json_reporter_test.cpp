// lab/json_reporter.h: the status object keeps the fields `netlab status --json` always had, in
// their order; each event is one parseable JSON line.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "lab/json_reporter.h"
#include "lab/tutorial.h"

using namespace netlab::lab;

TEST_CASE("json reporter: status as one compact line, next null when all is applied") {
    std::ostringstream out, text;
    JsonReporter r(out, text);
    r.status({"default", "article", "applied", {"a", "b"}, "", "", 2});
    CHECK(out.str() == "{\"lab\":\"default\",\"tutorial\":\"article\",\"state\":\"applied\",\"applied\":[\"a\",\"b\"],"
                       "\"next\":null,\"steps\":2}\n");
    std::ostringstream clean;
    JsonReporter(clean, text).status({"x", "t\"q", "clean", {}, "a", "A", 2});
    auto j = nlohmann::json::parse(clean.str());
    CHECK(j["tutorial"] == "t\"q");
    CHECK(j["applied"].empty());
    CHECK(j["next"] == "a");
    CHECK(j["steps"] == 2);
    CHECK(text.str().empty());
}

TEST_CASE("json reporter: a step with its failed check, and an ending, one object per line") {
    std::ostringstream out, text;
    JsonReporter r(out, text);
    StepOutcome o;
    o.kind = StepOutcome::Kind::Applied;
    o.id = "bridge";
    o.title = "Create the bridge";
    o.ok = false;
    o.checks = {{false, "bridge_home is up", "up", "down", ""}};
    r.step(o);
    r.ended({Ending::Kind::ChecksFailed, "default", "", "bridge", "", ""});
    std::istringstream lines(out.str());
    std::string line;
    REQUIRE(std::getline(lines, line));
    auto step = nlohmann::json::parse(line);
    CHECK(step["event"] == "step");
    CHECK(step["kind"] == "applied");
    CHECK(step["id"] == "bridge");
    CHECK(step["ok"] == false);
    CHECK(step["checks"][0]["expected"] == "up");
    CHECK(step["checks"][0]["observed"] == "down");
    REQUIRE(std::getline(lines, line));
    auto end = nlohmann::json::parse(line);
    CHECK(end["event"] == "ended");
    CHECK(end["kind"] == "checks-failed");
    CHECK(end["step"] == "bridge");
    CHECK_FALSE(std::getline(lines, line));
}

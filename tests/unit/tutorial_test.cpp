#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "base/error.h"
#include "lab/tutorial.h"

using namespace netlab;
namespace fs = std::filesystem;

namespace {

class Nop : public lab::Action {
public:
    explicit Nop(const lab::Params& p) { p.only({"name"}); }
    std::string describe(const lab::LabNames&) const override { return "nop"; }
    std::vector<std::string> commands(const lab::LabNames&) const override { return {}; }
    void apply(lab::Context&) override {}
    std::vector<lab::Check> check(lab::Context&) override { return {}; }
};

std::string load_error(const std::string& toml) {
    char tmpl[] = "/tmp/netlab-tut-XXXXXX";
    fs::path dir = ::mkdtemp(tmpl);
    fs::path f = dir / "bad.toml";
    std::ofstream(f) << toml;
    lab::Registry reg;
    reg.add_action("nop", [](const lab::Params& p) { return std::make_unique<Nop>(p); });
    std::string msg;
    try {
        lab::load_tutorial(f, reg);
    } catch (const UsageError& e) {
        msg = e.what();
    }
    fs::remove_all(dir);
    // Report the message relative to the file name only.
    auto pos = msg.find("bad.toml");
    return pos == std::string::npos ? msg : msg.substr(pos);
}

}  // namespace

TEST_CASE("malformed tutorials give file:line: message") {
    CHECK(load_error("title = \"x\"\n[[step]\n") .rfind("bad.toml:2:", 0) == 0);
    CHECK(load_error("title = \"x\"\n") == "bad.toml: a tutorial needs at least one [[step]]");
    CHECK(load_error("[[step]]\nid = \"a\"\ntitle = \"t\"\n[[step.action]]\nkind = \"nop\"\n[[step]]\nid = \"a\"\ntitle = \"u\"\n"
                     "[[step.action]]\nkind = \"nop\"\n") == "bad.toml:6: duplicate step id 'a'");
    CHECK(load_error("[[step]]\nid = \"a\"\ntitle = \"t\"\n[[step.action]]\nkind = \"nopp\"\n") ==
          "bad.toml:4: unknown action kind 'nopp' (did you mean 'nop'?)");
    CHECK(load_error("[[step]]\nid = \"a\"\n[[step.action]]\nkind = \"nop\"\n") == "bad.toml:1: missing field 'title'");
    CHECK(load_error("[[step]]\nid = \"A b\"\ntitle = \"t\"\n[[step.action]]\nkind = \"nop\"\n") ==
          "bad.toml:1: step id 'A b' must be lower-case letters, digits and '-'");
    CHECK(load_error("[[step]]\nid = \"a\"\ntitle = \"t\"\n") == "bad.toml:1: step 'a' has no [[step.action]]");
    CHECK(load_error("[[step]]\nid = \"a\"\ntitel = \"t\"\n") == "bad.toml:3: unknown step field 'titel' (did you mean 'title'?)");
    CHECK(load_error("[[step]]\nid = \"a\"\ntitle = \"t\"\n[[step.action]]\nkind = \"nop\"\nnmae = 1\n") ==
          "bad.toml:4: unknown field 'nmae' (did you mean 'name'?)");
}

TEST_CASE("find_tutorial suggests a near name") {
    fs::path here = fs::path(std::getenv("NETLAB_TUTORIALS") ? std::getenv("NETLAB_TUTORIALS") : "tutorials");
    CHECK(lab::find_tutorial("article", "") == here / "article.toml");
    CHECK_THROWS_WITH_AS(lab::find_tutorial("artcle", ""), "unknown tutorial 'artcle' (did you mean 'article'?)", UsageError);
}

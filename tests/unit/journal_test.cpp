#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "base/error.h"
#include "lab/fs.h"
#include "lab/journal.h"

using namespace netlab;
namespace fs = std::filesystem;

namespace {
struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/netlab-unit-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};
}  // namespace

TEST_CASE("journal records survive a reload, in order, with their data") {
    TempDir d;
    auto file = d.path / "journal.toml";
    {
        lab::Journal j(file);
        CHECK(j.empty());
        j.set_meta("tutorial", "article");
        j.begin_step("a");
        auto s1 = j.record("a", "netns", {{"name", "x"}});
        j.confirm(s1);
        auto s2 = j.record("a", "sysctl", {{"prior", "0"}, {"quote", "a \"q\" \\ \n"}});
        (void)s2;  // left pending: as if the process died during the change
        j.finish_step("a");
    }
    lab::Journal j(file);
    REQUIRE(j.steps().size() == 1);
    CHECK(j.steps()[0].id == "a");
    CHECK(j.steps()[0].state == lab::StepState::Applied);
    CHECK(j.meta("tutorial") == "article");
    auto recs = j.records("a");
    REQUIRE(recs.size() == 2);
    CHECK(recs[0].kind == "netns");
    CHECK(recs[0].done);
    CHECK(recs[0].data.at("name") == "x");
    CHECK(recs[1].kind == "sysctl");
    CHECK_FALSE(recs[1].done);
    CHECK(recs[1].data.at("quote") == "a \"q\" \\ \n");
    CHECK(recs[1].seq > recs[0].seq);
    // New records continue the sequence after a reload.
    auto s3 = j.record("a", "x", {});
    CHECK(s3 > recs[1].seq);
}

TEST_CASE("journal erase and forget leave an empty journal") {
    TempDir d;
    lab::Journal j(d.path / "j.toml");
    j.begin_step("s");
    auto seq = j.record("s", "k", {});
    j.confirm(seq, {{"pid", "42"}});
    CHECK(j.records("s").at(0).data.at("pid") == "42");
    j.erase(seq);
    j.forget_step("s");
    CHECK(j.empty());
    lab::Journal again(d.path / "j.toml");
    CHECK(again.empty());
}

TEST_CASE("a corrupt or truncated journal is a clear error that points to reset") {
    TempDir d;
    auto file = d.path / "journal.toml";
    {
        lab::Journal j(file);
        j.begin_step("s");
        j.record("s", "k", {{"a", "b"}});
    }
    auto text = *lab::read_file(file);
    lab::write_file_atomic(file, text.substr(0, text.size() / 2) + "[[[");
    try {
        lab::Journal j(file);
        FAIL("a corrupt journal was accepted");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("is corrupt") != std::string::npos);
        CHECK(e.hint().find("netlab reset") != std::string::npos);
    }
    lab::write_file_atomic(file, "version = 7\n");
    CHECK_THROWS_AS(lab::Journal{file}, Error);
}

TEST_CASE("hex round trip keeps bytes exactly") {
    std::string bytes("a\0b\xff\n", 5);
    CHECK(lab::hex_encode(bytes) == "610062ff0a");
    CHECK(lab::hex_decode("610062ff0a") == bytes);
    CHECK_THROWS_AS(lab::hex_decode("6"), Error);
    CHECK_THROWS_AS(lab::hex_decode("zz"), Error);
}

TEST_CASE("write_file_atomic replaces content and mode; read_file tells absence") {
    TempDir d;
    auto f = d.path / "f";
    CHECK_FALSE(lab::read_file(f).has_value());
    lab::write_file_atomic(f, "one", 0600);
    lab::write_file_atomic(f, "two", 0644);
    CHECK(*lab::read_file(f) == "two");
    CHECK((fs::status(f).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write |
                                                              fs::perms::group_read | fs::perms::others_read));
    lab::remove_file(f);
    lab::remove_file(f);  // absent is fine
    CHECK_FALSE(fs::exists(f));
}

// The engine against fake step kinds that only touch an in-memory "kernel": ordering, idempotence,
// undo from the journal, rollback of a failing step and recovery after an interrupted one.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

#include "base/error.h"
#include "lab/runner.h"
#include "lab/tutorial.h"

using namespace netlab;
namespace fs = std::filesystem;

namespace {

std::set<std::string> g_kernel;  // the fake kernel: names of things that exist
int g_changes = 0;

class FakeAction : public lab::Action {
public:
    explicit FakeAction(const lab::Params& p) : name_(p.str("name")), fail_(p.boolean_or("fail", false)) {
        p.only({"name", "fail"});
    }
    std::string describe(const lab::LabNames&) const override { return "make " + name_; }
    std::vector<std::string> commands(const lab::LabNames&) const override { return {"make " + name_}; }
    void apply(lab::Context& ctx) override {
        if (fail_) throw Error("make " + name_ + ": it failed on purpose");
        ctx.change("fake", {{"name", name_}}, [&] {
            g_kernel.insert(name_);
            ++g_changes;
        });
    }
    std::vector<lab::Check> check(lab::Context&) override {
        return {{g_kernel.count(name_) > 0, name_ + " exists", "present", "absent", ""}};
    }

private:
    std::string name_;
    bool fail_;
};

lab::Registry fake_registry() {
    lab::Registry reg;
    reg.add_action("fake", [](const lab::Params& p) { return std::make_unique<FakeAction>(p); });
    reg.add_undo("fake", [](lab::Context&, const lab::Record& r) {
        g_kernel.erase(r.data.at("name"));
        ++g_changes;
    });
    return reg;
}

struct Fixture {
    fs::path dir;
    fs::path tut;
    lab::Registry reg = fake_registry();
    Fixture(const std::string& toml) {
        char tmpl[] = "/tmp/netlab-runner-XXXXXX";
        dir = ::mkdtemp(tmpl);
        tut = dir / "t.toml";
        std::ofstream(tut) << toml;
        g_kernel.clear();
        g_changes = 0;
    }
    ~Fixture() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

const char* kThree = R"(
title = "three"
[[step]]
id = "one"
title = "first"
  [[step.action]]
  kind = "fake"
  name = "a"
[[step]]
id = "two"
title = "second"
  [[step.action]]
  kind = "fake"
  name = "b"
  [[step.action]]
  kind = "fake"
  name = "c"
[[step]]
id = "three"
title = "third"
  [[step.action]]
  kind = "fake"
  name = "d"
)";

}  // namespace

TEST_CASE("run --until applies a prefix; run again applies only what is missing") {
    Fixture f(kThree);
    auto t = lab::load_tutorial(f.tut, f.reg);
    std::ostringstream out;
    lab::Runner r(t, f.reg, {"default"}, f.dir / "state", "/bin/true", out);
    CHECK(r.run({"one", true, {}}) == 0);
    CHECK(g_kernel == std::set<std::string>{"a"});
    CHECK(r.applied() == std::vector<std::string>{"one"});
    g_changes = 0;
    CHECK(r.run({"three", true, {}}) == 0);
    CHECK(g_kernel == std::set<std::string>{"a", "b", "c", "d"});
    CHECK(g_changes == 3);  // a was not made again
    g_changes = 0;
    std::ostringstream again;
    lab::Runner r2(t, f.reg, {"default"}, f.dir / "state", "/bin/true", again);
    CHECK(r2.run({"", true, {}}) == 0);
    CHECK(g_changes == 0);
    CHECK(again.str().find("already applied") != std::string::npos);
    // Asking for an earlier step when later ones are applied changes nothing.
    CHECK(r2.run({"one", true, {}}) == 0);
    CHECK(g_changes == 0);
}

TEST_CASE("undo walks back one step, to a step, or all, and leaves no state behind") {
    Fixture f(kThree);
    auto t = lab::load_tutorial(f.tut, f.reg);
    std::ostringstream out;
    lab::Runner r(t, f.reg, {"default"}, f.dir / "state", "/bin/true", out);
    REQUIRE(r.run({"", true, {}}) == 0);
    lab::UndoOptions one;
    CHECK(r.undo(one) == 0);
    CHECK(g_kernel == std::set<std::string>{"a", "b", "c"});
    lab::UndoOptions to;
    to.to = "one";
    CHECK(r.undo(to) == 0);
    CHECK(g_kernel == std::set<std::string>{"a"});
    lab::UndoOptions all;
    all.all = true;
    CHECK(r.undo(all) == 0);
    CHECK(g_kernel.empty());
    CHECK_FALSE(fs::exists(f.dir / "state" / "default"));
    CHECK(r.undo(all) == 0);  // nothing to undo is not an error
}

TEST_CASE("a failing action rolls back its step and keeps earlier steps") {
    Fixture f(std::string(kThree) + R"(
[[step]]
id = "broken"
title = "fails half-way"
  [[step.action]]
  kind = "fake"
  name = "e"
  [[step.action]]
  kind = "fake"
  name = "f"
  fail = true
)");
    auto t = lab::load_tutorial(f.tut, f.reg);
    std::ostringstream out;
    lab::Runner r(t, f.reg, {"default"}, f.dir / "state", "/bin/true", out);
    CHECK(r.run({"", true, {}}) == 1);
    CHECK(g_kernel == std::set<std::string>{"a", "b", "c", "d"});  // e was rolled back
    CHECK(r.applied() == std::vector<std::string>{"one", "two", "three"});
    CHECK(out.str().find("it failed on purpose") != std::string::npos);
}

TEST_CASE("a step left half-done by a dead process is rolled back first") {
    Fixture f(kThree);
    auto t = lab::load_tutorial(f.tut, f.reg);
    {
        lab::Journal j(f.dir / "state" / "default" / "journal.toml");
        j.set_meta("tutorial", "t");
        j.begin_step("one");
        j.confirm(j.record("one", "fake", {{"name", "a"}}));
        j.finish_step("one");
        j.begin_step("two");
        j.confirm(j.record("two", "fake", {{"name", "b"}}));
        j.record("two", "fake", {{"name", "c"}});  // pending: died during the change
    }
    g_kernel = {"a", "b", "c"};
    std::ostringstream out;
    lab::Runner r(t, f.reg, {"default"}, f.dir / "state", "/bin/true", out);
    CHECK(r.run({"two", true, {}}) == 0);
    CHECK(out.str().find("rolling it back") != std::string::npos);
    CHECK(g_kernel == std::set<std::string>{"a", "b", "c"});
    CHECK(r.applied() == std::vector<std::string>{"one", "two"});
}

TEST_CASE("unknown steps are usage errors that list the valid ids") {
    Fixture f(kThree);
    auto t = lab::load_tutorial(f.tut, f.reg);
    std::ostringstream out;
    lab::Runner r(t, f.reg, {"default"}, f.dir / "state", "/bin/true", out);
    try {
        r.run({"thre", true, {}});
        FAIL("no error");
    } catch (const UsageError& e) {
        std::string m = e.what();
        CHECK(m.find("unknown step 'thre' (did you mean 'three'?)") != std::string::npos);
        CHECK(m.find("one two three") != std::string::npos);
    }
    lab::UndoOptions o;
    o.to = "nope";
    CHECK_THROWS_AS(r.undo(o), UsageError);
    CHECK(g_kernel.empty());
}

TEST_CASE("verify reads state back and reports what is missing") {
    Fixture f(kThree);
    auto t = lab::load_tutorial(f.tut, f.reg);
    std::ostringstream out;
    lab::Runner r(t, f.reg, {"default"}, f.dir / "state", "/bin/true", out);
    REQUIRE(r.run({"two", true, {}}) == 0);
    CHECK(r.verify() == 0);
    g_kernel.erase("c");  // someone removed it behind netlab's back
    std::ostringstream out2;
    lab::Runner r2(t, f.reg, {"default"}, f.dir / "state", "/bin/true", out2);
    CHECK(r2.verify() == 1);
    CHECK(out2.str().find("c exists") != std::string::npos);
    CHECK(out2.str().find("observed: absent") != std::string::npos);
}

#include <sys/wait.h>

#include <chrono>
#include <thread>
#include <atomic>
#include <memory>

#include "lab/lock.h"

TEST_CASE("two netlab commands on one lab never interleave: the second says who holds the lock and waits") {
    char tmpl[] = "/tmp/netlab-lock-XXXXXX";
    fs::path dir = ::mkdtemp(tmpl);
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        std::ostringstream sink;
        lab::LabLock held(dir, sink);
        (void)!::write(ready[1], "x", 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        ::_exit(0);
    }
    char c;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    {
        std::ostringstream out;
        CHECK_THROWS_AS(lab::LabLock(dir, out, 0), Error);  // held: no waiting allowed
        CHECK(out.str().find("pid " + std::to_string(child)) != std::string::npos);
    }
    auto t0 = std::chrono::steady_clock::now();
    std::ostringstream out;
    {
        lab::LabLock mine(dir, out, 10);
    }
    auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(out.str().find("the lab is busy") != std::string::npos);
    CHECK(waited > std::chrono::milliseconds(100));  // it really waited for the holder
    ::waitpid(child, nullptr, 0);
    ::close(ready[0]);
    ::close(ready[1]);
    fs::remove_all(dir);
}

// undo --all and reset remove the lab's state directory, lock file included, while holding the
// lock. A netlab that waited on that file must not think it holds the lock once it is released:
// a third netlab that came meanwhile locked the new file, and the two would interleave.
TEST_CASE("a lock file removed by its holder does not give the waiter a lock on the removed file") {
    char tmpl[] = "/tmp/netlab-lock-XXXXXX";
    fs::path dir = ::mkdtemp(tmpl);
    std::ostringstream sink;
    auto first = std::make_unique<lab::LabLock>(dir, sink);
    std::atomic<bool> second_has_it{false};
    std::thread waiter([&] {
        std::ostringstream out;
        lab::LabLock second(dir, out, 10);  // waits on the file the first one holds
        second_has_it = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the waiter is waiting now
    REQUIRE_FALSE(second_has_it.load());
    fs::remove_all(dir);  // the holder removes the lab's state, as undo --all does
    std::unique_ptr<lab::LabLock> third;
    third = std::make_unique<lab::LabLock>(dir, sink, 0);  // a new netlab locks the new file at once
    first.reset();                                          // the first one exits
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK_FALSE(second_has_it.load());  // must still wait: the third one holds the lab
    third.reset();
    waiter.join();
    CHECK(second_has_it.load());
    fs::remove_all(dir);
}

// Containment (Registry::add_scope): things inside a box go with it when the same undo removes the
// box; an undo that keeps the box undoes them one by one.
namespace {

std::vector<std::string> g_undone;  // names whose undo handler ran, in order

class BoxedAction : public lab::Action {
public:
    explicit BoxedAction(const lab::Params& p) : name_(p.str("name")), in_(p.str_or("in", "")) { p.only({"name", "in"}); }
    std::string describe(const lab::LabNames&) const override { return "make " + name_; }
    std::vector<std::string> commands(const lab::LabNames&) const override { return {}; }
    void apply(lab::Context& ctx) override {
        ctx.change("boxed", {{"name", name_}, {"in", in_}}, [&] { g_kernel.insert(in_.empty() ? name_ : in_ + "/" + name_); });
    }
    std::vector<lab::Check> check(lab::Context&) override { return {}; }

private:
    std::string name_, in_;
};

lab::Registry boxed_registry() {
    lab::Registry reg;
    reg.add_action("boxed", [](const lab::Params& p) { return std::make_unique<BoxedAction>(p); });
    reg.add_undo("boxed", [](lab::Context&, const lab::Record& r) {
        const std::string& name = r.data.at("name");
        const std::string& in = r.data.at("in");
        g_undone.push_back(name);
        if (!in.empty()) {
            g_kernel.erase(in + "/" + name);
            return;
        }
        g_kernel.erase(name);  // removing a box removes what is in it
        std::erase_if(g_kernel, [&](const std::string& k) { return k.rfind(name + "/", 0) == 0; });
    });
    reg.add_scope(
        "boxed", [](const lab::Record& r) { return r.data.at("in").empty() ? "" : "box:" + r.data.at("in"); },
        [](const lab::Record& r) { return r.data.at("in").empty() ? "box:" + r.data.at("name") : ""; });
    return reg;
}

const char* kBoxes = R"(
title = "boxes"
[[step]]
id = "boxes"
title = "two boxes"
  [[step.action]]
  kind = "boxed"
  name = "a"
  [[step.action]]
  kind = "boxed"
  name = "z"
[[step]]
id = "fill"
title = "things in box a, one loose"
  [[step.action]]
  kind = "boxed"
  name = "x"
  in = "a"
  [[step.action]]
  kind = "boxed"
  name = "loose"
[[step]]
id = "more"
title = "one more thing in box a"
  [[step.action]]
  kind = "boxed"
  name = "y"
  in = "a"
)";

}  // namespace

TEST_CASE("undo --all removes a box with what is in it; undoing a step alone undoes its things one by one") {
    Fixture f(kBoxes);
    lab::Registry reg = boxed_registry();
    auto t = lab::load_tutorial(f.tut, reg);
    std::ostringstream out;
    lab::Runner r(t, reg, {"default"}, f.dir / "state", "/bin/true", out);
    REQUIRE(r.run({"", false, {}}) == 0);
    REQUIRE(g_kernel == std::set<std::string>{"a", "z", "a/x", "loose", "a/y"});

    g_undone.clear();
    lab::UndoOptions one;
    CHECK(r.undo(one) == 0);  // "more" alone: box a stays, so y is undone by itself
    CHECK(g_undone == std::vector<std::string>{"y"});
    CHECK(g_kernel == std::set<std::string>{"a", "z", "a/x", "loose"});
    REQUIRE(r.run({"", false, {}}) == 0);

    g_undone.clear();
    lab::UndoOptions all;
    all.all = true;
    CHECK(r.undo(all) == 0);
    // y and x went with box a; the loose thing and both boxes were undone, last made first.
    CHECK(g_undone == std::vector<std::string>{"loose", "z", "a"});
    CHECK(g_kernel.empty());
    CHECK(r.applied().empty());
    CHECK(out.str().find("goes with box a") != std::string::npos);
    CHECK_FALSE(fs::exists(f.dir / "state" / "default"));  // the journal is gone with its directory
}

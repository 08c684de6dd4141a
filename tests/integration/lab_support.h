// A lab under test, driven through the netlab binary, and a snapshot of everything a lab can change
// read with the real tools. Shared by the integration tests that run whole labs.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "tests/integration/support.h"

namespace netlab::test {

// The default tutorial's step ids, in order, and its logical namespace names.
extern const std::vector<std::string> kSteps;
extern const std::vector<std::string> kLogical;

// A lab with its own --lab name ("t<pid><tag>", at most 12 characters) and its own state directory.
// The destructor undoes it and then removes anything of its name that is left, so a failing test
// leaves nothing behind.
class TestLab {
public:
    explicit TestLab(const std::string& tag, std::string tutorial = "");
    ~TestLab();
    TestLab(const TestLab&) = delete;
    TestLab& operator=(const TestLab&) = delete;

    const std::string& name() const { return name_; }
    const std::filesystem::path& state_dir() const { return state_; }
    std::string ns(const std::string& logical) const { return name_ + "-" + logical; }
    // The shell command line "NETLAB_STATE_DIR=... netlab --lab NAME [--tutorial T] ARGS".
    std::string cmd(const std::string& args) const;
    ShResult run(const std::string& args, int timeout = 180) const { return sh(cmd(args), timeout); }

    // Everything the lab can have changed (links, IPv4 addresses, routes, hairpin, sysctls, rules,
    // /etc/netns files, pods), stripped of what changes on every re-creation (ifindex, MACs, carrier,
    // qdisc, counters). With `shared`, also whether /etc/netns exists: every lab on the machine shares
    // that directory, so a test with two labs leaves it out while the other lab has files there.
    std::string snapshot(bool shared = true) const;

private:
    std::string name_;
    std::string tutorial_;
    std::filesystem::path state_;
};

// "" when equal, else the first differing line, expected against observed.
std::string first_diff(const std::string& expected, const std::string& observed);

}  // namespace netlab::test

// maintenance/doctor.h without root: the privileges finding from a capability mask and a uid, and
// the report's wording and exit code.
#include <doctest/doctest.h>

#include <sstream>

#include "maintenance/doctor.h"

using namespace netlab::maintenance;

namespace {
constexpr uint64_t kNetAdmin = 1ull << 12, kSysAdmin = 1ull << 21;
}

TEST_CASE("doctor: root with both capabilities is fine") {
    auto f = privileges_finding(kNetAdmin | kSysAdmin, 0);
    CHECK(f.ok);
    CHECK(f.what == "privileges: root, with CAP_SYS_ADMIN and CAP_NET_ADMIN");
}

TEST_CASE("doctor: a user without capabilities is told to use sudo, naming both") {
    auto f = privileges_finding(0, 1000);
    CHECK_FALSE(f.ok);
    CHECK(f.what == "privileges: running as uid 1000, missing CAP_SYS_ADMIN (to make namespaces and mount them under "
                    "/run/netns) and CAP_NET_ADMIN (to make links and program rules over netlink)");
    CHECK(f.fix == "run it as root: sudo netlab doctor");
}

TEST_CASE("doctor: root in a container lacking CAP_NET_ADMIN is told which capability to add") {
    auto f = privileges_finding(kSysAdmin, 0);
    CHECK_FALSE(f.ok);
    CHECK(f.what == "privileges: running as uid 0, missing CAP_NET_ADMIN (to make links and program rules over netlink)");
    CHECK(f.fix.find("--cap-add") != std::string::npos);
}

TEST_CASE("doctor: a user with both capabilities still needs root") {
    auto f = privileges_finding(kNetAdmin | kSysAdmin, 1000);
    CHECK_FALSE(f.ok);
    CHECK(f.what == "privileges: running as uid 1000, missing root (euid 0) for /run/netns and /etc/netns");
}

TEST_CASE("doctor report: every finding, what to do about each problem, and the count") {
    std::ostringstream out;
    int rc = Doctor::report({{true, "a: fine", ""}, {false, "b: broken", "fix b"}}, out);
    CHECK(rc == 1);
    CHECK(out.str() == "  \u2713 a: fine\n  \u2717 b: broken\n      what to do: fix b\n1 problem(s) found.\n");
    std::ostringstream skipped;
    CHECK(Doctor::report({{false, "privileges: no", "sudo"}}, skipped) == 1);
    CHECK(skipped.str().find("(the kernel checks need those privileges; they were skipped)") != std::string::npos);
    std::ostringstream good;
    CHECK(Doctor::report({{true, "a", ""}, {true, "b", ""}}, good) == 0);
    CHECK(good.str() == "  \u2713 a\n  \u2713 b\nAll 2 checks passed: this machine can run labs.\n");
}

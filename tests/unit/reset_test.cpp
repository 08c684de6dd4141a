// maintenance/reset.h's decisions, without root: which namespaces reset removes and which it keeps
// (and why), which resolv.conf files hold only netlab's lines, which /etc/netns directories it visits.
#include <doctest/doctest.h>

#include "maintenance/reset.h"

using namespace netlab::maintenance;

TEST_CASE("reset removes the namespaces carrying the lab's mark, whatever their name") {
    std::vector<FoundNamespace> found = {{"a-netlab", "netlab lab=a"}, {"renamed", "netlab lab=a"}, {"mine", ""}};
    auto s = sweep_namespaces(found, "netlab lab=a", {"a-netlab", "a-netns_dustin"});
    CHECK(s.remove == std::vector<std::string>{"a-netlab", "renamed"});
    CHECK(s.keep.empty());  // "mine" has none of the lab's names: not mentioned at all
}

TEST_CASE("reset keeps a namespace with a lab's name but not its mark, saying whose it is") {
    std::vector<FoundNamespace> found = {{"a-netns_dustin", ""}, {"a-netns_leah", "netlab lab=b"},
                                         {"a-netlab", "some alias"}};
    auto s = sweep_namespaces(found, "netlab lab=a", {"a-netlab", "a-netns_dustin", "a-netns_leah"});
    CHECK(s.remove.empty());
    CHECK(s.keep == std::vector<std::string>{
                        "netns a-netns_dustin: it has the lab's name but not its mark, so netlab did not make it",
                        "netns a-netns_leah: it belongs to lab 'b'",
                        "netns a-netlab: it has the lab's name but not its mark, so netlab did not make it"});
}

TEST_CASE("the mark of lab 'a' is not the mark of lab 'ab'") {
    auto s = sweep_namespaces({{"ab-netlab", "netlab lab=ab"}}, "netlab lab=a", {"ab-netlab"});
    CHECK(s.remove.empty());
    CHECK(s.keep == std::vector<std::string>{"netns ab-netlab: it belongs to lab 'ab'"});
}

TEST_CASE("a resolv.conf is netlab's only when every line is one netlab writes, newline-terminated") {
    const std::set<std::string> lines = {"nameserver 8.8.8.8"};
    CHECK(only_netlab_lines("nameserver 8.8.8.8\n", lines));
    CHECK(only_netlab_lines("nameserver 8.8.8.8\nnameserver 8.8.8.8\n", lines));
    CHECK_FALSE(only_netlab_lines("nameserver 8.8.8.8", lines));  // not written by netlab: no newline
    CHECK_FALSE(only_netlab_lines("", lines));
    CHECK_FALSE(only_netlab_lines("nameserver 8.8.8.8\nsearch example.org\n", lines));
    CHECK_FALSE(only_netlab_lines("nameserver 1.1.1.1\n", lines));
    CHECK_FALSE(only_netlab_lines("nameserver 8.8.8.8\n", {}));  // tutorial unreadable: keep every file
}

TEST_CASE("the /etc/netns directories reset visits") {
    auto exists = [](const std::string& n) { return n == "b"; };
    // With a journal: only those of the namespaces it removed.
    CHECK(file_sweep_targets({"x"}, {"a", "b", "c"}, true, exists) == std::set<std::string>{"x"});
    // Without: also the lab's namespaces that do not exist (their files outlived them).
    CHECK(file_sweep_targets({"x"}, {"a", "b", "c"}, false, exists) == std::set<std::string>{"a", "c", "x"});
}

// Pieces of `iptables -L -n -v` (iptables-nft 1.8.9); whole listings are tested in views_test.cpp.
#include <doctest/doctest.h>

#include "rules/listing.h"

using namespace netlab::rules;

TEST_CASE("rules: counters as iptables prints them without -x") {
    CHECK(count_text(0) == "0");
    CHECK(count_text(99999) == "99999");
    CHECK(count_text(100000) == "100K");
    CHECK(count_text(1234567) == "1235K");
    CHECK(count_text(9999499) == "9999K");
    CHECK(count_text(9999500) == "10M");
    CHECK(count_text(7654321) == "7654K");
}

TEST_CASE("rules: chain headers as iptables -L prints them") {
    CHECK(listing_chain_header("OUTPUT", true, "ACCEPT", 0) == "Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)\n");
    CHECK(listing_chain_header("FORWARD", true, "DROP", 0) == "Chain FORWARD (policy DROP 0 packets, 0 bytes)\n");
    CHECK(listing_chain_header("DUSTIN-SVC-HTTP", false, "", 2) == "Chain DUSTIN-SVC-HTTP (2 references)\n");
    CHECK(listing_counters(11, 660) == "   11   660 ");
}

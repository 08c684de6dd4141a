// --probability P <-> xt_statistic's 32-bit value, and the text iptables-nft 1.8.9 prints for it.
// Expected values recorded from the real tools in a scratch namespace: `iptables-nft -t nat -A T -m
// statistic --mode random --probability P -j RETURN` for each P, then `iptables-nft -S T` (the text,
// also in -L -n -v) and `nft list table ip nat` ("meta random & 2147483647 < 715827883": the value).
#include <doctest/doctest.h>

#include "rules/probability.h"

using namespace netlab::rules;

TEST_CASE("probability: P to the kernel's 32-bit value, lround(P * 2^31)") {
    CHECK(probability_to_raw(0.0) == 0u);
    CHECK(probability_to_raw(0.5) == 0x40000000u);
    CHECK(probability_to_raw(1.0) == 0x80000000u);
    CHECK(probability_to_raw(1.0 / 3) == 715827883u);
    CHECK(probability_to_raw(0.3333333333) == 715827883u);
    CHECK(probability_to_raw(0.333) == 715112055u);
    CHECK(probability_to_raw(0.25) == 536870912u);
    CHECK(probability_to_raw(0.2) == 429496730u);
}

TEST_CASE("probability: the kernel's value back to P") {
    CHECK(probability_of_raw(0) == 0.0);
    CHECK(probability_of_raw(0x40000000u) == 0.5);
    CHECK(probability_of_raw(0x80000000u) == 1.0);
    CHECK(probability_of_raw(715827883u) == 715827883.0 / 2147483648.0);
    // A value read back converts to itself.
    for (uint32_t raw : {0u, 1u, 715827883u, 0x40000000u, 0x7fffffffu, 0x80000000u})
        CHECK(probability_to_raw(probability_of_raw(raw)) == raw);
    CHECK(quantize_probability(0.5) == 0.5);
    CHECK(quantize_probability(quantize_probability(0.2)) == quantize_probability(0.2));
}

TEST_CASE("probability: printed as iptables-nft prints it (%.11f of the kept value)") {
    CHECK(format_probability(0.5) == "0.50000000000");
    CHECK(format_probability(1.0 / 3) == "0.33333333349");
    CHECK(format_probability(0.3333333333) == "0.33333333349");
    CHECK(format_probability(0.2) == "0.20000000019");
    CHECK(format_probability(0.25) == "0.25000000000");
    CHECK(format_probability(1.0) == "1.00000000000");
    CHECK(format_probability(0.0) == "0.00000000000");
    CHECK(format_probability(0.333) == "0.33300000010");
    CHECK(format_probability(probability_of_raw(715827883u)) == "0.33333333349");
}

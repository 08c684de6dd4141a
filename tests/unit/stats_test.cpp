#include <doctest/doctest.h>

#include <cmath>

#include "steps/stats.h"

using namespace netlab::steps;

TEST_CASE("chi-square survival function matches known quantiles") {
    // Textbook critical values: P(X >= 3.841) = 0.05 for df 1; 5.991 for df 2; 10.828 -> 0.001 df 1.
    CHECK(chi_square_sf(3.841459, 1) == doctest::Approx(0.05).epsilon(1e-4));
    CHECK(chi_square_sf(5.991465, 2) == doctest::Approx(0.05).epsilon(1e-4));
    CHECK(chi_square_sf(10.827566, 1) == doctest::Approx(0.001).epsilon(1e-3));
    CHECK(chi_square_sf(0, 3) == 1.0);
    // df 2 has the closed form exp(-x/2).
    CHECK(chi_square_sf(7.0, 2) == doctest::Approx(std::exp(-3.5)).epsilon(1e-9));
}

TEST_CASE("the balance check accepts a fair split and rejects 90/10 at the probe's sample size") {
    // 300 connections, as the random-backends step sends.
    auto fair = chi_square_uniform({153, 147});
    CHECK(fair.df == 1);
    CHECK(fair.statistic == doctest::Approx(0.12));
    CHECK(fair.p_value > kBalanceAlpha);
    auto fair2 = chi_square_uniform({140, 160});  // a plausible random wobble
    CHECK(fair2.p_value > kBalanceAlpha);
    auto skewed = chi_square_uniform({270, 30});
    CHECK(skewed.statistic == doctest::Approx(192.0));
    CHECK(skewed.p_value < kBalanceAlpha);
    // The misconception (every rule at 0.5) with three backends gives 1/2, 1/4, 1/4:
    auto three = chi_square_uniform({150, 75, 75});
    CHECK(three.df == 2);
    CHECK(three.p_value < kBalanceAlpha);
    CHECK(chi_square({150, 75, 75}, {0.5, 0.25, 0.25}).p_value > 0.5);
}

TEST_CASE("chi-square rejects meaningless input") {
    CHECK_THROWS(chi_square_uniform({10}));
    CHECK_THROWS(chi_square_uniform({0, 0}));
    CHECK_THROWS(chi_square({1, 2}, {1.0}));
}

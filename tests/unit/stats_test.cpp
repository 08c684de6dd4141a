#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/error.h"
#include "lab/registry.h"
#include "lab/tutorial.h"
#include "steps/register.h"
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

TEST_CASE("a balance split: even by default, explicit fractions, and a no-reply share") {
    auto even = make_split({}, 3, 0.0);
    REQUIRE(even.backends.size() == 3);
    for (double f : even.backends) CHECK(f == doctest::Approx(1.0 / 3));
    CHECK(even.none == 0.0);
    auto rest = make_split({}, 2, 0.2);  // an even split of what the no-reply share leaves
    REQUIRE(rest.backends.size() == 2);
    CHECK(rest.backends[0] == doctest::Approx(0.4));
    CHECK(rest.backends[1] == doctest::Approx(0.4));
    CHECK(rest.none == doctest::Approx(0.2));
    auto halves = make_split({0.5, 0.25, 0.125}, 3, 0.125);  // every rule at 0.5
    CHECK(halves.backends == std::vector<double>{0.5, 0.25, 0.125});
    CHECK(halves.none == 0.125);
    auto rounded = make_split({0.3333, 0.3333, 0.3333}, 3, 0.0);  // close to 1: scaled to sum to 1
    CHECK(rounded.backends[0] + rounded.backends[1] + rounded.backends[2] == doctest::Approx(1.0));
}

TEST_CASE("a balance split refuses what cannot be a split") {
    CHECK_THROWS_AS(make_split({}, 1, 0.0), std::invalid_argument);            // one backend
    CHECK_THROWS_AS(make_split({0.5, 0.5}, 3, 0.0), std::invalid_argument);    // one fraction per backend
    CHECK_THROWS_AS(make_split({0.5, 0.25}, 2, 0.0), std::invalid_argument);   // sums to 0.75
    CHECK_THROWS_AS(make_split({0.5, 0.5}, 2, 0.125), std::invalid_argument);  // sums to 1.125
    CHECK_THROWS_AS(make_split({1.0, 0.0}, 2, 0.0), std::invalid_argument);    // a backend that gets nothing
    CHECK_THROWS_AS(make_split({}, 2, 1.0), std::invalid_argument);            // nothing answered at all
    CHECK_THROWS_AS(make_split({}, 2, -0.1), std::invalid_argument);
}

TEST_CASE("the unanswered connections are one more category of the chi-square test") {
    auto halves = make_split({0.5, 0.25, 0.125}, 3, 0.125);
    // 400 connections, expected 200 / 100 / 50 and 50 unanswered: (10^2/200) + (10^2/100) = 1.5.
    auto near = chi_square_split({190, 110, 50}, 50, halves);
    CHECK(near.df == 3);
    CHECK(near.statistic == doctest::Approx(1.5));
    CHECK(near.p_value > 0.5);
    // An even split with nothing unanswered is far from "every rule at 0.5"...
    CHECK(chi_square_split({133, 133, 134}, 0, halves).p_value < kBalanceAlpha);
    // ...and the halves are far from kube-proxy's even split (the unanswered are not counted there).
    auto even = make_split({}, 3, 0.0);
    auto wrong = chi_square_split({200, 100, 50}, 50, even);
    CHECK(wrong.df == 2);
    CHECK(wrong.p_value < kBalanceAlpha);
    // Too many unanswered for a share of 1/8: 100 of 400 is rejected.
    CHECK(chi_square_split({175, 85, 40}, 100, halves).p_value < kBalanceAlpha);
}

namespace {
std::unique_ptr<netlab::lab::Probe> balance_probe(const std::string& toml_text) {
    static netlab::lab::Registry reg = [] {
        netlab::lab::Registry r;
        register_all(r);
        return r;
    }();
    return reg.make_probe("balance", netlab::lab::Params(toml::parse(toml_text), "test.toml:1"));
}
}  // namespace

TEST_CASE("the balance probe takes expected fractions and a no-reply share, and refuses bad ones") {
    const std::string base = "url = '10.100.100.100:8080'\npods = ['a', 'b', 'c']\n";
    netlab::lab::LabNames n{"x"};
    auto even = balance_probe(base);
    CHECK(even->describe(n) == "300 new connections from the lab host to 10.100.100.100:8080 spread evenly over 3 pods");
    auto halves = balance_probe(base + "count = 400\nexpect = [0.5, 0.25, 0.125]\nnone = 0.125\n");
    CHECK(halves->describe(n) ==
          "400 new connections from the lab host to 10.100.100.100:8080 split 0.500 / 0.250 / 0.125 over 3 pods, 0.125 unanswered");
    // Unanswered connections only time out, so a probe that expects them waits 1 s (curl) per try.
    CHECK(halves->commands(n).at(0).find("curl -s --max-time 1 ") != std::string::npos);
    CHECK_THROWS_WITH_AS(balance_probe(base + "expect = [0.5, 0.5, 0.5]\n"),
                         doctest::Contains("test.toml:1: 'expect'/'none': the expected fractions and the no-reply share sum to"),
                         netlab::UsageError);
    CHECK_THROWS_AS(balance_probe(base + "expect = [0.5, 0.5]\n"), netlab::UsageError);
    CHECK_THROWS_AS(balance_probe(base + "expect = ['half', 0.25, 0.25]\n"), netlab::UsageError);
    CHECK_THROWS_AS(balance_probe(base + "none = 1.5\n"), netlab::UsageError);
    CHECK_THROWS_AS(balance_probe(base + "timeout_ms = 10\n"), netlab::UsageError);
}

TEST_CASE("the three-backends tutorial loads, with kube-proxy's probabilities and the measured misconception") {
    netlab::lab::Registry reg;
    register_all(reg);
    auto t = netlab::lab::load_tutorial(netlab::lab::find_tutorial("three-backends", ""), reg);
    CHECK(t.ids() == std::vector<std::string>{"lab-host", "forwarding", "bridge", "netns", "dns", "veths", "routes",
                                              "forward-accept", "masquerade", "pods", "hairpin", "endpoints", "service",
                                              "misconception"});
    netlab::lab::LabNames n{"default"};
    std::string svc;
    for (auto& a : t.find("service")->actions)
        for (auto& c : a->commands(n)) svc += c + "\n";
    CHECK(svc.find("-A DUSTIN-SVC-HTTP -m statistic --mode random --probability 0.3333333333 -j DUSTIN-SEP-HTTP1\n") != std::string::npos);
    CHECK(svc.find("-A DUSTIN-SVC-HTTP -m statistic --mode random --probability 0.5 -j DUSTIN-SEP-HTTP2\n") != std::string::npos);
    CHECK(svc.find("-A DUSTIN-SVC-HTTP -j DUSTIN-SEP-HTTP3\n") != std::string::npos);
    REQUIRE(t.find("misconception")->probes.size() == 1);
    CHECK(t.find("misconception")->probes[0]->describe(n).find("split 0.500 / 0.250 / 0.125 over 3 pods, 0.125 unanswered") !=
          std::string::npos);
    for (auto& s : t.steps) {
        CHECK_MESSAGE(!s.explain.empty(), s.id);
        CHECK_MESSAGE(!s.try_this.empty(), s.id);
    }
}

TEST_CASE("p-values and the threshold are written for a person") {
    using namespace netlab::steps;
    CHECK(p_value_text(0.2744) == "p = 0.274");
    CHECK(p_value_text(0.0) == "p < 0.001");
    CHECK(p_value_text(0.0004) == "p < 0.001");
    CHECK(p_value_text(0.0011) == "p = 0.001");
    CHECK(p_value_text(0.00053) == "p < 0.001");  // below the threshold: never printed as 0.001
    ChiSquare one{1.2, 1, 0.2733};
    CHECK(chi_square_text(one) == "chi-square 1.20 with 1 degree of freedom, p = 0.273");
    ChiSquare three{30.0, 3, 1e-6};
    CHECK(chi_square_text(three) == "chi-square 30.00 with 3 degrees of freedom, p < 0.001");
    CHECK(threshold_text().find("p >= 0.001") != std::string::npos);
}

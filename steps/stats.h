// Pearson's chi-square goodness-of-fit test, used to check that random load balancing spreads
// connections over backends in the proportions the rules promise.
#pragma once

#include <vector>

namespace netlab::steps {

struct ChiSquare {
    double statistic = 0;
    int df = 0;
    double p_value = 1;
};

// Observed counts against expected fractions (which must sum to 1). Throws std::invalid_argument on
// mismatched sizes, fewer than 2 categories, or no observations.
ChiSquare chi_square(const std::vector<long>& observed, const std::vector<double>& expected_fractions);
// Against an even split.
ChiSquare chi_square_uniform(const std::vector<long>& observed);
// P(X >= x) for X ~ chi-square with df degrees of freedom.
double chi_square_sf(double x, int df);

// The significance level the balance probes use: a fair split is rejected 1 time in 1000.
constexpr double kBalanceAlpha = 0.001;

}  // namespace netlab::steps

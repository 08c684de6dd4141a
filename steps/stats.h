// Pearson's chi-square goodness-of-fit test, used to check that random load balancing spreads
// connections over backends in the proportions the rules promise.
#pragma once

#include <cstddef>
#include <string>
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
// The split a balance probe tests against: one expected fraction per backend and, when the rules let
// some new connections match no backend at all, the share expected to get no reply.
struct Split {
    std::vector<double> backends;
    double none = 0;
};
// `expect` empty means an even split of what `none` leaves. Fractions that sum to 1 within 0.001 are
// scaled to sum exactly to 1. Throws std::invalid_argument unless there are at least 2 backends,
// `expect` has one positive fraction per backend, 0 <= none < 1, and everything sums to 1.
Split make_split(const std::vector<double>& expect, std::size_t backends, double none);
// The answered counts per backend, plus (when split.none > 0) the unanswered count as one more
// category, against the split. Throws std::invalid_argument as chi_square() does.
ChiSquare chi_square_split(const std::vector<long>& answered, long unanswered, const Split& split);

// P(X >= x) for X ~ chi-square with df degrees of freedom.
double chi_square_sf(double x, int df);

// The significance level the balance probes use: a fair split is rejected 1 time in 1000.
constexpr double kBalanceAlpha = 0.001;

// "p = 0.274", or "p < 0.001" below the balance probes' threshold.
std::string p_value_text(double p);
// "chi-square 1.20 with 1 degree of freedom, p = 0.274"
std::string chi_square_text(const ChiSquare& cs);
// "the check passes when p >= 0.001; below that a second sample decides, ..."
std::string threshold_text();

}  // namespace netlab::steps

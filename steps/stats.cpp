#include "steps/stats.h"

#include <cstdio>

#include <cmath>
#include <stdexcept>
#include <string>

namespace netlab::steps {

namespace {

// Regularized lower incomplete gamma P(a, x) by its series (x < a + 1).
double gamma_p_series(double a, double x) {
    double sum = 1.0 / a, term = sum;
    for (int n = 1; n < 1000; ++n) {
        term *= x / (a + n);
        sum += term;
        if (std::fabs(term) < std::fabs(sum) * 1e-15) break;
    }
    return sum * std::exp(-x + a * std::log(x) - std::lgamma(a));
}

// Regularized upper incomplete gamma Q(a, x) by Lentz's continued fraction (x >= a + 1).
double gamma_q_fraction(double a, double x) {
    const double tiny = 1e-300;
    double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
    for (int i = 1; i < 1000; ++i) {
        double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if (std::fabs(d) < tiny) d = tiny;
        c = b + an / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (std::fabs(del - 1.0) < 1e-15) break;
    }
    return std::exp(-x + a * std::log(x) - std::lgamma(a)) * h;
}

}  // namespace

double chi_square_sf(double x, int df) {
    if (df < 1) throw std::invalid_argument("chi-square needs at least 1 degree of freedom");
    if (x <= 0) return 1.0;
    double a = df / 2.0, hx = x / 2.0;
    if (hx < a + 1.0) return 1.0 - gamma_p_series(a, hx);
    return gamma_q_fraction(a, hx);
}

ChiSquare chi_square(const std::vector<long>& observed, const std::vector<double>& expected_fractions) {
    if (observed.size() != expected_fractions.size()) throw std::invalid_argument("chi-square: size mismatch");
    if (observed.size() < 2) throw std::invalid_argument("chi-square: needs at least 2 categories");
    long n = 0;
    for (long o : observed) n += o;
    if (n <= 0) throw std::invalid_argument("chi-square: no observations");
    ChiSquare r;
    for (size_t i = 0; i < observed.size(); ++i) {
        double e = expected_fractions[i] * static_cast<double>(n);
        if (e <= 0) throw std::invalid_argument("chi-square: expected fractions must be positive");
        double d = static_cast<double>(observed[i]) - e;
        r.statistic += d * d / e;
    }
    r.df = static_cast<int>(observed.size()) - 1;
    r.p_value = chi_square_sf(r.statistic, r.df);
    return r;
}

Split make_split(const std::vector<double>& expect, std::size_t backends, double none) {
    if (backends < 2) throw std::invalid_argument("a split needs at least 2 backends");
    if (!(none >= 0 && none < 1)) throw std::invalid_argument("the no-reply share must be at least 0 and below 1");
    Split s{expect, none};
    if (s.backends.empty()) s.backends.assign(backends, (1.0 - none) / static_cast<double>(backends));
    if (s.backends.size() != backends)
        throw std::invalid_argument("expected " + std::to_string(backends) + " fractions, one per backend, not " +
                                    std::to_string(s.backends.size()));
    double sum = none;
    for (double f : s.backends) {
        if (!(f > 0 && f <= 1)) throw std::invalid_argument("every expected fraction must be above 0 and at most 1");
        sum += f;
    }
    if (std::fabs(sum - 1.0) > 1e-3)
        throw std::invalid_argument("the expected fractions and the no-reply share sum to " + std::to_string(sum) + ", not 1");
    for (double& f : s.backends) f /= sum;
    s.none /= sum;
    return s;
}

ChiSquare chi_square_split(const std::vector<long>& answered, long unanswered, const Split& split) {
    std::vector<long> observed = answered;
    std::vector<double> expected = split.backends;
    if (split.none > 0) {
        observed.push_back(unanswered);
        expected.push_back(split.none);
    }
    return chi_square(observed, expected);
}

ChiSquare chi_square_uniform(const std::vector<long>& observed) {
    return chi_square(observed, std::vector<double>(observed.size(), 1.0 / static_cast<double>(observed.size())));
}

std::string p_value_text(double p) {
    if (p < kBalanceAlpha) return "p < 0.001";
    char buf[32];
    std::snprintf(buf, sizeof buf, "p = %.3f", p);
    return buf;
}

std::string chi_square_text(const ChiSquare& cs) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "chi-square %.2f with %d degree%s of freedom, ", cs.statistic, cs.df,
                  cs.df == 1 ? "" : "s");
    return buf + p_value_text(cs.p_value);
}

std::string threshold_text() {
    return "the check passes when p >= 0.001; below that a second sample decides, so a fair split fails it about "
           "once in a million";
}

}  // namespace netlab::steps

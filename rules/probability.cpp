#include "rules/probability.h"

#include <cmath>
#include <cstdio>

namespace netlab::rules {

namespace {
constexpr double kScale = 2147483648.0;  // 2^31
}

uint32_t probability_to_raw(double p) { return static_cast<uint32_t>(std::lround(p * kScale)); }

double probability_of_raw(uint32_t raw) { return raw / kScale; }

double quantize_probability(double p) { return probability_of_raw(probability_to_raw(p)); }

std::string format_probability(double p) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.11f", quantize_probability(p));
    return buf;
}

}  // namespace netlab::rules

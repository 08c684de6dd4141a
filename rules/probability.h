// -m statistic --mode random --probability P: what the kernel keeps and how iptables-nft prints it.
// xt_statistic stores a 32-bit value, lround(P * 2^31); `-S` and `-L` print that value back as
// "%.11f" of value / 2^31 (0.5 -> 0.50000000000, 1/3 -> 0.33333333349).
#pragma once

#include <cstdint>
#include <string>

namespace netlab::rules {

// P in 0..1 -> the kernel's value (0x80000000 for 1).
uint32_t probability_to_raw(double p);
// The kernel's value -> P.
double probability_of_raw(uint32_t raw);
// P as the kernel keeps it: probability_of_raw(probability_to_raw(p)).
double quantize_probability(double p);
// P as iptables-nft prints it in -S and -L: "%.11f" of the kept value.
std::string format_probability(double p);

}  // namespace netlab::rules

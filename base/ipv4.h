// IPv4 addresses, prefixes and ports as netlab reads them from tutorials, iptables arguments and
// option values. The one place that parses them; pure, no kernel access.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace netlab {

struct Ipv4 {
    uint32_t host = 0;  // host byte order: 10.0.0.1 is 0x0a000001
    uint32_t be() const;  // network byte order, as in_addr::s_addr
    std::string str() const;
    bool operator==(const Ipv4&) const = default;
};

struct Ipv4Cidr {
    Ipv4 addr;        // as written, host bits kept ("10.0.0.3/24" keeps .3)
    int prefix = 32;  // 0..32
    Ipv4 network() const;  // host bits cleared
    bool contains(Ipv4 a) const;
    std::string str() const;  // "10.0.0.3/24"
    bool operator==(const Ipv4Cidr&) const = default;
};

// Dotted quad only ("10.0.0.1"); nullopt for anything else (names, "10.1", spaces, trailing text).
std::optional<Ipv4> parse_ipv4(const std::string& s);

// "a.b.c.d" (prefix 32 unless require_prefix) or "a.b.c.d/N" with N 0..32 in decimal.
std::optional<Ipv4Cidr> parse_ipv4_cidr(const std::string& s, bool require_prefix = false);

// "a.b.c.d/N" or "a.b.c.d/m.m.m.m" (a contiguous mask), as iptables takes -s and -d.
std::optional<Ipv4Cidr> parse_ipv4_cidr_or_mask(const std::string& s);

// The prefix length of a contiguous netmask (host order), or -1 when it is not contiguous.
int prefix_of_mask(uint32_t host_mask);
// The netmask (host order) of a prefix length 0..32.
uint32_t mask_of_prefix(int prefix);

// A TCP/UDP port 0..65535 in decimal digits only; nullopt otherwise.
std::optional<uint16_t> parse_port(const std::string& s);

}  // namespace netlab

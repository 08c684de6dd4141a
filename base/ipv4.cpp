#include "base/ipv4.h"

#include <arpa/inet.h>

#include <algorithm>

namespace netlab {

namespace {

bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

uint32_t Ipv4::be() const { return htonl(host); }

std::string Ipv4::str() const {
    in_addr a{};
    a.s_addr = be();
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
}

Ipv4 Ipv4Cidr::network() const { return Ipv4{addr.host & mask_of_prefix(prefix)}; }

bool Ipv4Cidr::contains(Ipv4 a) const { return (a.host & mask_of_prefix(prefix)) == network().host; }

std::string Ipv4Cidr::str() const { return addr.str() + "/" + std::to_string(prefix); }

std::optional<Ipv4> parse_ipv4(const std::string& s) {
    in_addr a{};
    if (s.empty() || ::inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
    return Ipv4{ntohl(a.s_addr)};
}

std::optional<Ipv4Cidr> parse_ipv4_cidr(const std::string& s, bool require_prefix) {
    auto slash = s.find('/');
    if (slash == std::string::npos) {
        if (require_prefix) return std::nullopt;
        auto a = parse_ipv4(s);
        if (!a) return std::nullopt;
        return Ipv4Cidr{*a, 32};
    }
    auto a = parse_ipv4(s.substr(0, slash));
    std::string len = s.substr(slash + 1);
    if (!a || !all_digits(len) || len.size() > 2) return std::nullopt;
    int p = std::stoi(len);
    if (p > 32) return std::nullopt;
    return Ipv4Cidr{*a, p};
}

std::optional<Ipv4Cidr> parse_ipv4_cidr_or_mask(const std::string& s) {
    if (auto c = parse_ipv4_cidr(s)) return c;
    auto slash = s.find('/');
    if (slash == std::string::npos) return std::nullopt;
    auto a = parse_ipv4(s.substr(0, slash));
    auto m = parse_ipv4(s.substr(slash + 1));
    if (!a || !m) return std::nullopt;
    int p = prefix_of_mask(m->host);
    if (p < 0) return std::nullopt;
    return Ipv4Cidr{*a, p};
}

int prefix_of_mask(uint32_t host_mask) {
    int n = 0;
    while (n < 32 && (host_mask & (0x80000000u >> n))) ++n;
    return host_mask == mask_of_prefix(n) ? n : -1;
}

uint32_t mask_of_prefix(int prefix) { return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : (0xffffffffu << (32 - prefix)); }

std::optional<uint16_t> parse_port(const std::string& s) {
    if (!all_digits(s) || s.size() > 5) return std::nullopt;
    unsigned long v = std::stoul(s);
    if (v > 65535) return std::nullopt;
    return static_cast<uint16_t>(v);
}

}  // namespace netlab

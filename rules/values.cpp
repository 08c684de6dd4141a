#include "rules/values.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "base/error.h"
#include "base/ipv4.h"
#include "rules/builtin.h"

namespace netlab::rules {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string parse_address(const std::string& v) {
    auto slash = v.find('/');
    if (!parse_ipv4(v.substr(0, slash))) throw UsageError("bad address '" + v + "'");
    auto c = parse_ipv4_cidr_or_mask(v);
    if (!c) throw UsageError("bad mask '" + v.substr(slash + 1) + "' in address '" + v + "'");
    return Ipv4Cidr{c->network(), c->prefix}.str();
}

std::string any_to_empty(const std::string& cidr) { return cidr == "0.0.0.0/0" ? std::string() : cidr; }

uint16_t parse_port_value(const std::string& v) {
    auto p = parse_port(v);
    if (!p) throw UsageError("bad port '" + v + "'");
    return *p;
}

std::string parse_iface(const std::string& v) {
    if (v.empty() || v.size() > 15)
        throw UsageError("bad interface name '" + v + "' (1 to 15 characters)");
    for (char c : v)
        if (std::isspace(static_cast<unsigned char>(c)) || c == '/')
            throw UsageError("bad interface name '" + v + "'");
    return v;
}

std::string parse_proto(const std::string& v) {
    std::string l = lower(v);
    if (l == "tcp" || l == "6") return "tcp";
    if (l == "udp" || l == "17") return "udp";
    if (l == "all" || l == "0") return "";
    throw UsageError("unsupported protocol '" + v + "' (netlab supports tcp and udp)");
}

double parse_probability(const std::string& v) {
    errno = 0;
    char* end = nullptr;
    double p = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || errno != 0 || !(p >= 0.0 && p <= 1.0))
        throw UsageError("bad probability '" + v + "' (a number from 0 to 1)");
    return p;
}

std::string parse_to_destination(const std::string& v) {
    auto colon = v.find(':');
    std::string host = v.substr(0, colon);
    auto bad = [&] { return UsageError("bad --to-destination '" + v + "' (expected IP or IP:PORT)"); };
    if (!parse_ipv4(host)) throw bad();
    if (colon == std::string::npos) return host;
    auto port = parse_port(v.substr(colon + 1));
    if (!port) throw bad();
    return host + ":" + std::to_string(*port);
}

void check_chain_name(const std::string& name) {
    if (name.empty()) throw UsageError("empty chain name");
    if (name.size() >= 29)
        throw UsageError("chain name `" + name + "' too long (must be under 29 chars)");
    if (name[0] == '-' || name[0] == '!')
        throw UsageError(std::string("chain name not allowed to start with `") + name[0] + "'");
    if (is_non_chain_target(name) || is_unsupported_extension_target(name))
        throw UsageError("chain name may not clash with target name");
    for (char c : name)
        if (std::isspace(static_cast<unsigned char>(c))) throw UsageError("Invalid chain name `" + name + "'");
}

}  // namespace netlab::rules

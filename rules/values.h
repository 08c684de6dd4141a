// The values of iptables options as iptables reads them (-s, -d, -i, -p, --dport, --probability,
// --to-destination, chain names), with iptables' own wording when one is bad. Pure; used by parse.cpp.
#pragma once

#include <cstdint>
#include <string>

namespace netlab::rules {

// "10.0.0.3/24" -> "10.0.0.0/24", "1.2.3.4" -> "1.2.3.4/32", "1.2.3.4/255.255.0.0" -> "1.2.0.0/16".
std::string parse_address(const std::string& v);
// "0.0.0.0/0" matches everything; iptables stores and prints nothing for it.
std::string any_to_empty(const std::string& cidr);
uint16_t parse_port_value(const std::string& v);
std::string parse_iface(const std::string& v);
// "" (any), "tcp" or "udp".
std::string parse_proto(const std::string& v);
double parse_probability(const std::string& v);
// "10.0.0.11:8080" or "10.0.0.11"; ranges are not supported.
std::string parse_to_destination(const std::string& v);
// Throws UsageError when `name` cannot be a user chain's name (-N).
void check_chain_name(const std::string& name);
// ASCII lower case.
std::string lower(std::string s);

}  // namespace netlab::rules

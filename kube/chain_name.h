// kube-proxy's chain names: a prefix and the first 16 characters of base32(sha256(text)), RFC 4648
// alphabet (A-Z, 2-7). KUBE-SVC/SVL/EXT/FW hash "<ns>/<svc>[:<port>]" + protocol ("tcp"); KUBE-SEP
// hashes the same followed by the endpoint "ip:port".
#pragma once

#include <string>

namespace netlab::kube {

std::string sha256_base32(const std::string& text);  // full 56-character encoding, with '=' padding
std::string port_proto_hash(const std::string& service_port_name, const std::string& protocol);
std::string endpoint_chain(const std::string& service_port_name, const std::string& protocol,
                           const std::string& endpoint);

}  // namespace netlab::kube

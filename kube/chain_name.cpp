#include "kube/chain_name.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace netlab::kube {

std::string sha256_base32(const std::string& text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr) != 1 || len != 32)
        throw std::runtime_error("sha256 failed");
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (unsigned i = 0; i < len; ++i) {
        buffer = (buffer << 8) | digest[i];
        bits += 8;
        while (bits >= 5) {
            out += alphabet[(buffer >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 31];
    while (out.size() % 8) out += '=';
    return out;
}

std::string port_proto_hash(const std::string& service_port_name, const std::string& protocol) {
    return sha256_base32(service_port_name + protocol).substr(0, 16);
}

std::string endpoint_chain(const std::string& service_port_name, const std::string& protocol,
                           const std::string& endpoint) {
    return "KUBE-SEP-" + sha256_base32(service_port_name + protocol + endpoint).substr(0, 16);
}

}  // namespace netlab::kube

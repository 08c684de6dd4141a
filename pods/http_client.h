// The HTTP client netlab's verify hooks and `netlab curl` use. It opens its socket in the network
// namespace of the calling thread (wrap calls in a net::NetnsGuard to choose one).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace netlab::pods {

struct HttpResult {
    bool ok = false;         // a complete HTTP reply arrived
    int status = 0;
    std::string body;
    std::string error;       // when !ok: "connect 10.100.100.100:8080: Connection timed out" etc.
    bool timed_out = false;  // when !ok: nothing came back in time (not refused, not reset)
    // Parsed from a pod's JSON reply (empty when the server is not a netlab pod):
    std::string pod;         // "netns_dustin"
    std::string pod_addr;    // "10.0.0.11"
    uint16_t pod_port = 0;
    std::string client_addr; // what the pod saw as our address
    uint16_t client_port = 0;
};

// One GET over a new TCP connection ("Connection: close"), asking for the JSON form. The whole
// exchange (connect, send, receive) is bounded by `timeout`. A `local_port` other than 0 binds the
// client's source port first (`netlab trace` selects its connection by it); when that port is taken
// the result says "bind ...: Address already in use".
HttpResult http_get(const std::string& host, uint16_t port, const std::string& path = "/",
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(2000), uint16_t local_port = 0);

// "10.0.0.11:8080" or "http://10.0.0.11:8080/x" -> host, port, path. Throws UsageError when malformed.
struct Url {
    std::string host;
    uint16_t port = 80;
    std::string path = "/";
};
Url parse_url(const std::string& s);

}  // namespace netlab::pods

// The HTTP "pod": a small HTTP/1.1 server that netlab starts inside a pod namespace instead of the
// article's `python3 -m http.server 8080`. Every reply names the pod, the address it was reached at
// (after DNAT: the real one), and the client address and port it saw (after MASQUERADE: the
// rewritten one), as text by default and as JSON when the client asks for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace netlab::pods {

struct PodServerOptions {
    std::string name;               // e.g. "netns_dustin"
    std::string address = "0.0.0.0";
    uint16_t port = 8080;
    std::size_t max_request_line = 8192;   // longer: 414
    std::size_t max_header_bytes = 16384;  // larger: 431
    int header_timeout_ms = 10000;         // whole request head must arrive within this
    int idle_timeout_ms = 30000;           // keep-alive idle limit
    std::size_t max_connections = 1024;
    // Socket activation: an inherited, already listening TCP socket to serve instead of opening
    // one on address:port (`netlab run` makes it in the pod's namespace before starting the pod).
    int listen_fd = -1;
    // An inherited pipe: one byte is written to it, and it is closed, once the pod accepts.
    int ready_fd = -1;
};

// Serves until SIGTERM or SIGINT; returns the process exit code (2 for bad options, among them a
// listen_fd that is not a listening TCP socket). Prints one line when listening.
int run_pod_server(const PodServerOptions& opt);

// The reply body for a request (exposed for tests). `json` selects the JSON form.
std::string pod_reply_body(const std::string& pod, const std::string& local_addr, uint16_t local_port,
                           const std::string& peer_addr, uint16_t peer_port, bool json);

}  // namespace netlab::pods

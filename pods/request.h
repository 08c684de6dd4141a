// The pod's side of HTTP/1.1 on one connection, with no socket and no clock: fed the bytes a client
// sent, it parses them (Boost.Beast's parser, limits on the request line, the head and the body)
// and appends the reply for each complete request to an output string. The server
// (pods/pod_server.cpp) adds sockets, buffers and deadlines; the fuzz target (tests/fuzz) feeds it
// arbitrary bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace netlab::pods {

struct RequestLimits {
    std::size_t max_request_line = 8192;   // longer: 414
    std::size_t max_header_bytes = 16384;  // larger: 431
    std::size_t max_body = 1 << 20;        // larger: 413 (bodies are read and discarded)
};

// What the replies name: the pod and both ends of the connection.
struct ReplyContext {
    std::string pod;
    std::string local_addr;
    uint16_t local_port = 0;
    std::string peer_addr;
    uint16_t peer_port = 0;
};

// Appends the reply body (one line of text, or JSON) naming the pod and both ends.
void append_reply_body(std::string& out, const ReplyContext& ctx, bool json);

class RequestHandler {
public:
    enum class Status {
        need_more,   // read more; unused bytes (an unfinished head) stay buffered for the next call
        batch_full,  // `out` reached the batch limit: write it, then call again with the rest
        closing,     // the last reply closes the connection (an error, Connection: close, HTTP/1.0)
    };
    struct Result {
        Status status;
        std::size_t used;  // bytes of the input consumed (the caller drops them)
        bool started;      // the unfinished request at the end began in this call (its clock starts now)
    };

    RequestHandler(const RequestLimits& limits, ReplyContext ctx);
    ~RequestHandler();
    RequestHandler(RequestHandler&&) noexcept;
    RequestHandler& operator=(RequestHandler&&) noexcept;

    // Parses `in`, appending one reply per complete request to `out`: 200 for GET and HEAD, 405 for
    // other methods, 400/413/414/431 for bad or oversized requests (those close the connection).
    // Once closing, it consumes nothing more.
    Result handle(std::string_view in, std::string& out, std::size_t batch_limit);

    // Appends an error reply (408 when the head took too long) and marks the connection closing.
    void reply_error(int status, std::string& out);

    bool request_active() const;  // bytes of an unfinished request have arrived
    bool closing() const;

private:
    struct State;
    std::unique_ptr<State> s_;
};

}  // namespace netlab::pods

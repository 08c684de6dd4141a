// libFuzzer target for the pod's request handling (pods/request.h): arbitrary bytes from a client,
// under small limits chosen by the input, fed once whole and once in pieces as a socket would
// deliver them. Besides the sanitizers' crashes and leaks it checks, aborting on a failure:
// - the two feedings produce the same replies (parsing does not depend on packet borders), except
//   which error status a malformed request gets;
// - the replies are well-formed HTTP/1.1: a known status, Content-Length framing, the exact pod
//   body on a 200 (or none, for HEAD), and nothing after a reply that closes the connection;
// - every error status closes the connection; the handler never claims more bytes than it got.
//
// Input layout: byte 0 picks the limits, byte 1 the piece sizes, the rest is what the client sent.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pods/request.h"

using netlab::pods::append_reply_body;
using netlab::pods::ReplyContext;
using netlab::pods::RequestHandler;
using netlab::pods::RequestLimits;

namespace {

void require(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "pod_request_fuzz: %s\n", what);
    std::abort();
}

const ReplyContext kContext{"netns_fuzz", "10.0.0.11", 8080, "10.0.0.1", 40000};

RequestLimits limits_from(uint8_t b) {
    static constexpr std::size_t lines[] = {16, 40, 64, 256};
    static constexpr std::size_t heads[] = {64, 128, 512, 2048};
    static constexpr std::size_t bodies[] = {0, 16, 300, 1 << 20};
    RequestLimits l;
    l.max_request_line = lines[b & 3];
    l.max_header_bytes = heads[(b >> 2) & 3] + l.max_request_line;  // a request line is part of the head
    l.max_body = bodies[(b >> 4) & 3];
    return l;
}

// The end of the input: an unfinished request gets the server's header-timeout reply.
void finish(RequestHandler& h, std::string& sent) {
    if (!h.closing() && h.request_active()) h.reply_error(408, sent);
}

// What the server does with one buffer: handle, drop what was used, "flush" (move the replies to
// `sent`) when the batch is full, until the handler needs more bytes or closes.
void serve(RequestHandler& h, std::string& buffered, std::string& sent, std::size_t batch) {
    std::string out;
    for (int rounds = 0;; ++rounds) {
        require(rounds < 100000, "the handler makes no progress");
        auto r = h.handle(buffered, out, batch);
        require(r.used <= buffered.size(), "used more bytes than given");
        buffered.erase(0, r.used);
        sent += out;
        out.clear();
        if (r.status == RequestHandler::Status::need_more) return;
        if (r.status == RequestHandler::Status::closing) {
            require(h.closing(), "closing status without closing()");
            return;
        }
    }
}

std::string feed_whole(const RequestLimits& l, std::string_view in, std::size_t batch) {
    RequestHandler h(l, kContext);
    std::string buffered(in), sent;
    serve(h, buffered, sent, batch);
    finish(h, sent);
    return sent;
}

std::string feed_pieces(const RequestLimits& l, std::string_view in, std::size_t batch, uint8_t seed) {
    RequestHandler h(l, kContext);
    std::string buffered, sent;
    uint32_t x = seed * 2654435761u + 1;
    std::size_t pos = 0;
    while (pos < in.size() && !h.closing()) {
        x = x * 1103515245u + 12345u;
        std::size_t piece = seed < 64 ? 1 : 1 + (x >> 16) % (seed < 192 ? 16 : 300);
        piece = std::min(piece, in.size() - pos);
        buffered.append(in.substr(pos, piece));
        pos += piece;
        serve(h, buffered, sent, batch);
    }
    finish(h, sent);
    return sent;
}

std::string_view header_value(std::string_view head, std::string_view name) {
    std::string key = "\r\n" + std::string(name) + ": ";
    auto p = head.find(key);
    if (p == std::string_view::npos) return {};
    auto v = p + key.size();
    return head.substr(v, head.find("\r\n", v) - v);
}

bool is_error_status(int s) { return s == 400 || s == 408 || s == 413 || s == 414 || s == 431; }

// Checks that `out` is a sequence of well-formed replies; returns the length of what precedes a
// final error reply (all of it when there is none).
std::size_t check_replies(std::string_view all) {
    std::string_view out = all;
    std::size_t before_error = all.size();
    const std::string text = [] { std::string b; append_reply_body(b, kContext, false); return b; }();
    const std::string json = [] { std::string b; append_reply_body(b, kContext, true); return b; }();
    while (!out.empty()) {
        require(out.substr(0, 9) == "HTTP/1.1 " && out.size() > 12, "reply does not start with HTTP/1.1");
        int status = std::atoi(std::string(out.substr(9, 3)).c_str());
        require(status == 200 || status == 405 || is_error_status(status), "unexpected status");
        if (is_error_status(status)) before_error = all.size() - out.size();
        auto end = out.find("\r\n\r\n");
        require(end != std::string_view::npos, "reply head is not terminated");
        std::string_view head = out.substr(0, end + 2);
        out.remove_prefix(end + 4);
        require(header_value(head, "Server") == "netlab-pod", "no Server field");
        std::string length_text(header_value(head, "Content-Length"));
        require(!length_text.empty(), "no Content-Length");
        std::size_t length = std::strtoul(length_text.c_str(), nullptr, 10);
        bool closes = header_value(head, "Connection") == "close";
        if (is_error_status(status)) require(closes, "an error reply keeps the connection open");
        if (status == 200) {
            std::string_view type = header_value(head, "Content-Type");
            const std::string& body = type == "application/json" ? json : text;
            require(type == "application/json" || type == "text/plain", "unexpected Content-Type");
            require(length == body.size(), "Content-Length differs from the body");
            bool head_only = out.empty() || out.substr(0, 9) == "HTTP/1.1 ";
            if (!head_only) {
                require(out.substr(0, length) == body, "200 body is not the pod's body");
                out.remove_prefix(length);
            }
        } else {
            require(out.size() >= length, "reply body shorter than Content-Length");
            out.remove_prefix(length);
        }
        if (closes) require(out.empty(), "bytes after a reply that closes the connection");
    }
    return before_error;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const RequestLimits limits = limits_from(data[0]);
    const uint8_t seed = data[1];
    const std::size_t batch = (seed & 1) ? 200 : 64 * 1024;
    std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);

    std::string whole = feed_whole(limits, in, batch);
    std::string pieces = feed_pieces(limits, in, batch, seed);
    std::size_t whole_ok = check_replies(whole);
    std::size_t pieces_ok = check_replies(pieces);
    // Beast reports some malformed heads (bare LF line endings) only once it sees the whole head,
    // so the error status may differ (400 at once, or 431/408 later); everything before it may not.
    require(whole.compare(0, whole_ok, pieces, 0, pieces_ok) == 0, "whole and pieces produced different replies");
    require((whole_ok < whole.size()) == (pieces_ok < pieces.size()), "only one feeding ended in an error");
    return 0;
}

// Conntrack entries of one network namespace through libnetfilter_conntrack (over libmnl): a dump
// (`conntrack -L`) and a stream of new/updated/destroyed entries (`conntrack -E`), decoded into plain
// structs. See shared notes "trace-facts" section 5.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/unique_fd.h"

namespace netlab::net {

struct CtTuple {
    std::string src, dst;  // IPv4, dotted
    uint16_t sport = 0, dport = 0;
    bool operator==(const CtTuple&) const = default;
};

struct ConntrackEntry {
    uint32_t id = 0;          // conntrack's id (`conntrack -L -o id`), = CT_ID of trace events
    uint8_t protocol = 0;     // 6 tcp, 17 udp
    std::string state;        // TCP state: "SYN_SENT", "ESTABLISHED", "TIME_WAIT", ... ("" otherwise)
    CtTuple orig, reply;
    uint32_t status = 0;      // IPS_* bits
    bool dnat = false, snat = false;
    bool assured = false, unreplied = false;
    uint32_t timeout = 0;     // seconds left (0 in destroy events)
    uint32_t mark = 0;
};

enum class CtEventType { New, Update, Destroy };

struct ConntrackEvent {
    CtEventType type = CtEventType::Update;
    ConntrackEntry entry;
};

std::string protocol_name(uint8_t proto);      // "tcp", "udp", "icmp", or the number
std::string event_type_name(CtEventType t);    // "new", "update", "destroy"

// Decodes every conntrack message (IPCTNL_MSG_CT_NEW / _DELETE, IPv4) in a buffer of netlink
// messages; others are skipped. Pure: tests feed it recorded bytes. Dumped entries read as Update.
std::vector<ConntrackEvent> decode_conntrack_messages(const void* buf, size_t len);

// The IPv4 entries of `netns` now (needs CAP_NET_ADMIN). Throws Error("read conntrack in netns X: ...").
// When `raw` is given, the received netlink bytes are appended to it.
std::vector<ConntrackEntry> conntrack_list(const std::string& netns, std::string* raw = nullptr);

// A socket inside `netns` subscribed to conntrack's new, update and destroy events.
class ConntrackWatcher {
public:
    explicit ConntrackWatcher(const std::string& netns, bool updates = true);
    ConntrackWatcher(ConntrackWatcher&&) noexcept = default;
    ConntrackWatcher& operator=(ConntrackWatcher&&) noexcept = default;

    int fd() const { return fd_.get(); }
    // Waits up to `timeout` for the first message, then takes all that are queued.
    std::vector<ConntrackEvent> read(std::chrono::milliseconds timeout, std::string* raw = nullptr);
    bool lost_events() const { return lost_; }

private:
    UniqueFd fd_;
    std::string netns_;
    bool lost_ = false;
};

}  // namespace netlab::net

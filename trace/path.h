// The path of one traced TCP connection, built from what the kernel reported: the nftables trace
// events of its packets, the chain layout (hooks of base chains, rule handles), the rules decoded by
// netlab's own decoder, the lab host's interfaces, the conntrack entry, and the HTTP answer.
// Pure: everything it needs is in TraceInput, so tests build reports from recorded events.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "netutil/conntrack.h"
#include "netutil/nft_trace.h"

namespace netlab::trace {

// A rule of the lab host, by handle: its text as `iptables -S` prints it (or nft's form for what
// the decoder does not know).
struct RuleText {
    uint8_t family = 2;
    std::string table, chain;
    uint64_t handle = 0;
    std::string text;
};

// A bridge port of the lab host: its hairpin flag and the addresses of the namespace behind it.
struct BridgePort {
    std::string name;
    std::string bridge;
    bool hairpin = false;
    std::vector<std::string> addresses;  // "10.0.0.11"
};

struct Answer {
    bool ok = false;
    int status = 0;
    std::string error;
    std::string pod, pod_addr, client_addr;
    uint16_t pod_port = 0, client_port = 0;
};

struct TraceInput {
    std::string host_ns;     // the lab host (real name)
    std::string client_ns;   // where the request came from
    std::string own_table = "netlab_trace";
    net::TraceFlow flow;
    std::vector<net::TraceEvent> events;
    std::vector<net::ChainInfo> chains;
    std::vector<RuleText> rules;
    std::map<uint32_t, std::string> ifnames;  // lab host ifindex -> name
    std::vector<BridgePort> ports;
    std::vector<net::ConntrackEntry> conntrack;  // entries of this connection
    Answer answer;
    bool lost_events = false;
};

struct RuleHit {
    std::string table, chain;
    std::optional<uint64_t> handle;
    std::string rule;     // "-A DUSTIN-SEP-HTTP1 -p tcp -m tcp -j DNAT --to-destination 10.0.0.11:8080"
    std::string verdict;  // "jump DUSTIN-SERVICES", "ACCEPT", "DROP", "return", "fell off the end", "policy ACCEPT"
};

// One hook a packet passed, with what it looked like there.
struct Hop {
    std::string family;  // "ip" or "bridge"
    std::string hook;    // "prerouting", "input", "forward", "output", "postrouting"
    std::string in, out;  // interfaces (bridge ports in bridge hops)
    std::optional<net::TracePacket> packet;       // at the start of the hook
    std::optional<net::TracePacket> after_nat;    // at its end, when NAT changed it (postrouting)
    std::vector<RuleHit> rules;  // of the lab's tables, in order
    std::string verdict;         // the last verdict seen at this hook ("" when only passed)
};

struct PacketPath {
    std::string direction;  // "request" or "reply"
    uint32_t trace_id = 0;
    uint8_t tcp_flags = 0;
    std::optional<uint32_t> ct_id;
    std::vector<Hop> hops;
};

// Packets with the same path (the same hooks, interfaces and rules; flags aside), summarised.
struct PacketGroup {
    std::string direction;
    size_t count = 0;
    std::vector<std::string> flags;  // "SYN", "ACK", "PSH ACK", ... distinct, in order of appearance
    size_t first = 0;                // index of its first packet in TraceReport::packets
};

struct NatDecision {
    std::string kind;      // "DNAT" or "MASQUERADE"
    std::string chain;     // where it was decided
    std::string hook;
    std::string from, to;  // "10.100.100.100:8080" -> "10.0.0.11:8080"
    std::string text() const;  // "DNAT 10.100.100.100:8080 -> 10.0.0.11:8080 in DUSTIN-SEP-HTTP1"
};

struct TraceReport {
    TraceInput input;
    std::vector<PacketPath> packets;
    std::vector<PacketGroup> groups;
    std::vector<NatDecision> nat;
    std::optional<net::ConntrackEntry> conntrack;
    bool answered = false;
    std::string ended;  // when not answered: where the trace ended and why, in words
};

TraceReport build_report(TraceInput in);

// "SYN", "SYN ACK", "ACK", "PSH ACK", "FIN ACK", "RST"
std::string tcp_flags_text(uint8_t flags);
// Hook names for NF_INET_* / NF_BR_* numbers.
std::string hook_name(uint32_t hook);

}  // namespace netlab::trace

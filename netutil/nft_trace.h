// nftables packet tracing: netlab's own trace tables (chains that set `meta nftrace set 1` on one
// TCP flow), the NFNLGRP_NFTRACE events the kernel sends for traced packets, decoded into plain
// structs, and the base chains of a namespace (the hook of a chain is not in the events). See shared
// notes "trace-facts" section 1.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <memory>

#include "base/unique_fd.h"

struct mnl_socket;

namespace netlab::net {

struct MnlSocketClose {
    void operator()(mnl_socket* s) const;
};
using MnlSocketPtr = std::unique_ptr<mnl_socket, MnlSocketClose>;

// ------------------------------------------------------------------------------- trace events

// Verdict codes as the events carry them (linux/netfilter.h, nf_tables.h).
enum class TraceVerdict { None, Accept, Drop, Continue, Return, Jump, Goto, Other };

// The headers of the packet as the event reports them (only in the first event of each base chain).
struct TracePacket {
    std::string src, dst;       // IPv4 addresses, dotted
    uint8_t protocol = 0;       // 6 tcp
    uint8_t ttl = 0;
    uint16_t sport = 0, dport = 0;
    uint8_t tcp_flags = 0;      // FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10
    std::string src_mac, dst_mac;  // from the link-layer header, when the event has one
};

struct TraceEvent {
    uint32_t id = 0;               // NOT unique per packet (a hash of skb and flow)
    uint8_t family = 0;            // table family: 2 ip, 7 bridge
    uint32_t nfproto = 0;          // the hook's protocol family
    std::string table, chain;
    enum class Type { Unknown, Policy, Return, Rule } type = Type::Unknown;
    std::optional<uint64_t> rule_handle;  // absent: fell off the end of the chain (or a policy event)
    TraceVerdict verdict = TraceVerdict::None;
    int32_t verdict_code = 0;
    std::string jump_target;
    std::optional<uint32_t> policy;       // NF_ACCEPT 1, NF_DROP 0
    std::optional<uint32_t> iif, oif;     // ifindex in the traced namespace
    std::optional<uint32_t> mark;
    std::optional<TracePacket> packet;    // when the event carries the network header
    // New kernels only (not in Debian 12's uapi headers): conntrack id/direction/status/state.
    std::optional<uint32_t> ct_id, ct_status, ct_state;
    std::optional<uint8_t> ct_direction;  // 0 original, 1 reply
};

// "ACCEPT" "DROP" "continue" "return" "jump X" "goto X".
std::string verdict_text(const TraceEvent& e);

// Decodes every NFT_MSG_TRACE message in a buffer of netlink messages (other messages are skipped;
// a truncated message ends the walk). Pure: tests feed it recorded bytes.
std::vector<TraceEvent> decode_trace_messages(const void* buf, size_t len);

// A NETLINK_NETFILTER socket inside `netns` that joined NFNLGRP_NFTRACE (needs CAP_NET_ADMIN).
class TraceListener {
public:
    explicit TraceListener(const std::string& netns);
    TraceListener(TraceListener&&) noexcept = default;
    TraceListener& operator=(TraceListener&&) noexcept = default;

    int fd() const { return fd_.get(); }
    // Waits up to `timeout` for the first message, then takes all that are queued. When `raw` is
    // given, the received netlink bytes are appended to it (for recording test data).
    std::vector<TraceEvent> read(std::chrono::milliseconds timeout, std::string* raw = nullptr);
    // True once the kernel dropped events because the socket buffer was full (ENOBUFS).
    bool lost_events() const { return lost_; }

private:
    UniqueFd fd_;
    std::string netns_;
    bool lost_ = false;
};

// ------------------------------------------------------------------------------- trace tables

// One TCP flow, seen from the client: the client's source port, and where it connects to.
struct TraceFlow {
    std::string daddr;  // "10.100.100.100"
    uint16_t dport = 0;
    uint16_t sport = 0;
};

struct TraceChainSpec {
    std::string name;   // "pre"
    uint32_t hook = 0;  // NF_INET_PRE_ROUTING... / NF_BR_PRE_ROUTING...
    int32_t priority = 0;
    bool select = false;  // holds the rules that mark the flow
};

struct TraceTableSpec {
    uint8_t family = 2;  // NFPROTO_IPV4 2 or NFPROTO_BRIDGE 7
    std::string name;    // "netlab_trace"
    std::vector<TraceChainSpec> chains;
    TraceFlow flow;
};

// The selecting rules of a chain `select`:
//   ip:     meta l4proto tcp ct original proto-src SPORT ct original ip daddr DADDR
//           ct original proto-dst DPORT meta nftrace set 1        (both directions, after conntrack)
//   bridge: meta protocol ip meta l4proto tcp ip daddr DADDR tcp sport SPORT tcp dport DPORT
//           meta nftrace set 1 ; meta protocol ip meta l4proto tcp tcp dport SPORT meta nftrace set 1
//           (headers only: there is no conntrack in the bridge family here)
// Other chains are empty base chains: every traced packet passing their hook yields an event
// there, with its headers and interfaces at that hook.
//
// A table made by NftTraceTable is owned by its socket (NFT_TABLE_F_OWNER): the kernel deletes it
// when the socket closes, so even a netlab killed by SIGKILL leaves no trace table behind.
class NftTraceTable {
public:
    // Makes the table in one batch. Throws Error("add trace table ip netlab_trace in netns X: ...").
    NftTraceTable(const std::string& netns, const TraceTableSpec& spec);
    ~NftTraceTable();  // remove(), errors ignored
    NftTraceTable(NftTraceTable&&) noexcept;
    NftTraceTable& operator=(NftTraceTable&&) noexcept;
    NftTraceTable(const NftTraceTable&) = delete;
    NftTraceTable& operator=(const NftTraceTable&) = delete;

    // Deletes the table now (absent is success) and closes the socket. Throws Error on failure.
    void remove();
    bool active() const { return static_cast<bool>(sock_); }

private:
    MnlSocketPtr sock_;
    std::string netns_;
    uint8_t family_ = 2;
    std::string name_;
};

// Deletes table `name` of `family` in `netns` through a fresh socket (undo after a crash). An absent
// table or namespace is success.
void nft_trace_table_delete(const std::string& netns, uint8_t family, const std::string& name);
// Whether the table exists (false when the namespace does not).
bool nft_table_exists(const std::string& netns, uint8_t family, const std::string& name);

// ------------------------------------------------------------------------------- chain layout

struct ChainInfo {
    uint8_t family = 0;
    std::string table, name;
    bool base = false;
    uint32_t hook = 0;
    int32_t priority = 0;
    std::vector<uint64_t> handles;  // its rules' handles, in order
};

// Every chain of the ip and bridge families in `netns`, with its rules' handles, in one consistent
// read (retried while the ruleset changes).
std::vector<ChainInfo> nft_chain_layout(const std::string& netns);

}  // namespace netlab::net

// netutil/netlink_socket: reading an NLMSG_ERROR reply and its extended ACK, from bytes laid out as
// the kernel sends them (netlink_ack() in net/netlink/af_netlink.c), without a socket.
#include <doctest/doctest.h>
#include <linux/netlink.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "netutil/netlink_socket.h"

using namespace netlab::net;

namespace {

// An NLMSG_ERROR for request SEQ failing with -ERR; with CAPPED only the request's header is
// echoed, else also REQUEST_PAYLOAD bytes of it; then the TLVs.
std::vector<char> error_reply(uint32_t seq, int err, bool capped, size_t request_payload,
                              const std::vector<std::pair<uint16_t, std::string>>& tlvs) {
    std::vector<char> b(NLMSG_HDRLEN + sizeof(nlmsgerr));
    auto put = [&](const void* p, size_t n) {
        b.insert(b.end(), static_cast<const char*>(p), static_cast<const char*>(p) + n);
        b.resize(NLMSG_ALIGN(b.size()));
    };
    if (!capped) b.resize(b.size() + NLMSG_ALIGN(request_payload), 'R');
    for (const auto& [type, value] : tlvs) {
        nlattr a{static_cast<uint16_t>(NLA_HDRLEN + value.size()), type};
        std::vector<char> attr(NLA_HDRLEN);
        std::memcpy(attr.data(), &a, sizeof a);
        attr.insert(attr.end(), value.begin(), value.end());
        put(attr.data(), attr.size());
    }
    auto* nlh = reinterpret_cast<nlmsghdr*>(b.data());
    nlh->nlmsg_len = static_cast<uint32_t>(b.size());
    nlh->nlmsg_type = NLMSG_ERROR;
    nlh->nlmsg_flags = (capped ? NLM_F_CAPPED : 0) | (tlvs.empty() ? 0 : NLM_F_ACK_TLVS);
    nlh->nlmsg_seq = seq;
    auto* e = reinterpret_cast<nlmsgerr*>(b.data() + NLMSG_HDRLEN);
    e->error = -err;
    e->msg.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + request_payload);
    e->msg.nlmsg_seq = seq;
    return b;
}

NetlinkAck read(const std::vector<char>& b) { return read_ack(reinterpret_cast<const nlmsghdr*>(b.data())); }

}  // namespace

TEST_CASE("an ACK is error 0 with no message") {
    const auto a = read(error_reply(7, 0, true, 0, {}));
    CHECK(a.seq == 7);
    CHECK(a.error == 0);
    CHECK(a.message.empty());
}

TEST_CASE("an error without extended ACK: the errno only") {
    const auto a = read(error_reply(3, ENOENT, true, 0, {}));
    CHECK(a.seq == 3);
    CHECK(a.error == ENOENT);
    CHECK(a.message.empty());
}

TEST_CASE("the extended ACK's message, after a capped or a full copy of the request") {
    const std::string msg = std::string("Invalid prefix for given prefix length") + '\0';
    for (bool capped : {true, false}) {
        CAPTURE(capped);
        const auto a = read(error_reply(9, EINVAL, capped, 44, {{NLMSGERR_ATTR_OFFS, std::string(4, '\x10')},
                                                                {NLMSGERR_ATTR_MSG, msg}}));
        CHECK(a.error == EINVAL);
        CHECK(a.message == "Invalid prefix for given prefix length");
    }
}

TEST_CASE("malformed replies read safely") {
    // Too short for an nlmsgerr.
    std::vector<char> shortmsg(NLMSG_HDRLEN + 4);
    auto* nlh = reinterpret_cast<nlmsghdr*>(shortmsg.data());
    nlh->nlmsg_len = static_cast<uint32_t>(shortmsg.size());
    nlh->nlmsg_type = NLMSG_ERROR;
    CHECK(read(shortmsg).error == EBADMSG);

    // An attribute claiming more bytes than the message has: ignored, the errno stays.
    auto b = error_reply(1, EPERM, true, 0, {{NLMSGERR_ATTR_MSG, std::string("x") + '\0'}});
    auto* attr = reinterpret_cast<nlattr*>(b.data() + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nlmsgerr)));
    attr->nla_len = 200;
    const auto a = read(b);
    CHECK(a.error == EPERM);
    CHECK(a.message.empty());

    // A message without its NUL is cut at the attribute's end.
    const auto c = read(error_reply(1, EEXIST, true, 0, {{NLMSGERR_ATTR_MSG, "abc"}}));
    CHECK(c.message == "abc");
}

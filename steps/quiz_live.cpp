// Live answers for quiz questions: what the running lab says, found by sending one real request.
//   "client_addr"  the client address the pod answering `url` from namespace `from` reports
//                  (shows DNAT, MASQUERADE, hairpin: "which source does the pod see?")
//   "pod"          the name of the pod that answers
#include <chrono>

#include "base/error.h"
#include "lab/quiz.h"
#include "netutil/netns.h"
#include "pods/http_client.h"
#include "steps/common.h"
#include "steps/register.h"

namespace netlab::steps {

namespace {

class PodReply : public lab::LiveAnswer {
public:
    PodReply(const Params& p, bool client)
        : from_(p.str_or("from", LabNames::kHost)), url_text_(p.str("url")), client_(client),
          timeout_ms_(static_cast<int>(p.integer_or("timeout_ms", 2000))) {
        p.only({"from", "url", "timeout_ms"});
        try {
            url_ = pods::parse_url(url_text_);
        } catch (const Error& e) {
            p.fail(e.what());
        }
        if (timeout_ms_ < 50 || timeout_ms_ > 10000) p.fail("'timeout_ms' must be between 50 and 10000");
    }
    std::string describe(const LabNames& n) const override {
        return std::string(client_ ? "the client address the pod reports" : "the pod that answers") + " when " +
               (from_ == LabNames::kHost ? std::string("the lab host") : n.ns(from_)) + " calls " + url_text_;
    }
    std::string observe(const LabNames& n) const override {
        pods::HttpResult r;
        {
            net::NetnsGuard g(n.ns(from_));
            r = pods::http_get(url_.host, url_.port, url_.path, std::chrono::milliseconds(timeout_ms_));
        }
        std::string what = "call " + url_text_ + " in netns " + n.ns(from_) + ": ";
        if (!r.ok) throw Error(what + r.error);
        std::string v = client_ ? r.client_addr : r.pod;
        if (v.empty()) throw Error(what + "the server is not a netlab pod");
        return v;
    }

private:
    std::string from_, url_text_;
    bool client_;
    int timeout_ms_;
    pods::Url url_;
};

}  // namespace

void register_quiz_live(lab::Registry& reg) {
    auto& kinds = reg.live();
    kinds.add("client_addr", [](const Params& p) { return std::make_unique<PodReply>(p, true); });
    kinds.add("pod", [](const Params& p) { return std::make_unique<PodReply>(p, false); });
}

}  // namespace netlab::steps

// Probes: checks with real traffic, where the article uses curl.
//   "http"     one new connection from a namespace to a URL; expects a reply (optionally from a
//              given pod, optionally seeing a given client address) or, where the article teaches a
//              failure, expects the connection to fail and says why.
//   "balance"  many new connections (bounded in count and time); every one must be answered, and
//              the split over the backends must be consistent with an even one (chi-square test).
#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>

#include "lab/error.h"
#include "netutil/netns.h"
#include "pods/http_client.h"
#include "steps/common.h"
#include "steps/register.h"
#include "steps/stats.h"

namespace netlab::steps {

namespace {

std::string from_text(const LabNames& n, const std::string& from) {
    return from == LabNames::kHost ? "the lab host" : from;
}

class HttpProbe : public lab::Probe {
public:
    explicit HttpProbe(const Params& p)
        : from_(p.str_or("from", LabNames::kHost)), url_text_(p.str("url")), expect_(p.str_or("expect", "reply")),
          pod_(p.str_or("pod", "")), client_(p.str_or("client", "")), why_(p.str_or("why", "")),
          show_client_(p.boolean_or("show_client", false)) {
        p.only({"from", "url", "expect", "pod", "client", "why", "show_client", "timeout_ms"});
        try {
            url_ = pods::parse_url(url_text_);
        } catch (const Error& e) {
            p.fail(e.what());
        }
        if (expect_ != "reply" && expect_ != "fail") p.fail("'expect' must be \"reply\" or \"fail\", not \"" + expect_ + "\"");
        if (!client_.empty()) check_ipv4(p, client_);
        timeout_ms_ = static_cast<int>(p.integer_or("timeout_ms", expect_ == "fail" ? 1000 : 2000));
        if (timeout_ms_ < 50 || timeout_ms_ > 30000) p.fail("'timeout_ms' must be between 50 and 30000");
    }
    std::string describe(const LabNames& n) const override {
        std::string s = from_text(n, from_) + (expect_ == "fail" ? " cannot reach " : " reaches ") + url_text_;
        if (!pod_.empty() && expect_ == "reply") s += " (pod " + pod_ + " answers)";
        return s;
    }
    std::vector<std::string> commands(const LabNames& n) const override {
        return {in_ns(n, from_) + "curl --max-time " + std::to_string((timeout_ms_ + 999) / 1000) + " " + url_text_};
    }
    std::vector<Check> run(Context& ctx) override {
        pods::HttpResult r;
        {
            net::NetnsGuard g(ctx.names.ns(from_));
            r = pods::http_get(url_.host, url_.port, url_.path, std::chrono::milliseconds(timeout_ms_));
        }
        Check c;
        c.what = describe(ctx.names);
        if (expect_ == "fail") {
            c.ok = !r.ok;
            c.expected = "no reply";
            c.observed = r.ok ? "a reply from " + (r.pod.empty() ? std::string("a server") : "pod " + r.pod) : r.error;
            c.note = (c.ok ? "as expected (" + r.error + ")" : "unexpected: it worked") + (why_.empty() ? "" : "\n" + why_);
            return {c};
        }
        c.ok = r.ok && (pod_.empty() || r.pod == pod_) && (client_.empty() || r.client_addr == client_);
        c.expected = "a reply" + (pod_.empty() ? std::string() : " from pod " + pod_) +
                     (client_.empty() ? std::string() : " that saw client " + client_);
        c.observed = r.ok ? "a reply from " + (r.pod.empty() ? std::string("a non-pod server") : "pod " + r.pod) +
                                " that saw client " + r.client_addr + ":" + std::to_string(r.client_port)
                          : r.error;
        if (c.ok && (show_client_ || !client_.empty()))
            c.note = "pod " + r.pod + " saw the client as " + r.client_addr + ":" + std::to_string(r.client_port) +
                     (why_.empty() ? "" : "\n" + why_);
        else if (!c.ok && !why_.empty())
            c.note = why_;
        return {c};
    }

private:
    std::string from_, url_text_, expect_, pod_, client_, why_;
    bool show_client_;
    int timeout_ms_ = 2000;
    pods::Url url_;
};

class BalanceProbe : public lab::Probe {
public:
    explicit BalanceProbe(const Params& p)
        : from_(p.str_or("from", LabNames::kHost)), url_text_(p.str("url")), pods_(p.strings("pods")),
          count_(static_cast<int>(p.integer_or("count", 300))), seconds_(static_cast<int>(p.integer_or("seconds", 20))) {
        p.only({"from", "url", "pods", "count", "seconds"});
        try {
            url_ = pods::parse_url(url_text_);
        } catch (const Error& e) {
            p.fail(e.what());
        }
        if (pods_.size() < 2) p.fail("'pods' needs at least two backends");
        if (count_ < 20 || count_ > 5000) p.fail("'count' must be between 20 and 5000");
        if (seconds_ < 1 || seconds_ > 120) p.fail("'seconds' must be between 1 and 120");
    }
    std::string describe(const LabNames& n) const override {
        return std::to_string(count_) + " new connections from " + from_text(n, from_) + " to " + url_text_ +
               " spread evenly over " + std::to_string(pods_.size()) + " pods";
    }
    std::vector<std::string> commands(const LabNames& n) const override {
        return {"for i in $(seq " + std::to_string(count_) + "); do " + in_ns(n, from_) + "curl -s --max-time 2 " +
                url_text_ + "; done | sort | uniq -c"};
    }
    std::vector<Check> run(Context& ctx) override {
        std::map<std::string, long> seen;
        int failed = 0, sent = 0;
        std::string first_error;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds_);
        {
            net::NetnsGuard g(ctx.names.ns(from_));
            for (; sent < count_ && std::chrono::steady_clock::now() < deadline; ++sent) {
                auto r = pods::http_get(url_.host, url_.port, url_.path, std::chrono::milliseconds(2000));
                if (r.ok) ++seen[r.pod.empty() ? "(not a pod)" : r.pod];
                else {
                    ++failed;
                    if (first_error.empty()) first_error = r.error;
                }
            }
        }
        std::vector<long> counts;
        long others = 0;
        for (auto& [pod, n] : seen)
            if (std::find(pods_.begin(), pods_.end(), pod) == pods_.end()) others += n;
        for (auto& p : pods_) counts.push_back(seen.count(p) ? seen[p] : 0);
        std::ostringstream dist;
        for (size_t i = 0; i < pods_.size(); ++i) dist << (i ? ", " : "") << pods_[i] << " " << counts[i];
        if (others) dist << ", others " << others;
        if (failed) dist << ", no reply " << failed;
        Check c;
        c.what = describe(ctx.names);
        long answered = 0;
        for (long x : counts) answered += x;
        if (answered < 2) {
            c.ok = false;
            c.expected = "replies from " + std::to_string(pods_.size()) + " pods";
            c.observed = dist.str() + (first_error.empty() ? "" : " (" + first_error + ")");
            return {c};
        }
        ChiSquare cs = chi_square_uniform(counts);
        char buf[160];
        std::snprintf(buf, sizeof buf, "chi-square %.2f with %d degree(s) of freedom, p = %.3f", cs.statistic, cs.df, cs.p_value);
        bool complete = sent == count_;
        c.ok = failed == 0 && others == 0 && complete && cs.p_value >= kBalanceAlpha;
        c.expected = std::to_string(count_) + " replies, an even split (p >= " + std::to_string(kBalanceAlpha).substr(0, 5) + ")";
        c.observed = std::to_string(sent) + " sent: " + dist.str() + "; " + buf;
        c.note = "answered: " + dist.str() + "; " + buf;
        return {c};
    }

private:
    std::string from_, url_text_;
    std::vector<std::string> pods_;
    int count_, seconds_;
    pods::Url url_;
};

}  // namespace

void register_probes(lab::Registry& reg) {
    reg.add_probe("http", [](const Params& p) { return std::make_unique<HttpProbe>(p); });
    reg.add_probe("balance", [](const Params& p) { return std::make_unique<BalanceProbe>(p); });
}

}  // namespace netlab::steps

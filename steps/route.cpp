// Step kind "route": an IPv4 route, like `ip route add default via 10.0.0.1`.
#include "base/error.h"
#include "netutil/netns.h"
#include "netutil/rtnl.h"
#include "steps/common.h"
#include "steps/register.h"

namespace netlab::steps {

namespace {

net::RouteInfo route_of(const lab::RecordData& d) {
    net::RouteInfo r;
    r.dst = d.at("dst");
    r.gateway = d.count("via") ? d.at("via") : "";
    r.dev = d.count("dev") ? d.at("dev") : "";
    return r;
}

class RouteAction : public lab::Action {
public:
    explicit RouteAction(const Params& p) : ns_(ns_param(p)) {
        p.only({"ns", "dst", "via", "dev"});
        r_.dst = p.str_or("dst", "default");
        r_.gateway = p.str_or("via", "");
        r_.dev = p.str_or("dev", "");
        if (r_.dst != "default") check_cidr(p, r_.dst);
        if (!r_.gateway.empty()) check_ipv4(p, r_.gateway);
        if (!r_.dev.empty()) check_ifname(p, r_.dev);
        if (r_.gateway.empty() && r_.dev.empty()) p.fail("a route needs 'via' or 'dev'");
    }
    std::string text() const {
        return r_.dst + (r_.gateway.empty() ? "" : " via " + r_.gateway) + (r_.dev.empty() ? "" : " dev " + r_.dev);
    }
    std::string describe(const LabNames& n) const override { return "add route " + text() + " in " + where_text(n, ns_); }
    std::vector<std::string> commands(const LabNames& n) const override {
        return {in_ns(n, ns_) + "ip route add " + text()};
    }
    std::vector<std::string> keys(const LabNames& n) const override { return {"route:" + n.ns(ns_) + ":" + r_.dst}; }
    void apply(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        net::Rtnl rt(real);
        lab::RecordData d{{"ns", real}, {"dst", r_.dst}};
        if (!r_.gateway.empty()) d["via"] = r_.gateway;
        if (!r_.dev.empty()) d["dev"] = r_.dev;
        ctx.change("route", d, [&] { rt.add_route(r_); });
    }
    std::vector<Check> check(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        std::string seen;
        bool found = false;
        for (auto& r : net::Rtnl(real).routes()) {
            if (r.dst != r_.dst) continue;
            seen += (seen.empty() ? "" : "; ") + r.dst + (r.gateway.empty() ? "" : " via " + r.gateway) + " dev " + r.dev;
            found = found || ((r_.gateway.empty() || r.gateway == r_.gateway) && (r_.dev.empty() || r.dev == r_.dev));
        }
        return {expect(found, "route " + text() + " in netns " + real, text(), seen.empty() ? "no such route" : seen)};
    }

private:
    std::string ns_;
    net::RouteInfo r_;
};

}  // namespace

void register_route(lab::Registry& reg) {
    reg.add_action("route", [](const Params& p) { return std::make_unique<RouteAction>(p); });
    reg.add_undo("route", [](Context&, const lab::Record& r) {
        const std::string& ns = r.data.at("ns");
        if (!net::netns_exists(ns)) return;
        net::Rtnl(ns).delete_route(route_of(r.data));
    });
}

}  // namespace netlab::steps

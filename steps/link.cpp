// Step kind "link-up": sets an existing link up (or down), like `ip link set dev NAME up`.
// Journals the prior state; undo restores it.
#include "base/error.h"
#include "netutil/netns.h"
#include "netutil/rtnl.h"
#include "steps/common.h"
#include "steps/register.h"

namespace netlab::steps {

namespace {

class LinkUpAction : public lab::Action {
public:
    explicit LinkUpAction(const Params& p) : ns_(ns_param(p)), name_(p.str("name")), up_(p.boolean_or("up", true)) {
        p.only({"ns", "name", "up"});
        check_ifname(p, name_);
    }
    std::string describe(const LabNames& n) const override {
        return "set " + name_ + (up_ ? " up" : " down") + " in " + where_text(n, ns_);
    }
    std::vector<std::string> commands(const LabNames& n) const override {
        return {in_ns(n, ns_) + "ip link set " + name_ + (up_ ? " up" : " down")};
    }
    std::vector<std::string> keys(const LabNames& n) const override {
        return {"link-state:" + n.ns(ns_) + ":" + name_};
    }
    void apply(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        net::Rtnl rt(real);
        auto l = rt.link(name_);
        if (!l) throw Error("set " + name_ + " up in netns " + real + ": no such link");
        if (l->up == up_) return;
        ctx.change("link-state", {{"ns", real}, {"name", name_}, {"prior", l->up ? "up" : "down"}},
                   [&] { rt.set_up(name_, up_); });
    }
    std::vector<Check> check(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        auto l = net::Rtnl(real).link(name_);
        std::string want = up_ ? "up" : "down";
        return {expect(l && l->up == up_, name_ + " is " + want + " in netns " + real, want,
                       l ? (l->up ? "up" : "down") : "no such link")};
    }

private:
    std::string ns_, name_;
    bool up_;
};

}  // namespace

void register_link(lab::Registry& reg) {
    reg.add_action("link-up", [](const Params& p) { return std::make_unique<LinkUpAction>(p); });
    reg.add_undo("link-state", [](Context&, const lab::Record& r) {
        const std::string& ns = r.data.at("ns");
        if (!net::netns_exists(ns)) return;
        net::Rtnl rt(ns);
        if (!rt.link(r.data.at("name"))) return;
        rt.set_up(r.data.at("name"), r.data.at("prior") == "up");
    });
}

}  // namespace netlab::steps

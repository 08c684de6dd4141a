// Step kind "bridge": a Linux bridge in a namespace (the lab host by default), created down, like
// `ip link add dev NAME type bridge`. Also the shared undo handler "link" (delete a link we made).
#include "base/error.h"
#include "netutil/netns.h"
#include "netutil/rtnl.h"
#include "steps/common.h"
#include "steps/register.h"

namespace netlab::steps {

namespace {

class BridgeAction : public lab::Action {
public:
    explicit BridgeAction(const Params& p) : ns_(ns_param(p)), name_(p.str("name")) {
        p.only({"ns", "name"});
        check_ifname(p, name_);
    }
    std::string describe(const LabNames& n) const override {
        return "create bridge " + name_ + " in " + where_text(n, ns_);
    }
    std::vector<std::string> commands(const LabNames& n) const override {
        return {in_ns(n, ns_) + "ip link add dev " + name_ + " type bridge"};
    }
    std::vector<std::string> keys(const LabNames& n) const override { return {"link:" + n.ns(ns_) + ":" + name_}; }
    void makes(const LabNames& n, lab::LabInventory& inv) const override { inv.add_link({n.ns(ns_), name_, "bridge"}); }

    void apply(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        net::Rtnl rt(real);
        if (rt.link(name_))
            throw Error("create bridge " + name_ + " in netns " + real + ": a link of that name exists already");
        ctx.change("link", {{"ns", real}, {"name", name_}}, [&] { rt.add_bridge(name_); });
    }

    std::vector<Check> check(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        net::Rtnl rt(real);
        auto l = rt.link(name_);
        return {expect(l && l->kind == "bridge", "bridge " + name_ + " exists in netns " + real, "a bridge",
                       l ? "a link of kind '" + l->kind + "'" : "no such link")};
    }

private:
    std::string ns_, name_;
};

}  // namespace

void register_bridge(lab::Registry& reg) {
    reg.add_action("bridge", [](const Params& p) { return std::make_unique<BridgeAction>(p); });
    reg.add_undo("link", [](Context&, const lab::Record& r) {
        const std::string& ns = r.data.at("ns");
        if (!net::netns_exists(ns)) return;  // gone with its namespace
        net::Rtnl(ns).delete_link(r.data.at("name"));
    });
}

}  // namespace netlab::steps

// Step kind "netns": a named network namespace (like `ip netns add`) with its loopback up.
// The loopback carries an alias "netlab lab=<lab>" so that a namespace can be recognised as the
// lab's own even when the journal is lost.
#include "lab/error.h"
#include "netutil/netns.h"
#include "netutil/rtnl.h"
#include "steps/common.h"
#include "steps/register.h"

namespace netlab::steps {

namespace {

std::string owner_mark(const LabNames& n) { return "netlab lab=" + n.lab; }

class NetnsAction : public lab::Action {
public:
    explicit NetnsAction(const Params& p) : name_(p.str("name")) {
        p.only({"name"});
        if (name_.empty() || name_.find('/') != std::string::npos || name_.size() > 64)
            p.fail("bad namespace name '" + name_ + "'");
    }
    std::string describe(const LabNames& n) const override {
        return "create network namespace " + n.ns(name_) + " with lo up";
    }
    std::vector<std::string> commands(const LabNames& n) const override {
        return {"ip netns add " + n.ns(name_), in_ns(n, name_) + "ip link set dev lo up"};
    }
    std::vector<std::string> keys(const LabNames& n) const override { return {"netns:" + n.ns(name_)}; }

    void preflight(Context& ctx) override { refuse_existing(ctx); }

    void refuse_existing(Context& ctx) const {
        const std::string real = ctx.names.ns(name_);
        if (net::netns_exists(real))
            throw Error("create netns " + real + ": it exists already and this lab did not make it",
                        ctx.names.lab == "default"
                            ? "run a separate lab beside it with --lab NAME, or remove the leftover (ip netns del " +
                                  real + ") if it is yours"
                            : "choose another --lab name, or remove the leftover (ip netns del " + real + ")");
    }

    void apply(Context& ctx) override {
        const std::string real = ctx.names.ns(name_);
        refuse_existing(ctx);
        ctx.change("netns", {{"name", real}}, [&] { net::netns_create(real); });
        net::Rtnl rt(real);
        rt.set_up("lo", true);
        rt.set_alias("lo", owner_mark(ctx.names));
    }

    std::vector<Check> verify(Context& ctx) override {
        const std::string real = ctx.names.ns(name_);
        std::vector<Check> out;
        bool exists = net::netns_exists(real);
        out.push_back(expect(exists, "netns " + real + " exists", "present in /run/netns", "absent"));
        if (!exists) return out;
        net::Rtnl rt(real);
        auto lo = rt.link("lo");
        out.push_back(expect(lo && lo->up, "lo is up in netns " + real, "up", lo ? "down" : "no lo"));
        return out;
    }

private:
    std::string name_;
};

}  // namespace

void register_netns(lab::Registry& reg) {
    reg.add_action("netns", [](const Params& p) { return std::make_unique<NetnsAction>(p); });
    reg.add_undo("netns", [](Context&, const lab::Record& r) { net::netns_delete(r.data.at("name")); });
}

}  // namespace netlab::steps

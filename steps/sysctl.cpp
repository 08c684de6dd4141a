// Step kind "sysctl": a per-namespace sysctl (net.ipv4.ip_forward, net.bridge.bridge-nf-call-iptables)
// set inside a lab namespace, never the root one. The prior value is journaled; undo restores it.
#include "base/error.h"
#include "netutil/netns.h"
#include "netutil/sysctl.h"
#include "steps/common.h"
#include "steps/register.h"

namespace netlab::steps {

namespace {

class SysctlAction : public lab::Action {
public:
    explicit SysctlAction(const Params& p) : ns_(ns_param(p)), key_(p.str("key")), value_(p.str("value")) {
        p.only({"ns", "key", "value"});
        if (key_.rfind("net.", 0) != 0)
            p.fail("sysctl '" + key_ + "' is not per network namespace; netlab only sets net.* keys inside its namespaces");
        if (key_.find("..") != std::string::npos || key_.find('/') != std::string::npos) p.fail("bad sysctl key '" + key_ + "'");
    }
    std::string describe(const LabNames& n) const override {
        return "set " + key_ + "=" + value_ + " in " + where_text(n, ns_);
    }
    std::vector<std::string> commands(const LabNames& n) const override {
        return {in_ns(n, ns_) + "sysctl --write " + key_ + "=" + value_};
    }
    std::vector<std::string> keys(const LabNames& n) const override { return {"sysctl:" + n.ns(ns_) + ":" + key_}; }
    void apply(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        auto prior = net::sysctl_read(real, key_);
        if (!prior) throw Error("read sysctl " + key_ + " in netns " + real + ": no such key", "is the kernel feature available? try `netlab doctor`");
        if (*prior == value_) return;
        ctx.change("sysctl", {{"ns", real}, {"key", key_}, {"prior", *prior}, {"value", value_}},
                   [&] { net::sysctl_write(real, key_, value_); });
    }
    std::vector<Check> check(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        auto v = net::sysctl_read(real, key_);
        return {expect(v && *v == value_, key_ + " = " + value_ + " in netns " + real, value_, v ? *v : "no such key")};
    }

private:
    std::string ns_, key_, value_;
};

}  // namespace

void register_sysctl(lab::Registry& reg) {
    reg.add_action("sysctl", [](const Params& p) { return std::make_unique<SysctlAction>(p); });
    reg.add_undo("sysctl", [](Context&, const lab::Record& r) {
        const std::string& ns = r.data.at("ns");
        if (!net::netns_exists(ns)) return;
        net::sysctl_write(ns, r.data.at("key"), r.data.at("prior"));
    });
}

}  // namespace netlab::steps

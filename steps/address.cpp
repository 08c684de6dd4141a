// Step kind "address": an IPv4 address on a link, like `ip address add CIDR dev DEV`.
#include <algorithm>

#include "base/error.h"
#include "netutil/netns.h"
#include "netutil/rtnl.h"
#include "steps/common.h"
#include "steps/register.h"

namespace netlab::steps {

namespace {

class AddressAction : public lab::Action {
public:
    explicit AddressAction(const Params& p) : ns_(ns_param(p)), dev_(p.str("dev")), cidr_(p.str("address")) {
        p.only({"ns", "dev", "address"});
        check_ifname(p, dev_);
        check_cidr(p, cidr_);
    }
    std::string describe(const LabNames& n) const override {
        return "add address " + cidr_ + " to " + dev_ + " in " + where_text(n, ns_);
    }
    std::vector<std::string> commands(const LabNames& n) const override {
        return {in_ns(n, ns_) + "ip address add " + cidr_ + " dev " + dev_};
    }
    std::vector<std::string> keys(const LabNames& n) const override {
        return {"address:" + n.ns(ns_) + ":" + dev_ + ":" + cidr_};
    }
    void apply(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        net::Rtnl rt(real);
        ctx.change("address", {{"ns", real}, {"dev", dev_}, {"cidr", cidr_}}, [&] { rt.add_address(dev_, cidr_); });
    }
    std::vector<Check> check(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        auto addrs = net::Rtnl(real).addresses();
        std::string seen;
        bool found = false;
        for (auto& a : addrs)
            if (a.link == dev_) {
                seen += (seen.empty() ? "" : ", ") + a.cidr;
                found = found || a.cidr == cidr_;
            }
        return {expect(found, dev_ + " has " + cidr_ + " in netns " + real, cidr_, seen.empty() ? "no address" : seen)};
    }

private:
    std::string ns_, dev_, cidr_;
};

}  // namespace

void register_address(lab::Registry& reg) {
    reg.add_action("address", [](const Params& p) { return std::make_unique<AddressAction>(p); });
    reg.add_undo("address", [](Context&, const lab::Record& r) {
        const std::string& ns = r.data.at("ns");
        if (!net::netns_exists(ns)) return;
        net::Rtnl rt(ns);
        if (!rt.link(r.data.at("dev"))) return;  // gone with its link
        rt.delete_address(r.data.at("dev"), r.data.at("cidr"));
    });
}

}  // namespace netlab::steps

// Step kind "veth": a veth pair, one end in `ns` (the lab host by default), the peer created
// directly inside `peer_ns`; optionally enslaved to a bridge; both ends up. Undone by deleting the
// pair (undo handler "link", which removes both ends).
#include "base/error.h"
#include "netutil/netns.h"
#include "netutil/rtnl.h"
#include "steps/common.h"
#include "steps/register.h"

namespace netlab::steps {

namespace {

class VethAction : public lab::Action {
public:
    explicit VethAction(const Params& p)
        : ns_(ns_param(p)), name_(p.str("name")), peer_(p.str("peer")), peer_ns_(p.str_or("peer_ns", ns_)),
          master_(p.str_or("master", "")), up_(p.boolean_or("up", true)) {
        p.only({"ns", "name", "peer", "peer_ns", "master", "up"});
        check_ifname(p, name_);
        check_ifname(p, peer_);
        if (!master_.empty()) check_ifname(p, master_);
    }
    std::string describe(const LabNames& n) const override {
        return "create veth " + name_ + " in " + where_text(n, ns_) + " with peer " + peer_ + " in " +
               where_text(n, peer_ns_) + (master_.empty() ? "" : ", port of " + master_);
    }
    std::vector<std::string> commands(const LabNames& n) const override {
        std::vector<std::string> c;
        std::string h = in_ns(n, ns_);
        c.push_back(h + "ip link add dev " + name_ + " type veth peer name " + peer_);
        if (!master_.empty()) c.push_back(h + "ip link set dev " + name_ + " master " + master_);
        if (up_) c.push_back(h + "ip link set dev " + name_ + " up");
        if (peer_ns_ != ns_) c.push_back(h + "ip link set dev " + peer_ + " netns " + n.ns(peer_ns_));
        if (up_) c.push_back(in_ns(n, peer_ns_) + "ip link set dev " + peer_ + " up");
        return c;
    }
    std::vector<std::string> keys(const LabNames& n) const override { return {"link:" + n.ns(ns_) + ":" + name_}; }
    void makes(const LabNames& n, lab::LabInventory& inv) const override {
        inv.add_link({n.ns(ns_), name_, "veth"});
        inv.add_link({n.ns(peer_ns_), peer_, "veth"});
    }

    // A link of either name inside a namespace of the lab that exists already was made by hand.
    void preflight(Context& ctx) override {
        refuse_existing(ctx.names.ns(ns_), name_, "veth " + name_);
        refuse_existing(ctx.names.ns(peer_ns_), peer_, "veth peer " + peer_);
    }

    // The master and up changes concern the pair the "link" record already owns (undo deletes it
    // whole); each is a fault point all the same.
    void apply(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_), peer_real = ctx.names.ns(peer_ns_);
        net::Rtnl rt(real);
        net::Rtnl prt(peer_real);
        refuse_existing(real, name_, "veth " + name_);
        refuse_existing(peer_real, peer_, "veth peer " + peer_);
        ctx.change("link", {{"ns", real}, {"name", name_}}, [&] { rt.add_veth(name_, peer_, peer_real); });
        if (!master_.empty()) {
            rt.set_master(name_, master_);
            lab::Journal::maybe_fault();
        }
        if (up_) {
            rt.set_up(name_, true);
            lab::Journal::maybe_fault();
            prt.set_up(peer_, true);
            lab::Journal::maybe_fault();
        }
    }

    std::vector<Check> check(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_), peer_real = ctx.names.ns(peer_ns_);
        std::vector<Check> out;
        net::Rtnl rt(real);
        auto l = rt.link(name_);
        out.push_back(expect(l && l->kind == "veth", "veth " + name_ + " exists in netns " + real, "a veth",
                             l ? "kind '" + l->kind + "'" : "no such link"));
        if (!l) return out;
        if (!master_.empty())
            out.push_back(expect(l->master_name == master_, name_ + " is a port of " + master_, master_,
                                 l->master_name.empty() ? "no master" : l->master_name));
        if (up_) out.push_back(expect(l->up, name_ + " is up", "up", "down"));
        auto p = net::Rtnl(peer_real).link(peer_);
        out.push_back(expect(p.has_value(), "peer " + peer_ + " is in netns " + peer_real, "present", "absent"));
        if (p && up_) out.push_back(expect(p->up, peer_ + " is up in netns " + peer_real, "up", "down"));
        return out;
    }

private:
    static void refuse_existing(const std::string& real_ns, const std::string& link, const std::string& what) {
        if (!net::netns_exists(real_ns) || !net::Rtnl(real_ns).link(link)) return;
        throw Error("create " + what + " in netns " + real_ns + ": a link of that name exists already and this lab "
                    "did not make it",
                    "remove it (ip -n " + real_ns + " link del " + link + ") or run a separate lab with --lab NAME");
    }

    std::string ns_, name_, peer_, peer_ns_, master_;
    bool up_;
};

}  // namespace

void register_veth(lab::Registry& reg) {
    reg.add_action("veth", [](const Params& p) { return std::make_unique<VethAction>(p); });
}

}  // namespace netlab::steps

// Step kind "netns": a named network namespace (like `ip netns add`) with its loopback up.
// The loopback carries an alias "netlab lab=<lab>" so that a namespace can be recognised as the
// lab's own even when the journal is lost.
#include "steps/netns.h"

#include "base/error.h"
#include "netutil/netns.h"
#include "netutil/rtnl.h"
#include "steps/common.h"
#include "steps/register.h"

namespace netlab::steps {

namespace {

constexpr const char* kMarkPrefix = "netlab lab=";

std::string owner_mark(const LabNames& n) { return netns_owner_mark(n.lab); }

class NetnsAction : public lab::Action {
public:
    explicit NetnsAction(const Params& p) {
        p.only({"name"});  // first: a misspelt "nmae" gets "did you mean", not "missing field 'name'"
        name_ = p.str("name");
        if (name_.empty() || name_.find('/') != std::string::npos || name_.size() > 64)
            p.fail("bad namespace name '" + name_ + "'");
    }
    std::string describe(const LabNames& n) const override {
        return "create network namespace " + n.ns(name_) + " with lo up";
    }
    std::vector<std::string> commands(const LabNames& n) const override {
        return {"ip netns add " + n.ns(name_), in_ns(n, name_) + "ip link set dev lo up",
                in_ns(n, name_) + "ip link set dev lo alias '" + owner_mark(n) + "'"};
    }
    std::vector<std::string> keys(const LabNames& n) const override { return {"netns:" + n.ns(name_)}; }
    void makes(const LabNames& n, lab::LabInventory& inv) const override { inv.add_namespace(n.ns(name_)); }

    void preflight(Context& ctx) override { refuse_existing(ctx); }

    void refuse_existing(Context& ctx) const {
        const std::string real = ctx.names.ns(name_);
        if (!net::netns_exists(real)) return;
        const std::string what = "create netns " + real + ": it exists already";
        const std::string other = netns_mark_lab(netns_mark(real));
        if (other == ctx.names.lab)
            throw Error(what + ", left over from this lab (its mark says so) but not in its journal",
                        "run `netlab reset" + lab_opt(ctx.names) + "` to remove what the lab left behind, then run again");
        if (!other.empty())
            throw Error(what + " and belongs to lab '" + other + "'", "use another --lab name");
        throw Error(what + " and this lab did not make it",
                    ctx.names.lab == "default"
                        ? "run a separate lab beside it with --lab NAME, or remove the leftover (ip netns del " +
                              real + ") if it is yours"
                        : "choose another --lab name, or remove the leftover (ip netns del " + real + ")");
    }

    // Journaled before it is made, and marked as the lab's within the same change, before the record
    // is confirmed: a pending record whose namespace lacks the mark is not netlab's (undo_netns). The
    // loopback going up is a change to the namespace the record owns; a fault point all the same.
    void apply(Context& ctx) override {
        const std::string real = ctx.names.ns(name_);
        refuse_existing(ctx);
        ctx.change("netns", {{"name", real}}, [&] {
            net::netns_create(real);
            net::Rtnl(real).set_alias("lo", owner_mark(ctx.names));
        });
        net::Rtnl(real).set_up("lo", true);
        lab::Journal::maybe_fault();
    }

    std::vector<Check> check(Context& ctx) override {
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
    static std::string lab_opt(const LabNames& n) { return n.lab == "default" ? "" : " --lab " + n.lab; }

    std::string name_;
};

// A namespace whose record was journaled but never confirmed may have been made by someone else
// after netlab stopped (or its creation failed because it existed): only the mark makes it ours.
void undo_netns(Context& ctx, const lab::Record& r) {
    const std::string& name = r.data.at("name");
    if (!net::netns_exists(name)) return;
    if (!r.done && netns_mark(name) != owner_mark(ctx.names)) {
        if (ctx.out) *ctx.out << "      note: kept netns " << name << ": netlab stopped before it was made, and it "
                              << "does not carry the lab's mark, so it is not netlab's\n";
        return;
    }
    net::netns_delete(name);
}

}  // namespace

std::string netns_owner_mark(const std::string& lab) { return kMarkPrefix + lab; }

std::string netns_mark(const std::string& real) {
    try {
        if (!net::netns_exists(real)) return "";
        auto lo = net::Rtnl(real).link("lo");
        return lo ? lo->alias : "";
    } catch (const Error&) {
        return "";  // vanished while being read, or not readable: not marked as far as netlab can tell
    }
}

std::string netns_mark_lab(const std::string& mark) {
    return mark.rfind(kMarkPrefix, 0) == 0 ? mark.substr(std::string(kMarkPrefix).size()) : "";
}

void register_netns(lab::Registry& reg) {
    reg.add_action("netns", [](const Params& p) { return std::make_unique<NetnsAction>(p); });
    reg.add_undo("netns", undo_netns);
}

}  // namespace netlab::steps

// Step kinds "hairpin" (per-port hairpin mode, `bridge link set dev PORT hairpin on`) and
// "promisc" (a promiscuous link, `ip link set DEV promisc on`). Prior states are journaled.
#include <filesystem>
#include <sstream>

#include "base/error.h"
#include "lab/fs.h"
#include "netutil/netns.h"
#include "netutil/rtnl.h"
#include "netutil/sysctl.h"
#include "pods/http_client.h"
#include "steps/common.h"
#include "steps/register.h"

namespace netlab::steps {

namespace fs = std::filesystem;

namespace {

// The shell loop that sets hairpin on or off for every port of a bridge; `h` runs a command in its namespace.
std::string every_port_hairpin(const std::string& h, const std::string& bridge, const std::string& v) {
    return "for p in $(" + h + "ls /sys/class/net/" + bridge + "/brif); do " + h + "bridge link set dev $p hairpin " + v + "; done";
}

class HairpinAction : public lab::Action {
public:
    explicit HairpinAction(const Params& p) : ns_(ns_param(p)), on_(p.boolean_or("on", true)) {
        p.only({"ns", "port", "bridge", "on"});
        if (p.has("port") == p.has("bridge")) p.fail("give either 'port' (one bridge port) or 'bridge' (all its ports)");
        port_ = p.str_or("port", "");
        bridge_ = p.str_or("bridge", "");
        check_ifname(p, port_.empty() ? bridge_ : port_);
    }
    std::string describe(const LabNames& n) const override {
        return std::string("hairpin ") + (on_ ? "on" : "off") + " for " +
               (port_.empty() ? "every port of " + bridge_ : "bridge port " + port_) + " in " + where_text(n, ns_);
    }
    std::vector<std::string> commands(const LabNames& n) const override {
        std::string h = in_ns(n, ns_);
        std::string v = on_ ? "on" : "off";
        if (!port_.empty()) return {h + "bridge link set dev " + port_ + " hairpin " + v};
        return {every_port_hairpin(h, bridge_, v)};
    }
    std::vector<std::string> keys(const LabNames& n) const override {
        if (!port_.empty()) return {"hairpin:" + n.ns(ns_) + ":" + port_};
        return {"hairpin:" + n.ns(ns_) + ":*" + bridge_};
    }
    std::vector<std::string> ports(net::Rtnl& rt) const {
        if (!port_.empty()) return {port_};
        std::vector<std::string> out;
        for (auto& l : rt.links())
            if (l.master_name == bridge_) out.push_back(l.name);
        return out;
    }
    void apply(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        net::Rtnl rt(real);
        for (auto& p : ports(rt)) {
            auto l = rt.link(p);
            if (!l || !l->master) throw Error("set hairpin on " + p + " in netns " + real + ": not a bridge port");
            if (l->hairpin == on_) continue;
            ctx.change("hairpin", {{"ns", real}, {"port", p}, {"prior", l->hairpin ? "on" : "off"}},
                       [&] { rt.set_hairpin(p, on_); });
        }
    }
    std::vector<Check> check(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        net::Rtnl rt(real);
        std::vector<Check> out;
        std::string want = on_ ? "on" : "off";
        for (auto& p : ports(rt)) {
            auto l = rt.link(p);
            out.push_back(expect(l && l->hairpin == on_, "hairpin " + want + " on " + p + " in netns " + real, want,
                                 l ? (l->hairpin ? "on" : "off") : "no such link"));
        }
        return out;
    }

private:
    std::string ns_, port_, bridge_;
    bool on_;
};

class PromiscAction : public lab::Action {
public:
    explicit PromiscAction(const Params& p) : ns_(ns_param(p)), dev_(p.str("dev")), on_(p.boolean_or("on", true)) {
        p.only({"ns", "dev", "on"});
        check_ifname(p, dev_);
    }
    std::string describe(const LabNames& n) const override {
        return "promiscuous mode " + std::string(on_ ? "on" : "off") + " for " + dev_ + " in " + where_text(n, ns_);
    }
    std::vector<std::string> commands(const LabNames& n) const override {
        return {in_ns(n, ns_) + "ip link set " + dev_ + " promisc " + (on_ ? "on" : "off")};
    }
    std::vector<std::string> keys(const LabNames& n) const override { return {"promisc:" + n.ns(ns_) + ":" + dev_}; }
    void apply(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        net::Rtnl rt(real);
        auto l = rt.link(dev_);
        if (!l) throw Error("set promisc on " + dev_ + " in netns " + real + ": no such link");
        if (l->promisc == on_) return;
        ctx.change("promisc", {{"ns", real}, {"dev", dev_}, {"prior", l->promisc ? "on" : "off"}},
                   [&] { rt.set_promisc(dev_, on_); });
    }
    std::vector<Check> check(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        auto l = net::Rtnl(real).link(dev_);
        std::string want = on_ ? "on" : "off";
        return {expect(l && l->promisc == on_, "promisc " + want + " on " + dev_ + " in netns " + real, want,
                       l ? (l->promisc ? "on" : "off") : "no such link")};
    }

private:
    std::string ns_, dev_;
    bool on_;
};

// What the promisc probe saw, kept for the rest of the boot (the kernel cannot change before the
// next one) in the state root, next to the labs: a run waits out the probe's 300 ms once per boot,
// not every time. Keyed by the boot id and by what else decides the outcome, the lab host's
// bridge-nf-call-iptables; `verify` always probes anew.
class ProbeMemory {
public:
    ProbeMemory(const fs::path& state_root, std::string key) : file_(state_root / "kernel-observations"), key_(std::move(key)) {}

    // "works: DETAIL" / "fails: DETAIL" seen earlier this boot, or "".
    std::string recall() const {
        auto text = lab::read_file(file_);
        if (!text) return "";
        std::istringstream in(*text);
        std::string line;
        while (std::getline(in, line))
            if (line.rfind(key_ + " ", 0) == 0) return line.substr(key_.size() + 1);
        return "";
    }
    void remember(const std::string& outcome) const {
        std::string kept;
        if (auto text = lab::read_file(file_)) {  // other keys of this boot stay; older boots go
            std::istringstream in(*text);
            std::string line;
            while (std::getline(in, line))
                if (line.rfind(boot_id(), 0) == 0 && line.rfind(key_ + " ", 0) != 0) kept += line + "\n";
        }
        lab::write_file_atomic(file_, kept + key_ + " " + outcome + "\n", 0644, false);
    }
    static std::string boot_id() {
        auto id = lab::read_file("/proc/sys/kernel/random/boot_id");
        std::string s = id.value_or("unknown-boot");
        while (!s.empty() && s.back() == '\n') s.pop_back();
        return s;
    }

private:
    fs::path file_;
    std::string key_;
};

// The article's alternative to per-port hairpin: hairpin off on `port`, the bridge promiscuous.
// Whether that still carries hairpin traffic depends on the kernel (commit 751de2012eaf, v6.9 and
// its stable backports, stopped it), so it is decided by a runtime probe, never by the version: a
// connection from `from` to `url`. When the trick fails, hairpin goes on for every port of the
// bridge (kubelet's hairpin-veth mode) so that the steps after it keep working, and the step says so.
class PromiscBridgeAction : public lab::Action {
public:
    explicit PromiscBridgeAction(const Params& p)
        : ns_(ns_param(p)), bridge_(p.str("bridge")), port_(p.str("port")), from_(p.str("from")), url_text_(p.str("url")) {
        p.only({"ns", "bridge", "port", "from", "url"});
        check_ifname(p, bridge_);
        check_ifname(p, port_);
        try {
            url_ = pods::parse_url(url_text_);
        } catch (const Error& e) {
            p.fail(e.what());
        }
    }
    std::string describe(const LabNames& n) const override {
        return "hairpin off on " + port_ + ", " + bridge_ + " promiscuous in " + where_text(n, ns_) +
               "; probe whether this kernel still carries hairpin traffic that way";
    }
    std::vector<std::string> commands(const LabNames& n) const override {
        std::string h = in_ns(n, ns_);
        // The same probe as apply(), decided when the commands run: one connection, 300 ms.
        return {h + "bridge link set dev " + port_ + " hairpin off", h + "ip link set " + bridge_ + " promisc on",
                "if ! " + in_ns(n, from_) + "curl -s -o /dev/null --max-time 0.3 " + url_text_ + "; then echo '" + from_ +
                    " cannot reach " + url_text_ + " through the promiscuous " + bridge_ +
                    " on this kernel: hairpin on for every port instead'; " + every_port_hairpin(h, bridge_, "on") + "; fi"};
    }
    std::vector<std::string> keys(const LabNames& n) const override {
        return {"promisc:" + n.ns(ns_) + ":" + bridge_, "hairpin:" + n.ns(ns_) + ":" + port_};
    }

    // apply() decides with one short connection: a lab-local answer takes well under a millisecond and
    // a dropped SYN is only known when the wait runs out. verify() expects a reply whichever way the
    // step went (hairpin is on where the trick fails), so it waits as long as other checks do and tries
    // a connection that timed out again, as a busy machine can make one miss.
    bool probe(Context& ctx, std::string& detail, bool expect_reply = false) const {
        net::NetnsGuard g(ctx.names.ns(from_));
        auto wait = std::chrono::milliseconds(expect_reply ? 2000 : 300);
        auto r = pods::http_get(url_.host, url_.port, url_.path, wait);
        int retried = 0;
        for (; expect_reply && !r.ok && r.timed_out && retried < 2; ++retried)
            r = pods::http_get(url_.host, url_.port, url_.path, wait);
        detail = r.ok ? "a reply from pod " + r.pod : r.error;
        if (r.ok && retried) detail += " (1 retried: the machine was busy)";
        return r.ok;
    }

    void apply(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        net::Rtnl rt(real);
        auto set_hairpin = [&](const std::string& p, bool on) {
            auto l = rt.link(p);
            if (!l || !l->master) throw Error("set hairpin on " + p + " in netns " + real + ": not a bridge port");
            if (l->hairpin == on) return;
            ctx.change("hairpin", {{"ns", real}, {"port", p}, {"prior", l->hairpin ? "on" : "off"}},
                       [&] { rt.set_hairpin(p, on); });
        };
        set_hairpin(port_, false);
        auto b = rt.link(bridge_);
        if (!b) throw Error("set promisc on " + bridge_ + " in netns " + real + ": no such link");
        if (!b->promisc)
            ctx.change("promisc", {{"ns", real}, {"dev", bridge_}, {"prior", "off"}}, [&] { rt.set_promisc(bridge_, true); });
        const std::string real_host = ctx.names.ns(ns_);
        ProbeMemory memory(ctx.state_dir.parent_path(),
                           ProbeMemory::boot_id() + " promisc-hairpin bridge-nf-call-iptables=" +
                               net::sysctl_read(real_host, "net.bridge.bridge-nf-call-iptables").value_or("absent"));
        std::string detail;
        bool works = false;
        if (std::string seen = memory.recall(); !seen.empty()) {
            works = seen.rfind("works: ", 0) == 0;
            detail = seen.substr(seen.find(": ") + 2) + " (probed earlier this boot; netlab verify probes again)";
        } else {
            works = probe(ctx, detail);
            memory.remember((works ? "works: " : "fails: ") + detail);
        }
        if (works) {
            ctx.change("observation", {{"promisc_hairpin", "works"}, {"detail", detail}}, [] {});
            return;
        }
        ctx.change("observation", {{"promisc_hairpin", "fails"}, {"detail", detail}}, [] {});
        for (auto& l : rt.links())
            if (l.master_name == bridge_) set_hairpin(l.name, true);
    }

    std::vector<Check> check(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        std::vector<Check> out;
        net::Rtnl rt(real);
        auto b = rt.link(bridge_);
        out.push_back(expect(b && b->promisc, bridge_ + " is promiscuous in netns " + real, "on", b ? (b->promisc ? "on" : "off") : "no such link"));
        std::string observed;
        for (auto& s : ctx.journal->steps())
            for (auto& r : ctx.journal->records(s.id))
                if (r.kind == "observation" && r.step == ctx.step) observed = r.data.at("promisc_hairpin") + ": " + r.data.at("detail");
        std::string detail;
        bool works = probe(ctx, detail, true);
        Check c = expect(works, from_ + " reaches its own service " + url_text_ + " again", "a reply", detail);
        if (observed.rfind("works", 0) == 0)
            c.note = "observed: with hairpin off and " + bridge_ + " promiscuous, this kernel still carried the hairpin "
                     "traffic (" + observed.substr(7) + ").";
        else if (observed.rfind("fails", 0) == 0)
            c.note = "observed: with hairpin off and " + bridge_ + " promiscuous, " + from_ + " could NOT reach its own service (" +
                     observed.substr(7) + ").\n"
                     "This kernel has the 2024 change \"br_netfilter: skip conntrack input hook for promisc packets\" (v6.9,\n"
                     "backported to stable kernels): frames passed up only because the bridge is promiscuous lose their\n"
                     "conntrack entry, so the DNAT/MASQUERADE state is gone and no reply comes back. The article predates it.\n"
                     "netlab turned hairpin on for every port of " + bridge_ + " instead (what kubelet's hairpin-veth mode does),\n"
                     "so the steps after this one keep working.";
        out.push_back(c);
        return out;
    }

private:
    std::string ns_, bridge_, port_, from_, url_text_;
    pods::Url url_;
};

}  // namespace

void register_bridge_port(lab::Registry& reg) {
    reg.add_action("hairpin", [](const Params& p) { return std::make_unique<HairpinAction>(p); });
    reg.add_action("promisc", [](const Params& p) { return std::make_unique<PromiscAction>(p); });
    reg.add_action("promisc-bridge", [](const Params& p) { return std::make_unique<PromiscBridgeAction>(p); });
    reg.add_undo("observation", [](Context&, const lab::Record&) {});  // what a probe saw; nothing to undo
    reg.add_undo("hairpin", [](Context&, const lab::Record& r) {
        const std::string& ns = r.data.at("ns");
        if (!net::netns_exists(ns)) return;
        net::Rtnl rt(ns);
        auto l = rt.link(r.data.at("port"));
        if (!l || !l->master) return;
        rt.set_hairpin(r.data.at("port"), r.data.at("prior") == "on");
    });
    reg.add_undo("promisc", [](Context&, const lab::Record& r) {
        const std::string& ns = r.data.at("ns");
        if (!net::netns_exists(ns)) return;
        net::Rtnl rt(ns);
        if (!rt.link(r.data.at("dev"))) return;
        rt.set_promisc(r.data.at("dev"), r.data.at("prior") == "on");
    });
}

}  // namespace netlab::steps

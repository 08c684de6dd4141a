#include "maintenance/doctor.h"

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <optional>

#include "base/error.h"
#include "netutil/netns.h"
#include "netutil/nft.h"
#include "netutil/rtnl.h"
#include "netutil/sysctl.h"
#include "rules/apply.h"
#include "rules/builtin.h"
#include "rules/command.h"
#include "rules/words.h"
#include "steps/rules.h"

namespace netlab::maintenance {

namespace {

constexpr const char* kOk = "\u2713";
constexpr const char* kFail = "\u2717";

// Effective capabilities of this process (the CapEff line of /proc/self/status).
uint64_t effective_caps() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("CapEff:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
    return 0;
}

// The scratch namespace the kernel probes run in; deleted with everything in it.
class ScratchNs {
public:
    ScratchNs() : name_("netlab-doctor-" + std::to_string(::getpid())) {
        net::netns_create(name_);
        made_ = true;
    }
    ~ScratchNs() {
        if (!made_) return;
        try {
            net::netns_delete(name_);
        } catch (const Error& e) {
            std::cerr << "netlab: " << e.what() << " (remove it with: ip netns del " << name_ << ")\n";
        }
    }
    ScratchNs(const ScratchNs&) = delete;
    ScratchNs& operator=(const ScratchNs&) = delete;
    const std::string& name() const { return name_; }

private:
    std::string name_;
    bool made_ = false;
};

// Runs `probe`; a thrown Error is the reason the feature is missing.
template <class F>
Finding check(const std::string& what, const std::string& fix, F&& probe) {
    try {
        probe();
        return {true, what, ""};
    } catch (const std::exception& e) {
        return {false, what + ": " + e.what(), fix};
    }
}

// Programs `commands` (iptables lines) into the scratch namespace and reads them back.
void program_rules(const std::string& ns, const std::vector<std::string>& commands) {
    rules::Ruleset rs = steps::read_rules(ns);
    for (auto& c : commands) rules::apply_command(rs, rules::parse_iptables(rules::split_words(c)));
    net::nft_replace(ns, rules::normalized(rs), rules::tables());
    rules::Ruleset back = steps::read_rules(ns);
    if (rules::normalized(back) != rules::normalized(rs)) throw Error("the rules read back differ from those programmed");
}

std::vector<Finding> kernel_checks(const std::string& ns) {
    std::vector<Finding> out;
    out.push_back(check("bridge: a Linux bridge can be made", "load the bridge module: modprobe bridge (CONFIG_BRIDGE)",
                        [&] { net::Rtnl(ns).add_bridge("nld-br0"); }));
    out.push_back(check("veth: a veth pair can be made", "load the veth module: modprobe veth (CONFIG_VETH)",
                        [&] { net::Rtnl(ns).add_veth("nld-v0", "nld-v1", ns); }));
    out.push_back(check("nf_tables: rules can be programmed in iptables-nft's layout",
                        "load nf_tables: modprobe nf_tables nft_compat nf_nat (CONFIG_NF_TABLES, CONFIG_NFT_COMPAT)",
                        [&] { program_rules(ns, {"-t filter -A FORWARD -i nld-br0 -j ACCEPT",
                                                 "-t nat -A POSTROUTING -s 10.0.0.0/24 -j MASQUERADE"}); }));
    out.push_back(check("xt statistic: -m statistic --mode random works (random load balancing)",
                        "load it: modprobe xt_statistic (CONFIG_NETFILTER_XT_MATCH_STATISTIC)",
                        [&] { program_rules(ns, {"-t nat -N NLD-SEP", "-t nat -A PREROUTING -m statistic --mode random "
                                                                      "--probability 0.5 -j NLD-SEP"}); }));
    out.push_back(check("br_netfilter: net.bridge.bridge-nf-call-iptables is there per namespace",
                        "load it: modprobe br_netfilter (CONFIG_BRIDGE_NETFILTER)", [&] {
                            if (!net::sysctl_read(ns, "net.bridge.bridge-nf-call-iptables"))
                                throw Error("no such sysctl in a new namespace");
                        }));
    return out;
}

// Making the scratch namespace checks two things: that the kernel makes network namespaces
// (unshare) and that they can be bound under /run/netns like `ip netns add` does (mkdir, mounts).
std::vector<Finding> namespace_checks(std::optional<ScratchNs>& scratch) {
    const std::string ns_what = "network namespaces: the kernel makes them";
    const std::string run_what = "/run/netns: namespaces can be bound there, like ip netns add does";
    const std::string ns_fix = "the kernel needs CONFIG_NET_NS (in a container: run it --privileged)";
    const std::string run_fix = "/run must be writable and mountable (in a container: --privileged, or CAP_SYS_ADMIN "
                                "with a writable /run)";
    try {
        scratch.emplace();
    } catch (const Error& e) {
        std::string why = e.what();
        if (why.find(": unshare:") != std::string::npos)
            return {{false, ns_what + ": " + why, ns_fix}, {false, run_what + ": not tried (no namespace to bind)", run_fix}};
        return {{true, ns_what, ""}, {false, run_what + ": " + why, run_fix}};
    }
    return {{true, ns_what + " (" + scratch->name() + " for these checks, deleted afterwards)", ""}, {true, run_what, ""}};
}

}  // namespace

Finding privileges_finding(uint64_t caps, unsigned euid) {
    constexpr int kNetAdmin = 12, kSysAdmin = 21;
    std::vector<std::string> missing;
    if (!(caps >> kSysAdmin & 1)) missing.push_back("CAP_SYS_ADMIN (to make namespaces and mount them under /run/netns)");
    if (!(caps >> kNetAdmin & 1)) missing.push_back("CAP_NET_ADMIN (to make links and program rules over netlink)");
    if (euid == 0 && missing.empty()) return {true, "privileges: root, with CAP_SYS_ADMIN and CAP_NET_ADMIN", ""};
    std::string what = "privileges: running as uid " + std::to_string(euid) + ", missing";
    for (size_t i = 0; i < missing.size(); ++i) what += (i ? " and " : " ") + missing[i];
    if (missing.empty()) what += " root (euid 0) for /run/netns and /etc/netns";
    return {false, what,
            euid == 0 ? "give the container these capabilities (e.g. docker run --cap-add SYS_ADMIN --cap-add NET_ADMIN)"
                      : "run it as root: sudo netlab doctor"};
}

std::vector<Finding> Doctor::examine() {
    std::vector<Finding> found{privileges_finding(effective_caps(), ::geteuid())};
    if (!found.front().ok) return found;
    std::optional<ScratchNs> scratch;
    for (auto& f : namespace_checks(scratch)) found.push_back(f);
    if (scratch)
        for (auto& f : kernel_checks(scratch->name())) found.push_back(f);
    return found;
}

int Doctor::run() {
    out_ << "netlab doctor: can this machine run labs? (the probes run in a scratch namespace, never in yours)\n";
    return report(examine(), out_);
}

int Doctor::report(const std::vector<Finding>& found, std::ostream& out) {
    size_t bad = 0;
    for (auto& f : found) {
        out << "  " << (f.ok ? kOk : kFail) << " " << f.what << "\n";
        if (!f.ok) out << "      what to do: " << f.fix << "\n";
        bad += !f.ok;
    }
    if (!found.empty() && !found.front().ok) out << "  (the kernel checks need those privileges; they were skipped)\n";
    if (bad) out << bad << " problem(s) found.\n";
    else out << "All " << found.size() << " checks passed: this machine can run labs.\n";
    return bad ? 1 : 0;
}

}  // namespace netlab::maintenance

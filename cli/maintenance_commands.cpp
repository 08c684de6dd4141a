// reset and doctor: putting a lab back to nothing whatever state it is in, and checking that this
// machine can run labs at all.
//
// `netlab reset` first undoes what the journal lists (when it can be read), then sweeps for what the
// lab may have made without a journal to say so: namespaces carrying the lab's mark (steps/netns.h),
// its pods (processes `netlab pod --lab LAB ...`), the /etc/netns files only netlab writes, and the
// state directory. A namespace with one of the lab's names but without its mark is reported and kept.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "cli/cli.h"
#include "base/error.h"
#include "lab/fs.h"
#include "lab/journal.h"
#include "lab/lock.h"
#include "netutil/netns.h"
#include "netutil/nft.h"
#include "netutil/rtnl.h"
#include "netutil/sysctl.h"
#include "steps/iptables.h"
#include "steps/netns.h"
#include "steps/pod.h"
#include "steps/rules.h"

namespace netlab::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kOk = "\u2713";
constexpr const char* kFail = "\u2717";
const fs::path kEtcNetns = "/etc/netns";

// ---------------------------------------------------------------------------------------- reset

// What the lab's tutorial says it makes: its namespaces (real names) and its resolv.conf lines.
struct LabShape {
    std::set<std::string> namespaces;
    std::set<std::string> resolv_lines;  // "nameserver 8.8.8.8"
};

LabShape shape_of(Globals& g, const std::string& tutorial, std::ostream& out) {
    LabShape s;
    try {
        auto file = lab::find_tutorial(tutorial, g.self_exe());
        auto tut = lab::load_tutorial(file, g.registry());
        for (auto& step : tut.steps)
            for (auto& a : step.actions)
                for (auto& k : a->keys(g.names()))
                    if (k.rfind("netns:", 0) == 0) s.namespaces.insert(k.substr(6));
        auto root = toml::parse_file(file.string());
        if (auto* steps = root["step"].as_array())
            for (auto& st : *steps)
                if (auto* acts = st.as_table() ? (*st.as_table())["action"].as_array() : nullptr)
                    for (auto& a : *acts)
                        if (a.as_table() && (*a.as_table())["kind"].value_or(std::string()) == "resolv-conf")
                            s.resolv_lines.insert("nameserver " + (*a.as_table())["nameserver"].value_or(std::string()));
    } catch (const std::exception& e) {
        out << "  note: tutorial '" << tutorial << "' could not be read (" << e.what()
            << "); only namespaces carrying the lab's mark are recognised\n";
    }
    return s;
}

class Reset {
public:
    Reset(Globals& g, std::ostream& out) : g_(g), out_(out), mark_(steps::netns_owner_mark(g.lab)) {}

    int run() {
        out_ << "Resetting lab '" << g_.lab << "':\n";
        std::string tutorial = g_.tutorial;
        bool journal_ok = undo_journal(tutorial);
        shape_ = shape_of(g_, tutorial, out_);
        for (auto& n : journal_namespaces_) shape_.namespaces.insert(n);
        stop_pods();
        sweep_namespaces();
        sweep_files(journal_ok);
        if (failed_) {
            out_ << "Lab '" << g_.lab << "' is NOT fully reset: its journal " << journal_file().string()
                 << " keeps what could not be undone; fix the cause above and run `netlab reset` again.\n";
            return 1;
        }
        std::error_code ec;
        fs::remove_all(g_.lab_dir(), ec);
        if (ec) {
            out_ << "  " << kFail << " remove " << g_.lab_dir().string() << ": " << ec.message() << "\n";
            return 1;
        }
        out_ << "  removed the state directory " << g_.lab_dir().string() << "\n";
        for (auto& k : kept_) out_ << "  kept " << k << "\n";
        out_ << "Lab '" << g_.lab << "' is reset" << (kept_.empty() ? "" : " (what it did not make is kept, above)")
             << ".\n";
        return 0;
    }

private:
    fs::path journal_file() const { return g_.lab_dir() / "journal.toml"; }

    // Undoes every journaled record, newest first. False when there is no readable journal.
    bool undo_journal(std::string& tutorial) {
        if (!fs::exists(journal_file())) {
            out_ << "  no journal: looking for what carries the lab's mark\n";
            return false;
        }
        std::unique_ptr<lab::Journal> j;
        try {
            j = std::make_unique<lab::Journal>(journal_file());
        } catch (const Error& e) {
            out_ << "  the journal is unreadable (" << e.what() << "): looking for what carries the lab's mark\n";
            return false;
        }
        if (!j->meta("tutorial").empty()) tutorial = j->meta("tutorial");
        std::vector<lab::Record> recs;
        for (auto& s : j->steps())
            for (auto& r : j->records(s.id)) recs.push_back(r);
        std::sort(recs.begin(), recs.end(), [](auto& a, auto& b) { return a.seq > b.seq; });
        lab::Context ctx{g_.names(), j.get(), "", &out_, g_.lab_dir(), g_.self_exe()};
        size_t undone = 0;
        for (auto& r : recs) {
            if (r.kind == "netns" && r.data.count("name")) journal_namespaces_.insert(r.data.at("name"));
            ctx.step = r.step;
            try {
                g_.registry().undo(ctx, r);
                j->erase(r.seq);
                ++undone;
            } catch (const Error& e) {
                out_ << "  " << kFail << " undo " << r.kind << " of step '" << r.step << "': " << e.what() << "\n";
                failed_ = true;
            }
        }
        out_ << "  undid the " << undone << " change(s) the journal lists\n";
        return true;
    }

    void stop_pods() {
        for (int pid : steps::find_lab_pods(g_.lab)) {
            try {
                steps::stop_found_pod(pid);
                out_ << "  stopped pod pid " << pid << "\n";
            } catch (const Error& e) {
                out_ << "  " << kFail << " " << e.what() << "\n";
                failed_ = true;
            }
        }
    }

    void sweep_namespaces() {
        for (auto& n : net::netns_list()) {
            std::string mark = steps::netns_mark(n);
            if (mark == mark_) {
                try {
                    net::netns_delete(n);
                    swept_.insert(n);
                    out_ << "  removed netns " << n << " (it carries the mark \"" << mark_ << "\")\n";
                } catch (const Error& e) {
                    out_ << "  " << kFail << " " << e.what() << "\n";
                    failed_ = true;
                }
            } else if (shape_.namespaces.count(n)) {
                std::string other = steps::netns_mark_lab(mark);
                kept_.push_back("netns " + n + ": " +
                                (other.empty() ? "it has the lab's name but not its mark, so netlab did not make it"
                                               : "it belongs to lab '" + other + "'"));
            }
        }
    }

    // Without a journal, the files of the lab's absent namespaces are looked at too.
    void sweep_files(bool journal_ok) {
        std::set<std::string> targets = swept_;
        if (!journal_ok)
            for (auto& n : shape_.namespaces)
                if (!net::netns_exists(n)) targets.insert(n);
        bool removed = false;
        for (auto& n : targets) removed = sweep_dir(kEtcNetns / n) || removed;
        std::error_code ec;
        if (removed && fs::is_empty(kEtcNetns, ec) && ::rmdir(kEtcNetns.c_str()) == 0)
            out_ << "  removed the empty directory " << kEtcNetns.string() << "\n";
    }

    bool only_netlab_lines(const std::string& text) const {
        if (text.empty() || text.back() != '\n') return false;
        std::istringstream in(text);
        std::string l;
        while (std::getline(in, l))
            if (!shape_.resolv_lines.count(l)) return false;
        return true;
    }

    bool sweep_dir(const fs::path& dir) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) return false;
        bool removed = false;
        fs::path f = dir / "resolv.conf";
        if (auto text = lab::read_file(f)) {
            if (only_netlab_lines(*text)) {
                lab::remove_file(f);
                out_ << "  removed " << f.string() << " (only netlab's nameserver lines)\n";
                removed = true;
            } else {
                kept_.push_back(f.string() + ": it holds lines netlab does not write");
            }
        }
        if (fs::is_empty(dir, ec) && ::rmdir(dir.c_str()) == 0) {
            out_ << "  removed the empty directory " << dir.string() << "\n";
            removed = true;
        }
        return removed;
    }

    Globals& g_;
    std::ostream& out_;
    std::string mark_;
    LabShape shape_;
    std::set<std::string> journal_namespaces_, swept_;
    std::vector<std::string> kept_;
    bool failed_ = false;
};

int reset(Globals& g) {
    need_root("reset");
    lab::LabLock lock(g.lab_dir(), std::cout, 10);  // a netlab still working on the lab is waited for, briefly
    return Reset(g, std::cout).run();
}

// --------------------------------------------------------------------------------------- doctor

struct Finding {
    bool ok = false;
    std::string what;  // "bridge: a bridge can be made"
    std::string fix;   // what to do when !ok
};

// Effective capabilities of this process (the CapEff line of /proc/self/status).
uint64_t effective_caps() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("CapEff:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
    return 0;
}

Finding privileges() {
    constexpr int kNetAdmin = 12, kSysAdmin = 21;
    uint64_t caps = effective_caps();
    std::vector<std::string> missing;
    if (!(caps >> kSysAdmin & 1)) missing.push_back("CAP_SYS_ADMIN (to make namespaces and mount them under /run/netns)");
    if (!(caps >> kNetAdmin & 1)) missing.push_back("CAP_NET_ADMIN (to make links and program rules over netlink)");
    if (::geteuid() == 0 && missing.empty()) return {true, "privileges: root, with CAP_SYS_ADMIN and CAP_NET_ADMIN", ""};
    std::string what = "privileges: running as uid " + std::to_string(::geteuid()) + ", missing";
    for (size_t i = 0; i < missing.size(); ++i) what += (i ? " and " : " ") + missing[i];
    if (missing.empty()) what += " root (euid 0) for /run/netns and /etc/netns";
    return {false, what,
            ::geteuid() == 0 ? "give the container these capabilities (e.g. docker run --cap-add SYS_ADMIN --cap-add NET_ADMIN)"
                             : "run it as root: sudo netlab doctor"};
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
    net::Ruleset rs = steps::read_rules(ns);
    for (auto& c : commands) steps::apply_command(rs, steps::parse_iptables(steps::split_words(c)));
    net::nft_replace(ns, steps::normalized(rs), {"nat", "filter"});
    net::Ruleset back = steps::read_rules(ns);
    if (steps::normalized(back) != steps::normalized(rs)) throw Error("the rules read back differ from those programmed");
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

int doctor() {
    std::vector<Finding> found{privileges()};
    std::cout << "netlab doctor: can this machine run labs? (the probes run in a scratch namespace, never in yours)\n";
    if (found.front().ok) {
        std::optional<ScratchNs> scratch;
        for (auto& f : namespace_checks(scratch)) found.push_back(f);
        if (scratch)
            for (auto& f : kernel_checks(scratch->name())) found.push_back(f);
    }
    size_t bad = 0;
    for (auto& f : found) {
        std::cout << "  " << (f.ok ? kOk : kFail) << " " << f.what << "\n";
        if (!f.ok) std::cout << "      what to do: " << f.fix << "\n";
        bad += !f.ok;
    }
    if (!found.front().ok) std::cout << "  (the kernel checks need those privileges; they were skipped)\n";
    if (bad) std::cout << bad << " problem(s) found.\n";
    else std::cout << "All " << found.size() << " checks passed: this machine can run labs.\n";
    return bad ? 1 : 0;
}

}  // namespace

void add_maintenance_commands(CommandTable& table) {
    table.push_back({"reset",
                     "remove everything the lab may have made, even when its journal is lost or corrupt (its marked "
                     "namespaces, pods, /etc/netns files, state); never what it did not make",
                     {},
                     [](Globals& g) { return reset(g); }});
    table.push_back({"doctor",
                     "check privileges and kernel features (namespaces, bridge, veth, nf_tables, statistic, "
                     "br_netfilter), probing in a scratch namespace; says what to do about each one missing",
                     {},
                     [](Globals&) { return doctor(); }});
}

}  // namespace netlab::cli

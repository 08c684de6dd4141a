#include <unistd.h>

#include <cstdlib>

#include "cli/cli.h"
#include "base/error.h"
#include "lab/journal.h"
#include "netutil/netns.h"
#include "steps/register.h"
#include "trace/trace_tables.h"

namespace netlab::cli {

namespace fs = std::filesystem;

fs::path Invocation::self_exe() const {
    std::error_code ec;
    auto p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path("netlab") : p;
}

fs::path Invocation::state_root() const {
    const char* d = std::getenv("NETLAB_STATE_DIR");
    return d ? fs::path(d) : fs::path("/run/netlab");
}

const lab::Registry& Invocation::registry() {
    if (!reg_) {
        reg_ = std::make_unique<lab::Registry>();
        steps::register_all(*reg_);
        trace::register_trace_undo(*reg_);
    }
    return *reg_;
}

const lab::Tutorial& Invocation::tut() {
    if (tut_) return *tut_;
    std::string name = tutorial;
    fs::path j = lab_dir() / "journal.toml";
    if (!tutorial_given && fs::exists(j)) {
        lab::Journal journal(j);
        if (!journal.meta("tutorial").empty()) name = journal.meta("tutorial");
    }
    tut_ = std::make_unique<lab::Tutorial>(lab::load_tutorial(lab::find_tutorial(name, self_exe()), registry()));
    return *tut_;
}

lab::Runner Invocation::runner(std::ostream& out) {
    return lab::Runner(tut(), registry(), names(), state_root(), self_exe(), out);
}

lab::Runner Invocation::runner(lab::Reporter& reporter) {
    return lab::Runner(tut(), registry(), names(), state_root(), self_exe(), reporter);
}

void need_root(const std::string& what) {
    if (::geteuid() != 0)
        throw Error("netlab " + what + " needs root: it makes network namespaces and programs netlink "
                    "(CAP_SYS_ADMIN and CAP_NET_ADMIN)",
                    "run it with sudo: sudo netlab " + what);
}

std::string resolve_ns(const lab::LabNames& names, std::string in) {
    if (in.empty() || in == "host") in = lab::LabNames::kHost;
    if (in == "world") in = std::string(lab::LabNames::kHost) + "-world";
    std::string real = names.ns(in);
    if (!net::netns_exists(real))
        throw UsageError("no namespace '" + real + "' in lab '" + names.lab + "' (is the lab built? try: netlab " +
                         (names.lab == "default" ? "" : "--lab " + names.lab + " ") + "run)");
    return real;
}

std::string netlab_for(const Invocation& g) {
    return g.lab == "default" ? "netlab" : "netlab --lab " + g.lab;
}

}  // namespace netlab::cli

// netlab script: the lab as a bash script of the plain tools (ip, bridge, sysctl, iptables), made of
// each step kind's own commands(), and the matching teardown. The script keeps no journal: what it
// made is found again from the covered steps' inventory (lab/inventory.h: namespaces, /etc/netns
// files, pods), which is also what the teardown removes and what the script refuses to build over.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli/cli.h"
#include "base/error.h"
#include "lab/inventory.h"
#include "lab/params.h"

namespace netlab::cli {

namespace {

struct ScriptArgs {
    std::string until, step;
    bool teardown = false;
};

// The steps a script covers, as indexes [first, last] into the tutorial.
struct Range {
    int first = 0, last = -1;
};

int step_index(const lab::Tutorial& t, const std::string& id) {
    return t.index_of(t.step(id).id);
}

Range range_of(const lab::Tutorial& t, const ScriptArgs& a) {
    if (!a.step.empty()) {
        int i = step_index(t, a.step);
        return {i, i};
    }
    return {0, a.until.empty() ? static_cast<int>(t.steps.size()) - 1 : step_index(t, a.until)};
}

// What the covered steps make.
lab::LabInventory collect(const lab::Tutorial& t, Range r, const lab::LabNames& names) {
    return lab::inventory_of(t, names, static_cast<size_t>(r.first), static_cast<size_t>(r.last));
}

// "netlab [--lab L] [--tutorial T] script" as the user would type it again.
std::string invocation(Invocation& g) {
    std::string s = "netlab";
    if (g.lab != "default") s += " --lab " + g.lab;
    if (g.tutorial_given) s += " --tutorial " + g.tutorial;
    else if (g.tut().name != "article") s += " --tutorial " + g.tut().name;
    return s + " script";
}

std::string scope_text(const lab::Tutorial& t, Range r) {
    const auto& first = t.steps[r.first];
    const auto& last = t.steps[r.last];
    if (r.first == r.last && r.first > 0) return "only step " + first.id + " (run the scripts of the steps before it first)";
    return "steps " + first.id + " to " + last.id + " (" + std::to_string(r.last + 1) + " of " +
           std::to_string(t.steps.size()) + ")";
}

void preamble(std::ostream& o) {
    o << "set -euo pipefail\n\n"
         "if [ \"$(id -u)\" != 0 ]; then echo \"run this as root (sudo bash)\" >&2; exit 1; fi\n";
}

void refuse_existing(std::ostream& o, const lab::LabInventory& m, const std::string& teardown) {
    if (m.namespaces.empty() && m.files.empty()) return;
    o << "\n# Refuse to build over anything that exists already: the teardown removes all of these.\n";
    for (auto& ns : m.namespaces)
        o << "if [ -e /run/netns/" << ns << " ]; then echo \"netns " << ns << " exists already; remove the old lab first: "
          << teardown << "\" >&2; exit 1; fi\n";
    for (auto& file : m.files) {
        const std::string& f = file.path;
        o << "if [ -e " << f << " ]; then echo \"" << f << " exists already; remove the old lab first: " << teardown
          << "\" >&2; exit 1; fi\n";
    }
}

void require_iptables_nft(std::ostream& o) {
    o << "\n# netlab programs rules in iptables-nft's layout; the legacy iptables would make other rules.\n"
         "case \"$(iptables --version)\" in *nf_tables*) ;; *) echo \"iptables is not iptables-nft here\" >&2; exit 1;; esac\n";
}

void step_block(std::ostream& o, const lab::Tutorial& t, int i, const lab::LabNames& names) {
    const lab::Step& s = t.steps[i];
    o << "\n# === step " << i + 1 << "/" << t.steps.size() << " " << s.id << ": " << s.title << "\n";
    o << "echo '--- " << s.id << "'\n";
    for (auto& a : s.actions) {
        o << "# " << a->describe(names) << "\n";
        for (auto& c : a->commands(names)) o << c << "\n";
    }
    for (auto& p : s.probes) {
        o << "# netlab checks: " << p->describe(names) << "\n";
        for (auto& c : p->commands(names)) o << "#   " << c << "\n";
    }
}

int print_build(Invocation& g, const ScriptArgs& a, std::ostream& o) {
    const auto& t = g.tut();
    auto names = g.names();
    Range r = range_of(t, a);
    lab::LabInventory m = collect(t, r, names);
    std::string teardown = invocation(g) + " --teardown --until " + t.steps[r.last].id + " | sudo bash";
    o << "#!/usr/bin/env bash\n"
      << "# Printed by `" << invocation(g) << (a.step.empty() ? "" : " --step " + a.step)
      << (a.until.empty() ? "" : " --until " + a.until) << "`.\n"
      << "# Builds lab '" << names.lab << "' of the tutorial \"" << t.title << "\",\n"
      << "# " << scope_text(t, r) << ", with the plain tools: ip, bridge, sysctl, iptables.\n"
      << "# Everything happens inside the lab's own network namespaces (the lab host is "
      << names.ns(lab::LabNames::kHost) << "); the root namespace is never changed.\n"
      << "# The pods are netlab's own HTTP server, started as `netlab pod`.\n"
      << "# No journal is kept, so `netlab undo` does not know this lab. Tear it down with:\n"
      << "#   " << teardown << "\n";
    preamble(o);
    refuse_existing(o, m, teardown);
    if (!m.rule_namespaces.empty()) require_iptables_nft(o);
    for (int i = r.first; i <= r.last; ++i) step_block(o, t, i, names);
    o << "\necho 'built: " << scope_text(t, r) << "'\n";
    return 0;
}

void stop_pods_function(std::ostream& o, const lab::LabNames& names) {
    o << "\n# stop_pods NETNS: stops the `netlab pod --lab " << names.lab << "` processes running in NETNS.\n"
      << "stop_pods() {\n"
      << "    local pid cmd i\n"
      << "    [ -e \"/run/netns/$1\" ] || return 0\n"
      << "    for pid in $(ip netns pids \"$1\"); do\n"
      << "        cmd=$(tr '\\0' ' ' < \"/proc/$pid/cmdline\" 2>/dev/null) || continue\n"
      << "        case \"$cmd\" in *\" pod --lab " << names.lab << " \"*) ;; *) continue;; esac\n"
      << "        kill \"$pid\" 2>/dev/null || continue\n"
      // Gone, or a zombie (it has let go of the namespace; its new parent may reap it only later).
      << "        for i in $(seq 50); do\n"
      << "            s=$(sed 's/.*) //' \"/proc/$pid/stat\" 2>/dev/null | cut -c1 || true)  # gone: empty\n"
      << "            [ -n \"$s\" ] && [ \"$s\" != Z ] || break\n"
      << "            sleep 0.1\n"
      << "        done\n"
      << "    done\n"
      << "}\n";
}

int print_teardown(Invocation& g, const ScriptArgs& a, std::ostream& o) {
    const auto& t = g.tut();
    auto names = g.names();
    Range r = range_of(t, a);
    lab::LabInventory m = collect(t, r, names);
    if (std::filesystem::exists(g.lab_dir() / "journal.toml"))
        std::cerr << "netlab: note: lab '" << names.lab << "' has a journal: if `netlab run` built it, "
                  << "remove it with `netlab" << (names.lab == "default" ? "" : " --lab " + names.lab)
                  << " undo --all` instead\n";
    o << "#!/usr/bin/env bash\n"
      << "# Printed by `" << invocation(g) << " --teardown" << (a.until.empty() ? "" : " --until " + a.until) << "`.\n"
      << "# Tears down lab '" << names.lab << "' as `" << invocation(g) << (a.until.empty() ? "" : " --until " + a.until)
      << "` built it: stops its pods,\n"
      << "# deletes its network namespaces (with every link, address, route, rule and sysctl in them) and\n"
      << "# removes the /etc/netns files it wrote. /etc/netns itself stays: it may have been there before.\n"
      << "# Anything already gone is skipped, so running it twice is harmless.\n";
    preamble(o);
    if (!m.pods.empty()) {
        stop_pods_function(o, names);
        o << "\n# The pods first: a namespace stays alive while a process runs in it.\n";
        for (auto& ns : m.pod_namespaces()) o << "stop_pods " << ns << "\n";
    }
    if (!m.namespaces.empty()) o << "\n# The namespaces, the last made first.\n";
    for (auto it = m.namespaces.rbegin(); it != m.namespaces.rend(); ++it)
        o << "if [ -e /run/netns/" << *it << " ]; then ip netns delete " << *it << "; fi\n";
    if (!m.files.empty()) o << "\n# The files the script wrote, and their directories when nothing else is in them.\n";
    for (auto& file : m.files) {
        const std::string& f = file.path;
        std::string dir = std::filesystem::path(f).parent_path().string();
        o << "rm -f " << f << "\n"
          << "if [ -d " << dir << " ]; then rmdir --ignore-fail-on-non-empty " << dir << "; fi\n";
    }
    o << "\necho 'lab " << names.lab << " torn down'\n";
    return 0;
}

}  // namespace

void add_script_command(CommandTable& table) {
    auto a = std::make_shared<ScriptArgs>();
    table.push_back({"script",
                     "print a bash script of ip/bridge/sysctl/iptables commands that builds the lab (or, with "
                     "--teardown, removes it)",
                     {value(Kind::Step, "--until", "up to this step (default: all)", &a->until),
                      value(Kind::Step, "--step", "only this step's commands (after the earlier steps' scripts)", &a->step)
                          .excludes("--until")
                          .excludes("--teardown"),
                      flag("--teardown", "print the script that removes what the build script made", &a->teardown)},
                     [a](Invocation& g) {
                         std::ostringstream o;  // nothing is printed unless the whole script could be made
                         int rc = a->teardown ? print_teardown(g, *a, o) : print_build(g, *a, o);
                         std::cout << o.str();
                         return rc;
                     }});
}

}  // namespace netlab::cli

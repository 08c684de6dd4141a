#include "maintenance/reset.h"

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <sstream>

#include "base/error.h"
#include "lab/fs.h"
#include "lab/journal.h"
#include "lab/lock.h"
#include "lab/tutorial.h"
#include "netutil/netns.h"
#include "steps/netns.h"
#include "steps/pod.h"
#include "steps/register.h"

namespace netlab::maintenance {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFail = "\u2717";
const fs::path kEtcNetns = "/etc/netns";

}  // namespace

// ------------------------------------------------------------------------------------ decisions

NamespaceSweep sweep_namespaces(const std::vector<FoundNamespace>& found, const std::string& own_mark,
                                const std::set<std::string>& lab_namespaces) {
    NamespaceSweep out;
    for (const auto& n : found) {
        if (n.mark == own_mark) {
            out.remove.push_back(n.name);
        } else if (lab_namespaces.count(n.name)) {
            std::string other = steps::netns_mark_lab(n.mark);
            out.keep.push_back("netns " + n.name + ": " +
                               (other.empty() ? "it has the lab's name but not its mark, so netlab did not make it"
                                              : "it belongs to lab '" + other + "'"));
        }
    }
    return out;
}

bool only_netlab_lines(const std::string& text, const std::set<std::string>& lines) {
    if (text.empty() || text.back() != '\n') return false;
    std::istringstream in(text);
    std::string l;
    while (std::getline(in, l))
        if (!lines.count(l)) return false;
    return true;
}

std::set<std::string> file_sweep_targets(const std::set<std::string>& removed, const std::vector<std::string>& lab_namespaces,
                                         bool journal_read, const std::function<bool(const std::string&)>& exists) {
    std::set<std::string> out = removed;
    if (!journal_read)
        for (const auto& n : lab_namespaces)
            if (!exists(n)) out.insert(n);
    return out;
}

// ---------------------------------------------------------------------------------------- acting

ResetLab::ResetLab(const lab::Registry& reg, ResetTarget target, std::ostream& out)
    : reg_(reg), t_(std::move(target)), out_(out), mark_(steps::netns_owner_mark(t_.names.lab)) {}

int ResetLab::run() {
    lab::LabLock lock(t_.lab_dir, out_, 10);  // a netlab still working on the lab is waited for, briefly
    out_ << "Resetting lab '" << t_.names.lab << "':\n";
    std::string tutorial = t_.tutorial;
    bool journal_read = undo_journal(tutorial);
    inv_ = inventory(tutorial);
    for (auto& n : journal_namespaces_) inv_.add_namespace(n);
    stop_pods();
    sweep_namespaces();
    sweep_files(journal_read);
    if (failed_) {
        out_ << "Lab '" << t_.names.lab << "' is NOT fully reset: its journal " << journal_file().string()
             << " keeps what could not be undone; fix the cause above and run `netlab reset` again.\n";
        return 1;
    }
    std::error_code ec;
    fs::remove_all(t_.lab_dir, ec);
    if (ec) {
        out_ << "  " << kFail << " remove " << t_.lab_dir.string() << ": " << ec.message() << "\n";
        return 1;
    }
    out_ << "  removed the state directory " << t_.lab_dir.string() << "\n";
    for (auto& k : kept_) out_ << "  kept " << k << "\n";
    out_ << "Lab '" << t_.names.lab << "' is reset" << (kept_.empty() ? "" : " (what it did not make is kept, above)")
         << ".\n";
    return 0;
}

// What the lab's tutorial says it makes; nothing (the mark alone then decides) when it cannot be read.
lab::LabInventory ResetLab::inventory(const std::string& tutorial) {
    try {
        auto tut = lab::load_tutorial(lab::find_tutorial(tutorial, t_.self_exe), reg_);
        return lab::inventory_of(tut, t_.names);
    } catch (const std::exception& e) {
        out_ << "  note: tutorial '" << tutorial << "' could not be read (" << e.what()
             << "); only namespaces carrying the lab's mark are recognised\n";
    }
    lab::LabInventory none;
    none.host = t_.names.ns(lab::LabNames::kHost);
    return none;
}

// Undoes every journaled record, newest first. False when there is no readable journal.
bool ResetLab::undo_journal(std::string& tutorial) {
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
    lab::Context ctx{t_.names, j.get(), "", &out_, t_.lab_dir, t_.self_exe};
    size_t undone = 0;
    for (auto& r : recs) {
        if (r.kind == "netns" && r.data.count("name")) journal_namespaces_.insert(r.data.at("name"));
        ctx.step = r.step;
        try {
            reg_.undo(ctx, r);
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

void ResetLab::stop_pods() {
    for (int pid : steps::find_lab_pods(t_.names.lab)) {
        try {
            steps::stop_found_pod(pid);
            out_ << "  stopped pod pid " << pid << "\n";
        } catch (const Error& e) {
            out_ << "  " << kFail << " " << e.what() << "\n";
            failed_ = true;
        }
    }
}

void ResetLab::sweep_namespaces() {
    std::vector<FoundNamespace> found;
    for (auto& n : net::netns_list()) found.push_back({n, steps::netns_mark(n)});
    const std::set<std::string> lab_namespaces(inv_.namespaces.begin(), inv_.namespaces.end());
    NamespaceSweep sweep = maintenance::sweep_namespaces(found, mark_, lab_namespaces);
    for (auto& n : sweep.remove) {
        try {
            net::netns_delete(n);
            swept_.insert(n);
            out_ << "  removed netns " << n << " (it carries the mark \"" << mark_ << "\")\n";
        } catch (const Error& e) {
            out_ << "  " << kFail << " " << e.what() << "\n";
            failed_ = true;
        }
    }
    kept_.insert(kept_.end(), sweep.keep.begin(), sweep.keep.end());
}

// Without a journal, the files of the lab's absent namespaces are looked at too.
void ResetLab::sweep_files(bool journal_read) {
    auto targets = file_sweep_targets(swept_, inv_.namespaces, journal_read,
                                      [](const std::string& n) { return net::netns_exists(n); });
    bool removed = false;
    for (auto& n : targets) removed = sweep_dir(kEtcNetns / n) || removed;
    // Only a /etc/netns that netlab made (it carries netlab's mark) and that is empty now.
    if (removed && steps::release_etc_netns())
        out_ << "  removed the empty directory " << kEtcNetns.string() << "\n";
}

bool ResetLab::sweep_dir(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return false;
    bool removed = false;
    fs::path f = dir / "resolv.conf";
    if (auto text = lab::read_file(f)) {
        if (only_netlab_lines(*text, inv_.file_lines())) {
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

}  // namespace netlab::maintenance

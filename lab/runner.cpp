#include "lab/runner.h"

#include <array>
#include <csignal>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

#include "base/did_you_mean.h"
#include "base/error.h"
#include "lab/lock.h"

namespace netlab::lab {

namespace fs = std::filesystem;

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int) { g_interrupted = 1; }

// While alive, SIGINT/SIGTERM/SIGHUP (Ctrl-C, kill, a closed terminal) only set a flag; the runner
// finishes or rolls back the current step. SA_RESTART keeps the kernel calls of the step (netlink,
// file writes) from failing with EINTR, so a Ctrl-C pressed again during a rollback does not break it.
class InterruptGuard {
public:
    InterruptGuard() {
        g_interrupted = 0;
        struct sigaction sa {};
        sa.sa_handler = on_interrupt;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &sa, &old_[i]);
    }
    ~InterruptGuard() {
        for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &old_[i], nullptr);
    }
    static bool hit() { return g_interrupted != 0; }

private:
    static constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGHUP};
    std::array<struct sigaction, 3> old_{};
};

constexpr const char* kOk = "\u2713";     // ✓
constexpr const char* kFail = "\u2717";   // ✗
constexpr const char* kSame = "=";
constexpr const char* kUndo = "\u21b6";   // ↶

std::string pad(const std::string& s, size_t n) { return s.size() >= n ? s + " " : s + std::string(n - s.size(), ' '); }

void print_checks(std::ostream& out, const std::vector<Check>& checks, bool all) {
    for (auto& c : checks) {
        if (c.ok && !all && c.note.empty()) continue;
        out << "      " << (c.ok ? kOk : kFail) << " " << c.what << "\n";
        if (!c.ok) {
            if (!c.expected.empty()) out << "          expected: " << c.expected << "\n";
            if (!c.observed.empty()) out << "          observed: " << c.observed << "\n";
        }
        if (!c.note.empty()) {
            std::istringstream in(c.note);
            std::string line;
            while (std::getline(in, line)) out << "          " << line << "\n";
        }
    }
}

bool all_ok(const std::vector<Check>& v) {
    for (auto& c : v)
        if (!c.ok) return false;
    return true;
}

std::string json_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        switch (c) {
            case '"': o += "\\\""; break;
            case '\\': o += "\\\\"; break;
            case '\n': o += "\\n"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char b[8];
                    std::snprintf(b, sizeof b, "\\u%04x", c);
                    o += b;
                } else {
                    o += c;
                }
        }
    }
    return o;
}

}  // namespace

struct Runner::Impl {
    Runner& r;
    Journal journal;
    Context ctx;

    explicit Impl(Runner& runner) : r(runner), journal(runner.dir_ / "journal.toml") {
        ctx.names = r.names_;
        ctx.journal = &journal;
        ctx.out = &r.out_;
        ctx.state_dir = r.dir_;
        ctx.self_exe = r.self_exe_;
    }

    size_t width() const {
        size_t w = 0;
        for (auto& s : r.t_.steps) w = std::max(w, s.id.size());
        return w + 2;
    }

    // The journal must describe a prefix of this tutorial's steps.
    void check_consistent() {
        std::string tut = journal.meta("tutorial");
        if (!tut.empty() && tut != r.t_.name)
            throw UsageError("lab '" + r.names_.lab + "' was built from tutorial '" + tut + "', not '" + r.t_.name +
                             "'; undo it first (netlab undo --all --tutorial " + tut + ") or use another --lab");
        const auto& steps = journal.steps();
        for (size_t i = 0; i < steps.size(); ++i) {
            if (i >= r.t_.steps.size() || r.t_.steps[i].id != steps[i].id)
                throw Error("the journal of lab '" + r.names_.lab + "' lists step '" + steps[i].id +
                                "' where the tutorial has '" +
                                (i < r.t_.steps.size() ? r.t_.steps[i].id : std::string("nothing")) + "'",
                            "undo with the tutorial that built the lab, or run `netlab reset`");
        }
    }

    // Undoes every record of `id` (the last step of the journal) in reverse order, then forgets it.
    void undo_records(const std::string& id) { undo_step(id, {}); }

    // The containers that undoing the steps `ids` removes (see Registry::add_scope).
    std::set<std::string> containers_removed(const std::vector<std::string>& ids) const {
        std::set<std::string> out;
        for (auto& id : ids)
            for (auto& rec : journal.records(id))
                if (auto c = r.reg_.removes(rec); !c.empty()) out.insert(c);
        return out;
    }

    // Undoes the records of `id` in reverse order, except those inside a container in `removed`:
    // they stay journaled until that container's own record is undone, and go with it. Returns the
    // container the step waits for, "" when the step is undone.
    std::string undo_step(const std::string& id, const std::set<std::string>& removed) {
        journal.begin_undo(id);
        ctx.step = id;
        auto recs = journal.records(id);
        std::set<std::string> waits_for;
        for (auto it = recs.rbegin(); it != recs.rend(); ++it) {
            std::string in = r.reg_.inside(*it);
            if (!in.empty() && removed.count(in)) {
                waits_for.insert(in);
                continue;
            }
            r.reg_.undo(ctx, *it);
            Journal::maybe_fault();  // undone but still journaled: the next undo must accept "already gone"
            journal.erase(it->seq);
            if (auto gone = r.reg_.removes(*it); !gone.empty()) {
                erase_inside(gone);
                waits_for.erase(gone);  // removed within this very step
            }
        }
        forget_undone_tail();
        return waits_for.empty() ? std::string() : *waits_for.begin();
    }

    // Drops the records of everything inside `container`, which is gone now.
    void erase_inside(const std::string& container) {
        for (auto& s : journal.steps())
            for (auto& rec : journal.records(s.id))
                if (r.reg_.inside(rec) == container) journal.erase(rec.seq);
    }

    // Forgets undone steps from the end of the journal, which stays a prefix of the tutorial.
    void forget_undone_tail() {
        while (!journal.steps().empty()) {
            const StepEntry& last = journal.steps().back();
            if (last.state != StepState::Undoing || !journal.records(last.id).empty()) break;
            journal.forget_step(last.id);
        }
    }

    // Steps an interrupted undo left waiting for their namespace are undone one object at a time,
    // so that the journal lists applied steps only.
    void finish_half_undone() {
        while (!journal.steps().empty() && journal.steps().back().state == StepState::Undoing) {
            const std::string id = journal.steps().back().id;
            const Step* s = r.t_.find(id);
            undo_records(id);
            r.out_ << "  " << kUndo << " " << id << " " << (s ? s->title : std::string()) << " (undone)\n";
        }
    }

    // A step left half-done by an interrupted command is rolled back before anything else.
    void recover() {
        // Several steps are half undone when an undo that removes namespaces was interrupted.
        while (!journal.steps().empty() && journal.steps().back().state != StepState::Applied) {
            const StepEntry last = journal.steps().back();
            r.out_ << "  " << kUndo << " " << last.id
                   << ": a previous netlab stopped in the middle of it; rolling it back" << std::endl;
            undo_records(last.id);
        }
    }

    std::vector<Check> verify_step(const Step& s, bool probes, const std::set<std::string>* superseded) {
        std::vector<Check> out;
        ctx.step = s.id;
        for (auto& a : s.actions) {
            bool skip = false;
            if (superseded)
                for (auto& k : a->keys(r.names_))
                    if (superseded->count(k)) skip = true;
            if (skip) continue;
            try {
                auto c = a->verify(ctx);
                out.insert(out.end(), c.begin(), c.end());
            } catch (const Error& e) {
                out.push_back({false, a->describe(r.names_), "no error", e.what(), e.hint()});
            }
        }
        if (probes)
            for (auto& p : s.probes) {
                try {
                    auto c = p->run(ctx);
                    out.insert(out.end(), c.begin(), c.end());
                } catch (const Error& e) {
                    out.push_back({false, p->describe(r.names_), "no error", e.what(), e.hint()});
                }
            }
        return out;
    }

    void finish_if_empty() {
        if (!journal.empty()) return;
        journal.remove_file();
        std::error_code ec;
        fs::remove_all(r.dir_, ec);
    }
};

Runner::Runner(const Tutorial& t, const Registry& reg, LabNames names, fs::path state_root, fs::path self_exe,
               std::ostream& out)
    : t_(t), reg_(reg), names_(std::move(names)), dir_(state_root / names_.lab), self_exe_(std::move(self_exe)),
      out_(out) {}

std::vector<std::string> Runner::applied() const {
    std::vector<std::string> out;
    if (!fs::exists(dir_ / "journal.toml")) return out;
    Journal j(dir_ / "journal.toml");
    for (auto& s : j.steps())
        if (s.state == StepState::Applied) out.push_back(s.id);
    return out;
}

static std::string unknown_step(const Tutorial& t, const std::string& id) {
    std::string msg = unknown("step", id, t.ids());
    msg += "; steps of " + t.name + ":";
    for (auto& s : t.steps) msg += " " + s.id;
    return msg;
}

int Runner::run(const RunOptions& o) {
    int target = static_cast<int>(t_.steps.size()) - 1;
    if (!o.until.empty()) {
        target = t_.index_of(o.until);
        if (target < 0) throw UsageError(unknown_step(t_, o.until));
    }
    LabLock lock(dir_, out_);
    InterruptGuard ig;
    Impl im(*this);
    im.check_consistent();
    im.recover();
    const size_t w = im.width();
    size_t done = im.journal.steps().size();
    if (static_cast<int>(done) - 1 > target) {
        out_ << "Lab '" << names_.lab << "' is already past '" << t_.steps[target].id << "' (last applied: "
             << im.journal.steps().back().id << "); nothing to do. To go back: netlab undo --to " << t_.steps[target].id
             << (names_.lab == "default" ? "" : " --lab " + names_.lab) << "\n";
        return 0;
    }
    // Conflicts are found before anything changes: objects of the steps to apply that exist already.
    try {
        for (int i = static_cast<int>(done); i <= target; ++i) {
            im.ctx.step = t_.steps[i].id;
            for (auto& a : t_.steps[i].actions) a->preflight(im.ctx);
        }
    } catch (const Error&) {
        im.finish_if_empty();  // not even an empty state directory stays behind
        throw;
    }
    if (im.journal.meta("tutorial").empty()) im.journal.set_meta("tutorial", t_.name);
    for (int i = 0; i <= target; ++i) {
        const Step& s = t_.steps[i];
        if (static_cast<size_t>(i) < done) {
            out_ << "  " << kSame << " " << pad(s.id, w) << s.title << " (already applied)\n";
            continue;
        }
        if (InterruptGuard::hit()) {
            out_ << "Interrupted; stopped before '" << s.id << "'. The lab is consistent: netlab run resumes, netlab undo walks back.\n";
            im.finish_if_empty();
            return 130;
        }
        im.ctx.step = s.id;
        im.journal.begin_step(s.id);
        try {
            for (auto& a : s.actions) {
                a->apply(im.ctx);
                if (InterruptGuard::hit()) throw Error("interrupted (Ctrl-C or a signal)");
            }
        } catch (const Error& e) {
            out_ << "  " << kFail << " " << pad(s.id, w) << s.title << "\n";
            out_ << "      " << e.what() << "\n";
            if (!e.hint().empty()) out_ << "      hint: " << e.hint() << "\n";
            out_ << "      rolling back '" << s.id << "'..." << std::endl;
            try {
                im.undo_records(s.id);
                im.finish_if_empty();
            } catch (const Error& e2) {
                out_ << "      rollback failed: " << e2.what() << "\n      run `netlab undo` or `netlab reset`\n";
                return 1;
            }
            if (!InterruptGuard::hit()) return 1;
            out_ << "Interrupted; '" << s.id << "' was rolled back. The lab is consistent: netlab run resumes, "
                 << "netlab undo walks back.\n";
            return 130;
        }
        im.journal.finish_step(s.id);
        std::vector<Check> checks;
        if (o.verify && !InterruptGuard::hit()) checks = im.verify_step(s, true, nullptr);
        if (InterruptGuard::hit()) {
            out_ << "  " << kOk << " " << pad(s.id, w) << s.title << " (applied; interrupted before its checks were done)\n"
                 << "Interrupted after '" << s.id << "'. The lab is consistent: netlab verify checks it, netlab run "
                 << "resumes, netlab undo walks back.\n";
            return 130;
        }
        bool ok = all_ok(checks);
        out_ << "  " << (ok ? kOk : kFail) << " " << pad(s.id, w) << s.title << "\n";
        print_checks(out_, checks, false);
        out_.flush();
        if (!ok) {
            out_ << "Step '" << s.id << "' is applied but its checks failed; inspect it (netlab exec ...), then "
                 << "netlab undo.\n";
            return 1;
        }
        if (o.after_step && i < target) o.after_step(s);
    }
    return 0;
}

int Runner::undo(const UndoOptions& o) {
    if (!o.to.empty() && t_.index_of(o.to) < 0) throw UsageError(unknown_step(t_, o.to));
    if (!o.all && o.to.empty() && o.steps < 1) throw UsageError("--steps needs a number of at least 1");
    LabLock lock(dir_, out_);
    InterruptGuard ig;
    Impl im(*this);
    im.check_consistent();
    im.recover();
    auto steps = im.journal.steps();
    if (steps.empty()) {
        out_ << "Lab '" << names_.lab << "' has nothing applied; nothing to undo.\n";
        im.finish_if_empty();
        return 0;
    }
    size_t count = 0;
    if (o.all) count = steps.size();
    else if (!o.to.empty()) {
        int idx = -1;
        for (size_t i = 0; i < steps.size(); ++i)
            if (steps[i].id == o.to) idx = static_cast<int>(i);
        if (idx < 0) throw UsageError("step '" + o.to + "' is not applied (last applied: " + steps.back().id + ")");
        count = steps.size() - 1 - static_cast<size_t>(idx);
    } else count = std::min<size_t>(static_cast<size_t>(o.steps), steps.size());
    const size_t w = im.width();
    std::vector<std::string> ids;  // the steps to undo, the last first
    for (size_t k = 0; k < count; ++k) ids.push_back(steps[steps.size() - 1 - k].id);
    const std::set<std::string> removed = im.containers_removed(ids);
    for (auto& id : ids) {
        if (InterruptGuard::hit()) {
            im.finish_half_undone();
            out_ << "Interrupted; the lab is consistent up to '"
                 << (im.journal.steps().empty() ? std::string("(nothing)") : im.journal.steps().back().id)
                 << "': netlab verify checks it, netlab undo goes on, netlab run builds it up again.\n";
            im.finish_if_empty();
            return 130;
        }
        const Step* s = t_.find(id);
        std::string waits_for;
        try {
            waits_for = im.undo_step(id, removed);
        } catch (const Error& e) {
            out_ << "  " << kFail << " " << pad(id, w) << "undo failed: " << e.what() << "\n";
            if (!e.hint().empty()) out_ << "      hint: " << e.hint() << "\n";
            out_ << "      the journal keeps what is left; run `netlab undo` again after fixing it, or `netlab reset`\n";
            return 1;
        }
        std::string how = " (undone)";
        if (!waits_for.empty())  // "netns:x" -> "netns x"
            how = " (goes with " + waits_for.replace(waits_for.find(':'), 1, " ") + ", deleted below)";
        out_ << "  " << kUndo << " " << pad(id, w) << (s ? s->title : std::string()) << how << "\n";
        out_.flush();
    }
    im.finish_if_empty();
    return 0;
}

int Runner::verify() {
    LabLock lock(dir_, out_);
    Impl im(*this);
    im.check_consistent();
    const auto& steps = im.journal.steps();
    if (steps.empty()) {
        out_ << "Lab '" << names_.lab << "' has nothing applied; nothing to verify.\n";
        im.finish_if_empty();
        return 0;
    }
    // Keys of the actions of later steps supersede those of earlier ones.
    std::vector<std::set<std::string>> later(steps.size());
    std::set<std::string> acc;
    for (size_t i = steps.size(); i-- > 0;) {
        later[i] = acc;
        if (const Step* s = t_.find(steps[i].id))
            for (auto& a : s->actions)
                for (auto& k : a->keys(names_)) acc.insert(k);
    }
    const size_t w = im.width();
    bool ok_all = true;
    for (size_t i = 0; i < steps.size(); ++i) {
        const Step* s = t_.find(steps[i].id);
        if (!s) continue;
        bool last = i + 1 == steps.size();
        auto checks = im.verify_step(*s, last, &later[i]);
        bool ok = all_ok(checks) && steps[i].state == StepState::Applied;
        ok_all = ok_all && ok;
        out_ << "  " << (ok ? kOk : kFail) << " " << pad(s->id, w) << s->title
             << (steps[i].state == StepState::Applied ? "" : " (interrupted: run `netlab run` or `netlab undo`)") << "\n";
        print_checks(out_, checks, false);
    }
    return ok_all ? 0 : 1;
}

int Runner::status(bool json) {
    std::vector<std::string> done;
    std::string state = "clean";
    if (fs::exists(dir_ / "journal.toml")) {
        Journal j(dir_ / "journal.toml");
        for (auto& s : j.steps()) {
            done.push_back(s.id);
            if (s.state != StepState::Applied) state = "interrupted";
        }
        if (state == "clean" && !done.empty()) state = "applied";
    }
    if (json) {
        out_ << "{\"lab\":\"" << json_escape(names_.lab) << "\",\"tutorial\":\"" << json_escape(t_.name)
             << "\",\"state\":\"" << state << "\",\"applied\":[";
        for (size_t i = 0; i < done.size(); ++i) out_ << (i ? "," : "") << "\"" << json_escape(done[i]) << "\"";
        out_ << "],\"next\":";
        if (done.size() < t_.steps.size()) out_ << "\"" << json_escape(t_.steps[done.size()].id) << "\"";
        else out_ << "null";
        out_ << ",\"steps\":" << t_.steps.size() << "}\n";
        return 0;
    }
    out_ << "lab " << names_.lab << " (tutorial " << t_.name << "): ";
    if (done.empty()) out_ << "nothing applied\n";
    else out_ << done.size() << " of " << t_.steps.size() << " steps applied, last '" << done.back() << "'"
              << (state == "interrupted" ? " (interrupted)" : "") << "\n";
    if (done.size() < t_.steps.size()) out_ << "next: " << t_.steps[done.size()].id << " - " << t_.steps[done.size()].title << "\n";
    return 0;
}

int Runner::list() {
    auto done = applied();
    const size_t w = [&] {
        size_t m = 0;
        for (auto& s : t_.steps) m = std::max(m, s.id.size());
        return m + 2;
    }();
    out_ << t_.title << "\n";
    for (size_t i = 0; i < t_.steps.size(); ++i) {
        bool on = i < done.size();
        out_ << "  " << (on ? "[x]" : "[ ]") << " " << std::setw(2) << i + 1 << ". " << pad(t_.steps[i].id, w)
             << t_.steps[i].title << "\n";
    }
    return 0;
}

}  // namespace netlab::lab

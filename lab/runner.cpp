#include "lab/runner.h"

#include <array>
#include <csignal>
#include <set>

#include "base/did_you_mean.h"
#include "base/error.h"
#include "lab/lock.h"
#include "lab/text_reporter.h"

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

bool all_ok(const std::vector<Check>& v) {
    for (auto& c : v)
        if (!c.ok) return false;
    return true;
}

}  // namespace

// One command's session on a lab (run, undo or verify): the journal it opened, the Context the step
// kinds get, and the journal walks those commands share. Lives while the command holds the lab's lock.
class RunSession {
public:
    Runner& r;
    Journal journal;
    Context ctx;

    explicit RunSession(Runner& runner) : r(runner), journal(runner.dir_ / "journal.toml") {
        ctx.names = r.names_;
        ctx.journal = &journal;
        ctx.out = &r.rep_.text();
        ctx.state_dir = r.dir_;
        ctx.self_exe = r.self_exe_;
        r.rep_.begin(r.t_);
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
            StepOutcome o;
            o.kind = StepOutcome::Kind::UndoFinished;
            o.id = id;
            o.title = s ? s->title : std::string();
            r.rep_.step(o);
        }
    }

    // A step left half-done by an interrupted command is rolled back before anything else.
    void recover() {
        // Several steps are half undone when an undo that removes namespaces was interrupted.
        while (!journal.steps().empty() && journal.steps().back().state != StepState::Applied) {
            const StepEntry last = journal.steps().back();
            StepOutcome o;
            o.kind = StepOutcome::Kind::Recovering;
            o.id = last.id;
            r.rep_.step(o);
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
                auto c = a->check(ctx);
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
               Reporter& reporter)
    : t_(t), reg_(reg), names_(std::move(names)), dir_(state_root / names_.lab), self_exe_(std::move(self_exe)),
      rep_(reporter) {}

Runner::Runner(const Tutorial& t, const Registry& reg, LabNames names, fs::path state_root, fs::path self_exe,
               std::ostream& out)
    : t_(t), reg_(reg), names_(std::move(names)), dir_(state_root / names_.lab), self_exe_(std::move(self_exe)),
      own_reporter_(std::make_unique<TextReporter>(out)), rep_(*own_reporter_) {}

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

namespace {

StepOutcome outcome(StepOutcome::Kind kind, const Step& s) {
    StepOutcome o;
    o.kind = kind;
    o.id = s.id;
    o.title = s.title;
    return o;
}

Ending ending(Ending::Kind kind, const LabNames& names, const std::string& step = {}) {
    Ending e;
    e.kind = kind;
    e.lab = names.lab;
    e.step = step;
    return e;
}

}  // namespace

int Runner::run(const RunOptions& o) {
    int target = static_cast<int>(t_.steps.size()) - 1;
    if (!o.until.empty()) {
        target = t_.index_of(o.until);
        if (target < 0) throw UsageError(unknown_step(t_, o.until));
    }
    LabLock lock(dir_, rep_.text());
    InterruptGuard ig;
    RunSession session(*this);
    session.check_consistent();
    session.recover();
    size_t done = session.journal.steps().size();
    if (static_cast<int>(done) - 1 > target) {
        Ending e = ending(Ending::Kind::AlreadyPast, names_, t_.steps[target].id);
        e.last = session.journal.steps().back().id;
        rep_.ended(e);
        return 0;
    }
    // Conflicts are found before anything changes: objects of the steps to apply that exist already.
    try {
        for (int i = static_cast<int>(done); i <= target; ++i) {
            session.ctx.step = t_.steps[i].id;
            for (auto& a : t_.steps[i].actions) a->preflight(session.ctx);
        }
    } catch (const Error&) {
        session.finish_if_empty();  // not even an empty state directory stays behind
        throw;
    }
    if (session.journal.meta("tutorial").empty()) session.journal.set_meta("tutorial", t_.name);
    for (int i = 0; i <= target; ++i) {
        const Step& s = t_.steps[i];
        if (static_cast<size_t>(i) < done) {
            rep_.step(outcome(StepOutcome::Kind::AlreadyApplied, s));
            continue;
        }
        if (InterruptGuard::hit()) {
            rep_.ended(ending(Ending::Kind::InterruptedBefore, names_, s.id));
            session.finish_if_empty();
            return 130;
        }
        session.ctx.step = s.id;
        session.journal.begin_step(s.id);
        try {
            for (auto& a : s.actions) {
                a->apply(session.ctx);
                if (InterruptGuard::hit()) throw Error("interrupted (Ctrl-C or a signal)");
            }
        } catch (const Error& e) {
            StepOutcome failed = outcome(StepOutcome::Kind::ApplyFailed, s);
            failed.ok = false;
            failed.error = e.what();
            failed.hint = e.hint();
            rep_.step(failed);
            try {
                session.undo_records(s.id);
                session.finish_if_empty();
            } catch (const Error& e2) {
                Ending rf = ending(Ending::Kind::RollbackFailed, names_, s.id);
                rf.error = e2.what();
                rep_.ended(rf);
                return 1;
            }
            if (!InterruptGuard::hit()) return 1;
            rep_.ended(ending(Ending::Kind::InterruptedRolledBack, names_, s.id));
            return 130;
        }
        session.journal.finish_step(s.id);
        std::vector<Check> checks;
        if (o.verify && !InterruptGuard::hit()) checks = session.verify_step(s, true, nullptr);
        if (InterruptGuard::hit()) {
            rep_.step(outcome(StepOutcome::Kind::AppliedUnchecked, s));
            rep_.ended(ending(Ending::Kind::InterruptedAfter, names_, s.id));
            return 130;
        }
        StepOutcome applied = outcome(StepOutcome::Kind::Applied, s);
        applied.ok = all_ok(checks);
        applied.checks = std::move(checks);
        rep_.step(applied);
        if (!applied.ok) {
            rep_.ended(ending(Ending::Kind::ChecksFailed, names_, s.id));
            return 1;
        }
        if (o.after_step && i < target) o.after_step(s);
    }
    return 0;
}

int Runner::undo(const UndoOptions& o) {
    if (!o.to.empty() && t_.index_of(o.to) < 0) throw UsageError(unknown_step(t_, o.to));
    if (!o.all && o.to.empty() && o.steps < 1) throw UsageError("--steps needs a number of at least 1");
    LabLock lock(dir_, rep_.text());
    InterruptGuard ig;
    RunSession session(*this);
    session.check_consistent();
    session.recover();
    auto steps = session.journal.steps();
    if (steps.empty()) {
        Ending e = ending(Ending::Kind::NothingApplied, names_);
        e.command = "undo";
        rep_.ended(e);
        session.finish_if_empty();
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
    std::vector<std::string> ids;  // the steps to undo, the last first
    for (size_t k = 0; k < count; ++k) ids.push_back(steps[steps.size() - 1 - k].id);
    const std::set<std::string> removed = session.containers_removed(ids);
    for (auto& id : ids) {
        if (InterruptGuard::hit()) {
            session.finish_half_undone();
            Ending e = ending(Ending::Kind::InterruptedUndo, names_);
            if (!session.journal.steps().empty()) e.last = session.journal.steps().back().id;
            rep_.ended(e);
            session.finish_if_empty();
            return 130;
        }
        const Step* s = t_.find(id);
        StepOutcome undone;
        undone.id = id;
        undone.title = s ? s->title : std::string();
        std::string waits_for;
        try {
            waits_for = session.undo_step(id, removed);
        } catch (const Error& e) {
            undone.kind = StepOutcome::Kind::UndoFailed;
            undone.ok = false;
            undone.error = e.what();
            undone.hint = e.hint();
            rep_.step(undone);
            return 1;
        }
        undone.kind = StepOutcome::Kind::Undone;
        if (!waits_for.empty())  // "netns:x" -> "netns x"
            undone.goes_with = waits_for.replace(waits_for.find(':'), 1, " ");
        rep_.step(undone);
    }
    session.finish_if_empty();
    return 0;
}

int Runner::verify() {
    LabLock lock(dir_, rep_.text());
    RunSession session(*this);
    session.check_consistent();
    const auto& steps = session.journal.steps();
    if (steps.empty()) {
        Ending e = ending(Ending::Kind::NothingApplied, names_);
        e.command = "verify";
        rep_.ended(e);
        session.finish_if_empty();
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
    bool ok_all = true;
    for (size_t i = 0; i < steps.size(); ++i) {
        const Step* s = t_.find(steps[i].id);
        if (!s) continue;
        bool last = i + 1 == steps.size();
        StepOutcome verified = outcome(StepOutcome::Kind::Verified, *s);
        verified.checks = session.verify_step(*s, last, &later[i]);
        verified.interrupted = steps[i].state != StepState::Applied;
        verified.ok = all_ok(verified.checks) && !verified.interrupted;
        ok_all = ok_all && verified.ok;
        rep_.step(verified);
    }
    return ok_all ? 0 : 1;
}

LabStatus Runner::status() const {
    LabStatus st;
    st.lab = names_.lab;
    st.tutorial = t_.name;
    st.state = "clean";
    st.steps = t_.steps.size();
    if (fs::exists(dir_ / "journal.toml")) {
        Journal j(dir_ / "journal.toml");
        for (auto& s : j.steps()) {
            st.applied.push_back(s.id);
            if (s.state != StepState::Applied) st.state = "interrupted";
        }
        if (st.state == "clean" && !st.applied.empty()) st.state = "applied";
    }
    if (st.applied.size() < t_.steps.size()) {
        st.next = t_.steps[st.applied.size()].id;
        st.next_title = t_.steps[st.applied.size()].title;
    }
    return st;
}

int Runner::report_status() {
    rep_.status(status());
    return 0;
}

int Runner::list() {
    rep_.list(t_, applied().size());
    return 0;
}

}  // namespace netlab::lab

#include "lab/text_reporter.h"

#include <iomanip>
#include <sstream>

#include "lab/tutorial.h"

namespace netlab::lab {

namespace {

constexpr const char* kOk = "\u2713";    // ✓
constexpr const char* kFail = "\u2717";  // ✗
constexpr const char* kSame = "=";
constexpr const char* kUndo = "\u21b6";  // ↶

size_t width_of(const Tutorial& t) {
    size_t w = 0;
    for (auto& s : t.steps) w = std::max(w, s.id.size());
    return w + 2;
}

std::string pad(const std::string& s, size_t n) { return s.size() >= n ? s + " " : s + std::string(n - s.size(), ' '); }

}  // namespace

void TextReporter::begin(const Tutorial& t) { width_ = width_of(t); }

std::string TextReporter::padded(const std::string& id) const { return pad(id, width_); }

// Failed checks, with expected and observed; passed ones only when they carry a note.
void TextReporter::checks(const std::vector<Check>& checks) {
    for (auto& c : checks) {
        if (c.ok && c.note.empty()) continue;
        out_ << "      " << (c.ok ? kOk : kFail) << " " << c.what << "\n";
        if (!c.ok) {
            if (!c.expected.empty()) out_ << "          expected: " << c.expected << "\n";
            if (!c.observed.empty()) out_ << "          observed: " << c.observed << "\n";
        }
        if (!c.note.empty()) {
            std::istringstream in(c.note);
            std::string line;
            while (std::getline(in, line)) out_ << "          " << line << "\n";
        }
    }
}

void TextReporter::step(const StepOutcome& o) {
    using K = StepOutcome::Kind;
    switch (o.kind) {
        case K::AlreadyApplied:
            out_ << "  " << kSame << " " << padded(o.id) << o.title << " (already applied)\n";
            break;
        case K::Applied:
            out_ << "  " << (o.ok ? kOk : kFail) << " " << padded(o.id) << o.title << "\n";
            checks(o.checks);
            break;
        case K::AppliedUnchecked:
            out_ << "  " << kOk << " " << padded(o.id) << o.title << " (applied; interrupted before its checks were done)\n";
            break;
        case K::ApplyFailed:
            out_ << "  " << kFail << " " << padded(o.id) << o.title << "\n";
            out_ << "      " << o.error << "\n";
            if (!o.hint.empty()) out_ << "      hint: " << o.hint << "\n";
            out_ << "      rolling back '" << o.id << "'...\n";
            break;
        case K::Recovering:
            out_ << "  " << kUndo << " " << o.id << ": a previous netlab stopped in the middle of it; rolling it back\n";
            break;
        case K::UndoFinished:
            out_ << "  " << kUndo << " " << o.id << " " << o.title << " (undone)\n";
            break;
        case K::Undone:
            out_ << "  " << kUndo << " " << padded(o.id) << o.title
                 << (o.goes_with.empty() ? " (undone)" : " (goes with " + o.goes_with + ", deleted below)") << "\n";
            break;
        case K::UndoFailed:
            out_ << "  " << kFail << " " << padded(o.id) << "undo failed: " << o.error << "\n";
            if (!o.hint.empty()) out_ << "      hint: " << o.hint << "\n";
            out_ << "      the journal keeps what is left; run `netlab undo` again after fixing it, or `netlab reset`\n";
            break;
        case K::Verified:
            out_ << "  " << (o.ok ? kOk : kFail) << " " << padded(o.id) << o.title
                 << (o.interrupted ? " (interrupted: run `netlab run` or `netlab undo`)" : "") << "\n";
            checks(o.checks);
            break;
    }
    out_.flush();
}

void TextReporter::ended(const Ending& e) {
    using K = Ending::Kind;
    switch (e.kind) {
        case K::AlreadyPast:
            out_ << "Lab '" << e.lab << "' is already past '" << e.step << "' (last applied: " << e.last
                 << "); nothing to do. To go back: netlab undo --to " << e.step
                 << (e.lab == "default" ? "" : " --lab " + e.lab) << "\n";
            break;
        case K::InterruptedBefore:
            out_ << "Interrupted; stopped before '" << e.step
                 << "'. The lab is consistent: netlab run resumes, netlab undo walks back.\n";
            break;
        case K::InterruptedRolledBack:
            out_ << "Interrupted; '" << e.step << "' was rolled back. The lab is consistent: netlab run resumes, "
                 << "netlab undo walks back.\n";
            break;
        case K::InterruptedAfter:
            out_ << "Interrupted after '" << e.step << "'. The lab is consistent: netlab verify checks it, netlab run "
                 << "resumes, netlab undo walks back.\n";
            break;
        case K::RollbackFailed:
            out_ << "      rollback failed: " << e.error << "\n      run `netlab undo` or `netlab reset`\n";
            break;
        case K::ChecksFailed:
            out_ << "Step '" << e.step << "' is applied but its checks failed; inspect it (netlab exec ...), then "
                 << "netlab undo.\n";
            break;
        case K::NothingApplied:
            out_ << "Lab '" << e.lab << "' has nothing applied; nothing to " << e.command << ".\n";
            break;
        case K::InterruptedUndo:
            out_ << "Interrupted; the lab is consistent up to '" << (e.last.empty() ? std::string("(nothing)") : e.last)
                 << "': netlab verify checks it, netlab undo goes on, netlab run builds it up again.\n";
            break;
    }
    out_.flush();
}

void TextReporter::status(const LabStatus& s) {
    out_ << "lab " << s.lab << " (tutorial " << s.tutorial << "): ";
    if (s.applied.empty()) out_ << "nothing applied\n";
    else out_ << s.applied.size() << " of " << s.steps << " steps applied, last '" << s.applied.back() << "'"
              << (s.state == "interrupted" ? " (interrupted)" : "") << "\n";
    if (!s.next.empty()) out_ << "next: " << s.next << " - " << s.next_title << "\n";
    out_.flush();
}

void TextReporter::list(const Tutorial& t, size_t applied) {
    const size_t w = width_of(t);
    out_ << t.title << "\n";
    for (size_t i = 0; i < t.steps.size(); ++i)
        out_ << "  " << (i < applied ? "[x]" : "[ ]") << " " << std::setw(2) << i + 1 << ". " << pad(t.steps[i].id, w)
             << t.steps[i].title << "\n";
    out_.flush();
}

}  // namespace netlab::lab

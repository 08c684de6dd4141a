// `netlab reset`: puts a lab back to nothing whatever state it is in. It first undoes what the
// journal lists (when it can be read), then sweeps for what the lab may have made without a journal
// to say so: namespaces carrying the lab's mark (steps/netns.h), its pods (processes `netlab pod
// --lab LAB ...`), the /etc/netns files only netlab writes (lab/inventory.h says which lines), and the
// state directory. A namespace with one of the lab's names but without its mark is reported and kept.
//
// The decisions are pure functions (tested without root); ResetLab decides with them and acts.
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "lab/action.h"
#include "lab/inventory.h"
#include "lab/registry.h"

namespace netlab::maintenance {

// A namespace found on the machine, with the mark on its loopback ("" when it has none).
struct FoundNamespace {
    std::string name;
    std::string mark;
};

struct NamespaceSweep {
    std::vector<std::string> remove;  // they carry this lab's mark
    std::vector<std::string> keep;    // "netns X: why it stays", for those with one of the lab's names only
};

// Which of the `found` namespaces reset removes: those carrying `own_mark`; one that has a name of
// `lab_namespaces` but not the mark is kept, with the reason.
NamespaceSweep sweep_namespaces(const std::vector<FoundNamespace>& found, const std::string& own_mark,
                                const std::set<std::string>& lab_namespaces);

// True when `text` (a resolv.conf) holds nothing but whole lines netlab writes (`lines`).
bool only_netlab_lines(const std::string& text, const std::set<std::string>& lines);

// The namespaces whose /etc/netns directory reset looks at: those it removed, and, when there was no
// readable journal, those of the lab's that do not exist (`exists` says).
std::set<std::string> file_sweep_targets(const std::set<std::string>& removed, const std::vector<std::string>& lab_namespaces,
                                         bool journal_read, const std::function<bool(const std::string&)>& exists);

// Where a lab lives and how its tutorial is found.
struct ResetTarget {
    lab::LabNames names;
    std::filesystem::path lab_dir;   // <state root>/<lab>
    std::filesystem::path self_exe;  // to find tutorials beside the binary
    std::string tutorial;            // used when the journal does not name one
};

class ResetLab {
public:
    ResetLab(const lab::Registry& reg, ResetTarget target, std::ostream& out);
    // Takes the lab's lock (waiting briefly for a netlab still working on it). 0 when the lab is
    // reset, 1 when something could not be undone (the journal keeps it).
    int run();

private:
    std::filesystem::path journal_file() const { return t_.lab_dir / "journal.toml"; }
    bool undo_journal(std::string& tutorial);
    lab::LabInventory inventory(const std::string& tutorial);
    void stop_pods();
    void sweep_namespaces();
    void sweep_files(bool journal_read);
    bool sweep_dir(const std::filesystem::path& dir);

    const lab::Registry& reg_;
    ResetTarget t_;
    std::ostream& out_;
    std::string mark_;
    lab::LabInventory inv_;
    std::set<std::string> journal_namespaces_, swept_;
    std::vector<std::string> kept_;
    bool failed_ = false;
};

}  // namespace netlab::maintenance

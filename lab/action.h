// The step contract. A tutorial step is a list of actions (each an instance of a step kind from
// steps/) and a list of probes (checks with real traffic: the tutorial's [[step.verify]] entries).
// The engine only sees these interfaces.
//
//   apply()   ensures the action's state; journals each change before making it (Context::change);
//             applying over an already-made state changes nothing.
//   check()   reads the kernel's state back (never the journal) and reports expected vs observed.
//   undo      is per journal record, by the undo handler the record names (Registry::undo), so that
//             undo needs nothing but the journal; "already gone" is success.
#pragma once

#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "lab/inventory.h"
#include "lab/journal.h"

namespace netlab::lab {

// The names of one lab's namespaces: the default lab uses the article's names as they are; lab
// "a" prefixes every namespace name with "a-" so that labs never collide.
struct LabNames {
    std::string lab = "default";
    std::string ns(const std::string& logical) const {
        return lab == "default" ? logical : lab + "-" + logical;
    }
    static constexpr const char* kHost = "netlab";  // logical name of the lab host namespace
};

struct Check {
    bool ok = false;
    std::string what;      // "bridge_home is up in netns netlab"
    std::string expected;  // filled when !ok (and for informative checks)
    std::string observed;
    std::string note;      // extra explanation printed under the line (e.g. why a failure is expected)
};

struct Context {
    LabNames names;
    Journal* journal = nullptr;
    std::string step;                 // id of the step being applied or undone
    std::ostream* out = nullptr;      // progress output
    std::filesystem::path state_dir;  // /run/netlab/<lab>
    std::filesystem::path self_exe;   // the netlab binary (pods run as `netlab pod ...`)

    // Journals a change of `kind` (the undo handler) with `data`, makes it, confirms it.
    template <class F>
    void change(const std::string& kind, RecordData data, F&& make, bool durable = false) {
        uint64_t seq = journal->record(step, kind, std::move(data), durable);
        make();
        journal->confirm(seq);
        Journal::maybe_fault();
    }
    // The same, for a change to a file that outlives a reboot: its record is forced to disk first.
    template <class F>
    void change_persistent(const std::string& kind, RecordData data, F&& make) {
        change(kind, std::move(data), std::forward<F>(make), true);
    }
    // The same, for a change whose make() returns data learnt while making it (merged into the record).
    template <class F>
    void change_learning(const std::string& kind, RecordData data, F&& make) {
        uint64_t seq = journal->record(step, kind, std::move(data));
        RecordData learnt = make();
        journal->confirm(seq, learnt);
        Journal::maybe_fault();
    }
};

class Action {
public:
    virtual ~Action() = default;
    // One line for humans: "create bridge bridge_home in the lab host".
    virtual std::string describe(const LabNames& n) const = 0;
    // The equivalent shell commands (ip, bridge, sysctl, iptables), generated from the parameters.
    virtual std::vector<std::string> commands(const LabNames& n) const = 0;
    virtual void apply(Context& ctx) = 0;
    // Reads the state this action decides back from the kernel: one Check per fact, expected vs observed.
    virtual std::vector<Check> check(Context& ctx) = 0;
    // Before `run` changes anything: throws Error when an object this action would make already
    // exists and is not the lab's (e.g. a netns_dustin made by hand). Must not change anything.
    virtual void preflight(Context& ctx) { (void)ctx; }
    // The kernel objects whose state this action decides ("sysctl:netlab:net.ipv4.ip_forward",
    // "rules:netlab"). When a later applied step has an action with the same key, `netlab verify`
    // checks only the later one: its state supersedes this one's.
    virtual std::vector<std::string> keys(const LabNames& n) const {
        (void)n;
        return {};
    }
    // Adds what this action makes (namespaces, links, files, pods, chains) to `inv`; pure. Actions
    // that only change what others made (addresses, routes, sysctls) add nothing.
    virtual void makes(const LabNames& n, LabInventory& inv) const {
        (void)n;
        (void)inv;
    }
};

class Probe {
public:
    virtual ~Probe() = default;
    virtual std::string describe(const LabNames& n) const = 0;
    virtual std::vector<std::string> commands(const LabNames& n) const = 0;  // e.g. curl lines
    virtual std::vector<Check> run(Context& ctx) = 0;
};

}  // namespace netlab::lab

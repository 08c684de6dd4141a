// The journal: the persistent memory of a lab across netlab invocations, one file per lab
// (/run/netlab/<lab>/journal.toml). Before each kernel or file change a record says what is about to
// be made and what it replaces; after it the record is confirmed (the confirmation is written with
// the next save: until then the record reads as pending, which undo handles). Every write replaces
// the file atomically (write, rename). A record of a change to a file that outlives a reboot (under
// /etc) is forced to disk before the change (write, fsync, rename, fsync dir); kernel state (the
// namespaces and all in them, pods) does not outlive a crash of the machine any more than a record
// not yet on disk does, so its records are not forced (each fsync costs 1-10 ms on a busy disk, and
// a run makes about 80 records). Undo walks the records backwards.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace netlab::lab {

using RecordData = std::map<std::string, std::string>;

struct Record {
    uint64_t seq = 0;
    std::string step;  // step id that made it
    std::string kind;  // name of the undo handler in the Registry ("netns", "link", "sysctl", ...)
    RecordData data;   // what was made and what it replaced (real names, prior values, prior bytes)
    bool done = false; // false: journaled before the change, the change may or may not have happened
};

enum class StepState { Applying, Applied, Undoing };

struct StepEntry {
    std::string id;
    StepState state = StepState::Applying;
};

class Journal {
public:
    // Loads `file` when it exists. Throws Error pointing to `netlab reset` when it is corrupt.
    explicit Journal(std::filesystem::path file);

    const std::filesystem::path& file() const { return file_; }
    const std::vector<StepEntry>& steps() const { return steps_; }
    const StepEntry* step(const std::string& id) const;
    std::vector<Record> records(const std::string& step) const;  // in seq order
    bool empty() const { return steps_.empty() && records_.empty(); }

    void begin_step(const std::string& id);   // new entry, Applying
    void finish_step(const std::string& id);  // Applied
    void begin_undo(const std::string& id);   // Undoing
    void forget_step(const std::string& id);  // entry gone (all its records undone)

    // Saved, pending. `durable`: forced to disk before returning (for changes to persistent files).
    uint64_t record(const std::string& step, const std::string& kind, RecordData data, bool durable = false);
    void confirm(uint64_t seq);
    // Confirms and adds what was learnt while making the change (e.g. the pid of a started pod).
    void confirm(uint64_t seq, const RecordData& learnt);
    void erase(uint64_t seq);

    std::string meta(const std::string& key) const;
    void set_meta(const std::string& key, const std::string& value);

    // Removes the journal file (when a lab is fully undone).
    void remove_file();

    // Test-only fault switches: when NETLAB_FAULT_AFTER=N is set, the process _exit()s right after
    // the N-th confirmed change of this process; NETLAB_INTERRUPT_AFTER=N raises SIGINT there (a
    // Ctrl-C at an exact moment, for changes too quick to hit with a timed signal).
    static void maybe_fault();

private:
    void save(bool durable = false);

    std::filesystem::path file_;
    std::vector<StepEntry> steps_;
    std::vector<Record> records_;
    std::map<std::string, std::string> meta_;
    uint64_t next_seq_ = 1;
};

// Encodes bytes as lowercase hex, and back (for prior file contents).
std::string hex_encode(const std::string& bytes);
std::string hex_decode(const std::string& hex);

}  // namespace netlab::lab

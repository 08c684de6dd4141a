#include "lab/journal.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <sstream>

#include <toml++/toml.h>

#include "base/error.h"
#include "lab/fs.h"

namespace netlab::lab {

namespace {

const char* state_name(StepState s) {
    switch (s) {
        case StepState::Applying: return "applying";
        case StepState::Applied: return "applied";
        case StepState::Undoing: return "undoing";
    }
    return "?";
}

std::optional<StepState> parse_state(const std::string& s) {
    if (s == "applying") return StepState::Applying;
    if (s == "applied") return StepState::Applied;
    if (s == "undoing") return StepState::Undoing;
    return std::nullopt;
}

}  // namespace

// The last line of every journal this version writes: a file cut short anywhere lacks it.
constexpr const char* kEndMark = "# end of journal\n";

// "netlab reset" with the --lab of the lab whose state directory holds `file`.
static std::string reset_hint(const std::filesystem::path& file) {
    std::string lab = file.parent_path().filename().string();
    std::string cmd = "netlab reset" + (lab.empty() || lab == "default" ? std::string() : " --lab " + lab);
    return "run `" + cmd + "` to remove everything the lab may have made";
}

Journal::Journal(std::filesystem::path file) : file_(std::move(file)) {
    auto text = read_file(file_);
    if (!text) return;
    const std::string f = file_.string();
    const std::string hint = reset_hint(file_);
    toml::table t;
    try {
        t = toml::parse(*text, f);
    } catch (const toml::parse_error& e) {
        std::ostringstream m;
        m << "journal " << f << " is corrupt: " << e.description() << " (line " << e.source().begin.line << ")";
        throw Error(m.str(), hint);
    }
    auto corrupt = [&](const std::string& why) { return Error("journal " + f + " is corrupt: " + why, hint); };
    // Journals of earlier versions had no counts and no end mark; those written now have both.
    if (t.contains("record_count") && !text->ends_with(kEndMark)) throw corrupt("truncated: its end mark is missing");
    if (text->empty()) throw corrupt("the file is empty");
    if (t["version"].value_or<int64_t>(0) != 1) throw corrupt("missing or unknown version");
    next_seq_ = static_cast<uint64_t>(t["next_seq"].value_or<int64_t>(1));
    if (auto* m = t["meta"].as_table())
        for (auto&& [k, v] : *m)
            if (auto s = v.value<std::string>()) meta_[std::string(k.str())] = *s;
    if (auto* steps = t["step"].as_array()) {
        for (auto& node : *steps) {
            auto* st = node.as_table();
            if (!st) throw corrupt("a step entry is not a table");
            auto id = (*st)["id"].value<std::string>();
            auto state = (*st)["state"].value<std::string>();
            if (!id || !state) throw corrupt("a step entry lacks id or state");
            auto st_value = parse_state(*state);
            if (!st_value) throw corrupt("unknown step state '" + *state + "'");
            steps_.push_back({*id, *st_value});
        }
    }
    if (auto* recs = t["record"].as_array()) {
        for (auto& node : *recs) {
            auto* rt = node.as_table();
            if (!rt) throw corrupt("a record is not a table");
            Record r;
            auto seq = (*rt)["seq"].value<int64_t>();
            auto step = (*rt)["step"].value<std::string>();
            auto kind = (*rt)["kind"].value<std::string>();
            auto done = (*rt)["done"].value<bool>();
            if (!seq || !step || !kind || !done) throw corrupt("a record lacks seq, step, kind or done");
            r.seq = static_cast<uint64_t>(*seq);
            r.step = *step;
            r.kind = *kind;
            r.done = *done;
            if (auto* d = (*rt)["data"].as_table())
                for (auto&& [k, v] : *d) {
                    auto s = v.value<std::string>();
                    if (!s) throw corrupt("record " + std::to_string(r.seq) + " has a non-string datum");
                    r.data[std::string(k.str())] = *s;
                }
            next_seq_ = std::max(next_seq_, r.seq + 1);
            records_.push_back(std::move(r));
        }
    }
    // The counts are written first; a file cut short at a line boundary still parses, but lacks entries.
    auto expect_count = [&](const char* key, size_t have, const char* what) {
        auto n = t[key].value<int64_t>();
        if (n && static_cast<size_t>(*n) != have)
            throw corrupt("truncated: it holds " + std::to_string(have) + " of its " + std::to_string(*n) + " " + what);
    };
    expect_count("step_count", steps_.size(), "step entries");
    expect_count("record_count", records_.size(), "records");
}

const StepEntry* Journal::step(const std::string& id) const {
    for (auto& s : steps_)
        if (s.id == id) return &s;
    return nullptr;
}

std::vector<Record> Journal::records(const std::string& step) const {
    std::vector<Record> out;
    for (auto& r : records_)
        if (r.step == step) out.push_back(r);
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.seq < b.seq; });
    return out;
}

void Journal::begin_step(const std::string& id) {
    if (!step(id)) steps_.push_back({id, StepState::Applying});
    else
        for (auto& s : steps_)
            if (s.id == id) s.state = StepState::Applying;
    save();
}

void Journal::finish_step(const std::string& id) {
    for (auto& s : steps_)
        if (s.id == id) s.state = StepState::Applied;
    save();
}

void Journal::begin_undo(const std::string& id) {
    for (auto& s : steps_)
        if (s.id == id) s.state = StepState::Undoing;
    save();
}

void Journal::forget_step(const std::string& id) {
    std::erase_if(steps_, [&](auto& s) { return s.id == id; });
    save();
}

uint64_t Journal::record(const std::string& step, const std::string& kind, RecordData data, bool durable) {
    Record r{next_seq_++, step, kind, std::move(data), false};
    records_.push_back(std::move(r));
    save(durable);
    return records_.back().seq;
}

// Written with the next save (the next record, the end of the step): until then the file shows the
// record pending, a state the journal allows anyway (the change may or may not have happened) and
// undo handles. Half the writes of a run, and each costs a rename where /run is on disk.
void Journal::confirm(uint64_t seq) {
    for (auto& r : records_)
        if (r.seq == seq) r.done = true;
}

void Journal::confirm(uint64_t seq, const RecordData& learnt) {
    for (auto& r : records_)
        if (r.seq == seq) {
            r.done = true;
            for (auto& [k, v] : learnt) r.data[k] = v;
        }
    save();
}

// Written with the next save (forget_step at the latest): until then the file still lists the
// record, and undoing it again finds it gone, which undo accepts.
void Journal::erase(uint64_t seq) {
    std::erase_if(records_, [&](auto& r) { return r.seq == seq; });
}

std::string Journal::meta(const std::string& key) const {
    auto it = meta_.find(key);
    return it == meta_.end() ? std::string() : it->second;
}

void Journal::set_meta(const std::string& key, const std::string& value) {
    meta_[key] = value;
    save();
}

void Journal::remove_file() { lab::remove_file(file_); }

void Journal::save(bool durable) {
    toml::table t;
    t.insert("version", 1);
    t.insert("next_seq", static_cast<int64_t>(next_seq_));
    t.insert("step_count", static_cast<int64_t>(steps_.size()));
    t.insert("record_count", static_cast<int64_t>(records_.size()));
    toml::table meta;
    for (auto& [k, v] : meta_) meta.insert(k, v);
    t.insert("meta", std::move(meta));
    toml::array steps;
    for (auto& s : steps_) steps.push_back(toml::table{{"id", s.id}, {"state", state_name(s.state)}});
    t.insert("step", std::move(steps));
    toml::array recs;
    for (auto& r : records_) {
        toml::table data;
        for (auto& [k, v] : r.data) data.insert(k, v);
        recs.push_back(toml::table{{"seq", static_cast<int64_t>(r.seq)},
                                   {"step", r.step},
                                   {"kind", r.kind},
                                   {"done", r.done},
                                   {"data", std::move(data)}});
    }
    t.insert("record", std::move(recs));
    std::ostringstream os;
    os << "# netlab journal: what this lab made, in order. Do not edit; `netlab reset` recovers a lost one.\n";
    os << t << "\n" << kEndMark;
    std::error_code ec;
    std::filesystem::create_directories(file_.parent_path(), ec);
    // write, rename (atomic: a reader or a crashed netlab sees the old file or the new one, whole);
    // with fsyncs when the next change is one that outlives a reboot.
    write_file_atomic(file_, os.str(), 0600, durable);
}

void Journal::maybe_fault() {
    static long remaining = [] {
        const char* v = std::getenv("NETLAB_FAULT_AFTER");
        return v ? std::atol(v) : -1L;
    }();
    static long until_interrupt = [] {
        const char* v = std::getenv("NETLAB_INTERRUPT_AFTER");
        return v ? std::atol(v) : -1L;
    }();
    if (until_interrupt > 0 && --until_interrupt == 0) ::raise(SIGINT);  // as if Ctrl-C came right now
    if (remaining < 0) return;
    if (--remaining == 0) ::_exit(99);
}

std::string hex_encode(const std::string& bytes) {
    static const char* d = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += d[c >> 4];
        out += d[c & 15];
    }
    return out;
}

std::string hex_decode(const std::string& hex) {
    auto val = [&](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        throw Error("bad hex digit '" + std::string(1, c) + "' in journal");
    };
    if (hex.size() % 2) throw Error("odd-length hex string in journal");
    std::string out;
    out.reserve(hex.size() / 2);
    for (size_t i = 0; i < hex.size(); i += 2) out += static_cast<char>(val(hex[i]) * 16 + val(hex[i + 1]));
    return out;
}

}  // namespace netlab::lab

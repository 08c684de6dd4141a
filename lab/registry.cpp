#include "lab/registry.h"

#include "base/did_you_mean.h"
#include "base/error.h"

namespace netlab::lab {

void Registry::add_action(const std::string& kind, ActionFactory f) { actions_[kind] = std::move(f); }
void Registry::add_probe(const std::string& kind, ProbeFactory f) { probes_[kind] = std::move(f); }
void Registry::add_undo(const std::string& kind, UndoHandler h) { undo_[kind] = std::move(h); }
void Registry::add_scope(const std::string& kind, ContainerOf inside, ContainerOf removes) {
    scopes_[kind] = {std::move(inside), std::move(removes)};
}

std::string Registry::inside(const Record& r) const {
    auto it = scopes_.find(r.kind);
    return it == scopes_.end() || !it->second.first ? std::string() : it->second.first(r);
}

std::string Registry::removes(const Record& r) const {
    auto it = scopes_.find(r.kind);
    return it == scopes_.end() || !it->second.second ? std::string() : it->second.second(r);
}

template <class M>
static std::vector<std::string> keys(const M& m) {
    std::vector<std::string> out;
    for (auto& [k, v] : m) out.push_back(k);
    return out;
}

static std::string unknown(const char* what, const std::string& kind, const std::vector<std::string>& valid) {
    std::string msg = netlab::unknown(std::string(what) + " kind", kind, valid);
    if (!closest(kind, valid).empty()) return msg;
    msg += " (known: ";
    for (size_t i = 0; i < valid.size(); ++i) msg += (i ? ", " : "") + valid[i];
    return msg + ")";
}

std::unique_ptr<Action> Registry::make_action(const std::string& kind, const Params& p) const {
    auto it = actions_.find(kind);
    if (it == actions_.end()) p.fail(unknown("action", kind, action_kinds()));
    return it->second(p);
}

std::unique_ptr<Probe> Registry::make_probe(const std::string& kind, const Params& p) const {
    auto it = probes_.find(kind);
    if (it == probes_.end()) p.fail(unknown("probe", kind, probe_kinds()));
    return it->second(p);
}

void Registry::undo(Context& ctx, const Record& r) const {
    auto it = undo_.find(r.kind);
    if (it == undo_.end())
        throw Error("undo journal record " + std::to_string(r.seq) + ": no undo handler for kind '" + r.kind + "'");
    it->second(ctx, r);
}

std::vector<std::string> Registry::action_kinds() const { return keys(actions_); }
std::vector<std::string> Registry::probe_kinds() const { return keys(probes_); }

}  // namespace netlab::lab

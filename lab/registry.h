// Step kinds by name: factories for actions and probes, and undo handlers for journal records.
// steps/ fills it (steps::register_all); the engine looks names up and knows nothing else of them.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lab/action.h"
#include "lab/params.h"
#include "lab/quiz.h"

namespace netlab::lab {

using ActionFactory = std::function<std::unique_ptr<Action>(const Params&)>;
using ProbeFactory = std::function<std::unique_ptr<Probe>(const Params&)>;
using UndoHandler = std::function<void(Context&, const Record&)>;
// The container a record names ("netns:lab-netlab"), or "" for none; see Registry::add_scope.
using ContainerOf = std::function<std::string(const Record&)>;

class Registry {
public:
    void add_action(const std::string& kind, ActionFactory f);
    void add_probe(const std::string& kind, ProbeFactory f);
    void add_undo(const std::string& kind, UndoHandler h);
    // Containment, for undoing many steps at once: a record `inside` a container (a link, address,
    // rule or sysctl inside a namespace) needs no undo of its own when the same undo also undoes a
    // record that `removes` that container, since removing it takes everything in it along.
    // Deleting a namespace is one cheap call whose cleanup the kernel does later, where deleting its
    // links one by one costs an RCU grace period each. Kinds without a scope are never contained.
    void add_scope(const std::string& kind, ContainerOf inside, ContainerOf removes);
    std::string inside(const Record& r) const;
    std::string removes(const Record& r) const;

    // Throw UsageError("<where>: unknown action kind 'x' (did you mean 'y'?)").
    std::unique_ptr<Action> make_action(const std::string& kind, const Params& p) const;
    std::unique_ptr<Probe> make_probe(const std::string& kind, const Params& p) const;
    // Throws Error when no handler is registered for the record's kind.
    void undo(Context& ctx, const Record& r) const;

    // Kinds of live quiz answers (steps::register_quiz_live adds the ones that send real traffic).
    LiveKinds& live() { return live_; }
    const LiveKinds& live() const { return live_; }

    std::vector<std::string> action_kinds() const;
    std::vector<std::string> probe_kinds() const;

private:
    std::map<std::string, ActionFactory> actions_;
    std::map<std::string, ProbeFactory> probes_;
    std::map<std::string, UndoHandler> undo_;
    std::map<std::string, std::pair<ContainerOf, ContainerOf>> scopes_;
    LiveKinds live_;
};

}  // namespace netlab::lab

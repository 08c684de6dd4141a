#include "lab/tutorial.h"

#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>

#include "base/did_you_mean.h"
#include "base/error.h"

namespace netlab::lab {

namespace fs = std::filesystem;

const Step* Tutorial::find(const std::string& id) const {
    for (auto& s : steps)
        if (s.id == id) return &s;
    return nullptr;
}

const Step& Tutorial::step(const std::string& id) const {
    if (const Step* s = find(id)) return *s;
    throw UsageError(unknown("step", id, ids()));
}

int Tutorial::index_of(const std::string& id) const {
    for (size_t i = 0; i < steps.size(); ++i)
        if (steps[i].id == id) return static_cast<int>(i);
    return -1;
}

std::vector<std::string> Tutorial::ids() const {
    std::vector<std::string> out;
    for (auto& s : steps) out.push_back(s.id);
    return out;
}

namespace {

std::string where_of(const fs::path& file, const toml::node& n) {
    return file.string() + ":" + std::to_string(n.source().begin.line);
}

std::string required_string(const toml::table& t, const char* key, const std::string& where) {
    auto n = t[key];
    if (!n) throw UsageError(where + ": missing field '" + std::string(key) + "'");
    auto v = n.value<std::string>();
    if (!v) throw UsageError(where + ": field '" + std::string(key) + "' must be a string");
    return *v;
}

std::vector<std::string> optional_strings(const toml::table& t, const char* key, const std::string& where) {
    std::vector<std::string> out;
    auto n = t[key];
    if (!n) return out;
    auto* arr = n.as_array();
    if (!arr) throw UsageError(where + ": field '" + std::string(key) + "' must be a list of strings");
    for (auto& e : *arr) {
        auto s = e.value<std::string>();
        if (!s) throw UsageError(where_of(fs::path(where.substr(0, where.rfind(':'))), e) + ": '" + key +
                                 "' must contain only strings");
        out.push_back(*s);
    }
    return out;
}

const std::set<std::string> kStepKeys = {"id", "title", "explain", "try", "action", "verify", "quiz"};
const std::set<std::string> kTopKeys = {"title", "source", "step"};

void only_keys(const toml::table& t, const std::set<std::string>& known, const std::string& where,
               const char* what) {
    for (auto&& [k, v] : t) {
        std::string key(k.str());
        if (known.count(key)) continue;
        throw UsageError(where_of(fs::path(where), v) + ": " +
                         unknown(std::string(what) + " field", key, std::vector<std::string>(known.begin(), known.end())));
    }
}

}  // namespace

Tutorial load_tutorial(const fs::path& file, const Registry& reg) {
    Tutorial tut;
    tut.file = file;
    tut.name = file.stem().string();
    toml::table root;
    try {
        root = toml::parse_file(file.string());
    } catch (const toml::parse_error& e) {
        std::ostringstream m;
        m << file.string() << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
          << e.description();
        throw UsageError(m.str());
    }
    const std::string f = file.string();
    for (auto&& [k, v] : root) {
        std::string key(k.str());
        if (!kTopKeys.count(key)) {
            throw UsageError(where_of(file, v) + ": " + unknown("field", key, {kTopKeys.begin(), kTopKeys.end()}));
        }
    }
    tut.title = root["title"].value_or(tut.name);
    tut.source = root["source"].value_or(std::string());
    auto* steps = root["step"].as_array();
    if (!steps || steps->empty()) throw UsageError(f + ": a tutorial needs at least one [[step]]");
    static const std::regex id_re("[a-z0-9][a-z0-9-]*");
    std::set<std::string> seen;
    for (auto& node : *steps) {
        auto* st = node.as_table();
        std::string where = where_of(file, node);
        if (!st) throw UsageError(where + ": a step must be a table ([[step]])");
        only_keys(*st, kStepKeys, f, "step");
        Step s;
        s.where = where;
        s.id = required_string(*st, "id", where);
        if (!std::regex_match(s.id, id_re))
            throw UsageError(where + ": step id '" + s.id + "' must be lower-case letters, digits and '-'");
        if (!seen.insert(s.id).second) throw UsageError(where + ": duplicate step id '" + s.id + "'");
        s.title = required_string(*st, "title", where);
        s.explain = (*st)["explain"].value_or(std::string());
        s.try_this = optional_strings(*st, "try", where);
        auto load_list = [&](const char* key, auto make) {
            auto n = (*st)[key];
            if (!n) return;
            auto* arr = n.as_array();
            if (!arr) throw UsageError(where + ": '" + key + "' must be a list of tables ([[step." + key + "]])");
            for (auto& an : *arr) {
                auto* at = an.as_table();
                std::string aw = where_of(file, an);
                if (!at) throw UsageError(aw + ": each '" + key + "' entry must be a table");
                std::string kind = required_string(*at, "kind", aw);
                make(kind, Params(*at, aw));
            }
        };
        load_list("action", [&](const std::string& kind, const Params& p) {
            s.actions.push_back(reg.make_action(kind, p));
        });
        // [[step.verify]] lists the step's probes (Probe::run sends traffic); Action::check reads state back.
        load_list("verify", [&](const std::string& kind, const Params& p) {
            s.probes.push_back(reg.make_probe(kind, p));
        });
        s.quiz = load_quiz(*st, file, reg.live());
        if (s.actions.empty()) throw UsageError(where + ": step '" + s.id + "' has no [[step.action]]");
        tut.steps.push_back(std::move(s));
    }
    return tut;
}

fs::path find_tutorial(const std::string& name, const fs::path& self_exe) {
    if (name.find('/') != std::string::npos || (name.size() > 5 && name.ends_with(".toml"))) {
        if (!fs::exists(name)) throw UsageError("tutorial file " + name + " does not exist");
        return name;
    }
    std::vector<fs::path> dirs;
    if (const char* env = std::getenv("NETLAB_TUTORIALS")) dirs.emplace_back(env);
    if (!self_exe.empty()) {
        dirs.push_back(self_exe.parent_path() / "tutorials");
        dirs.push_back(self_exe.parent_path().parent_path() / "share" / "netlab" / "tutorials");
    }
    dirs.emplace_back("/usr/local/share/netlab/tutorials");
    dirs.emplace_back("/usr/share/netlab/tutorials");
    std::vector<std::string> known;
    for (auto& d : dirs) {
        auto p = d / (name + ".toml");
        if (fs::exists(p)) return p;
        std::error_code ec;
        for (auto& e : fs::directory_iterator(d, ec))
            if (e.path().extension() == ".toml") known.push_back(e.path().stem().string());
    }
    std::string msg = unknown("tutorial", name, known);
    if (!closest(name, known).empty()) {
    } else if (!known.empty()) {
        msg += " (available:";
        for (auto& k : std::set<std::string>(known.begin(), known.end())) msg += " " + k;
        msg += ")";
    }
    throw UsageError(msg);
}

}  // namespace netlab::lab

#include "cli/meta.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

namespace netlab::cli {

namespace fs = std::filesystem;

#ifndef NETLAB_VERSION
#define NETLAB_VERSION "unknown"
#endif

std::string version_text() { return std::string("netlab ") + NETLAB_VERSION + " (git " + build_revision() + ")"; }

std::vector<std::string> lab_names(const Invocation& g) {
    std::set<std::string> names{"default"};
    std::error_code ec;
    for (auto& e : fs::directory_iterator(g.state_root(), ec))
        if (e.is_directory(ec)) names.insert(e.path().filename().string());
    return {names.begin(), names.end()};
}

std::vector<std::string> tutorial_names(const Invocation& g) {
    std::vector<fs::path> dirs;
    if (const char* env = std::getenv("NETLAB_TUTORIALS")) dirs.emplace_back(env);
    fs::path exe = g.self_exe();
    dirs.push_back(exe.parent_path() / "tutorials");
    dirs.push_back(exe.parent_path().parent_path() / "share" / "netlab" / "tutorials");
    std::set<std::string> names;
    for (auto& d : dirs) {
        std::error_code ec;
        for (auto& e : fs::directory_iterator(d, ec))
            if (e.path().extension() == ".toml") names.insert(e.path().stem().string());
    }
    return {names.begin(), names.end()};
}

std::vector<std::string> step_ids(Invocation& g) {
    try {
        return g.tut().ids();
    } catch (const std::exception&) {
        return {};
    }
}

std::vector<std::string> namespace_names(Invocation& g) {
    std::vector<std::string> out;
    try {
        const auto names = g.names();
        const std::string prefix = names.ns("");  // "" for the default lab, else "LAB-"
        for (auto& step : g.tut().steps)
            for (auto& a : step.actions)
                for (auto& k : a->keys(names)) {
                    if (k.rfind("netns:", 0) != 0) continue;
                    std::string real = k.substr(6);
                    std::string logical = real.rfind(prefix, 0) == 0 ? real.substr(prefix.size()) : real;
                    if (std::find(out.begin(), out.end(), logical) == out.end()) out.push_back(logical);
                }
    } catch (const std::exception&) {
    }
    return out;
}

}  // namespace netlab::cli

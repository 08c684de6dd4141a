// labs: every lab on this machine, read from the state directories (journals) and /proc (pods).
// Reading only: it takes no lock and changes nothing.
#include <algorithm>
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "cli/cli.h"
#include "lab/journal.h"
#include "steps/pod.h"

namespace netlab::cli {

namespace fs = std::filesystem;

namespace {

struct LabRow {
    std::string name, tutorial, last_step, state = "ok";
    int applied = 0, total = -1, pods = 0;
};

LabRow read_lab(Invocation& g, const fs::path& dir) {
    LabRow r;
    r.name = dir.filename().string();
    r.pods = static_cast<int>(steps::find_lab_pods(r.name).size());
    fs::path file = dir / "journal.toml";
    if (!fs::exists(file)) {
        r.state = "no journal";
        return r;
    }
    try {
        lab::Journal j(file);
        r.tutorial = j.meta("tutorial");
        for (auto& s : j.steps()) {
            if (s.state == lab::StepState::Applied) {
                ++r.applied;
                r.last_step = s.id;
            } else {
                r.state = "interrupted";
            }
        }
        try {
            if (!r.tutorial.empty())
                r.total = static_cast<int>(
                    lab::load_tutorial(lab::find_tutorial(r.tutorial, g.self_exe()), g.registry()).steps.size());
        } catch (const std::exception&) {
        }
    } catch (const std::exception&) {
        r.state = "unreadable journal";
    }
    return r;
}

int labs(Invocation& g, bool json) {
    std::vector<LabRow> rows;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(g.state_root(), ec))
        if (e.is_directory()) rows.push_back(read_lab(g, e.path()));
    std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.name < b.name; });
    if (json) {
        nlohmann::json out = {{"labs", nlohmann::json::array()}};
        for (auto& r : rows)
            out["labs"].push_back({{"name", r.name},
                                   {"tutorial", r.tutorial},
                                   {"steps_applied", r.applied},
                                   {"steps_total", r.total < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.total)},
                                   {"last_step", r.last_step},
                                   {"pods_running", r.pods},
                                   {"state", r.state}});
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    if (rows.empty()) {
        std::cout << "No labs on this machine (netlab run builds one; state in " << g.state_root().string() << ").\n";
        return 0;
    }
    size_t w = 3;
    for (auto& r : rows) w = std::max(w, r.name.size());
    std::cout << std::left << std::setw(w + 2) << "LAB" << std::setw(16) << "TUTORIAL" << std::setw(8) << "STEPS"
              << std::setw(22) << "LAST STEP" << std::setw(6) << "PODS" << "STATE\n";
    for (auto& r : rows) {
        std::string steps = std::to_string(r.applied) + (r.total < 0 ? "" : "/" + std::to_string(r.total));
        std::cout << std::setw(w + 2) << r.name << std::setw(16) << (r.tutorial.empty() ? "-" : r.tutorial)
                  << std::setw(8) << steps << std::setw(22) << (r.last_step.empty() ? "-" : r.last_step)
                  << std::setw(6) << r.pods << r.state << "\n";
    }
    return 0;
}

}  // namespace

void add_labs_command(CommandTable& table) {
    auto json = std::make_shared<bool>(false);
    table.push_back({"labs",
                     "every lab on this machine: its tutorial, steps applied, last step, pods running",
                     {flag("--json", "one JSON document", json.get())},
                     [json](Invocation& g) { return labs(g, *json); }});
}

}  // namespace netlab::cli

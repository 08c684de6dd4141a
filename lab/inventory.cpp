#include "lab/inventory.h"

#include <algorithm>

#include "lab/action.h"
#include "lab/tutorial.h"

namespace netlab::lab {

namespace {

template <class T>
void add_once(std::vector<T>& v, T x) {
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(std::move(x));
}

}  // namespace

void LabInventory::add_namespace(const std::string& real) { add_once(namespaces, real); }
void LabInventory::add_link(MadeLink l) { add_once(links, std::move(l)); }
void LabInventory::add_pod(MadePod p) { add_once(pods, std::move(p)); }
void LabInventory::add_rules(const std::string& real_ns) { add_once(rule_namespaces, real_ns); }
void LabInventory::add_chain(MadeChain c) { add_once(chains, std::move(c)); }

void LabInventory::add_file(const std::string& path, const std::string& line) {
    for (auto& f : files)
        if (f.path == path) {
            add_once(f.lines, line);
            return;
        }
    files.push_back({path, {line}});
}

std::vector<std::string> LabInventory::pod_namespaces() const {
    std::vector<std::string> out;
    for (const auto& p : pods) add_once(out, p.ns);
    return out;
}

std::vector<uint16_t> LabInventory::pod_ports(const std::string& ns) const {
    std::vector<uint16_t> out;
    for (const auto& p : pods)
        if (p.ns == ns) add_once(out, p.port);
    return out;
}

std::set<std::string> LabInventory::file_lines() const {
    std::set<std::string> out;
    for (const auto& f : files) out.insert(f.lines.begin(), f.lines.end());
    return out;
}

LabInventory inventory_of(const Tutorial& t, const LabNames& names, size_t first, size_t last) {
    LabInventory inv;
    inv.host = names.ns(LabNames::kHost);
    for (size_t i = first; i <= last && i < t.steps.size(); ++i)
        for (const auto& a : t.steps[i].actions) a->makes(names, inv);
    return inv;
}

LabInventory inventory_of(const Tutorial& t, const LabNames& names) {
    if (t.steps.empty()) return inventory_of(t, names, 1, 0);
    return inventory_of(t, names, 0, t.steps.size() - 1);
}

}  // namespace netlab::lab

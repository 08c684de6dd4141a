#include "lab/params.h"

#include <algorithm>
#include <set>

#include "lab/error.h"

namespace netlab::lab {

void Params::fail(const std::string& msg) const { throw UsageError(where_ + ": " + msg); }

std::string Params::str(const char* key) const {
    auto n = t_[key];
    if (!n) fail(std::string("missing field '") + key + "'");
    auto v = n.value<std::string>();
    if (!v) fail(std::string("field '") + key + "' must be a string");
    return *v;
}

std::string Params::str_or(const char* key, const std::string& def) const { return has(key) ? str(key) : def; }

int64_t Params::integer(const char* key) const {
    auto n = t_[key];
    if (!n) fail(std::string("missing field '") + key + "'");
    if (!n.is_integer()) fail(std::string("field '") + key + "' must be an integer");
    return *n.value<int64_t>();
}

int64_t Params::integer_or(const char* key, int64_t def) const { return has(key) ? integer(key) : def; }

double Params::number_or(const char* key, double def) const {
    auto n = t_[key];
    if (!n) return def;
    if (n.is_integer()) return static_cast<double>(*n.value<int64_t>());
    if (n.is_floating_point()) return *n.value<double>();
    fail(std::string("field '") + key + "' must be a number");
}

bool Params::boolean_or(const char* key, bool def) const {
    auto n = t_[key];
    if (!n) return def;
    if (!n.is_boolean()) fail(std::string("field '") + key + "' must be true or false");
    return *n.value<bool>();
}

std::vector<std::string> Params::strings(const char* key) const {
    auto n = t_[key];
    if (!n) fail(std::string("missing field '") + key + "'");
    return strings_or_empty(key);
}

std::vector<std::string> Params::strings_or_empty(const char* key) const {
    auto n = t_[key];
    std::vector<std::string> out;
    if (!n) return out;
    if (auto s = n.value<std::string>()) {
        out.push_back(*s);
        return out;
    }
    auto* arr = n.as_array();
    if (!arr) fail(std::string("field '") + key + "' must be a string or a list of strings");
    for (auto& e : *arr) {
        auto s = e.value<std::string>();
        if (!s) fail(std::string("field '") + key + "' must contain only strings");
        out.push_back(*s);
    }
    return out;
}

void Params::only(std::initializer_list<const char*> known) const {
    std::vector<std::string> names(known.begin(), known.end());
    names.push_back("kind");
    for (auto&& [k, v] : t_) {
        std::string key(k.str());
        if (std::find(names.begin(), names.end(), key) != names.end()) continue;
        std::string near = closest(key, names);
        fail("unknown field '" + key + "'" + (near.empty() ? "" : " (did you mean '" + near + "'?)"));
    }
}

// Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps
// ("nmae" is one edit from "name").
static size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i)
        for (size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
    std::string best;
    size_t best_d = SIZE_MAX;
    for (auto& c : candidates) {
        size_t d = edit_distance(word, c);
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    // Close enough: at most a third of the word wrong (and at least one edit allowed), or a prefix.
    size_t limit = std::max<size_t>(1, word.size() / 3);
    if (best_d <= limit) return best;
    for (auto& c : candidates)
        if (word.size() >= 3 && c.rfind(word, 0) == 0) return c;
    return {};
}

}  // namespace netlab::lab

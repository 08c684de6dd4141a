#include "lab/params.h"

#include <algorithm>
#include <set>

#include "base/did_you_mean.h"
#include "base/error.h"

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
        fail(unknown("field", key, names));
    }
}

}  // namespace netlab::lab

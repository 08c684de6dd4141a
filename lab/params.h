// The parameters of one action or probe as the tutorial file gives them, with the file:line they
// came from so that every complaint about them points at the tutorial.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <toml++/toml.h>

namespace netlab::lab {

class Params {
public:
    Params() = default;
    Params(toml::table t, std::string where) : t_(std::move(t)), where_(std::move(where)) {}

    bool has(const char* key) const { return t_.contains(key); }
    std::string str(const char* key) const;                      // required string
    std::string str_or(const char* key, const std::string& def) const;
    int64_t integer(const char* key) const;
    int64_t integer_or(const char* key, int64_t def) const;
    double number_or(const char* key, double def) const;          // integer or float
    bool boolean_or(const char* key, bool def) const;
    // An array of strings, or a single string as a one-element list; required.
    std::vector<std::string> strings(const char* key) const;
    std::vector<std::string> strings_or_empty(const char* key) const;

    const std::string& where() const { return where_; }
    const toml::table& table() const { return t_; }

    // Throws UsageError("<where>: <msg>").
    [[noreturn]] void fail(const std::string& msg) const;
    // Every key must be one of `known` (plus "kind"); otherwise fails with "did you mean".
    void only(std::initializer_list<const char*> known) const;

private:
    toml::table t_;
    std::string where_;
};


}  // namespace netlab::lab

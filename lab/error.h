// The one error type of netlab. Its message reads "<verb> <object> [in netns X]: <reason>",
// optionally with a hint on how to fix it. Converted from errno / libnl / libnftnl codes only at
// the netutil boundary; caught in the engine (to roll back) and in main (to print and exit).
#pragma once

#include <stdexcept>
#include <string>

namespace netlab {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what, std::string hint = {})
        : std::runtime_error(what), hint_(std::move(hint)) {}
    const std::string& hint() const { return hint_; }

private:
    std::string hint_;
};

// Bad input from the user (unknown step, malformed tutorial, bad option): exit code 2, nothing changed.
class UsageError : public Error {
public:
    using Error::Error;
};

// "<what>: <strerror(err)>"
std::string errno_text(int err);

}  // namespace netlab

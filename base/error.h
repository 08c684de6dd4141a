// The one error type of netlab. Its message reads "<verb> <object> [in netns X]: <reason>",
// optionally with a hint on how to fix it. Converted from errno / libnl / libnftnl codes only at
// the netutil boundary; caught in the engine (to roll back) and in main (to print and exit).
//
// Context is added once, by the layer that knows it: with_context("read rules in netns X", f) runs
// f and puts "read rules in netns X: " in front of the message of an Error escaping it, keeping its
// type (UsageError stays UsageError) and hint. Code below it throws without that prefix.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

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

// strerror(err), e.g. "No such file or directory".
std::string errno_text(int err);

// Runs f() and returns what it returns; an Error escaping it is thrown again, of the same type and
// with the same hint, as "<context>: <message>".
template <class F>
decltype(auto) with_context(const std::string& context, F&& f) {
    try {
        return std::forward<F>(f)();
    } catch (const UsageError& e) {
        throw UsageError(context + ": " + e.what(), e.hint());
    } catch (const Error& e) {
        throw Error(context + ": " + e.what(), e.hint());
    }
}

}  // namespace netlab

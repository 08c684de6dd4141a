// The ownership mark of a lab's namespaces: the alias "netlab lab=<lab>" on their loopback, set by
// the netns step right after it makes one, read by the step's preflight and undo and by `netlab reset`
// to tell the lab's own namespaces from namespaces of the same name that it did not make.
#pragma once

#include <string>

namespace netlab::steps {

// "netlab lab=<lab>"
std::string netns_owner_mark(const std::string& lab);
// The mark on namespace REAL's loopback: "" when it has none, when REAL is absent or unreadable.
std::string netns_mark(const std::string& real);
// The container name of namespace REAL for Registry::add_scope: "netns:REAL".
inline std::string netns_container(const std::string& real) { return "netns:" + real; }
// The lab named by a mark ("a" for "netlab lab=a"), or "" when `mark` is not netlab's.
std::string netns_mark_lab(const std::string& mark);

}  // namespace netlab::steps

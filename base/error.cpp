#include "base/error.h"

#include <cstring>

namespace netlab {

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace netlab

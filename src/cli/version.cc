#include "cli/version.h"

#ifndef ZP_VERSION
#error "ZP_VERSION must be defined by the build"
#endif

namespace zp::cli {

std::string_view version() { return ZP_VERSION; }

}  // namespace zp::cli

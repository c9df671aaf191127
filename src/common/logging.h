#pragma once
// Process-wide logging setup shared by the daemons and the CLI.

#include <string_view>

#include "common/status.h"

namespace zp {

// Configures the default spdlog logger: stderr, "[time] [level] message".
// `level` is one of trace|debug|info|warn|error|off; anything else is an error.
// May be called again to change the level.
Status setupLogging(std::string_view level);

}  // namespace zp

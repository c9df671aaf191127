#pragma once
// The zoneplane version the CLI was built as (the CMake project version).

#include <string_view>

namespace zp::cli {

std::string_view version();

}  // namespace zp::cli

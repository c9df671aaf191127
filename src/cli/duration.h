#pragma once
// Durations as the CLI's --timeout options take them: a number of seconds
// ("2.5"), or a number with a unit ("250ms", "30s", "2m", "1h"), as kubectl's
// --timeout and Go's durations read. No sign, no spaces, one unit.

#include <chrono>
#include <string>

#include "common/status.h"

namespace zp::cli {

// The duration `text` names, rounded to the millisecond, when it is from
// `min` to `max`; otherwise InvalidArgument with `option` as its field and
// a message (the range, examples) for after the option's name.
Result<std::chrono::milliseconds> parseDuration(const std::string& text, const std::string& option,
                                                std::chrono::milliseconds min,
                                                std::chrono::milliseconds max);

}  // namespace zp::cli

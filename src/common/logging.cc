#include "common/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

namespace zp {

Status setupLogging(std::string_view level) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return fail(Code::kInvalidArgument,
                "unknown log level \"" + std::string(level) +
                    "\" (expected trace, debug, info, warn, error or off)",
                "log-level");
  }
  // A second call (a process that runs several commands) reconfigures it.
  auto logger = spdlog::get("zoneplane");
  if (!logger) logger = spdlog::stderr_color_mt("zoneplane");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  logger->set_level(parsed);
  spdlog::set_default_logger(logger);
  return ok();
}

}  // namespace zp

#include "cli/duration.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string_view>

namespace zp::cli {

namespace {

// Milliseconds per unit; 0 for an unknown suffix.
double unitMillis(std::string_view unit) {
  if (unit.empty() || unit == "s") return 1000.0;
  if (unit == "ms") return 1.0;
  if (unit == "m") return 60'000.0;
  if (unit == "h") return 3'600'000.0;
  return 0.0;
}

std::string shown(std::chrono::milliseconds d) {
  using namespace std::chrono;
  if (d >= hours(1) && d % hours(1) == 0ms) return std::to_string(d / hours(1)) + "h";
  if (d % seconds(1) == 0ms) return std::to_string(d / seconds(1)) + "s";
  return std::to_string(d.count()) + "ms";
}

}  // namespace

Result<std::chrono::milliseconds> parseDuration(const std::string& text, const std::string& option,
                                                std::chrono::milliseconds min,
                                                std::chrono::milliseconds max) {
  auto refuse = [&] {
    return fail(Code::kInvalidArgument,
                "\"" + text.substr(0, 40) + "\" is not a duration from " + shown(min) + " to " +
                    shown(max) + " (e.g. 30s, 2m, 1.5 for seconds)",
                option);
  };
  // The number: digits with at most one '.', and at least one digit.
  std::size_t end = 0;
  bool digit = false, dot = false;
  for (; end < text.size(); ++end) {
    const char c = text[end];
    if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
      digit = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (!digit || end > 20) return refuse();
  const double per_unit = unitMillis(std::string_view(text).substr(end));
  if (per_unit == 0.0) return refuse();
  double number = 0.0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + end, number);
  if (ec != std::errc{} || ptr != text.data() + end) return refuse();
  const double millis = number * per_unit;
  if (!std::isfinite(millis) || millis < static_cast<double>(min.count()) - 0.5 ||
      millis > static_cast<double>(max.count()) + 0.5) {
    return refuse();
  }
  const auto rounded = std::chrono::milliseconds(std::llround(millis));
  if (rounded < min || rounded > max) return refuse();
  return rounded;
}

}  // namespace zp::cli

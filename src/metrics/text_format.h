#pragma once
// The pieces of the Prometheus text exposition format (version 0.0.4) that
// the Registry writes with: name checks, escaping and number formatting.
// Pure functions; thread-safe.
//
//   metric name  [a-zA-Z_:][a-zA-Z0-9_:]*
//   label name   [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved)
//   label value  any UTF-8; written in double quotes with '\' -> "\\",
//                '"' -> "\"" and newline -> "\n"
//   HELP text    any UTF-8; '\' -> "\\" and newline -> "\n" (quotes stay)
//   value        a Go ParseFloat number: "NaN", "+Inf", "-Inf", or the
//                shortest decimal that reads back as the same double

#include <string>
#include <string_view>

namespace zp::metrics {

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

bool validMetricName(std::string_view name);
bool validLabelName(std::string_view name);

// Appends `value` escaped for a label value (without the quotes).
void appendEscapedLabelValue(std::string& out, std::string_view value);
// Appends `text` escaped for a HELP line.
void appendEscapedHelp(std::string& out, std::string_view text);
// Appends `value` as the format writes numbers (also used for "le").
void appendValue(std::string& out, double value);
std::string formatValue(double value);

}  // namespace zp::metrics

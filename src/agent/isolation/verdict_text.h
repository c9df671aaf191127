#pragma once
// Text for findings (docs/architecture.md §10.2): values quoted from a probe
// report come out of a workload's container, so they are untrusted. Every
// helper here yields printable ASCII only (other bytes become '?'), cuts long
// values visibly, and keeps a finding's text within api::kMaxFindingTextLength.
// Pure functions; internal to the verdict.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "probe/parse.h"

namespace zp::agent::verdict_detail {

// Longest single value quoted in evidence (a kernel version, a path).
inline constexpr std::size_t kMaxQuotedValue = 160;

// `value` as printable ASCII, at most `max_length` characters; a cut ends in
// "...".
std::string printable(std::string_view value, std::size_t max_length = kMaxQuotedValue);

// printable(value) in double quotes; an empty value reads `""`.
std::string quote(std::string_view value, std::size_t max_length = kMaxQuotedValue);

// `text` cut to api::kMaxFindingTextLength (a cut ends in "..."). `text` is
// expected to be built from printable()/quote() pieces already.
std::string bounded(std::string text);

// "a, b, c"; past `max_items` items or `max_chars` characters the rest is
// counted: "a, b and 3 more" (the count survives bounded()).
inline constexpr std::size_t kMaxListChars = 640;
std::string joinList(const std::vector<std::string>& items, std::size_t max_items = 16,
                     std::size_t max_chars = kMaxListChars);

// Whitespace trimmed at both ends, and the form in which kernel strings and
// boot ids compare (lower case, inner whitespace as one space): the probe's
// own helpers (probe/parse.h), one definition for the probe and the verdict.
using probe::normalized;
using probe::trim;

// The names of the capabilities in `mask`, by bit order: "CAP_CHOWN", ...
// Bits without a name read "CAP_<bit>" (e.g. "CAP_63").
std::vector<std::string> capabilityNames(std::uint64_t mask);

// "0x00000000a80425fb"
std::string hexMask(std::uint64_t mask);

}  // namespace zp::agent::verdict_detail

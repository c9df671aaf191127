#pragma once
// Percent-encoding (RFC 3986) for path segments and query strings. Pure.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zp::cli {

// Encodes every byte outside the unreserved set [A-Za-z0-9-._~] as %XX
// (uppercase hex), so the result is safe as one path segment or query value.
std::string percentEncode(std::string_view text);

// "?k1=v1&k2=v2" with keys and values encoded, in the given order; "" when
// `params` is empty.
std::string buildQuery(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace zp::cli

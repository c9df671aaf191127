#pragma once
// Parsing JSON that comes from outside (API bodies, requests to the agent;
// the server reads an authenticated agent's replies with nlohmann's parser).
// Stricter than nlohmann's defaults: a key repeated within one object is an
// error (nlohmann keeps the last value silently, so two readers of the same
// bytes could disagree about what was asked), and objects and arrays nest at
// most kMaxJsonDepth deep (no document zoneplane reads comes near it; the
// limit keeps a hostile body from costing the parser seconds).

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/status.h"

namespace zp::api {

inline constexpr std::size_t kMaxJsonDepth = 64;

// kInvalidArgument "malformed JSON: …" for a syntax error, or "duplicate key
// \"k\" in a JSON object" with field = the key; "malformed JSON: nested
// deeper than 64 levels" past kMaxJsonDepth.
Result<nlohmann::json> parseStrictJson(std::string_view text);

}  // namespace zp::api

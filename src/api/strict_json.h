#pragma once
// Parsing JSON that comes from outside (API bodies, agent protocol lines).
// Stricter than nlohmann's defaults: a key repeated within one object is an
// error (nlohmann keeps the last value silently, so two readers of the same
// bytes could disagree about what was asked).

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/status.h"

namespace zp::api {

// kInvalidArgument "malformed JSON: …" for a syntax error, or "duplicate key
// \"k\" in a JSON object" with field = the key.
Result<nlohmann::json> parseStrictJson(std::string_view text);

}  // namespace zp::api

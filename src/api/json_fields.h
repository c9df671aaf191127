#pragma once
// Strict field readers for decoding JSON objects, shared by the api and the
// protocol decoders. Each reports the full field path in its error.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace zp::api::fields {

// Fails when `j` is not an object or has a key outside `known`.
Status requireObject(const nlohmann::json& j, std::string_view what,
                     std::initializer_list<std::string_view> known, std::string_view prefix);

// Each reader: absent key -> nullopt; present with the wrong type -> error.
Result<std::optional<std::string>> optString(const nlohmann::json& j, std::string_view key,
                                             std::string_view prefix);
Result<std::optional<std::int64_t>> optInt(const nlohmann::json& j, std::string_view key,
                                           std::string_view prefix);
Result<std::optional<std::vector<std::string>>> optStringList(const nlohmann::json& j,
                                                              std::string_view key,
                                                              std::string_view prefix);
Result<std::optional<std::map<std::string, std::string>>> optStringMap(
    const nlohmann::json& j, std::string_view key, std::string_view prefix);

// Like optString but absent is an error.
Result<std::string> reqString(const nlohmann::json& j, std::string_view key,
                              std::string_view prefix);

}  // namespace zp::api::fields

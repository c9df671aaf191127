#include "api/json_fields.h"

#include <algorithm>

namespace zp::api::fields {
namespace {
std::string path(std::string_view prefix, std::string_view key) {
  return std::string(prefix) + std::string(key);
}
const char* typeName(const nlohmann::json& j) { return j.type_name(); }
}  // namespace

Status requireObject(const nlohmann::json& j, std::string_view what,
                     std::initializer_list<std::string_view> known, std::string_view prefix) {
  if (!j.is_object()) {
    return fail(Code::kInvalidArgument,
                std::string(what) + " must be a JSON object, got " + typeName(j),
                prefix.empty() ? std::string{} : std::string(prefix.substr(0, prefix.size() - 1)));
  }
  for (const auto& [key, value] : j.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string list;
      for (auto k : known) {
        if (!list.empty()) list += ", ";
        list += k;
      }
      return fail(Code::kInvalidArgument,
                  "unknown field \"" + path(prefix, key) + "\" in " + std::string(what) +
                      " (known fields: " + list + ")",
                  path(prefix, key));
    }
  }
  return ok();
}

Result<std::optional<std::string>> optString(const nlohmann::json& j, std::string_view key,
                                             std::string_view prefix) {
  auto it = j.find(key);
  if (it == j.end()) return std::optional<std::string>{};
  if (!it->is_string()) {
    return fail(Code::kInvalidArgument,
                "field \"" + path(prefix, key) + "\" must be a string, got " + typeName(*it),
                path(prefix, key));
  }
  return std::optional<std::string>{it->get<std::string>()};
}

Result<std::string> reqString(const nlohmann::json& j, std::string_view key,
                              std::string_view prefix) {
  auto s = optString(j, key, prefix);
  if (!s) return fail(s.error());
  if (!*s) {
    return fail(Code::kInvalidArgument, "missing required field \"" + path(prefix, key) + "\"",
                path(prefix, key));
  }
  return **s;
}

Result<std::optional<std::int64_t>> optInt(const nlohmann::json& j, std::string_view key,
                                           std::string_view prefix) {
  auto it = j.find(key);
  if (it == j.end()) return std::optional<std::int64_t>{};
  if (it->is_number_integer()) {
    if (it->is_number_unsigned() && it->get<std::uint64_t>() > INT64_MAX) {
      return fail(Code::kInvalidArgument, "field \"" + path(prefix, key) + "\" is out of range",
                  path(prefix, key));
    }
    return std::optional<std::int64_t>{it->get<std::int64_t>()};
  }
  if (it->is_number_float()) {
    return fail(Code::kInvalidArgument,
                "field \"" + path(prefix, key) + "\" must be a whole number, got " + it->dump(),
                path(prefix, key));
  }
  return fail(Code::kInvalidArgument,
              "field \"" + path(prefix, key) + "\" must be an integer, got " + typeName(*it),
              path(prefix, key));
}

Result<std::optional<std::vector<std::string>>> optStringList(const nlohmann::json& j,
                                                              std::string_view key,
                                                              std::string_view prefix) {
  using Out = std::optional<std::vector<std::string>>;
  auto it = j.find(key);
  if (it == j.end()) return Out{};
  if (!it->is_array()) {
    return fail(Code::kInvalidArgument,
                "field \"" + path(prefix, key) + "\" must be a list of strings, got " +
                    typeName(*it),
                path(prefix, key));
  }
  std::vector<std::string> out;
  out.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& item = (*it)[i];
    if (!item.is_string()) {
      const auto p = path(prefix, key) + "[" + std::to_string(i) + "]";
      return fail(Code::kInvalidArgument,
                  "field \"" + p + "\" must be a string, got " + typeName(item), p);
    }
    out.push_back(item.get<std::string>());
  }
  return Out{std::move(out)};
}

Result<std::optional<std::map<std::string, std::string>>> optStringMap(
    const nlohmann::json& j, std::string_view key, std::string_view prefix) {
  using Out = std::optional<std::map<std::string, std::string>>;
  auto it = j.find(key);
  if (it == j.end()) return Out{};
  if (!it->is_object()) {
    return fail(Code::kInvalidArgument,
                "field \"" + path(prefix, key) + "\" must be an object of strings, got " +
                    typeName(*it),
                path(prefix, key));
  }
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) {
      const auto p = path(prefix, key) + "." + k;
      return fail(Code::kInvalidArgument,
                  "field \"" + p + "\" must be a string, got " + typeName(v), p);
    }
    out.emplace(k, v.get<std::string>());
  }
  return Out{std::move(out)};
}

}  // namespace zp::api::fields

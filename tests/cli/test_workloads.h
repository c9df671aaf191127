#pragma once
// Canned server replies (docs/architecture.md §7 shapes) for CLI tests.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace zp::cli::testing {

inline nlohmann::json workloadJson(const std::string& id, const std::string& state,
                                   const std::string& reason = "", const std::string& message = "",
                                   std::optional<int> exit_code = std::nullopt) {
  nlohmann::json status{{"id", id},         {"state", state},
                        {"reason", reason}, {"message", message},
                        {"node", "node-1"}, {"created_at", "2026-11-29T13:40:31.123Z"}};
  if (exit_code) status["exit_code"] = *exit_code;
  return {{"spec",
           {{"id", id},
            {"image", "busybox:1.36"},
            {"runtime_class", "native"},
            {"memory_mb", 128},
            {"cpu_millicores", 250}}},
          {"status", status}};
}

inline std::string errorBody(const std::string& code, const std::string& message,
                             const std::string& field = "") {
  nlohmann::json error{{"code", code}, {"message", message}};
  if (!field.empty()) error["field"] = field;
  return nlohmann::json{{"error", error}}.dump();
}

}  // namespace zp::cli::testing

#pragma once
// Small pieces the workload_service*.cc files share: constants, predicates on
// records, error values, list positions. Internal to the WorkloadService.

#include <charconv>
#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "api/validate.h"
#include "api/workload.h"
#include "common/status.h"
#include "protocol/messages.h"
#include "server/workloads/workload_table.h"
#include "store/store.h"

namespace zp::server::service_detail {

using store::WorkloadRecord;

inline constexpr int kGeneratedIdAttempts = 5;
// Rounds of re-checking a resync's listed copies after its fences (§8.6).
inline constexpr int kResyncRechecks = 3;
// Grace a fenced copy gets between SIGTERM and SIGKILL (a drained one: the default too).
inline constexpr std::chrono::seconds kFenceGrace{protocol::kDefaultStopTimeoutSeconds};

// `text` (its first 80 bytes) in double quotes. Built by appending: GCC 12
// warns falsely (-Wrestrict) on `"\"" + std::string(...)` once inlined.
inline std::string quoted(std::string_view text) {
  text = text.substr(0, 80);
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  out += text;
  out += '"';
  return out;
}

inline std::string seconds(std::chrono::milliseconds wait) {
  return std::to_string((wait.count() + 999) / 1000) + "s";
}

inline bool isFinal(const WorkloadRecord& record) { return api::isTerminal(record.status.state); }
inline bool isPlaced(const WorkloadRecord& record) { return !record.status.node.empty(); }

using api::endedByServer;

inline bool reschedules(const api::WorkloadSpec& spec) {
  return spec.restart_policy != api::RestartPolicy::kNever;
}

inline std::unexpected<Error> alreadyExists(const std::string& id) {
  return fail(Code::kAlreadyExists, "workload " + quoted(id) + " already exists", "id");
}

// What a caller is told when the store failed a write: kStorageFull when its
// disk is full (HTTP 507: a retry helps only once space returns), kUnavailable
// otherwise; `message` says what was (not) done.
inline std::unexpected<Error> storeFailed(const Error& cause, std::string message) {
  return fail(cause.code == Code::kStorageFull ? Code::kStorageFull : Code::kUnavailable,
              std::move(message));
}

inline std::unexpected<Error> notFound(std::string_view id) {
  return fail(Code::kNotFound, "no workload " + quoted(id));
}

// The continue token of a list position: "<created_at ns>.<id>" (ids have no '.').
inline std::string encodePosition(const WorkloadTable::OrderKey& key) {
  return std::to_string(key.first.time_since_epoch().count()) + "." + key.second;
}

inline std::optional<WorkloadTable::OrderKey> decodePosition(std::string_view token) {
  const auto dot = token.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  TimePoint::rep ticks = 0;
  const char* end = token.data() + dot;
  auto [ptr, ec] = std::from_chars(token.data(), end, ticks);
  if (ec != std::errc{} || ptr != end || ticks < 0) return std::nullopt;  // never negative
  std::string id(token.substr(dot + 1));
  if (!api::isDns1123Label(id)) return std::nullopt;
  return WorkloadTable::OrderKey{TimePoint{TimePoint::duration{ticks}}, std::move(id)};
}

}  // namespace zp::server::service_detail

// JSON form of a class's verification (api/isolation.h): agent -> server in
// NodeInfo replies, server -> clients in node views.

#include "api/isolation.h"
#include "api/json.h"

namespace zp::api {

using nlohmann::json;

json toJson(const Finding& f) {
  return json{{"id", f.id},
              {"severity", severityName(f.severity)},
              {"evidence", f.evidence},
              {"remedy", f.remedy}};
}

json toJson(const ClassIsolation& c) {
  json findings = json::array();
  for (const auto& f : c.findings) findings.push_back(toJson(f));
  json j{{"runtime_class", c.runtime_class},
         {"level", isolationLevelName(c.level)},
         {"score", c.score},
         {"quarantined", c.quarantined()},
         {"findings", std::move(findings)}};
  if (c.claim) j["claim"] = isolationLevelName(*c.claim);
  if (c.verified_at) j["verified_at"] = formatRfc3339(*c.verified_at);
  if (!c.probe_version.empty()) j["probe_version"] = c.probe_version;
  if (c.attempted_at) j["attempted_at"] = formatRfc3339(*c.attempted_at);
  if (!c.error.empty()) j["error"] = c.error;
  return j;
}

namespace {

Error bad(std::string field, std::string what) {
  return Error{Code::kInvalidArgument, "isolation: " + field + " " + what, "isolation." + field};
}

// A string member: absent -> "", too long or not a string -> error.
Result<std::string> text(const json& j, const char* key, std::size_t max) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string{};
  if (!it->is_string()) return fail(bad(key, "must be a string"));
  auto value = it->get<std::string>();
  if (value.size() > max) return fail(bad(key, "is longer than " + std::to_string(max) + " bytes"));
  return value;
}

Result<std::optional<TimePoint>> time(const json& j, const char* key) {
  auto value = text(j, key, 64);
  if (!value) return fail(value.error());
  if (value->empty()) return std::optional<TimePoint>{};
  auto t = parseRfc3339(*value);
  if (!t) return fail(bad(key, "is not an RFC 3339 time"));
  return std::optional<TimePoint>{*t};
}

bool isFindingId(std::string_view id) {
  if (id.empty() || id.size() > kMaxFindingIdLength) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

Result<Finding> findingFromJson(const json& j) {
  if (!j.is_object()) return fail(bad("findings", "items must be objects"));
  Finding f;
  auto id = text(j, "id", kMaxFindingIdLength);
  if (!id) return fail(id.error());
  if (!isFindingId(*id)) return fail(bad("findings.id", "must be 1-64 of [a-z0-9-]"));
  f.id = std::move(*id);
  auto severity = text(j, "severity", 16);
  if (!severity) return fail(severity.error());
  auto parsed = parseSeverity(*severity);
  if (!parsed) return fail(bad("findings.severity", "must be info, low, medium or high"));
  f.severity = *parsed;
  auto evidence = text(j, "evidence", kMaxFindingTextLength);
  if (!evidence) return fail(evidence.error());
  f.evidence = std::move(*evidence);
  auto remedy = text(j, "remedy", kMaxFindingTextLength);
  if (!remedy) return fail(remedy.error());
  f.remedy = std::move(*remedy);
  return f;
}

}  // namespace

Result<ClassIsolation> classIsolationFromJson(const json& j) {
  if (!j.is_object()) return fail(bad("", "items must be objects"));
  ClassIsolation c;
  auto cls = text(j, "runtime_class", 63);
  if (!cls) return fail(cls.error());
  if (cls->empty()) return fail(bad("runtime_class", "is required"));
  c.runtime_class = std::move(*cls);

  auto level = text(j, "level", 32);
  if (!level) return fail(level.error());
  auto parsed = parseIsolationLevel(*level);
  if (!parsed) return fail(bad("level", "must be unverified, shared-kernel, application-kernel or hypervisor"));
  c.level = *parsed;

  auto claim = text(j, "claim", 32);
  if (!claim) return fail(claim.error());
  if (!claim->empty()) {
    c.claim = parseIsolationClaim(*claim);
    if (!c.claim) return fail(bad("claim", "must be shared-kernel, application-kernel or hypervisor"));
  }

  if (auto it = j.find("score"); it != j.end()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > 100) {
      return fail(bad("score", "must be an integer 0-100"));
    }
    c.score = it->get<int>();
  }

  if (auto it = j.find("findings"); it != j.end() && !it->is_null()) {
    if (!it->is_array() || it->size() > kMaxFindings) {
      return fail(bad("findings", "must be an array of at most " + std::to_string(kMaxFindings)));
    }
    for (const auto& item : *it) {
      auto f = findingFromJson(item);
      if (!f) return fail(f.error());
      c.findings.push_back(std::move(*f));
    }
  }

  auto verified = time(j, "verified_at");
  if (!verified) return fail(verified.error());
  c.verified_at = *verified;
  auto attempted = time(j, "attempted_at");
  if (!attempted) return fail(attempted.error());
  c.attempted_at = *attempted;
  auto version = text(j, "probe_version", 64);
  if (!version) return fail(version.error());
  c.probe_version = std::move(*version);
  auto error = text(j, "error", kMaxIsolationErrorLength);
  if (!error) return fail(error.error());
  c.error = std::move(*error);
  return c;
}

}  // namespace zp::api

#include "api/validate.h"

#include <string>

#include "api/chars.h"
#include "api/image_ref.h"

namespace zp::api {

bool isDns1123Label(std::string_view s) {
  if (s.empty() || s.size() > kMaxIdLength) return false;
  if (!isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) return false;
  for (char c : s) {
    if (!isLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

Status validateImageReference(std::string_view image) {
  auto parsed = parseImageReference(image);
  if (!parsed) return fail(parsed.error());
  return ok();
}

namespace {
bool isEnvName(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return false;
  for (char c : s) {
    if (!isWord(c)) return false;
  }
  return true;
}

bool hasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

Status validateList(const std::vector<std::string>& items, const char* field) {
  if (items.size() > kMaxListItems) {
    return fail(Code::kInvalidArgument,
                std::string(field) + " has more than " + std::to_string(kMaxListItems) + " entries",
                field);
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].size() > kMaxStringBytes || hasNul(items[i])) {
      const std::string f = std::string(field) + "[" + std::to_string(i) + "]";
      return fail(Code::kInvalidArgument,
                  f + " must be at most " + std::to_string(kMaxStringBytes) +
                      " bytes with no NUL character",
                  f);
    }
  }
  return ok();
}

Status validateRange(std::int64_t value, std::int64_t lo, std::int64_t hi, const char* field) {
  if (value < lo || value > hi) {
    return fail(Code::kInvalidArgument,
                std::string(field) + " must be between " + std::to_string(lo) + " and " +
                    std::to_string(hi) + ", got " + std::to_string(value),
                field);
  }
  return ok();
}
}  // namespace

Status validateWorkloadSpec(const WorkloadSpec& spec) {
  if (spec.id.empty()) return fail(Code::kInvalidArgument, "id is required", "id");
  if (!isDns1123Label(spec.id)) {
    return fail(Code::kInvalidArgument,
                "id \"" + spec.id.substr(0, 80) +
                    "\" must be a DNS-1123 label: lowercase letters, digits and '-', starting "
                    "and ending with a letter or digit, at most 63 characters",
                "id");
  }
  if (auto s = validateImageReference(spec.image); !s) return s;
  if (!spec.runtime_class.empty() && !isDns1123Label(spec.runtime_class)) {
    return fail(Code::kInvalidArgument,
                "runtime_class \"" + spec.runtime_class.substr(0, 80) +
                    "\" must be a DNS-1123 label",
                "runtime_class");
  }
  if (auto s = validateRange(spec.memory_mb, kMinMemoryMb, kMaxMemoryMb, "memory_mb"); !s) return s;
  if (auto s = validateRange(spec.cpu_millicores, kMinCpuMillicores, kMaxCpuMillicores,
                             "cpu_millicores");
      !s)
    return s;
  if (auto s = validateList(spec.command, "command"); !s) return s;
  if (auto s = validateList(spec.args, "args"); !s) return s;
  if (spec.env.size() > kMaxEnvEntries) {
    return fail(Code::kInvalidArgument,
                "env has more than " + std::to_string(kMaxEnvEntries) + " entries", "env");
  }
  for (const auto& [name, value] : spec.env) {
    if (!isEnvName(name)) {
      return fail(Code::kInvalidArgument,
                  "env name \"" + name.substr(0, 80) +
                      "\" must match [A-Za-z_][A-Za-z0-9_]* (at most 256 characters)",
                  "env." + name.substr(0, 80));
    }
    if (value.size() > kMaxStringBytes || hasNul(value)) {
      return fail(Code::kInvalidArgument,
                  "env value of \"" + name + "\" must be at most " +
                      std::to_string(kMaxStringBytes) + " bytes with no NUL character",
                  "env." + name);
    }
  }
  if (const auto bytes = payloadBytes(spec); bytes > kMaxPayloadBytes) {
    return fail(Code::kInvalidArgument,
                "command, args and env together are " + std::to_string(bytes) +
                    " bytes; at most " + std::to_string(kMaxPayloadBytes) + " are allowed",
                spec.env.empty() ? (spec.args.empty() ? "command" : "args") : "env");
  }
  return validateSecurity(spec.security);
}

std::size_t payloadBytes(const WorkloadSpec& spec) {
  std::size_t total = 0;
  for (const auto& c : spec.command) total += c.size();
  for (const auto& a : spec.args) total += a.size();
  for (const auto& [name, value] : spec.env) total += name.size() + value.size();
  return total;
}

bool isBaselineCapability(std::string_view name) {
  for (auto c : kBaselineCapabilities) {
    if (c == name) return true;
  }
  return false;
}

Status validateSecurity(const SecuritySpec& security) {
  if (auto s = validateRange(security.pids_limit, kMinPidsLimit, kMaxPidsLimit,
                             "security.pids_limit");
      !s) {
    return s;
  }
  const bool restricted = security.profile == Profile::kRestricted;
  const auto checkId = [&](const std::optional<std::int64_t>& value, const char* field,
                           const char* what) -> Status {
    if (!value) return ok();
    if (auto s = validateRange(*value, 0, kMaxUserId, field); !s) return s;
    if (restricted && *value == 0) {
      return fail(Code::kInvalidArgument,
                  std::string(field) + " 0 is " + what +
                      "; the restricted profile never runs as root (use profile \"baseline\" "
                      "for an image that needs it)",
                  field);
    }
    return ok();
  };
  if (auto s = checkId(security.run_as_user, "security.run_as_user", "root"); !s) return s;
  if (auto s = checkId(security.run_as_group, "security.run_as_group", "the root group"); !s) {
    return s;
  }
  if (security.capabilities_add.size() > std::size(kBaselineCapabilities)) {
    return fail(Code::kInvalidArgument, "security.capabilities_add has too many entries",
                "security.capabilities_add");
  }
  for (std::size_t i = 0; i < security.capabilities_add.size(); ++i) {
    const std::string& cap = security.capabilities_add[i];
    const std::string field = "security.capabilities_add[" + std::to_string(i) + "]";
    const std::string shown = "\"" + cap.substr(0, 40) + "\"";
    if (cap.starts_with("CAP_")) {
      return fail(Code::kInvalidArgument,
                  "capability " + shown + " must be named without the CAP_ prefix (e.g. " +
                      cap.substr(4, 40) + ")",
                  field);
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (security.capabilities_add[j] == cap) {
        return fail(Code::kInvalidArgument, "capability " + shown + " is listed twice", field);
      }
    }
    if (restricted && cap != "NET_BIND_SERVICE") {
      return fail(Code::kInvalidArgument,
                  "capability " + shown +
                      " is not allowed by the restricted profile, which may add only "
                      "NET_BIND_SERVICE",
                  field);
    }
    if (!isBaselineCapability(cap)) {
      std::string allowed;
      for (auto c : kBaselineCapabilities) allowed += (allowed.empty() ? "" : ", ") + std::string(c);
      return fail(Code::kInvalidArgument,
                  "capability " + shown + " is not allowed by the baseline profile (allowed: " +
                      allowed + ")",
                  field);
    }
  }
  return ok();
}

}  // namespace zp::api

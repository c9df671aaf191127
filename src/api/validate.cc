#include "api/validate.h"

#include <string>

namespace zp::api {
namespace {

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnum(char c) { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool isWord(char c) { return isAlnum(c) || c == '_'; }
bool isHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// path-component := [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
bool isPathComponent(std::string_view s) {
  std::size_t i = 0;
  const auto alnumRun = [&] {
    const std::size_t start = i;
    while (i < s.size() && isLowerAlnum(s[i])) ++i;
    return i > start;
  };
  if (!alnumRun()) return false;
  while (i < s.size()) {
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < s.size() && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      while (i < s.size() && s[i] == '-') ++i;
    } else {
      return false;
    }
    if (!alnumRun()) return false;
  }
  return true;
}

// domain := host-component ('.' host-component)* (':' port)?
bool isDomain(std::string_view s) {
  const auto colon = s.find(':');
  std::string_view host = s.substr(0, colon);
  if (colon != std::string_view::npos) {
    const auto port = s.substr(colon + 1);
    if (port.empty() || port.size() > 5) return false;
    for (char c : port) {
      if (c < '0' || c > '9') return false;
    }
  }
  if (host.empty()) return false;
  std::size_t start = 0;
  while (start <= host.size()) {
    auto dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    const auto part = host.substr(start, dot - start);
    if (part.empty() || !isAlnum(part.front()) || !isAlnum(part.back())) return false;
    for (char c : part) {
      if (!isAlnum(c) && c != '-') return false;
    }
    start = dot + 1;
  }
  return true;
}

bool isTag(std::string_view s) {
  if (s.empty() || s.size() > 128 || !isWord(s.front())) return false;
  for (char c : s) {
    if (!isWord(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool isDigest(std::string_view s) {
  const auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const auto algorithm = s.substr(0, colon);
  const auto encoded = s.substr(colon + 1);
  for (char c : algorithm) {
    if (!isLowerAlnum(c) && c != '+' && c != '.' && c != '_' && c != '-') return false;
  }
  if (!isLowerAlnum(algorithm.front()) || !isLowerAlnum(algorithm.back())) return false;
  if (algorithm == "sha256" || algorithm == "sha512") {
    const std::size_t want = algorithm == "sha256" ? 64 : 128;
    if (encoded.size() != want) return false;
    for (char c : encoded) {
      if (!isHex(c)) return false;
    }
    return true;
  }
  if (encoded.size() < 32) return false;
  for (char c : encoded) {
    if (!isAlnum(c) && c != '=' && c != '_' && c != '-') return false;
  }
  return true;
}

Status imageError(std::string what) {
  return fail(Code::kInvalidArgument, "invalid image reference: " + std::move(what), "image");
}

}  // namespace

bool isDns1123Label(std::string_view s) {
  if (s.empty() || s.size() > kMaxIdLength) return false;
  if (!isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) return false;
  for (char c : s) {
    if (!isLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

Status validateImageReference(std::string_view image) {
  if (image.empty()) return fail(Code::kInvalidArgument, "image is required", "image");
  // Bounded before any parsing: name (255) + ':' tag (128) + '@' digest (~140).
  if (image.size() > 530) return imageError("longer than any valid reference");
  std::string_view rest = image;
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    if (!isDigest(rest.substr(at + 1))) {
      return imageError("digest \"" + std::string(rest.substr(at + 1)) +
                        "\" is not algorithm:hex (e.g. sha256:<64 hex digits>)");
    }
    rest = rest.substr(0, at);
  }
  const auto last_slash = rest.rfind('/');
  const auto tag_colon = rest.rfind(':');
  if (tag_colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || tag_colon > last_slash)) {
    const auto tag = rest.substr(tag_colon + 1);
    if (!isTag(tag)) {
      return imageError("tag \"" + std::string(tag) +
                        "\" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    }
    rest = rest.substr(0, tag_colon);
  }
  if (rest.empty()) return imageError("missing repository name");
  if (rest.size() > kMaxImageNameLength) {
    return imageError("name is longer than " + std::to_string(kMaxImageNameLength) + " characters");
  }
  std::string_view path = rest;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    const auto first = rest.substr(0, slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
        first.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos) {
      if (!isDomain(first)) {
        return imageError("registry host \"" + std::string(first) + "\" is not host[:port]");
      }
      path = rest.substr(slash + 1);
    }
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    const auto component = path.substr(start, slash - start);
    if (!isPathComponent(component)) {
      return imageError("repository component \"" + std::string(component) +
                        "\" must be lowercase letters and digits separated by '.', '_', '__' "
                        "or '-'");
    }
    start = slash + 1;
  }
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
  if (spec.runtime_class.empty()) {
    return fail(Code::kInvalidArgument, "runtime_class is required", "runtime_class");
  }
  if (!isDns1123Label(spec.runtime_class)) {
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
  return ok();
}

}  // namespace zp::api

// The /proc/self/mountinfo and cgroup parsers of probe/parse.h.


#include "probe/parse.h"

namespace zp::probe {
namespace {

std::vector<std::string_view> splitSpaces(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool isOctal(char c) { return c >= '0' && c <= '7'; }

// Next line of `text` (without '\n'); advances `text`.
std::string_view nextLine(std::string_view& text) {
  std::size_t eol = text.find('\n');
  std::string_view line = text.substr(0, eol);
  text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
  return line;
}

// Joins "/a" and "b/c" with exactly one slash.
std::string joinPath(std::string_view base, std::string_view rest) {
  std::string out(base);
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  if (rest.empty()) return out;
  if (out.empty() || out.back() != '/') out.push_back('/');
  out.append(rest);
  return out;
}

}  // namespace

std::string unescapeMountField(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && isOctal(field[i + 1]) &&
        isOctal(field[i + 2]) && isOctal(field[i + 3])) {
      int value = (field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0');
      if (value <= 0xFF) {
        out.push_back(static_cast<char>(value));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

std::vector<MountInfoEntry> parseMountInfo(std::string_view text, std::size_t max_entries,
                                           std::size_t* skipped) {
  std::vector<MountInfoEntry> mounts;
  std::size_t over = 0;
  while (!text.empty()) {
    std::string_view line = nextLine(text);
    std::vector<std::string_view> f = splitSpaces(line);
    // id parent major:minor root mount-point options [optional...] - type source super-options
    if (f.size() < 9) continue;
    std::size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 2 >= f.size()) continue;  // no "-", or no type and source after it
    if (mounts.size() >= max_entries) {
      ++over;
      continue;
    }
    MountInfoEntry entry;
    entry.root = unescapeMountField(f[3]);
    entry.mount_point = unescapeMountField(f[4]);
    entry.mount_options = std::string(f[5]);
    entry.fs_type = unescapeMountField(f[dash + 1]);
    entry.source = unescapeMountField(f[dash + 2]);
    if (dash + 3 < f.size()) entry.super_options = unescapeMountField(f[dash + 3]);
    mounts.push_back(std::move(entry));
  }
  if (skipped != nullptr) *skipped = over;
  return mounts;
}

bool hasMountOption(std::string_view options, std::string_view option) {
  while (!options.empty()) {
    std::size_t comma = options.find(',');
    if (options.substr(0, comma) == option) return true;
    if (comma == std::string_view::npos) break;
    options.remove_prefix(comma + 1);
  }
  return false;
}

const MountInfoEntry* mountContaining(const std::vector<MountInfoEntry>& mounts,
                                      std::string_view path) {
  const MountInfoEntry* best = nullptr;
  for (const auto& m : mounts) {
    std::string_view point = m.mount_point;
    bool contains = false;
    if (point == "/") {
      contains = !path.empty() && path.front() == '/';
    } else if (path.starts_with(point)) {
      contains = path.size() == point.size() || path[point.size()] == '/';
    }
    if (contains && (best == nullptr || point.size() >= best->mount_point.size())) best = &m;
  }
  return best;
}

std::vector<CgroupLine> parseProcCgroup(std::string_view text) {
  std::vector<CgroupLine> lines;
  while (!text.empty() && lines.size() < 64) {
    std::string_view line = nextLine(text);
    std::size_t first = line.find(':');
    if (first == std::string_view::npos) continue;
    std::size_t second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    CgroupLine entry;
    entry.hierarchy_id = std::string(line.substr(0, first));
    std::string_view controllers = line.substr(first + 1, second - first - 1);
    while (!controllers.empty()) {
      std::size_t comma = controllers.find(',');
      std::string_view c = controllers.substr(0, comma);
      if (!c.empty()) entry.controllers.emplace_back(c);
      if (comma == std::string_view::npos) break;
      controllers.remove_prefix(comma + 1);
    }
    entry.path = std::string(line.substr(second + 1));
    lines.push_back(std::move(entry));
  }
  return lines;
}

int cgroupVersion(const std::vector<CgroupLine>& lines) {
  bool v1 = false, v2 = false;
  for (const auto& l : lines) {
    if (l.hierarchy_id == "0" && l.controllers.empty()) {
      v2 = true;
    } else if (!l.controllers.empty()) {
      // "name=systemd" alone is a named v1 hierarchy without resource controllers.
      for (const auto& c : l.controllers) {
        if (!c.starts_with("name=")) v1 = true;
      }
    }
  }
  if (v1) return 1;
  if (v2) return 2;
  return 0;
}

std::string cgroupDirectory(std::string_view mount_point, std::string_view mount_root,
                            std::string_view path) {
  if (mount_root == "/") return joinPath(mount_point, path);
  if (path.starts_with(mount_root) &&
      (path.size() == mount_root.size() || path[mount_root.size()] == '/')) {
    return joinPath(mount_point, path.substr(mount_root.size()));
  }
  return std::string(mount_point);
}

std::optional<std::string> normalizeMemoryLimitV1(std::string_view text) {
  auto value = decimal(trim(text));
  if (!value || *value < 0) return std::nullopt;
  if (*value >= (std::int64_t{1} << 62)) return std::string("max");
  return std::to_string(*value);
}

std::optional<std::string> normalizeMaxOrNumber(std::string_view text) {
  text = trim(text);
  if (text == "max") return std::string("max");
  auto value = decimal(text);
  if (!value || *value < 0) return std::nullopt;
  return std::to_string(*value);
}

std::optional<std::string> normalizeCpuMaxV2(std::string_view text) {
  std::vector<std::string_view> f = splitSpaces(trim(text));
  if (f.size() != 2) return std::nullopt;
  auto period = decimal(trim(f[1]));
  if (!period || *period <= 0) return std::nullopt;
  if (f[0] == "max") return "max " + std::to_string(*period);
  auto quota = decimal(trim(f[0]));
  if (!quota || *quota <= 0) return std::nullopt;
  return std::to_string(*quota) + " " + std::to_string(*period);
}

std::optional<std::string> normalizeCpuV1(std::string_view quota_text,
                                          std::string_view period_text) {
  auto quota = decimal(trim(quota_text));
  auto period = decimal(trim(period_text));
  if (!quota || !period || *period <= 0) return std::nullopt;
  if (*quota < 0) return "max " + std::to_string(*period);
  if (*quota == 0) return std::nullopt;
  return std::to_string(*quota) + " " + std::to_string(*period);
}

}  // namespace zp::probe

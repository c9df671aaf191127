// Text helpers and the /proc/self/status, /proc/PID/cmdline and /proc/net/dev
// parsers of probe/parse.h.

#include <algorithm>
#include <charconv>

#include "probe/parse.h"

namespace zp::probe {
namespace {

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '\0';
}

// Splits on runs of spaces and tabs.
std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

std::optional<std::uint64_t> hex64(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Length of the valid UTF-8 sequence starting at text[i], 0 if invalid.
std::size_t utf8Length(std::string_view text, std::size_t i) {
  const auto b = static_cast<unsigned char>(text[i]);
  std::size_t n = 0;
  std::uint32_t min = 0;
  if (b < 0x80) return 1;
  if ((b & 0xE0) == 0xC0) {
    n = 2;
    min = 0x80;
  } else if ((b & 0xF0) == 0xE0) {
    n = 3;
    min = 0x800;
  } else if ((b & 0xF8) == 0xF0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  std::uint32_t cp = b & (0x7F >> n);
  for (std::size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(text[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

std::optional<std::int64_t> decimal(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && isSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && isSpace(text.back())) text.remove_suffix(1);
  return text;
}

std::string normalized(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : trim(text)) {
    if (isSpace(c)) {
      space = true;
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

std::string sanitizeText(std::string_view text, std::size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max));
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t n = utf8Length(text, i);
    const auto byte = static_cast<unsigned char>(text[i]);
    if (n == 0 || byte < 0x20 || byte == 0x7F) {  // invalid, or an ASCII control character
      if (out.size() + 1 > max) break;
      out.push_back('?');
      ++i;
      continue;
    }
    if (out.size() + n > max) break;
    out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

ProcStatus parseProcStatus(std::string_view text) {
  ProcStatus status;
  while (!text.empty()) {
    std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::vector<std::string_view> values = words(line.substr(colon + 1));
    if (key == "Uid" || key == "Gid") {
      if (values.size() < 2) continue;
      auto real = decimal(values[0]);
      auto effective = decimal(values[1]);
      if (!real || !effective) continue;
      (key == "Uid" ? status.uid : status.gid) = *real;
      (key == "Uid" ? status.euid : status.egid) = *effective;
    } else if (key == "Groups") {
      status.groups.clear();
      for (auto v : values) {
        if (status.groups.size() >= kMaxGroups) break;
        if (auto g = decimal(v)) status.groups.push_back(*g);
      }
    } else if (key == "CapInh" || key == "CapPrm" || key == "CapEff" || key == "CapBnd" ||
               key == "CapAmb") {
      if (values.size() != 1) continue;
      auto mask = hex64(values[0]);
      if (!mask) continue;
      if (key == "CapInh") status.cap_inheritable = mask;
      if (key == "CapPrm") status.cap_permitted = mask;
      if (key == "CapEff") status.cap_effective = mask;
      if (key == "CapBnd") status.cap_bounding = mask;
      if (key == "CapAmb") status.cap_ambient = mask;
    } else if (key == "Seccomp") {
      if (values.size() != 1) continue;
      auto mode = decimal(values[0]);
      if (mode && *mode >= 0 && *mode <= 2) status.seccomp = static_cast<int>(*mode);
    } else if (key == "NoNewPrivs") {
      if (values.size() != 1) continue;
      if (values[0] == "0") status.no_new_privs = false;
      if (values[0] == "1") status.no_new_privs = true;
    }
  }
  return status;
}

std::string cmdlineText(std::string_view raw, std::size_t max) {
  while (!raw.empty() && raw.back() == '\0') raw.remove_suffix(1);
  std::string spaced(raw);
  for (char& c : spaced) {
    if (c == '\0') c = ' ';
  }
  return sanitizeText(spaced, max);
}

std::vector<std::string> parseProcNetDev(std::string_view text, std::size_t max) {
  std::vector<std::string> names;
  int line_number = 0;
  while (!text.empty() && names.size() < max) {
    std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (++line_number <= 2) continue;  // "Inter-|   Receive ..." and " face |bytes ..."
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = trim(line.substr(0, colon));
    if (name.empty() || name.size() > 64) continue;
    names.push_back(sanitizeText(name, 64));
  }
  return names;
}

}  // namespace zp::probe

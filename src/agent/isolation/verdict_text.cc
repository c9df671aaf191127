#include "agent/isolation/verdict_text.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "api/isolation.h"

namespace zp::agent::verdict_detail {
namespace {

constexpr std::string_view kCut = "...";

// Linux's capability numbers (linux/capability.h), 0..40.
constexpr std::array<std::string_view, 41> kCapabilityNames = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"};

}  // namespace

std::string printable(std::string_view value, std::size_t max_length) {
  std::string out;
  out.reserve(std::min(value.size(), max_length));
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  if (out.size() > max_length) {
    out.resize(max_length > kCut.size() ? max_length - kCut.size() : 0);
    out.append(kCut.substr(0, std::min(kCut.size(), max_length)));
  }
  return out;
}

std::string quote(std::string_view value, std::size_t max_length) {
  return "\"" + printable(value, max_length) + "\"";
}

std::string bounded(std::string text) {
  if (text.size() <= api::kMaxFindingTextLength) return text;
  text.resize(api::kMaxFindingTextLength - kCut.size());
  text.append(kCut);
  return text;
}

std::string joinList(const std::vector<std::string>& items, std::size_t max_items,
                     std::size_t max_chars) {
  std::string out;
  std::size_t shown = 0;
  for (; shown < items.size() && shown < max_items; ++shown) {
    std::size_t added = (shown > 0 ? 2 : 0) + items[shown].size();
    // The first item always shows (cut by bounded() if need be).
    if (shown > 0 && out.size() + added > max_chars) break;
    if (shown > 0) out += ", ";
    out += items[shown];
  }
  if (items.size() > shown) {
    out += " and " + std::to_string(items.size() - shown) + " more";
  }
  return out;
}

std::vector<std::string> capabilityNames(std::uint64_t mask) {
  std::vector<std::string> names;
  for (unsigned bit = 0; bit < 64; ++bit) {
    if ((mask & (std::uint64_t{1} << bit)) == 0) continue;
    names.emplace_back(bit < kCapabilityNames.size() ? std::string(kCapabilityNames[bit])
                                                     : "CAP_" + std::to_string(bit));
  }
  return names;
}

std::string hexMask(std::uint64_t mask) {
  std::array<char, 19> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "0x%016llx",
                static_cast<unsigned long long>(mask));
  return std::string(buffer.data());
}

}  // namespace zp::agent::verdict_detail

// Fuzz target: what the isolation probe reads inside a workload's container
// (docs/architecture.md §10.1), whose files the container chooses: the
// probe's parsers of kernel text files (probe/parse.h: /proc/self/status,
// mountinfo, cgroup, cpuinfo, DMI, /proc/version, the kernel log,
// /proc/net/dev, cmdline). Every input goes to every parser; the
// two-argument helpers get the text before and after its first newline.
// (probe_report_fuzz.cc covers the agent's decoder of the report.)

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "probe/parse.h"

using zp::fuzz::check;
namespace probe = zp::probe;

namespace {

// Whether `text` is printable ASCII or well-formed UTF-8 (what sanitizeText promises).
bool isCleanUtf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F) return false;
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
    else return false;
    if (i + len > text.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static const std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto nl = text.find('\n');
  const std::string_view first = text.substr(0, nl);
  const std::string_view rest = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);

  const auto status = probe::parseProcStatus(text);
  check(status.groups.size() <= probe::kMaxGroups, "groups are bounded");

  std::size_t skipped = 0;
  const auto mounts = probe::parseMountInfo(text, 8, &skipped);
  check(mounts.size() <= 8, "mount entries are bounded");
  (void)probe::mountContaining(mounts, first);
  for (const auto& m : mounts) (void)probe::hasMountOption(m.mount_options, "ro");
  (void)probe::unescapeMountField(text);
  (void)probe::hasMountOption(first, rest);

  const auto cgroups = probe::parseProcCgroup(text);
  const int version = probe::cgroupVersion(cgroups);
  check(version >= 0 && version <= 2, "a cgroup version is 0, 1 or 2");
  (void)probe::cgroupDirectory(first, rest, text);
  for (const auto& line : cgroups) (void)probe::cgroupDirectory("/sys/fs/cgroup", "/", line.path);

  (void)probe::normalizeMemoryLimitV1(text);
  (void)probe::normalizeMaxOrNumber(text);
  (void)probe::normalizeCpuMaxV2(text);
  (void)probe::normalizeCpuV1(first, rest);

  (void)probe::cpuinfoHasHypervisorFlag(text);
  (void)probe::virtualMachineDmiName(first, rest);
  (void)probe::isGvisorKernelIdentity(first, rest);
  (void)probe::isGvisorProcVersion(text);
  (void)probe::gvisorLogLine(text);

  (void)probe::trim(text);
  (void)probe::normalized(text);
  const std::string clean = probe::sanitizeText(text, 100);
  check(clean.size() <= 100, "sanitizeText keeps to its bound", clean);
  check(isCleanUtf8(clean), "sanitizeText returns printable UTF-8", clean);
  const std::string cmdline = probe::cmdlineText(text, 64);
  check(cmdline.size() <= 64, "cmdlineText keeps to its bound", cmdline);
  const auto interfaces = probe::parseProcNetDev(text, 4);
  check(interfaces.size() <= 4, "interface names are bounded");
  return 0;
}

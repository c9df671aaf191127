#include "proc_sample.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace zp::soak {

namespace fs = std::filesystem;

std::optional<long long> statusField(std::string_view status, std::string_view key) {
  std::size_t pos = 0;
  while (pos < status.size()) {
    const std::size_t eol = std::min(status.find('\n', pos), status.size());
    const std::string_view line = status.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ':') {
      continue;
    }
    std::string_view rest = line.substr(key.size() + 1);
    const std::size_t digits = rest.find_first_not_of(" \t");
    if (digits == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(digits);
    long long value = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
    if (ec != std::errc{} || end == rest.data()) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

Result<ProcSample> sampleProc(pid_t pid) {
  const fs::path dir = fs::path("/proc") / std::to_string(pid);
  std::ifstream in(dir / "status");
  if (!in) return fail(Code::kNotFound, "process " + std::to_string(pid) + " is gone");
  std::stringstream text;
  text << in.rdbuf();
  const std::string status = text.str();
  const auto rss_kib = statusField(status, "VmRSS");
  const auto threads = statusField(status, "Threads");
  if (!rss_kib || !threads) {
    return fail(Code::kInternal, "no VmRSS/Threads in " + (dir / "status").string());
  }
  std::error_code ec;
  int fds = 0;
  for (fs::directory_iterator it(dir / "fd", ec), end; !ec && it != end; it.increment(ec)) ++fds;
  if (ec)
    return fail(Code::kInternal, "cannot list " + (dir / "fd").string() + ": " + ec.message());
  return ProcSample{.rss_mib = static_cast<double>(*rss_kib) / 1024.0,
                    .fds = fds,
                    .threads = static_cast<int>(*threads)};
}

}  // namespace zp::soak

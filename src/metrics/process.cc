#include "metrics/process.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace zp::metrics {
namespace {

std::optional<std::string> readFile(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

template <typename T>
bool parseNumber(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

std::optional<ProcStat> readProcStat() {
  auto text = readFile("/proc/self/stat");
  if (!text) return std::nullopt;
  return parseProcStat(*text);
}

}  // namespace

std::optional<ProcStat> parseProcStat(std::string_view text) {
  const auto close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  // Fields from 3 (state) on, split at spaces.
  std::vector<std::string_view> fields;
  std::string_view rest = text.substr(close + 1);
  while (!rest.empty()) {
    const auto start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest = rest.substr(start);
    const auto end = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  }
  // fields[0] is field 3 of proc(5): field n is fields[n - 3].
  const auto field = [&](std::size_t n) { return fields[n - 3]; };
  if (fields.size() < 24 - 2) return std::nullopt;
  ProcStat out;
  if (!parseNumber(field(14), out.utime_ticks) || !parseNumber(field(15), out.stime_ticks) ||
      !parseNumber(field(20), out.threads) || !parseNumber(field(22), out.start_ticks) ||
      !parseNumber(field(23), out.vsize_bytes) || !parseNumber(field(24), out.rss_pages)) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::int64_t> parseBootTime(std::string_view text) {
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!line.starts_with("btime ")) continue;
    std::int64_t value = 0;
    if (parseNumber(line.substr(6), value)) return value;
    return std::nullopt;
  }
  return std::nullopt;
}

void addProcessMetrics(Registry& registry) {
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  registry.collected("process_resident_memory_bytes", "Resident memory size in bytes.",
                     Type::kGauge, {}, [page](SampleSink& sink) {
                       if (auto stat = readProcStat()) {
                         sink.add({}, static_cast<double>(stat->rss_pages) * page);
                       }
                     });
  registry.collected("process_virtual_memory_bytes", "Virtual memory size in bytes.", Type::kGauge,
                     {}, [](SampleSink& sink) {
                       if (auto stat = readProcStat()) {
                         sink.add({}, static_cast<double>(stat->vsize_bytes));
                       }
                     });
  registry.collected("process_open_fds", "Number of open file descriptors.", Type::kGauge, {},
                     [](SampleSink& sink) {
                       std::error_code ec;
                       std::filesystem::directory_iterator it("/proc/self/fd", ec);
                       if (ec) return;
                       double count = 0;
                       for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
                         if (ec) return;
                         ++count;
                       }
                       sink.add({}, count);
                     });
  registry.collected("process_max_fds", "Maximum number of open file descriptors.", Type::kGauge,
                     {}, [](SampleSink& sink) {
                       rlimit limit{};
                       if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
                       sink.add({}, limit.rlim_cur == RLIM_INFINITY
                                        ? std::numeric_limits<double>::infinity()
                                        : static_cast<double>(limit.rlim_cur));
                     });
  registry.collected(
      "process_cpu_seconds_total", "Total user and system CPU time in seconds.", Type::kCounter, {},
      [ticks](SampleSink& sink) {
        if (auto stat = readProcStat()) {
          sink.add({}, static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks);
        }
      });
  registry.collected(
      "process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.",
      Type::kGauge, {}, [ticks](SampleSink& sink) {
        auto stat = readProcStat();
        auto text = readFile("/proc/stat");
        auto boot = text ? parseBootTime(*text) : std::nullopt;
        if (!stat || !boot) return;
        sink.add({}, static_cast<double>(*boot) + static_cast<double>(stat->start_ticks) / ticks);
      });
  registry.collected("zoneplane_process_threads", "Threads of the process.", Type::kGauge, {},
                     [](SampleSink& sink) {
                       if (auto stat = readProcStat()) {
                         sink.add({}, static_cast<double>(stat->threads));
                       }
                     });
}

}  // namespace zp::metrics

#include "common/time.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace zp {

const Clock& SystemClock::instance() {
  static const SystemClock clock;
  return clock;
}

const MonotonicClock& SteadyMonotonicClock::instance() {
  static const SteadyMonotonicClock clock;
  return clock;
}

std::string formatRfc3339(TimePoint t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  long long secs = ms / 1000;
  long long frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    secs -= 1;
  }
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

namespace {
bool readInt(std::string_view s, size_t pos, size_t len, int& out) {
  if (pos + len > s.size()) return false;
  for (size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return std::from_chars(s.data() + pos, s.data() + pos + len, out).ec == std::errc{};
}
}  // namespace

std::optional<TimePoint> parseRfc3339(std::string_view s) {
  using namespace std::chrono;
  int y, mo, d, h, mi, sec;
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':')
    return std::nullopt;
  if (!readInt(s, 0, 4, y) || !readInt(s, 5, 2, mo) || !readInt(s, 8, 2, d) ||
      !readInt(s, 11, 2, h) || !readInt(s, 14, 2, mi) || !readInt(s, 17, 2, sec))
    return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  size_t pos = 19;
  nanoseconds frac{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    long long scale = 100'000'000;
    size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac += nanoseconds{(s[pos] - '0') * scale};
      scale /= 10;
      ++pos;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
  }
  minutes offset{0};
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (pos + 6 != s.size() || s[pos + 3] != ':' || !readInt(s, pos + 1, 2, oh) ||
        !readInt(s, pos + 4, 2, om))
      return std::nullopt;
    offset = hours{oh} + minutes{om};
    if (s[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  // Whole seconds first (no overflow for any four-digit year), then the range
  // a TimePoint holds: 64-bit nanoseconds, about the years 1678 to 2261.
  const sys_seconds whole = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} - offset;
  constexpr sys_seconds kEarliest = time_point_cast<seconds>(TimePoint::min()) + seconds{1};
  constexpr sys_seconds kLatest = time_point_cast<seconds>(TimePoint::max()) - seconds{1};
  if (whole < kEarliest || whole > kLatest) return std::nullopt;
  return time_point_cast<system_clock::duration>(whole) +
         duration_cast<system_clock::duration>(frac);
}

std::optional<TimePoint> fromUnixNanos(long long nanos) {
  if (nanos <= 0) return std::nullopt;
  return TimePoint{std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::nanoseconds{nanos})};
}

}  // namespace zp

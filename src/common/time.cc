#include "common/time.h"

#include <charconv>
#include <chrono>
#include <cstddef>

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
  // The civil calendar of <chrono>, not gmtime_r (glibc takes its time zone
  // lock even for UTC) nor snprintf: this is on every record's encoding.
  using namespace std::chrono;
  const auto in_ms = floor<milliseconds>(t);
  const auto day = floor<days>(in_ms);
  const year_month_day date{day};
  const hh_mm_ss time{in_ms - day};
  // A TimePoint's years are 1678..2261: always four digits.
  char out[] = "0000-00-00T00:00:00.000Z";
  const auto put = [&out](std::size_t at, unsigned value, std::size_t digits) {
    for (std::size_t i = digits; i > 0; --i, value /= 10) out[at + i - 1] = char('0' + value % 10);
  };
  put(0, static_cast<unsigned>(static_cast<int>(date.year())), 4);
  put(5, static_cast<unsigned>(date.month()), 2);
  put(8, static_cast<unsigned>(date.day()), 2);
  put(11, static_cast<unsigned>(time.hours().count()), 2);
  put(14, static_cast<unsigned>(time.minutes().count()), 2);
  put(17, static_cast<unsigned>(time.seconds().count()), 2);
  put(20, static_cast<unsigned>(time.subseconds().count()), 3);
  return std::string(out, sizeof out - 1);
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

#include "server/auth/failure_limiter.h"

#include <algorithm>

#include "server/auth/source.h"

namespace zp::server::auth {

void FailureLimiter::forget(Windows::iterator it) {
  starts_.erase({it->second.start, it->first});
  sources_.erase(it);
}

FailureLimiter::Window* FailureLimiter::current(const std::string& group, TimePoint now) {
  auto it = sources_.find(group);
  if (it == sources_.end()) return nullptr;
  // Over, or the wall clock stepped back before it: forget it.
  if (now < it->second.start || now - it->second.start >= options_.window) {
    forget(it);
    return nullptr;
  }
  return &it->second;
}

std::optional<FailureLimiter::Block> FailureLimiter::blocked(const std::string& source,
                                                             TimePoint now) {
  if (sources_.empty()) return std::nullopt;  // the usual case: no failures to look up
  Window* window = current(sourceGroup(source), now);
  if (window == nullptr || window->failures < options_.max_failures) return std::nullopt;
  const auto left = window->start + options_.window - now;
  auto seconds = std::chrono::ceil<std::chrono::seconds>(left);
  Block block{std::max(seconds, std::chrono::seconds(1)), !window->refused};
  window->refused = true;
  return block;
}

void FailureLimiter::recordFailure(const std::string& source, TimePoint now) {
  std::string group = sourceGroup(source);
  if (Window* window = current(group, now)) {
    ++window->failures;
    return;
  }
  purge(now);
  while (!sources_.empty() && sources_.size() >= options_.max_sources) {
    forget(sources_.find(starts_.begin()->second));  // the window that started first
  }
  starts_.emplace(now, group);
  sources_.emplace(std::move(group), Window{now, 1, false});
}

void FailureLimiter::purge(TimePoint now) {
  // Windows started after `now` (a clock stepped back) stay at the end
  // until they are looked at or the clock passes them.
  while (!starts_.empty() && starts_.begin()->first <= now &&
         now - starts_.begin()->first >= options_.window) {
    sources_.erase(starts_.begin()->second);
    starts_.erase(starts_.begin());
  }
}

}  // namespace zp::server::auth

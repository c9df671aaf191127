#include "server/auth/failure_limiter.h"

#include <algorithm>

namespace zp::server::auth {

FailureLimiter::Window* FailureLimiter::current(const std::string& source, TimePoint now) {
  auto it = sources_.find(source);
  if (it == sources_.end()) return nullptr;
  // Over, or the wall clock stepped back before it: forget it.
  if (now < it->second.start || now - it->second.start >= options_.window) {
    sources_.erase(it);
    return nullptr;
  }
  return &it->second;
}

std::optional<FailureLimiter::Block> FailureLimiter::blocked(const std::string& source,
                                                             TimePoint now) {
  Window* window = current(source, now);
  if (window == nullptr || window->failures < options_.max_failures) return std::nullopt;
  const auto left = window->start + options_.window - now;
  auto seconds = std::chrono::ceil<std::chrono::seconds>(left);
  Block block{std::max(seconds, std::chrono::seconds(1)), !window->refused};
  window->refused = true;
  return block;
}

void FailureLimiter::recordFailure(const std::string& source, TimePoint now) {
  if (Window* window = current(source, now)) {
    ++window->failures;
    return;
  }
  if (sources_.size() >= options_.max_sources) makeRoom(now);
  sources_[source] = Window{now, 1, false};
}

void FailureLimiter::makeRoom(TimePoint now) {
  std::erase_if(sources_, [&](const auto& entry) {
    return now < entry.second.start || now - entry.second.start >= options_.window;
  });
  while (!sources_.empty() && sources_.size() >= options_.max_sources) {
    auto oldest = std::min_element(
        sources_.begin(), sources_.end(),
        [](const auto& a, const auto& b) { return a.second.start < b.second.start; });
    sources_.erase(oldest);
  }
}

}  // namespace zp::server::auth

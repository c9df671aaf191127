#include "agent/pull_limiter.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace zp::agent {

PullLimiter::PullLimiter(std::size_t per_registry)
    : per_registry_(std::max<std::size_t>(1, per_registry)) {}

PullLimiter::Request PullLimiter::acquire(const std::string& registry, Granted granted) {
  Ticket ticket;
  {
    std::lock_guard lock(mutex_);
    ticket = next_ticket_++;
    auto& r = registries_[registry];
    if (r.active >= per_registry_) {
      r.waiting.push_back(Waiter{ticket, std::move(granted)});
      return Request{ticket, true};
    }
    ++r.active;
  }
  granted(true);
  return Request{ticket, false};
}

void PullLimiter::release(const std::string& registry) {
  Granted next;
  {
    std::lock_guard lock(mutex_);
    const auto it = registries_.find(registry);
    if (it == registries_.end() || it->second.active == 0) return;  // not held: ignore
    auto& r = it->second;
    if (r.waiting.empty()) {
      --r.active;
      if (r.active == 0) registries_.erase(it);
      return;
    }
    // The slot passes straight to the next waiter: `active` stays the same.
    next = std::move(r.waiting.front().granted);
    r.waiting.pop_front();
  }
  next(true);
}

void PullLimiter::cancel(Ticket ticket) {
  Granted cancelled;
  {
    std::lock_guard lock(mutex_);
    for (auto& [name, r] : registries_) {
      const auto it = std::find_if(r.waiting.begin(), r.waiting.end(),
                                   [&](const Waiter& w) { return w.ticket == ticket; });
      if (it == r.waiting.end()) continue;
      cancelled = std::move(it->granted);
      r.waiting.erase(it);
      break;
    }
  }
  if (cancelled) cancelled(false);
}

void PullLimiter::cancelAll() {
  std::vector<Granted> cancelled;
  {
    std::lock_guard lock(mutex_);
    for (auto& [name, r] : registries_) {
      for (auto& w : r.waiting) cancelled.push_back(std::move(w.granted));
      r.waiting.clear();
    }
  }
  for (auto& g : cancelled) g(false);
}

std::size_t PullLimiter::active(const std::string& registry) const {
  std::lock_guard lock(mutex_);
  const auto it = registries_.find(registry);
  return it == registries_.end() ? 0 : it->second.active;
}

std::size_t PullLimiter::waiting(const std::string& registry) const {
  std::lock_guard lock(mutex_);
  const auto it = registries_.find(registry);
  return it == registries_.end() ? 0 : it->second.waiting.size();
}

}  // namespace zp::agent

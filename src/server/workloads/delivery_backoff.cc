#include "server/workloads/delivery_backoff.h"

#include <algorithm>

namespace zp::server {

bool DeliveryBackoff::due(const std::string& id, TimePoint now) const {
  auto it = entries_.find(id);
  return it == entries_.end() || now >= it->second.next;
}

std::chrono::milliseconds DeliveryBackoff::failed(const std::string& id, TimePoint now) {
  Entry& entry = entries_[id];
  ++entry.failures;
  auto wait = options_.initial;
  for (int i = 1; i < entry.failures && wait < options_.max; ++i) wait *= 2;
  wait = std::min(wait, options_.max);
  entry.next = now + wait;
  return wait;
}

int DeliveryBackoff::failures(const std::string& id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? 0 : it->second.failures;
}

bool isPermanentRefusal(const Error& error) {
  switch (error.code) {
    case Code::kUnavailable:
    case Code::kDeadlineExceeded:
    case Code::kCancelled:
    case Code::kInternal:
      return false;
    default:
      return true;
  }
}

}  // namespace zp::server

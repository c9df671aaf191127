#include "server/workloads/watch_hub.h"

#include <algorithm>

namespace zp::server {

namespace asio = boost::asio;

bool WatchFilter::matches(const store::WorkloadRecord& record) const {
  if (state && record.status.state != *state) return false;
  if (node && record.status.node != *node) return false;
  if (runtime_class && record.spec.runtime_class != *runtime_class) return false;
  if (id && record.spec.id != *id) return false;
  return true;
}

Watcher::Watcher(WatchHub& hub, WatchFilter filter, std::vector<store::WorkloadRecord> initial)
    : hub_(&hub), filter_(std::move(filter)), wake_(hub.executor_) {
  std::erase_if(initial, [this](const store::WorkloadRecord& r) { return !filter_.matches(r); });
  initial_ = std::move(initial);
  if (!filter_.empty()) {
    for (const auto& record : initial_) present_.insert(record.spec.id);
  }
}

Watcher::~Watcher() {
  if (hub_ != nullptr) hub_->leave(this);
}

asio::awaitable<std::optional<WatchEvent>> Watcher::next() {
  while (!ended_ && initial_next_ >= initial_.size() && queue_.empty()) {
    co_await wake_.wait();
  }
  if (ended_) co_return std::nullopt;
  if (initial_next_ < initial_.size()) {
    WatchEvent event{WatchEventType::kAdded, std::move(initial_[initial_next_++])};
    if (initial_next_ == initial_.size()) {
      initial_.clear();
      initial_.shrink_to_fit();
      initial_next_ = 0;
    }
    co_return event;
  }
  Pending pending = std::move(queue_.front());
  queue_.pop_front();
  co_return WatchEvent{pending.type, *pending.record};
}

void Watcher::cancel() {
  if (hub_ != nullptr) {
    hub_->leave(this);
    hub_ = nullptr;
  }
  end(std::nullopt);
}

void Watcher::end(std::optional<Error> error) {
  if (ended_) return;
  ended_ = true;
  error_ = std::move(error);
  queue_.clear();
  initial_.clear();
  present_.clear();
  wake_.notify();
}

void Watcher::offer(WatchEventType type, const std::shared_ptr<const store::WorkloadRecord>& record,
                    std::size_t limit) {
  if (ended_) return;
  if (!filter_.empty()) {
    const std::string& id = record->spec.id;
    const bool was = present_.contains(id);
    const bool is = type != WatchEventType::kDeleted && filter_.matches(*record);
    if (!was && !is) return;
    if (!was) {
      type = WatchEventType::kAdded;
      present_.insert(id);
    } else if (!is) {
      type = WatchEventType::kDeleted;
      present_.erase(id);
    } else {
      type = WatchEventType::kModified;
    }
  }
  if (queue_.size() >= limit) {
    end(Error{Code::kResourceExhausted, "watch fell behind; list again", ""});
    return;
  }
  queue_.push_back(Pending{type, record});
  wake_.notify();
}

WatchHub::WatchHub(asio::any_io_executor executor, std::size_t queue_limit)
    : executor_(std::move(executor)), queue_limit_(std::max<std::size_t>(queue_limit, 1)) {}

WatchHub::~WatchHub() { shutdown(); }

std::unique_ptr<Watcher> WatchHub::subscribe(WatchFilter filter,
                                             std::vector<store::WorkloadRecord> initial) {
  std::unique_ptr<Watcher> watcher(new Watcher(*this, std::move(filter), std::move(initial)));
  if (shut_down_) {
    watcher->hub_ = nullptr;
    watcher->end(std::nullopt);
  } else {
    watchers_.push_back(watcher.get());
  }
  return watcher;
}

void WatchHub::publish(const WatchEvent& event) {
  if (watchers_.empty()) return;
  auto record = std::make_shared<const store::WorkloadRecord>(event.record);
  // offer() may end a watcher (overflow) but never removes it from the list.
  for (Watcher* watcher : watchers_) watcher->offer(event.type, record, queue_limit_);
  std::erase_if(watchers_, [](Watcher* w) {
    if (!w->ended_) return false;
    w->hub_ = nullptr;
    return true;
  });
}

void WatchHub::shutdown() {
  shut_down_ = true;
  auto watchers = std::move(watchers_);
  watchers_.clear();
  for (Watcher* watcher : watchers) {
    watcher->hub_ = nullptr;
    watcher->end(std::nullopt);
  }
}

void WatchHub::leave(Watcher* watcher) { std::erase(watchers_, watcher); }

}  // namespace zp::server

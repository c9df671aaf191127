#include "cri/event_feed.h"

#include <spdlog/spdlog.h>

#include "common/backoff.h"

namespace zp::cri {

ContainerEventFeed::ContainerEventFeed(std::vector<Source> sources, std::function<void()> changed,
                                       ContainerEventBackoff backoff)
    : sources_(std::move(sources)),
      changed_(std::move(changed)),
      backoff_(backoff),
      open_(sources_.size(), nullptr) {
  threads_.reserve(sources_.size());
  for (std::size_t i = 0; i < sources_.size(); ++i) threads_.emplace_back([this, i] { follow(i); });
}

ContainerEventFeed::~ContainerEventFeed() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto* stream : open_) {
      if (stream != nullptr) stream->cancel();
    }
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void ContainerEventFeed::follow(std::size_t index) {
  const Source& source = sources_[index];
  Backoff delays(backoff_.initial, backoff_.max);
  bool failing = false;  // the last stream ended without an event
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // Made and registered under the lock: the destructor cancels it.
    auto stream = source.client->containerEvents();
    open_[index] = stream.get();
    lock.unlock();
    bool delivered = false;
    const Status ended = stream->read([&](const v1::ContainerEventResponse&) {
      delivered = true;
      changed_();
    });
    lock.lock();
    open_[index] = nullptr;
    if (stopping_) break;
    const Error& why = ended.error();
    if (why.code == Code::kUnimplemented) {
      spdlog::info("{} serves no container events; its statuses come from relisting alone",
                   source.name);
      break;
    }
    if (delivered) delays.reset();
    const auto delay = delays.next();
    // Once per outage, not once per attempt.
    if (delivered || !failing) {
      spdlog::warn("{}: container events ended ({}); following again from {} ms on", source.name,
                   why.message, delay.count());
    }
    failing = !delivered;
    wake_.wait_for(lock, delay, [&] { return stopping_; });
  }
}

}  // namespace zp::cri

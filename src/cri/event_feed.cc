#include "cri/event_feed.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "common/backoff.h"

namespace zp::cri {
namespace {

// One relist's deadline: a runtime that hangs delays the destructor by at
// most this (a relist in flight is not cancelled).
constexpr std::chrono::milliseconds kRelistDeadline{1000};

}  // namespace

ContainerEventFeed::ContainerEventFeed(std::vector<Source> sources,
                                       std::function<void(FeedReport)> changed,
                                       ContainerEventBackoff backoff, ExitRelist relist)
    : sources_(std::move(sources)),
      changed_(std::move(changed)),
      backoff_(backoff),
      relist_(relist),
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
  // With a relist to fall back on, a runtime unreachable at the start (say,
  // at boot) is asked again within the sweep's interval, so the relist does
  // not start up to `max` after the runtime is back.
  const auto cap = relist_.on() ? std::min(backoff_.max, relist_.longest()) : backoff_.max;
  Backoff delays(std::min(backoff_.initial, cap), cap);
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
      changed_(FeedReport::kEvent);
    });
    lock.lock();
    open_[index] = nullptr;
    if (stopping_) break;
    const Error& why = ended.error();
    if (why.code == Code::kUnimplemented) {
      if (relist_.on()) {
        relistExited(index, lock);
      } else {
        spdlog::info("{} serves no container events; its statuses come from relisting alone",
                     source.name);
      }
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

void ContainerEventFeed::relistExited(std::size_t index, std::unique_lock<std::mutex>& lock) {
  const Source& source = sources_[index];
  spdlog::info("{} serves no container events; its exited containers are relisted every {} ms",
               source.name, relist_.interval.count());
  v1::ContainerFilter filter = source.containers;
  filter.mutable_state()->set_state(v1::CONTAINER_EXITED);
  // A runtime that is back is relisted again within the sweep's interval.
  const auto longest = relist_.longest();
  Backoff failures(relist_.interval, longest);
  bool failing = false;
  std::set<std::string> exited;  // what the last relist that answered listed
  while (!stopping_) {
    lock.unlock();
    auto listed = source.client->listContainers(
        filter, {.timeout = kRelistDeadline, .observed_as = "ListContainers/exited"});
    bool news = false;
    if (listed) {
      std::set<std::string> now;
      for (const auto& c : *listed) {
        news = news || !exited.contains(c.id());
        now.insert(c.id());
      }
      exited = std::move(now);
      if (news) changed_(FeedReport::kExitRelist);
    }
    lock.lock();
    std::chrono::milliseconds wait;
    if (listed) {
      failing = false;
      failures.reset();
      const auto batches = static_cast<long>(exited.size() / kExitRelistBatch) + 1;
      wait = std::min(relist_.interval * batches, longest);
    } else {
      wait = failures.next();
      // Once per outage, not once per attempt: the sweep reports the runtime's state.
      if (!failing) {
        spdlog::debug("{}: relisting exited containers failed ({}); again from {} ms on",
                      source.name, listed.error().message, wait.count());
      }
      failing = true;
    }
    wake_.wait_for(lock, wait, [&] { return stopping_; });
  }
}

}  // namespace zp::cri

#include "store/commit_queue.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <utility>

namespace zp::store {

CommitQueue::CommitQueue(Store& store, std::size_t max_group,
                         std::chrono::microseconds background_interval)
    : store_(store),
      max_group_(max_group == 0 ? 1 : max_group),
      background_interval_(std::max(background_interval, std::chrono::microseconds::zero())),
      // As if the last transaction were an interval ago: the first commits at once.
      last_start_(std::chrono::steady_clock::now() - background_interval_),
      thread_([this] { run(); }) {}

CommitQueue::~CommitQueue() { stop(); }

void CommitQueue::submit(std::vector<Write> batch, Done done, Urgency urgency) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      const bool background = urgency == Urgency::kBackground && background_interval_.count() > 0;
      // A background batch joining a queue that already waits changes
      // nothing the commit thread waits for, unless the group is now full.
      const bool wake =
          !background || queue_.empty() || queued_writes_ + batch.size() >= max_group_;
      queued_writes_ += batch.size();
      if (!background) ++queued_prompt_;
      queue_.push_back(Pending{std::move(batch), std::move(done), {}, background});
      if (wake) wake_.notify_one();
      return;
    }
  }
  done(fail(Code::kCancelled, "the store is shutting down"));
}

void CommitQueue::read(ReadJob job) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      ++queued_prompt_;
      queue_.push_back(Pending{{}, {}, std::move(job)});
      wake_.notify_one();
      return;
    }
  }
  job(nullptr);
}

void CommitQueue::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

std::size_t CommitQueue::transactions() const {
  std::lock_guard lock(mu_);
  return transactions_;
}

std::size_t CommitQueue::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

namespace {

// Whether a failed transaction's error can be one batch's own doing (a
// constraint it breaks, a value the store refuses), not the store's.
bool batchCaused(Code code) {
  return code == Code::kAlreadyExists || code == Code::kInvalidArgument;
}

}  // namespace

bool CommitQueue::mayStart(std::chrono::steady_clock::time_point now) const {
  return stopping_ || (!queue_.empty() && (queued_prompt_ > 0 || queued_writes_ >= max_group_ ||
                                           now - last_start_ >= background_interval_));
}

void CommitQueue::run() {
  {
    // Throughput work: its wake-ups do not preempt the thread running on the
    // CPU (the server's core), at the same weight otherwise (§8.4.1). Best
    // effort: a refusal leaves the default policy.
    sched_param param{};
    (void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
  }
  for (;;) {
    std::vector<Pending> group;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      // Only background batches: wait for company until the interval since
      // the last transaction's start is over (at once after a quiet spell).
      const auto due = last_start_ + background_interval_;
      wake_.wait_until(lock, due, [&] { return mayStart(std::chrono::steady_clock::now()); });
      if (queue_.empty()) return;  // stopping, and everything queued is applied
      // Take whole batches, in order, up to max_group_ writes (at least one
      // batch) and up to the next read; or the read at the front alone.
      std::size_t take = 1;
      if (!queue_.front().read) {
        std::size_t writes = queue_.front().batch.size();
        while (take < queue_.size() && !queue_[take].read &&
               writes + queue_[take].batch.size() <= max_group_) {
          writes += queue_[take].batch.size();
          ++take;
        }
      }
      group.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(take)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
      for (const auto& p : group) {
        queued_writes_ -= p.batch.size();
        if (!p.background) --queued_prompt_;
      }
      if (!group.front().read) last_start_ = std::chrono::steady_clock::now();
    }
    if (group.front().read) {
      group.front().read(&store_);
      continue;
    }
    std::vector<Write> all;
    std::vector<std::size_t> sizes;  // each batch's writes, in their order in `all`
    sizes.reserve(group.size());
    if (group.size() == 1) {
      sizes.push_back(group.front().batch.size());
      all = std::move(group.front().batch);
    } else {
      for (auto& p : group) {
        sizes.push_back(p.batch.size());
        for (auto& w : p.batch) all.push_back(std::move(w));
      }
    }
    Status status = store_.apply(all);
    std::vector<Status> outcomes(group.size(), status);
    std::size_t applied = 1;
    if (!status && group.size() > 1 && batchCaused(status.error().code)) {
      // One batch's own failure (a constraint it breaks) must not take the
      // others down: each is applied again alone and told its own outcome.
      // A failing store (full, locked, I/O errors) fails the group at once:
      // one retry per batch would only wait for it that many times.
      auto next = all.begin();
      for (std::size_t i = 0; i < group.size(); ++i) {
        const auto end = next + static_cast<std::ptrdiff_t>(sizes[i]);
        const std::vector<Write> own(std::make_move_iterator(next), std::make_move_iterator(end));
        next = end;
        outcomes[i] = store_.apply(own);
        ++applied;
      }
    }
    {
      std::lock_guard lock(mu_);
      transactions_ += applied;
    }
    for (std::size_t i = 0; i < group.size(); ++i) group[i].done(std::move(outcomes[i]));
  }
}

}  // namespace zp::store

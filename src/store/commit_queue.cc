#include "store/commit_queue.h"

#include <utility>

namespace zp::store {

CommitQueue::CommitQueue(Store& store, std::size_t max_group)
    : store_(store), max_group_(max_group == 0 ? 1 : max_group), thread_([this] { run(); }) {}

CommitQueue::~CommitQueue() { stop(); }

void CommitQueue::submit(std::vector<Write> batch, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(Pending{std::move(batch), std::move(done), {}});
      wake_.notify_one();
      return;
    }
  }
  done(fail(Code::kCancelled, "the store is shutting down"));
}

void CommitQueue::read(ReadJob job) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
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

void CommitQueue::run() {
  for (;;) {
    std::vector<Pending> group;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
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
    }
    if (group.front().read) {
      group.front().read(&store_);
      continue;
    }
    std::vector<Write> all;
    if (group.size() == 1) {
      all = std::move(group.front().batch);
    } else {
      for (auto& p : group) {
        for (auto& w : p.batch) all.push_back(std::move(w));
      }
    }
    Status status = store_.apply(all);
    {
      std::lock_guard lock(mu_);
      ++transactions_;
    }
    for (auto& p : group) p.done(status);
  }
}

}  // namespace zp::store

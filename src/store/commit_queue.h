#pragma once
// CommitQueue: group commit in front of a Store (docs/architecture.md §8.4).
// Callers submit batches of writes from any thread; one commit thread applies
// everything submitted while the previous transaction ran as the next single
// transaction, then completes each caller with that transaction's outcome. So
// many concurrent submissions share one fsync, and a caller is told OK only
// once its writes are durable.
//
// Owns the commit thread; borrows the Store, which must outlive it. Batches
// are applied in submission order. stop() (and the destructor) applies what
// is queued, then joins; a submit after stop() completes at once with
// kCancelled.

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace zp::store {

class CommitQueue {
 public:
  // Called on the commit thread (or inline for a refused submit); must not block.
  using Done = std::function<void(Status)>;

  // `max_group`: at most this many writes per transaction.
  explicit CommitQueue(Store& store, std::size_t max_group = 4096);
  ~CommitQueue();
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  void submit(std::vector<Write> batch, Done done);
  void stop();

  // Transactions applied so far (for tests and benchmarks).
  std::size_t transactions() const;

 private:
  struct Pending {
    std::vector<Write> batch;
    Done done;
  };
  void run();

  Store& store_;
  const std::size_t max_group_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Pending> queue_;
  bool stopping_ = false;
  std::size_t transactions_ = 0;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace zp::store

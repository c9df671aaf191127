#pragma once
// CommitQueue: group commit in front of a Store (docs/architecture.md §8.4).
// Callers submit batches of writes from any thread; one commit thread applies
// everything submitted while the previous transaction ran as the next single
// transaction, then completes each caller with that transaction's outcome. So
// many concurrent submissions share one fsync, and a caller is told OK only
// once its writes are durable. A group that fails with an error one batch can
// cause (kAlreadyExists, kInvalidArgument) is applied again batch by batch,
// each caller told its own batch's outcome.
//
// A batch submitted as kBackground (a write nobody waits for, such as a status
// an agent pushed) may wait for company: while only such batches are queued,
// a transaction starts at most every `background_interval` after the previous
// one started, unless the queue holds max_group writes. A kPrompt batch or a
// read starts the next transaction at once and takes the background batches
// queued before it along. On a virtual machine every fsync costs the host
// CPU time that is charged to the guest, so fewer of them keep the guest from
// being throttled (docs/architecture.md §8.4.1). The interval is measured on
// the steady clock: the queue waits on its own thread, not on the server's
// time source.
//
// Reads after start (the audit log, tokens created by another process) run on
// the same thread as read jobs, so they never block the caller's executor:
// a read sees every batch submitted before it and none submitted after it.
//
// Owns the commit thread; borrows the Store, which must outlive it. Batches
// and reads run in submission order. stop() (and the destructor) runs what is
// queued, then joins; a submit after stop() completes at once with
// kCancelled, a read after stop() is called with no store.

#include <chrono>
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
  // Called once on the commit thread with the store to read from (blocking
  // reads only, never apply()), or inline with nullptr when the queue has
  // stopped.
  using ReadJob = std::function<void(Store* store)>;

  enum class Urgency { kPrompt, kBackground };
  static constexpr std::size_t kDefaultMaxGroup = 4096;

  // `max_group`: at most this many writes per transaction. A zero
  // `background_interval` commits background batches as promptly as others.
  explicit CommitQueue(Store& store, std::size_t max_group = kDefaultMaxGroup,
                       std::chrono::microseconds background_interval = {});
  ~CommitQueue();
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  void submit(std::vector<Write> batch, Done done, Urgency urgency = Urgency::kPrompt);
  // Queues `job` behind everything submitted so far.
  void read(ReadJob job);
  void stop();

  // Transactions applied so far (for tests and benchmarks).
  std::size_t transactions() const;
  // Writes and reads submitted and not yet taken by the commit thread (the
  // backlog GET /stats shows).
  std::size_t pending() const;

 private:
  // A batch of writes, or a read job (when `read` is set).
  struct Pending {
    std::vector<Write> batch;
    Done done;
    ReadJob read;
    bool background = false;
  };
  void run();
  // Under mu_: whether the commit thread may start a transaction now.
  bool mayStart(std::chrono::steady_clock::time_point now) const;

  Store& store_;
  const std::size_t max_group_;
  const std::chrono::microseconds background_interval_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Pending> queue_;
  std::size_t queued_writes_ = 0;                     // writes in queue_
  std::size_t queued_prompt_ = 0;                     // prompt batches and reads in queue_
  std::chrono::steady_clock::time_point last_start_;  // of the last transaction
  bool stopping_ = false;
  std::size_t transactions_ = 0;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace zp::store

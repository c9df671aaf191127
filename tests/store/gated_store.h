#pragma once
// A Store for CommitQueue tests: applies each batch to a FakeStore, records
// it, and then, while the gate is closed, blocks before returning, so a test
// can hold the commit thread inside one transaction while it queues more.
// Thread-safe; no sleeping: waits are on a condition variable.

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "support/fake_store.h"

namespace zp::store::testing {

class GatedStore final : public Store {
 public:
  Result<std::vector<WorkloadRecord>> loadWorkloads() override { return inner.loadWorkloads(); }
  Result<std::vector<NodeRecord>> loadNodes() override { return inner.loadNodes(); }
  Result<std::vector<TokenRecord>> loadTokens() override { return inner.loadTokens(); }
  Result<std::vector<AuditEntry>> loadAudit(TimePoint since, std::size_t limit) override {
    return inner.loadAudit(since, limit);
  }

  Status apply(const std::vector<Write>& batch) override {
    Status status = inner.apply(batch);
    std::unique_lock lock(mu_);
    applied_.push_back(batch);
    apply_threads_.push_back(std::this_thread::get_id());
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    return status;
  }

  void close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  // Blocks until `n` applies have started.
  void waitForApplies(std::size_t n) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return applied_.size() >= n; });
  }
  // Every batch passed to apply(), in order.
  std::vector<std::vector<Write>> applied() const {
    std::lock_guard lock(mu_);
    return applied_;
  }
  std::vector<std::thread::id> applyThreads() const {
    std::lock_guard lock(mu_);
    return apply_threads_;
  }

  zp::testing::FakeStore inner;  // the state; its failNextApplies() injects failures

 private:
  mutable std::mutex mu_;
  std::condition_variable changed_;
  bool open_ = true;
  std::vector<std::vector<Write>> applied_;
  std::vector<std::thread::id> apply_threads_;
};

}  // namespace zp::store::testing

#pragma once
// FakeProber: a Prober whose outcomes the test sets per class, and whose
// probes of a class can be held (probe() blocks) until released, so tests
// see a probe queued or running. Counts the probes per class.
// Thread-safe.

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "agent/isolation/probe_runner.h"

namespace zp::agent::testing {

class FakeProber final : public Prober {
 public:
  // What probe(`runtime_class`) returns from now on (default: `report`).
  void setOutcome(const std::string& runtime_class, Result<probe::Report> outcome) {
    std::lock_guard lock(mutex_);
    outcomes_.insert_or_assign(runtime_class, std::move(outcome));
  }
  void setDefault(probe::Report report) {
    std::lock_guard lock(mutex_);
    default_ = std::move(report);
  }
  // Probes of the class block (they count as started) until release().
  void hold(const std::string& runtime_class) {
    std::lock_guard lock(mutex_);
    held_.insert(runtime_class);
  }
  void release(const std::string& runtime_class) {
    {
      std::lock_guard lock(mutex_);
      held_.erase(runtime_class);
    }
    changed_.notify_all();
  }
  // Probes of the class started so far (held ones included).
  int calls(const std::string& runtime_class) const {
    std::lock_guard lock(mutex_);
    const auto it = calls_.find(runtime_class);
    return it == calls_.end() ? 0 : it->second;
  }
  // The class whose probe is blocked in hold(), "" if none.
  std::string blocked() const {
    std::lock_guard lock(mutex_);
    return blocked_;
  }

  Result<probe::Report> probe(const std::string& runtime_class) override {
    std::unique_lock lock(mutex_);
    ++calls_[runtime_class];
    blocked_ = runtime_class;
    changed_.wait(lock, [&] { return cancelled_ || !held_.contains(runtime_class); });
    blocked_.clear();
    if (cancelled_) return fail(Code::kCancelled, "cancelled");
    const auto it = outcomes_.find(runtime_class);
    if (it == outcomes_.end()) return default_;
    return it->second;
  }
  void cancel() override {
    {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
    }
    changed_.notify_all();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, Result<probe::Report>> outcomes_;
  probe::Report default_;
  std::set<std::string> held_;
  std::map<std::string, int> calls_;
  std::string blocked_;
  bool cancelled_ = false;
};

}  // namespace zp::agent::testing

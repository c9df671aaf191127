#pragma once
// An in-memory Store for tests, with failure injection: failNextApplies(n)
// makes the next n apply() calls fail (kUnavailable, or the code given: a
// full disk is kStorageFull) without changing anything; holdApplies() makes
// apply() wait until releaseApplies(), so a commit can be caught in flight. A PutToken whose name
// another token has fails its batch (kAlreadyExists), as SqliteStore's UNIQUE column does.
// Thread-safe (CommitQueue calls apply() on its own thread).

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "store/store.h"

namespace zp::testing {

class FakeStore final : public store::Store {
 public:
  Result<std::vector<store::WorkloadRecord>> loadWorkloads() override {
    std::lock_guard lock(mu_);
    std::vector<store::WorkloadRecord> out;
    for (const auto& [id, record] : workloads_) out.push_back(record);
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      if (a.status.created_at != b.status.created_at) return a.status.created_at < b.status.created_at;
      return a.spec.id < b.spec.id;
    });
    return out;
  }
  Result<std::vector<store::NodeRecord>> loadNodes() override {
    std::lock_guard lock(mu_);
    std::vector<store::NodeRecord> out;
    for (const auto& [id, node] : nodes_) out.push_back(node);
    return out;
  }
  Result<std::vector<store::TokenRecord>> loadTokens() override {
    std::lock_guard lock(mu_);
    std::vector<store::TokenRecord> out;
    for (const auto& [id, token] : tokens_) out.push_back(token);
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
    });
    return out;
  }
  Result<std::vector<store::AuditEntry>> loadAudit(TimePoint since, std::size_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<store::AuditEntry> out;
    for (const auto& entry : audit_) {
      if (out.size() >= limit) break;
      if (entry.time >= since) out.push_back(entry);
    }
    return out;
  }
  Status apply(const std::vector<store::Write>& batch) override {
    std::unique_lock lock(mu_);
    if (hold_) {
      ++held_;
      released_.wait(lock, [this] { return !hold_; });
      --held_;
    }
    ++applies_;
    if (fail_next_ > 0) {
      --fail_next_;
      return fail(fail_code_, fail_code_ == Code::kStorageFull
                                  ? "injected failure: database disk is full"
                                  : "injected failure: database I/O error");
    }
    for (const auto& write : batch) {
      if (auto* t = std::get_if<store::PutToken>(&write); t && !t->token.name.empty()) {
        for (const auto& [id, token] : tokens_) {
          if (id != t->token.id && token.name == t->token.name) {
            return fail(Code::kAlreadyExists, "UNIQUE constraint failed: tokens.name");
          }
        }
      }
    }
    for (const auto& write : batch) {
      if (auto* p = std::get_if<store::PutWorkload>(&write)) {
        workloads_[p->record.spec.id] = p->record;
      } else if (auto* d = std::get_if<store::DeleteWorkload>(&write)) {
        workloads_.erase(d->id);
      } else if (auto* n = std::get_if<store::PutNode>(&write)) {
        nodes_[n->node.id] = n->node;
      } else if (auto* dn = std::get_if<store::DeleteNode>(&write)) {
        nodes_.erase(dn->id);
      } else if (auto* t = std::get_if<store::PutToken>(&write)) {
        tokens_[t->token.id] = t->token;
      } else if (auto* dt = std::get_if<store::DeleteToken>(&write)) {
        tokens_.erase(dt->id);
      } else if (auto* tt = std::get_if<store::TouchToken>(&write)) {
        if (auto it = tokens_.find(tt->id); it != tokens_.end()) {
          it->second.last_used_at = tt->last_used_at;
          it->second.used = it->second.used || tt->used;
        }
      } else if (auto* a = std::get_if<store::AppendAudit>(&write)) {
        audit_.push_back(a->entry);
        audit_.back().seq = ++audit_seq_;
      } else if (auto* e = std::get_if<store::DeleteAuditBefore>(&write)) {
        std::erase_if(audit_,
                      [&](const store::AuditEntry& entry) { return entry.time < e->before; });
      }
    }
    return ok();
  }

  void failNextApplies(int n, Code code = Code::kUnavailable) {
    std::lock_guard lock(mu_);
    fail_next_ = n;
    fail_code_ = code;
  }
  // apply() waits (on its caller's thread: CommitQueue's) from now until
  // releaseApplies(); heldApplies() counts those waiting.
  void holdApplies() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  void releaseApplies() {
    {
      std::lock_guard lock(mu_);
      hold_ = false;
    }
    released_.notify_all();
  }
  int heldApplies() const {
    std::lock_guard lock(mu_);
    return held_;
  }
  int applies() const {
    std::lock_guard lock(mu_);
    return applies_;
  }
  std::size_t workloadCount() const {
    std::lock_guard lock(mu_);
    return workloads_.size();
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, store::WorkloadRecord> workloads_;
  std::map<std::string, store::NodeRecord> nodes_;
  std::map<std::string, store::TokenRecord> tokens_;
  std::vector<store::AuditEntry> audit_;
  std::int64_t audit_seq_ = 0;
  int fail_next_ = 0;
  Code fail_code_ = Code::kUnavailable;
  int applies_ = 0;
  bool hold_ = false;
  int held_ = 0;
  std::condition_variable released_;
};

}  // namespace zp::testing

// CommitQueue: group commit in front of a Store (docs/architecture.md §8.1,
// §8.4). The GatedStore holds the commit thread inside a transaction so the
// tests decide exactly what is queued while it runs. Two background tests
// sleep briefly to show that something has not happened.

#include "store/commit_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/gated_store.h"

namespace zp::store {
namespace {

using testing::GatedStore;

WorkloadRecord record(const std::string& id) {
  WorkloadRecord r;
  r.spec.id = id;
  r.spec.image = "busybox:1.36";
  r.status.id = id;
  return r;
}

// One write per id.
std::vector<Write> batchOf(std::initializer_list<std::string> ids) {
  std::vector<Write> batch;
  for (const auto& id : ids) batch.push_back(PutWorkload{record(id)});
  return batch;
}

std::string idOf(const Write& write) {
  if (const auto* p = std::get_if<PutWorkload>(&write)) return p->record.spec.id;
  if (const auto* d = std::get_if<DeleteWorkload>(&write)) return "-" + d->id;
  if (const auto* n = std::get_if<PutNode>(&write)) return "node:" + n->node.id;
  return "-node:" + std::get<DeleteNode>(write).id;
}

std::vector<std::string> idsOf(const std::vector<Write>& batch) {
  std::vector<std::string> out;
  for (const auto& w : batch) out.push_back(idOf(w));
  return out;
}

// The ids of the workloads `store` holds, sorted.
std::vector<std::string> storedIds(zp::testing::FakeStore& store) {
  std::vector<std::string> out;
  auto all = store.loadWorkloads();
  EXPECT_TRUE(all);
  if (all) {
    for (const auto& r : *all) out.push_back(r.spec.id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Collects completions by name, from whichever thread calls them.
class Outcomes {
 public:
  CommitQueue::Done doneFor(std::string name) {
    return [this, name](Status status) {
      std::lock_guard lock(mu_);
      results_.emplace(name, std::move(status));
      threads_.emplace(name, std::this_thread::get_id());
      changed_.notify_all();
    };
  }
  void waitFor(std::size_t n) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return results_.size() >= n; });
  }
  bool done(const std::string& name) const {
    std::lock_guard lock(mu_);
    return results_.contains(name);
  }
  Status status(const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = results_.find(name);
    if (it == results_.end()) return fail(Code::kInternal, name + " has not completed");
    return it->second;
  }
  std::thread::id thread(const std::string& name) const {
    std::lock_guard lock(mu_);
    return threads_.at(name);
  }
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return results_.size();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, Status> results_;
  std::map<std::string, std::thread::id> threads_;
};

TEST(CommitQueueTest, ConcurrentSubmissionsShareTransactions) {
  GatedStore store;
  Outcomes outcomes;
  CommitQueue queue(store);
  // The first batch holds the commit thread inside its transaction ...
  store.close();
  queue.submit(batchOf({"first"}), outcomes.doneFor("first"));
  store.waitForApplies(1);
  // ... while many threads submit.
  constexpr int kThreads = 8, kPerThread = 25;
  std::vector<std::thread> submitters;
  for (int t = 0; t < kThreads; ++t) {
    submitters.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "wl-" + std::to_string(t) + "-" + std::to_string(i);
        queue.submit(batchOf({id}), outcomes.doneFor(id));
      }
    });
  }
  for (auto& s : submitters) s.join();
  EXPECT_EQ(outcomes.size(), 0u);  // nobody is told OK before the commit
  store.open();
  outcomes.waitFor(1 + kThreads * kPerThread);

  // Everything queued during the first transaction went into the second one.
  EXPECT_EQ(queue.transactions(), 2u);
  ASSERT_EQ(store.applied().size(), 2u);
  EXPECT_EQ(store.applied()[1].size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(store.inner.workloadCount(), static_cast<std::size_t>(1 + kThreads * kPerThread));
  EXPECT_TRUE(outcomes.status("first"));
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const std::string id = "wl-" + std::to_string(t) + "-" + std::to_string(i);
      EXPECT_TRUE(outcomes.status(id)) << id;
      // Completions run on the commit thread, never on the submitter's.
      EXPECT_EQ(outcomes.thread(id), store.applyThreads()[1]) << id;
    }
  }
}

TEST(CommitQueueTest, BatchesAreAppliedInSubmissionOrder) {
  GatedStore store;
  Outcomes outcomes;
  CommitQueue queue(store);
  store.close();
  queue.submit(batchOf({"a1", "a2"}), outcomes.doneFor("a"));
  store.waitForApplies(1);
  queue.submit(batchOf({"b1"}), outcomes.doneFor("b"));
  queue.submit({PutWorkload{record("c1")}, DeleteWorkload{"a1"}, PutNode{{"n1", "h:1", false, {}}}},
               outcomes.doneFor("c"));
  queue.submit(batchOf({"d1", "d2", "d3"}), outcomes.doneFor("d"));
  store.open();
  outcomes.waitFor(4);

  std::vector<std::string> order;
  for (const auto& batch : store.applied()) {
    for (auto& id : idsOf(batch)) order.push_back(id);
  }
  EXPECT_EQ(order,
            (std::vector<std::string>{"a1", "a2", "b1", "c1", "-a1", "node:n1", "d1", "d2", "d3"}));
  // Order inside the group matters: the delete of a1 came after its put.
  auto all = store.inner.loadWorkloads();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 6u);  // a2 b1 c1 d1 d2 d3: a1 was deleted
}

TEST(CommitQueueTest, AFailedTransactionFailsExactlyItsGroup) {
  GatedStore store;
  Outcomes outcomes;
  CommitQueue queue(store);
  store.close();
  queue.submit(batchOf({"before"}), outcomes.doneFor("before"));
  store.waitForApplies(1);  // "before" is applied; its caller not yet told
  queue.submit(batchOf({"g1"}), outcomes.doneFor("g1"));
  queue.submit(batchOf({"g2", "g3"}), outcomes.doneFor("g2"));
  queue.submit(batchOf({"g4"}), outcomes.doneFor("g4"));
  // The store fails (kUnavailable): the whole group, not tried batch by batch.
  store.inner.failNextApplies(1);
  store.open();
  outcomes.waitFor(4);
  queue.submit(batchOf({"after"}), outcomes.doneFor("after"));
  outcomes.waitFor(5);

  EXPECT_TRUE(outcomes.status("before"));
  for (const char* name : {"g1", "g2", "g4"}) {
    auto s = outcomes.status(name);
    ASSERT_FALSE(s) << name;
    EXPECT_EQ(s.error().code, Code::kUnavailable) << name;
  }
  EXPECT_TRUE(outcomes.status("after"));
  EXPECT_EQ(queue.transactions(), 3u);
  EXPECT_EQ(storedIds(store.inner), (std::vector<std::string>{"after", "before"}));
}

TEST(CommitQueueTest, AFailedGroupIsRetriedBatchByBatch) {
  GatedStore store;
  Outcomes outcomes;
  CommitQueue queue(store);
  store.close();
  queue.submit(batchOf({"before"}), outcomes.doneFor("before"));
  store.waitForApplies(1);
  queue.submit(batchOf({"g1"}), outcomes.doneFor("g1"));
  queue.submit(batchOf({"g2", "g3"}), outcomes.doneFor("g2"));
  queue.submit(batchOf({"g4"}), outcomes.doneFor("g4"));
  // The group fails, and so does g1 alone: the others are not taken down.
  store.inner.failNextApplies(2, Code::kAlreadyExists);
  store.open();
  outcomes.waitFor(4);

  auto g1 = outcomes.status("g1");
  ASSERT_FALSE(g1);
  EXPECT_EQ(g1.error().code, Code::kAlreadyExists);
  EXPECT_TRUE(outcomes.status("g2"));
  EXPECT_TRUE(outcomes.status("g4"));
  EXPECT_EQ(queue.transactions(), 5u);  // before, the group, g1, g2+g3, g4
  EXPECT_EQ(storedIds(store.inner), (std::vector<std::string>{"before", "g2", "g3", "g4"}));
}

TEST(CommitQueueTest, StopAppliesWhatIsQueuedThenRefuses) {
  GatedStore store;
  Outcomes outcomes;
  CommitQueue queue(store);
  store.close();
  queue.submit(batchOf({"running"}), outcomes.doneFor("running"));
  store.waitForApplies(1);
  queue.submit(batchOf({"q1"}), outcomes.doneFor("q1"));
  queue.submit(batchOf({"q2"}), outcomes.doneFor("q2"));

  std::thread stopper([&] { queue.stop(); });
  // Probe until stop() has taken effect: from then on a submit is refused at
  // once, on the caller's thread. Accepted probes are queued and must be
  // applied like any other batch.
  int accepted_probes = 0;
  for (;;) {
    const std::string name = "probe-" + std::to_string(accepted_probes);
    queue.submit({}, outcomes.doneFor(name));
    auto refused = outcomes.done(name) ? outcomes.status(name) : Status{};
    if (!refused) {
      EXPECT_EQ(refused.error().code, Code::kCancelled);
      EXPECT_EQ(outcomes.thread(name), std::this_thread::get_id());
      break;
    }
    ++accepted_probes;
    std::this_thread::yield();
  }
  store.open();
  stopper.join();

  for (const char* name : {"running", "q1", "q2"}) {
    EXPECT_TRUE(outcomes.status(name)) << name;
  }
  for (int i = 0; i < accepted_probes; ++i) {
    EXPECT_TRUE(outcomes.status("probe-" + std::to_string(i))) << i;
  }
  EXPECT_EQ(store.inner.workloadCount(), 3u);

  queue.submit(batchOf({"late"}), outcomes.doneFor("late"));
  auto late = outcomes.status("late");  // completed inline
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Code::kCancelled);
  EXPECT_EQ(store.inner.workloadCount(), 3u);
  queue.stop();  // a second stop is harmless
}

TEST(CommitQueueTest, TheDestructorDrainsTheQueue) {
  GatedStore store;
  Outcomes outcomes;
  {
    CommitQueue queue(store);
    for (int i = 0; i < 50; ++i) {
      queue.submit(batchOf({"wl-" + std::to_string(i)}), outcomes.doneFor(std::to_string(i)));
    }
  }
  EXPECT_EQ(outcomes.size(), 50u);
  EXPECT_EQ(store.inner.workloadCount(), 50u);
}

TEST(CommitQueueTest, AGroupHoldsAtMostMaxGroupWrites) {
  GatedStore store;
  Outcomes outcomes;
  CommitQueue queue(store, /*max_group=*/7);
  store.close();
  queue.submit(batchOf({"x"}), outcomes.doneFor("x"));
  store.waitForApplies(1);
  queue.submit(batchOf({"a1", "a2", "a3"}), outcomes.doneFor("a"));
  queue.submit(batchOf({"b1", "b2", "b3"}), outcomes.doneFor("b"));
  queue.submit(batchOf({"c1", "c2", "c3"}), outcomes.doneFor("c"));  // 9 > 7: next group
  queue.submit(batchOf({"d1"}), outcomes.doneFor("d"));
  // A batch larger than the bound is never split: it is a group of its own.
  queue.submit(batchOf({"e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8"}), outcomes.doneFor("e"));
  queue.submit(batchOf({"f1"}), outcomes.doneFor("f"));
  store.open();
  outcomes.waitFor(7);

  std::vector<std::size_t> sizes;
  for (const auto& batch : store.applied()) sizes.push_back(batch.size());
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1, 6, 4, 8, 1}));
  EXPECT_EQ(queue.transactions(), 5u);
  EXPECT_EQ(store.inner.workloadCount(), 20u);
}

TEST(CommitQueueTest, AReadRunsBetweenTheBatchesAroundIt) {
  GatedStore store;
  Outcomes outcomes;
  CommitQueue queue(store);
  store.close();
  queue.submit(batchOf({"first"}), outcomes.doneFor("first"));
  store.waitForApplies(1);
  queue.submit(batchOf({"a"}), outcomes.doneFor("a"));
  std::optional<std::size_t> seen;
  std::thread::id read_on;
  queue.read([&](Store* s) {
    ASSERT_NE(s, nullptr);
    seen = s->loadWorkloads()->size();
    read_on = std::this_thread::get_id();
  });
  queue.submit(batchOf({"b"}), outcomes.doneFor("b"));
  store.open();
  outcomes.waitFor(3);

  // The read split the group: it saw "first" and "a", not "b".
  ASSERT_TRUE(seen);
  EXPECT_EQ(*seen, 2u);
  std::vector<std::vector<std::string>> groups;
  for (const auto& batch : store.applied()) groups.push_back(idsOf(batch));
  EXPECT_EQ(groups, (std::vector<std::vector<std::string>>{{"first"}, {"a"}, {"b"}}));
  EXPECT_EQ(read_on, store.applyThreads()[0]);  // the commit thread
  EXPECT_EQ(queue.transactions(), 3u);
}

TEST(CommitQueueTest, AReadAfterStopGetsNoStore) {
  GatedStore store;
  CommitQueue queue(store);
  queue.stop();
  bool called = false;
  queue.read([&](Store* s) {
    called = true;
    EXPECT_EQ(s, nullptr);
  });
  EXPECT_TRUE(called);  // inline, on the caller's thread
}

// Background batches (docs/architecture.md §8.4.1). The interval is ten
// minutes, so a background batch that is not pushed on by something else
// would wait for the whole test.
constexpr std::chrono::minutes kLongInterval{10};
constexpr auto kBackground = CommitQueue::Urgency::kBackground;

std::vector<std::vector<std::string>> groupsOf(const GatedStore& store) {
  std::vector<std::vector<std::string>> groups;
  for (const auto& batch : store.applied()) groups.push_back(idsOf(batch));
  return groups;
}

class BackgroundCommitTest : public ::testing::Test {
 protected:
  // A prompt "first", committed: the interval runs from its start.
  void commitFirst() {
    queue_.submit(batchOf({"first"}), outcomes_.doneFor("first"));
    outcomes_.waitFor(1);
  }

  GatedStore store_;
  Outcomes outcomes_;
  CommitQueue queue_{store_, CommitQueue::kDefaultMaxGroup, kLongInterval};
};

TEST_F(BackgroundCommitTest, BatchesWaitForThePromptOneAfterThem) {
  commitFirst();
  queue_.submit(batchOf({"s1"}), outcomes_.doneFor("s1"), kBackground);
  queue_.submit(batchOf({"s2"}), outcomes_.doneFor("s2"), kBackground);
  // Not a timing bound: with a ten-minute interval they cannot be done.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(outcomes_.done("s1"));
  EXPECT_EQ(queue_.pending(), 2u);
  queue_.submit(batchOf({"p"}), outcomes_.doneFor("p"));
  outcomes_.waitFor(4);

  EXPECT_EQ(groupsOf(store_),
            (std::vector<std::vector<std::string>>{{"first"}, {"s1", "s2", "p"}}));
  EXPECT_TRUE(outcomes_.status("s1"));
  EXPECT_TRUE(outcomes_.status("s2"));
}

TEST_F(BackgroundCommitTest, ABatchAfterAQuietSpellCommitsAtOnce) {
  queue_.submit(batchOf({"s"}), outcomes_.doneFor("s"), kBackground);
  outcomes_.waitFor(1);  // the first transaction of a queue waits for nothing
  EXPECT_TRUE(outcomes_.status("s"));
  EXPECT_EQ(queue_.transactions(), 1u);
}

TEST_F(BackgroundCommitTest, AReadTakesTheWaitingBatchesFirst) {
  commitFirst();
  queue_.submit(batchOf({"s"}), outcomes_.doneFor("s"), kBackground);
  std::mutex mu;
  std::condition_variable read;
  std::optional<std::size_t> seen;
  queue_.read([&](Store* s) {
    std::lock_guard lock(mu);
    seen = s->loadWorkloads()->size();
    read.notify_all();
  });
  std::unique_lock lock(mu);
  read.wait(lock, [&] { return seen.has_value(); });
  EXPECT_EQ(*seen, 2u);  // it saw the background write queued before it
  EXPECT_TRUE(outcomes_.done("s"));
}

TEST_F(BackgroundCommitTest, StopCommitsTheWaitingBatches) {
  commitFirst();
  queue_.submit(batchOf({"s"}), outcomes_.doneFor("s"), kBackground);
  queue_.stop();  // returns once everything queued is applied
  EXPECT_TRUE(outcomes_.status("s"));
  EXPECT_EQ(store_.inner.workloadCount(), 2u);
}

TEST_F(BackgroundCommitTest, AReadLeavesLaterBatchesWaiting) {
  commitFirst();
  std::mutex mu;
  std::condition_variable read;
  bool done = false;
  queue_.read([&](Store*) {
    std::lock_guard lock(mu);
    done = true;
    read.notify_all();
  });
  {
    std::unique_lock lock(mu);
    read.wait(lock, [&] { return done; });
  }
  queue_.submit(batchOf({"s"}), outcomes_.doneFor("s"), kBackground);
  // Not a timing bound: with a ten-minute interval it cannot be done.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(outcomes_.done("s"));
  EXPECT_EQ(queue_.pending(), 1u);
}

TEST(CommitQueueTest, ABackgroundBatchCommitsOnItsOwnOnceTheIntervalIsOver) {
  GatedStore store;
  Outcomes outcomes;
  CommitQueue queue(store, CommitQueue::kDefaultMaxGroup, std::chrono::milliseconds(20));
  const auto before_first = std::chrono::steady_clock::now();
  queue.submit(batchOf({"first"}), outcomes.doneFor("first"));
  outcomes.waitFor(1);
  queue.submit(batchOf({"s"}), outcomes.doneFor("s"), kBackground);
  outcomes.waitFor(2);  // nothing else pushes it
  EXPECT_TRUE(outcomes.status("s"));
  EXPECT_EQ(queue.transactions(), 2u);
  // A lower bound only: it waited for the interval after "first" started.
  EXPECT_GE(std::chrono::steady_clock::now() - before_first, std::chrono::milliseconds(20));
}

TEST(CommitQueueTest, AFullGroupOfBackgroundBatchesDoesNotWait) {
  GatedStore store;
  Outcomes outcomes;
  CommitQueue queue(store, /*max_group=*/3, kLongInterval);
  queue.submit(batchOf({"first"}), outcomes.doneFor("first"));
  outcomes.waitFor(1);
  queue.submit(batchOf({"a", "b"}), outcomes.doneFor("ab"), kBackground);
  queue.submit(batchOf({"c"}), outcomes.doneFor("c"), kBackground);
  outcomes.waitFor(3);
  EXPECT_EQ(groupsOf(store), (std::vector<std::vector<std::string>>{{"first"}, {"a", "b", "c"}}));
}

TEST(CommitQueueTest, WithoutAnIntervalBackgroundBatchesCommitAtOnce) {
  GatedStore store;
  Outcomes outcomes;
  CommitQueue queue(store);
  queue.submit(batchOf({"first"}), outcomes.doneFor("first"));
  outcomes.waitFor(1);
  queue.submit(batchOf({"s"}), outcomes.doneFor("s"), kBackground);
  outcomes.waitFor(2);
  EXPECT_TRUE(outcomes.status("s"));
}

}  // namespace
}  // namespace zp::store

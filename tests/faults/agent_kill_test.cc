// Fault scenario agent-kill (scripts/faults): the node's agent is killed with
// SIGKILL again and again while workloads are submitted to and deleted from
// its node. The promises checked (docs/architecture.md §3, §4, §8.5, §8.8):
// every acknowledged (201) workload survives with exactly one sandbox, every
// delete the server took (200, or 503 with its intent stored) is finished,
// and once things settle the API states are what the runtime holds: the
// long-running workloads Running in their sandbox, the exited ones
// Succeeded/Failed with their exit code.
//
// Threads: the test's thread kills and restarts the agent and measures each
// recovery; a submitter thread posts the workloads at a steady pace; a
// deleter thread deletes a fifth of them a few seconds after their 201.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "scenario_support.h"

namespace zp::faults {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Tracked {
  std::string id;
  Kind kind = Kind::kLongRunning;
  int submit_status = 0;  // the POST's HTTP status (0: no answer)
  bool delete_wanted = false;
  int delete_status = 0;  // the DELETE's HTTP status (0: not sent, -1: no answer)
};

class AgentKillTest : public ScenarioTest {
 protected:
  // Everything the threads share, under mu_.
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Tracked> tracked_;
  std::deque<std::pair<Clock::time_point, std::size_t>> delete_queue_;  // (due, index)
  bool submitting_done_ = false;

  void submitAll(int total, std::chrono::milliseconds gap) {
    std::mt19937 rng(7);
    for (int i = 0; i < total; ++i) {
      Tracked t;
      t.id = "ak-" + std::to_string(i);
      t.kind = i % 10 == 8 ? Kind::kExitsZero : i % 10 == 9 ? Kind::kExitsThree : Kind::kLongRunning;
      t.delete_wanted = i % 10 == 1 || i % 10 == 4;
      auto r = tryHttp(cli::HttpMethod::kPost, "/workloads", kindSpec(t.id, t.kind, 1 + (i * 7) % 9));
      t.submit_status = r ? r->status : 0;
      {
        std::lock_guard lock(mu_);
        tracked_.push_back(t);
        if (t.delete_wanted && t.submit_status == 201) {
          delete_queue_.emplace_back(Clock::now() + std::chrono::milliseconds(1000 + rng() % 3000),
                                     tracked_.size() - 1);
          cv_.notify_all();
        }
      }
      std::this_thread::sleep_for(gap);
    }
    std::lock_guard lock(mu_);
    submitting_done_ = true;
    cv_.notify_all();
  }

  void deleteDue() {
    std::unique_lock lock(mu_);
    for (;;) {
      if (delete_queue_.empty()) {
        if (submitting_done_) return;
        cv_.wait_for(lock, 200ms);
        continue;
      }
      auto [due, index] = delete_queue_.front();
      if (Clock::now() < due) {
        cv_.wait_until(lock, due);
        continue;
      }
      delete_queue_.pop_front();
      const std::string id = tracked_[index].id;
      lock.unlock();
      auto r = tryHttp(cli::HttpMethod::kDelete, "/workloads/" + id + "?grace_seconds=1");
      lock.lock();
      tracked_[index].delete_status = r ? r->status : -1;
    }
  }
};

TEST_F(AgentKillTest, KillNineWhileSubmittingAndDeleting) {
  const int kills = scaled(10, 3);
  const int total = scaled(100, 20);
  Agent& agent = addAgent("ak");
  ASSERT_TRUE(startAgent(agent));
  ASSERT_TRUE(startServer());
  waitForNode(agent.id, [](const json& n) { return n["state"] == "Ready"; });

  // About five seconds per kill, the submissions spread over them.
  const auto gap = std::chrono::milliseconds(kills * 5000 / total);
  // Both end by themselves (all submitted, every due delete sent); an early
  // return of the test joins them.
  std::jthread submitter([&] { submitAll(total, gap); });
  std::jthread deleter([&] { deleteDue(); });

  std::mt19937 rng(11);
  std::vector<double> recoveries, ready_after;
  std::set<std::string> duplicated_seen;
  int unrecovered = 0;
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2000 + rng() % 2000));
    agent.process.kill9();
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1200));
    const auto restarted = Clock::now();
    ASSERT_TRUE(startAgent(agent));
    // Back when the node is Ready, nothing of it shows Unknown, and no Running
    // record lacks its sandbox.
    bool ready_seen = false, recovered = false;
    while (secondsSince(restarted) < 60) {
      if (!ready_seen && nodeState(agent.id) == "Ready") {
        ready_seen = true;
        ready_after.push_back(secondsSince(restarted));
      }
      if (ready_seen) {
        auto items = listWorkloads();
        const bool none_unknown =
            items && std::none_of(items->begin(), items->end(), [](const auto& item) {
              return item.second["status"]["state"] == "Unknown";
            });
        auto missing = none_unknown ? runningWithoutSandbox(agent.id) : std::nullopt;
        if (missing && missing->empty() && nodeState(agent.id) == "Ready") {
          recovered = true;
          break;
        }
      }
      std::this_thread::sleep_for(100ms);
    }
    recoveries.push_back(secondsSince(restarted));
    if (!recovered) ++unrecovered;
    if (auto now = census(agent.id)) {
      for (const auto& id : duplicatedIn(*now)) duplicated_seen.insert(id);
    }
  }
  submitter.join();
  deleter.join();

  // Settle: every workload in the state it must end in, every delete done.
  std::vector<Tracked> all;
  {
    std::lock_guard lock(mu_);
    all = tracked_;
  }
  auto settled = [&] {
    auto items = listWorkloads();
    if (!items) return false;
    for (const auto& t : all) {
      if (t.submit_status != 201) continue;
      auto it = items->find(t.id);
      if (t.delete_wanted && t.delete_status != 0) {
        if ((t.delete_status == 200 || t.delete_status == 503) && it != items->end()) return false;
      } else if (it == items->end() || it->second["status"]["state"] != expectedState(t.kind)) {
        return false;
      }
    }
    return true;
  };
  const auto settle_start = Clock::now();
  while (secondsSince(settle_start) < 120 && !settled()) std::this_thread::sleep_for(250ms);
  const double settle_seconds = secondsSince(settle_start);

  auto items = listWorkloads();
  ASSERT_TRUE(items.has_value());
  auto runtime = census(agent.id);
  ASSERT_TRUE(runtime) << runtime.error().message;
  int lost = 0, wrong = 0, deletes_acknowledged = 0, deletes_pending = 0, deletes_undone = 0;
  int refused = 0, accepted = 0, deletes_refused = 0;
  json problems = json::array();
  for (const auto& t : all) {
    auto entry = runtime->find(t.id);
    const std::size_t sandboxes = entry == runtime->end() ? 0 : entry->second.sandbox_ids.size();
    if (sandboxes > 1) duplicated_seen.insert(t.id);
    if (t.submit_status != 201) {
      ++refused;
      continue;
    }
    ++accepted;
    auto it = items->find(t.id);
    if (t.delete_wanted && t.delete_status != 0) {
      if (t.delete_status != 200 && t.delete_status != 503) {
        // 404: the record was gone before its delete; -1 (no answer) or
        // another status: the delete's fate is unknown.
        (t.delete_status == 404 ? lost : deletes_refused)++;
        problems.push_back({{"id", t.id}, {"delete_status", t.delete_status}});
        continue;
      }
      (t.delete_status == 200 ? deletes_acknowledged : deletes_pending)++;
      if (it != items->end() || sandboxes != 0) {
        ++deletes_undone;
        problems.push_back({{"id", t.id}, {"delete_status", t.delete_status}, {"sandboxes", sandboxes},
                            {"record", it == items->end() ? json() : it->second["status"]}});
      }
      continue;
    }
    if (it == items->end()) {
      ++lost;
      problems.push_back({{"id", t.id}, {"lost", "no record"}});
      continue;
    }
    const json& status = it->second["status"];
    const std::string state = status.value("state", "");
    if (!isFinal(state) && sandboxes == 0) {
      ++lost;
      problems.push_back({{"id", t.id}, {"lost", "no sandbox"}, {"status", status}});
      continue;
    }
    bool right = state == expectedState(t.kind);
    if (right && t.kind == Kind::kLongRunning) {
      // The record names the sandbox and container the runtime runs.
      const auto& e = entry->second;
      right = std::count(e.ready_sandbox_ids.begin(), e.ready_sandbox_ids.end(),
                         status.value("sandbox_id", "")) == 1 &&
              std::count(e.running_containers.begin(), e.running_containers.end(),
                         status.value("container_id", "")) == 1;
    }
    if (right && t.kind != Kind::kLongRunning) {
      right = status.value("exit_code", -1) == (t.kind == Kind::kExitsZero ? 0 : 3);
    }
    if (!right) {
      ++wrong;
      problems.push_back({{"id", t.id}, {"expected", expectedState(t.kind)}, {"status", status}});
    }
  }
  // Workloads of the node the test never asked for.
  int strays = 0;
  for (const auto& [id, entry] : *runtime) {
    if (std::none_of(all.begin(), all.end(), [&](const Tracked& t) { return t.id == id; })) ++strays;
  }

  FaultFigures figures;
  figures.scenario = "agent-kill";
  figures.faults = std::to_string(kills) + " x SIGKILL of the agent";
  figures.workloads = total;
  figures.lost = lost + deletes_undone;
  figures.duplicated = static_cast<int>(duplicated_seen.size());
  figures.wrong_state = wrong;
  figures.recover_seconds = recoveries.empty() ? 0 : *std::max_element(recoveries.begin(), recoveries.end());
  figures.details = {{"recovery_seconds", summarize(recoveries)},
                     {"node_ready_seconds", summarize(ready_after)},
                     {"unrecovered_within_60s", unrecovered},
                     {"accepted", accepted},
                     {"refused", refused},
                     {"deletes_200", deletes_acknowledged},
                     {"deletes_503_finished_later", deletes_pending},
                     {"deletes_undone", deletes_undone},
                     {"deletes_refused", deletes_refused},
                     {"strays", strays},
                     {"settle_seconds", summarize({settle_seconds})["max"]},
                     {"problems", problems}};
  report(figures);
  EXPECT_EQ(figures.lost, 0) << problems.dump(1);
  EXPECT_EQ(figures.duplicated, 0);
  EXPECT_EQ(figures.wrong_state, 0) << problems.dump(1);
  EXPECT_EQ(unrecovered, 0);
  EXPECT_EQ(strays, 0);
  EXPECT_EQ(refused, 0);
  EXPECT_EQ(deletes_refused, 0) << problems.dump(1);
}

}  // namespace
}  // namespace zp::faults

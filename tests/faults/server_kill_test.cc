// server-kill: the server is killed with SIGKILL at random moments while
// client threads submit (and delete) workloads over HTTPS, and restarted on the
// same database and port each time. Afterwards every workload whose submit was
// answered 201 exists and runs exactly once (one sandbox, one container
// attempt), none whose submit was answered an error exists or runs, every
// acknowledged delete stayed done, and a request cut off by the kill left its
// workload either whole (present, running once) or absent
// (docs/architecture.md §8.4, §8.8, §11.1).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli/beast_http_client.h"
#include "cli/server_url.h"
#include "fault_fixture.h"
#include "stack_census.h"

namespace zp::faults {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// How a request ended, as its client saw it.
enum class Outcome {
  kAcknowledged,   // 201 (submit) or 200 (delete)
  kRefused,        // an HTTP error answer, or no connection at all: nothing happened
  kIndeterminate,  // cut off after it was sent: it may or may not have happened
};

struct Submission {
  Outcome submit = Outcome::kRefused;
  std::string uid;  // the placement the 201 named (empty otherwise)
  bool delete_sent = false;
  Outcome removal = Outcome::kRefused;  // when delete_sent
};

// Every request the clients made, by workload id. Thread-safe.
class Ledger {
 public:
  void submitted(const std::string& id, Outcome outcome, std::string uid = {}) {
    std::lock_guard lock(mu_);
    entries_[id].submit = outcome;
    entries_[id].uid = std::move(uid);
  }
  void deleted(const std::string& id, Outcome outcome) {
    std::lock_guard lock(mu_);
    entries_[id].delete_sent = true;
    entries_[id].removal = outcome;
  }
  std::map<std::string, Submission> snapshot() const {
    std::lock_guard lock(mu_);
    return entries_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Submission> entries_;
};

// One client thread's own HTTPS connection per request (BeastHttpClient is
// not shared between threads): the API at a fixed URL, the test CA, the token.
class ApiClient {
 public:
  ApiClient(const std::string& url, const std::string& ca, const std::string& token)
      : url_(*cli::parseServerUrl(url)) {
    credentials_.ca_file = ca;
    credentials_.token = token;
  }
  Result<cli::HttpResponse> send(cli::HttpMethod method, const std::string& target,
                                 const std::string& body = {}) {
    cli::BeastHttpClient client(url_, 10s, credentials_);
    return client.send({method, target, body});
  }
  // A transport error: refused when the request was never sent (no
  // connection, or the TLS handshake failed: BeastHttpClient sends after
  // it), indeterminate otherwise.
  static Outcome classify(const Error& error) {
    const bool unsent = error.message.starts_with("cannot reach zoneplane server") ||
                        (error.message.starts_with("TLS handshake with zoneplane server") &&
                         error.code == Code::kUnavailable);
    return unsent ? Outcome::kRefused : Outcome::kIndeterminate;
  }

 private:
  cli::ServerUrl url_;
  cli::ClientCredentials credentials_;
};

class ServerKillTest : public FaultTest {
 protected:
  // A long-running workload that must never restart.
  std::string workload(const std::string& id) {
    json body = json::parse(spec(id, "exec sleep 100000", "native", 16));
    body["cpu_millicores"] = 10;
    body["restart_policy"] = "Never";
    return body.dump();
  }

  // Every node of the test Ready (the server has resynced them all).
  bool allNodesReady() {
    auto nodes = tryHttp(cli::HttpMethod::kGet, "/nodes");
    if (!nodes || nodes->status != 200 || !nodes->body["items"].is_array()) return false;
    std::size_t ready = 0;
    for (const auto& node : nodes->body["items"]) {
      ready += node.value("state", "") == "Ready" ? 1 : 0;
    }
    return ready == agents_.size();
  }

  // One client: submits workloads `sk-<suffix>-<client>-<n>` until `stop`
  // (while `budget` lasts), deleting about one in three right after its 201.
  // `api` is the thread's own.
  void client(int index, ApiClient api, std::atomic<bool>& stop, std::atomic<int>& budget,
              Ledger& ledger) {
    std::mt19937 random(static_cast<unsigned>(index * 7919 + 17));
    for (int n = 0; !stop.load(); ++n) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50 + random() % 200));
      if (budget.fetch_sub(1) <= 0) continue;
      const std::string id =
          "sk-" + suffix_ + "-" + std::to_string(index) + "-" + std::to_string(n);
      auto answer = api.send(cli::HttpMethod::kPost, "/workloads", workload(id));
      if (!answer) {
        ledger.submitted(id, ApiClient::classify(answer.error()));
        continue;
      }
      if (answer->status == 201) {
        const json body = json::parse(answer->body, nullptr, false);
        ledger.submitted(id, Outcome::kAcknowledged,
                         body.is_object() ? body["status"].value("uid", "") : "");
      } else {
        ledger.submitted(id, Outcome::kRefused);
      }
      if (answer->status != 201 || random() % 3 != 0) continue;
      auto removed = api.send(cli::HttpMethod::kDelete, "/workloads/" + id + "?grace_seconds=0");
      if (!removed) {
        ledger.deleted(id, ApiClient::classify(removed.error()));
      } else {
        ledger.deleted(id, removed->status == 200 ? Outcome::kAcknowledged : Outcome::kRefused);
      }
    }
  }
};

TEST_F(ServerKillTest, AcknowledgedWorkloadsSurviveAndRunOnce) {
  const int kills = scaled(20, 4);
  // Submissions allowed per kill cycle: the load comes back after each
  // restart without piling up hundreds of pods.
  const int per_cycle = 10;
  const int clients = 3;
  server_listen_ = "127.0.0.1:" + std::to_string(testsupport::freePort());
  auto& a = addAgent("a");
  auto& b = addAgent("b");
  ASSERT_TRUE(startAgent(a));
  ASSERT_TRUE(startAgent(b));
  ASSERT_TRUE(startServer());
  for (auto* agent : {&a, &b}) {
    waitForNode(agent->id, [](const json& n) { return n["state"] == "Ready"; });
  }

  Ledger ledger;
  std::atomic<bool> stop{false};
  std::atomic<int> budget{per_cycle};
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    ApiClient api(server_url_, pki_.ca_cert_path, token_);
    threads.emplace_back([&, i, api] { client(i, api, stop, budget, ledger); });
  }

  // The kills, at random moments; each restart on the same data dir and port.
  std::mt19937 random(std::random_device{}());
  std::vector<double> recoveries;
  bool restarted = true;
  for (int k = 0; k < kills && restarted; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + random() % 2500));
    server_.kill9();
    const auto killed = Clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % 500));
    restarted = static_cast<bool>(startServer());
    EXPECT_TRUE(restarted) << "restart " << k + 1 << ":\n"
                           << testsupport::logTail(dir_ / "server.log");
    const auto deadline = Clock::now() + 90s;
    while (restarted && !allNodesReady() && Clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
    }
    recoveries.push_back(std::chrono::duration<double>(Clock::now() - killed).count());
    budget = per_cycle;
  }
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_TRUE(restarted);
  ASSERT_TRUE(allNodesReady());

  // Settling: every workload the API has is Running and none is being
  // deleted (a delete answered 503 is finished by the server).
  const auto settled_by = Clock::now() + std::chrono::seconds(scaled(240, 90));
  const auto settle_start = Clock::now();
  json items;
  for (;;) {
    auto list = tryHttp(cli::HttpMethod::kGet, "/workloads");
    if (list && list->status == 200) {
      items = list->body["items"];
      const bool settled = std::all_of(items.begin(), items.end(), [](const json& w) {
        return w["status"]["state"] == "Running" && w["status"]["reason"] != "Terminating";
      });
      if (settled) break;
    }
    if (Clock::now() > settled_by) break;
    std::this_thread::sleep_for(500ms);
  }
  const double settle_seconds = std::chrono::duration<double>(Clock::now() - settle_start).count();
  std::map<std::string, json> shown;
  for (const auto& w : items) shown[w["spec"]["id"].get<std::string>()] = w;

  auto copies = census(endpoint_, {a.id, b.id});
  ASSERT_TRUE(copies) << copies.error().message;

  int lost = 0, duplicated = 0, wrong_state = 0;
  std::map<std::string, int> counts;
  std::vector<std::string> problems;
  auto problem = [&](int& figure, const std::string& id, const std::string& what) {
    ++figure;
    problems.push_back(id + ": " + what);
  };
  const auto ledger_now = ledger.snapshot();
  for (const auto& [id, s] : ledger_now) {
    const auto it = shown.find(id);
    const bool present = it != shown.end();
    const Copies c = copies->contains(id) ? copies->at(id) : Copies{};
    const bool runs_once = present && it->second["status"]["state"] == "Running" &&
                           it->second["status"]["restart_count"] == 0 && c.sandboxes == 1 &&
                           c.ready_sandboxes == 1 && c.containers == 1 && c.max_attempt == 0;
    const bool absent = !present && c.sandboxes == 0;
    if (c.sandboxes > 1 || c.containers > 1 || c.max_attempt > 0) {
      problem(duplicated, id,
              std::to_string(c.sandboxes) + " sandboxes, " + std::to_string(c.containers) +
                  " containers, attempt " + std::to_string(c.max_attempt));
      continue;
    }
    if (s.delete_sent && s.removal == Outcome::kAcknowledged) {
      ++counts["deleted"];
      if (!absent) problem(lost, id, "an acknowledged delete was undone");
      continue;
    }
    if (s.delete_sent) {  // refused or cut off: either still whole or gone
      ++counts["delete_unacknowledged"];
      if (!absent && !runs_once) problem(wrong_state, id, "half deleted");
      continue;
    }
    switch (s.submit) {
      case Outcome::kAcknowledged:
        ++counts["acknowledged"];
        if (!present) {
          problem(lost, id, "acknowledged and missing");
        } else if (!runs_once) {
          problem(wrong_state, id, "does not run exactly once: " + it->second["status"].dump());
        } else if (s.uid.empty() || it->second["status"]["uid"] != s.uid ||
                   c.uids != std::set<std::string>{s.uid}) {
          // Placed again since its 201: its first copy ran and was replaced.
          problem(duplicated, id,
                  "placement " + s.uid + " acknowledged, now " +
                      it->second["status"]["uid"].dump() + " runs");
        }
        break;
      case Outcome::kRefused:
        ++counts["refused"];
        if (!absent) problem(wrong_state, id, "refused but exists or runs");
        break;
      case Outcome::kIndeterminate:
        ++counts["indeterminate"];
        if (present) ++counts["indeterminate_present"];
        if (!absent && !runs_once) problem(wrong_state, id, "cut off and half done");
        break;
    }
  }
  // Nothing else of this test's on the API or the stack.
  for (const auto& [id, w] : shown) {
    if (!ledger_now.contains(id)) problem(wrong_state, id, "shown but never submitted");
  }
  for (const auto& [id, c] : *copies) {
    if (!ledger_now.contains(id)) problem(wrong_state, id, "runs but never submitted");
  }

  const double worst =
      recoveries.empty() ? 0 : *std::max_element(recoveries.begin(), recoveries.end());
  json details{{"kills", recoveries.size()},
               {"clients", clients},
               {"recover_seconds_each", recoveries},
               {"settle_seconds", settle_seconds},
               {"sqlite", "journal_mode=WAL, synchronous=FULL; 201 after COMMIT"}};
  for (const auto& [name, n] : counts) details[name] = n;
  report(FaultFigures{"server-kill",
                      std::to_string(recoveries.size()) + " x SIGKILL of the server under " +
                          std::to_string(clients) + " submitting clients",
                      static_cast<int>(ledger_now.size()), lost, duplicated, wrong_state, worst,
                      details});
  for (const auto& p : problems) ADD_FAILURE() << p;
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(wrong_state, 0);
  EXPECT_GT(counts["acknowledged"], 0);

  // Clean up while the server runs: every remaining workload deleted.
  for (const auto& [id, w] : shown) {
    tryHttp(cli::HttpMethod::kDelete, "/workloads/" + id + "?grace_seconds=0");
  }
}

}  // namespace
}  // namespace zp::faults

#pragma once
// Keeps stored workloads and their agents in step: delivers StartWorkload,
// observes status (GetStatus / one ListWorkloads per node), removes.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "api/workload.h"
#include "common/status.h"
#include "common/time.h"
#include "server/agent_client.h"
#include "server/delivery_backoff.h"
#include "server/node_pool.h"
#include "server/workload_locks.h"
#include "store/store.h"

namespace zp::server {

struct AgentTimeouts {
  std::chrono::milliseconds status{2'000};     // GetStatus, ListWorkloads
  std::chrono::milliseconds node_info{2'000};  // NodeInfo
  std::chrono::milliseconds start{10'000};     // StartWorkload
  std::chrono::milliseconds remove{30'000};    // RemoveWorkload (stops the container first)
};

// The workload operations shared by the HTTP handlers and the reconciler.
// Owns nothing but the per-workload locks; uses the store (the only writer is
// this server), the node pool and the agent client. Runs on the server's
// single executor; not thread-safe.
//
// Rules: the store keeps the last state an agent reported; an unreachable
// node never overwrites it (callers get an "Unknown"/NodeUnreachable view).
// A delivery that fails for a transient reason (agent unreachable, no answer
// in time, an internal error) is retried with per-workload exponential
// backoff (DeliveryBackoff); any other agent Error is the node's permanent
// refusal and ends the workload Failed with reason DeliveryFailed.
// StartWorkload and RemoveWorkload for one id are serialized by a lock and
// re-read the record under it, so a re-send never resurrects a deleted
// workload.
class WorkloadController {
 public:
  WorkloadController(store::Store& store, NodePool& pool, AgentClient& agents, const Clock& clock,
                     AgentTimeouts timeouts, BackoffOptions backoff = {});

  // Sends StartWorkload for a stored, non-terminal record and stores the
  // answer. A transient failure leaves it Pending with a message saying why
  // and when the next attempt is due (and schedules that attempt); a
  // permanent refusal (isPermanentRefusal) makes it Failed/DeliveryFailed
  // with the agent's message. nullopt when the record no longer exists.
  // Sends regardless of the backoff: re-senders check deliveryDue() first.
  boost::asio::awaitable<std::optional<api::WorkloadStatus>> deliver(std::string id);
  // False while `id` waits out its backoff after a failed delivery.
  bool deliveryDue(const std::string& id) const { return backoff_.due(id); }

  // Current status of one workload, from its agent (GetStatus). Agent answers
  // NotFound: terminal records keep their stored status, others are re-sent
  // (deliver, when due) and answer Pending.
  boost::asio::awaitable<api::WorkloadStatus> observe(store::WorkloadRecord record);

  struct Observed {
    api::WorkloadStatus status;  // what to show
    bool missing = false;        // agent reachable but does not know it (non-terminal only)
  };
  // Like observe for many records with one ListWorkloads per node; results are
  // in the order of `records`. Does not re-send anything.
  boost::asio::awaitable<std::vector<Observed>> observeAll(
      const std::vector<store::WorkloadRecord>& records);

  // RemoveWorkload on the owning agent, then deletes the record; returns the
  // deleted record. Agent NotFound counts as removed. kUnavailable when the
  // agent cannot be reached (the record is kept); kNotFound for unknown ids.
  // `grace`: time the container gets between SIGTERM and SIGKILL.
  boost::asio::awaitable<Result<store::WorkloadRecord>> remove(std::string id,
                                                               std::chrono::seconds grace);

  // The resources requested on each node by non-terminal records.
  static std::map<std::string, api::Resources> requestedPerNode(
      const std::vector<store::WorkloadRecord>& records);

 private:
  // The agent's status with the server's identity fields (id, node, created_at).
  static api::WorkloadStatus fromAgent(const store::WorkloadRecord& record,
                                       api::WorkloadStatus status);
  static api::WorkloadStatus unreachable(const store::WorkloadRecord& record,
                                         const std::string& why);
  // Writes `status` unless it equals the stored one; a vanished record is fine.
  void save(const store::WorkloadRecord& record, const api::WorkloadStatus& status);

  store::Store& store_;
  NodePool& pool_;
  AgentClient& agents_;
  const Clock& clock_;
  AgentTimeouts timeouts_;
  WorkloadLocks locks_;
  DeliveryBackoff backoff_;
};

// True for an agent's answer to StartWorkload that re-sending cannot change:
// every Error code except the transient ones (Unavailable, DeadlineExceeded,
// Cancelled, Internal).
bool isPermanentRefusal(const Error& error);
// An Internal error still there at this attempt ends the workload
// DeliveryFailed: transient at first, final once it persists.
inline constexpr int kMaxInternalErrorAttempts = 5;

}  // namespace zp::server

#include "server/workload_controller.h"

#include <spdlog/spdlog.h>

#include <map>

#include "server/concurrently.h"

namespace zp::server {

namespace asio = boost::asio;
using store::WorkloadRecord;

bool isPermanentRefusal(const Error& error) {
  switch (error.code) {
    case Code::kUnavailable:
    case Code::kDeadlineExceeded:
    case Code::kCancelled:
    case Code::kInternal:
      return false;
    default:
      return true;
  }
}

namespace {
std::string seconds(std::chrono::milliseconds wait) {
  return std::to_string((wait.count() + 999) / 1000) + "s";
}
}  // namespace

WorkloadController::WorkloadController(store::Store& store, NodePool& pool, AgentClient& agents,
                                       const Clock& clock, AgentTimeouts timeouts,
                                       BackoffOptions backoff)
    : store_(store),
      pool_(pool),
      agents_(agents),
      clock_(clock),
      timeouts_(timeouts),
      backoff_(backoff, clock) {}

std::map<std::string, api::Resources> WorkloadController::requestedPerNode(
    const std::vector<WorkloadRecord>& records) {
  std::map<std::string, api::Resources> out;
  for (const auto& record : records) {
    if (record.node.empty() || api::isTerminal(record.status.state)) continue;
    auto& sum = out[record.node];
    sum.memory_mb += record.spec.memory_mb;
    sum.cpu_millicores += record.spec.cpu_millicores;
  }
  return out;
}

api::WorkloadStatus WorkloadController::fromAgent(const WorkloadRecord& record,
                                                  api::WorkloadStatus status) {
  status.id = record.spec.id;
  status.node = record.node;
  status.created_at = record.status.created_at;
  return status;
}

api::WorkloadStatus WorkloadController::unreachable(const WorkloadRecord& record,
                                                    const std::string& why) {
  api::WorkloadStatus status = record.status;
  status.state = api::WorkloadState::kUnknown;
  status.reason = std::string(api::reason::kNodeUnreachable);
  status.message = "node \"" + record.node + "\" is unreachable (last known state " +
                   std::string(api::stateName(record.status.state)) + "): " + why;
  return status;
}

void WorkloadController::save(const WorkloadRecord& record, const api::WorkloadStatus& status) {
  if (status == record.status) return;
  auto saved = store_.updateStatus(record.spec.id, status, clock_.now());
  if (!saved && saved.error().code != Code::kNotFound) {
    spdlog::error("cannot store the status of workload \"{}\": {}", record.spec.id,
                  saved.error().toString());
  }
}

asio::awaitable<std::optional<api::WorkloadStatus>> WorkloadController::deliver(std::string id) {
  auto guard = co_await locks_.acquire(id);
  auto record = store_.get(id);
  if (!record) {  // deleted while we waited
    backoff_.clear(id);
    co_return std::nullopt;
  }
  if (api::isTerminal(record->status.state)) {
    backoff_.clear(id);
    co_return record->status;
  }
  const NodePool::Node* node = pool_.find(record->node);
  if (node == nullptr) co_return record->status;

  protocol::RequestBody request = protocol::StartWorkload{record->spec};
  auto answer = co_await agents_.call(node->config.address, std::move(request), timeouts_.start);
  auto reply = expectReply<api::WorkloadStatus>(std::move(answer), "StartWorkload");
  api::WorkloadStatus status = record->status;
  if (reply) {
    backoff_.clear(id);
    status = fromAgent(*record, std::move(*reply));
  } else if (reply.error().code == Code::kCancelled) {
    co_return record->status;  // the server is stopping; the next start re-sends
  } else if (isPermanentRefusal(reply.error()) ||
             (reply.error().code == Code::kInternal &&
              backoff_.failures(id) + 1 >= kMaxInternalErrorAttempts)) {
    // An internal error may pass (a node restarting), but one that persists
    // across attempts is as final as a refusal: never retry forever.
    const int attempts = backoff_.failures(id) + 1;
    backoff_.clear(id);
    spdlog::warn("node \"{}\" refused workload \"{}\": {}", record->node, id,
                 reply.error().toString());
    status.state = api::WorkloadState::kFailed;
    status.reason = std::string(api::reason::kDeliveryFailed);
    status.message = "node \"" + record->node + "\" refused the workload (" +
                     std::string(codeName(reply.error().code)) +
                     (attempts > 1 ? ", " + std::to_string(attempts) + " attempts" : "") +
                     "): " + reply.error().message;
    status.finished_at = clock_.now();
  } else {
    const auto wait = backoff_.failed(id);
    const int attempts = backoff_.failures(id);
    spdlog::info("workload \"{}\" not yet delivered to node \"{}\" (attempt {}; next in {}): {}",
                 id, record->node, attempts, seconds(wait), reply.error().message);
    status.state = api::WorkloadState::kPending;
    status.reason = std::string(api::reason::kScheduled);
    status.message = "not yet delivered to node \"" + record->node + "\" (attempt " +
                     std::to_string(attempts) + " failed; next attempt in " + seconds(wait) +
                     "): " + reply.error().message;
  }
  save(*record, status);
  co_return status;
}

asio::awaitable<api::WorkloadStatus> WorkloadController::observe(WorkloadRecord record) {
  const NodePool::Node* node = pool_.find(record.node);
  if (node == nullptr) {
    if (record.node.empty()) co_return record.status;
    co_return unreachable(record, "it is not in the server's configuration");
  }
  protocol::RequestBody request = protocol::GetStatus{record.spec.id};
  auto answer = co_await agents_.call(node->config.address, std::move(request), timeouts_.status);
  auto reply = expectReply<api::WorkloadStatus>(std::move(answer), "GetStatus");
  if (reply) {
    auto status = fromAgent(record, std::move(*reply));
    save(record, status);
    co_return status;
  }
  if (reply.error().code == Code::kNotFound) {
    if (api::isTerminal(record.status.state)) co_return record.status;
    if (!deliveryDue(record.spec.id)) co_return record.status;  // its message says when
    std::string id = record.spec.id;
    auto delivered = co_await deliver(std::move(id));
    co_return delivered.value_or(record.status);
  }
  if (isUnreachable(reply.error())) co_return unreachable(record, reply.error().message);
  spdlog::warn("cannot refresh workload \"{}\": {}", record.spec.id, reply.error().toString());
  co_return record.status;
}

asio::awaitable<std::vector<WorkloadController::Observed>> WorkloadController::observeAll(
    const std::vector<WorkloadRecord>& records) {
  std::vector<Observed> out(records.size());
  std::map<std::string, std::vector<std::size_t>> by_node;  // node id -> indices
  for (std::size_t i = 0; i < records.size(); ++i) {
    out[i].status = records[i].status;
    if (!records[i].node.empty()) by_node[records[i].node].push_back(i);
  }
  std::vector<Task> tasks;
  for (const auto& entry : by_node) {
    const std::vector<std::size_t>* indices = &entry.second;
    const NodePool::Node* node = pool_.find(entry.first);
    if (node == nullptr) {
      for (auto i : *indices) {
        out[i].status = unreachable(records[i], "it is not in the server's configuration");
      }
      continue;
    }
    tasks.push_back([this, node, indices, &records, &out]() -> asio::awaitable<void> {
      protocol::RequestBody request = protocol::ListWorkloads{};
      auto answer =
          co_await agents_.call(node->config.address, std::move(request), timeouts_.status);
      auto list = expectReply<protocol::WorkloadList>(std::move(answer), "ListWorkloads");
      if (!list) {
        for (auto i : *indices) {
          if (isUnreachable(list.error())) {
            out[i].status = unreachable(records[i], list.error().message);
          }
        }
        if (!isUnreachable(list.error())) {
          spdlog::warn("cannot list workloads on node \"{}\": {}", node->config.id,
                       list.error().toString());
        }
        co_return;
      }
      std::map<std::string, api::WorkloadStatus*> reported;
      for (auto& status : list->items) reported[status.id] = &status;
      for (auto i : *indices) {
        const WorkloadRecord& record = records[i];
        auto it = reported.find(record.spec.id);
        if (it != reported.end()) {
          out[i].status = fromAgent(record, *it->second);
          save(record, out[i].status);
        } else if (!api::isTerminal(record.status.state)) {
          out[i].missing = true;
          // While backing off, the stored status says why and when.
          if (!deliveryDue(record.spec.id)) continue;
          out[i].status.state = api::WorkloadState::kPending;
          out[i].status.reason = std::string(api::reason::kScheduled);
          out[i].status.message = "not (yet) on node \"" + record.node + "\"; it is being re-sent";
        }
      }
    });
  }
  co_await runConcurrently(std::move(tasks));
  co_return out;
}

asio::awaitable<Result<WorkloadRecord>> WorkloadController::remove(std::string id,
                                                                  std::chrono::seconds grace) {
  auto guard = co_await locks_.acquire(id);
  auto record = store_.get(id);
  if (!record) co_return fail(record.error());
  const NodePool::Node* node = pool_.find(record->node);
  if (node == nullptr && !record->node.empty()) {
    spdlog::warn(
        "deleting workload \"{}\" of node \"{}\", which is no longer configured; "
        "nothing was removed on that node",
        id, record->node);
  }
  if (node != nullptr) {
    protocol::RequestBody request = protocol::RemoveWorkload{id, grace.count()};
    // The agent may use the whole grace period before it answers.
    const auto timeout = timeouts_.remove + std::chrono::duration_cast<std::chrono::milliseconds>(grace);
    auto reply = co_await agents_.call(node->config.address, std::move(request), timeout);
    if (!reply && reply.error().code != Code::kNotFound) {
      if (isUnreachable(reply.error())) {
        co_return fail(
            Code::kUnavailable,
            "node \"" + record->node + "\" is unreachable, so workload \"" + id +
                "\" was not removed and its record is kept; retry later: " + reply.error().message);
      }
      co_return fail(reply.error().code, "node \"" + record->node +
                                             "\" could not remove workload \"" + id +
                                             "\": " + reply.error().message);
    }
  }
  if (auto removed = store_.remove(id); !removed) co_return fail(removed.error());
  backoff_.clear(id);
  spdlog::info("workload \"{}\" removed from node \"{}\"", id, record->node);
  co_return std::move(*record);
}

}  // namespace zp::server

// NodeRegistry: probes on demand (POST /nodes/{id}/probe, docs/architecture.md
// §10.3). One ProbeIsolation in flight per (node, class), joined by later
// requests; at most options.max_probe_calls of a node's call slots used by
// probes, so probes never hold the slots its workload calls need.

#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/async_event.h"
#include "server/nodes/node_registry.h"

namespace zp::server {

namespace asio = boost::asio;

// One probe of a (node, class): the request that started it runs it, later
// ones wait for its answer. Shared by everyone waiting.
struct NodeRegistry::ProbeJob {
  explicit ProbeJob(const asio::any_io_executor& executor) : done(executor) {}
  AsyncEvent done;                        // notified once `result` is set
  std::optional<Result<NodeView>> result;
};

namespace {

// Gives a probe slot back when the probe ends, however it ends.
struct SlotRelease {
  std::shared_ptr<AsyncSlots> slots;
  ~SlotRelease() { slots->release(); }
};

std::string named(const std::string& runtime_class) {
  return runtime_class.empty() ? "every class" : "class \"" + runtime_class + "\"";
}

}  // namespace

asio::awaitable<Result<NodeView>> NodeRegistry::probe(std::string id, std::string runtime_class) {
  Node* node = find(id);
  if (node == nullptr || node->removing) {
    co_return fail(Code::kNotFound, "no node \"" + id.substr(0, 80) + "\"");
  }
  if (stopped_) co_return fail(Code::kCancelled, "the server is shutting down");
  // A probe of the class, or of every class when the node offers the class
  // (an unknown one is the agent's NotFound), already in flight answers this
  // request too.
  const auto& offered = node->info ? node->info->runtime_classes : node->configured_classes;
  std::shared_ptr<ProbeJob> job;
  if (auto it = node->probes.find(runtime_class); it != node->probes.end()) {
    job = it->second;
  } else if (auto all = node->probes.find("");
             all != node->probes.end() &&
             std::binary_search(offered.begin(), offered.end(), runtime_class)) {
    job = all->second;
  }
  if (job) {
    while (!job->result) co_await job->done.wait();
    co_return *job->result;
  }
  job = std::make_shared<ProbeJob>(executor_);
  node->probes.emplace(runtime_class, job);
  auto run = runProbe(id, runtime_class, node->link, node->probe_slots);
  Result<NodeView> result = co_await std::move(run);
  if (Node* after = find(id)) {
    if (auto it = after->probes.find(runtime_class); it != after->probes.end() && it->second == job) {
      after->probes.erase(it);
    }
  }
  job->result = result;
  job->done.notify();
  co_return result;
}

asio::awaitable<Result<NodeView>> NodeRegistry::runProbe(std::string id, std::string runtime_class,
                                                         std::shared_ptr<AgentLink> link,
                                                         std::shared_ptr<AsyncSlots> slots) {
  const std::string what = "ProbeIsolation (" + named(runtime_class) + ") to node \"" + id + "\"";
  const auto timeout = options_.probe_timeout;
  const auto deadline = asio::steady_timer::clock_type::now() + timeout;
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
  const AsyncSlots::Wait waited = co_await slots->acquire(deadline);
  if (waited == AsyncSlots::Wait::kTimedOut) {
    co_return fail(Code::kDeadlineExceeded,
                   what + ": no answer within " + std::to_string(seconds) +
                       " s (waited for the node's other probes)");
  }
  if (waited == AsyncSlots::Wait::kClosed) {
    co_return fail(probeFailure(id, link.get(),
                                Error{Code::kCancelled, what + ": the server is shutting down", ""}));
  }
  SlotRelease release{slots};
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(
      deadline - asio::steady_timer::clock_type::now());
  if (left <= std::chrono::milliseconds::zero()) {
    co_return fail(Code::kDeadlineExceeded,
                   what + ": no answer within " + std::to_string(seconds) + " s");
  }
  protocol::RequestBody request = protocol::ProbeIsolation{runtime_class};
  auto reply = co_await link->call(std::move(request), left);
  if (!reply) co_return fail(probeFailure(id, link.get(), std::move(reply.error())));
  // The answer belongs to this link's node: not to one removed (and maybe
  // added again) meanwhile.
  Node* probed = find(id);
  if (probed == nullptr || probed->link != link) {
    co_return fail(Code::kNotFound, "node \"" + id + "\" was removed while it probed");
  }
  auto* info = std::get_if<api::NodeInfo>(&*reply);
  if (info == nullptr || !info->isolation) {
    co_return fail(Code::kInternal, "node \"" + id + "\" answered ProbeIsolation with " +
                                        std::string(protocol::typeName(*reply)) +
                                        (info != nullptr ? " without isolation" : ""));
  }
  // The connection now holds this revision: the next heartbeat names it and
  // the agent does not send the same list again.
  link->noteIsolationRevision(info->isolation_revision);
  if (updateIsolation(*probed, std::move(info->isolation), info->isolation_revision,
                      /*hello=*/false) &&
      probed->lifecycle.state() == NodeState::kReady) {
    notifyChanged(*probed);
  }
  co_return view(*probed);
}

Error NodeRegistry::probeFailure(const std::string& id, const AgentLink* link, Error error) const {
  const Node* node = find(id);
  if (node == nullptr || node->link.get() != link) {
    return Error{Code::kNotFound, "node \"" + id + "\" was removed while it probed", ""};
  }
  if (stopped_ && error.code != Code::kCancelled) {
    return Error{Code::kCancelled, "the server is shutting down", ""};
  }
  return error;
}

}  // namespace zp::server

#include "agent/agent_metrics.h"

#include <map>
#include <string>

#include "agent/workload_manager.h"
#include "metrics/process.h"

namespace zp::agent {
namespace {

double seconds(std::chrono::steady_clock::duration elapsed) {
  return std::chrono::duration<double>(elapsed).count();
}

}  // namespace

AgentMetrics::AgentMetrics()
    : cri_duration_(registry_.histogram(
          "zoneplane_agent_cri_call_duration_seconds",
          "Duration of CRI RPCs to the container runtime, by method.", {"method"},
          {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120})),
      cri_errors_(registry_.counter("zoneplane_agent_cri_errors_total",
                                    "CRI RPCs that failed, by method and error code.",
                                    {"method", "code"})),
      pull_duration_(registry_.histogram(
          "zoneplane_agent_image_pull_duration_seconds",
          "Duration of image pulls (CRI PullImage), by result (ok, error).", {"result"},
          {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600})),
      requests_(registry_.counter("zoneplane_agent_requests_total",
                                  "Protocol requests from the server answered, by method and "
                                  "result (ok, error).",
                                  {"method", "result"})),
      request_duration_(registry_.histogram(
          "zoneplane_agent_request_duration_seconds",
          "Time to answer a protocol request from the server, by method.", {"method"},
          {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})) {
  metrics::addProcessMetrics(registry_);
}

cri::CallObserver AgentMetrics::criObserver() {
  return [this](std::string_view rpc, std::chrono::steady_clock::duration elapsed,
                std::optional<Code> error) {
    cri_duration_.with({rpc}).observe(seconds(elapsed));
    if (error) cri_errors_.with({rpc, codeName(*error)}).inc();
    if (rpc == "PullImage") {
      pull_duration_.with({error ? "error" : "ok"}).observe(seconds(elapsed));
    }
  };
}

RequestHandler::Observer AgentMetrics::requestObserver() {
  return [this](std::string_view method, std::chrono::steady_clock::duration elapsed, bool error) {
    requests_.with({method, error ? "error" : "ok"}).inc();
    request_duration_.with({method}).observe(seconds(elapsed));
  };
}

void AgentMetrics::watchWorkloads(const WorkloadManager& manager) {
  registry_.collected(
      "zoneplane_agent_workloads", "Workloads this agent holds, by state.", metrics::Type::kGauge,
      {"state"}, [&manager](metrics::SampleSink& sink) {
        std::map<api::WorkloadState, double> counts;
        for (const auto state : {api::WorkloadState::kPending, api::WorkloadState::kRunning,
                                 api::WorkloadState::kSucceeded, api::WorkloadState::kFailed,
                                 api::WorkloadState::kUnknown}) {
          counts[state] = 0;
        }
        std::string after;
        do {
          auto page = manager.list(after, 1000);
          for (const auto& status : page.items) ++counts[status.state];
          after = page.next;
        } while (!after.empty());
        for (const auto& [state, count] : counts) {
          sink.add({std::string(api::stateName(state))}, count);
        }
      });
}

}  // namespace zp::agent

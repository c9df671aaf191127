#pragma once
// What the agent-kill and containerd-restart scenarios share on top of
// FaultTest: the API's view of a node's workloads in one request, the
// runtime's census of the same node, the three workload kinds they submit and
// the state each must end in, and the recovery-time summary they report.
// Header-only. The API helpers use tryHttp (no gtest failure on a refused
// request), so the scenarios' submitter and sampler threads may call them; the
// agent process itself is only started and killed from the test's thread.

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fault_fixture.h"
#include "runtime_census.h"

namespace zp::faults {

// What a scenario's workload does, and so the final state it must reach.
enum class Kind { kLongRunning, kExitsZero, kExitsThree };

inline std::string expectedState(Kind kind) {
  switch (kind) {
    case Kind::kLongRunning: return "Running";
    case Kind::kExitsZero: return "Succeeded";
    case Kind::kExitsThree: return "Failed";
  }
  return "";
}

inline bool isFinal(const std::string& state) { return state == "Succeeded" || state == "Failed"; }

// containerd 1.6 deletes an exited task before it records the exit: killed in
// between, it comes back without the exit status and reports the container
// exited with its placeholder (255, reason "Unknown"); a container it reports
// CONTAINER_UNKNOWN and cannot find the task of when the agent stops it ends
// with 255 too. The agent shows that as Failed/ExitStatusLost without an exit
// code; for a workload that was about to exit anyway this is the runtime's
// loss, counted apart from the wrong states the orchestrator makes.
inline bool exitStatusLostByRuntime(Kind kind, const nlohmann::json& status) {
  return kind != Kind::kLongRunning && status.value("state", "") == "Failed" &&
         status.value("reason", "") == "ExitStatusLost" && !status.contains("exit_code");
}

// p50 and max of recovery times, for the figures' details.
inline nlohmann::json summarize(std::vector<double> seconds) {
  if (seconds.empty()) return {{"count", 0}};
  std::sort(seconds.begin(), seconds.end());
  auto round2 = [](double v) { return static_cast<double>(static_cast<long long>(v * 100 + 0.5)) / 100; };
  std::vector<double> rounded;
  for (double v : seconds) rounded.push_back(round2(v));
  return {{"count", seconds.size()},
          {"p50", round2(seconds[seconds.size() / 2])},
          {"max", round2(seconds.back())},
          {"sorted", rounded}};
}

inline double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class ScenarioTest : public FaultTest {
 protected:
  // Workload ids -> {spec, status} as GET /workloads lists them (every
  // workload: a scenario's server has one node, and one not placed has no
  // node); nullopt when the server did not answer 200.
  std::optional<std::map<std::string, nlohmann::json>> listWorkloads() {
    auto r = tryHttp(cli::HttpMethod::kGet, "/workloads");
    if (!r || r->status != 200 || !r->body.contains("items")) return std::nullopt;
    std::map<std::string, nlohmann::json> out;
    for (const auto& item : r->body["items"]) out[item["spec"]["id"].get<std::string>()] = item;
    return out;
  }

  // The node's view in the API ("" when the server did not answer).
  std::string nodeState(const std::string& node) {
    auto r = tryHttp(cli::HttpMethod::kGet, "/nodes/" + node);
    if (!r || r->status != 200) return "";
    return r->body.value("state", "");
  }

  Result<RuntimeCensus> census(const std::string& node) {
    auto client = cri::Client::create(endpoint_);
    if (!client) return fail(client.error());
    return takeCensus(**client, node);
  }

  // API records of `node` that say Running (not being deleted) while the
  // runtime has no ready sandbox with that sandbox id, read as API, runtime,
  // API so a record that changed meanwhile is not counted. nullopt when a
  // read failed.
  std::optional<std::vector<std::string>> runningWithoutSandbox(const std::string& node) {
    auto before = listWorkloads();
    if (!before) return std::nullopt;
    auto runtime = census(node);
    if (!runtime) return std::nullopt;
    auto after = listWorkloads();
    if (!after) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& [id, item] : *before) {
      auto later = after->find(id);
      if (later == after->end() || later->second["status"] != item["status"]) continue;
      const auto& status = item["status"];
      if (status.value("state", "") != "Running" || status.value("reason", "") == "Terminating") continue;
      auto entry = runtime->find(id);
      const std::string sandbox = status.value("sandbox_id", "");
      if (entry == runtime->end() ||
          std::find(entry->second.ready_sandbox_ids.begin(), entry->second.ready_sandbox_ids.end(),
                    sandbox) == entry->second.ready_sandbox_ids.end()) {
        out.push_back(id);
      }
    }
    return out;
  }

  // A workload spec whose command matches `kind`; long-running ones sleep an
  // hour, the others exit after `run_seconds`.
  // They ask for little (16 MB, 10 millicores) so a hundred fit on one node.
  std::string kindSpec(const std::string& id, Kind kind, int run_seconds) {
    const std::string after = std::to_string(run_seconds);
    const std::string script = kind == Kind::kLongRunning ? "sleep 3600"
                               : kind == Kind::kExitsZero ? "sleep " + after + "; exit 0"
                                                          : "sleep " + after + "; exit 3";
    return nlohmann::json{{"id", id},
                          {"image", image_},
                          {"runtime_class", "native"},
                          {"memory_mb", 16},
                          {"cpu_millicores", 10},
                          {"command", {"sh", "-c", script}}}
        .dump();
  }
};

}  // namespace zp::faults

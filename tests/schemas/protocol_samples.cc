// protocol_samples: writes, one per line, messages of every type of the agent
// protocol as the real encoder writes them (protocol/messages.h):
//   request <line>   for every alternative of RequestBody
//   reply <line>     for every alternative of ReplyBody
// Every alternative gets a default-valued sample with its identifying fields
// filled in, and some a sample with every optional field set too. Each
// request must decode again (decodeRequest), each reply too (decodeReply):
// exits 1 otherwise. tests/schemas/protocol_schema_test.py validates the
// lines against docs/protocol/agent-protocol.schema.json.

#include <cstdio>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "protocol/messages.h"

namespace {

using namespace zp;
using namespace std::chrono_literals;

// Fills the fields that identify a message, whatever its type: an encoded
// default would otherwise carry an empty id no decoder accepts.
template <typename T>
void fillIdentity(T& m) {
  if constexpr (requires { m.id = std::string(); }) m.id = "web-1";
  if constexpr (requires { m.workload_id = std::string(); }) m.workload_id = "web-1";
  if constexpr (requires { m.node_id = std::string(); }) m.node_id = "node-1";
  if constexpr (requires { m.command = std::vector<std::string>(); }) m.command = {"echo", "hi"};
  if constexpr (requires { m.workload = api::WorkloadSpec(); }) {
    m.workload.id = "web-1";
    m.workload.image = "registry.local/busybox:1.36";
  }
  if constexpr (requires { m.workload = api::WorkloadStatus(); }) m.workload.id = "web-1";
  if constexpr (requires { m.time = std::string(); }) m.time = "2026-01-02T15:04:05.000000001Z";
  if constexpr (requires { m.stream = std::string(); }) m.stream = "stdout";
  if constexpr (requires { m.reason = std::string(); }) m.reason = "Completed";
  if constexpr (requires { m.error = Error(); })
    m.error = Error{Code::kNotFound, "no workload", ""};
}

api::WorkloadStatus fullStatus() {
  api::WorkloadStatus s;
  s.id = "web-1";
  s.uid = "3f2a-1";
  s.state = api::WorkloadState::kFailed;
  s.reason = "Error";
  s.message = "exited with 3";
  s.exit_code = 3;
  s.node = "node-1";
  const TimePoint t = TimePoint{} + 1'767'000'000s;
  s.created_at = t;
  s.started_at = t + 1s;
  s.finished_at = t + 2s;
  s.sandbox_id = "abc";
  s.container_id = "def";
  s.runtime_handler = "runc";
  s.log_path = "/var/log/pods/web-1/0.log";
  s.profile = "restricted";
  s.run_as_user = 65534;
  s.run_as_group = 65534;
  s.restart_count = 2;
  return s;
}

api::WorkloadSpec fullSpec() {
  api::WorkloadSpec spec;
  spec.id = "web-1";
  spec.image = "registry.local/busybox:1.36";
  spec.runtime_class = "native";
  spec.memory_mb = 64;
  spec.cpu_millicores = 500;
  spec.command = {"sh", "-c"};
  spec.args = {"echo hi"};
  spec.env = {{"A", "1"}};
  spec.trust = api::TrustLevel::kInternal;
  spec.security.capabilities_add = {"NET_BIND_SERVICE"};
  spec.security.read_only_root_fs = true;
  spec.security.run_as_user = 1000;
  spec.security.run_as_group = 1000;
  spec.restart_policy = api::RestartPolicy::kOnFailure;
  return spec;
}

std::vector<protocol::RequestBody> requestSamples() {
  std::vector<protocol::RequestBody> out;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (([&] {
       std::variant_alternative_t<I, protocol::RequestBody> m{};
       fillIdentity(m);
       out.emplace_back(std::in_place_index<I>, std::move(m));
     }()),
     ...);
  }
  (std::make_index_sequence<std::variant_size_v<protocol::RequestBody>>{});
  out.emplace_back(protocol::Hello{"node-1", true});
  out.emplace_back(protocol::StartWorkload{fullSpec(), "3f2a-1"});
  out.emplace_back(protocol::RemoveWorkload{"web-1", 0, "3f2a-1"});
  out.emplace_back(protocol::ListWorkloads{1000, "web-0"});
  out.emplace_back(protocol::NodeInfo{7});
  out.emplace_back(protocol::Logs{"web-1", 10, true, true, "stderr", "3f2a-1"});
  out.emplace_back(protocol::Logs{"web-1", std::nullopt, true, false, std::nullopt, "3f2a-1", true,
                                  protocol::LogPosition{1, 65536, 2}});
  out.emplace_back(protocol::ProbeIsolation{"native"});
  return out;
}

std::vector<protocol::ReplyBody> replySamples() {
  std::vector<protocol::ReplyBody> out;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (([&] {
       std::variant_alternative_t<I, protocol::ReplyBody> m{};
       fillIdentity(m);
       out.emplace_back(std::in_place_index<I>, std::move(m));
     }()),
     ...);
  }
  (std::make_index_sequence<std::variant_size_v<protocol::ReplyBody>>{});
  out.emplace_back(fullStatus());
  out.emplace_back(protocol::WorkloadList{{fullStatus(), fullStatus()}, "web-1"});
  out.emplace_back(protocol::WorkloadEvent{fullStatus()});
  out.emplace_back(protocol::LogLine{"2026-01-02T15:04:05Z", "stderr", std::string(10, 'x'), true});
  out.emplace_back(
      protocol::ErrorReply{Error{Code::kInvalidArgument, "bad", "workload.image"}, "web-1"});
  api::NodeInfo node;
  node.node_id = "node-1";
  node.capacity = {4096, 4000};
  node.allocatable = {2048, 3000};
  node.runtime_classes = {"native", "isolated"};
  node.version = "0.1.0";
  node.workloads = 3;
  node.isolation_revision = 4;
  api::ClassIsolation verified;
  verified.runtime_class = "native";
  verified.claim = api::IsolationLevel::kSharedKernel;
  verified.level = api::IsolationLevel::kSharedKernel;
  verified.score = 40;
  verified.findings = {{"host-kernel-shared", api::Severity::kHigh, "uname", "use a VM"}};
  verified.verified_at = TimePoint{} + 1'767'000'000s;
  verified.attempted_at = verified.verified_at;
  verified.probe_version = "0.1.0";
  api::ClassIsolation failed;
  failed.runtime_class = "isolated";
  failed.error = "probe timed out";
  node.isolation = std::vector<api::ClassIsolation>{verified, failed};
  out.emplace_back(node);
  out.emplace_back(protocol::LogEnd{"NotFound"});
  out.emplace_back(protocol::LogMark{1, 65536});
  out.emplace_back(protocol::Removed{"web-1"});
  return out;
}

}  // namespace

int main() {
  int failures = 0;
  int n = 0;
  for (auto& body : requestSamples()) {
    const protocol::Request request{
        n % 2 == 0 ? std::optional<std::string>("r-" + std::to_string(n)) : std::nullopt,
        std::move(body)};
    ++n;
    const std::string line = protocol::encodeRequest(request);
    if (auto decoded = protocol::decodeRequest(line); !decoded) {
      std::fprintf(stderr, "the decoder refuses %s: %s\n", line.c_str(),
                   decoded.error().error.message.c_str());
      ++failures;
    }
    std::printf("request %s\n", line.c_str());
  }
  for (auto& body : replySamples()) {
    const bool push = std::holds_alternative<protocol::WorkloadEvent>(body);
    const protocol::Reply reply{push ? std::nullopt : std::optional<std::string>("r-1"),
                                std::move(body)};
    const std::string line = protocol::encodeReply(reply);
    if (auto decoded = protocol::decodeReply(line); !decoded) {
      std::fprintf(stderr, "the decoder refuses %s: %s\n", line.c_str(),
                   decoded.error().message.c_str());
      ++failures;
    }
    std::printf("reply %s\n", line.c_str());
  }
  return failures == 0 ? 0 : 1;
}

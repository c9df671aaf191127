#include "agent_fixture.h"

#include <stdlib.h>

#include <algorithm>
#include <system_error>

#include "tls/tls_context.h"

#ifndef ZP_AGENT_BINARY
#error "ZP_AGENT_BINARY must name the zoneplane-agent binary (see CMakeLists.txt)"
#endif

namespace zp::agent_it {
namespace {

constexpr const char* kLabelNodeId = "zoneplane.io/node-id";
constexpr const char* kLabelWorkloadId = "zoneplane.io/workload-id";

Json transportError(const Error& e) {
  ADD_FAILURE() << "agent connection: " << e.toString();
  return Json{{"type", "TransportError"}, {"message", e.toString()}};
}

}  // namespace

void AgentIntegrationTest::SetUp() {
  endpoint_ = envOrEmpty("ZONEPLANE_CRI_ENDPOINT");
  image_ = envOrEmpty("ZONEPLANE_TEST_IMAGE");
  alt_handler_ = envOrEmpty("ZONEPLANE_ALT_HANDLER");
  gvisor_handler_ = envOrEmpty("ZONEPLANE_GVISOR_HANDLER");
  if (endpoint_.empty() || image_.empty() || alt_handler_.empty()) {
    const char* why =
        "ZONEPLANE_CRI_ENDPOINT, ZONEPLANE_TEST_IMAGE and ZONEPLANE_ALT_HANDLER must be set "
        "(eval \"$(scripts/stack env)\")";
    if (envOrEmpty("ZONEPLANE_REQUIRE_STACK") == "1") FAIL() << why;
    GTEST_SKIP() << why;
  }
  auto client = cri::Client::create(endpoint_, {.default_timeout = 30s, .pull_timeout = 3min});
  ASSERT_TRUE(client.has_value()) << client.error().toString();
  cri_ = std::move(*client);
  // Connect now, retrying: zp::cri::Client gives a connection attempt only
  // ~100 ms (GRPC_ARG_MIN_RECONNECT_BACKOFF_MS doubles as gRPC's minimum
  // connect timeout), which a loaded machine can miss. Once connected, the
  // channel stays up for the test.
  Status pinged;
  ASSERT_TRUE(waitFor([&] { return (pinged = cri_->ping()).has_value(); }, 60s, 200ms))
      << "containerd not reachable: " << pinged.error().toString();

  node_id_ = "ag-" + randomHex(10);
  char dir_template[] = "/tmp/zp-agent-it-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  dir_ = dir_template;
  data_dir_ = dir_ / "data";
  agent_log_ = dir_ / "agent.log";
  std::filesystem::create_directories(data_dir_);
  std::filesystem::create_directories(dir_ / "pki");
  pki_ = testsupport::makeTestPki(dir_ / "pki");
  node_tls_ = pki_.node(node_id_);
  auto context = tls::clientContext(pki_.server, tls::MinVersion::kTls13);
  ASSERT_TRUE(context.has_value()) << context.error().toString();
  client_tls_ = LineClientTls{*context, tls::Identity::node(node_id_)};
}

void AgentIntegrationTest::TearDown() {
  client_.reset();
  // SIGTERM, not SIGKILL: the agent lets the runtime calls it has in flight
  // finish (a RunPodSandbox cut short by a killed client may still create
  // the pod's cgroup after the cleanup below), then exits; SIGKILL if it hangs.
  agent_.terminate(30s);
  if (HasFailure() && !agent_log_.empty()) {
    std::cerr << "---- agent log (" << node_id_ << ", last lines) ----\n"
              << logTail(agent_log_, 80) << "---- end of agent log ----\n";
  }
  if (cri_) removeNodeSandboxes();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

void AgentIntegrationTest::removeNodeSandboxes() {
  if (auto s = removeSandboxesOfNode(*cri_, node_id_); !s) ADD_FAILURE() << s.error().message;
}

std::vector<std::string> AgentIntegrationTest::tlsArgs() const {
  return {"--tls-cert", node_tls_.cert, "--tls-key", node_tls_.key, "--tls-ca", node_tls_.ca};
}

void AgentIntegrationTest::startAgent(std::vector<std::string> extra_args) {
  client_.reset();
  plaintext_ = std::find(extra_args.begin(), extra_args.end(), "--insecure-plaintext") !=
               extra_args.end();
  if (!plaintext_) {
    const auto tls = tlsArgs();
    extra_args.insert(extra_args.begin(), tls.begin(), tls.end());
  }
  std::vector<std::string> classes = {"native=runc@" + endpoint_,
                                      "alt=" + alt_handler_ + "@" + endpoint_};
  if (!gvisor_handler_.empty()) classes.push_back("gvisor=" + gvisor_handler_ + "@" + endpoint_);
  AgentArgs args{ZP_AGENT_BINARY, node_id_,  data_dir_, std::move(classes),
                 agent_log_,      std::move(extra_args)};
  auto started = agent_.start(args);
  ASSERT_TRUE(started.has_value()) << started.error().toString();
  client_ = connect();
}

LineClient AgentIntegrationTest::connectRaw() {
  auto c = LineClient::connect(agent_.port(), plaintext_ ? nullptr : &client_tls_);
  if (!c) {
    ADD_FAILURE() << "cannot connect to the agent: " << c.error().toString();
    return LineClient::disconnected();
  }
  return std::move(*c);
}

LineClient AgentIntegrationTest::connect(bool subscribe) {
  auto c = connectRaw();
  if (auto s = c.hello(node_id_, subscribe); !s) {
    ADD_FAILURE() << "Hello: " << s.error().toString();
    return LineClient::disconnected();
  }
  return c;
}

Json AgentIntegrationTest::call(const Json& request) {
  if (!client_) return transportError(Error{Code::kFailedPrecondition, "agent not started", ""});
  auto reply = client_->call(request);
  if (!reply) return transportError(reply.error());
  return *reply;
}

Json AgentIntegrationTest::startWorkload(const Json& workload) {
  return call({{"type", "StartWorkload"}, {"workload", workload}});
}
Json AgentIntegrationTest::getStatus(const std::string& id) {
  return call({{"type", "GetStatus"}, {"id", id}});
}
Json AgentIntegrationTest::stopWorkload(const std::string& id, int timeout_seconds) {
  return call({{"type", "StopWorkload"}, {"id", id}, {"timeout_seconds", timeout_seconds}});
}
Json AgentIntegrationTest::removeWorkload(const std::string& id, int timeout_seconds) {
  return call({{"type", "RemoveWorkload"}, {"id", id}, {"timeout_seconds", timeout_seconds}});
}
Json AgentIntegrationTest::listWorkloads() { return call({{"type", "ListWorkloads"}}); }

bool AgentIntegrationTest::waitStatus(const std::string& id,
                                      const std::function<bool(const Json&)>& done,
                                      std::chrono::milliseconds timeout, Json& last) {
  return waitFor(
      [&] {
        last = getStatus(id);
        return last.value("type", "") == "TransportError" || done(last);
      },
      timeout, 100ms) &&
         last.value("type", "") == "Status";
}

bool AgentIntegrationTest::waitState(const std::string& id, const std::string& state,
                                     std::chrono::milliseconds timeout, Json& last) {
  return waitStatus(id, [&](const Json& s) { return s.value("state", "") == state; }, timeout, last);
}

bool AgentIntegrationTest::waitTerminal(const std::string& id, std::chrono::milliseconds timeout,
                                        Json& last) {
  return waitStatus(
      id,
      [](const Json& s) {
        const auto state = s.value("state", "");
        return state == "Succeeded" || state == "Failed";
      },
      timeout, last);
}

std::string AgentIntegrationTest::workloadId(const std::string& tag) {
  return tag + "-" + randomHex(8);
}

Json AgentIntegrationTest::workload(const std::string& id, std::vector<std::string> command,
                                    const std::string& runtime_class, std::int64_t memory_mb) const {
  return workloadJson(id, image_, std::move(command), runtime_class, memory_mb);
}

std::vector<cri::v1::PodSandbox> AgentIntegrationTest::sandboxesOf(const std::string& workload_id) const {
  cri::v1::PodSandboxFilter filter;
  (*filter.mutable_label_selector())[kLabelNodeId] = node_id_;
  (*filter.mutable_label_selector())[kLabelWorkloadId] = workload_id;
  auto listed = cri_->listPodSandbox(filter);
  if (!listed) {
    ADD_FAILURE() << "ListPodSandbox: " << listed.error().toString();
    return {};
  }
  return *listed;
}

std::vector<cri::v1::Container> AgentIntegrationTest::containersOf(const std::string& workload_id) const {
  cri::v1::ContainerFilter filter;
  (*filter.mutable_label_selector())[kLabelNodeId] = node_id_;
  (*filter.mutable_label_selector())[kLabelWorkloadId] = workload_id;
  auto listed = cri_->listContainers(filter);
  if (!listed) {
    ADD_FAILURE() << "ListContainers: " << listed.error().toString();
    return {};
  }
  return *listed;
}

std::string AgentIntegrationTest::waitLogContains(const std::string& path, const std::string& needle,
                                                  std::chrono::milliseconds timeout) {
  std::string log;
  waitFor(
      [&] {
        log = readFile(path);
        return log.find(needle) != std::string::npos;
      },
      timeout, 100ms);
  return log;
}

std::vector<std::string> runtimeClassNames() { return {"native", "gvisor"}; }

std::string classParamName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

void PerClassTest::SetUp() {
  AgentIntegrationTest::SetUp();
  if (IsSkipped() || HasFatalFailure()) return;
  if (gvisor() && gvisor_handler_.empty()) {
    const char* why =
        "the stack has no gVisor handler (ZONEPLANE_GVISOR_HANDLER is empty: runsc or jq is not "
        "installed; scripts/setup installs them, then scripts/stack start)";
    if (envOrEmpty("ZONEPLANE_REQUIRE_STACK") == "1") FAIL() << why;
    GTEST_SKIP() << why;
  }
}

}  // namespace zp::agent_it

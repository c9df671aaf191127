// Integration test of zp::cri::Client against the REAL CRI runtime started by
// scripts/stack (containerd + runc, images from the local registry).
//
// Environment:
//   ZONEPLANE_CRI_ENDPOINT  e.g. unix:///var/lib/zoneplane-stack/containerd.sock
//   ZONEPLANE_TEST_IMAGE    e.g. 127.0.0.1:5000/zoneplane/busybox:1.0
//   ZONEPLANE_ALT_HANDLER   a non-default runtime handler, e.g. runc-alt
//   ZONEPLANE_REQUIRE_STACK=1 turns "variables missing" from a skip into a failure.
//
// Every sandbox carries the label zoneplane.io/test-run=<unique id>; TearDown
// stops and removes all sandboxes with that label, so nothing is left behind
// even when an assertion fails half-way.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "cri/client.h"

namespace zp::cri {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTestRunLabel = "zoneplane.io/test-run";
constexpr const char* kNamespace = "zoneplane-test";

std::string envOrEmpty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string uniqueRunId() {
  std::random_device random;
  std::ostringstream out;
  out << "cri-it-" << getpid() << "-" << std::hex << (random() & 0xffffff);
  return out.str();
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class CriIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    endpoint_ = envOrEmpty("ZONEPLANE_CRI_ENDPOINT");
    image_ = envOrEmpty("ZONEPLANE_TEST_IMAGE");
    handler_ = envOrEmpty("ZONEPLANE_ALT_HANDLER");
    if (endpoint_.empty() || image_.empty() || handler_.empty()) {
      const char* why =
          "ZONEPLANE_CRI_ENDPOINT, ZONEPLANE_TEST_IMAGE and ZONEPLANE_ALT_HANDLER must be set "
          "(source the env of scripts/stack)";
      if (envOrEmpty("ZONEPLANE_REQUIRE_STACK") == "1") FAIL() << why;
      GTEST_SKIP() << why;
    }
    auto client = Client::create(endpoint_, {.default_timeout = 15s, .pull_timeout = 2min});
    ASSERT_TRUE(client.has_value()) << client.error().toString();
    client_ = std::move(*client);

    run_id_ = uniqueRunId();
    char dir_template[] = "/tmp/zp-cri-it-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    log_dir_ = dir_template;
  }

  void TearDown() override {
    if (client_) {
      v1::PodSandboxFilter filter;
      (*filter.mutable_label_selector())[kTestRunLabel] = run_id_;
      auto sandboxes = client_->listPodSandbox(filter);
      if (sandboxes) {
        for (const auto& sandbox : *sandboxes) {
          auto stopped = client_->stopPodSandbox(sandbox.id());
          auto removed = client_->removePodSandbox(sandbox.id());
          ADD_FAILURE() << "cleaned up leftover sandbox " << sandbox.id()
                        << (stopped && removed ? "" : " (with errors)");
        }
      } else {
        ADD_FAILURE() << "cleanup: " << sandboxes.error().toString();
      }
    }
    if (!log_dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(log_dir_, ignored);
    }
  }

  v1::PodSandboxConfig sandboxConfig(const std::string& name) const {
    v1::PodSandboxConfig config;
    config.mutable_metadata()->set_name(name);
    config.mutable_metadata()->set_uid(name + "-uid");
    config.mutable_metadata()->set_namespace_(kNamespace);
    config.mutable_metadata()->set_attempt(0);
    config.set_hostname(name);
    config.set_log_directory(log_dir_.string());
    (*config.mutable_labels())[kTestRunLabel] = run_id_;
    (*config.mutable_labels())["zoneplane.io/test"] = "cri-integration";
    (*config.mutable_annotations())["zoneplane.io/spec"] = R"({"id":")" + name + R"("})";
    return config;
  }

  v1::ImageSpec imageSpec() const {
    v1::ImageSpec spec;
    spec.set_image(image_);
    return spec;
  }

  std::string endpoint_, image_, handler_, run_id_;
  std::filesystem::path log_dir_;
  std::unique_ptr<Client> client_;
};

TEST_F(CriIntegrationTest, SandboxAndContainerLifecycle) {
  // Runtime identity and readiness.
  auto version = client_->version();
  ASSERT_TRUE(version.has_value()) << version.error().toString();
  EXPECT_FALSE(version->runtime_name().empty());
  EXPECT_FALSE(version->runtime_api_version().empty());
  auto runtime_status = client_->runtimeStatus();
  ASSERT_TRUE(runtime_status.has_value()) << runtime_status.error().toString();
  bool runtime_ready = false;
  for (const auto& condition : runtime_status->status().conditions()) {
    if (condition.type() == "RuntimeReady") runtime_ready = condition.status();
  }
  EXPECT_TRUE(runtime_ready);

  // Image: ImageStatus, then PullImage (a no-op re-pull when already present),
  // after which ImageStatus must report the image PullImage returned.
  auto before = client_->imageStatus(imageSpec());
  ASSERT_TRUE(before.has_value()) << before.error().toString();
  auto ref = client_->pullImage(imageSpec(), {.timeout = 60s});
  ASSERT_TRUE(ref.has_value()) << ref.error().toString();
  EXPECT_FALSE(ref->empty());
  auto image = client_->imageStatus(imageSpec());
  ASSERT_TRUE(image.has_value()) << image.error().toString();
  ASSERT_TRUE(image->has_value()) << image_ << " absent after PullImage";
  EXPECT_EQ((*image)->id(), *ref);
  if (before->has_value()) {
    EXPECT_EQ((*before)->id(), *ref);
  }

  // Sandbox with the alternative runtime handler.
  const v1::PodSandboxConfig sandbox_config = sandboxConfig(run_id_);
  auto sandbox_id = client_->runPodSandbox(sandbox_config, handler_);
  ASSERT_TRUE(sandbox_id.has_value()) << sandbox_id.error().toString();
  auto sandbox = client_->podSandboxStatus(*sandbox_id);
  ASSERT_TRUE(sandbox.has_value()) << sandbox.error().toString();
  EXPECT_EQ(sandbox->status().runtime_handler(), handler_);
  EXPECT_EQ(sandbox->status().state(), v1::SANDBOX_READY);
  EXPECT_EQ(sandbox->status().metadata().name(), run_id_);
  EXPECT_EQ(sandbox->status().metadata().namespace_(), kNamespace);
  EXPECT_EQ(sandbox->status().labels().at(kTestRunLabel), run_id_);
  EXPECT_EQ(sandbox->status().annotations().at("zoneplane.io/spec"),
            sandbox_config.annotations().at("zoneplane.io/spec"));
  EXPECT_FALSE(sandbox->status().network().ip().empty()) << "no pod IP from CNI";

  // A container that prints and exits 3.
  v1::ContainerConfig container_config;
  container_config.mutable_metadata()->set_name("main");
  *container_config.mutable_image() = imageSpec();
  for (const char* arg : {"sh", "-c", "echo hi; exit 3"}) container_config.add_command(arg);
  container_config.set_log_path("main_0.log");
  (*container_config.mutable_labels())[kTestRunLabel] = run_id_;
  auto container_id = client_->createContainer(*sandbox_id, container_config, sandbox_config);
  ASSERT_TRUE(container_id.has_value()) << container_id.error().toString();
  auto started = client_->startContainer(*container_id);
  ASSERT_TRUE(started.has_value()) << started.error().toString();

  v1::ContainerStatus status;
  for (auto deadline = std::chrono::steady_clock::now() + 30s;;) {
    auto response = client_->containerStatus(*container_id);
    ASSERT_TRUE(response.has_value()) << response.error().toString();
    status = response->status();
    if (status.state() == v1::CONTAINER_EXITED) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "container never exited, state " << v1::ContainerState_Name(status.state());
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(status.exit_code(), 3);
  EXPECT_GT(status.finished_at(), 0);
  EXPECT_EQ(status.log_path(), (log_dir_ / "main_0.log").string());

  // CRI log format: "<RFC3339Nano> stdout F hi".
  std::string log;
  for (auto deadline = std::chrono::steady_clock::now() + 5s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(100ms)) {
    log = readFile(log_dir_ / "main_0.log");
    if (log.find(" stdout F hi") != std::string::npos) break;
  }
  EXPECT_NE(log.find(" stdout F hi"), std::string::npos) << "log: " << log;

  v1::ContainerFilter container_filter;
  container_filter.set_pod_sandbox_id(*sandbox_id);
  auto containers = client_->listContainers(container_filter);
  ASSERT_TRUE(containers.has_value()) << containers.error().toString();
  ASSERT_EQ(containers->size(), 1u);
  EXPECT_EQ(containers->front().id(), *container_id);

  // Teardown in the order the agent uses; all calls are idempotent.
  auto stopped = client_->stopContainer(*container_id, 5s);
  EXPECT_TRUE(stopped.has_value()) << stopped.error().toString();
  auto removed = client_->removeContainer(*container_id);
  EXPECT_TRUE(removed.has_value()) << removed.error().toString();
  auto gone = client_->containerStatus(*container_id);
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code, Code::kNotFound) << gone.error().toString();

  auto sandbox_stopped = client_->stopPodSandbox(*sandbox_id);
  ASSERT_TRUE(sandbox_stopped.has_value()) << sandbox_stopped.error().toString();
  auto sandbox_removed = client_->removePodSandbox(*sandbox_id);
  ASSERT_TRUE(sandbox_removed.has_value()) << sandbox_removed.error().toString();

  v1::PodSandboxFilter filter;
  (*filter.mutable_label_selector())[kTestRunLabel] = run_id_;
  auto remaining = client_->listPodSandbox(filter);
  ASSERT_TRUE(remaining.has_value()) << remaining.error().toString();
  EXPECT_TRUE(remaining->empty());
  auto sandbox_gone = client_->podSandboxStatus(*sandbox_id);
  ASSERT_FALSE(sandbox_gone.has_value());
  EXPECT_EQ(sandbox_gone.error().code, Code::kNotFound) << sandbox_gone.error().toString();
}

TEST_F(CriIntegrationTest, RuntimeErrorsComeBackAsValues) {
  auto status = client_->containerStatus("zoneplane-no-such-container");
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, Code::kNotFound) << status.error().toString();
  EXPECT_TRUE(status.error().message.starts_with("ContainerStatus: ")) << status.error().message;

  // An image the local registry does not hold: the runtime's message is kept.
  v1::ImageSpec missing;
  missing.set_image(image_ + "-zoneplane-missing");
  auto pull = client_->pullImage(missing, {.timeout = 30s});
  ASSERT_FALSE(pull.has_value());
  EXPECT_EQ(pull.error().code, Code::kNotFound) << pull.error().toString();
  EXPECT_TRUE(pull.error().message.starts_with("PullImage: ")) << pull.error().message;
  EXPECT_GT(pull.error().message.size(), std::string("PullImage: ").size());

  // An unknown runtime handler is refused (TearDown removes it if not).
  auto sandbox =
      client_->runPodSandbox(sandboxConfig(run_id_ + "-badhandler"), "zoneplane-no-such-handler");
  ASSERT_FALSE(sandbox.has_value());
  EXPECT_TRUE(sandbox.error().message.starts_with("RunPodSandbox: ")) << sandbox.error().message;

  // A deadline that cannot be met.
  auto slow = client_->listPodSandbox({}, {.timeout = 1ms});
  if (!slow.has_value()) {
    EXPECT_EQ(slow.error().code, Code::kDeadlineExceeded) << slow.error().toString();
  }
}

}  // namespace
}  // namespace zp::cri

namespace zp::cri {
namespace {

// ExecSync on a running container of the real runtime: output and exit code,
// both call shapes, a real timeout (the runtime kills the command and fails
// the call) and a command that is not there (the runtime's error, in words).
TEST_F(CriIntegrationTest, ExecSyncRunsInARunningContainer) {
  auto pulled = client_->pullImage(imageSpec(), {.timeout = 60s});
  ASSERT_TRUE(pulled.has_value()) << pulled.error().toString();
  const v1::PodSandboxConfig sandbox_config = sandboxConfig(run_id_ + "-exec");
  auto sandbox_id = client_->runPodSandbox(sandbox_config, "");
  ASSERT_TRUE(sandbox_id.has_value()) << sandbox_id.error().toString();
  v1::ContainerConfig config;
  config.mutable_metadata()->set_name("main");
  *config.mutable_image() = imageSpec();
  for (const char* arg : {"sleep", "300"}) config.add_command(arg);
  config.set_log_path("exec_0.log");
  auto container_id = client_->createContainer(*sandbox_id, config, sandbox_config);
  ASSERT_TRUE(container_id.has_value()) << container_id.error().toString();
  ASSERT_TRUE(client_->startContainer(*container_id).has_value());

  auto ran = client_->execSync(*container_id, {"sh", "-c", "echo out; echo err >&2; exit 4"}, 10s);
  ASSERT_TRUE(ran.has_value()) << ran.error().toString();
  EXPECT_EQ(ran->exit_code(), 4);
  EXPECT_EQ(ran->stdout(), "out\n");
  EXPECT_EQ(ran->stderr(), "err\n");

  std::promise<Result<v1::ExecSyncResponse>> promise;
  auto future = promise.get_future();
  auto call = client_->execSyncAsync(*container_id, {"cat", "/proc/self/status"}, 10s, {},
                                     [&promise](Result<v1::ExecSyncResponse> response) {
                                       promise.set_value(std::move(response));
                                     });
  auto async = future.get();
  ASSERT_TRUE(async.has_value()) << async.error().toString();
  EXPECT_EQ(async->exit_code(), 0);
  EXPECT_NE(async->stdout().find("NoNewPrivs:"), std::string::npos) << async->stdout();

  const auto started = std::chrono::steady_clock::now();
  auto late = client_->execSync(*container_id, {"sleep", "5"}, 1s);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(late.has_value());
  std::cout << "[ runtime ] a timed-out ExecSync: " << late.error().toString() << "\n";
  EXPECT_NE(late.error().message.find("timeout"), std::string::npos) << late.error().toString();
  EXPECT_LT(took, 5s) << "the runtime waited for the command instead of killing it";

  auto missing = client_->execSync(*container_id, {"no-such-command"}, 10s);
  ASSERT_FALSE(missing.has_value());
  std::cout << "[ runtime ] ExecSync of a missing command: " << missing.error().toString() << "\n";
  EXPECT_NE(missing.error().message.find("not found"), std::string::npos)
      << missing.error().toString();

  EXPECT_TRUE(client_->stopPodSandbox(*sandbox_id).has_value());
  EXPECT_TRUE(client_->removePodSandbox(*sandbox_id).has_value());
}

// containerd 1.6 serves no container events: the agent relies on its
// relisting there (docs/architecture.md §4). A runtime that does serve them
// is tested against the in-process fake (client_fake_runtime_test.cc).
TEST_F(CriIntegrationTest, ContainerdOneSixServesNoContainerEvents) {
  auto version = client_->version();
  ASSERT_TRUE(version.has_value()) << version.error().toString();
  if (version->runtime_version().rfind("1.6", 0) != 0 &&
      version->runtime_version().rfind("v1.6", 0) != 0) {
    GTEST_SKIP() << "containerd " << version->runtime_version() << " may serve events";
  }
  auto stream = client_->containerEvents();
  const Status ended = stream->read([](const v1::ContainerEventResponse&) {});
  ASSERT_FALSE(ended);
  EXPECT_EQ(ended.error().code, Code::kUnimplemented) << ended.error().toString();
}

}  // namespace
}  // namespace zp::cri

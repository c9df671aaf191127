// Client against an in-process fake CRI runtime on a unix socket: checks the
// request/response plumbing, deadlines and error mapping end to end without a
// real runtime.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cri/client.h"
#include "cri/event_feed.h"

namespace zp::cri {
namespace {

using namespace std::chrono_literals;

// Polls `predicate` until it holds (true) or 30 s pass (false).
bool waitUntil(const std::function<bool()>& predicate) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Records what it was asked under `mutex`; gRPC runs handlers on its own threads.
class FakeRuntime final : public v1::RuntimeService::Service {
 public:
  grpc::Status Version(grpc::ServerContext*, const v1::VersionRequest* request,
                       v1::VersionResponse* response) override {
    response->set_version("0.1.0");
    response->set_runtime_name("fake-runtime");
    response->set_runtime_version("9.9.9");
    response->set_runtime_api_version("v1");
    return grpc::Status::OK;
  }
  grpc::Status RunPodSandbox(grpc::ServerContext*, const v1::RunPodSandboxRequest* request,
                             v1::RunPodSandboxResponse* response) override {
    if (request->config().metadata().name() == "dup") {
      return {grpc::StatusCode::ALREADY_EXISTS, "name \"dup\" is reserved"};
    }
    std::lock_guard lock(mutex);
    last_handler = request->runtime_handler();
    last_labels = {request->config().labels().begin(), request->config().labels().end()};
    response->set_pod_sandbox_id("sandbox-1");
    return grpc::Status::OK;
  }
  grpc::Status PodSandboxStatus(grpc::ServerContext*, const v1::PodSandboxStatusRequest* request,
                                v1::PodSandboxStatusResponse* response) override {
    if (request->pod_sandbox_id() != "sandbox-1") {
      return {grpc::StatusCode::NOT_FOUND, "an error occurred when try to find sandbox \"" +
                                               request->pod_sandbox_id() + "\": not found"};
    }
    response->mutable_status()->set_id("sandbox-1");
    response->mutable_status()->set_runtime_handler("runc-alt");
    return grpc::Status::OK;
  }
  grpc::Status ListPodSandbox(grpc::ServerContext*, const v1::ListPodSandboxRequest* request,
                              v1::ListPodSandboxResponse* response) override {
    std::lock_guard lock(mutex);
    last_selector = {request->filter().label_selector().begin(),
                     request->filter().label_selector().end()};
    response->add_items()->set_id("a");
    response->add_items()->set_id("b");
    return grpc::Status::OK;
  }
  grpc::Status StopContainer(grpc::ServerContext* context, const v1::StopContainerRequest* request,
                             v1::StopContainerResponse*) override {
    if (request->container_id() == "hold") {
      // Stands for a grace period: answers once released (or cancelled).
      std::unique_lock lock(mutex);
      ++holding;
      released.wait_for(lock, 30s, [&] { return release || context->IsCancelled(); });
      return grpc::Status::OK;
    }
    std::lock_guard lock(mutex);
    last_stop_timeout = request->timeout();
    last_stop_deadline_left = context->deadline() - std::chrono::system_clock::now();
    return grpc::Status::OK;
  }
  grpc::Status ContainerStatus(grpc::ServerContext*, const v1::ContainerStatusRequest* request,
                               v1::ContainerStatusResponse* response) override {
    response->mutable_status()->set_id(request->container_id());
    response->mutable_status()->set_state(v1::CONTAINER_EXITED);
    response->mutable_status()->set_exit_code(3);
    return grpc::Status::OK;
  }
  // Status is deliberately not overridden: the base class answers UNIMPLEMENTED.

  // Unless `serve_events`, UNIMPLEMENTED, as containerd 1.6 answers. Else
  // sends a stop event for each of `event_ids`, then waits until the client
  // cancels (CANCELLED) or `end_events` is set (ends with `events_end`).
  grpc::Status GetContainerEvents(grpc::ServerContext* context, const v1::GetEventsRequest*,
                                  grpc::ServerWriter<v1::ContainerEventResponse>* writer) override {
    std::unique_lock lock(mutex);
    ++event_calls;
    if (!serve_events) {
      return {grpc::StatusCode::UNIMPLEMENTED, "unknown method GetContainerEvents"};
    }
    ++event_streams;
    for (const auto& id : event_ids) {
      v1::ContainerEventResponse event;
      event.set_container_id(id);
      event.set_container_event_type(v1::CONTAINER_STOPPED_EVENT);
      writer->Write(event);
    }
    while (!end_events && !context->IsCancelled()) released.wait_for(lock, 10ms);
    if (context->IsCancelled()) return grpc::Status::CANCELLED;
    return events_end;
  }

  // The containers of `containers` (id → state) that the filter's state, if
  // any, selects; `list_failure` instead when it is not OK. Records the
  // filter's selector and state.
  grpc::Status ListContainers(grpc::ServerContext*, const v1::ListContainersRequest* request,
                              v1::ListContainersResponse* response) override {
    std::lock_guard lock(mutex);
    ++list_calls;
    last_container_selector = {request->filter().label_selector().begin(),
                               request->filter().label_selector().end()};
    last_container_state = request->filter().has_state()
                               ? std::optional(request->filter().state().state())
                               : std::nullopt;
    if (!list_failure.ok()) return list_failure;
    for (const auto& [id, state] : containers) {
      if (last_container_state && *last_container_state != state) continue;
      auto* c = response->add_containers();
      c->set_id(id);
      c->set_state(state);
    }
    return grpc::Status::OK;
  }

  std::mutex mutex;
  std::condition_variable released;
  bool release = false;
  int holding = 0;
  std::string last_handler;
  std::map<std::string, std::string> last_labels;
  std::map<std::string, std::string> last_selector;
  int64_t last_stop_timeout = -1;
  bool serve_events = false;
  std::vector<std::string> event_ids;
  bool end_events = false;
  grpc::Status events_end = grpc::Status::OK;
  int event_calls = 0;    // every GetContainerEvents
  int event_streams = 0;  // those served
  std::map<std::string, v1::ContainerState> containers;
  grpc::Status list_failure = grpc::Status::OK;
  int list_calls = 0;
  std::map<std::string, std::string> last_container_selector;
  std::optional<v1::ContainerState> last_container_state;
  std::chrono::system_clock::duration last_stop_deadline_left{};
};

class FakeImages final : public v1::ImageService::Service {
 public:
  grpc::Status ImageStatus(grpc::ServerContext*, const v1::ImageStatusRequest* request,
                           v1::ImageStatusResponse* response) override {
    if (request->image().image() == "present:1") {
      response->mutable_image()->set_id("sha256:abc");
      response->mutable_image()->add_repo_tags("present:1");
    }
    return grpc::Status::OK;
  }
  grpc::Status PullImage(grpc::ServerContext* context, const v1::PullImageRequest* request,
                         v1::PullImageResponse* response) override {
    if (request->image().image() == "slow:1") {
      // Outlive the client's deadline; return once the call is cancelled.
      for (int i = 0; i < 1000 && !context->IsCancelled(); ++i) std::this_thread::sleep_for(10ms);
      return {grpc::StatusCode::INTERNAL, "gave up"};
    }
    if (request->image().image() == "missing:1") {
      return {grpc::StatusCode::UNKNOWN,
              "failed to pull and unpack image \"missing:1\": not found"};
    }
    response->set_image_ref("sha256:" + request->image().image());
    return grpc::Status::OK;
  }
};

class ClientFakeRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/zp-cri-fake-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    endpoint_ = "unix://" + (dir_ / "cri.sock").string();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(endpoint_, grpc::InsecureServerCredentials());
    builder.RegisterService(&runtime_);
    builder.RegisterService(&images_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    auto client = Client::create(endpoint_, {.default_timeout = 2s, .pull_timeout = 5s});
    ASSERT_TRUE(client.has_value()) << client.error().toString();
    client_ = std::move(*client);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + 1s);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::filesystem::path dir_;
  std::string endpoint_;
  FakeRuntime runtime_;
  FakeImages images_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientFakeRuntimeTest, VersionAndPing) {
  auto version = client_->version();
  ASSERT_TRUE(version.has_value()) << version.error().toString();
  EXPECT_EQ(version->runtime_name(), "fake-runtime");
  EXPECT_EQ(version->runtime_api_version(), "v1");
  EXPECT_TRUE(client_->ping().has_value());
}

TEST_F(ClientFakeRuntimeTest, RunPodSandboxSendsConfigAndHandler) {
  v1::PodSandboxConfig config;
  config.mutable_metadata()->set_name("wl-1");
  (*config.mutable_labels())["zoneplane.io/workload-id"] = "wl-1";
  auto id = client_->runPodSandbox(config, "runc-alt");
  ASSERT_TRUE(id.has_value()) << id.error().toString();
  EXPECT_EQ(*id, "sandbox-1");
  std::lock_guard lock(runtime_.mutex);
  EXPECT_EQ(runtime_.last_handler, "runc-alt");
  EXPECT_EQ(runtime_.last_labels.at("zoneplane.io/workload-id"), "wl-1");
}

TEST_F(ClientFakeRuntimeTest, RuntimeErrorsAreMappedAndPrefixed) {
  v1::PodSandboxConfig config;
  config.mutable_metadata()->set_name("dup");
  auto run = client_->runPodSandbox(config, "");
  ASSERT_FALSE(run.has_value());
  EXPECT_EQ(run.error().code, Code::kAlreadyExists);
  EXPECT_EQ(run.error().message, "RunPodSandbox: name \"dup\" is reserved");

  auto status = client_->podSandboxStatus("nope");
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, Code::kNotFound);
  EXPECT_EQ(status.error().message,
            "PodSandboxStatus: an error occurred when try to find sandbox \"nope\": not found");

  auto pull = client_->pullImage(v1::ImageSpec());
  ASSERT_TRUE(pull.has_value());  // the fake accepts an empty name
  v1::ImageSpec missing;
  missing.set_image("missing:1");
  pull = client_->pullImage(missing);
  ASSERT_FALSE(pull.has_value());
  EXPECT_EQ(pull.error().code, Code::kInternal);
  EXPECT_EQ(pull.error().message,
            "PullImage: failed to pull and unpack image \"missing:1\": not found");
}

TEST_F(ClientFakeRuntimeTest, UnimplementedRpc) {
  auto status = client_->runtimeStatus();
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, Code::kUnimplemented);
  EXPECT_TRUE(status.error().message.starts_with("Status: ")) << status.error().message;
}

TEST_F(ClientFakeRuntimeTest, ListPodSandboxPassesTheLabelSelector) {
  v1::PodSandboxFilter filter;
  (*filter.mutable_label_selector())["zoneplane.io/managed"] = "true";
  auto items = client_->listPodSandbox(filter);
  ASSERT_TRUE(items.has_value()) << items.error().toString();
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].id(), "a");
  EXPECT_EQ((*items)[1].id(), "b");
  std::lock_guard lock(runtime_.mutex);
  EXPECT_EQ(runtime_.last_selector.at("zoneplane.io/managed"), "true");
}

TEST_F(ClientFakeRuntimeTest, ImageStatusDistinguishesAbsentFromPresent) {
  v1::ImageSpec spec;
  spec.set_image("present:1");
  auto present = client_->imageStatus(spec);
  ASSERT_TRUE(present.has_value()) << present.error().toString();
  ASSERT_TRUE(present->has_value());
  EXPECT_EQ((*present)->id(), "sha256:abc");

  spec.set_image("absent:1");
  auto absent = client_->imageStatus(spec);
  ASSERT_TRUE(absent.has_value()) << absent.error().toString();
  EXPECT_FALSE(absent->has_value());
}

TEST_F(ClientFakeRuntimeTest, PerCallDeadlineOverridesPullTimeout) {
  v1::ImageSpec spec;
  spec.set_image("slow:1");
  auto start = std::chrono::steady_clock::now();
  auto pull = client_->pullImage(spec, {.timeout = 200ms});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(pull.has_value());
  EXPECT_EQ(pull.error().code, Code::kDeadlineExceeded);
  EXPECT_TRUE(pull.error().message.starts_with("PullImage: ")) << pull.error().message;
  EXPECT_LT(took, 3s);
}

TEST_F(ClientFakeRuntimeTest, StopContainerDeadlineCoversTheGracePeriod) {
  ASSERT_TRUE(client_->stopContainer("c1", 30s).has_value());
  std::lock_guard lock(runtime_.mutex);
  EXPECT_EQ(runtime_.last_stop_timeout, 30);
  EXPECT_GT(runtime_.last_stop_deadline_left, 30s);  // 2 s default + 30 s grace
  EXPECT_LT(runtime_.last_stop_deadline_left, 33s);
}

TEST_F(ClientFakeRuntimeTest, ContainerStatusRoundTrip) {
  auto status = client_->containerStatus("c7");
  ASSERT_TRUE(status.has_value()) << status.error().toString();
  EXPECT_EQ(status->status().id(), "c7");
  EXPECT_EQ(status->status().state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(status->status().exit_code(), 3);
}

TEST_F(ClientFakeRuntimeTest, AsyncStopWaitsInTheRuntimeNotInACallerThread) {
  std::promise<Status> stopped;
  auto call = client_->stopContainerAsync("hold", 20s, {},
                                          [&](Status s) { stopped.set_value(std::move(s)); });
  ASSERT_NE(call, nullptr);
  auto outcome = stopped.get_future();
  // The runtime holds the stop; this thread is free and other calls proceed.
  ASSERT_TRUE(waitUntil([&] {
    std::lock_guard lock(runtime_.mutex);
    return runtime_.holding == 1;
  }));
  EXPECT_TRUE(client_->containerStatus("c1").has_value());
  ASSERT_TRUE(client_->stopContainer("c2", 0s).has_value());
  EXPECT_EQ(outcome.wait_for(0s), std::future_status::timeout);
  {
    std::lock_guard lock(runtime_.mutex);
    runtime_.release = true;
  }
  runtime_.released.notify_all();
  ASSERT_EQ(outcome.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(outcome.get().has_value());
}

TEST_F(ClientFakeRuntimeTest, CancellingAnAsyncPullEndsItWithCancelled) {
  std::promise<Result<std::string>> pulled;
  v1::PullImageRequest request;
  request.mutable_image()->set_image("slow:1");
  auto call = client_->pullImageAsync(request, {.timeout = 60s}, [&](Result<std::string> r) {
    pulled.set_value(std::move(r));
  });
  auto outcome = pulled.get_future();
  EXPECT_EQ(outcome.wait_for(100ms), std::future_status::timeout);
  call->cancel();
  call->cancel();  // idempotent
  ASSERT_EQ(outcome.wait_for(30s), std::future_status::ready);
  auto r = outcome.get();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kCancelled) << r.error().toString();
  call->cancel();  // harmless after completion
}

TEST_F(ClientFakeRuntimeTest, AsyncPullReturnsTheImageReference) {
  std::promise<Result<std::string>> pulled;
  v1::PullImageRequest request;
  request.mutable_image()->set_image("busybox:1");
  client_->pullImageAsync(request, {}, [&](Result<std::string> r) { pulled.set_value(std::move(r)); });
  auto r = pulled.get_future().get();
  ASSERT_TRUE(r.has_value()) << r.error().toString();
  EXPECT_EQ(*r, "sha256:busybox:1");
}

TEST(ClientWaitReady, CompletesOnceTheRuntimeComesUp) {
  char dir_template[] = "/tmp/zp-cri-ready-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir = dir_template;
  const std::string endpoint = "unix://" + (dir / "cri.sock").string();
  auto client = Client::create(endpoint);
  ASSERT_TRUE(client.has_value());

  // Nobody listens yet: a short wait ends with kDeadlineExceeded...
  std::promise<Status> early;
  (*client)->waitReady({.timeout = 300ms}, [&](Status s) { early.set_value(std::move(s)); });
  auto not_ready = early.get_future().get();
  ASSERT_FALSE(not_ready.has_value());
  EXPECT_EQ(not_ready.error().code, Code::kDeadlineExceeded) << not_ready.error().toString();

  // ...a long one completes once a runtime starts listening.
  std::promise<Status> ready;
  (*client)->waitReady({.timeout = 60s}, [&](Status s) { ready.set_value(std::move(s)); });
  auto outcome = ready.get_future();
  EXPECT_EQ(outcome.wait_for(200ms), std::future_status::timeout);
  FakeRuntime runtime;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(endpoint, grpc::InsecureServerCredentials());
  builder.RegisterService(&runtime);
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(outcome.wait_for(60s), std::future_status::ready);
  EXPECT_TRUE(outcome.get().has_value());
  server->Shutdown(std::chrono::system_clock::now() + 1s);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

TEST(ClientUnreachable, MissingSocketIsUnavailable) {
  auto client = Client::create("unix:///nonexistent/zoneplane/cri.sock");
  ASSERT_TRUE(client.has_value());
  auto start = std::chrono::steady_clock::now();
  auto pinged = (*client)->ping({.timeout = 5s});
  ASSERT_FALSE(pinged.has_value());
  EXPECT_EQ(pinged.error().code, Code::kUnavailable) << pinged.error().toString();
  EXPECT_TRUE(pinged.error().message.starts_with("Version: ")) << pinged.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);  // fails fast, no waiting
}

}  // namespace
}  // namespace zp::cri

namespace zp::cri {
namespace {

// The observer (ClientOptions::observer) sees every RPC once, blocking and
// asynchronous, with the error's code when it failed. The Client is destroyed
// right after the async pull's callback ran, while gRPC may still be
// releasing that call: ~Client waits for it (under ASan, a Client that did
// not wait failed here about one run in two).
TEST_F(ClientFakeRuntimeTest, ObserverSeesEveryCallAndItsOutcome) {
  struct Seen {
    std::string rpc;
    std::optional<Code> error;
  };
  std::mutex mutex;
  std::vector<Seen> seen;
  ClientOptions options{.default_timeout = 2s, .pull_timeout = 5s};
  options.observer = [&](std::string_view rpc, std::chrono::steady_clock::duration elapsed,
                         std::optional<Code> error) {
    EXPECT_GE(elapsed.count(), 0);
    std::lock_guard lock(mutex);
    seen.push_back({std::string(rpc), error});
  };
  auto client = Client::create(endpoint_, options);
  ASSERT_TRUE(client.has_value()) << client.error().toString();
  EXPECT_TRUE((*client)->ping().has_value());
  EXPECT_FALSE((*client)->runtimeStatus().has_value());
  std::promise<Result<std::string>> pulled;
  v1::PullImageRequest request;
  request.mutable_image()->set_image("busybox:1");
  (*client)->pullImageAsync(request, {},
                            [&](Result<std::string> r) { pulled.set_value(std::move(r)); });
  ASSERT_TRUE(pulled.get_future().get().has_value());
  EXPECT_TRUE((*client)->listContainers().has_value());
  EXPECT_TRUE((*client)->listContainers({}, {.observed_as = "ListContainers/exited"}).has_value());

  std::lock_guard lock(mutex);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0].rpc, "Version");
  EXPECT_FALSE(seen[0].error);
  EXPECT_EQ(seen[1].rpc, "Status");
  EXPECT_EQ(seen[1].error, Code::kUnimplemented);
  EXPECT_EQ(seen[2].rpc, "PullImage");
  EXPECT_FALSE(seen[2].error);
  EXPECT_EQ(seen[3].rpc, "ListContainers");
  EXPECT_EQ(seen[4].rpc, "ListContainers/exited");  // the name the caller gave it
}

// ---- GetContainerEvents

TEST_F(ClientFakeRuntimeTest, ContainerEventsAreReadAsTheyComeUntilCancelled) {
  {
    std::lock_guard lock(runtime_.mutex);
    runtime_.serve_events = true;
    runtime_.event_ids = {"c-1", "c-2"};
  }
  auto stream = client_->containerEvents();
  std::mutex mutex;
  std::vector<std::string> seen;
  auto reading = std::async(std::launch::async, [&] {
    return stream->read([&](const v1::ContainerEventResponse& event) {
      std::lock_guard lock(mutex);
      seen.push_back(event.container_id());
    });
  });
  ASSERT_TRUE(waitUntil([&] {
    std::lock_guard lock(mutex);
    return seen.size() == 2;
  }));
  // The stream stays open after the events: read() returns only once cancelled.
  EXPECT_EQ(reading.wait_for(100ms), std::future_status::timeout);
  stream->cancel();
  const Status ended = reading.get();
  ASSERT_FALSE(ended);
  EXPECT_EQ(ended.error().code, Code::kCancelled);
  EXPECT_EQ(seen, (std::vector<std::string>{"c-1", "c-2"}));
}

TEST_F(ClientFakeRuntimeTest, ContainerEventsFromARuntimeWithoutThemAreUnimplemented) {
  auto stream = client_->containerEvents();
  int events = 0;
  const Status ended = stream->read([&](const v1::ContainerEventResponse&) { ++events; });
  ASSERT_FALSE(ended);
  EXPECT_EQ(ended.error().code, Code::kUnimplemented);
  EXPECT_EQ(ended.error().message, "GetContainerEvents: unknown method GetContainerEvents");
  EXPECT_EQ(events, 0);
}

TEST_F(ClientFakeRuntimeTest, AnEventStreamTheRuntimeEndsIsUnavailableOrItsError) {
  {
    std::lock_guard lock(runtime_.mutex);
    runtime_.serve_events = true;
    runtime_.end_events = true;
  }
  const Status closed = client_->containerEvents()->read([](const auto&) {});
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code, Code::kUnavailable);
  EXPECT_EQ(closed.error().message, "GetContainerEvents: the runtime ended the stream");
  {
    std::lock_guard lock(runtime_.mutex);
    runtime_.events_end = {grpc::StatusCode::INTERNAL, "event queue overflow"};
  }
  const Status failed = client_->containerEvents()->read([](const auto&) {});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Code::kInternal);
  EXPECT_EQ(failed.error().message, "GetContainerEvents: event queue overflow");
}

TEST_F(ClientFakeRuntimeTest, AnEventStreamCancelledBeforeItIsReadEndsAtOnce) {
  {
    std::lock_guard lock(runtime_.mutex);
    runtime_.serve_events = true;
  }
  auto stream = client_->containerEvents();
  stream->cancel();
  const Status ended = stream->read([](const auto&) {});
  ASSERT_FALSE(ended);
  EXPECT_EQ(ended.error().code, Code::kCancelled);
}

// ---- ContainerEventFeed

class EventFeedTest : public ClientFakeRuntimeTest {
 protected:
  int eventCalls() {
    std::lock_guard lock(runtime_.mutex);
    return runtime_.event_calls;
  }
  int listCalls() {
    std::lock_guard lock(runtime_.mutex);
    return runtime_.list_calls;
  }
  void setContainer(const std::string& id, v1::ContainerState state) {
    std::lock_guard lock(runtime_.mutex);
    runtime_.containers[id] = state;
  }
  // `relist`: the exit relist's interval (zero: none).
  std::unique_ptr<ContainerEventFeed> feed(std::atomic<int>& changes,
                                           std::chrono::milliseconds relist = 0ms,
                                           std::chrono::milliseconds relist_max = 1s,
                                           ContainerEventBackoff backoff = {1ms, 4ms}) {
    v1::ContainerFilter mine;
    (*mine.mutable_label_selector())["zoneplane.node"] = "n1";
    return std::make_unique<ContainerEventFeed>(
        std::vector<ContainerEventFeed::Source>{{"fake runtime", client_.get(), mine}},
        [this, &changes](FeedReport report) {
          ++changes;
          ++(report == FeedReport::kEvent ? event_reports_ : relist_reports_);
        },
        backoff, ExitRelist{relist, relist_max});
  }
  // Calls of `changed`, by what made them.
  std::atomic<int> event_reports_ = 0;
  std::atomic<int> relist_reports_ = 0;
};

TEST_F(EventFeedTest, EachEventIsReportedAndDestructionEndsTheStream) {
  {
    std::lock_guard lock(runtime_.mutex);
    runtime_.serve_events = true;
    runtime_.event_ids = {"c-1", "c-2", "c-3"};
  }
  std::atomic<int> changes = 0;
  auto following = feed(changes);
  ASSERT_TRUE(waitUntil([&] { return changes == 3; }));
  following.reset();  // cancels the open stream: returns, and nothing more is reported
  EXPECT_EQ(changes, 3);
  EXPECT_EQ(event_reports_, 3);
  EXPECT_EQ(eventCalls(), 1);
}

TEST_F(EventFeedTest, ARuntimeWithoutEventsIsAskedOnce) {
  std::atomic<int> changes = 0;
  auto following = feed(changes);
  ASSERT_TRUE(waitUntil([&] { return eventCalls() == 1; }));
  std::this_thread::sleep_for(50ms);  // a dozen back-offs: none asks again
  EXPECT_EQ(eventCalls(), 1);
  EXPECT_EQ(changes, 0);
}

TEST_F(EventFeedTest, AStreamThatEndsIsOpenedAgain) {
  {
    std::lock_guard lock(runtime_.mutex);
    runtime_.serve_events = true;
    runtime_.event_ids = {"c-1"};
    runtime_.end_events = true;  // each stream: one event, then the runtime ends it
  }
  std::atomic<int> changes = 0;
  auto following = feed(changes);
  ASSERT_TRUE(waitUntil([&] { return changes >= 3 && eventCalls() >= 3; }));
  {
    std::lock_guard lock(runtime_.mutex);
    runtime_.events_end = {grpc::StatusCode::UNAVAILABLE, "shutting down"};
    runtime_.event_ids.clear();  // down: streams fail at once, and are still retried
  }
  const int calls = eventCalls();
  ASSERT_TRUE(waitUntil([&] { return eventCalls() >= calls + 3; }));
}

TEST_F(EventFeedTest, ARuntimeWithoutEventsIsRelistedForExitedContainersOnly) {
  setContainer("c-1", v1::CONTAINER_RUNNING);
  std::atomic<int> changes = 0;
  auto following = feed(changes, 1ms);
  ASSERT_TRUE(waitUntil([&] { return listCalls() >= 3; }));
  {
    std::lock_guard lock(runtime_.mutex);
    EXPECT_EQ(runtime_.last_container_selector,
              (std::map<std::string, std::string>{{"zoneplane.node", "n1"}}));
    EXPECT_EQ(runtime_.last_container_state, v1::CONTAINER_EXITED);
  }
  EXPECT_EQ(changes, 0);  // nothing exited
  EXPECT_EQ(eventCalls(), 1);

  setContainer("c-1", v1::CONTAINER_EXITED);
  ASSERT_TRUE(waitUntil([&] { return changes == 1; }));
  // Still exited: listed again and again, reported once.
  const int calls = listCalls();
  ASSERT_TRUE(waitUntil([&] { return listCalls() >= calls + 3; }));
  EXPECT_EQ(changes, 1);

  setContainer("c-2", v1::CONTAINER_EXITED);
  ASSERT_TRUE(waitUntil([&] { return changes == 2; }));
  following.reset();  // ends the relist: nothing more is reported or listed
  const int at_end = listCalls();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(listCalls(), at_end);
  EXPECT_EQ(changes, 2);
  EXPECT_EQ(relist_reports_, 2);  // a relist reports as one, not as events
  EXPECT_EQ(event_reports_, 0);
}

TEST_F(EventFeedTest, AContainerThatExitsAgainAfterLeavingTheListIsReportedAgain) {
  setContainer("c-1", v1::CONTAINER_EXITED);
  std::atomic<int> changes = 0;
  auto following = feed(changes, 1ms);
  ASSERT_TRUE(waitUntil([&] { return changes == 1; }));  // the first relist finds it
  {
    std::lock_guard lock(runtime_.mutex);
    runtime_.containers.erase("c-1");
  }
  const int calls = listCalls();
  ASSERT_TRUE(waitUntil([&] { return listCalls() >= calls + 2; }));
  setContainer("c-1", v1::CONTAINER_EXITED);
  ASSERT_TRUE(waitUntil([&] { return changes == 2; }));
}

// What the last relist that answered listed is kept across failures: an
// exit during them is reported once the runtime answers, and one listed
// before them is not reported again.
TEST_F(EventFeedTest, AFailedRelistIsRetriedAndMissesNoExit) {
  setContainer("c-0", v1::CONTAINER_EXITED);
  std::atomic<int> changes = 0;
  auto following = feed(changes, 1ms);
  ASSERT_TRUE(waitUntil([&] { return changes == 1; }));  // c-0, by the first relist
  {
    std::lock_guard lock(runtime_.mutex);
    runtime_.list_failure = {grpc::StatusCode::UNAVAILABLE, "restarting"};
  }
  const int before = listCalls();
  ASSERT_TRUE(waitUntil([&] { return listCalls() >= before + 3; }));  // the back-off: 1, 2, 4 ms
  setContainer("c-1", v1::CONTAINER_EXITED);
  {
    std::lock_guard lock(runtime_.mutex);
    runtime_.list_failure = grpc::Status::OK;
  }
  ASSERT_TRUE(waitUntil([&] { return changes == 2; }));  // c-1
  const int after = listCalls();
  ASSERT_TRUE(waitUntil([&] { return listCalls() >= after + 3; }));
  EXPECT_EQ(changes, 2);  // c-0 is not news again
}

// A runtime that cannot be reached when the feed starts (a node booting) is
// asked for its events again within the relist's `max`, not the stream's
// long back-off, so the relist starts soon after the runtime is back.
TEST_F(EventFeedTest, WithARelistTheStreamIsAskedAgainWithinTheRelistsMax) {
  {
    std::lock_guard lock(runtime_.mutex);
    runtime_.serve_events = true;
    runtime_.end_events = true;
    runtime_.events_end = {grpc::StatusCode::UNAVAILABLE, "starting"};
  }
  std::atomic<int> changes = 0;
  // Without the cap the second attempt would come after 60 s.
  auto following = feed(changes, 1ms, 10ms, ContainerEventBackoff{60s, 120s});
  ASSERT_TRUE(waitUntil([&] { return eventCalls() >= 3; }));
  {
    std::lock_guard lock(runtime_.mutex);
    runtime_.serve_events = false;  // up, without events: the relist takes over
  }
  setContainer("c-1", v1::CONTAINER_EXITED);
  ASSERT_TRUE(waitUntil([&] { return changes == 1; }));
}

TEST_F(EventFeedTest, ANodeWithManyExitedContainersIsRelistedLessOften) {
  for (std::size_t i = 0; i < 3 * kExitRelistBatch; ++i) {
    setContainer("c-" + std::to_string(i), v1::CONTAINER_EXITED);
  }
  std::atomic<int> changes = 0;
  // 50 ms a relist, up to 4 batches: 200 ms once 192 containers are listed.
  auto following = feed(changes, 50ms, 10s);
  ASSERT_TRUE(waitUntil([&] { return listCalls() >= 1; }));
  std::this_thread::sleep_for(500ms);
  // At 50 ms: ~10 relists; at 200 ms (the first relist's wait): 3 or 4.
  EXPECT_LE(listCalls(), 5);
  EXPECT_EQ(changes, 1);
}

}  // namespace
}  // namespace zp::cri

#include "cri/client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "cri/endpoint.h"
#include "cri/grpc_error.h"

namespace zp::cri {
namespace {

// Largest reply the client accepts (gRPC's default is 4 MiB). The big replies
// are the listings: the agent filters them by its node label, and each of its
// sandboxes carries at most ~9 KiB (the spec annotation is capped at 8 KiB,
// see agent/spec_annotation.h, plus labels and metadata), so 64 MiB holds the
// listing of ~7,000 sandboxes of one node: far more than a node runs (the
// kubelet's default is 110 pods). A listing over it fails (gRPC
// RESOURCE_EXHAUSTED, an Internal error here), and the agent's sweep then
// falls back to per-workload ContainerStatus calls instead of freezing.
constexpr int kMaxReceiveMessageBytes = 64 * 1024 * 1024;
// Reconnect quickly after the runtime restarts (gRPC's default cap is 120 s).
constexpr int kInitialReconnectBackoffMs = 100;
constexpr int kMaxReconnectBackoffMs = 2000;
// Sent in VersionRequest.version: the CRI API version we speak.
constexpr const char* kCriApiVersion = "v1";

template <typename Stub, typename Request, typename Response>
using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

// Deadline and readiness of one call.
struct Deadline {
  std::chrono::milliseconds timeout;
  bool wait_for_ready = false;
};

void prepare(grpc::ClientContext& context, Deadline deadline) {
  context.set_deadline(std::chrono::system_clock::now() + deadline.timeout);
  context.set_wait_for_ready(deadline.wait_for_ready);
}

// One blocking unary call with a deadline `timeout` from now.
// Tells `observer` (if set) how a call of `rpc` begun at `started` ended.
void observe(const CallObserver& observer, std::string_view rpc,
             std::chrono::steady_clock::time_point started, const grpc::Status& status) {
  if (!observer) return;
  std::optional<Code> error;
  if (!status.ok()) error = errorFromGrpc(rpc, status).code;
  observer(rpc, std::chrono::steady_clock::now() - started, error);
}

template <typename Stub, typename Request, typename Response>
Result<Response> invoke(const CallObserver& observer, std::string_view rpc, Stub& stub,
                        Method<Stub, Request, Response> method, const Request& request,
                        Deadline deadline) {
  grpc::ClientContext context;
  prepare(context, deadline);
  Response response;
  const auto started = std::chrono::steady_clock::now();
  grpc::Status status = (stub.*method)(&context, request, &response);
  observe(observer, rpc, started, status);
  if (!status.ok()) return fail(errorFromGrpc(rpc, status));
  return response;
}

template <typename T>
Status dropValue(Result<T>&& result) {
  if (!result) return fail(std::move(result.error()));
  return ok();
}

}  // namespace

// The asynchronous calls of one Client that gRPC still holds.
class AsyncCallCount {
 public:
  void add() {
    std::lock_guard lock(mutex_);
    ++calls_;
  }
  void release() {
    std::lock_guard lock(mutex_);
    if (--calls_ == 0) idle_.notify_all();
  }
  void waitIdle() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return calls_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable idle_;
  int calls_ = 0;
};

namespace {

// Counts one call in an AsyncCallCount for as long as it lives.
class CountedCall {
 public:
  explicit CountedCall(std::shared_ptr<AsyncCallCount> count) : count_(std::move(count)) {
    count_->add();
  }
  CountedCall(const CountedCall&) = delete;
  CountedCall& operator=(const CountedCall&) = delete;
  ~CountedCall() { count_->release(); }

 private:
  std::shared_ptr<AsyncCallCount> count_;
};

// One asynchronous unary call: owns the context, request and response until
// gRPC is done with them. Only the completion callback owns it, so it dies
// when gRPC destroys that callback, after the callback ran and gRPC dropped
// its own reference to the call; `counted` is declared first so the count
// drops only after the context released the call.
template <typename Request, typename Response>
struct AsyncCall {
  explicit AsyncCall(std::shared_ptr<AsyncCallCount> count) : counted(std::move(count)) {}

  CountedCall counted;
  grpc::ClientContext context;
  Request request;
  Response response;
};

// What the caller holds: cancels the call while it still exists.
class CallCanceller final : public PendingCall {
 public:
  explicit CallCanceller(std::weak_ptr<grpc::ClientContext> context)
      : context_(std::move(context)) {}
  void cancel() override {
    if (auto context = context_.lock()) context->TryCancel();
  }

 private:
  std::weak_ptr<grpc::ClientContext> context_;
};

// Starts `rpc` through the callback API: `start(context, request, response,
// on_done)` is the stub's async() method bound to its object. `done` gets the
// response or the mapped error.
template <typename Request, typename Response, typename Start>
std::shared_ptr<PendingCall> invokeAsync(std::shared_ptr<AsyncCallCount> count,
                                         const CallObserver& observer, std::string_view rpc,
                                         Request request, Deadline deadline, Start start,
                                         std::function<void(Result<Response>)> done) {
  auto call = std::make_shared<AsyncCall<Request, Response>>(std::move(count));
  auto canceller =
      std::make_shared<CallCanceller>(std::shared_ptr<grpc::ClientContext>(call, &call->context));
  call->request = std::move(request);
  prepare(call->context, deadline);
  const auto started = std::chrono::steady_clock::now();
  start(&call->context, &call->request, &call->response,
        [call, rpc = std::string(rpc), done = std::move(done), observer,
         started](grpc::Status status) {
          observe(observer, rpc, started, status);
          if (status.ok()) {
            done(std::move(call->response));
          } else {
            done(fail(errorFromGrpc(rpc, status)));
          }
        });
  return canceller;
}

}  // namespace

Result<std::unique_ptr<Client>> Client::create(std::string_view endpoint, ClientOptions options) {
  auto path = socketPathFromEndpoint(endpoint);
  if (!path) return fail(std::move(path.error()));
  if (options.default_timeout <= std::chrono::milliseconds::zero() ||
      options.pull_timeout <= std::chrono::milliseconds::zero() ||
      options.create_timeout <= std::chrono::milliseconds::zero()) {
    return fail(Code::kInvalidArgument, "CRI client timeouts must be positive", "timeout");
  }
  return std::unique_ptr<Client>(new Client(std::string(endpoint), options));
}

Client::Client(std::string endpoint, ClientOptions options)
    : endpoint_(std::move(endpoint)),
      options_(options),
      async_calls_(std::make_shared<AsyncCallCount>()) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kInitialReconnectBackoffMs);
  // GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is left at its default on purpose: gRPC
  // also uses it as the minimum connect timeout, and a small value makes
  // connection attempts fail spuriously on a loaded machine.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  channel_ = grpc::CreateCustomChannel(endpoint_, grpc::InsecureChannelCredentials(), args);
  runtime_ = v1::RuntimeService::NewStub(channel_);
  images_ = v1::ImageService::NewStub(channel_);
}

void Client::resetConnectBackoff() const {
  grpc::experimental::ChannelResetConnectionBackoff(channel_.get());
}

Client::~Client() { async_calls_->waitIdle(); }

std::chrono::milliseconds Client::createDeadlineFor(CallOptions call) const {
  return call.timeout > std::chrono::milliseconds::zero() ? call.timeout : options_.create_timeout;
}

std::chrono::milliseconds Client::deadlineFor(CallOptions call) const {
  return call.timeout > std::chrono::milliseconds::zero() ? call.timeout : options_.default_timeout;
}

// The runtime may legitimately take the whole grace period to answer.
std::chrono::milliseconds Client::stopDeadline(CallOptions call, std::chrono::seconds grace) const {
  return call.timeout > std::chrono::milliseconds::zero() ? call.timeout
                                                          : options_.default_timeout + grace;
}

std::chrono::milliseconds Client::execDeadline(CallOptions call,
                                               std::chrono::seconds timeout) const {
  return call.timeout > std::chrono::milliseconds::zero() ? call.timeout
                                                          : options_.default_timeout + timeout;
}

namespace {

// The CRI timeout of an exec: whole seconds, rounded up, at least one (0
// would mean no limit at all).
std::chrono::seconds execSeconds(std::chrono::milliseconds timeout) {
  auto seconds = std::chrono::ceil<std::chrono::seconds>(timeout);
  return std::max(seconds, std::chrono::seconds{1});
}

v1::ExecSyncRequest execRequest(std::string_view container_id, const std::vector<std::string>& cmd,
                                std::chrono::seconds timeout) {
  v1::ExecSyncRequest request;
  request.set_container_id(std::string(container_id));
  for (const auto& arg : cmd) request.add_cmd(arg);
  request.set_timeout(timeout.count());
  return request;
}

}  // namespace

// ---------------------------------------------------------------- runtime

Result<v1::VersionResponse> Client::version(CallOptions call) const {
  v1::VersionRequest request;
  request.set_version(kCriApiVersion);
  return invoke(options_.observer, "Version", *runtime_,
                &v1::RuntimeService::StubInterface::Version, request,
                Deadline{deadlineFor(call), call.wait_for_ready});
}

Status Client::ping(CallOptions call) const { return dropValue(version(call)); }

std::unique_ptr<ContainerEventStream> Client::containerEvents() const {
  return std::unique_ptr<ContainerEventStream>(new ContainerEventStream(*runtime_));
}

void ContainerEventStream::cancel() { context_.TryCancel(); }

Status ContainerEventStream::read(
    const std::function<void(const v1::ContainerEventResponse&)>& on_event) {
  v1::GetEventsRequest request;
  auto reader = stub_.GetContainerEvents(&context_, request);
  v1::ContainerEventResponse event;
  while (reader->Read(&event)) on_event(event);
  const grpc::Status status = reader->Finish();
  if (status.ok())
    return fail(Code::kUnavailable, "GetContainerEvents: the runtime ended the stream");
  return fail(errorFromGrpc("GetContainerEvents", status));
}

Result<v1::StatusResponse> Client::runtimeStatus(CallOptions call) const {
  v1::StatusRequest request;
  return invoke(options_.observer, "Status", *runtime_, &v1::RuntimeService::StubInterface::Status,
                request, Deadline{deadlineFor(call), call.wait_for_ready});
}

Result<std::string> Client::runPodSandbox(const v1::PodSandboxConfig& config,
                                          std::string_view runtime_handler,
                                          CallOptions call) const {
  v1::RunPodSandboxRequest request;
  *request.mutable_config() = config;
  request.set_runtime_handler(std::string(runtime_handler));
  auto response = invoke(options_.observer, "RunPodSandbox", *runtime_,
                         &v1::RuntimeService::StubInterface::RunPodSandbox, request,
                         Deadline{createDeadlineFor(call), call.wait_for_ready});
  if (!response) return fail(std::move(response.error()));
  return std::move(*response->mutable_pod_sandbox_id());
}

Status Client::stopPodSandbox(std::string_view pod_sandbox_id, CallOptions call) const {
  v1::StopPodSandboxRequest request;
  request.set_pod_sandbox_id(std::string(pod_sandbox_id));
  return dropValue(invoke(options_.observer, "StopPodSandbox", *runtime_,
                          &v1::RuntimeService::StubInterface::StopPodSandbox, request,
                          Deadline{deadlineFor(call), call.wait_for_ready}));
}

Status Client::removePodSandbox(std::string_view pod_sandbox_id, CallOptions call) const {
  v1::RemovePodSandboxRequest request;
  request.set_pod_sandbox_id(std::string(pod_sandbox_id));
  return dropValue(invoke(options_.observer, "RemovePodSandbox", *runtime_,
                          &v1::RuntimeService::StubInterface::RemovePodSandbox, request,
                          Deadline{deadlineFor(call), call.wait_for_ready}));
}

Result<v1::PodSandboxStatusResponse> Client::podSandboxStatus(std::string_view pod_sandbox_id,
                                                              CallOptions call) const {
  v1::PodSandboxStatusRequest request;
  request.set_pod_sandbox_id(std::string(pod_sandbox_id));
  return invoke(options_.observer, "PodSandboxStatus", *runtime_,
                &v1::RuntimeService::StubInterface::PodSandboxStatus, request,
                Deadline{deadlineFor(call), call.wait_for_ready});
}

Result<std::vector<v1::PodSandbox>> Client::listPodSandbox(const v1::PodSandboxFilter& filter,
                                                           CallOptions call) const {
  v1::ListPodSandboxRequest request;
  *request.mutable_filter() = filter;
  auto response = invoke(options_.observer, "ListPodSandbox", *runtime_,
                         &v1::RuntimeService::StubInterface::ListPodSandbox, request,
                         Deadline{deadlineFor(call), call.wait_for_ready});
  if (!response) return fail(std::move(response.error()));
  std::vector<v1::PodSandbox> items;
  items.reserve(response->items_size());
  for (auto& item : *response->mutable_items()) items.push_back(std::move(item));
  return items;
}

Result<std::string> Client::createContainer(std::string_view pod_sandbox_id,
                                            const v1::ContainerConfig& config,
                                            const v1::PodSandboxConfig& sandbox_config,
                                            CallOptions call) const {
  v1::CreateContainerRequest request;
  request.set_pod_sandbox_id(std::string(pod_sandbox_id));
  *request.mutable_config() = config;
  *request.mutable_sandbox_config() = sandbox_config;
  auto response = invoke(options_.observer, "CreateContainer", *runtime_,
                         &v1::RuntimeService::StubInterface::CreateContainer, request,
                         Deadline{createDeadlineFor(call), call.wait_for_ready});
  if (!response) return fail(std::move(response.error()));
  return std::move(*response->mutable_container_id());
}

Status Client::startContainer(std::string_view container_id, CallOptions call) const {
  v1::StartContainerRequest request;
  request.set_container_id(std::string(container_id));
  return dropValue(invoke(options_.observer, "StartContainer", *runtime_,
                          &v1::RuntimeService::StubInterface::StartContainer, request,
                          Deadline{createDeadlineFor(call), call.wait_for_ready}));
}

Status Client::stopContainer(std::string_view container_id, std::chrono::seconds grace_period,
                             CallOptions call) const {
  if (grace_period < std::chrono::seconds::zero()) grace_period = std::chrono::seconds::zero();
  v1::StopContainerRequest request;
  request.set_container_id(std::string(container_id));
  request.set_timeout(grace_period.count());
  return dropValue(invoke(options_.observer, "StopContainer", *runtime_,
                          &v1::RuntimeService::StubInterface::StopContainer, request,
                          Deadline{stopDeadline(call, grace_period), call.wait_for_ready}));
}

Status Client::removeContainer(std::string_view container_id, CallOptions call) const {
  v1::RemoveContainerRequest request;
  request.set_container_id(std::string(container_id));
  return dropValue(invoke(options_.observer, "RemoveContainer", *runtime_,
                          &v1::RuntimeService::StubInterface::RemoveContainer, request,
                          Deadline{deadlineFor(call), call.wait_for_ready}));
}

Result<v1::ContainerStatusResponse> Client::containerStatus(std::string_view container_id,
                                                            CallOptions call) const {
  v1::ContainerStatusRequest request;
  request.set_container_id(std::string(container_id));
  return invoke(options_.observer, call.observed_as.empty() ? "ContainerStatus" : call.observed_as,
                *runtime_, &v1::RuntimeService::StubInterface::ContainerStatus, request,
                Deadline{deadlineFor(call), call.wait_for_ready});
}

Result<std::vector<v1::Container>> Client::listContainers(const v1::ContainerFilter& filter,
                                                          CallOptions call) const {
  v1::ListContainersRequest request;
  *request.mutable_filter() = filter;
  auto response =
      invoke(options_.observer, call.observed_as.empty() ? "ListContainers" : call.observed_as,
             *runtime_, &v1::RuntimeService::StubInterface::ListContainers, request,
             Deadline{deadlineFor(call), call.wait_for_ready});
  if (!response) return fail(std::move(response.error()));
  std::vector<v1::Container> containers;
  containers.reserve(response->containers_size());
  for (auto& container : *response->mutable_containers()) {
    containers.push_back(std::move(container));
  }
  return containers;
}

// ---------------------------------------------------------------- images

Result<std::optional<v1::Image>> Client::imageStatus(const v1::ImageSpec& image,
                                                     CallOptions call) const {
  v1::ImageStatusRequest request;
  *request.mutable_image() = image;
  auto response = invoke(options_.observer, "ImageStatus", *images_,
                         &v1::ImageService::StubInterface::ImageStatus, request,
                         Deadline{deadlineFor(call), call.wait_for_ready});
  if (!response) return fail(std::move(response.error()));
  if (!response->has_image()) return std::optional<v1::Image>();
  return std::optional<v1::Image>(std::move(*response->mutable_image()));
}

Result<std::string> Client::pullImage(const v1::ImageSpec& image, CallOptions call) const {
  v1::PullImageRequest request;
  *request.mutable_image() = image;
  return pullImage(request, call);
}

Result<std::string> Client::pullImage(const v1::PullImageRequest& request, CallOptions call) const {
  std::chrono::milliseconds deadline =
      call.timeout > std::chrono::milliseconds::zero() ? call.timeout : options_.pull_timeout;
  auto response =
      invoke(options_.observer, "PullImage", *images_, &v1::ImageService::StubInterface::PullImage,
             request, Deadline{deadline, call.wait_for_ready});
  if (!response) return fail(std::move(response.error()));
  return std::move(*response->mutable_image_ref());
}

// ---------------------------------------------------------------- asynchronous

std::shared_ptr<PendingCall> Client::pullImageAsync(const v1::PullImageRequest& request,
                                                    CallOptions call,
                                                    std::function<void(Result<std::string>)> done) const {
  const std::chrono::milliseconds timeout =
      call.timeout > std::chrono::milliseconds::zero() ? call.timeout : options_.pull_timeout;
  auto* async = images_->async();
  return invokeAsync<v1::PullImageRequest, v1::PullImageResponse>(
      async_calls_, options_.observer, "PullImage", request, Deadline{timeout, call.wait_for_ready},
      [async](auto* context, auto* req, auto* resp, auto on_done) {
        async->PullImage(context, req, resp, std::move(on_done));
      },
      [done = std::move(done)](Result<v1::PullImageResponse> response) {
        if (!response) return done(fail(std::move(response.error())));
        done(std::move(*response->mutable_image_ref()));
      });
}

std::shared_ptr<PendingCall> Client::stopContainerAsync(std::string_view container_id,
                                                        std::chrono::seconds grace_period,
                                                        CallOptions call,
                                                        std::function<void(Status)> done) const {
  if (grace_period < std::chrono::seconds::zero()) grace_period = std::chrono::seconds::zero();
  v1::StopContainerRequest request;
  request.set_container_id(std::string(container_id));
  request.set_timeout(grace_period.count());
  auto* async = runtime_->async();
  return invokeAsync<v1::StopContainerRequest, v1::StopContainerResponse>(
      async_calls_, options_.observer, "StopContainer", std::move(request),
      Deadline{stopDeadline(call, grace_period), call.wait_for_ready},
      [async](auto* context, auto* req, auto* resp, auto on_done) {
        async->StopContainer(context, req, resp, std::move(on_done));
      },
      [done = std::move(done)](Result<v1::StopContainerResponse> response) {
        done(dropValue(std::move(response)));
      });
}

Result<v1::ExecSyncResponse> Client::execSync(std::string_view container_id,
                                              const std::vector<std::string>& cmd,
                                              std::chrono::milliseconds timeout,
                                              CallOptions call) const {
  const auto seconds = execSeconds(timeout);
  return invoke(options_.observer, "ExecSync", *runtime_,
                &v1::RuntimeService::StubInterface::ExecSync,
                execRequest(container_id, cmd, seconds),
                Deadline{execDeadline(call, seconds), call.wait_for_ready});
}

std::shared_ptr<PendingCall> Client::execSyncAsync(
    std::string_view container_id, const std::vector<std::string>& cmd,
    std::chrono::milliseconds timeout, CallOptions call,
    std::function<void(Result<v1::ExecSyncResponse>)> done) const {
  const auto seconds = execSeconds(timeout);
  auto* async = runtime_->async();
  return invokeAsync<v1::ExecSyncRequest, v1::ExecSyncResponse>(
      async_calls_, options_.observer, "ExecSync", execRequest(container_id, cmd, seconds),
      Deadline{execDeadline(call, seconds), call.wait_for_ready},
      [async](auto* context, auto* req, auto* resp, auto on_done) {
        async->ExecSync(context, req, resp, std::move(on_done));
      },
      std::move(done));
}

std::shared_ptr<PendingCall> Client::waitReady(CallOptions call,
                                               std::function<void(Status)> done) const {
  v1::VersionRequest request;
  request.set_version(kCriApiVersion);
  auto* async = runtime_->async();
  return invokeAsync<v1::VersionRequest, v1::VersionResponse>(
      async_calls_, options_.observer, "Version", std::move(request),
      Deadline{deadlineFor(call), /*wait_for_ready=*/true},
      [async](auto* context, auto* req, auto* resp, auto on_done) {
        async->Version(context, req, resp, std::move(on_done));
      },
      [done = std::move(done)](Result<v1::VersionResponse> response) {
        done(dropValue(std::move(response)));
      });
}

}  // namespace zp::cri

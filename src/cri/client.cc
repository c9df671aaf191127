#include "cri/client.h"

#include <grpcpp/grpcpp.h>

#include <utility>

#include "cri/endpoint.h"
#include "cri/grpc_error.h"

namespace zp::cri {
namespace {

// CRI list responses can be large on a busy node; gRPC's default is 4 MiB.
constexpr int kMaxReceiveMessageBytes = 16 * 1024 * 1024;
// Reconnect quickly after the runtime restarts (gRPC's default cap is 120 s).
constexpr int kInitialReconnectBackoffMs = 100;
constexpr int kMaxReconnectBackoffMs = 2000;
// Sent in VersionRequest.version: the CRI API version we speak.
constexpr const char* kCriApiVersion = "v1";

template <typename Stub, typename Request, typename Response>
using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

// One blocking unary call with a deadline `timeout` from now.
template <typename Stub, typename Request, typename Response>
Result<Response> invoke(std::string_view rpc, Stub& stub, Method<Stub, Request, Response> method,
                        const Request& request, std::chrono::milliseconds timeout) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  Response response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) return fail(errorFromGrpc(rpc, status));
  return response;
}

template <typename T>
Status dropValue(Result<T>&& result) {
  if (!result) return fail(std::move(result.error()));
  return ok();
}

}  // namespace

Result<std::unique_ptr<Client>> Client::create(std::string_view endpoint, ClientOptions options) {
  auto path = socketPathFromEndpoint(endpoint);
  if (!path) return fail(std::move(path.error()));
  if (options.default_timeout <= std::chrono::milliseconds::zero() ||
      options.pull_timeout <= std::chrono::milliseconds::zero()) {
    return fail(Code::kInvalidArgument, "CRI client timeouts must be positive", "timeout");
  }
  return std::unique_ptr<Client>(new Client(std::string(endpoint), options));
}

Client::Client(std::string endpoint, ClientOptions options)
    : endpoint_(std::move(endpoint)), options_(options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kInitialReconnectBackoffMs);
  // GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is left at its default on purpose: gRPC
  // also uses it as the minimum connect timeout, and a small value makes
  // connection attempts fail spuriously on a loaded machine.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(endpoint_, grpc::InsecureChannelCredentials(), args);
  runtime_ = v1::RuntimeService::NewStub(channel);
  images_ = v1::ImageService::NewStub(channel);
}

Client::~Client() = default;

std::chrono::milliseconds Client::deadlineFor(CallOptions call) const {
  return call.timeout > std::chrono::milliseconds::zero() ? call.timeout : options_.default_timeout;
}

// ---------------------------------------------------------------- runtime

Result<v1::VersionResponse> Client::version(CallOptions call) const {
  v1::VersionRequest request;
  request.set_version(kCriApiVersion);
  return invoke("Version", *runtime_, &v1::RuntimeService::StubInterface::Version, request,
                deadlineFor(call));
}

Status Client::ping(CallOptions call) const { return dropValue(version(call)); }

Result<v1::StatusResponse> Client::runtimeStatus(CallOptions call) const {
  v1::StatusRequest request;
  return invoke("Status", *runtime_, &v1::RuntimeService::StubInterface::Status, request,
                deadlineFor(call));
}

Result<std::string> Client::runPodSandbox(const v1::PodSandboxConfig& config,
                                          std::string_view runtime_handler,
                                          CallOptions call) const {
  v1::RunPodSandboxRequest request;
  *request.mutable_config() = config;
  request.set_runtime_handler(std::string(runtime_handler));
  auto response =
      invoke("RunPodSandbox", *runtime_, &v1::RuntimeService::StubInterface::RunPodSandbox, request,
             deadlineFor(call));
  if (!response) return fail(std::move(response.error()));
  return std::move(*response->mutable_pod_sandbox_id());
}

Status Client::stopPodSandbox(std::string_view pod_sandbox_id, CallOptions call) const {
  v1::StopPodSandboxRequest request;
  request.set_pod_sandbox_id(std::string(pod_sandbox_id));
  return dropValue(invoke("StopPodSandbox", *runtime_,
                          &v1::RuntimeService::StubInterface::StopPodSandbox, request,
                          deadlineFor(call)));
}

Status Client::removePodSandbox(std::string_view pod_sandbox_id, CallOptions call) const {
  v1::RemovePodSandboxRequest request;
  request.set_pod_sandbox_id(std::string(pod_sandbox_id));
  return dropValue(invoke("RemovePodSandbox", *runtime_,
                          &v1::RuntimeService::StubInterface::RemovePodSandbox, request,
                          deadlineFor(call)));
}

Result<v1::PodSandboxStatusResponse> Client::podSandboxStatus(std::string_view pod_sandbox_id,
                                                              CallOptions call) const {
  v1::PodSandboxStatusRequest request;
  request.set_pod_sandbox_id(std::string(pod_sandbox_id));
  return invoke("PodSandboxStatus", *runtime_, &v1::RuntimeService::StubInterface::PodSandboxStatus,
                request, deadlineFor(call));
}

Result<std::vector<v1::PodSandbox>> Client::listPodSandbox(const v1::PodSandboxFilter& filter,
                                                           CallOptions call) const {
  v1::ListPodSandboxRequest request;
  *request.mutable_filter() = filter;
  auto response =
      invoke("ListPodSandbox", *runtime_, &v1::RuntimeService::StubInterface::ListPodSandbox,
             request, deadlineFor(call));
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
  auto response =
      invoke("CreateContainer", *runtime_, &v1::RuntimeService::StubInterface::CreateContainer,
             request, deadlineFor(call));
  if (!response) return fail(std::move(response.error()));
  return std::move(*response->mutable_container_id());
}

Status Client::startContainer(std::string_view container_id, CallOptions call) const {
  v1::StartContainerRequest request;
  request.set_container_id(std::string(container_id));
  return dropValue(invoke("StartContainer", *runtime_,
                          &v1::RuntimeService::StubInterface::StartContainer, request,
                          deadlineFor(call)));
}

Status Client::stopContainer(std::string_view container_id, std::chrono::seconds grace_period,
                             CallOptions call) const {
  if (grace_period < std::chrono::seconds::zero()) grace_period = std::chrono::seconds::zero();
  v1::StopContainerRequest request;
  request.set_container_id(std::string(container_id));
  request.set_timeout(grace_period.count());
  // The runtime may legitimately take the whole grace period to answer.
  std::chrono::milliseconds deadline = call.timeout > std::chrono::milliseconds::zero()
                                           ? call.timeout
                                           : options_.default_timeout + grace_period;
  return dropValue(invoke("StopContainer", *runtime_,
                          &v1::RuntimeService::StubInterface::StopContainer, request, deadline));
}

Status Client::removeContainer(std::string_view container_id, CallOptions call) const {
  v1::RemoveContainerRequest request;
  request.set_container_id(std::string(container_id));
  return dropValue(invoke("RemoveContainer", *runtime_,
                          &v1::RuntimeService::StubInterface::RemoveContainer, request,
                          deadlineFor(call)));
}

Result<v1::ContainerStatusResponse> Client::containerStatus(std::string_view container_id,
                                                            CallOptions call) const {
  v1::ContainerStatusRequest request;
  request.set_container_id(std::string(container_id));
  return invoke("ContainerStatus", *runtime_, &v1::RuntimeService::StubInterface::ContainerStatus,
                request, deadlineFor(call));
}

Result<std::vector<v1::Container>> Client::listContainers(const v1::ContainerFilter& filter,
                                                          CallOptions call) const {
  v1::ListContainersRequest request;
  *request.mutable_filter() = filter;
  auto response =
      invoke("ListContainers", *runtime_, &v1::RuntimeService::StubInterface::ListContainers,
             request, deadlineFor(call));
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
  auto response = invoke("ImageStatus", *images_, &v1::ImageService::StubInterface::ImageStatus,
                         request, deadlineFor(call));
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
      invoke("PullImage", *images_, &v1::ImageService::StubInterface::PullImage, request, deadline);
  if (!response) return fail(std::move(response.error()));
  return std::move(*response->mutable_image_ref());
}

}  // namespace zp::cri

#pragma once
// zp::cri::Client — a typed, blocking client for one CRI v1 runtime endpoint.
//
// The generated CRI types are re-exported as `zp::cri::v1` (= ::runtime::v1),
// so callers build requests with e.g. `zp::cri::v1::PodSandboxConfig` and
// `zp::cri::v1::ContainerConfig` without including the generated headers
// themselves ("api.pb.h" / "api.grpc.pb.h", from the zp_cri_proto target).

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api.grpc.pb.h"
#include "api.pb.h"
#include "common/pending_call.h"
#include "common/status.h"

namespace zp::cri {

// The generated CRI v1 messages, enums and service stubs.
namespace v1 = ::runtime::v1;

// Sees how every RPC ended, for the metrics: its name ("RunPodSandbox",
// "PullImage", ...), how long it took, and the error's code (nullopt when it
// succeeded). Called on the calling thread for blocking calls and on a gRPC
// thread for asynchronous ones: it must be thread-safe, quick and must not
// block.
using CallObserver = std::function<void(
    std::string_view rpc, std::chrono::steady_clock::duration elapsed, std::optional<Code> error)>;

struct ClientOptions {
  // Deadline of every call that does not carry its own (CallOptions::timeout).
  std::chrono::milliseconds default_timeout{std::chrono::seconds(10)};
  // Deadline of pullImage when the call does not carry its own: pulls are slow.
  std::chrono::milliseconds pull_timeout{std::chrono::minutes(5)};
  // Deadline of RunPodSandbox, CreateContainer and StartContainer when the
  // call does not carry its own: a VM-based runtime boots a kernel in them,
  // and a create cut short by its deadline leaves the runtime busy with it
  // (its retry then meets "name is reserved"). The kubelet's default
  // runtime request timeout is the same two minutes.
  std::chrono::milliseconds create_timeout{std::chrono::minutes(2)};
  // Empty: calls are not observed.
  CallObserver observer{};
};

// Per-call settings.
struct CallOptions {
  // Deadline of this call, measured from when it starts. Zero (or negative)
  // means the client's default for the RPC (ClientOptions).
  std::chrono::milliseconds timeout{0};
  // Fail fast (false, gRPC's default): while the channel cannot connect the
  // call fails at once with kUnavailable. Wait (true): the call waits for the
  // runtime to become reachable, up to its deadline (then kDeadlineExceeded).
  bool wait_for_ready = false;
  // The name the observer (the metrics) sees the call as, when it is not
  // the RPC's own: a ListContainers made as the exit relist
  // ("ListContainers/exited") or a ContainerStatus made for an exit hint
  // ("ContainerStatus/hint") is then not mixed with the sweep's.
  std::string_view observed_as{};
};

// Client owns one gRPC channel to a CRI runtime's unix socket and the
// RuntimeService/ImageService stubs on it. Each method is one blocking RPC
// with a deadline; failures come back as zp::Error whose message is
// "<RpcName>: <runtime's message>" and whose code is mapped from the gRPC
// status (see cri/grpc_error.h).
//
// Thread-safety: gRPC channels and stubs are thread-safe and all methods are
// const, so one Client may be shared by any number of worker threads. Calls
// block the calling thread for up to their deadline: never call them from a
// network/event-loop executor.
//
// The channel connects lazily and reconnects on its own (capped backoff of
// two seconds), so a runtime that restarts is reachable again without a new
// Client. Calls fail fast with kUnavailable while the socket is unreachable
// (unless CallOptions::wait_for_ready); a CRI plugin that is still starting
// ("server is not initialized yet") is reported as kUnavailable too.
//
// The asynchronous calls (…Async, waitReady) hold no thread while they run:
// their `done` callback is called exactly once, either on a gRPC thread or on
// the calling thread before the method returns, so it must be quick, must not
// block and must not take locks the caller may hold (post the outcome to an
// executor). The returned PendingCall cancels the call (ClientContext::TryCancel);
// it may outlive the call and the Client.
class AsyncCallCount;
class Client;

// One GetContainerEvents stream (Client::containerEvents()). read() blocks
// its thread, calling `on_event` for each event, until the stream ends, and
// returns why: kUnimplemented from a runtime without events (containerd
// 1.6), kCancelled after cancel(), kUnavailable when the runtime goes away,
// and the runtime's error otherwise (a stream the runtime closes is
// kUnavailable too). cancel() is thread-safe and may come before read().
// Single use; must not outlive its Client.
class ContainerEventStream {
 public:
  void cancel();
  Status read(const std::function<void(const v1::ContainerEventResponse&)>& on_event);

 private:
  friend class Client;
  explicit ContainerEventStream(v1::RuntimeService::StubInterface& stub) : stub_(stub) {}
  v1::RuntimeService::StubInterface& stub_;
  grpc::ClientContext context_;
};

class Client {
 public:
  // Validates `endpoint` ("unix:///abs/path.sock", see cri/endpoint.h) and
  // creates the channel. Does not connect: use ping() to check reachability.
  static Result<std::unique_ptr<Client>> create(std::string_view endpoint,
                                                ClientOptions options = {});

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  // Waits until gRPC has released every asynchronous call (their `done`
  // callbacks have returned), then closes the channel: gRPC's callback queue
  // must not be shut down under a call it is still finishing. So a `done`
  // callback, and what it captures, must never destroy its Client; and a
  // call nobody cancelled holds the destructor up to its deadline (cancel
  // the PendingCalls first).
  ~Client();

  const std::string& endpoint() const { return endpoint_; }

  // Makes the channel try to connect again at once instead of after its
  // reconnect backoff (which grows to seconds while a runtime is down).
  // Cheap: one connection attempt to the socket. Thread-safe.
  void resetConnectBackoff() const;
  const ClientOptions& options() const { return options_; }

  // ---- RuntimeService

  // Runtime name/version and CRI API version.
  Result<v1::VersionResponse> version(CallOptions call = {}) const;
  // OK when the runtime answers Version.
  Status ping(CallOptions call = {}) const;
  // Runtime conditions (RuntimeReady, NetworkReady) and, on newer runtimes,
  // its handlers. RPC "Status".
  Result<v1::StatusResponse> runtimeStatus(CallOptions call = {}) const;

  // Creates and starts a sandbox with `runtime_handler` (empty = runtime's
  // default); returns the sandbox id.
  Result<std::string> runPodSandbox(const v1::PodSandboxConfig& config,
                                    std::string_view runtime_handler, CallOptions call = {}) const;
  // Idempotent at the runtime: stopping a stopped sandbox is OK.
  Status stopPodSandbox(std::string_view pod_sandbox_id, CallOptions call = {}) const;
  // Idempotent at the runtime; removes the sandbox's containers too.
  Status removePodSandbox(std::string_view pod_sandbox_id, CallOptions call = {}) const;
  // kNotFound when the sandbox does not exist.
  Result<v1::PodSandboxStatusResponse> podSandboxStatus(std::string_view pod_sandbox_id,
                                                        CallOptions call = {}) const;
  Result<std::vector<v1::PodSandbox>> listPodSandbox(const v1::PodSandboxFilter& filter = {},
                                                     CallOptions call = {}) const;

  // Creates (does not start) a container in a sandbox; `sandbox_config` is the
  // config the sandbox was run with. Returns the container id.
  Result<std::string> createContainer(std::string_view pod_sandbox_id,
                                      const v1::ContainerConfig& config,
                                      const v1::PodSandboxConfig& sandbox_config,
                                      CallOptions call = {}) const;
  Status startContainer(std::string_view container_id, CallOptions call = {}) const;
  // Signals the container, kills it after `grace_period`. The default deadline
  // is the client's default timeout plus the grace period. Idempotent.
  Status stopContainer(std::string_view container_id, std::chrono::seconds grace_period,
                       CallOptions call = {}) const;
  // Idempotent at the runtime.
  Status removeContainer(std::string_view container_id, CallOptions call = {}) const;
  // kNotFound when the container does not exist.
  Result<v1::ContainerStatusResponse> containerStatus(std::string_view container_id,
                                                      CallOptions call = {}) const;
  Result<std::vector<v1::Container>> listContainers(const v1::ContainerFilter& filter = {},
                                                    CallOptions call = {}) const;

  // Runs `cmd` (argv, no shell) in the running container and returns its
  // exit code and whole output (the runtime caps each stream at 16 MiB).
  // The runtime ends the command after `timeout` (rounded up to whole
  // seconds; at least 1 s) and then fails the call; the call's default
  // deadline is `timeout` plus the client's default timeout, so the
  // runtime's own answer comes first. A command that cannot be started
  // (not found, not executable) is the runtime's error, not an exit code.
  Result<v1::ExecSyncResponse> execSync(std::string_view container_id,
                                        const std::vector<std::string>& cmd,
                                        std::chrono::milliseconds timeout,
                                        CallOptions call = {}) const;

  // A stream of the runtime's container events, to read on a thread of the
  // caller's (ContainerEventStream). No deadline: it lasts until cancelled.
  std::unique_ptr<ContainerEventStream> containerEvents() const;

  // ---- ImageService

  // The image if present locally, std::nullopt if not (absence is no error).
  Result<std::optional<v1::Image>> imageStatus(const v1::ImageSpec& image,
                                               CallOptions call = {}) const;
  // Pulls `image`; returns the runtime's image reference (id or digest).
  // Default deadline: ClientOptions::pull_timeout.
  Result<std::string> pullImage(const v1::ImageSpec& image, CallOptions call = {}) const;
  // Same, with auth and/or sandbox config set by the caller.
  Result<std::string> pullImage(const v1::PullImageRequest& request, CallOptions call = {}) const;

  // ---- Asynchronous calls (see the class comment for the callback contract)

  // PullImage without a waiting thread; `done` gets the image reference.
  // Default deadline: ClientOptions::pull_timeout.
  std::shared_ptr<PendingCall> pullImageAsync(const v1::PullImageRequest& request, CallOptions call,
                                              std::function<void(Result<std::string>)> done) const;
  // StopContainer without a waiting thread: the runtime signals the container
  // and kills it after `grace_period`. Default deadline as stopContainer().
  std::shared_ptr<PendingCall> stopContainerAsync(std::string_view container_id,
                                                  std::chrono::seconds grace_period, CallOptions call,
                                                  std::function<void(Status)> done) const;
  // ExecSync without a waiting thread (see execSync()).
  std::shared_ptr<PendingCall> execSyncAsync(
      std::string_view container_id, const std::vector<std::string>& cmd,
      std::chrono::milliseconds timeout, CallOptions call,
      std::function<void(Result<v1::ExecSyncResponse>)> done) const;
  // Completes with OK as soon as the runtime answers Version, waiting through
  // reconnection attempts (wait_for_ready) until the call's deadline; then
  // kDeadlineExceeded. Use it to wait for a restarting runtime.
  std::shared_ptr<PendingCall> waitReady(CallOptions call, std::function<void(Status)> done) const;

 private:
  Client(std::string endpoint, ClientOptions options);

  std::chrono::milliseconds deadlineFor(CallOptions call) const;
  std::chrono::milliseconds createDeadlineFor(CallOptions call) const;
  std::chrono::milliseconds stopDeadline(CallOptions call, std::chrono::seconds grace) const;
  std::chrono::milliseconds execDeadline(CallOptions call, std::chrono::seconds timeout) const;

  std::string endpoint_;
  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RuntimeService::StubInterface> runtime_;
  std::unique_ptr<v1::ImageService::StubInterface> images_;
  // Shared with each asynchronous call until gRPC releases it.
  std::shared_ptr<AsyncCallCount> async_calls_;
};

}  // namespace zp::cri

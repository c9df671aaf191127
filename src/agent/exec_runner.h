#pragma once
// ExecRunner: runs ExecSync requests (docs/architecture.md §3). Finds the
// workload's running container in the registry, runs the command through
// the Runtime's asynchronous execSync (no thread is held while it runs, so
// a long command never delays other requests), and turns its output into
// the protocol reply: each stream cut at the request's max_output_bytes and
// made valid UTF-8 (protocol/exec_output.h), so the reply always fits a line.
//
// At most `max_running` execs run at once on the node; one more is refused
// with kResourceExhausted at once (it does not queue).
//
// Threading: run() is a coroutine for any executor (the agent runs it on the
// network executor); the counters are guarded by a mutex. Uses (does not
// own) the manager and the runtime, which must outlive it.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "agent/runtime.h"
#include "agent/workload_manager.h"
#include "protocol/messages.h"

namespace zp::agent {

class ExecRunner {
 public:
  static constexpr std::size_t kDefaultMaxRunning = 16;

  ExecRunner(WorkloadManager& manager, Runtime& runtime,
             std::size_t max_running = kDefaultMaxRunning)
      : manager_(manager), runtime_(runtime), max_running_(max_running) {}
  ExecRunner(const ExecRunner&) = delete;
  ExecRunner& operator=(const ExecRunner&) = delete;

  // The reply to `request`: ExecResult, or ErrorReply naming the workload
  // (kNotFound, kFailedPrecondition for a workload not Running or of another
  // submission, kResourceExhausted when max_running run already,
  // kDeadlineExceeded when the command outlived its timeout, kCancelled
  // after shutdown(), or the runtime's error).
  boost::asio::awaitable<protocol::ReplyBody> run(protocol::ExecSync request);

  // Cancels the execs under way (they answer kCancelled) and refuses new
  // ones. Thread-safe; idempotent.
  void shutdown();

  // Execs under way.
  std::size_t running() const;

 private:
  // Takes a slot and registers the exec; 0 (and nothing taken) when full or
  // shut down.
  std::uint64_t admit(Error& refusal);
  void release(std::uint64_t id);

  WorkloadManager& manager_;
  Runtime& runtime_;
  const std::size_t max_running_;
  mutable std::mutex mutex_;
  bool stopped_ = false;
  std::uint64_t next_id_ = 1;
  // The runtime calls under way, by exec; null until the call has started.
  std::map<std::uint64_t, std::shared_ptr<PendingCall>> calls_;
};

}  // namespace zp::agent

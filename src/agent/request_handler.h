#pragma once
// RequestHandler: turns one decoded protocol request into its reply. Runs on
// the network executor; stop and remove run as coroutines on the control
// pool and are awaited, so a slow operation never holds up other requests
// (and a grace period holds no thread at all). An exec holds no thread
// while its command runs (ExecRunner). Log files are read on the
// control pool too, a block at a time.
//
// Hello is not handled here as a request: the connection answers it before
// reading on (hello() below), because every later request depends on it.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <string_view>
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include "agent/exec_runner.h"
#include "agent/isolation/isolation_monitor.h"
#include "agent/workload_manager.h"
#include "protocol/messages.h"

namespace zp::agent {

// The connection a request came on, as a streaming request (Logs) writes to
// it. Used on the network executor only.
class ReplyStream {
 public:
  virtual ~ReplyStream() = default;
  // Queues `reply`, then waits (holding no thread) while the connection has
  // more unwritten lines than it allows a stream; false once the connection
  // is closing (the peer went away or the agent stops): the stream ends.
  virtual boost::asio::awaitable<bool> write(protocol::Reply reply) = 0;
  // Whether the connection is closing.
  virtual bool closed() const = 0;
};

struct LogOptions {
  // How often a following stream looks for new lines and status changes.
  std::chrono::milliseconds poll{100};
  // Lines read from the file per block read.
  std::size_t batch = 256;
};

class RequestHandler {
 public:
  // Uses (does not own) `manager`, `isolation` and `exec`; `workers` runs
  // stop, remove and file reads. Without `isolation` the node reports no
  // verification and ProbeIsolation is kUnimplemented; without `exec`,
  // ExecSync is kUnimplemented.
  RequestHandler(WorkloadManager& manager, boost::asio::any_io_executor workers,
                 LogOptions logs = {}, IsolationMonitor* isolation = nullptr,
                 ExecRunner* exec = nullptr)
      : manager_(manager),
        workers_(std::move(workers)),
        logs_(logs),
        isolation_(isolation),
        exec_(exec) {}

  // The reply to a Hello: this node's NodeInfo (with its isolation in
  // full), or kFailedPrecondition when `hello.node_id` names another node
  // (the connection is then closed).
  Result<api::NodeInfo> hello(const protocol::Hello& hello) const;

  // The final reply to `request`. A Logs request first writes its LogLine
  // replies to `stream` (docs/architecture.md §3), then ends with LogEnd.
  boost::asio::awaitable<protocol::Reply> handle(protocol::Request request, ReplyStream& stream);

  // Sees every request handle() answered, for the metrics: its type
  // ("StartWorkload", ...), how long it took and whether the reply is an
  // Error. Runs on the network executor; must not block. Set before serving.
  using Observer = std::function<void(std::string_view method,
                                      std::chrono::steady_clock::duration elapsed, bool error)>;
  void setObserver(Observer observer) { observer_ = std::move(observer); }

 private:
  // Streams the log of `request.id` to `stream`; the LogEnd (or Error) reply.
  boost::asio::awaitable<protocol::ReplyBody> logs(protocol::Logs request,
                                                  std::optional<std::string> req,
                                                  ReplyStream& stream);

  // The node's NodeInfo with its isolation revision, and the isolation list
  // unless `known_revision` is the current revision (docs/architecture.md §3).
  api::NodeInfo nodeInfo(std::optional<std::int64_t> known_revision) const;
  // Probes as ProbeIsolation asks (awaited without a thread), then the Node
  // reply with the isolation in full.
  boost::asio::awaitable<protocol::ReplyBody> probe(std::string runtime_class);

  WorkloadManager& manager_;
  boost::asio::any_io_executor workers_;
  LogOptions logs_;
  IsolationMonitor* isolation_;
  ExecRunner* exec_;
  Observer observer_;
};

}  // namespace zp::agent

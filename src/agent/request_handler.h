#pragma once
// RequestHandler: turns one decoded protocol request into its reply. Runs on
// the network executor; stop and remove run as coroutines on the control
// pool and are awaited, so a slow operation never holds up other requests
// (and a grace period holds no thread at all).
//
// Hello is not handled here as a request: the connection answers it before
// reading on (hello() below), because every later request depends on it.

#include <boost/asio/any_io_executor.hpp>
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include "agent/workload_manager.h"
#include "protocol/messages.h"

namespace zp::agent {

class RequestHandler {
 public:
  // Uses (does not own) `manager`; `workers` runs stop and remove.
  RequestHandler(WorkloadManager& manager, boost::asio::any_io_executor workers)
      : manager_(manager), workers_(std::move(workers)) {}

  // The reply to a Hello: this node's NodeInfo, or kFailedPrecondition when
  // `hello.node_id` names another node (the connection is then closed).
  Result<api::NodeInfo> hello(const protocol::Hello& hello) const;

  boost::asio::awaitable<protocol::Reply> handle(protocol::Request request);

 private:
  WorkloadManager& manager_;
  boost::asio::any_io_executor workers_;
};

}  // namespace zp::agent

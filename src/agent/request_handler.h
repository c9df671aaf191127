#pragma once
// RequestHandler: turns one decoded protocol request into its reply. Runs on
// the network executor; blocking work (stop, remove) is sent to the worker
// pool and awaited, so a slow operation never holds up other requests.

#include <boost/asio/any_io_executor.hpp>
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include "agent/workload_manager.h"
#include "protocol/messages.h"

namespace zp::agent {

class RequestHandler {
 public:
  // Uses (does not own) `manager`; `workers` runs blocking calls.
  RequestHandler(WorkloadManager& manager, boost::asio::any_io_executor workers)
      : manager_(manager), workers_(std::move(workers)) {}

  boost::asio::awaitable<protocol::Reply> handle(protocol::Request request);

 private:
  WorkloadManager& manager_;
  boost::asio::any_io_executor workers_;
};

}  // namespace zp::agent

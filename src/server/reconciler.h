#pragma once
// Drives accepted workloads towards their agents: every tick, one
// ListWorkloads per node for the non-terminal records, and StartWorkload again
// for those their agent does not know (never delivered, or lost) once their
// delivery backoff is over (WorkloadController::deliveryDue).

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

#include "server/workload_controller.h"
#include "store/store.h"

namespace zp::server {

// Owns its tick timer. Runs on the server's single executor; not thread-safe.
class Reconciler {
 public:
  Reconciler(boost::asio::any_io_executor executor, store::Store& store,
             WorkloadController& controller, std::chrono::milliseconds interval);

  // One pass; returns how many workloads were re-sent (those still backing
  // off are not).
  boost::asio::awaitable<int> reconcileOnce();
  // Passes every interval until stop().
  boost::asio::awaitable<void> run();
  void stop();

 private:
  store::Store& store_;
  WorkloadController& controller_;
  std::chrono::milliseconds interval_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
};

}  // namespace zp::server

#pragma once
// SimFleet: N simulated agents (SimNode) in one process, each on its own
// loopback port, served by a few io threads. For benchmarks and tests only:
// it speaks the real agent protocol (docs/architecture.md §3) but runs
// nothing. zoneplane-simfleet (main.cc) is its command line.
//
// Threading: `threads` io_contexts, each run by one thread; node i lives on
// io_context i % threads. start() binds every listener before it returns;
// stop() (and the destructor) ends the threads. The public methods are for
// the owning thread.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/isolation.h"
#include "common/status.h"
#include "sim/sim_node.h"

namespace zp::sim {

struct FleetOptions {
  int nodes = 1;                     // 1 … kMaxNodes
  std::string node_prefix = "sim-";  // node ids: prefix + 0001, 0002, …
  std::string host = "127.0.0.1";    // every node listens here, on a port of its own
  std::int64_t memory_mb = 65'536;   // capacity of each node
  std::int64_t cpu_millicores = 64'000;
  std::vector<std::string> runtime_classes = {"native"};
  // What every class reports as verified (docs/architecture.md §10);
  // verified_at is the fleet's start.
  api::IsolationLevel isolation = api::IsolationLevel::kApplicationKernel;
  int isolation_score = 70;                // 0 … 100
  std::chrono::milliseconds run_delay{0};  // StartWorkload → Running push after this
  int threads = 2;                         // io threads, 1 … kMaxThreads
};

inline constexpr int kMaxNodes = 65'000;
inline constexpr int kMaxThreads = 64;

// Checks every option; errors name the command-line flag.
Status validateFleetOptions(const FleetOptions& options);

// The id of node `index` (1-based): the prefix and the index with at least
// four digits ("sim-0001", …, "sim-9999", "sim-10000").
std::string simNodeId(const std::string& prefix, int index);

class SimFleet {
 public:
  struct Endpoint {
    std::string node;     // node id
    std::string address;  // HOST:PORT
  };

  // Validates, binds every node's listener and starts the io threads.
  static Result<std::unique_ptr<SimFleet>> start(FleetOptions options);
  ~SimFleet();
  SimFleet(const SimFleet&) = delete;
  SimFleet& operator=(const SimFleet&) = delete;

  // In node order.
  const std::vector<Endpoint>& endpoints() const { return endpoints_; }
  // Closes every listener and connection and joins the threads. Idempotent.
  void stop();

 private:
  SimFleet() = default;

  // Declared before the nodes: destroyed after them (a node's sockets and
  // timers need their io_context).
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<std::unique_ptr<SimNode>> nodes_;
  std::vector<Endpoint> endpoints_;
  std::vector<std::thread> threads_;
};

}  // namespace zp::sim

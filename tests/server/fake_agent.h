#pragma once
// A fake zoneplane-agent for server tests: a real TCP server on 127.0.0.1
// speaking the line protocol, with an in-memory registry instead of a CRI
// runtime. Runs its own io_context on its own thread; every public method is
// thread-safe.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/node.h"
#include "api/workload.h"
#include "protocol/messages.h"

namespace zp::server::testing {

class FakeAgent {
 public:
  enum class Mode {
    kNormal,   // answers every request
    kDown,     // accepts connections and closes them at once (unreachable)
    kSilent,   // reads requests and never answers (timeouts)
    kWrongReq  // answers with a different "req"
  };

  FakeAgent(std::string node_id, std::vector<std::string> runtime_classes, api::Resources capacity);
  ~FakeAgent();

  std::string address() const;  // "127.0.0.1:<port>"
  void setMode(Mode mode) { mode_ = mode; }

  // Registry: StartWorkload adds a Pending status (idempotent), RemoveWorkload
  // erases, GetStatus/ListWorkloads report.
  std::optional<api::WorkloadStatus> workload(const std::string& id) const;
  void setState(const std::string& id, api::WorkloadState state, std::string reason = {},
                std::optional<int> exit_code = std::nullopt);
  void forget(const std::string& id);  // as if the sandbox vanished
  // Answer every StartWorkload with this error instead.
  void failStarts(std::optional<Error> error);

  // How many requests of a type ("StartWorkload", ...) arrived.
  int count(const std::string& type) const;
  void resetCounts();
  // timeout_seconds of the last RemoveWorkload.
  std::int64_t lastGraceSeconds() const {
    std::lock_guard lock(mu_);
    return last_grace_seconds_;
  }

 private:
  protocol::ReplyBody handle(const protocol::RequestBody& request);
  void acceptLoop();

  std::string node_id_;
  std::vector<std::string> runtime_classes_;
  api::Resources capacity_;
  std::atomic<Mode> mode_{Mode::kNormal};

  mutable std::mutex mu_;
  std::map<std::string, api::WorkloadStatus> workloads_;
  std::map<std::string, int> counts_;
  std::optional<Error> start_error_;
  std::int64_t last_grace_seconds_ = -1;

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
};

}  // namespace zp::server::testing

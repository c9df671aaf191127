#pragma once
// Support for the agent integration tests: the real zoneplane-agent process,
// a blocking client for the line protocol (docs/architecture.md §3) and polling. No
// GoogleTest here: failures come back as values for the fixture to assert on.
//
// Threading: AgentProcess is used from the test's main thread; each
// LineClient belongs to one thread at a time.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "cri/client.h"
#include "daemon_process.h"

namespace zp::agent_it {

using Json = nlohmann::json;
using namespace std::chrono_literals;

// The value of an environment variable, "" when unset.
std::string envOrEmpty(const char* name);
// `n` random lowercase hex characters (for node and workload ids).
std::string randomHex(std::size_t n = 8);
// The whole file, "" when it cannot be read.
std::string readFile(const std::filesystem::path& path);
using testsupport::logTail;  // the last lines of a file, for failure messages

// Polls `predicate` every `interval` until it returns true (-> true) or
// `timeout` passes (-> false). The predicate runs at least once.
bool waitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval = 100ms);

struct AgentArgs {
  std::string binary;  // path of zoneplane-agent
  std::string node_id;
  std::filesystem::path data_dir;
  std::vector<std::string> runtime_classes;  // NAME=HANDLER@ENDPOINT
  std::filesystem::path log_file;            // the agent's stderr is appended here
  std::vector<std::string> extra_args;       // more flags, e.g. {"--pull-timeout-seconds", "3"}
};

// One zoneplane-agent child process on 127.0.0.1, port 0 (see DaemonProcess).
class AgentProcess {
 public:
  // Spawns the agent and waits (up to `timeout`) for its listening line.
  Status start(const AgentArgs& args, std::chrono::milliseconds timeout = 90s);
  void kill9() { process_.kill9(); }
  // SIGTERM and wait: exit code (or -signal); nullopt on timeout (then SIGKILLed).
  std::optional<int> terminate(std::chrono::milliseconds timeout = 60s) {
    return process_.terminate(timeout);
  }
  bool alive() { return process_.alive(); }
  unsigned short port() const { return process_.port(); }
  pid_t pid() const { return process_.pid(); }

 private:
  testsupport::DaemonProcess process_;
};

// A blocking TCP client for the line protocol on 127.0.0.1. Replies are
// JSON objects; call() matches them to requests by "req".
class LineClient {
 public:
  static Result<LineClient> connect(unsigned short port);
  // A client that is not connected: every operation fails with kUnavailable.
  static LineClient disconnected() { return LineClient(-1); }

  LineClient(LineClient&& other) noexcept;
  LineClient& operator=(LineClient&& other) noexcept;
  LineClient(const LineClient&) = delete;
  LineClient& operator=(const LineClient&) = delete;
  ~LineClient();

  // Sends bytes as they are (no newline added).
  Status sendRaw(std::string_view bytes);
  // Sends `message.dump()` plus '\n'.
  Status send(const Json& message);
  // The next line without '\n'. kDeadlineExceeded after `timeout`;
  // kUnavailable when the peer closed (EOF or reset).
  Result<std::string> readLine(std::chrono::milliseconds timeout = 60s);
  // The next line, parsed; kInternal if it is not JSON.
  Result<Json> readJson(std::chrono::milliseconds timeout = 60s);
  // Sends Hello {node_id, subscribe} (the first request on every connection)
  // and checks the reply is Node; the error carries the reply otherwise.
  Status hello(const std::string& node_id, bool subscribe = false);
  // Sends `request` with a fresh "req" and returns the reply carrying it.
  // Replies with another req in between are an error (use call() only when
  // nothing else is in flight on this connection).
  Result<Json> call(Json request, std::chrono::milliseconds timeout = 120s);
  // Waits until the peer closes the connection (true) or `timeout` (false).
  // Lines read meanwhile are discarded.
  bool waitClosed(std::chrono::milliseconds timeout = 30s);
  void close();

 private:
  explicit LineClient(int fd) : fd_(fd) {}

  int fd_ = -1;
  std::string buffer_;
  unsigned next_req_ = 0;
};

// Stops and removes every sandbox labelled with `node_id`, listing again until
// none is left: a runtime call cut short by a killed agent may still be
// finishing, and a loaded runtime may miss a deadline; and until the node's
// pod cgroups (/zoneplane/<node_id> in every hierarchy) are removed too.
// Error after `timeout`.
Status removeSandboxesOfNode(const cri::Client& cri, const std::string& node_id,
                             std::chrono::milliseconds timeout = 120s);

// {"id", "image", "runtime_class", "memory_mb", "cpu_millicores", "command"}.
Json workloadJson(const std::string& id, const std::string& image,
                  std::vector<std::string> command, const std::string& runtime_class = "native",
                  std::int64_t memory_mb = 64, std::int64_t cpu_millicores = 100);

}  // namespace zp::agent_it

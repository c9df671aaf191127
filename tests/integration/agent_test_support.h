#pragma once
// Support for the agent integration tests: the real zoneplane-agent process,
// the blocking client for the line protocol (docs/architecture.md §3) and polling. No
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
#include "support/line_client.h"

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

// The blocking line-protocol client, plain or TLS (tests/support/line_client.h).
using testsupport::LineClient;
using testsupport::LineClientTls;

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

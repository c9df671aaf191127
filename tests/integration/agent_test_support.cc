#include "agent_test_support.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "agent/pod_cgroups.h"

namespace zp::agent_it {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

std::string envOrEmpty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string randomHex(std::size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^
                                          static_cast<std::uint64_t>(getpid()) << 20};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n, '0');
  for (auto& c : out) c = kHex[rng() % 16];
  return out;
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool waitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (predicate()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

// ---- AgentProcess

Status AgentProcess::start(const AgentArgs& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {args.binary, "--node-id", args.node_id, "--listen",
                                   "127.0.0.1:0", "--data-dir", args.data_dir.string(),
                                   // Any free port: agents of parallel tests never share one.
                                   "--metrics-listen", "127.0.0.1:0"};
  for (const auto& c : args.runtime_classes) {
    argv.push_back("--runtime-class");
    argv.push_back(c);
  }
  argv.insert(argv.end(), args.extra_args.begin(), args.extra_args.end());
  return process_.start(argv, "zoneplane-agent listening on ", args.log_file, timeout);
}

Json workloadJson(const std::string& id, const std::string& image, std::vector<std::string> command,
                  const std::string& runtime_class, std::int64_t memory_mb,
                  std::int64_t cpu_millicores) {
  Json w{{"id", id},
         {"image", image},
         {"runtime_class", runtime_class},
         {"memory_mb", memory_mb},
         {"cpu_millicores", cpu_millicores}};
  if (!command.empty()) w["command"] = std::move(command);
  return w;
}

Status removeSandboxesOfNode(const cri::Client& cri, const std::string& node_id,
                             std::chrono::milliseconds timeout) {
  cri::v1::PodSandboxFilter filter;
  (*filter.mutable_label_selector())["zoneplane.io/node-id"] = node_id;
  std::string last_error;
  // A RunPodSandbox the killed agent started may still be finishing in the
  // runtime: its sandbox is listed only once made, and its pod cgroup stays
  // busy until it is removed. So: until nothing is listed and the node's pod
  // cgroups (/zoneplane/<node_id>, which the killed agent did not release)
  // are gone too.
  const bool clean = waitFor(
      [&] {
        auto sandboxes = cri.listPodSandbox(filter);
        if (!sandboxes) {
          last_error = sandboxes.error().toString();
          return false;
        }
        if (sandboxes->empty()) {
          auto removed = agent::removeNodeCgroups(node_id);
          if (removed) return true;
          last_error = removed.error().message;
          return false;
        }
        for (const auto& sandbox : *sandboxes) {
          auto stopped = cri.stopPodSandbox(sandbox.id());
          auto removed = cri.removePodSandbox(sandbox.id());
          if (!stopped || !removed) {
            last_error = sandbox.id() + ": " +
                         (!stopped ? stopped.error().toString() : removed.error().toString());
          }
        }
        return false;  // listed again on the next round
      },
      timeout, 500ms);
  if (!clean) {
    return fail(Code::kDeadlineExceeded, "node " + node_id + " left behind: " + last_error);
  }
  return ok();
}

}  // namespace zp::agent_it

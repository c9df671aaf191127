// Start latency of one workload through the agent's path (WorkloadManager +
// CriRuntime: ImageStatus, RunPodSandbox, CreateContainer, StartContainer,
// ContainerStatus) against the baseline of the same CRI calls made directly
// with the same configs and the same security settings: the user resolved
// from the image as the agent does (a node-allocated uid for this root image),
// the pod cgroup with its pids limit, the same builders. Needs the runtime
// stack (scripts/stack start; eval "$(scripts/stack env)"); teardown is
// excluded from every timing. A third run makes the same direct calls with
// the hardening taken out (stripHardening), to show what the posture costs.
//
// The hardened direct calls and the agent's path run once per runtime class
// ("native" = runc, "gvisor" = the stack's gVisor handler, skipped when the
// stack has none), so one run shows what gVisor's start costs next to runc.
// The direct calls also report their phases: sandbox_ms (RunPodSandbox) and
// create_start_ms (CreateContainer + StartContainer), per workload.
//
// Usage: start_path_bench [--samples N] [benchmark flags]
//   --samples N  workloads per repetition (default 20; 3 repetitions)

#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <chrono>
#include <charconv>
#include <string_view>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "agent/cri_configs.h"
#include "agent/cri_runtime.h"
#include "agent/pod_cgroups.h"
#include "agent/user_resolution.h"
#include "agent/workload_manager.h"

namespace {

using namespace zp;

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

constexpr std::string_view kGvisorClass = "gvisor";

// The CRI handler of a runtime class: "runc" for native, the stack's gVisor
// handler ("" when the stack has none) for gvisor.
std::string handlerOf(std::string_view runtime_class) {
  return runtime_class == kGvisorClass ? env("ZONEPLANE_GVISOR_HANDLER") : "runc";
}

agent::AgentConfig benchConfig() {
  agent::AgentConfig c;
  c.node_id = "bench-" + std::to_string(::getpid());
  c.data_dir = "/tmp/zoneplane-bench-" + std::to_string(::getpid());
  c.runtime_classes["native"] = {env("ZONEPLANE_CRI_ENDPOINT"), "runc"};
  if (!handlerOf(kGvisorClass).empty()) {
    c.runtime_classes[std::string(kGvisorClass)] = {env("ZONEPLANE_CRI_ENDPOINT"),
                                                    handlerOf(kGvisorClass)};
  }
  return c;
}

api::WorkloadSpec benchSpec(int n, const std::string& runtime_class) {
  api::WorkloadSpec spec;
  spec.id = "bench-" + std::to_string(n);
  spec.image = env("ZONEPLANE_TEST_IMAGE");
  spec.runtime_class = runtime_class;
  spec.memory_mb = 64;
  spec.cpu_millicores = 100;
  spec.command = {"sleep", "300"};
  return spec;  // default security: restricted, pids limit 1024
}

// Skips the benchmark (false) when the class has no handler on this stack.
bool classAvailable(benchmark::State& state, const std::string& runtime_class) {
  if (!handlerOf(runtime_class).empty()) return true;
  state.SkipWithError(("no handler for class \"" + runtime_class +
                       "\" on this stack (ZONEPLANE_GVISOR_HANDLER is empty)")
                          .c_str());
  return false;
}

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

void removeAll(cri::Client& client, const std::string& node_id) {
  cri::v1::PodSandboxFilter filter;
  for (const auto& [k, v] : agent::nodeLabels(node_id)) (*filter.mutable_label_selector())[k] = v;
  if (auto list = client.listPodSandbox(filter)) {
    for (const auto& sb : *list) {
      (void)client.stopPodSandbox(sb.id());
      (void)client.removePodSandbox(sb.id());
    }
  }
}

// The posture this change added, taken out again: what a container config
// carried before (never privileged, no_new_privs, RuntimeDefault seccomp, pod
// namespaces), without masked/read-only paths, dropped capabilities, a user,
// a pod cgroup or the sandbox's user and read-only root. Used only to measure
// what the hardening costs.
void stripHardening(cri::v1::PodSandboxConfig& sandbox, cri::v1::ContainerConfig& container) {
  auto* ssc = sandbox.mutable_linux()->mutable_security_context();
  ssc->clear_run_as_user();
  ssc->clear_run_as_group();
  ssc->set_readonly_rootfs(false);
  sandbox.mutable_linux()->clear_cgroup_parent();
  sandbox.mutable_linux()->clear_sysctls();
  auto* csc = container.mutable_linux()->mutable_security_context();
  csc->clear_capabilities();
  csc->clear_run_as_user();
  csc->clear_run_as_group();
  csc->clear_masked_paths();
  csc->clear_readonly_paths();
  csc->set_readonly_rootfs(false);
  container.mutable_linux()->mutable_resources()->clear_unified();
}

// `hardened`: the configs exactly as the agent sends them (user resolved from
// the image, pod cgroup with its pids limit); otherwise stripHardening().
void BM_DirectCriCalls(benchmark::State& state, bool hardened, const std::string& runtime_class) {
  if (!classAvailable(state, runtime_class)) return;
  const auto config = benchConfig();
  const auto handler = handlerOf(runtime_class);
  double sandbox_ms = 0, create_start_ms = 0;
  auto client = cri::Client::create(env("ZONEPLANE_CRI_ENDPOINT"));
  if (!client) return state.SkipWithError(client.error().message.c_str());
  auto cgroups = agent::CgroupfsPodCgroups::create(config.node_id);
  if (!cgroups) return state.SkipWithError(cgroups.error().message.c_str());
  agent::UidAllocator uids(config.uid_range);
  int n = hardened ? 0 : 500;
  for (auto _ : state) {
    agent::WorkloadIdentity id;
    id.spec = benchSpec(n++, runtime_class);
    id.uid = "direct" + std::to_string(n);
    cri::v1::ImageSpec image;
    image.set_image(id.spec.image);
    auto present = (*client)->imageStatus(image);
    if (!present || !*present) {
      (void)(*client)->pullImage(image);
      present = (*client)->imageStatus(image);
    }
    if (!present || !*present) return state.SkipWithError("the test image is not present");
    agent::PodPlacement placement;
    if (hardened) {
      // The user, as the agent decides it.
      agent::ImageFacts facts;
      if ((*present)->has_uid()) facts.uid = (*present)->uid().value();
      facts.username = (*present)->username();
      const auto plan = agent::resolveUser(id.spec.security, facts);
      id.run_as_user = plan.uid;
      id.run_as_group = plan.gid;
      if (plan.allocate) {
        auto allocated = uids.allocate(id.uid);
        if (!allocated) return state.SkipWithError(allocated.error().message.c_str());
        id.run_as_user = *allocated;
        if (!id.run_as_group) id.run_as_group = *allocated;
      }
      // The pod cgroup and its pids limit.
      if (auto s = (*cgroups)->prepare(id); !s)
        return state.SkipWithError(s.error().message.c_str());
      placement = (*cgroups)->placement(id);
    }
    auto sandbox_config =
        agent::sandboxConfig(id, config.node_id, config.data_dir + "/d", placement);
    auto container_config = agent::containerConfig(id, config.node_id, placement);
    if (!hardened) stripHardening(sandbox_config, container_config);
    auto phase = std::chrono::steady_clock::now();
    auto sandbox = (*client)->runPodSandbox(sandbox_config, handler);
    if (!sandbox) return state.SkipWithError(sandbox.error().message.c_str());
    sandbox_ms += msSince(phase);
    phase = std::chrono::steady_clock::now();
    auto container = (*client)->createContainer(*sandbox, container_config, sandbox_config);
    if (!container) return state.SkipWithError(container.error().message.c_str());
    if (auto s = (*client)->startContainer(*container); !s)
      return state.SkipWithError(s.error().message.c_str());
    create_start_ms += msSince(phase);
    auto status = (*client)->containerStatus(*container);
    benchmark::DoNotOptimize(status);
    state.PauseTiming();
    removeAll(**client, config.node_id);
    (void)(*cgroups)->release(id);
    uids.release(id.uid);
    state.ResumeTiming();
  }
  state.counters["sandbox_ms"] = benchmark::Counter(sandbox_ms, benchmark::Counter::kAvgIterations);
  state.counters["create_start_ms"] =
      benchmark::Counter(create_start_ms, benchmark::Counter::kAvgIterations);
}

// Submit -> Running through the agent's workload manager.
void BM_AgentStartPath(benchmark::State& state, const std::string& runtime_class) {
  if (!classAvailable(state, runtime_class)) return;
  const auto config = benchConfig();
  auto runtime = agent::CriRuntime::create(config);
  auto client = cri::Client::create(env("ZONEPLANE_CRI_ENDPOINT"));
  if (!runtime || !client) return state.SkipWithError("cannot create CRI clients");
  boost::asio::thread_pool workers(4);
  boost::asio::thread_pool events(1);
  agent::WorkloadManager::Options options;
  options.node_id = config.node_id;
  options.capacity = {4096, 4000};
  for (const auto& [name, rc] : config.runtime_classes) options.runtime_classes.push_back(name);
  options.version = "bench";
  options.uid_range = config.uid_range;
  agent::WorkloadManager manager(options, **runtime, SystemClock::instance(),
                                 workers.get_executor(), events.get_executor());
  int n = 0;
  for (auto _ : state) {
    const auto spec = benchSpec(1000 + n++, runtime_class);
    if (auto s = manager.start(spec); !s) return state.SkipWithError(s.error().message.c_str());
    while (true) {
      auto s = manager.status(spec.id);
      if (s && s->state == api::WorkloadState::kRunning) break;
      if (s && api::isTerminal(s->state)) return state.SkipWithError(s->message.c_str());
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    state.PauseTiming();
    // remove() is a coroutine: run it to completion.
    auto removed = boost::asio::co_spawn(workers, manager.remove(spec.id, std::chrono::seconds(0)),
                                         boost::asio::use_future);
    (void)removed.get();
    state.ResumeTiming();
  }
  removeAll(**client, config.node_id);
  manager.shutdown();
  workers.join();
}
// Every benchmark: `samples` workloads per repetition, 3 repetitions, the
// mean and standard deviation reported.
void registerAll(int samples) {
  const auto add = [samples](const std::string& name, auto fn) {
    benchmark::RegisterBenchmark(name.c_str(), fn)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(samples)
        ->Repetitions(3)
        ->ReportAggregatesOnly(true)
        ->UseRealTime();
  };
  add("BM_DirectCriCalls/unhardened/native",
      [](benchmark::State& s) { BM_DirectCriCalls(s, false, "native"); });
  for (const std::string cls : {"native", "gvisor"}) {
    add("BM_DirectCriCalls/hardened/" + cls,
        [cls](benchmark::State& s) { BM_DirectCriCalls(s, true, cls); });
  }
  for (const std::string cls : {"native", "gvisor"}) {
    add("BM_AgentStartPath/" + cls, [cls](benchmark::State& s) { BM_AgentStartPath(s, cls); });
  }
}

// Takes "--samples N" out of argv (the rest goes to the benchmark library).
int takeSamples(int& argc, char** argv) {
  int samples = 20;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) != "--samples") continue;
    const std::string_view value = i + 1 < argc ? argv[i + 1] : "";
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), samples);
    if (ec != std::errc{} || end != value.data() + value.size() || samples < 1 || samples > 1000) {
      std::cerr << "start_path_bench: --samples needs a number 1..1000\n";
      std::exit(2);
    }
    for (int j = i; j + 2 <= argc; ++j) argv[j] = argv[j + 2];
    argc -= 2;
    break;
  }
  return samples;
}

}  // namespace

int main(int argc, char** argv) {
  if (*env("ZONEPLANE_CRI_ENDPOINT") == '\0' || *env("ZONEPLANE_TEST_IMAGE") == '\0') {
    std::cerr << "start_path_bench needs the runtime stack: scripts/stack start && eval "
                 "\"$(scripts/stack env)\"\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  registerAll(takeSamples(argc, argv));
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::system(("rm -rf /tmp/zoneplane-bench-" + std::to_string(::getpid())).c_str());
  if (auto s = agent::removeNodeCgroups(benchConfig().node_id); !s) {
    std::cerr << "start_path_bench: " << s.error().message << "\n";
  }
  return 0;
}

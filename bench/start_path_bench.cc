// Start latency of one workload through the agent's path (WorkloadManager +
// CriRuntime: ImageStatus, RunPodSandbox, CreateContainer, StartContainer,
// ContainerStatus) against the baseline of the same CRI calls made directly
// with the same configs and the same security settings: the user resolved
// from the image as the agent does (a node-allocated uid for this root image),
// the pod cgroup with its pids limit, the same builders. Needs the runtime
// stack (scripts/stack start; eval "$(scripts/stack env)"); teardown is
// excluded from both timings. A third run makes the same direct calls with
// the hardening taken out (stripHardening), to show what the posture costs.

#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
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

agent::AgentConfig benchConfig() {
  agent::AgentConfig c;
  c.node_id = "bench-" + std::to_string(::getpid());
  c.data_dir = "/tmp/zoneplane-bench-" + std::to_string(::getpid());
  c.runtime_classes["native"] = {env("ZONEPLANE_CRI_ENDPOINT"), "runc"};
  return c;
}

api::WorkloadSpec benchSpec(int n) {
  api::WorkloadSpec spec;
  spec.id = "bench-" + std::to_string(n);
  spec.image = env("ZONEPLANE_TEST_IMAGE");
  spec.runtime_class = "native";
  spec.memory_mb = 64;
  spec.cpu_millicores = 100;
  spec.command = {"sleep", "300"};
  return spec;  // default security: restricted, pids limit 1024
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
void BM_DirectCriCalls(benchmark::State& state, bool hardened) {
  const auto config = benchConfig();
  auto client = cri::Client::create(env("ZONEPLANE_CRI_ENDPOINT"));
  if (!client) return state.SkipWithError(client.error().message.c_str());
  auto cgroups = agent::CgroupfsPodCgroups::create(config.node_id);
  if (!cgroups) return state.SkipWithError(cgroups.error().message.c_str());
  agent::UidAllocator uids(config.uid_range);
  int n = hardened ? 0 : 500;
  for (auto _ : state) {
    agent::WorkloadIdentity id;
    id.spec = benchSpec(n++);
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
    auto sandbox = (*client)->runPodSandbox(sandbox_config, "runc");
    if (!sandbox) return state.SkipWithError(sandbox.error().message.c_str());
    auto container = (*client)->createContainer(*sandbox, container_config, sandbox_config);
    if (!container) return state.SkipWithError(container.error().message.c_str());
    if (auto s = (*client)->startContainer(*container); !s)
      return state.SkipWithError(s.error().message.c_str());
    auto status = (*client)->containerStatus(*container);
    benchmark::DoNotOptimize(status);
    state.PauseTiming();
    removeAll(**client, config.node_id);
    (void)(*cgroups)->release(id);
    uids.release(id.uid);
    state.ResumeTiming();
  }
}
BENCHMARK_CAPTURE(BM_DirectCriCalls, unhardened, false)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(20)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_DirectCriCalls, hardened, true)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(20)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true)
    ->UseRealTime();

void BM_AgentStartPath(benchmark::State& state) {
  const auto config = benchConfig();
  auto runtime = agent::CriRuntime::create(config);
  auto client = cri::Client::create(env("ZONEPLANE_CRI_ENDPOINT"));
  if (!runtime || !client) return state.SkipWithError("cannot create CRI clients");
  boost::asio::thread_pool workers(4);
  agent::WorkloadManager::Options options;
  options.node_id = config.node_id;
  options.capacity = {4096, 4000};
  options.runtime_classes = {"native"};
  options.version = "bench";
  options.uid_range = config.uid_range;
  agent::WorkloadManager manager(options, **runtime, SystemClock::instance(),
                                 workers.get_executor());
  int n = 0;
  for (auto _ : state) {
    const auto spec = benchSpec(1000 + n++);
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
BENCHMARK(BM_AgentStartPath)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(20)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  if (*env("ZONEPLANE_CRI_ENDPOINT") == '\0' || *env("ZONEPLANE_TEST_IMAGE") == '\0') {
    std::cerr << "start_path_bench needs the runtime stack: scripts/stack start && eval "
                 "\"$(scripts/stack env)\"\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::system(("rm -rf /tmp/zoneplane-bench-" + std::to_string(::getpid())).c_str());
  if (auto s = agent::removeNodeCgroups(benchConfig().node_id); !s) {
    std::cerr << "start_path_bench: " << s.error().message << "\n";
  }
  return 0;
}
